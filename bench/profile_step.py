"""Where a training step's time goes: the image-sized work (read, write) against the rest.

Each row trains the default model (T 32, 256-unit LSTMs, read 5, write 20, local windows; the
rgb256fit row with the write grid of 44 a new 256-px run gets) on
examples/chelsea.png at one size and colour, through the real compiled train function, on one CPU
thread, and reports CPU milliseconds per step (CPU time, not wall time, so a busy machine skews it
less). Each variant runs in its own process with part of the model swapped for a stand-in of the
same shapes that does no image-sized work:

- full:    the model as it is;
- noread:  the read glimpse replaced by zeros (the encoder still runs);
- nowrite: the write replaced by a constant canvas update (the writer's dense layers still run);
- noimage: both;
- uncropped: every write over the whole image, none through the crop of its bounded window
  (DrawModel.crop_writes off).

read ≈ full − noread, write ≈ full − nowrite, rest ≈ noimage (LSTMs, dense layers, loss), and
crop ≈ uncropped − full, what cropping the bounded writes saves.

`--features` instead profiles the reference model of bench/throughput.py (camera.png, 64 px gray,
write grid 12, today's defaults otherwise) with one of the default's extras taken away at a time,
and all of them at once (`bare`: the paper's window, no moving average, no NaN guard, a constant
learning rate, which is what the seed's implementation trains):

`--thunks` counts what XLA runs for one step of the reference model (one thread, traced by
TensorFlow's profiler with XLA's per-operation trace on): operations a step and their traced time,
inside the glimpse loops (run once per glimpse, forward or backward) and outside them, and the
kinds of operation that take the most. Tracing adds its own cost to every operation, so the times
are for comparing rows, not a step's time.

    python bench/profile_step.py [--seconds 12] [--rows gray64 rgb64 rgb256]
    python bench/profile_step.py --features
    python bench/profile_step.py --thunks
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from common import ROOT, call_data

IMAGE = ROOT / "examples" / "chelsea.png"
# row: (longest side, gray, write grid); rgb256fit is what `drawart fit PHOTO --size 256` builds.
ROWS = {"gray64": (64, True, 20), "rgb64": (64, False, 20), "rgb256": (256, False, 20), "rgb256fit": (256, False, 44)}
VARIANTS = ("full", "noread", "nowrite", "noimage", "uncropped")
REFERENCE_IMAGE = ROOT / "examples" / "camera.png"
# feature variant: what it takes away from the default model.
FEATURES = {
    "default": "nothing",
    "ema0": "the moving average of the weights (--ema 0)",
    "paper": "local windows (the paper's window instead)",
    "nocrop": "the cropped writes (every write over the whole image)",
    "noguard": "the NaN guard (every step applied)",
    "constlr": "the learning-rate schedule (a constant rate)",
    "bare": "all of the above",
}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(row: str, variant: str, seconds: float) -> dict:
    """CPU ms per step of one variant of one row, in this process."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    from keras import ops

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from drawart import network as draw_model
    from drawart import train
    from drawart.config import ModelConfig, TrainConfig
    from drawart.image import load_image

    size, gray, write_n = ROWS[row]
    pixels = load_image(IMAGE, size=size, gray=gray).pixels
    height, width, channels = pixels.shape
    if variant in ("noread", "noimage"):

        def read(self, x, drawn, h_dec, t=0):
            return ops.zeros((ops.shape(x)[0], self.output_size)) + 0 * ops.sum(h_dec), self.params(h_dec)

        draw_model.AttentionRead.call = read
    if variant in ("nowrite", "noimage"):

        def write(self, h_dec, t=0, filterbank=None, tap=None):
            patch = self.patch(h_dec) if tap is None else self.patch(h_dec) + tap
            stroke = ops.zeros((ops.shape(h_dec)[0], height, channels, width)) + ops.mean(patch)
            return stroke, self.params(h_dec)

        draw_model.AttentionWrite.call = write
    model = train.build_model(
        ModelConfig(height=height, width=width, channels=channels, write_n=write_n), TrainConfig()
    )
    # The write stand-ins replace the whole-image write, so those variants use it everywhere.
    model.crop_writes = variant not in ("uncropped", "nowrite", "noimage")
    return {"cpu_ms": timed(model, pixels, seconds)}


def feature_child(variant: str, seconds: float) -> dict:
    """CPU ms per step of the reference model without one of the default's extras, in this process."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from drawart import train
    from drawart.compat import PAPER_WINDOW
    from drawart.config import ModelConfig, TrainConfig
    from drawart.image import load_image
    from drawart.model import DrawModel

    bare = variant == "bare"
    pixels = load_image(REFERENCE_IMAGE, size=64, gray=True).pixels
    model_config = ModelConfig(height=64, width=64, channels=1, write_n=12)
    if variant == "paper" or bare:
        model_config = ModelConfig(height=64, width=64, channels=1, write_n=12, **PAPER_WINDOW)
    if variant == "noguard" or bare:

        def one_step(self, x, step):
            losses, grads = self.gradients(x, self.noise(ops_shape(x)[0], step))
            self.optimizer.apply(self.clipped(losses, grads)[1], self.trainable_variables)
            return losses, tf.constant(True)

        ops_shape = keras.ops.shape
        DrawModel.one_step = one_step
    if variant == "constlr" or bare:
        keras.optimizers.schedules.ExponentialDecay = lambda rate, **_: rate
    model = train.build_model(model_config, TrainConfig(ema=0.0 if variant in ("ema0", "bare") else TrainConfig.ema))
    model.crop_writes = variant != "nocrop"
    return {"cpu_ms": timed(model, pixels, seconds)}


def thunks_child() -> None:
    """Print what XLA ran for the reference model's steps, by where and by kind (see --thunks)."""
    import collections
    import glob
    import re
    import tempfile

    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_cpu_enable_xprof_traceme=true"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from drawart import train
    from drawart.config import ModelConfig, TrainConfig
    from drawart.image import load_image

    pixels = load_image(REFERENCE_IMAGE, size=64, gray=True).pixels
    model = train.build_model(ModelConfig(height=64, width=64, channels=1, write_n=12), TrainConfig())
    model.make_train_function()
    per_call, calls = 20, 5
    data = call_data(pixels, per_call)
    model.train_function(iter([data]))  # compiles: not traced
    folder = tempfile.mkdtemp()
    tf.profiler.experimental.start(folder)
    for _ in range(calls):
        model.train_function(iter([data]))
    tf.profiler.experimental.stop()
    space = xplane_pb2.XSpace()
    space.ParseFromString(open(sorted(glob.glob(f"{folder}/**/*.xplane.pb", recursive=True))[-1], "rb").read())
    ms, count = collections.Counter(), collections.Counter()
    for plane in space.planes:
        names = {key: meta.name for key, meta in plane.event_metadata.items()}
        for line in plane.lines:
            if not line.name.startswith("tf_numa"):  # XLA's own threads: one event per operation
                continue
            for event in line.events:
                name = names.get(event.metadata_id, "?")
                if not name.startswith(("ThunkExecutor", "while", "end:")):
                    ms[name] += event.duration_ps / 1e9
                    count[name] += 1
    steps = per_call * calls
    where, kinds = collections.Counter(), collections.Counter()
    where_ms, kinds_ms = collections.Counter(), collections.Counter()
    for name, n in count.items():
        place = "in the glimpse loops" if n / steps > 1.5 else "outside them"
        kind = re.sub(r"\.\d+$", "", name)
        where[place] += n / steps
        where_ms[place] += ms[name] / steps
        kinds[kind] += n / steps
        kinds_ms[kind] += ms[name] / steps
    print("the reference model (camera.png, 64 px gray, write grid 12), one thread, traced: XLA operations a step")
    for place in where:
        print(f"  {place:22s} {where[place]:8.0f} operations   {where_ms[place]:6.2f} ms traced")
    print("  the kinds that took most:")
    for kind, spent in kinds_ms.most_common(12):
        print(f"    {kind:40s} {kinds[kind]:7.0f} a step   {spent:6.2f} ms traced")


def timed(model, pixels, seconds: float) -> float:
    """CPU ms per step of the model's compiled train function, after its first (compiling) call."""
    model.make_train_function()
    per_call = 20
    data = call_data(pixels, per_call)
    model.train_function(iter([data]))  # compiles: not measured
    started, cpu_started, steps = time.perf_counter(), cpu_seconds(), 0
    while time.perf_counter() - started < seconds:
        model.train_function(iter([data]))
        steps += per_call
    return 1000 * (cpu_seconds() - cpu_started) / steps


def measure(row: str, variant: str, seconds: float) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--child", row, variant, "--seconds", str(seconds)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["cpu_ms"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=12.0, help="measured seconds per variant")
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS)[:3])
    parser.add_argument("--features", action="store_true", help="the reference model without each extra in turn")
    parser.add_argument("--thunks", action="store_true", help="what XLA runs for a step of the reference model")
    parser.add_argument("--child", nargs=2, metavar=("ROW", "VARIANT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.thunks:
        thunks_child()
        return
    if args.child:
        row, variant = args.child
        print(
            json.dumps(feature_child(variant, args.seconds) if row == "features" else child(row, variant, args.seconds))
        )
        return
    if args.features:
        print("the reference model (camera.png, 64 px gray, write grid 12), CPU ms per training step on one thread")
        default = None
        for variant, taken in FEATURES.items():
            ms = measure("features", variant, args.seconds)
            default = default or ms
            print(f"{variant:8s} {ms:7.2f} ms  {default / ms:5.2f}x the default's speed   without {taken}", flush=True)
        return
    print(
        "CPU ms per training step, one thread (read = full - noread, write = full - nowrite, rest = noimage, "
        "crop = uncropped - full)"
    )
    print(f"{'row':9s} {'full':>7s} {'read':>7s} {'write':>7s} {'rest':>7s} {'crop':>7s}")
    for row in args.rows:
        ms = {variant: measure(row, variant, args.seconds) for variant in VARIANTS}
        read, write = ms["full"] - ms["noread"], ms["full"] - ms["nowrite"]
        crop = ms["uncropped"] - ms["full"]
        print(f"{row:9s} {ms['full']:7.1f} {read:7.1f} {write:7.1f} {ms['noimage']:7.1f} {crop:7.1f}", flush=True)


if __name__ == "__main__":
    main()
