"""Compile, fit and resume a DrawModel on one image or a set. Knows nothing of the command line.

Why training is shaped the way it is:
- `fit` is fed one element per call of the compiled train function: a chunk of steps and their
  batches. One call runs the whole chunk of optimiser steps in a loop on the device, so no step
  waits on the host. Chunks end on every checkpoint and log boundary, so callbacks fire at exact
  steps whatever step a run resumed from.
- Under XLA (`jit_compile`) a step runs several times as fast on a CPU as a plain `tf.function`
  (bench/throughput.py); the glimpse loop is a compiled loop, so compiling takes seconds, not
  minutes (see model.py).
- Every step runs the same compiled code whatever chunk it is in, and its batch and noise are
  functions of the seed and the step number, so a run stopped and resumed ends bit-identical to
  one that never stopped.
- Under `--strategy mirrored` each call is one step without XLA (see DrawModel.replicated_step).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import tensorflow as tf

from drawart import compile_cache
from drawart import run as rundir
from drawart.averaging import AveragingAdam, draw_by_average, drawn_by_average
from drawart.batches import TrainingData
from drawart.callbacks import (
    CheckpointEvery,
    Clock,
    DivergenceGuard,
    DrawingCheck,
    FirstCallTimer,
    HeldOutBound,
    MetricsLog,
    MilestoneGifs,
    PlanReport,
    ProgressBar,
    RunPage,
    TensorBoardLog,
    progress_callback,
)
from drawart.checkpoints import CHECKPOINT_PREFIX, checkpoint_problem, list_checkpoints
from drawart.config import ModelConfig, RenderConfig, RunConfig, TrainConfig, smooth_by_default
from drawart.errors import DrawartError, Interrupted, from_ctrl_c
from drawart.model import DrawModel


def chunk_sizes(start: int, total: int, every: list[int]) -> list[int]:
    """Split steps start..total into chunks that end on each multiple of each of `every`."""
    sizes, step = [], start
    while step < total:
        stop = min([total] + [(step // n + 1) * n for n in every if n > 0])
        sizes.append(stop - step)
        step = stop
    return sizes


def make_strategy(train: TrainConfig) -> tf.distribute.Strategy | None:
    """The tf.distribute strategy named in the config (None: TensorFlow's default placement),
    checked against the batch. "mirrored" spans every visible GPU, or every logical CPU device on a
    machine without one (a CPU can be split in two to test it)."""
    if train.strategy == "default":
        return None
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    strategy = tf.distribute.MirroredStrategy([device.name for device in devices])
    if train.batch % strategy.num_replicas_in_sync:
        raise DrawartError(
            f"--batch {train.batch} cannot be split evenly over {strategy.num_replicas_in_sync} devices: "
            "use a multiple of the device count"
        )
    return strategy


def build_model(
    model_config: ModelConfig, train_config: TrainConfig, strategy: tf.distribute.Strategy | None = None
) -> DrawModel:
    """A compiled DrawModel whose optimizer variables exist, ready to restore or train.

    Under a distribution strategy the step is not compiled with XLA: TensorFlow cannot synchronise
    replicas inside an XLA cluster.
    """
    distributed = strategy is not None
    keras.utils.set_random_seed(train_config.seed)  # the initial weights follow --seed
    with (strategy or tf.distribute.get_strategy()).scope():
        model = DrawModel(
            model_config, seed=train_config.seed, unroll=train_config.unroll, clip_norm=train_config.clip_norm
        )
        schedule = keras.optimizers.schedules.ExponentialDecay(
            train_config.lr, decay_steps=train_config.lr_decay_steps, decay_rate=0.5
        )
        # Gradients are clipped by the model, on the whole batch's gradient (see DrawModel.clipped).
        optimizer = AveragingAdam(schedule, ema=train_config.ema)
        model.compile(optimizer=optimizer, jit_compile=train_config.jit_compile and not distributed)
        optimizer.build(model.trainable_variables)
    return model


def write_checkpoint(checkpoint: tf.train.Checkpoint, prefix: str) -> None:
    """Write the checkpoint files; a failed write is an OSError, as for any other file."""
    try:
        checkpoint.write(prefix)
    except tf.errors.OpError as err:
        # TensorFlow's own file layer reports a full disk as e.g. OutOfRangeError "...; File too
        # large [Op:SaveV2]": keep the reason, drop the rest.
        match = re.search(r";\s*([^;\[]+?)\s*(\[Op:\w+\])?\s*$", err.message or "")
        raise OSError(match.group(1) if match else type(err).__name__) from err


@dataclass
class TrainingState:
    """Everything a checkpoint holds, as one tf.train.Checkpoint."""

    model: DrawModel
    # Training wall-clock seconds so far, carried across resumes.
    seconds: tf.Variable = field(default_factory=lambda: tf.Variable(0.0, dtype="float64"))

    def checkpoint(self) -> tf.train.Checkpoint:
        return tf.train.Checkpoint(
            model=self.model,
            optimizer=self.model.optimizer,
            seconds=self.seconds,
        )

    def restore(self, prefix: str) -> None:
        self.checkpoint().read(prefix).assert_existing_objects_matched()

    def write(self, prefix: str) -> None:
        write_checkpoint(self.checkpoint(), prefix)

    @property
    def step(self) -> int:
        return int(self.model.optimizer.iterations.numpy())


def restore_latest(run: rundir.RunDir, state: TrainingState, warn: Callable[[str], None] | None = None) -> int:
    """Load the newest intact checkpoint; returns its step, 0 if there is none."""
    found = run.latest_checkpoint(warn=warn)
    if found is None:
        return 0
    state.restore(found[1])
    return found[0]


def _weights_only(model: DrawModel) -> tf.train.Checkpoint:
    # Not Checkpoint(model=model): the compiled model tracks its optimizer, whose two Adam moments
    # per weight would triple a milestone's size.
    return tf.train.Checkpoint(weights=list(model.trainable_weights))


def save_weights(model: DrawModel, prefix: str) -> None:
    """The drawing's weights alone (the moving average where the run keeps one), for a milestone:
    enough to redraw, a fraction of a checkpoint."""
    with drawn_by_average(model):
        write_checkpoint(_weights_only(model), prefix)


def restore_weights(model: DrawModel, prefix: str) -> None:
    _weights_only(model).read(prefix).assert_consumed()


def load_model(run: rundir.RunDir) -> tuple[DrawModel, int]:
    """The model of a run at its newest checkpoint (step 0: untrained), for rendering and sampling:
    its weights are the drawing's (their moving average where the run keeps one)."""
    config = run.read_config()
    state = TrainingState(build_model(config.model, config.train))
    step = restore_latest(run, state)
    draw_by_average(state.model)
    return state.model, step


def milestone_weights(
    run: rundir.RunDir, model: DrawModel, every: int | None = None
) -> list[tuple[int, Callable[[], None]]]:
    """[(step, restore)] for each intact milestone whose step is a multiple of `every` (all if None)."""
    found = []
    for step, path in list_checkpoints(run.milestones):
        if (every is None or step % every == 0) and checkpoint_problem(path) is None:
            prefix = str(path / CHECKPOINT_PREFIX)
            found.append((step, lambda prefix=prefix: restore_weights(model, prefix)))
    return found


def step_batches(data: TrainingData, train: TrainConfig, sizes: list[int], start: int) -> tf.data.Dataset:
    """`(steps, images)` per call: each call's steps and their batches (slots, batch, H, W, C).

    The batches come from the step numbers alone (see batches.py), gathered on the host one call
    ahead of the device. Every call has the same number of slots, so XLA compiles the step once.
    """
    plan, slots = data.plan(train.batch, train.seed), max(sizes)
    height, width, channels = data.images.shape[1:]

    def calls():
        step = start
        for size in sizes:
            yield size, data.images[plan.chunk(step, size, slots)]
            step += size

    signature = (
        tf.TensorSpec((), tf.int32),
        tf.TensorSpec((slots, train.batch, height, width, channels), tf.float32),
    )
    calls = tf.data.Dataset.from_generator(calls, output_signature=signature)
    # A known length, so Keras neither warns nor waits for the end of the data.
    return calls.apply(tf.data.experimental.assert_cardinality(len(sizes))).prefetch(1)


def replica_batches(data: TrainingData, train: TrainConfig, start: int) -> tf.data.Dataset:
    """One step's batch (batch, H, W, C) per call, for a distribution strategy to split among replicas."""
    plan = data.plan(train.batch, train.seed)

    def images():
        for step in range(start, train.steps):
            yield from data.images[plan.indices(step)]

    signature = tf.TensorSpec(data.images.shape[1:], tf.float32)
    images = tf.data.Dataset.from_generator(images, output_signature=signature)
    images = images.apply(tf.data.experimental.assert_cardinality((train.steps - start) * train.batch))
    return images.batch(train.batch).prefetch(2)


def compile_key(config: RunConfig) -> str:
    """What makes one compiled training step another: the model, the call and TensorFlow's version."""
    train = config.train
    return json.dumps(
        [dataclasses.asdict(config.model), train.batch, train.steps_per_call, train.unroll, tf.__version__]
    )


def where_it_trains() -> str:
    """'the CPU (2 cores)' or 'GPU: NVIDIA H100 80GB HBM3' (and how many): what TensorFlow sees."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return f"the CPU ({os.cpu_count()} cores)"
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)
    return f"{len(gpus)} GPUs: {name}" if len(gpus) > 1 else f"GPU: {name}"


def start_line(run: rundir.RunDir, data: TrainingData, config: RunConfig, start: int) -> str:
    """One line before the first step: the run, what it trains on, how long, and where."""
    height, width, channels = data.images.shape[-3:]
    images = f"{len(data.images)} images of " if not data.single else ""
    how = f"{'resuming' if start else 'starting'} {run.path}{f' from step {start}' if start else ''}"
    return (
        f"{how}: {images}{width}×{height} {'gray' if channels == 1 else 'RGB'}, {config.model.glimpses} glimpses, "
        f"to step {config.train.steps}, on {where_it_trains()}"
    )


def fit(run: rundir.RunDir, data: TrainingData, config: RunConfig, echo=print, extra_callbacks=(), progress="lines"):
    """Train the run in `run` up to `config.train.steps`, resuming from its latest checkpoint.

    `progress`: "bar", "lines" or None (see callbacks.progress_callback). Returns the model and the
    step reached.
    """
    train = config.train
    strategy = make_strategy(train)
    if strategy is not None:
        devices = strategy.extended.worker_devices
        echo(f"mirrored over {len(devices)} device(s): {', '.join(devices)}")
    state = TrainingState(build_model(config.model, train, strategy))
    start = restore_latest(run, state, warn=echo)
    echo(start_line(run, data, config, start))
    if start >= train.steps:
        echo(f"{run.path} is already at step {start} (asked for {train.steps}): nothing to do")
        return state.model, start

    clock = Clock(float(state.seconds.numpy()))

    def save(prefix: str) -> None:
        state.seconds.assign(clock.seconds())
        state.write(prefix)

    every = [train.steps_per_call, train.checkpoint_every, train.gif_every]  # where calls end and logs go
    if strategy is None:
        batches = step_batches(data, train, chunk_sizes(start, train.steps, every), start)
    else:
        batches = replica_batches(data, train, start)  # one step per call: see DrawModel.replicated_step
    shown = data.shown(RenderConfig().shown)
    callbacks = [
        DivergenceGuard(run, train.max_bad_steps, echo=echo),
        *(
            [
                MilestoneGifs(
                    run, shown, train.gif_every, RenderConfig(smooth=smooth_by_default(config.model)), save_weights
                )
            ]
            if train.gif_every
            else []
        ),
        CheckpointEvery(run, train.checkpoint_every, train.steps, train.keep_checkpoints, save),
        *(
            [HeldOutBound(run, data.images[data.held_out], train.checkpoint_every, train.steps)]
            if len(data.held_out)
            else []
        ),
        MetricsLog(run, clock, every, train.steps),
        TensorBoardLog(run.tensorboard, shown, every, train.checkpoint_every, train.steps),
        RunPage(run, data.drawn, train.gif_every, train.steps),
        *([DrawingCheck(run, data.drawn, train.gif_every, train.steps, echo)] if config.model.attention else []),
        *extra_callbacks,
        *([PlanReport(config, start, len(list_checkpoints(run.milestones)), echo)] if progress else []),
        *filter(None, [progress_callback(progress, train.steps, echo)]),
    ]
    if train.jit_compile and strategy is None:
        key = compile_key(config)
        callbacks.append(FirstCallTimer(lambda seconds: compile_cache.record_seconds(key, seconds)))
        last = compile_cache.last_seconds(key)
        state.model.make_train_function()
        state.model.train_function = compile_cache.traced_alike(state.model.train_function)
        echo(
            f"compiling the training step with XLA (about {last:.0f} s last time on this machine)..."
            if last is not None
            else "compiling the training step with XLA (the first time here: up to a minute or two at 256 px)..."
        )
    try:
        state.model.fit(batches, epochs=1, verbose=0, shuffle=False, callbacks=callbacks)
    except BaseException as err:
        if not from_ctrl_c(err):
            raise
        for callback in callbacks:  # the message goes on a line of its own, not after the bar
            if isinstance(callback, ProgressBar):
                callback.end_line()
        # The state changes only inside a compiled call, which Ctrl-C cannot split: the step is exact.
        found = run.latest_checkpoint(warn=lambda message: None)
        then = f"resume from step {found[0]}" if found else "start again from step 0"
        raise Interrupted(f"interrupted at step {state.step}; rerun the same command to {then}") from None
    return state.model, state.step
