"""Detail at print sizes: PSNR of the default model on real photos at 256 and 512 px, by wall time.

Each run is `drawart fit PHOTO --size S` with every other option at its default, through the real
`drawart.train.fit`, on all the cores TensorFlow finds, one run at a time (the figures are minutes
of training, so run it on an otherwise idle machine). The clock includes start-up and compiling,
as a user waits for them, and stops while the bench measures. At each mark it prints:

- PSNR of the reconstruction with fixed noise (seed 0), dB, and the step reached: the drawing, made
  by the moving average of the weights (averaging.py), and on the line below it, `weights`, the
  same reconstruction by the weights being trained at that step;
- share: the median write window's area over glimpses 5..T, as a share of the image;
- ripple: the worst coverage ripple (max/min of the summed write filters) over all glimpses.

Photos are looked up in examples/, then in ../shared/data/; a path to an image file is used as it is.

    python bench/big_pictures.py [--sizes 256 512] [--minutes 2 4 8 16] [--photos chelsea coffee astronaut] [--set JSON]
"""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from common import check_photos, child_rows, photo_path

PHOTOS = ("chelsea", "coffee", "astronaut")


def child(photo: str, size: int, minutes: list[float], changes: dict) -> None:
    """Train one photo at one size, printing one JSON line per time mark."""
    started = time.monotonic()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from dataclasses import replace

    import keras

    from drawart import strokes, train
    from drawart.averaging import drawn_by_average
    from drawart.batches import TrainingData
    from drawart.config import ModelConfig
    from drawart.fit_plan import plan_fit

    tmp = tempfile.TemporaryDirectory()
    # The config `drawart fit PHOTO --size S` would make, size-aware defaults included.
    model_fields = set(ModelConfig.__dataclass_fields__)
    plan = plan_fit(
        photo_path(photo),
        Path(tmp.name) / "run",
        size=size,
        model={k: v for k, v in changes.items() if k in model_fields},
        train={k: v for k, v in changes.items() if k not in model_fields},
    )
    pixels, run = plan.pixels, plan.run
    config = replace(plan.config, train=replace(plan.config.train, steps=10**7, gif_every=0, checkpoint_every=10**6))
    marks = sorted(60 * m for m in minutes)

    class AtMarks(keras.callbacks.Callback):
        paused = 0.0  # seconds spent measuring, off the clock

        def on_train_batch_end(self, batch, logs=None):
            if time.monotonic() - started - self.paused < marks[0]:
                return
            mark, pause = marks.pop(0) / 60, time.monotonic()
            step = int(self.model.optimizer.iterations.numpy())
            with drawn_by_average(self.model):
                figures = strokes.measure(self.model, pixels).summary()
            raw = strokes.measure(self.model, pixels).psnr
            print(json.dumps({"minutes": mark, "step": step, **figures, "raw": raw}), flush=True)
            self.paused += time.monotonic() - pause
            if not marks:
                self.model.stop_training = True

    with tmp:
        run.create(config)
        train.fit(run, TrainingData.picture(pixels), config, echo=lambda _: None, extra_callbacks=[AtMarks()])


def run_job(photo: str, size: int, minutes: list[float], changes: dict) -> list[dict]:
    return child_rows(
        __file__, [photo, size, "--minutes", *minutes, "--set", json.dumps(changes)], f"{photo} at {size} px"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--minutes", type=float, nargs="+", default=[2, 4, 8, 16])
    parser.add_argument("--photos", nargs="+", default=list(PHOTOS))
    parser.add_argument(
        "--set",
        type=json.loads,
        default={},
        help="options other than the defaults, as JSON: '{\"write_n\": 32}' (ModelConfig or TrainConfig fields)",
    )
    parser.add_argument("--child", nargs=2, metavar=("PHOTO", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.minutes, args.set)
        return
    check_photos(parser, args.photos)
    print(
        f"{'defaults but --size' + (f' and {json.dumps(args.set)}' if args.set else '')}; {os.cpu_count()} cores; "
        "PSNR (dB) of the reconstruction with fixed noise "
        f"after so many minutes of training (step reached); share and ripple at the last mark"
    )
    print(
        f"{'photo':10s}{'size':>6s}"
        + "".join(f"{f'@{m:g} min':>16s}" for m in args.minutes)
        + f"{'share':>8s}{'ripple':>8s}"
    )
    for size in args.sizes:
        for photo in args.photos:
            rows = run_job(photo, size, args.minutes, args.set)
            cells = "".join(f"{r['psnr']:8.2f} ({r['step']:5d})" for r in rows)
            last = rows[-1]
            print(f"{photo_path(photo).stem:10s}{size:6d}{cells}{last['share']:8.2f}{last['ripple']:8.2f}", flush=True)
            if "raw" in last:
                print(f"{'  weights':16s}" + "".join(f"{r['raw']:8.2f}{'':8s}" for r in rows), flush=True)


if __name__ == "__main__":
    main()
