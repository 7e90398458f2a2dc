"""Jitter or learning: learning-rate schedules and the weights' moving average, by step, at a size.

Trains one photo as `drawart fit PHOTO --size S` would (defaults, size-aware ones included), with
the learning rate multiplied by a schedule of the step, and at each step mark prints the PSNR of the
reconstruction (fixed noise, seed 0) by the weights being trained and, after a slash, by their
moving average (`--ema`; the drawing). Figures are by step, so two runs may share the machine
(`--threads 1` each) without changing them.

Schedules (multipliers of `--lr` at step s): `const`; `invsqrt:K` √(K/(K+s)); `harm:K` K/(K+s);
`drop:S:F` F from step S on; `exp:D` halving every D steps
(`exp:100000` is a run's own). What the README's "Drawn by the average" quotes came from:

    python bench/averaging.py chelsea --schedule const --ema 0.99 --threads 1 &
    python bench/averaging.py coffee --schedule const --ema 0.99 --threads 1
    python bench/averaging.py chelsea --schedule const --ema 0.998 --threads 1 &
    python bench/averaging.py coffee --schedule const --ema 0.998 --threads 1
    python bench/averaging.py chelsea --schedule harm:1000 --ema 0 --threads 1 &
    python bench/averaging.py chelsea --schedule invsqrt:1000 --ema 0 --threads 1
    python bench/averaging.py chelsea --schedule drop:2500:0.1 --ema 0 --marks 2500 2750 3000

Two outcomes, not noise (drawart 0.4.0; README "Every glimpse keeps drawing"):

    python bench/averaging.py chelsea --schedule exp:100000 --marks 1000 2000 3000 4000 5000 6000 7000 8000 9000
    python bench/averaging.py chelsea --schedule const --threads 2 --marks 500 1000 ... 9000
    python bench/averaging.py chelsea --schedule exp:100000 --seed 1 --threads 1 --marks 3000 6000 8000

    python bench/averaging.py PHOTO [--size 256] [--schedule const] [--ema 0.99] [--also 0.998 h0.1] [--lr LR]
        [--seed S] [--set JSON] [--marks 1000 2000 3000 4000 6000] [--threads N]
"""

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def multiplier(spec: str):
    """The schedule named by `spec` as a function of a step tensor."""
    import tensorflow as tf

    kind, *args = spec.split(":")
    args = [float(a) for a in args]
    shapes = {
        "const": lambda s: tf.ones_like(s),
        "invsqrt": lambda s: tf.sqrt(args[0] / (args[0] + s)),
        "harm": lambda s: args[0] / (args[0] + s),
        "drop": lambda s: tf.where(s >= args[0], args[1], 1.0),
        "exp": lambda s: 0.5 ** (s / args[0]),
    }
    if kind not in shapes:
        sys.exit(f"unknown schedule {spec!r}: one of {', '.join(shapes)}")
    return lambda step: shapes[kind](tf.cast(step, "float32"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--schedule", default="const")
    parser.add_argument("--ema", type=float, default=0.99)
    parser.add_argument(
        "--set", type=json.loads, default={}, help="ModelConfig fields, as JSON: '{\"write_gamma\": true}'"
    )
    parser.add_argument("--seed", type=int, default=0, help="--seed of the run: initial weights and noise")
    parser.add_argument("--lr", type=float, default=None, help="Adam's rate at step 0; default: the run's")
    parser.add_argument(
        "--also",
        nargs="*",
        default=[],
        help="more averages of the same run, measured side by side: a momentum (0.998) "
        "or a horizon growing with the step, hF:F (momentum max(--ema, 1 - 1/(1 + F s)))",
    )
    parser.add_argument("--marks", type=int, nargs="+", default=[1000, 2000, 3000, 4000, 6000])
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads; 0: all cores")
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from common import photo_path

    from drawart import strokes, train
    from drawart.averaging import drawn_by_average, swapped_in
    from drawart.batches import TrainingData
    from drawart.fit_plan import plan_fit

    scale = multiplier(args.schedule)

    class Scheduled(keras.optimizers.schedules.LearningRateSchedule):
        """Stands in for the run's exponential decay (train.build_model builds one)."""

        def __init__(self, lr, decay_steps, decay_rate):
            self.lr = lr

        def __call__(self, step):
            return self.lr * scale(step)

        def get_config(self):
            return {"lr": self.lr}

    train.keras.optimizers.schedules.ExponentialDecay = Scheduled
    shadows = shadow_averages(args.also, args.ema, train)
    marks = sorted(args.marks)
    with tempfile.TemporaryDirectory() as tmp:
        plan = plan_fit(
            photo_path(args.photo),
            Path(tmp) / "run",
            size=args.size,
            model=args.set,
            train={"ema": args.ema, "seed": args.seed, **({"lr": args.lr} if args.lr else {})},
        )
        config = replace(
            plan.config, train=replace(plan.config.train, steps=marks[-1], gif_every=0, checkpoint_every=10**6)
        )
        cells, started = [], time.monotonic()

        class AtMarks(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if int(self.model.optimizer.iterations.numpy()) in marks:
                    weights = strokes.measure(self.model, plan.pixels).psnr
                    with drawn_by_average(self.model):
                        drawn = strokes.measure(self.model, plan.pixels).psnr
                    more = []
                    for averages in shadows(self.model):
                        with swapped_in(list(zip(self.model.optimizer._trainable_variables, averages))):
                            more.append(f"{strokes.measure(self.model, plan.pixels).psnr:5.2f}")
                    cells.append(f"{weights:6.2f}/{drawn:5.2f}" + "".join(f"/{m}" for m in more))

        plan.run.create(config)
        train.fit(plan.run, TrainingData.picture(plan.pixels), config, echo=lambda _: None, extra_callbacks=[AtMarks()])
    lr = config.train.lr
    also = "".join(f"/{a}" for a in args.also)
    print(
        f"{args.photo} {args.size} px{' ' + json.dumps(args.set) if args.set else ''}, seed {args.seed}, lr {lr:g}, "
        f"schedule {args.schedule}, ema {args.ema:g}; PSNR weights/drawing{also} at steps {' '.join(map(str, marks))}"
    )
    print("  " + "  ".join(cells) + f"   ({time.monotonic() - started:.0f} s)")


def momentum_of(spec: str, floor: float):
    """The momentum named by an --also spec as a function of the step tensor."""
    import tensorflow as tf

    if spec.startswith("h"):
        fraction = float(spec[1:])
        return lambda step: tf.maximum(floor, 1.0 - 1.0 / (1.0 + fraction * tf.cast(step, "float32")))
    return lambda step: tf.constant(float(spec))


def shadow_averages(specs, floor, train):
    """Make train.build_model's optimizer keep one more average per spec; returns model -> their lists."""
    if not specs:
        return lambda model: []
    momenta = [momentum_of(spec, floor) for spec in specs]
    base = train.AveragingAdam

    class Shadowing(base):
        def build(self, var_list):
            super().build(var_list)
            self.shadows = [
                [self.add_variable_from_reference(v, name=f"shadow{k}") for v in var_list] for k in range(len(momenta))
            ]

        def _update_model_variables_moving_average(self, trainable_variables):
            super()._update_model_variables_moving_average(trainable_variables)
            first = train.tf.equal(self.iterations, 0)
            for momentum, shadow in zip(momenta, self.shadows):
                m = momentum(self.iterations)
                for var, average in zip(trainable_variables, shadow):
                    average.assign(train.tf.where(first, var, m * average + (1.0 - m) * var))

    train.AveragingAdam = Shadowing
    return lambda model: model.optimizer.shadows


if __name__ == "__main__":
    main()
