"""Training speed of drawart against the seed's own DRAW (or a plain baseline), and start-up time.

Reference configuration: examples/camera.png at 64×64 gray, T = 32 glimpses, 256-unit LSTMs,
z = 32, read N = 5, write N = 12, batch 1, attention on; today's defaults for everything else.

- drawart: the real path, `drawart.train.fit` (Keras fit, XLA, --steps-per-call steps per compiled
  call, checkpoints and metrics as in a real run), with the default window, and with the paper's.
- seed: Eric Jang's DRAW (github.com/ericjang/draw, draw.py), the implementation this project
  started from, when `--seed-draw` names its draw.py or a checkout of it: its model, built as its
  file builds it under `tf.compat.v1` (graph mode, one `sess.run` a step) at the reference shape,
  fed the same image. Keras 3 has no TF1 LSTMCell, so the same cell without peepholes (one matmul
  of [input, h] to four gates, forget bias 1) stands in for `tf.contrib.rnn.LSTMCell`.
- baseline (without --seed-draw): the same model as drawart, trained by a plain `tf.function` step
  (GradientTape over the loss, no XLA, one step per call).

Each side runs in its own process (so peak memory is its own), `--rounds` times in turn (each row is
its median round; the speed-up is the median of the rounds' ratios); steady-state it/s excludes the
first call (compilation). Start-up is the wall time of `drawart fit --steps 1` from launch to its first
step done (its checkpoint on disk) and to exit, for a new run and for a resume.

Then the image-sized work against the LSTMs: the default model (T 32, 256-unit LSTMs, read 5,
write 20, local windows) on examples/chelsea.png at 64 px gray, 64 px RGB and 256 px RGB, each
through the real path, and each one's it/s as a share of the gray 64 px one's.

Last, what several noise samples a step (`--batch`) buy: `drawart fit PHOTO --size S --batch K`
(bench/big_pictures.py's runs: the clock includes start-up and compiling) for K = 1, 2, 4, 8, and
the PSNR reached after the same minutes of training, on several photos at 64 and 256 px.

    python bench/throughput.py [--steps 1000] [--rounds 3] [--seed-draw PATH] [--sizes-only] [--startup-only]
    python bench/throughput.py --by-batch [--batches 1 2 4 8] [--photos astronaut coins text] [--sizes 64 256] [--minutes 1 2]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, fit_rate

IMAGE = ROOT / "examples" / "camera.png"
SIZES_IMAGE = ROOT / "examples" / "chelsea.png"
SIZES = {"gray 64 px": (64, True), "RGB 64 px": (64, False), "RGB 256 px": (256, False)}  # (size, gray)


# The seed's draw.py, edited to the reference shape and today's TensorFlow: (text, replaced by).
SEED_CELL = """
class LSTMCell:
    def __init__(self, units, state_is_tuple=True):
        self.units = units

    def zero_state(self, batch, dtype):
        return (tf.zeros((batch, self.units), dtype),) * 2

    def __call__(self, inputs, state):
        c, h = state
        with tf.variable_scope("lstm_cell"):
            xh = tf.concat([inputs, h], 1)
            w = tf.get_variable("kernel", [xh.get_shape()[1], 4 * self.units])
            b = tf.get_variable("bias", [4 * self.units], initializer=tf.zeros_initializer())
            i, j, f, o = tf.split(tf.matmul(xh, w) + b, 4, 1)
            c = tf.sigmoid(f + 1.0) * c + tf.sigmoid(i) * tf.tanh(j)
            h = tf.sigmoid(o) * tf.tanh(c)
        return h, (c, h)
"""
SEED_EDITS = [
    ("import tensorflow as tf\n", "import tensorflow.compat.v1 as tf\ntf.disable_v2_behavior()\n"),
    ("from tensorflow.examples.tutorials import mnist\n", ""),
    ('tf.flags.DEFINE_string("data_dir", "", "")\n', ""),
    ('tf.flags.DEFINE_boolean("read_attn", True, "enable attention for reader")\n', ""),
    ('tf.flags.DEFINE_boolean("write_attn",True, "enable attention for writer")\n', ""),
    ("FLAGS = tf.flags.FLAGS\n", "FLAGS = types.SimpleNamespace(read_attn=True, write_attn=True)\n"),
    ("A,B = 28,28", "A,B = 64,64"),
    ("write_n = 5", "write_n = 12"),
    ("z_size=10", "z_size=32"),
    ("T=10", "T=32"),
    ("batch_size=100", "batch_size=1"),
    ("tf.contrib.rnn.LSTMCell", "LSTMCell"),
    ("keep_dims=True", "keepdims=True"),
    ("## BUILD MODEL ##", SEED_CELL + "\n## BUILD MODEL ##"),
]


def seed_source(path: Path) -> str:
    """The seed's draw.py up to its training loop, edited by SEED_EDITS (each must be found)."""
    path = path / "draw.py" if path.is_dir() else path
    source = path.read_text(encoding="utf-8").split("## RUN TRAINING ##")[0]
    for text, replaced in SEED_EDITS:
        if text not in source:
            raise SystemExit(f"{path} is not the draw.py this bench knows: no {text.strip()!r} in it")
        source = source.replace(text, replaced)
    return source


def seed_child(path: Path, steps: int) -> dict:
    """The seed's model trained on the reference image, one `sess.run` a step, as its file does."""
    import types

    from drawart.image import load_image

    built = {"types": types}
    exec(compile(seed_source(path), str(path), "exec"), built)  # builds its graph, as the file does
    tf = built["tf"]
    image = load_image(IMAGE, size=64, gray=True).pixels.reshape(1, -1)
    session = tf.Session()
    session.run(tf.global_variables_initializer())
    feed = {built["x"]: image}
    fetches = [built["cost"], built["train_op"]]
    session.run(fetches, feed)  # the first run sets up the graph: not part of the rate
    started = time.perf_counter()
    for _ in range(steps - 1):
        loss, _ = session.run(fetches, feed)
    rate = (steps - 1) / (time.perf_counter() - started)
    return {
        "it_per_s": rate,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "final_loss": float(loss),
    }


def child(side: str, steps: int) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if side.startswith("seed="):
        return seed_child(Path(side.removeprefix("seed=")), steps)
    import tensorflow as tf

    from drawart import train
    from drawart.compat import PAPER_WINDOW
    from drawart.config import ModelConfig, RunConfig, TrainConfig
    from drawart.image import load_image

    if side in SIZES:
        size, gray = SIZES[side]
        pixels = load_image(SIZES_IMAGE, size=size, gray=gray).pixels
        model_config = ModelConfig(height=pixels.shape[0], width=pixels.shape[1], channels=pixels.shape[2])
    else:
        pixels = load_image(IMAGE, size=64, gray=True).pixels
        # The reference configuration of the speed issue (write N = 12; the default is now 20),
        # today's defaults otherwise, or with the paper's window.
        paper = PAPER_WINDOW if side == "drawart paper" else {}
        model_config = ModelConfig(
            height=64, width=64, channels=1, read_n=5, write_n=12, glimpses=32, hidden=256, z=32, **paper
        )
    if side != "baseline":
        rate, loss = fit_rate(pixels, RunConfig(model=model_config, train=TrainConfig(steps=steps, gif_every=0)))
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
    return {"it_per_s": rate, "peak_mib": peak_mib, "final_loss": float(loss)}


def run_child(side: str, steps: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", side, "--steps", str(steps)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def startup_seconds(args: list[str], cache: Path, first_step: Path) -> tuple[float, float]:
    """(launch to the first step done, launch to exit) of `drawart fit IMAGE args`. The first step is
    done when `first_step`, its checkpoint, is on disk: the second thing a run does after a call
    (after the divergence check), before the end-of-run work (the page's strokes, TensorBoard's
    image) that a one-step run also does before it exits."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "DRAWART_XLA_CACHE": str(cache)}
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "drawart.cli", "fit", str(IMAGE), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    first = None
    while child.poll() is None:
        if first is None and first_step.exists():
            first = time.perf_counter() - started
        time.sleep(0.01)
    ended = time.perf_counter() - started
    if child.returncode:
        raise SystemExit(f"drawart fit {' '.join(args)} failed (exit {child.returncode})")
    return (first if first is not None else ended), ended


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each side of the reference, in turn")
    parser.add_argument(
        "--seed-draw", type=Path, help="the seed's draw.py, or a checkout of github.com/ericjang/draw, to time against"
    )
    parser.add_argument("--sizes-only", action="store_true", help="only the rows of the default model at three sizes")
    parser.add_argument("--startup-only", action="store_true", help="only the start-up times")
    parser.add_argument("--by-batch", action="store_true", help="only PSNR per minute by noise samples a step")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--photos", nargs="+", default=["astronaut", "coins", "text"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256], help="--by-batch: sizes to train at")
    parser.add_argument(
        "--minutes", type=float, nargs="+", default=[1.0, 2.0], help="--by-batch: minutes of training at each size"
    )
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.steps)))
        return

    if args.startup_only:
        startup()
        return
    if args.by_batch:
        if len(args.minutes) != len(args.sizes):
            parser.error("--minutes needs one number per size")
        by_batch(args.batches, args.photos, dict(zip(args.sizes, args.minutes)))
        return
    if not args.sizes_only:
        reference(args.steps, args.seed_draw, args.rounds)
    rates = {name: run_child(name, args.steps)["it_per_s"] for name in SIZES}
    print("the default model on chelsea.png, it/s and as a share of gray 64 px:")
    for name, rate in rates.items():
        print(f"  {name:11s} {rate:6.1f} it/s   {rate / rates['gray 64 px']:.2f}x")


def by_batch(batches: list[int], photos: list[str], minutes: dict[int, float]) -> None:
    """PSNR after the same minutes of `drawart fit PHOTO --size S --batch K`, by K, at half the
    minutes and at all of them."""
    from big_pictures import run_job
    from common import photo_path

    missing = [name for name in photos if photo_path(name) is None]
    if missing:
        raise SystemExit(f"no such photo: {', '.join(missing)}")
    print("PSNR (dB) after the minutes of training shown (clock from launch, compiling included), and the step reached")
    print(f"{'photo':10s}{'size':>6s}{'min':>5s}" + "".join(f"{f'batch {k}':>17s}" for k in batches))
    for size, spent in minutes.items():
        for photo in photos:
            rows = [run_job(photo, size, [spent / 2, spent], {"batch": k}) for k in batches]
            for mark in range(2):
                cells = [f"{r[mark]['psnr']:8.2f} ({r[mark]['step']:5d})" for r in rows]
                at = spent * (mark + 1) / 2
                print(f"{photo:10s}{size:6d}{at:5g}" + "".join(f"{c:>17s}" for c in cells), flush=True)


def startup() -> None:
    """Launch to first step done, and to exit, with an empty compile cache (the first launch on a
    machine), then a resume and another new run of the same model, which read the compiled step."""
    from drawart.checkpoints import step_name

    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "xla"
        out = lambda name: ["--out", str(Path(tmp) / name), "--gif-every", "0"]  # noqa: E731
        done = lambda name, step: Path(tmp) / name / "checkpoints" / step_name(step)  # noqa: E731
        cold = startup_seconds([*out("run"), "--steps", "1"], cache, done("run", 1))
        resumed = startup_seconds([*out("run"), "--steps", "2"], cache, done("run", 2))
        warm = startup_seconds([*out("other"), "--steps", "1"], cache, done("other", 1))
    print(
        "start-up, launch to first step done (and to exit): "
        f"new run {cold[0]:.1f} s ({cold[1]:.1f} s, nothing compiled yet), resume {resumed[0]:.1f} s "
        f"({resumed[1]:.1f} s), another new run {warm[0]:.1f} s ({warm[1]:.1f} s, the compiled step kept)"
    )


def reference(steps: int, seed: Path | None, rounds: int = 1):
    """The reference model, by default and with the paper's window, against the seed's DRAW (or
    the baseline), and start-up times. With several `rounds` the three run in turn, round after
    round, so that a machine whose speed drifts weighs on all three alike; each side's row is its
    median round, and the speed-up the median of the rounds' own ratios."""
    startup()
    if seed is not None:
        seed_source(seed)  # refuse a file this bench cannot edit before timing anything
    against = ("seed's DRAW", f"seed={seed.resolve()}") if seed is not None else ("baseline", "baseline")
    rows = {"drawart": "drawart", "drawart, paper window": "drawart paper", against[0]: against[1]}
    runs = {name: [] for name in rows}
    for round_ in range(rounds):
        for name, side in rows.items():
            runs[name].append(run_child(side, steps))
        if rounds > 1:
            print(
                f"round {round_ + 1}: " + ", ".join(f"{n} {r[-1]['it_per_s']:.1f}" for n, r in runs.items()), flush=True
            )
    for name, results in runs.items():
        r = sorted(results, key=lambda r: r["it_per_s"])[len(results) // 2]
        print(
            f"{name:22s} {r['it_per_s']:6.1f} it/s   peak memory {r['peak_mib']:6.0f} MiB   "
            f"loss after {steps} steps {r['final_loss']:.1f}",
            flush=True,
        )

    def speed_up(name):
        ratios = sorted(a["it_per_s"] / b["it_per_s"] for a, b in zip(runs[name], runs[against[0]]))
        return statistics.median(ratios), ratios

    (default, ratios), (paper, _) = speed_up("drawart"), speed_up("drawart, paper window")
    spread = f", rounds {min(ratios):.2f}x to {max(ratios):.2f}x" if rounds > 1 else ""
    print(f"speed-up over the {against[0]}: {default:.2f}x (paper window: {paper:.2f}x){spread}")


if __name__ == "__main__":
    main()
