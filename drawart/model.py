"""DRAW (Gregor et al. 2015) as a subclassed Keras model: the glimpse loop, the loss and the training
machinery (one compiled call of many steps, a NaN guard, replicas), and tracing for the renders.
Its parts, the paper's layers, are in network.py.

The model knows nothing of files or the command line. Inside, images and canvases are laid out
rows-first, (batch, B, C, A), so that both attention heads are two plain matmuls over every channel
at once (see filterbank.read_glimpse); everything that leaves the model is channels-last
(…, H, W, C) like the input.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from drawart.config import ModelConfig
from drawart.network import LSTM, AttentionRead, AttentionWrite, PlainRead, PlainWrite, Sampler, State
from drawart.windows import WINDOW_TYPES

# The least image (H·W·C values) whose bounded writes are made through crops, at one noise sample a
# step (DrawModel.cropped_from). `python bench/crop_ab.py --speed`, 2 cores, one sample a step, steps
# a second cropped over whole: 0.98 at 64 px gray, 0.94 at 128 px gray, 0.98 at 128 px RGB, 1.00 at
# 256 px gray, 1.12 at 192 px RGB; a crop also costs 2.5 to 3 s more compiling (a second glimpse
# loop). Through `fit` (`python bench/heap_pad.py`), whole writes over crops: 1.26x at 2 and 4
# samples a step at 64 px; at 256 px RGB 0.94x at one sample, 1.10x at two.
CROP_PAYS_FROM = 256 * 256


class Drawn(NamedTuple):
    """What the glimpse loop leaves: per image of the batch, unless said."""

    canvas: object  # c_T, (batch, B, C, A) logits
    kl: object  # Σ_t KL_t
    along: object  # the weighted reconstruction loss of the canvases on the way (DrawModel.canvas_weights)
    inputs: object  # the tapped matmuls' inputs, (T, batch, inputs) each, when taps were given; else None


class DrawModel(keras.Model):
    """DRAW trained on one image or a set; `train_step` runs a given number of optimiser steps at once.

    Data fed to `fit` is a stream of `(steps, images)` pairs: `images` (slots, batch, H, W, C) in
    [0, 1] holds the batch of every step of the call (see batches.py), and `steps` optimiser steps
    run inside one compiled call, so that under XLA no step waits on the host. Under a distribution
    strategy each call is one step and the data is that step's batch (see `replicated_step`).
    """

    def __init__(self, config: ModelConfig, seed: int, unroll: int, clip_norm: float, **kwargs) -> None:
        super().__init__(**kwargs)
        config.validate()
        self.config = config
        self.seed = seed
        self.clip_norm = clip_norm
        self.unroll = max(1, min(unroll, config.glimpses))
        self.encoder = LSTM(config.hidden, name="encoder")
        self.decoder = LSTM(config.hidden, name="decoder")
        self.sampler = Sampler(config.z, name="sampler")
        self.reader = (AttentionRead if config.attention else PlainRead)(config, name="read")
        self.writer = (AttentionWrite if config.attention else PlainWrite)(config, name="write")
        # c_0: one learned logit per channel. A per-pixel c_0 would memorise the picture by itself.
        self.canvas_start = self.add_weight(shape=(config.channels,), initializer="zeros", name="canvas_start")
        self._build_layers()
        self._bound_function = None
        self._shown_glimpse = None  # _glimpse_shown, compiled on first use
        # Whether training writes the bounded local glimpses through crops (cropped_from): None,
        # where it pays (see CROP_PAYS_FROM); True or False, always or never (the tests compare
        # the two).
        self.crop_writes = None

    def _build_layers(self):
        # Variables must exist before the compiled loops are traced: none may be made inside them.
        cfg, hidden = self.config, (None, self.config.hidden)
        self.reader.build(hidden)
        self.encoder.build(self.reader.output_size + cfg.hidden)
        self.sampler.build(hidden)
        self.decoder.build(cfg.z)
        self.writer.build(hidden)
        self.built = True

    # ----------------------------------------------------------------------------------------
    # One glimpse, and the loop over all T of them.

    def initial_state(self, batch: int) -> State:
        cfg = self.config
        zeros = ops.zeros((batch, cfg.hidden))
        start = ops.broadcast_to(
            ops.reshape(self.canvas_start, (1, 1, cfg.channels, 1)),
            (batch, cfg.height, cfg.channels, cfg.width),
        )
        return State(start, zeros, zeros, zeros, zeros)

    def glimpse(self, x, state: State, eps, taps=(None, None, None), t=0, cropped=False):
        """Paper eqs. 3–8 for glimpse t (0-based; an int or a scalar tensor).

        Returns the new state, this step's KL, the read and write parameters, and the inputs of the
        encoder's and decoder's matmuls (for the batched kernel gradient). `cropped`: write through
        the crop of a bounded local window (AttentionWrite.cropped).
        """
        # x̂ = x − σ(c_{t−1}): the readers form it, or its glimpse (see AttentionRead).
        r, read_params = self.reader(x, ops.sigmoid(state.canvas), state.h_dec, t=t)
        enc_in = ops.concatenate([r, state.h_dec], axis=-1)
        h_enc, c_enc, enc_xh = self.encoder(enc_in, state.h_enc, state.c_enc, tap=taps[0])
        z, kl = self.sampler(h_enc, eps)
        h_dec, c_dec, dec_xh = self.decoder(z, state.h_dec, state.c_dec, tap=taps[1])
        if cropped:
            canvas, write_params = self.writer.cropped(state.canvas, h_dec, t, tap=taps[2])
        else:
            update, write_params = self.writer(h_dec, t=t, tap=taps[2])
            canvas = state.canvas + update
        new = State(canvas, h_enc, c_enc, h_dec, c_dec)
        return new, kl, read_params, write_params, (enc_xh, dec_xh, h_dec)

    def tapped(self) -> list:
        """(kernel, bias) of each matmul inside the glimpse loop whose kernel gradient is formed over
        all glimpses at once, in the order of `glimpse`'s taps: encoder, decoder, writer."""
        return [
            (self.encoder.kernel, self.encoder.bias),
            (self.decoder.kernel, self.decoder.bias),
            (self.writer.tapped.kernel, self.writer.tapped.bias),
        ]

    def cropped_from(self, batch: int | None = 1) -> int:
        """The first glimpse whose write goes through a crop (AttentionWrite.cropped): the first
        after the block-in and taper, where every local window is bounded by `max_window`; T when
        no glimpse can (`crop_writes` off, no attention, or a crop no smaller than the image).

        A crop costs a second compiled glimpse loop and a scatter of each write into the canvas, so
        it is made only at one noise sample a step (`batch`; None: not known) on images of at least
        CROP_PAYS_FROM values (H·W·C); elsewhere every write covers the whole image: as fast or
        faster, and compiled sooner."""
        cfg = self.config
        crop = self.crop_writes
        if crop is None:
            crop = batch == 1 and cfg.height * cfg.width * cfg.channels >= CROP_PAYS_FROM
        if not (crop and cfg.attention and self.writer.crop):
            return cfg.glimpses
        return min(cfg.glimpses, cfg.block_in + cfg.taper)

    def final_canvas_and_kl(self, x, noise):
        """c_T and Σ_t KL_t for images x (batch, B, C, A) and noise (T, batch, z)."""
        drawn = self.draw(x, noise)
        return drawn.canvas, drawn.kl

    def draw(self, x, noise, taps=None) -> Drawn:
        """The glimpse loop over images x (batch, B, C, A) with noise (T, batch, z): c_T, Σ_t KL_t,
        the canvas loss along the way (see `canvas_weights`) and, with `taps` ((T, batch, outputs)
        tensors, one per matmul of `tapped`), those matmuls' inputs of every glimpse, stacked:
        (T, batch, inputs).

        The glimpse loop is a compiled loop with `unroll` glimpses per iteration: a Python loop over
        all T glimpses makes XLA compile for minutes, while a rolled loop compiles in seconds.
        """
        t_total, unroll = self.config.glimpses, self.unroll
        batch = ops.shape(x)[0]
        state = self.initial_state(batch)
        kl = along = ops.zeros((batch,))
        weights = self.canvas_weights()
        margin = self.margin_weight()
        collect = taps is not None
        stacks = (
            tuple(
                tf.TensorArray(tf.float32, size=t_total, element_shape=(None, kernel.shape[0]))
                for kernel, _ in self.tapped()
            )
            if collect
            else ()
        )

        def run(t, state, kl, along, stacks, count, cropped):
            for k in range(count):
                step_taps = tuple(tap[t + k] for tap in taps) if collect else (None, None, None)
                state, kl_t, _, write_params, inputs = self.glimpse(x, state, noise[t + k], step_taps, t + k, cropped)
                kl = kl + kl_t
                if margin:
                    along = along + margin * self.writer.overshoot(write_params, t + k)
                if weights is not None:
                    along = along + tf.gather(weights, t + k) * self.recon_loss(x, state.canvas)
                stacks = tuple(stack.write(t + k, xh) for stack, xh in zip(stacks, inputs))
            return state, kl, along, stacks

        def loop(start, stop, cropped, *carried):
            """Glimpses start..stop−1: a compiled loop of `unroll` glimpses an iteration, and the rest."""
            iterations, remainder = divmod(stop - start, unroll)

            def body(i, *carried):
                return i + 1, *run(start + i * unroll, *carried, unroll, cropped)

            if iterations:
                _, *carried = tf.while_loop(
                    lambda i, *_: i < iterations,
                    body,
                    (tf.constant(0), *carried),
                    maximum_iterations=iterations,
                )
            if remainder:
                carried = run(start + iterations * unroll, *carried, remainder, cropped)
            return carried

        # Every weight is read once, here, and the loop sees the values: TensorFlow's while-loop
        # gradient saves, at every glimpse, each value computed inside the loop that the backward
        # pass needs, and a weight read inside the loop is such a value. Read outside, it is a loop
        # invariant and saved once. (For the LSTM kernels that was 3.5 MB per glimpse.)
        # With taps, the tapped kernels and biases enter as constants (see LSTM).
        constants = {id(w) for pair in self.tapped() for w in pair} if collect else set()
        read = lambda v: tf.stop_gradient(v.value) if id(v) in constants else tf.identity(v.value)
        with keras.StatelessScope(state_mapping=[(v, read(v)) for v in self.trainable_variables]):
            local_from = self.cropped_from(x.shape[0])
            carried = loop(0, local_from, False, state, kl, along, stacks)
            state, kl, along, stacks = loop(local_from, t_total, True, *carried)
        return Drawn(state.canvas, kl, along, tuple(stack.stack() for stack in stacks) if collect else None)

    def canvas_weights(self):
        """(T,) weight of the reconstruction loss of each canvas c_1..c_T on the way, or None.

        The paper scores only the last canvas, so a glimpse that adds nothing costs nothing, and at
        256 px the network learnt to switch its local glimpses off. With `canvas_loss` = λ each
        canvas from the end of the block-in on also pays λ/(T − b) of its own loss, b = block-in:
        a glimpse that leaves the canvas as it was pays for it at once, and the block-in is not
        rewarded for drawing everything itself.
        """
        cfg = self.config
        if not cfg.canvas_loss:
            return None
        first = min(cfg.block_in, cfg.glimpses - 1) if cfg.attention and WINDOW_TYPES[cfg.window].bounded else 0
        weights = np.zeros(cfg.glimpses, "float32")
        weights[first:] = cfg.canvas_loss / (cfg.glimpses - first)
        return tf.constant(weights)

    def margin_weight(self) -> float:
        """What a write window pays per unit of overshoot (windows.LocalWindow.overshoot): the
        `window_margin` times the image's pixels, so that it weighs the same against the
        reconstruction loss (a sum over the pixels) at every size. 0 without attention."""
        cfg = self.config
        return cfg.window_margin * cfg.height * cfg.width * cfg.channels if cfg.attention else 0.0

    def call(self, images):
        """σ(c_T) for images (batch, H, W, C) drawn with z_t = μ_t: the mean reconstruction.
        (Keras also calls it once to build the model under a distribution strategy.)"""
        x = self.rows_first(images)
        logits, _ = self.final_canvas_and_kl(x, ops.zeros((self.config.glimpses, ops.shape(x)[0], self.config.z)))
        return ops.transpose(ops.sigmoid(logits), (0, 1, 3, 2))

    # ----------------------------------------------------------------------------------------
    # Loss and training.

    def noise(self, batch: int, step):
        """ε_t for every glimpse of optimiser step `step`: (T, batch, z), fresh at every step.

        A function of the run's seed and the step alone: a resumed run draws what it would have
        drawn without stopping, and replicas under a distribution strategy agree on every sample.
        """
        seed = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(step, tf.int64)])
        # Philox on every device. XLA's Philox draws other normals than TensorFlow's own kernel, so
        # turning --xla on or off changes the noise stream (either is as good).
        return tf.random.stateless_normal((self.config.glimpses, batch, self.config.z), seed=seed, alg="philox")

    def compute_losses(self, x, noise):
        """L = L^x + L^z per image, averaged over the batch. x is (batch, B, C, A)."""
        drawn = self.draw(x, noise)
        return self.losses_from(x, drawn.canvas, drawn.kl, drawn.along)

    @staticmethod
    def recon_loss(x, logits):
        """L^x per image: the sigmoid cross-entropy of the canvas logits, summed over pixels."""
        return ops.sum(ops.binary_crossentropy(x, logits, from_logits=True), axis=(1, 2, 3))

    def image_losses(self, x, logits, kl):
        """Per image: L^x (sigmoid cross-entropy summed over pixels), L^z, and the PSNR in dB."""
        recon = self.recon_loss(x, logits)
        mse = ops.mean(ops.square(x - ops.sigmoid(logits)), axis=(1, 2, 3))
        psnr = -10.0 * ops.log(mse + 1e-12) / math.log(10.0)
        return recon, kl, psnr

    def losses_from(self, x, logits, kl, along=0.0):
        """The losses logged; `loss`, the one trained, adds the canvas loss `along` the way."""
        recon, kl, psnr = (ops.mean(v) for v in self.image_losses(x, logits, kl))
        return {"loss": recon + kl + ops.mean(along), "recon": recon, "kl": kl, "psnr": psnr}

    @staticmethod
    def rows_first(images):
        """(batch, H, W, C) → (batch, B, C, A), the model's inside layout."""
        return ops.transpose(ops.convert_to_tensor(images, dtype="float32"), (0, 1, 3, 2))

    def gradients(self, x, noise):
        """The losses and the gradient of the loss for every trainable variable, in order.

        Backpropagating through the glimpse loop would add one outer product per glimpse into the
        gradient of each kernel used inside it (the LSTMs', and the writer's patch layer, which for
        RGB is 256 × 1200): T passes over the largest matrices, each a rank-1 update. Instead the
        loop's gradient is taken with respect to each such matmul's outputs (the taps), and each
        kernel's gradient is then one matmul over all glimpses: Σ_t inputs_tᵀ ∂L/∂outputs_t.
        """
        tapped = self.tapped()
        taps = [tf.zeros((self.config.glimpses, ops.shape(x)[0], bias.shape[0])) for _, bias in tapped]
        batched = {id(w) for pair in tapped for w in pair}
        others = [v for v in self.trainable_variables if id(v) not in batched]
        with tf.GradientTape() as tape:
            tape.watch(taps)
            drawn = self.draw(x, noise, taps)
            losses = self.losses_from(x, drawn.canvas, drawn.kl, drawn.along)
        grads = tape.gradient(losses["loss"], others + taps)
        found = dict(zip(map(id, others), grads[: len(others)]))
        for (kernel, bias), tap_grad, xh in zip(tapped, grads[len(others) :], drawn.inputs):
            found[id(kernel)] = tf.einsum("tbi,tbo->io", xh, tap_grad)
            found[id(bias)] = ops.sum(tap_grad, axis=(0, 1))
        return losses, [found[id(v)] for v in self.trainable_variables]

    def clipped(self, losses, grads):
        """(finite, grads clipped by global norm). The norm overflows to Inf or turns NaN whenever
        any gradient entry does, so one number tells whether the step may be applied."""
        norm = tf.linalg.global_norm(grads)
        finite = tf.math.is_finite(losses["loss"]) & tf.math.is_finite(norm)
        return finite, tf.clip_by_global_norm(grads, self.clip_norm, use_norm=norm)[0]

    def skip(self):
        """A step that changes nothing but still counts, so a run ends at the step asked for."""
        self.optimizer.iterations.assign_add(1)
        return tf.constant(False)

    def one_step(self, x, step):
        """Optimiser step `step` on images x (batch, B, C, A). Returns its losses and whether it was applied.

        A step whose loss or gradient is NaN or Inf changes neither the weights nor the optimizer's
        moments, so one bad noise sample can never poison the weights or a checkpoint. It still
        counts as a step (the iteration count advances), so a run always ends at the step asked
        for, and a resumed run replays exactly the same skips.
        """
        losses, grads = self.gradients(x, self.noise(ops.shape(x)[0], step))
        finite, grads = self.clipped(losses, grads)
        with self.optimizer.only_if(finite):
            self.optimizer.apply(grads, self.trainable_variables)
        return losses, finite

    def train_step(self, data):
        """Run `steps` optimiser steps. Logs: the last step's losses, `skipped` (non-finite steps in
        this call) and `streak` (non-finite steps in a row at the end of this call)."""
        if tf.distribute.has_strategy():
            return self.replicated_step(data)
        steps, images = data
        # tf.identity reads the count now: a bare variable here would be read again at every step.
        start = tf.identity(self.optimizer.iterations)
        empty = {k: tf.constant(0.0) for k in ("loss", "recon", "kl", "psnr")}

        def body(i, _, skipped, streak):
            x = self.rows_first(images[i])
            losses, applied = self.one_step(x, start + tf.cast(i, start.dtype))
            bad = 1 - tf.cast(applied, "int32")
            return i + 1, losses, skipped + bad, (streak + 1) * bad

        # Losses are those of the last step run, so a logged row does not depend on how the steps
        # were split into calls.
        zero = tf.constant(0, dtype=steps.dtype)
        _, losses, skipped, streak = tf.while_loop(
            lambda i, *_: i < steps, body, (zero, empty, tf.constant(0), tf.constant(0))
        )
        return {**losses, "skipped": skipped, "streak": streak}

    def replicated_step(self, images):
        """One optimiser step on this replica's share (local, H, W, C) of the step's batch.

        The gradient, the clip and the NaN guard all act on the whole batch's gradient, as on one
        device. A distribution strategy cannot synchronise replicas inside a loop or a branch, so
        the replicas' gradients are summed here and the apply-or-skip branch runs once, across
        replicas (`merge_call`); the optimizer sums its inputs again, hence each replica's 1/R.
        """
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync
        x = self.rows_first(images)
        local = ops.shape(x)[0]
        step = tf.identity(self.optimizer.iterations)
        first = context.replica_id_in_sync_group * local
        noise = self.noise(local * replicas, step)[:, first : first + local]
        losses, grads = self.gradients(x, noise)
        total = tf.distribute.ReduceOp.SUM
        losses = context.all_reduce(total, {k: v / replicas for k, v in losses.items()})
        grads = context.all_reduce(total, [g / replicas for g in grads])
        finite, grads = self.clipped(losses, grads)

        def across(strategy, finite, grads):
            def apply():
                share = lambda grads: self.optimizer.apply([g / replicas for g in grads], self.trainable_variables)
                strategy.extended.call_for_each_replica(share, args=(grads,))
                return tf.constant(True)

            return tf.cond(strategy.experimental_local_results(finite)[0], apply, self.skip)

        bad = 1 - tf.cast(context.merge_call(across, args=(finite, grads)), "int32")
        return {**losses, "skipped": bad, "streak": bad}

    def bound(self, images, seed: int = 0, batch: int = 256) -> dict:
        """The negative variational bound L^x + L^z in nats per image, averaged over `images`
        (N, H, W, C), with one noise sample per image drawn from `seed`: the figure the DRAW paper
        reports for MNIST (a true bound on −log p(x) for binary images). Returns bound, recon, kl.
        """
        if self._bound_function is None:
            per_image = lambda x, noise: self.image_losses(x, *self.final_canvas_and_kl(x, noise))[:2]
            self._bound_function = tf.function(per_image, reduce_retracing=True)
        rng = np.random.default_rng(seed)
        totals = np.zeros(2)
        for begin in range(0, len(images), batch):
            chunk = self.rows_first(images[begin : begin + batch])
            noise = rng.standard_normal((self.config.glimpses, chunk.shape[0], self.config.z)).astype("float32")
            totals += [float(ops.sum(v)) for v in self._bound_function(chunk, noise)]
        recon, kl = totals / len(images)
        return {"bound": recon + kl, "recon": recon, "kl": kl}

    # ----------------------------------------------------------------------------------------
    # Looking inside: every canvas of a drawing, and drawing from the prior.

    def trace(self, images, seed: int = 0, grid_scale: float = 1, keep=None):
        """Reconstruct one image (H, W, C) or a set (K, H, W, C), keeping every step.

        Returns a dict of numpy arrays: `canvases` = σ(c_t) for t = 0..T, (T+1, H', W', C) for one
        image or (T+1, K, H', W', C) for a set, and for attention models `read` and `write`, each
        (T, 5) or (T, K, 5) = raw parameters of every glimpse, and `patch` (T, [K,] C, N, N) = what
        each glimpse writes through its write window (see filterbank.write_patch). The noise comes from its own `seed`,
        never from the training random state, and every image of a set gets the ε that image alone
        would get: image k is drawn exactly as when traced by itself, whatever else is in the set.
        With attention, `grid_scale` > 1 renders the canvases at round(H·s) × round(W·s) by
        evaluating the write filters on a finer grid (the drawing itself is the one made at the
        training size). `keep`, if given, is applied to each canvas (numpy, ([K,] H', W', C)) as soon
        as it is made, and `canvases` stacks what it returns: `keep=picture.to_uint8` renders a fine
        grid without ever holding T float canvases of it.
        """
        images = np.asarray(images, dtype="float32")
        if images.ndim not in (3, 4):
            raise ValueError(f"trace takes an image (H, W, C) or a set (K, H, W, C), got shape {images.shape}")
        single = images.ndim == 3
        batch = images[None] if single else images
        noise = self._fixed_noise(len(batch), seed, shared=True)
        out = self._unrolled(noise, self.rows_first(batch), grid_scale, keep)
        return {key: value[:, 0] for key, value in out.items()} if single else out

    def generate(self, count: int = 1, seed: int = 0, grid_scale: float = 1, keep=None):
        """Draw `count` new images from the prior: z_t ~ N(0, I), decoder and writer only.

        Returns `canvases` (T+1, count, H', W', C) and, with attention, `write` (T, count, 5) and
        `patch` (T, count, C, N, N). `keep` as in `trace`.
        """
        return self._unrolled(self._fixed_noise(count, seed), None, grid_scale, keep)

    def _fixed_noise(self, count: int, seed: int, shared: bool = False):
        """ε for every glimpse from `seed` alone: (T, count, z).

        Drawings from the prior each need their own ε. With `shared`, all `count` columns are the
        one ε of a single drawing, so a reconstruction does not depend on its place in a set.
        """
        shape = (self.config.glimpses, 1 if shared else count, self.config.z)
        noise = np.random.default_rng(seed).standard_normal(shape).astype("float32")
        return np.repeat(noise, count, axis=1) if shared else noise

    def _unrolled(self, noise, x, grid_scale, keep=None):
        """The glimpse loop, one compiled call a glimpse (_glimpse_shown), keeping what every step
        produced (encoder skipped when x is None).

        Each canvas leaves TensorFlow as soon as it is made, through `keep`: at a large grid_scale
        the T canvases are the bulk of a render, and stacking them as float tensors first (then σ,
        then channels-last, each a copy) took 3.4 GB at 1024 px (bench/render_memory.py).
        """
        cfg, count = self.config, noise.shape[1]

        def kept(logits):  # (count, B, C, A) logits → keep(σ, channels-last)
            canvas = np.transpose(ops.convert_to_numpy(ops.sigmoid(logits)), (0, 1, 3, 2))
            return canvas if keep is None else keep(canvas)

        if grid_scale != 1 and not cfg.attention:
            raise ValueError("rendering on a finer grid needs an attention model")
        state = self.initial_state(count)
        canvas = state.canvas
        if grid_scale != 1:
            size = (count, round(cfg.height * grid_scale), cfg.channels, round(cfg.width * grid_scale))
            canvas = ops.broadcast_to(ops.reshape(self.canvas_start, (1, 1, cfg.channels, 1)), size)
        first = kept(canvas)
        canvases = np.empty((cfg.glimpses + 1, *first.shape), first.dtype)  # filled as they are made
        canvases[0], reads, writes, patches = first, [], [], []
        if self._shown_glimpse is None:
            self._shown_glimpse = tf.function(self._glimpse_shown, reduce_retracing=True)
        for t in range(cfg.glimpses):
            state, read_params, write_params, patch, canvas = self._shown_glimpse(
                x, state, noise[t], tf.constant(t), canvas, grid_scale
            )
            if read_params is not None:
                reads.append(read_params)
            writes.append(write_params)
            patches.append(patch)
            canvases[t + 1] = kept(canvas)
        out = {"canvases": canvases}
        if cfg.attention:
            if reads:
                out["read"] = ops.convert_to_numpy(ops.stack(reads))
            out["write"] = ops.convert_to_numpy(ops.stack(writes))
            out["patch"] = ops.convert_to_numpy(ops.stack(patches))
        return out

    def _glimpse_shown(self, x, state: State, eps, t, canvas, grid_scale: float):
        """Glimpse t of a trace (of images x) or of a drawing from the prior (x None, decoder and
        writer only): the new state, the read and write parameters, the patch written and the canvas
        shown, on a grid `grid_scale` times finer than the training image. `_unrolled` runs it as
        one compiled call a glimpse: op by op, a 32-glimpse trace of the reference model took a
        second, mostly Python, and fit traces one at every checkpoint (TensorBoardLog)."""
        read_params = None
        if x is None:
            h_dec, c_dec, _ = self.decoder(eps, state.h_dec, state.c_dec)
            update, write_params = self.writer(h_dec, t=t)
            state = state._replace(canvas=state.canvas + update, h_dec=h_dec, c_dec=c_dec)
        else:
            state, _, read_params, write_params, _ = self.glimpse(x, state, eps, t=t)
        patch = self.writer.patch_values(state.h_dec) if self.config.attention else None
        if grid_scale == 1:
            return state, read_params, write_params, patch, state.canvas
        # Made while tracing, once per scale, and held by no attribute: not a layer of the model.
        fine = self.writer.filterbank_at(grid_scale)
        return state, read_params, write_params, patch, canvas + self.writer(state.h_dec, t=t, filterbank=fine)[0]
