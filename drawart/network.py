"""The parts of DRAW (Gregor et al. 2015), as Keras layers: the encoder's and decoder's LSTMs, the
sampler of the latents, and the read and write heads with and without attention (paper eqs. 3–8,
17–18, 27–29). DrawModel (model.py) puts them together glimpse by glimpse and trains them.

Inside, images and canvases are rows-first, (batch, B, C, A), so that both heads are two plain
matmuls over every channel at once (filterbank.read_glimpse).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from drawart.config import ModelConfig
from drawart.filterbank import Filterbank, read_glimpse, write_patch
from drawart.windows import WINDOW_TYPES


class State(NamedTuple):
    """Everything that one glimpse hands to the next."""

    canvas: object  # (batch, B, C, A) logits c_t
    h_enc: object
    c_enc: object
    h_dec: object
    c_dec: object


def window_params(config: ModelConfig) -> keras.layers.Dense:
    """The dense layer from h_dec to a head's five raw window parameters, before `window_rate`
    scales them (see `raw_window`).

    Its bias starts at the window type's `raw_start` (windows.py), divided by the rate, so the
    windows start where they would at the full rate.
    """
    start = WINDOW_TYPES[config.window].raw_start
    start = [value / config.window_rate for value in start]
    return keras.layers.Dense(5, name="params", bias_initializer=keras.initializers.Constant(start))


def raw_window(head, h_dec):
    """A head's five raw window parameters: its dense layer's output times `window_rate`.

    Adam moves every weight by about the learning rate a step, whatever its gradient's size, so
    scaling the layer's output by r moves the windows r times as fast as the rest of the network.
    """
    return head.params(h_dec) * head.window_rate


class AttentionRead(keras.layers.Layer):
    """γ·[F_Y x F_Xᵀ, F_Y x̂ F_Xᵀ]: an N×N glimpse of the image and of the error image.

    The read is linear, so the error image's glimpse is read(x) − read(σ(c)): x̂ is never formed,
    and the image's own read needs no gradient. At 256 px, forming x̂ and reading [x, x̂] as one
    image cost more than everything else in a step (bench/profile_step.py).
    """

    def __init__(self, config: ModelConfig, **kwargs) -> None:
        super().__init__(**kwargs)
        self.params, self.window_rate = window_params(config), config.window_rate
        self.filterbank = Filterbank(config.read_n, config.height, config.width, kind=config.window, head="read")
        self.output_size = 2 * config.channels * config.read_n**2

    def build(self, hidden_shape) -> None:
        self.params.build(hidden_shape)

    def call(self, x, drawn, h_dec, t=0):
        """The glimpse of image x and of x − `drawn` (= σ(c)), flattened, and the raw parameters."""
        params = raw_window(self, h_dec)
        fx, fy, gamma = self.filterbank(params, t=t)
        image = read_glimpse(x, fx, fy, gamma)
        glimpse = ops.concatenate([image, image - read_glimpse(drawn, fx, fy, gamma)], axis=1)
        return ops.reshape(glimpse, (ops.shape(glimpse)[0], self.output_size)), params


class PlainRead(keras.layers.Layer):
    """Without attention the encoder sees the whole image and error image."""

    def __init__(self, config: ModelConfig, **kwargs) -> None:
        super().__init__(**kwargs)
        self.output_size = 2 * config.channels * config.height * config.width

    def build(self, hidden_shape) -> None:
        pass

    def call(self, x, drawn, h_dec, t=0):
        both = ops.transpose(ops.concatenate([x, x - drawn], axis=2), (0, 2, 1, 3))  # the encoder reads (2C, B, A)
        return ops.reshape(both, (ops.shape(both)[0], self.output_size)), None


class AttentionWrite(keras.layers.Layer):
    """(1/γ)·F_Yᵀ w F_X: an N×N patch per channel placed on the canvas by its own filterbank."""

    def __init__(self, config: ModelConfig, **kwargs) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.channels, self.n = config.channels, config.write_n
        self.params, self.window_rate = window_params(config), config.window_rate
        self.patch = keras.layers.Dense(config.channels * config.write_n**2, name="patch")
        self.filterbank = self.filterbank_at(1)

    def filterbank_at(self, grid_scale: float) -> Filterbank:
        """The write filterbank, evaluated on a grid `grid_scale` times finer than the training image."""
        cfg = self.config
        return Filterbank(
            cfg.write_n,
            cfg.height,
            cfg.width,
            grid_scale,
            kind=cfg.window,
            head="write",
            max_window=cfg.max_window,
            reach=cfg.block_in,
            glimpses=cfg.glimpses,
            taper=cfg.taper,
            confined=cfg.confined,
            window_floor=cfg.window_floor,
            gamma_range=cfg.gamma_range,
        )

    def build(self, hidden_shape) -> None:
        self.params.build(hidden_shape)
        self.patch.build(hidden_shape)

    @property
    def tapped(self) -> keras.layers.Dense:
        """The dense layer whose kernel gradient is formed over all glimpses at once (see LSTM)."""
        return self.patch

    def overshoot(self, params, t):
        """(batch,) how far this glimpse's raw window parameters sit past its limits (model.margin_weight)."""
        return self.filterbank.overshoot(params, t)

    def patch_values(self, h_dec):
        """w, the N×N patch of every channel that this glimpse writes: (batch, C, N, N)."""
        return ops.reshape(self.patch(h_dec), (-1, self.channels, self.n, self.n))

    def call(self, h_dec, t=0, filterbank=None, tap=None):
        """The canvas update and the raw window parameters; `filterbank` may be a finer grid."""
        params = raw_window(self, h_dec)
        fx, fy, gamma = (filterbank or self.filterbank)(params, t=t)
        return write_patch(self._patch(h_dec, tap), fx, fy, gamma), params

    def _patch(self, h_dec, tap):
        patch = self.patch(h_dec) if tap is None else self.patch(h_dec) + tap
        return ops.reshape(patch, (-1, self.channels, self.n, self.n))

    @property
    def crop(self) -> tuple[int, int] | None:
        """(rows, columns) that every local write after the block-in and taper fits in, or None
        where cropping saves nothing (the paper's window, or a bound too wide for the image)."""
        if self.config.window != "local":
            return None
        sides = self.filterbank.crop_sides()
        return None if sides == (self.config.height, self.config.width) else sides

    def cropped(self, canvas, h_dec, t, tap=None):
        """The canvas with this glimpse written, through the crop its window fits in (see
        Filterbank.cropped): for glimpses whose bound is `max_window`. Equals canvas + call(...)
        but for filter tails under 1.5e-8 of their peak."""
        params = raw_window(self, h_dec)
        fx, fy, gamma, x0, y0 = self.filterbank.cropped(params, t, *self.crop)
        return add_at(canvas, write_patch(self._patch(h_dec, tap), fx, fy, gamma), y0, x0), params


def add_at(canvas, update, y0, x0):
    """canvas (batch, B, C, A) with `update` (batch, rows, C, columns) added from row y0 and
    column x0 of each image ((batch,) int32 each): where a cropped write lands."""
    shape = tf.shape(update)
    b, r, c, a = tf.meshgrid(*(tf.range(shape[i]) for i in range(4)), indexing="ij")
    index = tf.stack([b, r + tf.gather(y0, b), c, a + tf.gather(x0, b)], axis=-1)
    return tf.tensor_scatter_nd_add(canvas, index, update)


class PlainWrite(keras.layers.Layer):
    """Without attention the decoder writes a whole-canvas update through one dense layer."""

    def __init__(self, config: ModelConfig, **kwargs) -> None:
        super().__init__(**kwargs)
        self.shape = (config.channels, config.height, config.width)
        self.dense = keras.layers.Dense(math.prod(self.shape), name="canvas")

    def build(self, hidden_shape) -> None:
        self.dense.build(hidden_shape)

    @property
    def tapped(self) -> keras.layers.Dense:
        return self.dense

    def call(self, h_dec, t=0, tap=None):
        update = self.dense(h_dec) if tap is None else self.dense(h_dec) + tap
        return ops.transpose(ops.reshape(update, (-1, *self.shape)), (0, 2, 1, 3)), None


class Sampler(keras.layers.Layer):
    """z = μ + σ ⊙ ε with μ and log σ linear in h_enc; returns the exact KL to N(0, I) as well."""

    def __init__(self, z: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.mean = keras.layers.Dense(z, name="mean")
        self.log_sigma = keras.layers.Dense(z, name="log_sigma")

    def build(self, hidden_shape) -> None:
        self.mean.build(hidden_shape)
        self.log_sigma.build(hidden_shape)

    def call(self, h_enc, eps):
        mu, log_sigma = self.mean(h_enc), self.log_sigma(h_enc)
        z = mu + ops.exp(log_sigma) * eps
        # ½(μ² + σ² − log σ² − 1) summed over every latent dimension (not once per step).
        kl = 0.5 * ops.sum(ops.square(mu) + ops.exp(2 * log_sigma) - 2 * log_sigma - 1, axis=-1)
        return z, kl


class LSTM(keras.layers.Layer):
    """An LSTM cell with one kernel over [input, h], so a step is one matmul.

    With a `tap` (batch, 4·units) added to the gate pre-activations, and the kernel and bias made
    constants by the caller (see `DrawModel.draw`), the gradient with respect to the
    tap is the gate gradient of this step, and the kernel's gradient can be formed for all steps at
    once (see `DrawModel.gradients`) instead of being accumulated one outer product per glimpse.
    """

    def __init__(self, units: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_size: int) -> None:
        self.kernel = self.add_weight(
            shape=(input_size + self.units, 4 * self.units), initializer="glorot_uniform", name="kernel"
        )
        # Forget gate bias 1 (Jozefowicz et al. 2015): remember by default early in training.
        forget = np.zeros(4 * self.units, "float32")
        forget[self.units : 2 * self.units] = 1.0
        self.bias = self.add_weight(
            shape=(4 * self.units,), initializer=keras.initializers.Constant(forget), name="bias"
        )

    def call(self, inputs, h, c, tap=None):
        """Returns the new (h, c) and [input, h], the matmul's input for the batched gradient."""
        xh = ops.concatenate([inputs, h], axis=-1)
        gates = ops.matmul(xh, self.kernel) + self.bias
        if tap is not None:
            gates = gates + tap
        i, f, g, o = ops.split(gates, 4, axis=-1)
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
        h = ops.sigmoid(o) * ops.tanh(c)
        return h, c, xh
