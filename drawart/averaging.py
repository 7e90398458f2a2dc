"""The drawing is drawn from a moving average of the weights, not from the weights being trained.

At a learning rate high enough to learn fast, Adam leaves the weights jittering around where they
are headed, and one image is the whole data set, so every jitter shows in the picture. An
exponential moving average of the weights (Polyak averaging; `--ema`, momentum 0.99: about the
last hundred steps) draws what the jittering weights are centred on. At 256 px it drew 0.05 to
3.5 dB more than the weights it averaged, at every mark of the same runs (bench/big_pictures.py
prints both; bench/averaging.py compares it with learning-rate schedules). Training itself never
sees the average.

The average lives in the optimizer (Keras's `use_ema`), so checkpoints hold it and a resume goes
on exactly. Whatever draws (milestones, the page, TensorBoard's image, rendering a run) swaps it in
with `drawn_by_average`. A run made before the average existed has `ema` 0 and draws from its
weights, as it always did.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras
from keras import ops


class AveragingAdam(keras.optimizers.Adam):
    """Adam keeping a moving average of the weights (when `ema_momentum` > 0) that it never writes
    into them: Keras would copy the average over the weights at the end of every `fit`, and a later
    resume in the same process would then train from the average instead of the weights."""

    def __init__(self, learning_rate, ema: float) -> None:
        super().__init__(learning_rate, use_ema=ema > 0, ema_momentum=ema if ema > 0 else 0.99)
        self._gate = None

    def finalize_variable_values(self, var_list) -> None:
        pass

    @contextlib.contextmanager
    def only_if(self, applied) -> Iterator[None]:
        """Inside, `apply` changes the weights, both moments and the average only when `applied`
        (a scalar bool tensor) is true, and leaves them bit for bit otherwise; the step count
        advances either way. The NaN guard without a branch: XLA passed every weight, moment and
        average through an apply-or-skip branch, 14% of a step (bench/profile_step.py --features),
        where a select fuses into the update itself."""
        self._gate = applied
        try:
            yield
        finally:
            self._gate = None

    def _gated(self, variable, value):
        return value if self._gate is None else ops.where(self._gate, value, variable)

    def assign(self, variable, value):
        super().assign(variable, self._gated(variable, value))

    def assign_add(self, variable, value):
        if self._gate is None:
            return super().assign_add(variable, value)
        super().assign(variable, self._gated(variable, ops.add(variable, ops.cast(value, variable.dtype))))

    def assign_sub(self, variable, value):
        if self._gate is None:
            return super().assign_sub(variable, value)
        super().assign(variable, self._gated(variable, ops.subtract(variable, ops.cast(value, variable.dtype))))

    def _update_model_variables_moving_average(self, trainable_variables):
        """Keras's update of the average, through the gate."""
        if self._gate is None:
            return super()._update_model_variables_moving_average(trainable_variables)
        not_first_step = ops.not_equal(self.iterations, 0)
        for var, average in zip(trainable_variables, self._model_variables_moving_average):
            momentum = ops.multiply(ops.cast(not_first_step, var.dtype), self.ema_momentum)
            updated = ops.add(ops.multiply(momentum, average), ops.multiply(ops.subtract(1, momentum), var))
            average.assign(self._gated(average, updated))


def _pairs(model):
    optimizer = getattr(model, "optimizer", None)
    if not getattr(optimizer, "use_ema", False):
        return []
    return list(zip(optimizer._trainable_variables, optimizer._model_variables_moving_average))


@contextlib.contextmanager
def swapped_in(pairs: list) -> Iterator[None]:
    """Inside, each weight of the (weight, value) pairs holds its value; on leaving, the weights are
    back, bit for bit."""
    trained = [weight.numpy() for weight, _ in pairs]
    for weight, value in pairs:
        weight.assign(value)
    try:
        yield
    finally:
        for (weight, _), value in zip(pairs, trained):
            weight.assign(value)


@contextlib.contextmanager
def drawn_by_average(model: keras.Model) -> Iterator[None]:
    """Inside, the model's weights are their moving average (unchanged when it keeps none); on leaving,
    the trained weights are back, bit for bit."""
    with swapped_in(_pairs(model)):
        yield model


def draw_by_average(model: keras.Model) -> None:
    """Put the moving average into the weights for good: a model loaded to render, never to train."""
    for weight, average in _pairs(model):
        weight.assign(average)
