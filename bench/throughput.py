"""Training speed of drawart against a straightforward baseline, and start-up time.

Reference configuration: examples/camera.png at 64×64 gray, T = 32 glimpses, 256-unit LSTMs,
z = 32, read N = 5, write N = 12, batch 1, attention on.

- drawart: the real path, `drawart.train.fit` (Keras fit, XLA, --steps-per-call steps per compiled
  call, checkpoints and metrics as in a real run).
- baseline: the same model, image and number of steps, trained by a plain `tf.function` step
  (GradientTape over the loss, no XLA, one step per call).

Each side runs in its own process (so peak memory is its own); steady-state it/s excludes the first
call (compilation). Start-up is the wall time of `drawart fit --steps 1` from launch to exit, for a
new run and for a resume.

Then the image-sized work against the LSTMs: the default model (T 32, 256-unit LSTMs, read 5,
write 20, local windows) on examples/chelsea.png at 64 px gray, 64 px RGB and 256 px RGB, each
through the real path, and each one's it/s as a share of the gray 64 px one's.

    python bench/throughput.py [--steps 1000] [--sizes-only] [--startup-only]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT

IMAGE = ROOT / "examples" / "camera.png"
SIZES_IMAGE = ROOT / "examples" / "chelsea.png"
SIZES = {"gray 64 px": (64, True), "RGB 64 px": (64, False), "RGB 256 px": (256, False)}  # (size, gray)


def child(side: str, steps: int) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    from drawart import train
    from drawart.batches import TrainingData
    from drawart.config import ModelConfig, RunConfig, TrainConfig
    from drawart.image import load_image
    from drawart.run import RunDir

    if side in SIZES:
        size, gray = SIZES[side]
        pixels = load_image(SIZES_IMAGE, size=size, gray=gray).pixels
        model_config = ModelConfig(height=pixels.shape[0], width=pixels.shape[1], channels=pixels.shape[2])
    else:
        pixels = load_image(IMAGE, size=64, gray=True).pixels
        # The reference configuration of the speed issue (write N = 12; the default is now 20).
        model_config = ModelConfig(
            height=64,
            width=64,
            channels=1,
            read_n=5,
            write_n=12,
            glimpses=32,
            hidden=256,
            z=32,
            window="paper",
            max_window=1.0,
            block_in=0,
        )
    if side != "baseline":
        config = RunConfig(model=model_config, train=TrainConfig(steps=steps, gif_every=0))
        with tempfile.TemporaryDirectory() as tmp:
            run = RunDir(Path(tmp) / "run")
            run.create(config)
            train.fit(run, TrainingData.picture(pixels), config, echo=lambda _: None)
            rows = [line.split(",") for line in run.metrics_path.read_text().splitlines()[1:]]
        (first_step, first_s), (last_step, last_s) = [(int(r[0]), float(r[5])) for r in (rows[0], rows[-1])]
        rate = (last_step - first_step) / (last_s - first_s)
        loss = float(rows[-1][1])
    else:
        model = train.build_model(model_config, TrainConfig(jit_compile=False))
        x = model.rows_first(pixels[None])

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                losses = model.compute_losses(x, model.noise(1, model.optimizer.iterations))
            grads = tape.gradient(losses["loss"], model.trainable_variables)
            grads, _ = tf.clip_by_global_norm(grads, model.clip_norm)  # as drawart clips
            model.optimizer.apply(grads, model.trainable_variables)
            return losses

        step()["loss"].numpy()  # compile: not part of the rate
        started = time.perf_counter()
        for _ in range(steps - 1):
            losses = step()
        loss = float(losses["loss"].numpy())
        rate = (steps - 1) / (time.perf_counter() - started)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"it_per_s": rate, "peak_mib": peak_mib, "final_loss": loss}


def run_child(side: str, steps: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", side, "--steps", str(steps)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def startup_seconds(args: list[str], cache: Path) -> float:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "DRAWART_XLA_CACHE": str(cache)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "drawart.cli", "fit", str(IMAGE), *args], env=env, check=True, capture_output=True
    )
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--child", choices=["drawart", "baseline", *SIZES])
    parser.add_argument("--sizes-only", action="store_true", help="only the rows of the default model at three sizes")
    parser.add_argument("--startup-only", action="store_true", help="only the start-up times")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.steps)))
        return

    if args.startup_only:
        startup()
        return
    if not args.sizes_only:
        reference(args.steps)
    rates = {name: run_child(name, args.steps)["it_per_s"] for name in SIZES}
    print("the default model on chelsea.png, it/s and as a share of gray 64 px:")
    for name, rate in rates.items():
        print(f"  {name:11s} {rate:6.1f} it/s   {rate / rates['gray 64 px']:.2f}x")


def startup() -> None:
    """Launch to first step done and exit, with an empty compile cache (the first launch on a
    machine), then a resume and another new run of the same model, which read the compiled step."""
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "xla"
        out = lambda name: ["--out", str(Path(tmp) / name), "--gif-every", "0"]  # noqa: E731
        cold = startup_seconds([*out("run"), "--steps", "1"], cache)
        resumed = startup_seconds([*out("run"), "--steps", "2"], cache)
        warm = startup_seconds([*out("other"), "--steps", "1"], cache)
    print(
        f"start-up, launch to first step done and exit: new run {cold:.1f} s (nothing compiled yet), "
        f"resume {resumed:.1f} s, another new run {warm:.1f} s (the compiled step kept)"
    )


def reference(steps: int):
    """The reference model against the baseline, and start-up times."""
    startup()

    drawart = run_child("drawart", steps)
    baseline = run_child("baseline", steps)
    for name, r in (("drawart", drawart), ("baseline", baseline)):
        print(
            f"{name:9s} {r['it_per_s']:6.1f} it/s   peak memory {r['peak_mib']:6.0f} MiB   loss after {steps} steps {r['final_loss']:.1f}"
        )
    print(f"speed-up: {drawart['it_per_s'] / baseline['it_per_s']:.2f}x")


if __name__ == "__main__":
    main()
