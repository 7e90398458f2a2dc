"""DrawModel: shapes, the noise it draws, the exact KL, and that training lowers the loss."""

import math
from dataclasses import replace

import numpy as np
import pytest
import tensorflow as tf
from conftest import set_raw_window, tiny_model_config

from drawart import train
from drawart.config import ModelConfig, TrainConfig
from drawart.model import DrawModel


def tiled(model, image, batch):
    """(batch, B, C, A), the model's layout: one image (H, W, C) once per noise sample."""
    return model.rows_first(np.broadcast_to(image, (batch, *np.shape(image))))


def model_for(config, **train_changes):
    return train.build_model(config, TrainConfig(jit_compile=False, **train_changes))


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("attention", [True, False])
def test_trace_returns_every_canvas_and_glimpse(channels, attention):
    config = tiny_model_config(channels=channels, attention=attention)
    model = model_for(config)
    image = np.random.default_rng(0).random((6, 9, channels)).astype("float32")
    out = model.trace(image, seed=1)
    assert out["canvases"].shape == (config.glimpses + 1, 6, 9, channels)
    assert np.all((out["canvases"] >= 0) & (out["canvases"] <= 1))
    # c_0 is one learned value per channel: the first canvas is a uniform background.
    first = out["canvases"][0].reshape(-1, channels)
    np.testing.assert_allclose(first, np.broadcast_to(first[0], first.shape))
    if attention:
        assert out["read"].shape == (config.glimpses, 5)
        assert out["write"].shape == (config.glimpses, 5)
    else:
        assert "read" not in out and "write" not in out
    # Same seed, same drawing.
    np.testing.assert_array_equal(model.trace(image, seed=1)["canvases"], out["canvases"])


@pytest.mark.parametrize("attention", [True, False])
def test_tracing_a_set_draws_each_image_as_if_traced_alone(attention):
    config = tiny_model_config(channels=3, attention=attention)
    model = model_for(config)
    images = np.random.default_rng(0).random((5, 6, 9, 3)).astype("float32")
    out = model.trace(images, seed=2)
    assert out["canvases"].shape == (config.glimpses + 1, 5, 6, 9, 3)
    if attention:
        assert out["read"].shape == out["write"].shape == (config.glimpses, 5, 5)
    for k in range(5):
        alone = model.trace(images[k], seed=2)
        assert alone.keys() == out.keys()
        for key, value in alone.items():
            # Batched matmuls round differently from single ones, by about one float32 ulp.
            np.testing.assert_allclose(out[key][:, k], value, atol=1e-6, err_msg=f"{key} of image {k}")
    # Different images, different drawings: the set is not one image repeated.
    assert not np.allclose(out["canvases"][-1, 0], out["canvases"][-1, 1])


def test_a_trace_compiles_its_glimpse_once_and_draws_with_the_weights_of_the_moment():
    """Each glimpse of a trace is one compiled call (DrawModel._glimpse_shown), traced once for all
    glimpses and later traces of the same shapes, on a finer grid too, adding no layer or weight to
    the model; a trace after training draws with the new weights."""
    model = model_for(tiny_model_config(channels=3))
    image = np.random.default_rng(0).random((6, 9, 3)).astype("float32")
    layers, weights = len(list(model._flatten_layers())), len(model.weights)
    first = model.trace(image, seed=1, grid_scale=2)
    np.testing.assert_array_equal(model.trace(image, seed=1, grid_scale=2)["canvases"], first["canvases"])
    assert model._shown_glimpse.experimental_get_tracing_count() == 1
    assert (len(list(model._flatten_layers())), len(model.weights)) == (layers, weights)
    model.writer.patch.bias.assign(model.writer.patch.bias + 1.0)
    later = model.trace(image, seed=1, grid_scale=2)
    assert model._shown_glimpse.experimental_get_tracing_count() == 1
    assert not np.allclose(later["canvases"][-1], first["canvases"][-1])


def test_trace_rejects_what_is_neither_an_image_nor_a_set():
    model = model_for(tiny_model_config())
    with pytest.raises(ValueError, match="set"):
        model.trace(np.zeros((6, 9), "float32"))


def test_trace_final_canvas_is_the_one_the_loss_sees():
    config = tiny_model_config(channels=3)
    model = model_for(config)
    image = np.random.default_rng(0).random((6, 9, 3)).astype("float32")
    out = model.trace(image, seed=3)
    noise = np.random.default_rng(3).standard_normal((config.glimpses, 1, config.z)).astype("float32")
    logits, _ = model.final_canvas_and_kl(tiled(model, image, 1), noise)
    canvas = np.transpose(tf.sigmoid(logits).numpy()[0], (0, 2, 1))
    np.testing.assert_allclose(out["canvases"][-1], canvas, atol=1e-6)


@pytest.mark.parametrize("unroll", [1, 3, 4])
def test_partial_unrolling_does_not_change_the_result(unroll):
    config = tiny_model_config()
    image = np.random.default_rng(0).random((6, 9, 1)).astype("float32")
    noise = np.random.default_rng(5).standard_normal((config.glimpses, 2, config.z)).astype("float32")
    results = []
    for u in (1, unroll):
        model = model_for(config, unroll=u)
        logits, kl = model.final_canvas_and_kl(tiled(model, image, 2), noise)
        results.append((logits.numpy(), kl.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], atol=1e-6)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6)


def test_generate_draws_from_the_prior():
    config = tiny_model_config(channels=3, height=5, width=7)
    model = model_for(config)
    out = model.generate(count=4, seed=2)
    assert out["canvases"].shape == (config.glimpses + 1, 4, 5, 7, 3)
    assert out["write"].shape == (config.glimpses, 4, 5)
    # Different z, different drawings; the same seed repeats them.
    assert not np.allclose(out["canvases"][-1, 0], out["canvases"][-1, 1])
    np.testing.assert_array_equal(model.generate(count=4, seed=2)["canvases"], out["canvases"])


def test_noise_is_fresh_at_every_glimpse_and_every_step():
    model = model_for(tiny_model_config(glimpses=6, z=5))
    first, second = model.noise(2, 0).numpy(), model.noise(2, 1).numpy()
    assert first.shape == (6, 2, 5)
    for t in range(1, 6):
        assert not np.allclose(first[t], first[0])  # not one ε reused at every glimpse
    assert not np.allclose(first, second)  # and new at every step
    # A function of the step alone (and the seed): what makes a resumed run exact.
    np.testing.assert_array_equal(model.noise(2, 1).numpy(), second)
    other = train.build_model(tiny_model_config(glimpses=6, z=5), TrainConfig(jit_compile=False, seed=1))
    assert not np.allclose(other.noise(2, 1).numpy(), second)


def test_every_glimpse_uses_its_own_noise():
    # Changing only the last glimpse's ε must change the drawing: ε_t is consumed at step t.
    config = tiny_model_config()
    model = model_for(config)
    x = tiled(model, np.full((6, 9, 1), 0.5, "float32"), 1)
    noise = np.random.default_rng(0).standard_normal((config.glimpses, 1, config.z)).astype("float32")
    changed = noise.copy()
    changed[-1] += 1.0
    a, _ = model.final_canvas_and_kl(x, noise)
    b, _ = model.final_canvas_and_kl(x, changed)
    assert not np.allclose(a.numpy(), b.numpy())


def test_loss_is_recon_plus_kl_with_recon_the_summed_cross_entropy():
    config = tiny_model_config()
    model = model_for(config)
    image = np.random.default_rng(0).random((6, 9, 1)).astype("float32")
    x = tiled(model, image, 1)
    noise = np.random.default_rng(1).standard_normal((config.glimpses, 1, config.z)).astype("float32")
    losses = {k: float(v) for k, v in model.compute_losses(x, noise).items()}
    logits, kl = model.final_canvas_and_kl(x, noise)
    p = tf.sigmoid(logits).numpy()
    xn = x.numpy()
    bce = -(xn * np.log(p) + (1 - xn) * np.log(1 - p)).sum()
    assert losses["recon"] == pytest.approx(bce, rel=1e-4)
    assert losses["kl"] == pytest.approx(float(kl.numpy()[0]), rel=1e-6)
    assert losses["loss"] == pytest.approx(losses["recon"] + losses["kl"], rel=1e-6)
    assert losses["psnr"] == pytest.approx(-10 * math.log10(((xn - p) ** 2).mean()), rel=1e-4)


def test_canvas_start_is_one_value_per_channel():
    model = model_for(tiny_model_config(channels=3))
    assert tuple(model.canvas_start.shape) == (3,)


def test_loss_falls_on_a_real_photo(repo_root):
    # camera.png at 16 px: the known failure of public code is NaN within 100 steps on this photo.
    from drawart.image import load_image

    pixels = load_image(repo_root / "examples" / "camera.png", size=16).pixels
    config = tiny_model_config(height=16, width=16, glimpses=6, read_n=3, write_n=4, hidden=32, z=4)
    model = model_for(config, batch=2, lr=3e-3)
    step = tf.function(model.train_step)
    data = lambda n: (tf.constant(n), tf.constant(np.broadcast_to(pixels, (n, 2, *pixels.shape))))
    first = float(step(data(1))["loss"])
    for _ in range(6):
        last = step(data(50))
        assert all(np.isfinite(float(v)) for v in last.values())
    assert float(last["loss"]) < 0.9 * first
    assert int(model.optimizer.iterations.numpy()) == 301


@pytest.mark.parametrize("attention", [True, False])
def test_batched_lstm_gradients_equal_plain_backpropagation(attention):
    config = tiny_model_config(attention=attention, channels=3)
    model = model_for(config, unroll=3)
    x = tiled(model, np.random.default_rng(0).random((6, 9, 3)).astype("float32"), 2)
    noise = np.random.default_rng(1).standard_normal((config.glimpses, 2, config.z)).astype("float32")
    with tf.GradientTape() as tape:
        plain_losses = model.compute_losses(x, noise)
    plain = tape.gradient(plain_losses["loss"], model.trainable_variables)
    losses, batched = model.gradients(x, noise)
    assert float(losses["loss"]) == pytest.approx(float(plain_losses["loss"]), rel=1e-6)
    assert len(batched) == len(plain) == len(model.trainable_variables)
    for variable, want, got in zip(model.trainable_variables, plain, batched):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-5, err_msg=variable.path)


# ---------------------------------------------------------------------------------------------
# The NaN guard: a step with a NaN or Inf loss or gradient changes nothing but the step count.


def poison(model, nan_loss=(), nan_grad=()):
    """Make the steps starting at these iteration counts non-finite: a NaN loss, or a finite loss
    whose gradient is NaN."""
    original = model.losses_from

    def losses_from(x, logits, kl, *along):
        losses = original(x, logits, kl, *along)
        step = model.optimizer.iterations

        def at(steps):
            return tf.reduce_any(tf.equal(tf.constant([-1, *steps], dtype=step.dtype), step))

        loss = losses["loss"] + tf.where(at(nan_loss), float("nan"), 0.0)
        # sqrt(0·|c|) is 0, but its gradient is ∞·0 = NaN.
        loss += tf.cond(at(nan_grad), lambda: tf.sqrt(0.0 * tf.abs(model.canvas_start[0])), lambda: 0.0)
        return {**losses, "loss": loss}

    model.losses_from = losses_from
    return model


def training_state(model):
    """Weights and optimizer moments: everything a skipped step must leave alone."""
    optimizer = [v for v in model.optimizer.variables if v is not model.optimizer.iterations]
    return [v.numpy().copy() for v in model.trainable_variables + optimizer]


@pytest.mark.parametrize("jit", [False, True])
def test_a_non_finite_step_changes_nothing_but_the_step_count(jit):
    bad = {2: "loss", 3: "loss", 5: "gradient", 9: "loss", 10: "gradient"}
    model = train.build_model(tiny_model_config(), TrainConfig(jit_compile=jit))
    poison(model, [k for k, v in bad.items() if v == "loss"], [k for k, v in bad.items() if v == "gradient"])
    step = tf.function(model.train_step, jit_compile=jit)
    image = np.random.default_rng(0).random((6, 9, 1)).astype("float32")
    batches = lambda n: tf.constant(np.broadcast_to(image, (n, 1, *image.shape)))
    everything = [*model.weights, *model.optimizer.variables]
    start = [v.numpy() for v in everything]

    for i in range(8):
        before = training_state(model)
        logs = step((tf.constant(1), batches(1)))
        assert int(model.optimizer.iterations.numpy()) == i + 1  # a skipped step still counts
        assert (int(logs["skipped"]), int(logs["streak"])) == ((1, 1) if i in bad else (0, 0))
        same = [np.array_equal(a, b) for a, b in zip(before, training_state(model))]
        assert all(same) if i in bad else not all(same), i
        assert np.isfinite(float(logs["loss"])) == (bad.get(i) != "loss")
    one_by_one = training_state(model)
    assert all(np.isfinite(a).all() for a in one_by_one)

    # The same 8 steps in one call: the same weights, and the skips counted.
    for v, value in zip(everything, start):
        v.assign(value)
    logs = step((tf.constant(8), batches(8)))
    assert (int(logs["skipped"]), int(logs["streak"])) == (3, 0)
    for a, b in zip(one_by_one, training_state(model)):
        np.testing.assert_array_equal(a, b)
    # A streak counts the skipped steps at the end of a call.
    logs = step((tf.constant(3), batches(3)))
    assert (int(logs["skipped"]), int(logs["streak"])) == (2, 2)


def test_bound_is_the_mean_loss_per_image_under_the_seeds_noise():
    config = tiny_model_config()
    model = model_for(config)
    images = np.random.default_rng(2).random((5, 6, 9, 1)).astype("float32")
    got = model.bound(images, seed=4, batch=5)
    noise = np.random.default_rng(4).standard_normal((config.glimpses, 5, config.z)).astype("float32")
    want = model.compute_losses(model.rows_first(images), noise)
    assert got["bound"] == pytest.approx(float(want["loss"]), rel=1e-5)
    assert got["kl"] == pytest.approx(float(want["kl"]), rel=1e-5)
    # Evaluated in batches, each image keeps one noise sample: another split, nearly the same mean.
    assert model.bound(images, seed=4, batch=2)["bound"] == pytest.approx(got["bound"], rel=0.05)


def test_call_is_the_mean_reconstruction():
    config = tiny_model_config(channels=3)
    model = model_for(config)
    images = np.random.default_rng(0).random((2, 6, 9, 3)).astype("float32")
    out = model(images).numpy()
    assert out.shape == (2, 6, 9, 3)
    zero = np.zeros((config.glimpses, 2, config.z), "float32")
    logits, _ = model.final_canvas_and_kl(model.rows_first(images), zero)
    np.testing.assert_allclose(out, np.transpose(1 / (1 + np.exp(-logits.numpy())), (0, 1, 3, 2)), rtol=1e-5)


def test_cropped_writes_train_as_whole_image_writes():
    # Bounded local windows (after the block-in and taper) are written through a crop of the
    # image; the losses and every gradient are those of whole-image writes.
    config = tiny_model_config(height=24, width=32, channels=3, write_n=8, max_window=0.2, block_in=1, taper=1)
    model = model_for(config, unroll=2)
    assert model.cropped_from() == config.glimpses  # too small an image for a crop to pay
    model.crop_writes = True
    assert model.cropped_from() == 2 and model.writer.crop == (19, 19)
    x = tiled(model, np.random.default_rng(0).random((24, 32, 3)).astype("float32"), 2)
    noise = np.random.default_rng(1).standard_normal((config.glimpses, 2, config.z)).astype("float32")
    cropped_losses, cropped = model.gradients(x, noise)
    model.crop_writes = False
    assert model.cropped_from() == config.glimpses
    whole_losses, whole = model.gradients(x, noise)
    assert float(cropped_losses["loss"]) == pytest.approx(float(whole_losses["loss"]), rel=1e-6)
    for variable, want, got in zip(model.trainable_variables, whole, cropped):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-6, err_msg=variable.path)


@pytest.mark.parametrize(("height", "width", "channels", "cropped"), [(64, 64, 3, False), (256, 256, 1, True)])
def test_writes_are_cropped_only_at_one_sample_a_step_on_images_large_enough_for_it_to_pay(
    height, width, channels, cropped
):
    config = ModelConfig(
        height=height, width=width, channels=channels, glimpses=4, hidden=8, z=2, write_n=8, block_in=1, taper=1
    )
    model = DrawModel(config, seed=0, unroll=1, clip_norm=1.0)
    assert model.cropped_from(batch=1) == (2 if cropped else config.glimpses)
    # With more samples a step, or an unknown number, whole writes were faster at every size.
    assert model.cropped_from(batch=2) == model.cropped_from(batch=None) == config.glimpses


# ---------------------------------------------------------------------------------------------
# The canvas loss: the canvases on the way pay part of their own reconstruction loss.


@pytest.mark.parametrize("window", ["local", "paper"])
def test_the_canvas_loss_adds_each_weighted_canvas_after_the_block_in(window):
    config = tiny_model_config(
        channels=3,
        glimpses=6,
        window=window,
        canvas_loss=0.6,
        **({"block_in": 2, "taper": 1} if window == "local" else {}),
    )
    model = model_for(config)
    image = np.random.default_rng(0).random((6, 9, 3)).astype("float32")
    x = tiled(model, image, 2)
    noise = np.random.default_rng(1).standard_normal((6, 2, config.z)).astype("float32")
    drawn = model.draw(x, noise)
    # The same canvases glimpse by glimpse, eagerly: the local window's canvases from the
    # block-in's end on pay 0.6 / 4 each; the paper's (no block-in) all six pay 0.6 / 6.
    first = 2 if window == "local" else 0
    state, expected = model.initial_state(2), np.zeros(2)
    for t in range(6):
        state = model.glimpse(x, state, noise[t], t=t)[0]
        if t >= first:
            expected += 0.6 / (6 - first) * model.recon_loss(x, state.canvas).numpy()
    np.testing.assert_allclose(drawn.along.numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(drawn.canvas.numpy(), state.canvas.numpy(), rtol=1e-5, atol=1e-5)
    losses = model.losses_from(x, drawn.canvas, drawn.kl, drawn.along)
    assert float(losses["loss"]) == pytest.approx(float(losses["recon"] + losses["kl"]) + expected.mean(), rel=1e-5)


def test_without_a_canvas_loss_the_loss_is_the_papers():
    config = tiny_model_config(channels=1)
    model = model_for(config)
    x = tiled(model, np.random.default_rng(0).random((6, 9, 1)).astype("float32"), 1)
    noise = np.zeros((config.glimpses, 1, config.z), "float32")
    drawn = model.draw(x, noise)
    assert model.canvas_weights() is None and float(drawn.along[0]) == 0.0
    losses = model.compute_losses(x, noise)
    assert float(losses["loss"]) == pytest.approx(float(losses["recon"] + losses["kl"]))


# ---------------------------------------------------------------------------------------------
# The window rate: the windows' raw parameters are their dense layer's output scaled by it.


def test_a_window_rate_scales_the_raw_window_parameters_but_not_where_windows_start():
    from drawart.network import raw_window

    slow = model_for(tiny_model_config(channels=3, window_rate=0.25))
    h_dec = tf.random.stateless_normal((2, slow.config.hidden), seed=(1, 2))
    for head in (slow.reader, slow.writer):
        np.testing.assert_allclose(raw_window(head, h_dec).numpy(), 0.25 * head.params(h_dec).numpy(), rtol=1e-6)
        # The bias is scaled up to match: at h_dec = 0 the windows are those of the default rate.
        zero = raw_window(head, tf.zeros((1, slow.config.hidden))).numpy()
        np.testing.assert_allclose(zero, [[0.0, 0.0, 0.0, 2.0, 0.0]], atol=1e-6)
    # At rate 1 (every run before 0.8.0) the raw parameters are the dense layer's output itself.
    plain = model_for(tiny_model_config(channels=3, window_rate=1.0))
    np.testing.assert_array_equal(raw_window(plain.writer, h_dec).numpy(), plain.writer.params(h_dec).numpy())


def test_adam_moves_the_windows_at_the_window_rate():
    # One Adam step moves every weight by about the learning rate, so the raw parameters at
    # h_dec = 0 (the bias times the rate) move about `rate` times as far as at rate 1.
    moved = {}
    for rate in (1.0, 0.25):
        model = model_for(tiny_model_config(channels=1, window_rate=rate), lr=1e-2, ema=0.0)
        image = np.random.default_rng(0).random((1, 6, 9, 1)).astype("float32")
        x = model.rows_first(image)
        start = model.writer.params.bias.numpy() * rate
        model.one_step(x, tf.constant(0, tf.int64))
        moved[rate] = np.abs(model.writer.params.bias.numpy() * rate - start).max()
    assert moved[0.25] == pytest.approx(0.25 * moved[1.0], rel=0.05)


# ---------------------------------------------------------------------------------------------
# The window margin: a write window past its limits' knees pays for it.


def test_the_window_margin_adds_each_write_windows_overshoot_times_the_pixels():
    config = tiny_model_config(channels=3, glimpses=5, block_in=1, taper=1, window_margin=0.02)
    model = model_for(config)
    image = np.random.default_rng(0).random((6, 9, 3)).astype("float32")
    x = tiled(model, image, 2)
    noise = np.random.default_rng(1).standard_normal((5, 2, config.z)).astype("float32")
    plain = model_for(replace(config, window_margin=0.0))
    plain.set_weights(model.get_weights())
    # The writer's windows pushed past the knees: far to the right and the faintest ink.
    set_raw_window(model.writer, [3.0, 0.0, 0.0, 0.0, 2.0])
    set_raw_window(plain.writer, [3.0, 0.0, 0.0, 0.0, 2.0])
    state, expected = model.initial_state(2), np.zeros(2)
    for t in range(5):
        state, _, _, write_params, _ = model.glimpse(x, state, noise[t], t=t)
        expected += 0.02 * 6 * 9 * 3 * model.writer.overshoot(write_params, t).numpy()
    assert expected.min() > 0
    drawn = model.draw(x, noise)
    np.testing.assert_allclose(drawn.along.numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(drawn.canvas.numpy(), plain.draw(x, noise).canvas.numpy(), rtol=1e-6)
    margin, paper = model.compute_losses(x, noise), plain.compute_losses(x, noise)
    assert float(margin["loss"]) == pytest.approx(float(paper["loss"]) + expected.mean(), rel=1e-5)
    # The gradient pulls the window back: its raw centre and ink move inwards under one step.
    grads = dict(zip((v.path for v in model.trainable_variables), model.gradients(x, noise)[1]))
    plain_grads = dict(zip((v.path for v in plain.trainable_variables), plain.gradients(x, noise)[1]))
    bias = next(path for path in grads if "write" in path and "params" in path and "bias" in path)
    pulled = grads[bias].numpy() - plain_grads[bias].numpy()
    assert pulled[0] > 0 and pulled[4] > 0 and pulled[1] == pytest.approx(0, abs=1e-4)
