"""What milestone GIFs and checkpoints cost during fit, as a share of training time at the defaults.

Trains the reference model of bench/throughput.py (examples/camera.png, 64 px gray, write grid 12)
twice, once with a milestone every `--every` steps and no checkpoint but the last, once with a
checkpoint every `--every` steps and no milestone, and reads the per-call wall-clock seconds from
metrics.csv: calls that end on a milestone (or a checkpoint) also did its work, the others only
trained (see `cost`). A checkpoint also writes TensorBoard's
image of the drawing (callbacks.TensorBoardLog).

    python bench/overhead.py [--steps 1500] [--every 300]
"""

import argparse
import os
import statistics

from common import ROOT, fit_rows

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from drawart.config import ModelConfig, RunConfig, TrainConfig  # noqa: E402
from drawart.image import load_image  # noqa: E402

NEVER = 10**9


def call_seconds(pixels, steps: int, gif_every: int, checkpoint_every: int) -> tuple[list, list]:
    """(step, seconds) of every call of a fit after its first, and the sizes of its GIFs in bytes."""
    config = RunConfig(
        model=ModelConfig(height=64, width=64, channels=1, write_n=12),
        train=TrainConfig(steps=steps, gif_every=gif_every, checkpoint_every=checkpoint_every),
    )
    rows, gif_bytes = fit_rows(
        pixels, config, look=lambda run: [p.stat().st_size for p in run.gifs.iterdir()] if run.gifs.is_dir() else []
    )
    times = [(r["step"], r["seconds"]) for r in rows]
    return [(step, seconds - before) for (_, before), (step, seconds) in zip(times, times[1:])], gif_bytes


def cost(calls, every: int, steps: int) -> tuple[float, float, int]:
    """(seconds a training step, seconds one event costs, events) from a fit's calls.

    Callbacks after the metrics row (TensorBoard's image) land in the next call's seconds, so an
    event costs its call and the next, less two plain calls. Plain calls are the others, after the
    first event's (which may carry one-off tracing) and before the last (the final checkpoint)."""
    seconds = dict(calls)
    after = TrainConfig().steps_per_call
    plain = [
        d for step, d in calls if step % every and (step - after) % every and step > every + after and step < steps
    ]
    base = statistics.median(plain)
    events = [
        seconds[step] + seconds[step + after] - 2 * base for step in seconds if step % every == 0 and step < steps
    ]
    return base / after, statistics.median(events), len(events)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--every", type=int, default=300)
    args = parser.parse_args()
    defaults = TrainConfig()
    pixels = load_image(ROOT / "examples" / "camera.png", size=64, gray=True).pixels
    calls, gif_bytes = call_seconds(pixels, args.steps, args.every, NEVER)
    per_step, milestone, count = cost(calls, args.every, args.steps)
    print(f"training: {1 / per_step:.1f} it/s (median call of {defaults.steps_per_call} steps)")
    share = milestone / (milestone + defaults.gif_every * per_step)
    print(
        f"one milestone (weights kept + GIF rendered): {milestone:.3f} s (median of {count}); "
        f"{100 * share:.2f} % of training at the default --gif-every {defaults.gif_every}; "
        f"GIF {statistics.mean(gif_bytes) / 1024:.0f} KiB"
    )
    calls, _ = call_seconds(pixels, args.steps, 0, args.every)
    per_step, checkpoint, count = cost(calls, args.every, args.steps)
    share = checkpoint / (checkpoint + defaults.checkpoint_every * per_step)
    print(
        f"one checkpoint (with TensorBoard's image): {checkpoint:.3f} s (median of {count}); "
        f"{100 * share:.2f} % of training at the default --checkpoint-every {defaults.checkpoint_every}"
    )


if __name__ == "__main__":
    main()
