"""Keras callbacks that save checkpoints, log metrics and report progress during `fit`.

Each call of the train function runs a chunk of steps that ends exactly on every checkpoint and
log boundary (see `train.chunk_sizes`), so `on_train_batch_end` sees every step that matters.
The global step is always the optimizer's iteration count, which survives resumes.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Sequence

import keras
import tensorflow as tf

from drawart import drawing, export, page, summary
from drawart import run as rundir
from drawart.atomic import write_with_record
from drawart.averaging import drawn_by_average
from drawart.checkpoints import rotate_checkpoints, save_checkpoint
from drawart.config import RenderConfig
from drawart.errors import DrawartError
from drawart.metrics import METRICS_COLUMNS, VALIDATION_COLUMNS, append_metrics, last_metrics_step
from drawart.plan import plan_line


class Clock:
    """Training wall-clock seconds, continued across resumes from the value in the checkpoint."""

    def __init__(self, already: float = 0.0) -> None:
        self.already = already
        self.started = time.monotonic()

    def seconds(self) -> float:
        return self.already + time.monotonic() - self.started


def global_step(model: keras.Model) -> int:
    return int(model.optimizer.iterations.numpy())


class Diverged(DrawartError):
    """Training stopped because too many steps in a row had a NaN or Inf loss or gradient."""


class DivergenceGuard(keras.callbacks.Callback):
    """Stops the run once `limit` steps in a row had a NaN or Inf loss or gradient.

    The model skips such steps (weights and moments untouched, see `DrawModel.one_step`), so a
    rare bad noise sample costs one step. A long streak means the weights themselves are broken:
    only an earlier checkpoint and a lower learning rate help, so say which. Goes before
    CheckpointEvery, so the step that trips it is never saved.
    """

    def __init__(self, run: rundir.RunDir, limit: int, echo=print) -> None:
        super().__init__()
        self.run, self.limit, self.echo = run, limit, echo

    def on_train_begin(self, logs=None) -> None:
        self.last_step, self.streak = global_step(self.model), 0

    def on_train_batch_end(self, batch, logs=None) -> None:
        step = global_step(self.model)
        ran, self.last_step = step - self.last_step, step
        skipped, streak = int(logs["skipped"]), int(logs["streak"])
        # A call made only of skipped steps continues the streak of the calls before it.
        self.streak = self.streak + ran if streak == ran else streak
        if not skipped:
            return
        if self.streak >= self.limit:
            found = self.run.latest_checkpoint(warn=lambda message: None)
            then = f"resume from its checkpoint at step {found[0]}" if found else "start again from step 0"
            raise Diverged(
                f"training diverged: the loss or gradient was NaN or Inf at each of the last "
                f"{self.streak} steps, so the weights have not changed since step {step - self.streak}: "
                f"rerun with a lower --lr to {then}"
            )
        self.echo(
            f"warning: {skipped} of steps {step - ran + 1}-{step} had a NaN or Inf loss or gradient "
            "and were skipped (weights unchanged)"
        )


class CheckpointEvery(keras.callbacks.Callback):
    """Writes a checkpoint every `every` steps and at the last step, keeping the newest `keep`.

    A checkpoint due while steps are being skipped (NaN or Inf) waits for the next healthy call,
    so a streak of skipped steps never pushes the healthier older checkpoints out of the run.
    """

    def __init__(self, run: rundir.RunDir, every: int, last_step: int, keep: int, save) -> None:
        super().__init__()
        self.run, self.every, self.last_step, self.keep = run, every, last_step, keep
        self.save = save  # save(prefix): writes the whole training state
        self.due = False

    def on_train_batch_end(self, batch, logs=None) -> None:
        step = global_step(self.model)
        self.due = self.due or step % self.every == 0
        healthy = int((logs or {}).get("streak", 0)) == 0
        if (self.due and healthy) or step == self.last_step:
            folder = self.run.checkpoints
            with self.run.writing("checkpoint", folder, step):
                save_checkpoint(folder, step, self.save)
                rotate_checkpoints(folder, self.keep)
            self.due = False


class MilestoneGifs(keras.callbacks.Callback):
    """At every multiple of `every` steps: keep the weights for good and render the drawing GIF.

    The GIF is the one `drawart gif` makes from the same weights: same options, same fixed seed.
    bench/overhead.py measures what this costs training.
    """

    def __init__(self, run: rundir.RunDir, pixels, every: int, options: RenderConfig, save_weights) -> None:
        super().__init__()
        self.run, self.pixels, self.every, self.options = run, pixels, every, options
        self.save_weights = save_weights  # save_weights(model, prefix)

    def on_train_batch_end(self, batch, logs=None) -> None:
        step = global_step(self.model)
        if step % self.every:
            return
        with self.run.writing("milestone weights", self.run.milestones, step):
            save_checkpoint(self.run.milestones, step, lambda prefix: self.save_weights(self.model, prefix))
        path = self.run.gifs / drawing.output_name(step, self.options, "gif", smooth=self.options.smooth)
        if not path.exists():
            with drawn_by_average(self.model):
                frames = drawing.reconstruction_frames(self.model, self.pixels, self.options)
            with self.run.writing("milestone GIF", path, step):
                path.parent.mkdir(exist_ok=True)
                record = drawing.output_record(self.options, "gif", [step])
                write_with_record(path, drawing.encode(frames, "gif", self.options), record)


class RunPage(keras.callbacks.Callback):
    """RUN/index.html (page.py) at every multiple of `every` steps and at the last step.

    The strokes of the weights at that step are stored once (RUN/strokes/, export.py), and the
    page is assembled from the stored strokes of every kept step, so older milestones are never
    traced again: one eager trace of the drawing per milestone, as for the milestone GIF. Goes after
    the callbacks that write milestones, checkpoints and metrics, so the page shows them.
    """

    def __init__(self, run: rundir.RunDir, image, every: int, last_step: int) -> None:
        super().__init__()
        self.run, self.image, self.every, self.last_step = run, image, every, last_step

    def on_train_batch_end(self, batch, logs=None) -> None:
        step = global_step(self.model)
        if not logged(step, self.every, self.last_step):
            return
        with self.run.writing("page", self.run.page_path, step):
            if self.model.config.attention and export.stored(self.run, step) is None:
                with drawn_by_average(self.model):
                    strokes = export.strokes(self.model, self.image, step)
                export.store(self.run, strokes)
            page.write_page(self.run, image=self.image)


class DrawingCheck(keras.callbacks.Callback):
    """Warns once, in one line, when a milestone's drawing is made by fewer than half its glimpses.

    Reads the strokes RunPage stored at that step (so it goes after RunPage) and measures them
    against the image as `drawart info` does (export.drawing_progress).
    """

    def __init__(self, run: rundir.RunDir, image, every: int, last_step: int, echo=print) -> None:
        super().__init__()
        self.run, self.image, self.every, self.last_step, self.echo = run, image, every, last_step, echo
        self.warned = False

    def on_train_batch_end(self, batch, logs=None) -> None:
        step = global_step(self.model)
        if (
            self.warned
            or not logged(step, self.every, self.last_step)
            or (doc := export.stored(self.run, step)) is None
        ):
            return
        progress = export.drawing_progress(doc, self.image)
        if progress.few_drawing():
            self.warned = True
            self.echo(
                f"warning: at step {step} only {progress.drawing()} of {progress.glimpses} glimpses draw "
                f"(the rest add under 0.05 dB): see 'Few glimpses draw' in the README"
            )


def logged(step: int, every: int | Sequence[int], last_step: int) -> bool:
    """Whether `step` is logged: a multiple of any of `every` (an int or several; 0 is never),
    or the run's last step. Calls end exactly there (see train.chunk_sizes), except under a
    distribution strategy, where every call is one step."""
    every = every if isinstance(every, (list, tuple)) else [every]
    return any(n and step % n == 0 for n in every) or step == last_step


class RowLog(keras.callbacks.Callback):
    """Appends a row of `columns` to the CSV file at `path` at each boundary in `every` (see
    `logged`). Rows already on disk are not written twice: a resume replays the steps a crash lost,
    whose identical rows are there already."""

    what, columns = "metrics row", METRICS_COLUMNS

    def __init__(self, run: rundir.RunDir, path, every, last_step: int) -> None:
        super().__init__()
        self.run, self.path, self.every, self.last_step = run, path, every, last_step
        self.last_written = last_metrics_step(path)

    def row(self, step: int, logs) -> dict:
        raise NotImplementedError

    def on_train_batch_end(self, batch, logs=None) -> None:
        step = global_step(self.model)
        if step <= self.last_written or not logged(step, self.every, self.last_step):
            return
        row = self.row(step, logs)
        with self.run.writing(self.what, self.path, step):
            append_metrics(self.path, row, self.columns)
        self.last_written = step


class MetricsLog(RowLog):
    """metrics.csv: the last step's loss, recon, kl and psnr, and the training seconds so far."""

    def __init__(self, run: rundir.RunDir, clock: Clock, every, last_step: int) -> None:
        super().__init__(run, run.metrics_path, every, last_step)
        self.clock = clock

    def row(self, step, logs):
        losses = {name: float(logs[name]) for name in ("loss", "recon", "kl", "psnr")}
        return {"step": step, **losses, "seconds": self.clock.seconds()}


class HeldOutBound(RowLog):
    """validation.csv, at every checkpoint and at the last step: the negative variational bound on
    the held-out images, in nats per image (see DrawModel.bound), of the weights that draw."""

    what, columns = "validation row", VALIDATION_COLUMNS

    def __init__(self, run: rundir.RunDir, images, every: int, last_step: int) -> None:
        super().__init__(run, run.validation_path, every, last_step)
        self.images = images

    def row(self, step, logs):
        with drawn_by_average(self.model):
            return {"step": step, **self.model.bound(self.images)}


class TensorBoardLog(keras.callbacks.Callback):
    """TensorBoard events in `folder`: loss, recon, kl, psnr and learning rate at each boundary in
    `every` (see `logged`), and the target beside its reconstruction at every checkpoint.

    Stepped by the optimizer's iteration count, so a resumed run continues the same curves (Keras's
    own TensorBoard callback starts again from 0). Steps replayed after a crash are written again with
    identical values. An image is one eager trace of the drawing, so it is written only with each
    checkpoint; the scalars are cheap enough for every call.
    """

    SCALARS = ("loss", "recon", "kl", "psnr")

    def __init__(self, folder, pixels, every, image_every: int, last_step: int) -> None:
        super().__init__()
        self.folder, self.pixels, self.every = folder, pixels, every
        self.image_every, self.last_step = image_every, last_step
        self.options = RenderConfig(boxes=False, side_by_side=True)

    def on_train_begin(self, logs=None) -> None:
        self.writer = tf.summary.create_file_writer(str(self.folder))

    def on_train_batch_end(self, batch, logs=None) -> None:
        step = global_step(self.model)
        image = logged(step, self.image_every, self.last_step)
        with self.writer.as_default(step=step):
            if logged(step, self.every, self.last_step):
                for name in self.SCALARS:
                    summary.scalar(name, logs[name])
                summary.scalar("learning_rate", keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            if image:
                with drawn_by_average(self.model):
                    frame = drawing.reconstruction_frames(self.model, self.pixels, self.options)[-1]
                summary.image("reconstruction", frame)
                self.writer.flush()  # with the checkpoint: a crash loses only steps a resume replays

    def on_train_end(self, logs=None) -> None:
        self.writer.close()


def _duration(seconds: float) -> str:
    """0:42, 12:05, 1:02:03."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class FirstCallTimer(keras.callbacks.Callback):
    """Hands `done(seconds)` the time from the start of training to the end of its first call,
    which compiles: so the next launch can say how long compiling takes here."""

    def __init__(self, done: Callable[[float], None]) -> None:
        super().__init__()
        self.done, self.started = done, None

    def on_train_begin(self, logs=None) -> None:
        self.started = time.monotonic()

    def on_train_batch_end(self, batch, logs=None) -> None:
        if self.started is not None:
            self.done(time.monotonic() - self.started)
            self.started = None


class PlanReport(keras.callbacks.Callback):
    """Says once, after the first calls that compile nothing, the speed here, the time to the last
    step and the milestones and disk the run will take (plan.plan_line)."""

    def __init__(self, config, start: int, kept_milestones: int, echo=print) -> None:
        super().__init__()
        self.config, self.start, self.kept, self.echo = config, start, kept_milestones, echo
        self.timed = None  # (time, step) at the end of the first call, which compiles

    def on_train_batch_end(self, batch, logs=None) -> None:
        if self.timed is False:
            return
        now, step = time.monotonic(), global_step(self.model)
        if self.timed is None:
            self.timed = (now, step)
        elif now - self.timed[0] >= 2.0 or step >= self.config.train.steps:
            rate = (step - self.timed[1]) / max(now - self.timed[0], 1e-9)
            self.echo(plan_line(self.config, self.start, step, rate, self.kept))
            self.timed = False


class _Progress(keras.callbacks.Callback):
    """Steps of the whole run (from the resumed step to `total`), speed and time left.

    The speed is measured from the end of the first call, so XLA's compile time does not count.
    """

    def __init__(self, total: int) -> None:
        super().__init__()
        self.total = total

    def on_train_begin(self, logs=None):
        self.started = time.monotonic()
        self.first = None  # (time, step) at the end of the first call

    def status(self):
        """(step, it/s or None, seconds left or None) now."""
        now, step = time.monotonic(), global_step(self.model)
        if self.first is None:
            self.first = (now, step)
        done, spent = step - self.first[1], now - self.first[0]
        rate = done / spent if done and spent > 0 else None
        return step, rate, (self.total - step) / rate if rate else None


class PlainProgress(_Progress):
    """A log line at most every `interval` seconds and at the end: for logs, CI and nohup."""

    def __init__(self, total: int, interval: float = 10.0, echo=print) -> None:
        super().__init__(total)
        self.interval, self.echo = interval, echo

    def on_train_begin(self, logs=None) -> None:
        super().on_train_begin(logs)
        self.last_time = self.started

    def on_train_batch_end(self, batch, logs=None) -> None:
        step, rate, left = self.status()
        now = time.monotonic()
        if now - self.last_time >= self.interval or step >= self.total:
            self.last_time = now
            speed = f"  {rate:.1f} it/s" if rate else ""
            eta = f"  ETA {_duration(left)}" if left is not None and step < self.total else ""
            self.echo(
                f"step {step}/{self.total}  loss {float(logs['loss']):.2f}  "
                f"psnr {float(logs['psnr']):.2f} dB{speed}{eta}"
            )


class ProgressBar(_Progress):
    """One line redrawn in place on a terminal: steps, bar, it/s, ETA, loss and PSNR."""

    WIDTH = 24  # most characters of the bar itself; it shrinks to keep the line on an 80-column terminal

    def __init__(self, total: int, stream=None, interval: float = 0.1) -> None:
        super().__init__(total)
        self.stream, self.interval = stream, interval

    def on_train_begin(self, logs=None) -> None:
        super().on_train_begin(logs)
        self.last_time = None
        self.drawn = False

    def line(self, step: int, rate, left, logs, columns: int) -> str:
        speed = f"{rate:.1f} it/s" if rate else "-- it/s"
        if step >= self.total:
            when = f"in {_duration(time.monotonic() - self.started)}"
        else:
            when = f"ETA {_duration(left)}" if left is not None else "ETA --"
        head = f"{step}/{self.total} ["
        tail = f"] {100 * step // self.total:3d}%  {speed}  {when}"
        figures = f"  loss {float(logs['loss']):.2f}  psnr {float(logs['psnr']):.2f} dB"
        if len(head) + len(tail) + len(figures) + 10 > columns - 1:
            figures = f"  {float(logs['psnr']):.2f} dB"  # a narrow terminal: the PSNR alone, whole
        width = max(0, min(self.WIDTH, columns - 1 - len(head) - len(tail) - len(figures)))
        filled = width * min(step, self.total) // self.total
        return head + "#" * filled + "." * (width - filled) + tail + figures

    def on_train_batch_end(self, batch, logs=None) -> None:
        step, rate, left = self.status()
        now = time.monotonic()
        if self.last_time is not None and now - self.last_time < self.interval and step < self.total:
            return
        self.last_time = now
        columns = shutil.get_terminal_size().columns
        # \r back to the line's start, \x1b[K clears what a longer previous line left; never wrap.
        self._write("\r" + self.line(step, rate, left, logs, columns)[: max(columns - 1, 20)] + "\x1b[K")
        self.drawn = True

    def on_train_end(self, logs=None) -> None:
        self.end_line()

    def end_line(self) -> None:
        """End the redrawn line, so what is printed next starts a line of its own."""
        if self.drawn:
            self._write("\n")
            self.drawn = False

    def _write(self, text: str) -> None:
        stream = self.stream or sys.stdout
        stream.write(text)
        stream.flush()


def progress_callback(
    kind: str | None, total: int, echo: Callable[[str], None] = print
) -> keras.callbacks.Callback | None:
    """What reports progress during fit: "bar" on a terminal, "lines" for a log file, None for quiet."""
    if kind is None:
        return None
    if kind == "bar":
        return ProgressBar(total)
    if kind == "lines":
        return PlainProgress(total, echo=echo)
    raise ValueError(f"unknown progress kind {kind!r}")
