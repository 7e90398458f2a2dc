"""The overnight run, shortened: the default model trained long, as `drawart fit` plans it.

Trains camera.png at 64 px with every default (so milestones every --steps/20 steps) through the
real `drawart.train.fit`, and reports what a long run must hold to:

- speed: steps per second over the last tenth of the run against the first tenth after the
  compiling call (at least 0.9);
- memory: peak resident memory after the first milestone against at the end (growth at most 10%);
- disk: the run directory against what the plan line said it would take;
- milestones: the share of the training time spent writing them (GIF, strokes, page, drawing
  check; under 2%);
- no NaN: non-finite rows in metrics.csv;
- the page's size.

The issue's soak (about 40 minutes on 2 cores; run it in the background, alone):

    python bench/soak.py --steps 200000

    python bench/soak.py [--steps 200000] [--size 64] [--out DIR]
"""

import argparse
import math
import os
import resource
import tempfile
import time
from pathlib import Path

from common import ROOT


def resident_mib() -> float:
    """This process's resident memory now, MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--out", type=Path, default=None, help="run directory [default: a temporary one]")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from drawart import callbacks, plan, train
    from drawart.fit_plan import plan_fit
    from drawart.metrics import disk_usage

    out = args.out or Path(tempfile.mkdtemp()) / "soak"
    fit_plan = plan_fit(ROOT / "examples" / "camera.png", out, size=args.size, train={"steps": args.steps})
    run, config = fit_plan.run, fit_plan.config
    run.create(config)
    run.save_image(fit_plan.pixels)

    in_milestones = [0.0]
    for kind in (callbacks.MilestoneGifs, callbacks.RunPage, callbacks.DrawingCheck):  # time what milestones do
        original = kind.on_train_batch_end

        def timed(self, batch, logs=None, original=original):
            started = time.perf_counter()
            original(self, batch, logs)
            in_milestones[0] += time.perf_counter() - started

        kind.on_train_batch_end = timed

    class Watch(keras.callbacks.Callback):
        """(seconds, step, resident MiB) at every call's end, and what the plan line said."""

        def on_train_begin(self, logs=None):
            self.rows, self.started = [], time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            step = callbacks.global_step(self.model)
            self.rows.append((time.perf_counter() - self.started, step, resident_mib(), float(logs["loss"])))

    watch, said = Watch(), []
    train.fit(run, run.training_data(config), config, echo=said.append, extra_callbacks=[watch])
    rows = watch.rows
    seconds = rows[-1][0]

    def speed(first: int, last: int) -> float:
        span = [r for r in rows if first <= r[1] <= last]
        return (span[-1][1] - span[0][1]) / (span[-1][0] - span[0][0])

    after_compile = rows[0][1]
    tenth = (args.steps - after_compile) // 10
    early, late = speed(after_compile, after_compile + tenth), speed(args.steps - tenth, args.steps)
    first_milestone = config.train.gif_every
    peak_then = max(r[2] for r in rows if r[1] <= first_milestone)
    peak_end = max(r[2] for r in rows)
    disk = disk_usage(run.path)
    planned = next((line for line in said if line.startswith("plan:")), "no plan line")
    bad = sum(1 for r in rows if not math.isfinite(r[3]))
    print(
        f"soak: camera.png at {args.size} px, {args.steps} steps, milestones every {config.train.gif_every}; "
        f"{os.cpu_count()} cores; {seconds / 60:.1f} min"
    )
    print(f"speed: first tenth {early:.1f} steps/s, last tenth {late:.1f}: {late / early:.2f}x")
    print(
        f"memory: peak {peak_then:.0f} MiB by the first milestone, {peak_end:.0f} MiB at the end: "
        f"{peak_end / peak_then:.2f}x"
    )
    print(f"disk: {plan.size_text(disk)} in the run; {planned}")
    print(
        f"milestones: {in_milestones[0]:.1f} s of {seconds:.0f} s, {100 * in_milestones[0] / seconds:.2f}% of the time"
    )
    print(f"non-finite losses: {bad} of {len(rows)} calls")
    print(f"page: {plan.size_text(run.page_path.stat().st_size)}")


if __name__ == "__main__":
    main()
