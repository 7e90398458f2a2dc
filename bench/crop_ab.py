"""Cropped writes against whole-image writes: the same training, step for step, and its wall time.

Trains `drawart fit PHOTO --size S`'s model (size-aware defaults) for so many steps twice, once
with the bounded local writes made through crops (the default, DrawModel.crop_writes) and once
over the whole image, each in its own process on all cores, and prints the PSNR of the
reconstruction (fixed noise) every 1000 steps and the seconds taken. The two differ only by filter
tails under 1.5e-8 of their peak, but training is chaotic, so expect PSNRs a dB or so apart at a
mark, not equal ones.

    python bench/crop_ab.py [--photo chelsea] [--size 256] [--steps 3000]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from common import photo_path


def child(photo: str, size: int, steps: int, crop: bool) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf

    from drawart import strokes, train
    from drawart.averaging import drawn_by_average
    from drawart.fit_plan import plan_fit

    plan = plan_fit(photo_path(photo), Path("unused"), size=size, model={}, train={})
    model = train.build_model(plan.config.model, plan.config.train)
    model.crop_writes = crop
    model.make_train_function()
    per_call = 50
    data = (tf.constant(per_call), tf.constant(np.broadcast_to(plan.pixels, (per_call, 1, *plan.pixels.shape)).copy()))
    started, psnr, measuring = time.perf_counter(), [], 0.0
    for call in range(1, steps // per_call + 1):
        model.train_function(iter([data]))
        if call * per_call % 1000 == 0:
            pause = time.perf_counter()
            with drawn_by_average(model):
                psnr.append(strokes.measure(model, plan.pixels).summary()["psnr"])
            measuring += time.perf_counter() - pause
    return {"psnr": psnr, "seconds": time.perf_counter() - started - measuring}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", default="chelsea")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--child", choices=["cropped", "whole"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.photo, args.size, args.steps, args.child == "cropped")))
        return
    print(
        f"{args.photo} at {args.size} px, defaults, {os.cpu_count()} cores: PSNR (dB) every 1000 steps, "
        f"seconds of training (compiling included, measuring not)"
    )
    for side in ("cropped", "whole"):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                side,
                "--photo",
                args.photo,
                "--size",
                str(args.size),
                "--steps",
                str(args.steps),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{side:8s}" + "".join(f"{p:8.2f}" for p in row["psnr"]) + f"{row['seconds']:8.0f} s", flush=True)


if __name__ == "__main__":
    main()
