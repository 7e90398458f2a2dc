import keras
import numpy as np
import pytest
from conftest import tiny_model_config

from drawart import train
from drawart.averaging import drawn_by_average
from drawart.batches import TrainingData
from drawart.callbacks import global_step
from drawart.checkpoints import CHECKPOINT_PREFIX, list_checkpoints
from drawart.config import RunConfig, TrainConfig
from drawart.run import RunDir

PIXELS = np.random.default_rng(1).random((6, 9, 1)).astype("float32")


def fit(path, steps, ema, **changes):
    config = RunConfig(
        model=tiny_model_config(),
        train=TrainConfig(
            steps=steps, ema=ema, steps_per_call=1, checkpoint_every=steps, gif_every=0, jit_compile=False, **changes
        ),
    )
    run = RunDir(path)
    run.create(config)
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((global_step(self.model), [w.numpy() for w in self.model.trainable_weights]))

    model, _ = train.fit(run, TrainingData.picture(PIXELS), config, echo=lambda _: None, extra_callbacks=[Record()])
    return run, model, seen


def test_the_drawing_is_the_moving_average_of_the_weights_step_by_step(tmp_path):
    momentum = 0.5
    _, model, seen = fit(tmp_path / "run", 4, momentum)
    assert [step for step, _ in seen] == [1, 2, 3, 4]
    average = seen[0][1]  # the first step's weights start the average
    for _, weights in seen[1:]:
        average = [momentum * a + (1 - momentum) * w for a, w in zip(average, weights)]
    with drawn_by_average(model):
        drawn = [w.numpy() for w in model.trainable_weights]
    for expected, got in zip(average, drawn):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
    assert any(not np.allclose(a, w) for a, w in zip(average, seen[-1][1]))


def test_training_keeps_its_own_weights_and_drawing_swaps_them_back_bit_for_bit(tmp_path):
    _, model, seen = fit(tmp_path / "run", 3, 0.9)
    # Keras would copy the average over the weights when fit ends; the run's weights stay those trained.
    trained = [w.numpy() for w in model.trainable_weights]
    for a, b in zip(trained, seen[-1][1]):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(RuntimeError):
        with drawn_by_average(model):
            assert any(not np.array_equal(a, w.numpy()) for a, w in zip(trained, model.trainable_weights))
            raise RuntimeError("a drawing that fails")
    for a, w in zip(trained, model.trainable_weights):
        np.testing.assert_array_equal(a, w.numpy())


def test_milestones_keep_the_weights_that_draw(tmp_path):
    config = RunConfig(
        model=tiny_model_config(),
        train=TrainConfig(steps=4, ema=0.9, steps_per_call=2, checkpoint_every=4, gif_every=4, jit_compile=False),
    )
    run = RunDir(tmp_path / "run")
    run.create(config)
    model, _ = train.fit(run, TrainingData.picture(PIXELS), config, echo=lambda _: None)
    [(step, path)] = list_checkpoints(run.milestones)
    assert step == 4
    kept = train.build_model(config.model, config.train)
    train.restore_weights(kept, str(path / CHECKPOINT_PREFIX))
    with drawn_by_average(model):
        for a, b in zip(model.trainable_weights, kept.trainable_weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_without_an_average_the_weights_draw(tmp_path):
    _, model, seen = fit(tmp_path / "run", 2, 0.0)
    assert not model.optimizer.use_ema
    with drawn_by_average(model):
        for a, w in zip(seen[-1][1], model.trainable_weights):
            np.testing.assert_array_equal(a, w.numpy())


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_a_gated_apply_is_the_plain_apply_when_open_and_changes_nothing_but_the_count_when_shut(ema):
    import tensorflow as tf

    from drawart.averaging import AveragingAdam

    def optimizer_and_weights():
        weights = [keras.Variable(np.linspace(-1, 1, 6, dtype="float32").reshape(2, 3)), keras.Variable([0.5, -2.0])]
        optimizer = AveragingAdam(1e-2, ema=ema)
        optimizer.build(weights)
        return optimizer, weights

    grads = lambda k: [tf.fill((2, 3), 0.1 * k), tf.constant([k, -1.0])]
    state = lambda optimizer, weights: [v.numpy().copy() for v in weights + optimizer.variables]
    plain, gated = optimizer_and_weights(), optimizer_and_weights()
    for k in range(1, 4):
        plain[0].apply(grads(k), plain[1])
        with gated[0].only_if(tf.constant(True)):
            gated[0].apply(grads(k), gated[1])
        for a, b in zip(state(*plain), state(*gated)):
            np.testing.assert_array_equal(a, b)

    before = state(*gated)
    with gated[0].only_if(tf.constant(False)):
        gated[0].apply([tf.fill((2, 3), float("nan")), tf.constant([1.0, float("inf")])], gated[1])
    after = state(*gated)
    assert int(gated[0].iterations.numpy()) == 4
    counts = [i for i, v in enumerate(gated[1] + gated[0].variables) if v is gated[0].iterations]
    for i, (a, b) in enumerate(zip(before, after)):
        if i not in counts:
            np.testing.assert_array_equal(a, b)
