"""Picture quality per minute of training: PSNR of the reconstruction against wall-clock time.

Trains one configuration per line of the sweep on an example image for a fixed wall-clock budget
(through the real `drawart.train.fit`, so XLA, chunked steps and checkpoints are all included) and
prints the PSNR reached at intervals. Used to pick the defaults in drawart/config.py.

    python bench/quality.py [--image examples/camera.png] [--seconds 90] [--only NAME ...]
"""

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from common import ROOT

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from drawart import train  # noqa: E402
from drawart.batches import TrainingData  # noqa: E402
from drawart.config import ModelConfig, RunConfig, TrainConfig  # noqa: E402
from drawart.image import load_image  # noqa: E402
from drawart.run import RunDir

# name → changes to the defaults
SWEEP = {
    "defaults": {},
    "defaults, seed 1": {"seed": 1},
    "lr 3e-4": {"lr": 3e-4},
    "lr 1e-3": {"lr": 1e-3},
    "lr 1e-2": {"lr": 1e-2},
    "batch 4": {"batch": 4},
    "clip 5": {"clip_norm": 5.0},
    "clip 100": {"clip_norm": 100.0},
    "read 2, write 5": {"read_n": 2, "write_n": 5},
    "write 12": {"write_n": 12},
    "write 12, clip 5": {"write_n": 12, "clip_norm": 5.0},
    "no attention": {"attention": False},
}


class StopAfter(keras.callbacks.Callback):
    """Ends fit once the wall-clock budget is spent (checked after every call)."""

    def __init__(self, seconds: float):
        super().__init__()
        self.deadline = time.monotonic() + seconds

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() > self.deadline:
            self.model.stop_training = True


def psnr_curve(pixels, changes: dict, seconds: float, marks: list[float]) -> list[tuple[float, int, float]]:
    model_fields = set(ModelConfig.__dataclass_fields__)
    height, width, channels = pixels.shape
    model = replace(
        ModelConfig(height=height, width=width, channels=channels),
        **{k: v for k, v in changes.items() if k in model_fields},
    )
    training = replace(
        TrainConfig(steps=10**7, gif_every=0, checkpoint_every=10**6),
        **{k: v for k, v in changes.items() if k not in model_fields},
    )
    config = RunConfig(model=model, train=training)
    with tempfile.TemporaryDirectory() as tmp:
        run = RunDir(Path(tmp) / "run")
        run.create(config)
        train.fit(run, TrainingData.picture(pixels), config, echo=lambda _: None, extra_callbacks=[StopAfter(seconds)])
        rows = [line.split(",") for line in run.metrics_path.read_text().splitlines()[1:]]
    points = [(float(r[5]), int(r[0]), float(r[4])) for r in rows]
    curve = []
    for mark in marks:
        # The budget is checked after each call, so the last call may end a moment past the mark.
        before = points if mark == marks[-1] else [p for p in points if p[0] <= mark]
        # PSNR is noisy step to step (fresh noise each step): average the last few rows.
        recent = before[-5:]
        # Nothing logged yet (still compiling): a gap, so later marks stay under their headings.
        curve.append((mark, recent[-1][1], sum(p[2] for p in recent) / len(recent)) if recent else (mark, 0, None))
    return curve


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default=str(ROOT / "examples" / "camera.png"))
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument("--only", nargs="*", help="names from the sweep to run")
    args = parser.parse_args()
    pixels = load_image(args.image, size=args.size).pixels
    marks = [args.seconds * f for f in (0.25, 0.5, 0.75, 1.0)]
    print(
        f"{Path(args.image).name} at {pixels.shape[1]}x{pixels.shape[0]}, {args.seconds:.0f} s each "
        f"(seconds include compilation); PSNR in dB, mean of the last 5 logged steps"
    )
    print(f"{'configuration':18s}" + "".join(f"{f'@{m:.0f}s':>16s}" for m in marks))
    for name, changes in SWEEP.items():
        if args.only and name not in args.only:
            continue
        curve = psnr_curve(pixels, changes, args.seconds, marks)
        cells = (f"{'-':>8s} {'':7s}" if psnr is None else f"{psnr:8.2f} ({step:5d})" for _, step, psnr in curve)
        print(f"{name:18s}" + "".join(cells), flush=True)


if __name__ == "__main__":
    main()
