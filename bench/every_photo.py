"""Does every glimpse draw, on every photo? The defaults on all of ../shared/data, by training step.

Each run is `drawart fit PHOTO --size S` with every other option at its default (or changed by
`--set`), through the real `drawart.train.fit`, one photo at a time. At each step mark it
reconstructs the photo with the fixed noise of seed 0, as `drawart gif` draws it, and prints:

- PSNR of that reconstruction, dB;
- drawing: glimpses that raise the PSNR by at least 0.05 dB, of T;
- late: the late share, (PSNR(T) − PSNR(T/4)) / (PSNR(T) − PSNR of the flat mean colour);
- changed: the median share of pixels a glimpse changes visibly (by more than 2/255);
- ms/step: training time per step after the first compiled call, measuring excluded (only
  comparable between rows of one run on an otherwise idle machine).

With `--sheets DIR` it also writes, per photo, a contact sheet of the last mark's reconstruction
(the canvas after every fourth glimpse, and the photo) to DIR/PHOTO-SIZE.png, to look at.

The figures of docs/every-glimpse.md (each release from a worktree of its commit, on PYTHONPATH;
about 70 minutes a configuration at 256 px and 25 at 64 px on an idle 2-core machine):

    python bench/every_photo.py --size 256 --marks 2000 4000 6000 --sheets outputs/sheets-256
    python bench/every_photo.py --size 64 --marks 1000 3000
    python bench/every_photo.py --size 256 --marks 1000 2000 --photos coins retina --set '{"window_rate": 1.0}'

    python bench/every_photo.py [--size 256] [--marks 6000] [--photos NAME ...] [--set JSON] [--sheets DIR]
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from common import DATA, child_rows, every_photo, photo_path


def child(photo: Path, size: int, marks: list[int], changes: dict, sheets: str | None) -> None:
    """Train one photo, printing one JSON line per step mark."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from dataclasses import replace

    import keras
    import numpy as np

    from drawart import formats, picture, strokes, train
    from drawart.averaging import drawn_by_average
    from drawart.batches import TrainingData
    from drawart.config import ModelConfig
    from drawart.fit_plan import plan_fit

    tmp = tempfile.TemporaryDirectory()
    model_fields = set(ModelConfig.__dataclass_fields__)
    plan = plan_fit(
        photo,
        Path(tmp.name) / "run",
        size=size,
        model={k: v for k, v in changes.items() if k in model_fields},
        train={k: v for k, v in changes.items() if k not in model_fields},
    )
    pixels, run = plan.pixels, plan.run
    config = replace(
        plan.config, train=replace(plan.config.train, steps=max(marks), gif_every=0, checkpoint_every=max(marks))
    )

    class AtMarks(keras.callbacks.Callback):
        clock = None  # (time, step) at the end of the first call, once compiled
        paused = 0.0

        def on_train_batch_end(self, batch, logs=None):
            step = int(self.model.optimizer.iterations.numpy())
            if self.clock is None:
                self.clock = (time.monotonic(), step)
            if step not in marks:
                return
            pause = time.monotonic()
            ms = 1000 * (pause - self.clock[0] - self.paused) / max(1, step - self.clock[1])
            with drawn_by_average(self.model):
                traced = self.model.trace(pixels, seed=0)
                measured = strokes.measure(self.model, pixels)
            print(
                json.dumps(
                    {
                        "step": step,
                        "psnr": measured.psnr,
                        "drawing": measured.drawn.drawing(),
                        "late": measured.drawn.late_share(),
                        "changed": float(np.median(measured.changed)),
                        "flat": measured.flat,
                        "ms": ms,
                        "progress": [round(float(p), 3) for p in measured.progress],
                    }
                ),
                flush=True,
            )
            if sheets and step == max(marks):
                canvases = traced["canvases"]
                shown = [*canvases[:: max(1, (len(canvases) - 1) // 8)], pixels]
                labels = [f"t={t}" for t in range(0, len(canvases), max(1, (len(canvases) - 1) // 8))] + ["photo"]
                Path(sheets).mkdir(parents=True, exist_ok=True)
                sheet = formats.encode_png_sheet(picture.to_uint8(np.stack(shown)), columns=5, labels=labels)
                (Path(sheets) / f"{photo.stem}-{size}.png").write_bytes(sheet)
            self.paused += time.monotonic() - pause

    with tmp:
        run.create(config)
        train.fit(run, TrainingData.picture(pixels), config, echo=lambda _: None, extra_callbacks=[AtMarks()])


def run_photo(photo: Path, args) -> list[dict]:
    sheets = ["--sheets", args.sheets] if args.sheets else []
    return child_rows(
        __file__,
        [photo, "--size", args.size, "--marks", *args.marks, "--set", json.dumps(args.set), *sheets],
        photo.name,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="longest side in pixels, as drawart fit --size")
    parser.add_argument(
        "--marks", type=int, nargs="+", default=[6000], help="steps at which to measure; trains to the last"
    )
    parser.add_argument("--steps", type=int, help="one mark at this step (same as --marks STEPS)")
    parser.add_argument("--photos", nargs="+", help="names in ../shared/data or paths to image files (default: all)")
    parser.add_argument(
        "--set",
        type=json.loads,
        default={},
        help="options other than the defaults, as JSON: '{\"canvas_loss\": 0.0}' (ModelConfig or TrainConfig fields)",
    )
    parser.add_argument("--sheets", help="folder for a contact sheet per photo at the last mark")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.steps:
        args.marks = [args.steps]
    args.marks = sorted(set(args.marks))
    if args.child:
        child(Path(args.child), args.size, args.marks, args.set, args.sheets)
        return
    names = args.photos or every_photo()
    missing = [name for name in names if photo_path(name) is None]
    if not names or missing:
        parser.error(
            f"no photo {', '.join(missing) or 'in ' + str(DATA)}: give names in ../shared/data or paths to image files"
        )
    print(
        f"--size {args.size}, defaults but {json.dumps(args.set)}; {os.cpu_count()} cores; reconstruction with the "
        f"noise of seed 0: PSNR (dB), glimpses drawing (≥ 0.05 dB), late share, median share of pixels changed "
        f"per glimpse, ms per training step"
    )
    print(f"{'photo':10s}{'step':>7s}{'PSNR':>8s}{'flat':>7s}{'drawing':>9s}{'late':>7s}{'changed':>9s}{'ms/step':>9s}")
    started = time.monotonic()
    for name in names:
        photo = photo_path(name)
        for row in run_photo(photo, args):
            print(
                f"{photo.stem:10s}{row['step']:7d}{row['psnr']:8.2f}{row['flat']:7.2f}{row['drawing']:6d}/{len(row['progress']) - 1:<2d}"
                f"{row['late']:7.2f}{row['changed']:9.2f}{row['ms']:9.1f}",
                flush=True,
            )
            print("  progress " + " ".join(f"{p:.2f}" for p in row["progress"]), file=sys.stderr, flush=True)
    print(f"{len(names)} photos in {(time.monotonic() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
