"""Training: chunking steps at boundaries, checkpoints written and restored exactly."""

import os

import numpy as np
import pytest
from conftest import tiny_model_config

from drawart import train
from drawart.averaging import drawn_by_average
from drawart.batches import TrainingData
from drawart.config import RunConfig, TrainConfig
from drawart.run import RunDir


@pytest.mark.parametrize(
    "start, total, every, want",
    [
        (0, 10, [4], [4, 4, 2]),
        (0, 10, [4, 5], [4, 1, 3, 2]),
        (3, 12, [5, 0], [2, 5, 2]),
        (7, 7, [3], []),
        (9, 10, [100], [1]),
    ],
)
def test_chunks_end_on_every_boundary(start, total, every, want):
    sizes = train.chunk_sizes(start, total, every)
    assert sizes == want
    assert start + sum(sizes) == max(start, total)


def run_fit(path, steps, **changes):
    config = RunConfig(
        model=tiny_model_config(),
        train=TrainConfig(
            **{"steps": steps, "checkpoint_every": 6, "steps_per_call": 4, "keep_checkpoints": 2, **changes}
        ),
    )
    run = RunDir(path)
    if not run.exists():
        run.create(config)
    pixels = np.random.default_rng(0).random((6, 9, 1)).astype("float32")
    messages = []
    model, step = train.fit(run, TrainingData.picture(pixels), config, echo=messages.append)
    return run, model, step, messages


def test_fit_writes_checkpoints_and_metrics_at_their_steps(tmp_path):
    run, model, step, _ = run_fit(tmp_path / "run", 14, jit_compile=False)
    assert step == 14
    # every 6 and the last; only the newest two are kept
    assert sorted(p.name for p in run.checkpoints.iterdir()) == ["step-0000012", "step-0000014"]
    rows = run.metrics_path.read_text().splitlines()
    assert rows[0] == "step,loss,recon,kl,psnr,seconds"
    assert [int(r.split(",")[0]) for r in rows[1:]] == [4, 6, 8, 12, 14]  # every call, checkpoint and the last


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_load_model_restores_the_weights_that_draw(tmp_path, ema):
    run, model, step, _ = run_fit(tmp_path / "run", 6, jit_compile=False, ema=ema)
    loaded, at = train.load_model(run)
    assert at == 6 and int(loaded.optimizer.iterations.numpy()) == 6
    with drawn_by_average(model):  # the trained weights where the run keeps no average
        drawn = [w.numpy() for w in model.weights]
    for a, b in zip(drawn, loaded.weights):
        np.testing.assert_array_equal(a, b.numpy())
    moved = any(not np.array_equal(a, w.numpy()) for a, w in zip(drawn, model.weights))
    assert moved == (ema > 0)


def test_fit_at_or_past_the_target_does_nothing(tmp_path):
    run, _, _, _ = run_fit(tmp_path / "run", 6, jit_compile=False)
    before = sorted(p.name for p in run.checkpoints.iterdir())
    _, _, step, messages = run_fit(tmp_path / "run", 4, jit_compile=False)
    assert step == 6 and "nothing to do" in messages[-1]
    assert sorted(p.name for p in run.checkpoints.iterdir()) == before


# ---------------------------------------------------------------------------------------------
# Divergence and failed writes: the run stops with one line and its checkpoints stay good.


def nan_from(monkeypatch, steps):
    """Every step starting at an iteration count in `steps` gets a NaN loss."""
    import tensorflow as tf

    from drawart.model import DrawModel

    original = DrawModel.losses_from

    def losses_from(self, x, logits, kl, *along):
        losses = original(self, x, logits, kl, *along)
        step = self.optimizer.iterations
        bad = tf.reduce_any(tf.equal(tf.constant([-1, *steps], dtype=step.dtype), step))
        return {**losses, "loss": losses["loss"] + tf.where(bad, float("nan"), 0.0)}

    monkeypatch.setattr(DrawModel, "losses_from", losses_from)


def checkpoint_tensors(path):
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(path / "ckpt"))
    tensors = {name: np.asarray(reader.get_tensor(name)) for name in reader.get_variable_to_shape_map()}
    return {name: t for name, t in tensors.items() if t.dtype.kind == "f"}  # not the object graph


def test_a_diverging_run_stops_naming_its_last_good_checkpoint(tmp_path, monkeypatch):
    from drawart.callbacks import Diverged

    nan_from(monkeypatch, range(9, 1000))  # steps 10 onwards
    with pytest.raises(Diverged) as err:
        run_fit(tmp_path / "run", 40, jit_compile=False, max_bad_steps=6, steps_per_call=2, checkpoint_every=4)
    message = str(err.value)
    assert "\n" not in message and "since step 9" in message and "checkpoint at step 8" in message
    assert "--lr" in message
    run = RunDir(tmp_path / "run")
    # Checkpoints due at 12 and 16 fell inside the streak: none was written, 4 and 8 are kept.
    assert [p.name for p in sorted(run.checkpoints.iterdir())] == ["step-0000004", "step-0000008"]
    for path in run.checkpoints.iterdir():
        tensors = checkpoint_tensors(path)
        assert len(tensors) > 20 and all(np.isfinite(t).all() for t in tensors.values())


def test_a_checkpoint_due_during_skipped_steps_waits_for_a_healthy_one(tmp_path, monkeypatch):
    nan_from(monkeypatch, [3, 7])  # steps 4 and 8, each the last of its call
    _, _, step, messages = run_fit(
        tmp_path / "run", 12, jit_compile=False, steps_per_call=2, checkpoint_every=4, keep_checkpoints=5
    )
    assert step == 12
    assert sorted(p.name for p in RunDir(tmp_path / "run").checkpoints.iterdir()) == [
        "step-0000006",
        "step-0000010",
        "step-0000012",
    ]
    assert sum("warning: 1 of steps" in m for m in messages) == 2


def test_a_failed_checkpoint_write_stops_with_one_line_and_keeps_the_last(tmp_path, monkeypatch):
    import tensorflow as tf

    from drawart.checkpoints import checkpoint_problem
    from drawart.errors import RunError

    write = tf.train.Checkpoint.write

    def disk_full_at_step_12(self, prefix, **kwargs):
        if "step-0000012" not in prefix:
            return write(self, prefix, **kwargs)
        # What TensorFlow's own file layer raises when the disk is full.
        raise tf.errors.ResourceExhaustedError(None, None, f"{prefix}_temp/part-0; No space left on device [Op:SaveV2]")

    monkeypatch.setattr(tf.train.Checkpoint, "write", disk_full_at_step_12)
    with pytest.raises(RunError) as err:
        run_fit(tmp_path / "run", 14, jit_compile=False)
    message = str(err.value)
    assert "\n" not in message
    assert "checkpoint at step 12" in message and "(No space left on device)" in message
    assert "resume from step 6" in message
    checkpoints = RunDir(tmp_path / "run").checkpoints
    assert [p.name for p in checkpoints.iterdir()] == ["step-0000006"]  # no half-written step 12
    assert checkpoint_problem(checkpoints / "step-0000006") is None


# ---------------------------------------------------------------------------------------------
# --strategy mirrored, on a CPU split into two logical devices (only possible before TensorFlow
# starts, hence a fresh process).

SPLIT_CPU_AND_RUN_DRAWART = """
import sys
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from drawart.cli import main

sys.argv = ["drawart", *sys.argv[1:]]
main()
"""


def drawart_on_two_cpus(*args):
    import subprocess
    import sys

    command = [sys.executable, "-c", SPLIT_CPU_AND_RUN_DRAWART, *map(str, args)]
    return subprocess.run(
        command, capture_output=True, text=True, env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    )


def test_mirrored_over_two_devices_matches_one_device(digits_npz, tmp_path):
    common = [
        digits_npz,
        *"--size 8 --glimpses 4 --hidden 16 --z 4 --read-n 2 --write-n 3 --batch 8 --steps 12".split(),
    ]
    common += "--steps-per-call 4 --checkpoint-every 6 --gif-every 6 --val-fraction 0.1 -q".split()
    mirrored = drawart_on_two_cpus("fit", *common, "--out", tmp_path / "mirrored", "--strategy", "mirrored")
    assert mirrored.returncode == 0, mirrored.stderr
    assert "mirrored over 2 device(s)" in mirrored.stdout
    # Mirrored steps run without XLA, and XLA's Philox draws other normals than TensorFlow's own
    # kernel: compare with the same model on one device, also without XLA.
    single = drawart_on_two_cpus("fit", *common, "--out", tmp_path / "single", "--no-xla")
    assert single.returncode == 0, single.stderr

    a, step_a = train.load_model(RunDir(tmp_path / "mirrored"))
    b, step_b = train.load_model(RunDir(tmp_path / "single"))
    assert step_a == step_b == 12
    start = train.build_model(a.config, RunConfig().train)  # the same seed's initial weights
    moved = max(float(np.abs(w.numpy() - w0.numpy()).max()) for w, w0 in zip(b.weights, start.weights))
    assert moved > 1e-3  # so the tolerance below is a real test
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_allclose(wa.numpy(), wb.numpy(), atol=2e-5, rtol=1e-3, err_msg=wa.path)
    for name in ("metrics.csv", "validation.csv"):
        rows = lambda run, name=name: np.array(
            [line.split(",")[:4] for line in (tmp_path / run / name).read_text().splitlines()[1:]], float
        )
        np.testing.assert_allclose(rows("mirrored"), rows("single"), rtol=1e-4)
    assert sorted(p.name for p in (tmp_path / "mirrored" / "gifs").glob("*.gif")) == [
        "step-0000006.gif",
        "step-0000012.gif",
    ]


def test_mirrored_refuses_a_batch_that_does_not_split_evenly(digits_npz, tmp_path):
    result = drawart_on_two_cpus(
        "fit",
        digits_npz,
        "--size",
        "8",
        "--glimpses",
        "2",
        "--hidden",
        "8",
        "--z",
        "2",
        "--batch",
        "3",
        "--steps",
        "2",
        "--strategy",
        "mirrored",
        "--out",
        tmp_path / "run",
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == ["error: --batch 3 cannot be split evenly over 2 devices: use a multiple of the device count"]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_fit_names_where_it_trains_a_gpu_by_its_name(monkeypatch):
    import tensorflow as tf

    from drawart import train

    gpus = [tf.config.PhysicalDevice(name=f"/physical_device:GPU:{i}", device_type="GPU") for i in range(2)]
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [] if kind != "GPU" else gpus[:1])
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda device: {"device_name": "NVIDIA H100"})
    assert train.where_it_trains() == "GPU: NVIDIA H100"
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [] if kind != "GPU" else gpus)
    assert train.where_it_trains() == "2 GPUs: NVIDIA H100"
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    assert train.where_it_trains() == f"the CPU ({os.cpu_count()} cores)"
