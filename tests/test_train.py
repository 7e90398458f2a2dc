"""Training: chunking steps at boundaries, checkpoints written and restored exactly."""

import numpy as np
import pytest

from conftest import single, tiny_model_config
from drawart import train
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
        train=TrainConfig(**{"steps": steps, "checkpoint_every": 6, "steps_per_call": 4, "keep_checkpoints": 2, **changes}),
    )
    run = RunDir(path)
    if not run.exists():
        run.create(config)
    pixels = np.random.default_rng(0).random((6, 9, 1)).astype("float32")
    messages = []
    model, step = train.fit(run, single(pixels), config, echo=messages.append)
    return run, model, step, messages


def test_fit_writes_checkpoints_and_metrics_at_their_steps(tmp_path):
    run, model, step, _ = run_fit(tmp_path / "run", 14, jit_compile=False)
    assert step == 14
    # every 6 and the last; only the newest two are kept
    assert sorted(p.name for p in run.checkpoints.iterdir()) == ["step-0000012", "step-0000014"]
    rows = run.metrics_path.read_text().splitlines()
    assert rows[0] == "step,loss,recon,kl,psnr,seconds"
    assert [int(r.split(",")[0]) for r in rows[1:]] == [4, 6, 8, 12, 14]  # every call, checkpoint and the last


def test_load_model_restores_the_trained_weights(tmp_path):
    run, model, step, _ = run_fit(tmp_path / "run", 6, jit_compile=False)
    loaded, at = train.load_model(run)
    assert at == 6
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(loaded.optimizer.iterations.numpy()) == 6


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

    def losses_from(self, x, logits, kl):
        losses = original(self, x, logits, kl)
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
    _, _, step, messages = run_fit(tmp_path / "run", 12, jit_compile=False, steps_per_call=2,
                                   checkpoint_every=4, keep_checkpoints=5)
    assert step == 12
    assert sorted(p.name for p in RunDir(tmp_path / "run").checkpoints.iterdir()) == [
        "step-0000006", "step-0000010", "step-0000012"]
    assert sum("warning: 1 of steps" in m for m in messages) == 2


def test_a_failed_checkpoint_write_stops_with_one_line_and_keeps_the_last(tmp_path, monkeypatch):
    import tensorflow as tf

    from drawart.run import RunError, checkpoint_problem

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
