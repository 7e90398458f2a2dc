"""What milestone GIFs cost during fit, as a share of training time at the default --gif-every.

Trains the default model on examples/camera.png with a milestone every `--every` steps and reads
the per-call wall-clock seconds from metrics.csv: calls that end on a milestone also kept the
weights and rendered the GIF, the others only trained. The difference is the milestone's cost.

    python bench/gif_overhead.py [--steps 1500] [--every 300]
"""

import argparse
import csv
import os
import statistics
import tempfile
from pathlib import Path

from common import ROOT

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from drawart import train  # noqa: E402
from drawart.batches import TrainingData  # noqa: E402
from drawart.config import RunConfig, TrainConfig  # noqa: E402
from drawart.image import load_image  # noqa: E402
from drawart.run import RunDir


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--every", type=int, default=300)
    args = parser.parse_args()
    default_every = TrainConfig().gif_every
    loaded = load_image(ROOT / "examples" / "camera.png", size=64)
    config = RunConfig()
    config = RunConfig(
        model=type(config.model)(height=64, width=64, channels=1),
        train=TrainConfig(steps=args.steps, gif_every=args.every, checkpoint_every=10**9),
    )
    with tempfile.TemporaryDirectory() as tmp:
        run = RunDir(Path(tmp) / "run")
        run.create(config)
        train.fit(run, TrainingData.picture(loaded.pixels), config, echo=lambda _: None)
        with open(run.metrics_path) as f:
            rows = [(int(r["step"]), float(r["seconds"])) for r in csv.DictReader(f)]
        gif_bytes = [p.stat().st_size for p in run.gifs.iterdir()]
    calls = [(step, seconds - before) for (_, before), (step, seconds) in zip(rows, rows[1:])]
    # The first call after the first milestone may still carry one-off tracing: skip it too.
    plain = [d for step, d in calls if step % args.every and step > args.every + 50]
    milestone = [d for step, d in calls if step % args.every == 0]
    per_step = statistics.median(plain) / TrainConfig().steps_per_call
    cost = statistics.median(milestone) - statistics.median(plain)
    print(f"training: {1 / per_step:.1f} it/s ({len(plain)} plain calls of {TrainConfig().steps_per_call} steps)")
    print(f"one milestone (weights kept + GIF rendered): {cost:.3f} s (median of {len(milestone)})")
    print(f"GIF size: {statistics.mean(gif_bytes) / 1024:.0f} KiB")
    share = cost / (cost + default_every * per_step)
    print(f"share of training time at the default --gif-every {default_every}: {100 * share:.2f} %")


if __name__ == "__main__":
    main()
