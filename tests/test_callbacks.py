"""Callbacks during fit: milestones, TensorBoard events and progress, at exactly their steps."""

from io import BytesIO, StringIO

import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_model_config
from PIL import Image, ImageSequence
from test_summary import read_events

from drawart import callbacks, train
from drawart.batches import TrainingData
from drawart.config import RunConfig, TrainConfig
from drawart.run import RunDir

PIXELS = np.random.default_rng(0).random((6, 9, 1)).astype("float32")


def fit_to(run, steps):
    config = RunConfig(
        model=tiny_model_config(),
        train=TrainConfig(steps=steps, gif_every=4, checkpoint_every=5, steps_per_call=3, jit_compile=False),
    )
    if not run.exists():
        run.create(config)
    return train.fit(run, TrainingData.picture(PIXELS), config, echo=lambda _: None)


@pytest.fixture(scope="module")
def resumed_run(tmp_path_factory):
    """A tiny run trained to step 10, then resumed to 17: shared, because training is the slow part."""
    run = RunDir(tmp_path_factory.mktemp("resumed") / "run")
    fit_to(run, 10)
    fit_to(run, 17)
    return run


def test_milestones_fire_at_exact_steps_across_a_resume(resumed_run):
    run = resumed_run
    gifs = sorted(p.name for p in run.gifs.glob("*.gif"))
    assert gifs == ["step-0000004.gif", "step-0000008.gif", "step-0000012.gif", "step-0000016.gif"]
    assert all((run.gifs / f".{name}.json").is_file() for name in gifs)  # what made each, for drawart gif
    # The kept weights are never rotated away, unlike regular checkpoints.
    assert sorted(p.name for p in run.milestones.iterdir()) == [g[:-4] for g in gifs]
    assert sorted(p.name for p in run.checkpoints.iterdir()) == ["step-0000010", "step-0000015", "step-0000017"]
    # Weights only, without the optimizer's moments: about a third of a full checkpoint.
    size = lambda folder: sum(f.stat().st_size for f in folder.iterdir())
    assert size(run.milestones / "step-0000016") < 0.5 * size(run.checkpoints / "step-0000017")

    gif = Image.open(BytesIO((run.gifs / "step-0000016.gif").read_bytes()))
    frames = list(ImageSequence.Iterator(gif))
    assert len(frames) == tiny_model_config().glimpses + 1
    assert gif.info["loop"] == 0
    assert max(gif.size) >= 256  # upscaled for viewing
    durations = [frame.info["duration"] for frame in ImageSequence.Iterator(gif)]
    assert durations[:-1] == [60] * (len(frames) - 1) and durations[-1] == 1500  # the result is held


def test_the_page_and_strokes_are_written_at_each_milestone_and_last_step_across_a_resume(resumed_run):
    from pagetools import inline_data

    from drawart import export, page

    run = resumed_run
    # Milestones 4, 8, 12, 16, and the last steps of the two fits, 10 and 17; each written once.
    assert sorted(p.name for p in run.strokes.iterdir()) == [f"step-{s:07d}.json" for s in (4, 8, 10, 12, 16, 17)]
    text = run.page_path.read_text(encoding="utf-8")
    inline = inline_data(text, "strokes")
    # The page draws what is kept: every milestone and the newest checkpoint (10 was rotated away).
    assert [doc["step"] for doc in inline] == [4, 8, 12, 16, 17] == export.drawable_steps(run)
    assert inline[-1] == page.packed(export.stored(run, 17))  # patches packed as float32
    # The strokes at a milestone are those its kept weights draw.
    model, _ = train.load_model(run)
    dict(train.milestone_weights(run, model))[12]()
    redrawn = export.redraw(export.stored(run, 12))
    np.testing.assert_allclose(redrawn, model.trace(PIXELS)["canvases"], atol=1e-4)


def test_tensorboard_steps_follow_the_global_step_across_a_resume(resumed_run):
    events = read_events(resumed_run.tensorboard)
    # After every call (3 steps, cut at checkpoints every 5 and milestones every 4); the resumed
    # process goes on from 10, never from 0 again.
    assert [step for step, _ in events["loss"]] == [3, 4, 5, 6, 8, 9, 10, 12, 15, 16, 17]
    assert {"recon", "kl", "psnr", "learning_rate"} <= set(events)
    [lr] = [tf.make_ndarray(v.tensor) for step, v in events["learning_rate"] if step == 12]
    defaults = TrainConfig()
    assert float(lr) == pytest.approx(defaults.lr * 0.5 ** (12 / defaults.lr_decay_steps))  # the schedule at that step
    assert [step for step, _ in events["reconstruction"]] == [5, 10, 15, 17]  # with each checkpoint


class Counter:
    """Stands in for optimizer.iterations."""

    def __init__(self, value):
        self.value = value

    def numpy(self):
        return self.value


def drive(progress, monkeypatch, calls, start=100):
    """Run a progress callback through (seconds, step) call ends, as fit would, with a fake clock."""
    clock = [0.0]
    monkeypatch.setattr(callbacks.time, "monotonic", lambda: clock[0])
    iterations = Counter(start)
    progress.set_model(type("Model", (), {"optimizer": type("Opt", (), {"iterations": iterations})()})())
    progress.on_train_begin()
    for seconds, step in calls:
        clock[0], iterations.value = seconds, step
        progress.on_train_batch_end(0, {"loss": 1.5, "psnr": 20.0})
    progress.on_train_end()


def wide_terminal(monkeypatch, columns=200):
    monkeypatch.setattr(callbacks.shutil, "get_terminal_size", lambda: type("Size", (), {"columns": columns})())


def test_progress_bar_covers_the_whole_run_from_the_resumed_step(monkeypatch):
    wide_terminal(monkeypatch)
    out = StringIO()
    # Resumed at 100 of 200; the first call also compiled (5 s), then 50 steps in 2.5 s: 20 it/s.
    drive(callbacks.ProgressBar(200, stream=out), monkeypatch, [(5.0, 110), (7.5, 160), (9.5, 200)])
    lines = out.getvalue().split("\r")[1:]
    assert len(lines) == 3 and out.getvalue().endswith("\n")
    assert lines[0].startswith("110/200 [") and "-- it/s" in lines[0]  # no speed yet: it was compiling
    assert lines[1].startswith(
        "160/200 [" + "#" * 19 + "." * 5 + "]  80%  20.0 it/s  ETA 0:02  loss 1.50  psnr 20.00 dB"
    )
    assert lines[2].startswith("200/200 [" + "#" * 24 + "] 100%") and "in 0:10" in lines[2]


@pytest.mark.parametrize("columns", [40, 80])
def test_progress_bar_never_wraps(monkeypatch, columns):
    wide_terminal(monkeypatch, columns)
    out = StringIO()
    drive(callbacks.ProgressBar(20000, stream=out), monkeypatch, [(1.0, 15000), (2.0, 15100), (3.0, 20000)])
    lines = [line.replace("\x1b[K", "") for line in out.getvalue().strip().split("\r")[1:]]
    assert all(len(line) <= columns - 1 for line in lines)
    if columns == 80:  # the bar shrinks, so the whole line still fits a standard terminal
        assert lines[1].endswith("psnr 20.00 dB")


def test_a_million_step_line_keeps_its_db_on_an_80_column_terminal(monkeypatch):
    wide_terminal(monkeypatch, 80)
    out = StringIO()
    drive(callbacks.ProgressBar(1_000_000, stream=out), monkeypatch, [(40.0, 6000), (100.0, 7000)], start=5000)
    lines = [line.replace("\x1b[K", "").rstrip("\n") for line in out.getvalue().split("\r")[1:]]
    assert len(lines[1]) <= 79 and lines[1].endswith("20.00 dB") and "ETA" in lines[1]


def test_an_interrupted_bar_ends_its_line_so_the_message_has_its_own(monkeypatch):
    wide_terminal(monkeypatch)
    out = StringIO()
    bar = callbacks.ProgressBar(200, stream=out)
    clock = [1.0]
    monkeypatch.setattr(callbacks.time, "monotonic", lambda: clock[0])
    bar.set_model(type("Model", (), {"optimizer": type("Opt", (), {"iterations": Counter(150)})()})())
    bar.on_train_begin()
    bar.on_train_batch_end(0, {"loss": 1.5, "psnr": 20.0})
    bar.end_line()  # as fit does on Ctrl-C
    assert out.getvalue().endswith("dB\x1b[K\n")
    bar.end_line()
    assert out.getvalue().count("\n") == 1  # once


def test_the_plan_is_said_once_after_the_compiling_call(monkeypatch):
    from drawart.config import RunConfig, TrainConfig

    said = []
    config = RunConfig(train=TrainConfig(steps=1_000_000, gif_every=50_000))
    report = callbacks.PlanReport(config, start=0, kept_milestones=0, echo=said.append)
    # The first call compiled (40 s to step 50); then 100 steps in 4 s: 25 steps/s.
    drive(report, monkeypatch, [(40.0, 50), (42.0, 100), (44.0, 150), (46.0, 200)], start=0)
    assert len(said) == 1
    assert said[0].startswith(
        "plan: 25.0 steps/s here, step 1000000 in about 11.1 h; 20 milestones (every 50000 steps)"
    )
    assert "on disk" in said[0]


def test_plain_progress_prints_a_line_every_interval_and_at_the_end(monkeypatch):
    lines = []
    progress = callbacks.PlainProgress(200, interval=10, echo=lines.append)
    drive(progress, monkeypatch, [(4.0, 110), (8.0, 130), (14.0, 170), (16.0, 200)])
    assert lines == [
        "step 170/200  loss 1.50  psnr 20.00 dB  6.0 it/s  ETA 0:05",
        "step 200/200  loss 1.50  psnr 20.00 dB  7.5 it/s",
    ]


def test_progress_kinds():
    assert isinstance(callbacks.progress_callback("bar", 10), callbacks.ProgressBar)
    assert isinstance(callbacks.progress_callback("lines", 10), callbacks.PlainProgress)
    assert callbacks.progress_callback(None, 10) is None
    with pytest.raises(ValueError, match="fancy"):
        callbacks.progress_callback("fancy", 10)


@pytest.mark.parametrize("drawing", [1, 4])
def test_fit_warns_once_in_one_line_when_fewer_than_half_the_glimpses_draw(tmp_path, monkeypatch, drawing):
    from drawart import export
    from drawart.progress import Progress

    def progress(doc, image):  # a drawing where `drawing` of the 4 glimpses add 1 dB each
        return Progress(10.0 + np.minimum(np.arange(5), drawing), flat=10.0)

    monkeypatch.setattr(export, "drawing_progress", progress)
    config = RunConfig(
        model=tiny_model_config(),
        train=TrainConfig(steps=12, gif_every=4, checkpoint_every=4, steps_per_call=2, jit_compile=False),
    )
    run = RunDir(tmp_path / "run")
    run.create(config)
    said = []
    train.fit(run, TrainingData.picture(PIXELS), config, echo=said.append)
    warnings = [line for line in said if line.startswith("warning:")]
    if drawing == 1:  # at the first milestone, and not again at 8 and 12
        assert warnings == [
            "warning: at step 4 only 1 of 4 glimpses draw (the rest add under 0.05 dB): "
            "see 'Few glimpses draw' in the README"
        ]
    else:
        assert warnings == []
