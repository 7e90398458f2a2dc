"""The `drawart` command: parses options, prints, and calls the library.

TensorFlow is imported inside the commands that train or render, so `--help`, `--version` and
input errors answer at once.
"""

from __future__ import annotations

import os
import sys
from collections import ChainMap
from dataclasses import replace
from pathlib import Path
from typing import TextIO

import click

from drawart import __version__
from drawart.config import (
    DATASET_TRAIN_DEFAULTS,
    STRATEGIES,
    WINDOWS,
    ImageConfig,
    ModelConfig,
    RenderConfig,
    TrainConfig,
    smooth_by_default,
    write_n_for,
)
from drawart.errors import DrawartError, Interrupted, from_ctrl_c
from drawart.formats import FORMATS

MODEL, TRAIN, IMAGE, RENDER = ModelConfig(), TrainConfig(), ImageConfig(), RenderConfig()
OUTPUTS = Path("outputs")


class DrawartGroup(click.Group):
    """Every user error (bad option, bad image, refused resume) is one line on stderr and exit 2."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra) -> None:
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except Interrupted as err:
            click.echo(str(err), err=True)
            sys.exit(err.exit_code)
        except (click.ClickException, DrawartError) as err:
            message = err.format_message() if isinstance(err, click.ClickException) else str(err)
            if isinstance(err, click.UsageError) and err.ctx is not None:
                message += f" (see '{err.ctx.command_path} --help')"
            click.echo(f"error: {message}", err=True)
            sys.exit(2)
        except Exception as err:  # click.Abort is Ctrl-C, as is any error with one in its chain
            if not (isinstance(err, click.Abort) or from_ctrl_c(err)):
                raise
            click.echo("aborted", err=True)
            sys.exit(130)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(
    cls=DrawartGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Example: drawart fit examples/camera.png --steps 20000 && drawart gif  (see 'drawart COMMAND --help')",
)
@click.version_option(__version__, "-V", "--version", prog_name="drawart")
def cli() -> None:
    """Overfit a DRAW network to one image and watch it draw, glimpse by glimpse."""


def quiet_tensorflow() -> None:
    """Import TensorFlow without its C++ start-up chatter (unless DRAWART_TF_LOGS=1; see tflogs.py)."""
    from drawart.tflogs import start_tensorflow

    start_tensorflow()


def progress_kind(quiet: bool, stream: TextIO) -> str | None:
    """A redrawn bar for a person at a terminal, plain lines for a log file or CI, nothing if --quiet."""
    if quiet:
        return None
    return "bar" if stream.isatty() else "lines"


def _default(value) -> str:
    return f" [default: {value}]"


def _output_options(command):
    """Options `gif` and `sample` share: format, timing, smooth strokes, --force."""
    for option in reversed(
        [
            click.option(
                "--format",
                "fmt",
                type=click.Choice(list(FORMATS)),
                default="gif",
                help="'gif' (one palette, dithered), 'webp' (full colour), 'png-sheet' (every frame in one PNG) or 'mp4' (needs drawart[mp4])."
                + _default("gif"),
            ),
            click.option(
                "--frame-ms",
                type=click.IntRange(min=1),
                default=RENDER.frame_ms,
                help="How long each drawing step shows, in ms (GIF: 10 ms units, at least 20)."
                + _default(RENDER.frame_ms),
            ),
            click.option(
                "--hold-ms",
                type=click.IntRange(min=1),
                default=RENDER.hold_ms,
                help="How long the finished drawing stays before the loop restarts, in ms." + _default(RENDER.hold_ms),
            ),
            click.option(
                "--smooth/--nearest",
                default=None,
                help="Attention runs: evaluate the write filters at the output size (smooth strokes), or upscale the training pixels "
                "(blocks) [default: smooth for local windows, blocks for the paper's window, as drawart 0.1.0 drew them].",
            ),
            click.option(
                "--force",
                is_flag=True,
                help="Render again and replace an output that exists [default: keep it and say so].",
            ),
        ]
    ):
        command = option(command)
    return command


@cli.command(
    epilog="Example: drawart fit examples/camera.png --steps 20000  "
    "(run it again to resume; raise --steps to train longer).  "
    "A data set: drawart fit digits.npz --val-fraction 0.1 --binarize"
)
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="Run directory [default: outputs/<DATA name>].")
@click.option(
    "--steps", type=click.IntRange(min=1), help="Total steps to reach, not an increment." + _default(TRAIN.steps)
)
@click.option(
    "--size",
    type=click.IntRange(min=4),
    help="Longest side after resizing, in pixels."
    + f" [default: {IMAGE.size}; a data set: its own, at most {IMAGE.size}]",
)
@click.option("--gray/--color", default=None, help="Train on one or three channels [default: as the image is].")
@click.option("--glimpses", type=click.IntRange(min=1), help="T, drawing steps per image." + _default(MODEL.glimpses))
@click.option("--read-n", type=click.IntRange(min=2), help="Read filter grid N×N." + _default(MODEL.read_n))
@click.option(
    "--write-n",
    type=click.IntRange(min=2),
    help=f"Write filter grid N×N. [default: {MODEL.write_n} up to 64 px; above, 22·√(size/64): {write_n_for(256)} at 256 px]",
)
@click.option(
    "--window",
    type=click.Choice(list(WINDOWS)),
    help="'local': bounded, gap-free windows that draw region by region; 'paper': the DRAW paper's window."
    + _default(MODEL.window),
)
@click.option(
    "--max-window",
    type=click.FloatRange(min=0, max=1, min_open=True),
    help="Largest write window side, as a share of the image's longest side (1: the whole image; local windows)."
    + _default(MODEL.max_window),
)
@click.option(
    "--block-in",
    type=click.IntRange(min=0),
    help="Glimpses whose write window may span the whole image before the local bound applies (local windows)."
    + " [default: a quarter of --glimpses, 8]",
)
@click.option(
    "--taper",
    type=click.IntRange(min=0),
    help="Glimpses after the block-in over which the write window's bound narrows from the whole image to --max-window (local windows)."
    + " [default: a quarter of --glimpses, 8]",
)
@click.option("--attention/--no-attention", default=None, help="Selective attention." + _default("on"))
@click.option(
    "--hidden", type=click.IntRange(min=1), help="LSTM units of encoder and decoder." + _default(MODEL.hidden)
)
@click.option("--z", type=click.IntRange(min=1), help="Latent size per glimpse." + _default(MODEL.z))
@click.option(
    "--lr",
    type=click.FloatRange(min=0, min_open=True),
    help="Adam learning rate." + f" [default: {TRAIN.lr}; a data set: {DATASET_TRAIN_DEFAULTS['lr']}]",
)
@click.option(
    "--lr-decay-steps",
    type=click.IntRange(min=1),
    help="The learning rate halves every this many steps." + _default(TRAIN.lr_decay_steps),
)
@click.option(
    "--ema",
    type=click.FloatRange(min=0, max=1, max_open=True),
    help="Draw from a moving average of the weights with this momentum (about 1/(1-EMA) steps); 0: from the weights themselves. Fixed when a run starts."
    + _default(TRAIN.ema),
)
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    help="Noise samples of the image, or images of a data set, per step."
    + f" [default: {TRAIN.batch}; a data set: {DATASET_TRAIN_DEFAULTS['batch']}]",
)
@click.option(
    "--checkpoint-every",
    type=click.IntRange(min=1),
    help="Steps between checkpoints." + _default(TRAIN.checkpoint_every),
)
@click.option(
    "--steps-per-call",
    type=click.IntRange(min=1),
    help="Steps run per compiled call; also the metrics interval." + _default(TRAIN.steps_per_call),
)
@click.option("--seed", type=int, help="Seed of the initial weights and the noise." + _default(TRAIN.seed))
@click.option(
    "--gif-every",
    type=click.IntRange(min=0),
    help="Keep the weights and write a drawing GIF every N steps; 0 for none [default: a new run keeps about 20: "
    "--steps/20 rounded to 1, 2 or 5×10^k, e.g. 50000 for 1000000 steps; a resumed run keeps its own].",
)
@click.option(
    "--xla/--no-xla", "jit_compile", default=None, help="Compile the training step with XLA." + _default("on")
)
@click.option(
    "--binarize/--no-binarize",
    default=None,
    help="Threshold pixels at 0.5 to 0 or 1, as in binarised MNIST." + _default("off"),
)
@click.option(
    "--val-fraction",
    type=click.FloatRange(min=0, max=1, max_open=True),
    help="Share of a data set held out; its bound (nats per image) is logged at each checkpoint."
    + _default(IMAGE.val_fraction),
)
@click.option(
    "--strategy",
    type=click.Choice(list(STRATEGIES)),
    help="'mirrored': tf.distribute.MirroredStrategy over every visible GPU." + _default(TRAIN.strategy),
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or progress lines.")
def fit(data, out, size, gray, binarize, val_fraction, quiet, **options) -> None:
    """Fit a DRAW network to DATA, resuming the run in --out if there is one.

    DATA is one picture, or a data set: a folder of images or an .npy/.npz array of images
    (N, H, W) or (N, H, W, C), values 0-255 or 0-1. A data set is resized to one size, shuffled each
    epoch with --seed and trained on in batches; its GIFs redraw a fixed set of its images.

    Shows a progress bar on a terminal and a line every 10 s otherwise (a log file, CI). Metrics go
    to RUN/metrics.csv and to TensorBoard: tensorboard --logdir RUN/tensorboard
    """
    from drawart.fit_plan import plan_fit

    model_fields = {f for f in MODEL.__dataclass_fields__}
    plan = plan_fit(
        data,
        out or OUTPUTS / data.stem,
        size=size,
        gray=gray,
        binarize=binarize,
        val_fraction=val_fraction,
        model={k: v for k, v in options.items() if k in model_fields},
        train={k: v for k, v in options.items() if k not in model_fields},
    )
    run = plan.run
    for warning in plan.warnings:
        click.echo(warning, err=True)
    from drawart import api

    step = api.fit(plan, echo=click.echo, progress=progress_kind(quiet, sys.stdout))
    click.echo(f"done: {run.path} at step {step}")


@cli.command(epilog="Example: drawart gif outputs/camera --every 50000 --evolution  (files go to RUN_DIR/gifs/)")
@click.argument("run_dir", required=False, type=click.Path(path_type=Path))
@click.option(
    "--every", type=click.IntRange(min=1), help="Only milestones whose step is a multiple of N [default: all]."
)
@click.option(
    "--evolution", is_flag=True, help="One GIF of the finished drawing at each milestone, labelled with its step."
)
@click.option(
    "--boxes/--no-boxes", default=RENDER.boxes, help="Draw the read (green) and write (red) windows." + _default("on")
)
@click.option(
    "--scale",
    type=click.IntRange(min=1),
    help=f"Upscale, by a finer grid (see --smooth) or by repeating pixels [default: longest side at least {RENDER.min_side} px].",
)
@click.option("--side-by-side", is_flag=True, help="Put the target image left of the canvas.")
@click.option(
    "--render-size",
    type=click.IntRange(min=4),
    help="Longest side to evaluate the write filters at (attention runs) [default: the output size, see --smooth].",
)
@click.option("--seed", type=int, default=RENDER.seed, help="Noise seed of the reconstruction." + _default(RENDER.seed))
@_output_options
def gif(run_dir, every, evolution, fmt, force, **render_options) -> None:
    """Render the drawing at each kept milestone of RUN_DIR [default: the latest run in outputs/].

    An output that exists is kept, not rendered again, unless --force: beside each file a hidden
    .FILE.json records the options and milestones that made it.
    """
    _refuse_missing_encoder(fmt)
    from drawart import drawing
    from drawart.checkpoints import list_checkpoints
    from drawart.run import find_run

    run = find_run(run_dir, OUTPUTS)
    config = run.read_config()
    options = _render_options(run, config, render_options)
    kept = [step for step, _ in list_checkpoints(run.milestones)]
    chosen = [step for step in kept if every is None or step % every == 0]
    if not chosen and (every is not None or evolution):
        have = ", ".join(str(s) for s in kept) or "none yet"
        raise DrawartError(
            f"no milestone of {run.path} is a multiple of {every or 1} (milestones: {have}): "
            "pick another --every, or train past the next --gif-every step"
        )
    name = lambda step: run.gifs / drawing.output_name(step, options, fmt, smooth=smooth_by_default(config.model))  # noqa: E731
    if evolution and not _needed(name(None), options, fmt, chosen, force):
        return
    if chosen and not evolution:
        chosen = [step for step in chosen if _needed(name(step), options, fmt, [step], force)]
        if not chosen:
            return
    pixels = run.training_data(config).shown(options.shown)
    quiet_tensorflow()
    from drawart import train

    model, latest = train.load_model(run)
    weights = [
        (step, restore) for step, restore in train.milestone_weights(run, model, every) if evolution or step in chosen
    ]
    if not kept:  # no milestones yet: draw what the newest checkpoint draws
        click.echo(f"{run.path} has no milestones yet; rendering the newest checkpoint (step {latest})")
        if not _needed(name(latest), options, fmt, [latest], force):
            return
        weights = [(latest, lambda: None)]
    run.gifs.mkdir(exist_ok=True)
    if evolution:
        frames = drawing.evolution_frames(model, pixels, weights, options)
        steps = [step for step, _ in weights]
        data = drawing.encode(frames, fmt, options, labels=[f"step {s}" for s in steps])
        _write(name(None), data, drawing.output_record(options, fmt, steps))
        return
    for step, restore in weights:
        restore()
        frames = drawing.reconstruction_frames(model, pixels, options)
        labels = [f"t={t}" for t in range(len(frames))]
        _write(
            name(step), drawing.encode(frames, fmt, options, labels=labels), drawing.output_record(options, fmt, [step])
        )


@cli.command(epilog="Example: drawart sample outputs/camera -n 16 --seed 3  (files go to RUN_DIR/samples/)")
@click.argument("run_dir", required=False, type=click.Path(path_type=Path))
@click.option(
    "-n",
    "--count",
    type=click.IntRange(min=1, max=400),
    default=RENDER.samples,
    help="Drawings in the grid." + _default(RENDER.samples),
)
@click.option(
    "--seed",
    type=int,
    default=RENDER.seed,
    help="Seed of the prior's noise: another seed, other drawings." + _default(RENDER.seed),
)
@click.option(
    "--boxes/--no-boxes", default=RENDER.boxes, help="Draw each glimpse's write window (red)." + _default("on")
)
@click.option(
    "--scale",
    type=click.IntRange(min=1),
    help=f"Upscale of each drawing [default: the grid's longest side at least {RENDER.min_side} px].",
)
@click.option(
    "--render-size",
    type=click.IntRange(min=4),
    help="Longest side to evaluate the write filters at (attention runs) [default: the output size, see --smooth].",
)
@_output_options
def sample(run_dir, count, fmt, force, **render_options) -> None:
    """Draw new images from the prior of RUN_DIR [default: the latest run in outputs/] as one GIF grid.

    Every drawing starts from its own noise z_t ~ N(0, I) and is drawn glimpse by glimpse, all in
    step, with the newest checkpoint's weights.
    """
    _refuse_missing_encoder(fmt)
    from drawart import drawing
    from drawart.run import find_run

    run = find_run(run_dir, OUTPUTS)
    config = run.read_config()
    options = _render_options(run, config, render_options)
    smooth = smooth_by_default(config.model)
    name = lambda step: run.samples / drawing.output_name(step, options, fmt, samples=count, smooth=smooth)  # noqa: E731
    newest = run.latest_checkpoint(warn=lambda message: None)
    if not _needed(name(newest[0] if newest else 0), options, fmt, [newest[0] if newest else 0], force):
        return
    quiet_tensorflow()
    from drawart import train

    model, step = train.load_model(run)
    if step == 0:
        click.echo(f"{run.path} has no checkpoint yet: sampling the untrained model")
    frames = drawing.sample_frames(model, count, options)
    run.samples.mkdir(exist_ok=True)
    _write(name(step), drawing.encode(frames, fmt, options), drawing.output_record(options, fmt, [step]))


@cli.command(epilog="Example: drawart info outputs/camera")
@click.argument("run_dir", required=False, type=click.Path(path_type=Path))
def info(run_dir) -> None:
    """What RUN_DIR holds [default: the latest run in outputs/]: settings, step, checkpoints, metrics, size."""
    from drawart import run as rundir
    from drawart.checkpoints import list_checkpoints
    from drawart.metrics import VALIDATION_COLUMNS, disk_usage, last_metrics_row

    run = rundir.find_run(run_dir, OUTPUTS)
    config = run.read_config()
    model, train, image = config.model, config.train, config.image
    latest = run.latest_checkpoint(warn=lambda m: click.echo(m, err=True))
    checkpoints = [step for step, _ in list_checkpoints(run.checkpoints)]
    milestones = [step for step, _ in list_checkpoints(run.milestones)]
    row = last_metrics_row(run.metrics_path)
    fields = lambda section, skip=(): " ".join(f"{k}={v}" for k, v in vars(section).items() if k not in skip)
    lines = [
        ("run", f"{run.path}  ({disk_usage(run.path) / 2**20:.1f} MiB on disk)"),
        ("data" if image.dataset else "image", _describe_data(config)),
        ("model", fields(model, ("height", "width", "channels"))),
        ("train", fields(train)),
        ("step", f"{latest[0]} (newest good checkpoint) of {train.steps}" if latest else "0: no checkpoint yet"),
        ("checkpoints", " ".join(map(str, checkpoints)) or "none"),
        ("milestones", " ".join(map(str, milestones)) or "none"),
    ]
    if row:
        lines.append(
            (
                "last metrics",
                f"step {row['step']}: loss {row['loss']:.2f}, recon {row['recon']:.2f}, kl {row['kl']:.2f}, "
                f"psnr {row['psnr']:.2f} dB, {row['seconds'] / 60:.1f} min of training",
            )
        )
    else:
        lines.append(("last metrics", "none yet"))
    if image.val_fraction:
        held = last_metrics_row(run.validation_path, VALIDATION_COLUMNS)
        lines.append(
            (
                "val bound",
                f"step {held['step']}: {held['bound']:.2f} nats/image (recon {held['recon']:.2f}, kl {held['kl']:.2f})"
                if held
                else "none yet (measured at each checkpoint)",
            )
        )
    if model.attention:
        lines.append(("drawing", _drawing_line(run, config)))
    lines.append(("written by", " ".join(f"{k} {v}" for k, v in config.versions.items()) or "unknown"))
    for name, text in lines:
        click.echo(f"{name + ':':<14}{text}")


def _drawing_line(run, config) -> str:
    """How the newest stored strokes draw the run's image (export.drawing_progress)."""
    from drawart import export

    doc = export.newest_stored(run)
    if doc is None:
        return "not measured yet (at the first milestone or the end of fit)"
    try:
        image = run.training_data(config).drawn
    except DrawartError as err:
        return f"not measured: {err}"
    return f"step {doc['step']}: {export.drawing_progress(doc, image).describe()}"


@cli.command(
    "export",
    epilog="Example: drawart export outputs/camera --step 5000 -o strokes.json  "
    "(the schema is in docs/strokes-schema.md)",
)
@click.argument("run_dir", required=False, type=click.Path(path_type=Path))
@click.option(
    "--step",
    type=click.IntRange(min=0),
    help="A kept milestone, or the newest checkpoint's step [default: the newest of them].",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, allow_dash=True),
    help="JSON file to write, '-' for standard output [default: RUN_DIR/strokes/step-NNNNNNN.json].",
)
def export_strokes(run_dir, step, output) -> None:
    """Write the strokes RUN_DIR [default: the latest run in outputs/] draws at a step, as JSON:
    every glimpse's write window and patch in image-relative units, to redraw at any size."""
    from drawart import export
    from drawart.run import find_run

    run = find_run(run_dir, OUTPUTS)
    _need_strokes(run, run.read_config())
    step = export.choose_step(run, step)
    to_stdout = output is not None and str(output) == "-"
    default = export.stored_path(run, step)
    if output is None:
        if export.stored(run, step) is not None:
            click.echo(f"{default}: the strokes of step {step}, written before")
            return
        output = default
        try:
            run.strokes.mkdir(exist_ok=True)
        except OSError:
            pass  # said in one line by _check_output
    if not to_stdout:
        _check_output(output)
    doc = export.stored(run, step)
    if doc is None:
        quiet_tensorflow()
        from drawart import api

        doc = api.trace_steps(run, [step]).get(step)  # stored in RUN/strokes/ when writable
        if doc is None:
            raise DrawartError(f"the weights {run.path} kept at step {step} are damaged: pick another --step")
    if to_stdout:
        click.echo(export.to_json(doc))
    elif output == default and export.stored(run, step) is not None:
        click.echo(f"wrote {default}")
    else:
        _write_output(output, export.to_json(doc).encode("utf-8"))


@cli.command(
    epilog="Example: drawart page outputs/camera  (then open outputs/camera/index.html in a browser; "
    "#step=5000&t=12 in the address opens a milestone at a glimpse)"
)
@click.argument("run_dir", required=False, type=click.Path(path_type=Path))
@click.option("--step", type=click.IntRange(min=0), help="The milestone the page opens at [default: the newest].")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Where to write the page [default: RUN_DIR/index.html]."
)
def page(run_dir, step, output) -> None:
    """Write the page of RUN_DIR [default: the latest run in outputs/]: one self-contained HTML file
    to watch the drawing at every milestone, with curves and settings. fit writes it at every
    milestone; this adds the strokes of milestones that have none (runs of earlier releases)."""
    from drawart import export
    from drawart import page as runpage
    from drawart.run import find_run

    run = find_run(run_dir, OUTPUTS)
    config = run.read_config()
    if step is not None:
        export.choose_step(run, step)
    output = output or run.page_path
    _check_output(output)
    kept, docs = export.drawable_steps(run), {}
    if config.model.attention:
        missing, traced = [s for s in kept if export.stored(run, s) is None], {}
        if missing:
            click.echo(f"tracing the strokes of step {', '.join(map(str, missing))} (stored in {run.strokes})")
            quiet_tensorflow()
            from drawart import api

            traced = api.trace_steps(run, missing)
        # a read-only run keeps what was traced in memory only
        docs = ChainMap(traced, export.StoredStrokes(run, kept))
    html = runpage.page_html(run, docs, kept, step, run.training_data(config).drawn)
    _write_output(output, html.encode("utf-8"))


def _need_strokes(run, config) -> None:
    if not config.model.attention:
        raise DrawartError(
            f"{run.path} was trained with --no-attention: it writes whole canvases, not strokes, so there are none to export"
        )


def _check_output(path: Path) -> None:
    """Refuse an output file that cannot be written, before any work: one line naming it."""
    if path.is_dir():
        raise DrawartError(f"-o {path} is a folder: name a file in it, e.g. {path / 'out'}")
    folder = path.parent
    if folder.exists() and not folder.is_dir():
        raise DrawartError(f"cannot write {path}: {folder} is a file, not a folder; choose another -o")
    if not folder.is_dir():
        raise DrawartError(f"cannot write {path}: the folder {folder} does not exist; create it or choose another -o")
    if not os.access(folder, os.W_OK):
        raise DrawartError(f"cannot write {path}: the folder {folder} is not writable; choose another -o")


def _write_output(path: Path, data: bytes) -> None:
    """Write a file the user named, atomically: the old one stays whole if the write fails."""
    from drawart.atomic import atomic_write_bytes

    try:
        atomic_write_bytes(path, data)
    except OSError as err:
        raise DrawartError(f"cannot write {path} ({err.strerror or type(err).__name__}): choose another -o") from None
    click.echo(f"wrote {path} ({len(data) / 1024:.0f} KiB)")


def _describe_data(config) -> str:
    """`path: 28×28 gray (sha256 …)`, with the count, split and binarisation for a data set."""
    model, image = config.model, config.image
    size = f"{model.width}×{model.height} {'gray' if model.channels == 1 else 'RGB'}"
    if not image.dataset:
        return f"{image.path}: {size} (sha256 {image.digest[:12]})"
    from drawart.batches import held_out_count

    held = held_out_count(image.count, image.val_fraction)
    binarized = ", binarized" if image.binarize else ""
    return (
        f"{image.path}: {image.count} images of {size}{binarized}, {image.count - held} trained on, "
        f"{held} held out (sha256 {image.digest[:12]})"
    )


def _render_options(run, config, given: dict) -> RenderConfig:
    """RenderConfig from click options (None: the default), checked against the run."""
    options = RenderConfig(**{k: v or 0 if k in ("scale", "render_size") else v for k, v in given.items()})
    if options.smooth is None:
        options = replace(options, smooth=smooth_by_default(config.model))
    if options.render_size and not config.model.attention:
        raise DrawartError(
            f"--render-size needs attention, and {run.path} was trained with --no-attention: use --scale"
        )
    return options


def _refuse_missing_encoder(fmt: str) -> None:
    """Refuse a format this installation cannot write before loading or rendering anything."""
    from drawart.formats import encoder_problem

    problem = encoder_problem(fmt)
    if problem:
        raise DrawartError(problem)


def _needed(path: Path, options: RenderConfig, fmt: str, steps: list[int], force: bool) -> bool:
    """Whether to render `path`: it is missing, or --force. An existing file is kept, and said so."""
    if force or not path.exists():
        return True
    from drawart import drawing
    from drawart.atomic import read_record

    if drawing.made_alike(read_record(path), options, fmt, steps):
        click.echo(f"{path}: made before with these options (--force renders it again)")
    else:
        click.echo(
            f"kept {path}: made by an earlier drawart, from other milestones or with other options (--force replaces it)"
        )
    return False


def _write(path: Path, data: bytes, record: dict) -> None:
    """Write an output file (and its record) atomically: the old one stays whole if the write fails."""
    from drawart.atomic import write_with_record

    write_with_record(path, data, record)
    click.echo(f"wrote {path} ({len(data) / 1024:.0f} KiB)")


def main() -> None:
    cli(prog_name="drawart")


if __name__ == "__main__":
    main()
