"""Cropped writes against whole-image writes: the same training, step for step, and its wall time.

Trains `drawart fit PHOTO --size S`'s model (size-aware defaults) for so many steps twice, once
with the bounded local writes made through crops (DrawModel.crop_writes) and once
over the whole image, each in its own process on all cores, and prints the PSNR of the
reconstruction (fixed noise) every 1000 steps and the seconds taken. The two differ only by filter
tails under 1.5e-8 of their peak, but training is chaotic, so expect PSNRs a dB or so apart at a
mark, not equal ones.

`--speed` instead times the compiled step alone, cropped and whole, for a few image sizes and
write grids (examples/chelsea.png; each side in its own process): seconds to compile (the first
call) and steps a second after it. This is what DrawModel's CROP_PAYS_FROM was chosen by.

    python bench/crop_ab.py [--photo chelsea] [--size 256] [--steps 3000]
    python bench/crop_ab.py --speed [--rows 64:gray:12 128:rgb:20 ...]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, call_data, photo_path


def child(photo: str, size: int, steps: int, crop: bool) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from drawart import strokes, train
    from drawart.averaging import drawn_by_average
    from drawart.fit_plan import plan_fit

    plan = plan_fit(photo_path(photo), Path("unused"), size=size, model={}, train={})
    model = train.build_model(plan.config.model, plan.config.train)
    model.crop_writes = crop
    model.make_train_function()
    per_call = 50
    data = call_data(plan.pixels, per_call)
    started, psnr, measuring = time.perf_counter(), [], 0.0
    for call in range(1, steps // per_call + 1):
        model.train_function(iter([data]))
        if call * per_call % 1000 == 0:
            pause = time.perf_counter()
            with drawn_by_average(model):
                psnr.append(strokes.measure(model, plan.pixels).summary()["psnr"])
            measuring += time.perf_counter() - pause
    return {"psnr": psnr, "seconds": time.perf_counter() - started - measuring}


SPEED_ROWS = ["64:gray:12", "64:gray:20", "128:gray:20", "128:rgb:20", "192:rgb:32", "256:gray:44"]


def speed_child(row: str, crop: bool) -> dict:
    """Compile seconds and steps a second of one row's model, cropped or whole, in this process."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from drawart import train
    from drawart.config import ModelConfig, TrainConfig
    from drawart.image import load_image

    size, colour, write_n = row.split(":")
    pixels = load_image(ROOT / "examples" / "chelsea.png", size=int(size), gray=colour == "gray").pixels
    height, width, channels = pixels.shape
    model_config = ModelConfig(height=height, width=width, channels=channels, write_n=int(write_n))
    model = train.build_model(model_config, TrainConfig())
    model.crop_writes = crop
    model.make_train_function()
    per_call = 50
    data = call_data(pixels, per_call)
    started = time.perf_counter()
    model.train_function(iter([data]))
    compiled = time.perf_counter() - started
    rates = []
    for _ in range(3):
        started, steps = time.perf_counter(), 0
        while time.perf_counter() - started < 5:
            model.train_function(iter([data]))
            steps += per_call
        rates.append(steps / (time.perf_counter() - started))
    return {"compile_s": compiled, "it_per_s": max(rates)}


def speed(rows: list[str]) -> None:
    print(f"{os.cpu_count()} cores; the default model, write grid as given; best of three 5-s spans")
    print(f"{'row':12s}{'cropped':>24s}{'whole':>24s}{'cropped/whole':>15s}")
    for row in rows:
        found = {}
        for side in ("cropped", "whole"):
            out = subprocess.run(
                [sys.executable, __file__, "--speed-child", row, side], capture_output=True, text=True, check=True
            )
            found[side] = json.loads(out.stdout.strip().splitlines()[-1])
        cells = "".join("{:>24s}".format(f"{v['it_per_s']:6.1f} it/s, {v['compile_s']:4.1f} s") for v in found.values())
        print(f"{row:12s}{cells}{found['cropped']['it_per_s'] / found['whole']['it_per_s']:14.2f}x", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", default="chelsea")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--child", choices=["cropped", "whole"], help=argparse.SUPPRESS)
    parser.add_argument("--speed", action="store_true", help="time the step, cropped and whole, at several sizes")
    parser.add_argument("--rows", nargs="+", default=SPEED_ROWS, help="SIZE:gray|rgb:WRITE_GRID")
    parser.add_argument("--speed-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.speed_child:
        print(json.dumps(speed_child(args.speed_child[0], args.speed_child[1] == "cropped")))
        return
    if args.speed:
        speed(args.rows)
        return
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
