"""What a training step costs under two configurations, timed turn about in one process.

Builds the model `drawart fit PHOTO --size S` would (size-aware defaults) twice, once with each
configuration, compiles one XLA call of `--steps` optimiser steps for each, then times the calls
alternately (A, B, A, B, ...) so that whatever else the machine is doing weighs on both alike. Prints
the median milliseconds per step of each and their ratio. The figure of issue 24 (0.8.0's window
rate against 0.7.0's):

    python bench/step_cost.py --photo chelsea --size 256 --a '{"window_rate": 1.0}' --b '{}'

    python bench/step_cost.py [--photo chelsea] [--size 256] [--a JSON] [--b JSON] [--steps 20] [--rounds 15]
"""

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from common import photo_path


def build(photo: str, size: int, changes: dict):
    from drawart import train
    from drawart.config import ModelConfig
    from drawart.fit_plan import plan_fit

    fields = set(ModelConfig.__dataclass_fields__)
    with tempfile.TemporaryDirectory() as tmp:
        plan = plan_fit(
            photo_path(photo),
            Path(tmp) / "run",
            size=size,
            model={k: v for k, v in changes.items() if k in fields},
            train={k: v for k, v in changes.items() if k not in fields},
        )
    model = train.build_model(plan.config.model, plan.config.train)
    return model, plan.pixels


def timed_call(model, pixels, steps: int):
    """A compiled function running `steps` optimiser steps on the image, as fit's calls do."""
    import tensorflow as tf

    x = model.rows_first(pixels[None])

    @tf.function(jit_compile=True)
    def call():
        start = tf.identity(model.optimizer.iterations)
        for i in tf.range(steps):
            model.one_step(x, start + tf.cast(i, start.dtype))
        return model.optimizer.iterations

    return call


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", default="chelsea")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument(
        "--a", type=json.loads, default={"window_rate": 1.0}, help="configuration A, as JSON changes to the defaults"
    )
    parser.add_argument("--b", type=json.loads, default={}, help="configuration B")
    parser.add_argument("--steps", type=int, default=20, help="optimiser steps per timed call")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    calls = {}
    for name, changes in (("A", args.a), ("B", args.b)):
        model, pixels = build(args.photo, args.size, changes)
        call = timed_call(model, pixels, args.steps)
        call().numpy()  # compile
        calls[name] = call
    times = {name: [] for name in calls}
    for _ in range(args.rounds):
        for name, call in calls.items():
            started = time.perf_counter()
            call().numpy()
            times[name].append(1000 * (time.perf_counter() - started) / args.steps)
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"{args.photo} at {args.size} px, {args.rounds} alternating calls of {args.steps} steps each")
    print(f"A {json.dumps(args.a)}: {median['A']:.1f} ms/step")
    print(f"B {json.dumps(args.b)}: {median['B']:.1f} ms/step")
    print(f"B / A: {median['B'] / median['A']:.3f}")


if __name__ == "__main__":
    main()
