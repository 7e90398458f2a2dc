"""Does the network draw? Window parametrisations compared on real photos at 64 px, by training step.

Trains chelsea.png, camera.png and coffee.png (examples/) at 64 px through the real
`drawart.train.fit`: the paper's window and the default (local windows) on each, other
`--max-window` bounds on the first photo; block-in and taper schedules with `--only NAME ...` (just
those, on every photo; "taper 0" is 0.2.0's one-step bound). At each step mark it reconstructs the photo with fixed noise (seed 0) and prints:

- PSNR of that reconstruction, dB;
- share: the median write window's area over glimpses 5..T, as a share of the image;
- ripple: the worst coverage ripple (max/min of the summed write filters) over all glimpses;
- changed: the median share of pixels that a glimpse changes by more than 2/255;
- adding: glimpses that change the PSNR by at least 0.05 dB (bench/glimpses.py);
- side, log γ: the median write window side (share of the image's longest side) and log γ of the
  glimpses after the block-in and taper: a confined write pushed to its limits adds little.

`--size` above 64 gets the write grid `drawart fit --size` would (config.write_n_for). The limits
of a confined write were compared at 512 px with (about 25 minutes on 2 cores):

    python bench/strokes.py --photos chelsea --size 512 --marks 400 1200 --jobs 1 \
        --only "limits 0.5.0" "floor only" default "0.5.0 no noise"

Figures are by step, not by time, so jobs run side by side (`--jobs`, each on its share of the
cores) without changing them.

    python bench/strokes.py [--size 64] [--marks 1000 2000 5000 10000] [--jobs 2] [--only NAME ...] [--photos NAME ...] [--seed 0]
"""

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from common import check_photos, child_rows, photo_path

PHOTOS = ("chelsea", "camera", "coffee")
MARKS = (1000, 2000, 5000, 10000)

# name → changes to the defaults (ModelConfig or TrainConfig fields)
CONFIGS = {
    "paper window": {"window": "paper"},
    "default": {},
    "max 0.5": {"max_window": 0.5},
    "max 0.2": {"max_window": 0.2},
    "block-in 4": {"block_in": 4},
    "block-in 12": {"block_in": 12},
    "taper 0": {"taper": 0},
    "taper 8": {"taper": 8},
    "taper 12": {"taper": 12},
    "taper 16": {"taper": 16},
    "b4 taper 12": {"block_in": 4, "taper": 12},
    # A confined write's limits (the default, 0.7.0's: side at least a tenth of the bound, log γ within ±0.5).
    "limits 0.5.0": {"window_floor": 0.1, "gamma_range": 2.0},
    "floor only": {"window_floor": 0.5, "gamma_range": 2.0},
    "γ range 1": {"window_floor": 0.5, "gamma_range": 1.0},
    "limits 0.6.0": {"window_floor": 0.5, "gamma_range": 0.5},
    "floor 0.25": {"window_floor": 0.25},
    # 0.7.0: the windows learn at the rate of the rest of the network (0.8.0: a third of it).
    "window rate 1": {"window_rate": 1.0},
    # 0.5.0's limits, trained without the sampled z's noise (z = μ): not an option of drawart, a
    # measurement of what the noise does to the windows.
    "0.5.0 no noise": {"window_floor": 0.1, "gamma_range": 2.0, "noise": 0},
}
# Without --only: these on every photo, and the --max-window bounds on the first photo only, so the
# whole bench takes under 15 minutes on 2 cores (11.8 min here). The schedules run with --only.
MAIN = ("paper window", "default")
BOUNDS = ("max 0.5", "max 0.2")


def child(photo: str, changes: dict, steps: int, marks: list[int], threads: int, size: int = 64) -> None:
    """Train one configuration and print one JSON line per mark."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    from drawart import strokes, train
    from drawart.averaging import drawn_by_average
    from drawart.batches import TrainingData
    from drawart.config import ModelConfig, RunConfig, TrainConfig, write_n_for
    from drawart.image import load_image
    from drawart.model import DrawModel
    from drawart.run import RunDir

    noiseless = changes.pop("noise", 1) == 0
    pixels = load_image(photo_path(photo), size=size).pixels
    height, width, channels = pixels.shape
    model_fields = set(ModelConfig.__dataclass_fields__)
    model = replace(
        ModelConfig(height=height, width=width, channels=channels, write_n=write_n_for(max(height, width))),
        **{k: v for k, v in changes.items() if k in model_fields},
    )
    training = replace(
        TrainConfig(steps=steps, gif_every=0, checkpoint_every=steps),
        **{k: v for k, v in changes.items() if k not in model_fields},
    )
    config = RunConfig(model=model, train=training)
    if noiseless:  # trained and measured with z = μ
        with_noise = DrawModel.noise
        DrawModel.noise = lambda self, batch, step: 0.0 * with_noise(self, batch, step)
        DrawModel._fixed_noise = lambda self, count, seed, shared=False: np.zeros(
            (model.glimpses, count, model.z), "float32"
        )

    class AtMarks(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            step = int(self.model.optimizer.iterations.numpy())
            if step in marks:
                with drawn_by_average(self.model):
                    measured = strokes.measure(self.model, pixels)
                local = slice(model.block_in + model.taper, None)
                figures = {
                    **measured.summary(),
                    "adding": measured.adding(),
                    "side": float(np.median(measured.side[local])),
                    "log_gamma": float(np.median(measured.log_gamma[local])),
                }
                print(json.dumps({"step": step, **figures}), flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        run = RunDir(Path(tmp) / "run")
        run.create(config)
        train.fit(run, TrainingData.picture(pixels), config, echo=lambda _: None, extra_callbacks=[AtMarks()])


def run_job(photo: str, name: str, args) -> tuple[str, str, list[dict], float]:
    started = time.monotonic()
    rows = child_rows(
        __file__,
        [
            photo,
            json.dumps({**CONFIGS[name], "seed": args.seed}),
            "--steps",
            args.steps,
            "--threads",
            max(1, (os.cpu_count() or 1) // args.jobs),
            "--size",
            args.size,
            "--marks",
            *args.marks,
        ],
        f"{photo} / {name}",
    )
    return photo, name, rows, time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, help="steps per run (default: the last mark)")
    parser.add_argument("--jobs", type=int, default=2, help="configurations trained side by side")
    parser.add_argument("--only", nargs="*", help="names of configurations to run")
    parser.add_argument("--photos", nargs="*", default=list(PHOTOS))
    parser.add_argument("--size", type=int, default=64, help="longer side in pixels")
    parser.add_argument("--marks", type=int, nargs="+", default=list(MARKS), help="steps at which to measure")
    parser.add_argument("--seed", type=int, default=0, help="the runs' training seed")
    parser.add_argument("--child", nargs=2, metavar=("PHOTO", "CHANGES"), help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.steps = args.steps or max(args.marks)
    marks = [m for m in args.marks if m <= args.steps] or [args.steps]
    if args.child:
        child(args.child[0], json.loads(args.child[1]), args.steps, marks, args.threads, args.size)
        return
    check_photos(parser, args.photos)
    if args.only:
        jobs = [(photo, name) for photo in args.photos for name in CONFIGS if name in args.only]
    else:
        jobs = [
            (photo, name)
            for photo in args.photos
            for name in CONFIGS
            if name in MAIN or (name in BOUNDS and photo == args.photos[0])
        ]
    started = time.monotonic()
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda job: run_job(*job, args), jobs))
    print(
        f"{args.size} px, seed {args.seed}, defaults but for the configuration; PSNR of the reconstruction with fixed noise (dB), "
        f"median write window share over glimpses 5..T, worst coverage ripple, median share of pixels "
        f"changed per glimpse, glimpses adding at least 0.05 dB, median side and log γ of the local writes; "
        f"{len(jobs)} runs, {args.jobs} at a time, {(time.monotonic() - started) / 60:.1f} min"
    )
    for photo in args.photos:
        print(f"\n{photo_path(photo).name}")
        print(
            f"{'configuration':16s}"
            + "".join(f"{f'@{m}':>8s}" for m in marks)
            + f"{'share':>8s}{'ripple':>8s}{'changed':>9s}{'adding':>8s}{'side':>7s}{'log γ':>7s}"
        )
        for p, name, rows, _ in results:
            if p != photo:
                continue
            by_step = {r["step"]: r for r in rows}
            last = by_step.get(marks[-1])
            cells = "".join(f"{by_step[m]['psnr']:8.2f}" if m in by_step else f"{'-':>8s}" for m in marks)
            tail = (
                (
                    f"{last['share']:8.2f}{last['ripple']:8.2f}{last['changed']:9.2f}"
                    f"{last['adding']:8d}{last['side']:7.2f}{last['log_gamma']:7.2f}"
                )
                if last
                else ""
            )
            print(f"{name:16s}{cells}{tail}", flush=True)


if __name__ == "__main__":
    main()
