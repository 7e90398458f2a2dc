"""The drawart command through click's test runner: fit, exact resume, refusals, bad input."""

import re
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from pagetools import as_rgb, inline_data, needs_chromium, open_page
from PIL import Image

from drawart.cli import cli

# The tests' runs are a few steps long: they keep milestones only where they ask for them.
TINY = "--size 9 --glimpses 3 --hidden 8 --z 3 --read-n 2 --write-n 3 --gif-every 5000".split()


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result


def snapshot(folder: Path) -> dict:
    """Every file below `folder` with its bytes and mtime: to prove nothing was touched."""
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_one_line_error(result, *words):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.output
    for word in words:
        assert word in lines[0]


def test_help_and_version_answer_without_tensorflow():
    import subprocess
    import sys

    code = "import sys; from drawart.cli import main; sys.argv=['drawart','fit','--help']; main()"
    out = subprocess.run([sys.executable, "-c", code + "\n"], capture_output=True, text=True)
    assert out.returncode == 0 and "--glimpses" in out.stdout and "Example:" in out.stdout
    probe = "import sys, drawart.cli; print('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "False"
    assert invoke("--version").output.strip().endswith(__import__("drawart").__version__)


def test_fit_defaults_to_outputs_slash_image_stem(tiny_gray_png, tmp_path):
    with CliRunner().isolated_filesystem(temp_dir=tmp_path):
        result = CliRunner().invoke(cli, ["fit", str(tiny_gray_png), *TINY, "--steps", "4", "--no-xla"])
        assert result.exit_code == 0, result.output
        run = Path("outputs") / "gray"
        assert (run / "config.json").exists() and (run / "checkpoints" / "step-0000004").is_dir()
        header, *rows = (run / "metrics.csv").read_text().splitlines()
        assert header.split(",") == ["step", "loss", "recon", "kl", "psnr", "seconds"]


def test_stopped_and_resumed_run_ends_identical_to_a_straight_one(tiny_gray_png, tmp_path):
    """The real path (XLA, several steps per call): N steps, resume to 2N == 2N straight."""
    common = ["--checkpoint-every", "5", "--steps-per-call", "3", "--seed", "7", "--batch", "2"]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert invoke("fit", tiny_gray_png, "--out", straight, *TINY, *common, "--steps", "20").exit_code == 0
    assert invoke("fit", tiny_gray_png, "--out", resumed, *TINY, *common, "--steps", "10").exit_code == 0
    # Resuming needs no options but the new total: the run remembers the rest.
    second = invoke("fit", tiny_gray_png, "--out", resumed, "--steps", "20")
    assert second.exit_code == 0 and "from step 10" in second.output

    from drawart import train
    from drawart.run import RunDir

    a, step_a = train.load_model(RunDir(straight))
    b, step_b = train.load_model(RunDir(resumed))
    assert step_a == step_b == 20
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_array_equal(wa.numpy(), wb.numpy())
    np.testing.assert_array_equal(a.optimizer.variables[-1].numpy(), b.optimizer.variables[-1].numpy())

    def rows(run):
        lines = (run / "metrics.csv").read_text().splitlines()[1:]
        return {int(r.split(",")[0]): r.split(",")[1:5] for r in lines}

    assert rows(straight)[20] == rows(resumed)[20]  # loss, recon, kl, psnr at step 2N, exactly
    assert sorted(rows(resumed)) == sorted(rows(straight))  # steps keep counting across the resume


def test_options_that_shape_local_windows_are_refused_with_the_papers_window(tiny_gray_png, tmp_path):
    for option in (["--max-window", "0.5"], ["--block-in", "4"], ["--taper", "2"]):
        result = invoke("fit", tiny_gray_png, "--out", tmp_path / "run", "--window", "paper", *option)
        assert_one_line_error(result, f"{option[0]} shapes local windows")
    assert not (tmp_path / "run").exists()


def test_resume_with_other_settings_is_refused_and_touches_nothing(tiny_gray_png, tiny_rgb_png, tmp_path):
    run = tmp_path / "run"
    assert invoke("fit", tiny_gray_png, "--out", run, *TINY, "--steps", "3", "--no-xla").exit_code == 0
    before = snapshot(run)
    assert_one_line_error(invoke("fit", tiny_gray_png, "--out", run, "--glimpses", "5"), "glimpses (3 then, 5 now)")
    assert_one_line_error(invoke("fit", tiny_rgb_png, "--out", run), "the image")
    assert_one_line_error(invoke("fit", tiny_gray_png, "--out", run, "--seed", "1"), "seed")
    assert_one_line_error(invoke("fit", tiny_gray_png, "--out", run, "--size", "12"), "size")
    assert_one_line_error(
        invoke("fit", tiny_gray_png, "--out", run, "--window", "paper"), "window (local then, paper now)"
    )
    assert_one_line_error(
        invoke("fit", tiny_gray_png, "--out", run, "--max-window", "0.5"), "max_window (0.3 then, 0.5 now)"
    )
    assert_one_line_error(invoke("fit", tiny_gray_png, "--out", run, "--block-in", "4"), "block_in (0 then, 4 now)")
    assert_one_line_error(invoke("fit", tiny_gray_png, "--out", run, "--taper", "2"), "taper (0 then, 2 now)")
    assert_one_line_error(invoke("fit", tiny_gray_png, "--out", run, "--ema", "0.9"), "ema (0.99 then, 0.9 now)")
    assert snapshot(run) == before
    # --steps may grow, and the learning rate may change.
    assert invoke("fit", tiny_gray_png, "--out", run, "--steps", "4", "--lr", "0.0005").exit_code == 0


def write_bad(tmp_path, kind):
    path = tmp_path / f"bad-{kind}.png"
    good = tmp_path / "good.png"
    Image.fromarray(np.arange(64 * 64, dtype=np.uint32).reshape(64, 64).astype(np.uint8)).save(good)
    if kind == "missing":
        return tmp_path / "no-such.png"
    if kind == "folder":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not an image\n")
    elif kind == "truncated":
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "garbled":
        data = bytearray(good.read_bytes())
        data[60:200] = bytes(140)
        path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("kind", ["missing", "folder", "empty", "text", "truncated", "garbled"])
def test_bad_image_is_one_line_exit_2_and_no_run_directory(tmp_path, kind):
    image = write_bad(tmp_path, kind)
    out = tmp_path / "run"
    result = invoke("fit", image, "--out", out)
    assert_one_line_error(result, image.name)
    assert not out.exists()


def test_image_over_the_bomb_guard_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    image = tmp_path / "big.png"
    Image.new("L", (100, 100)).save(image)
    result = invoke("fit", image, "--out", tmp_path / "run")
    assert_one_line_error(result, "big.png", "too large")
    assert not (tmp_path / "run").exists()


def test_bad_options_are_one_line(tiny_gray_png, tmp_path):
    assert_one_line_error(invoke("fit", tiny_gray_png, "--steps", "0"), "--steps")
    assert_one_line_error(invoke("fit", tiny_gray_png, "--size", "2"), "--size")
    assert_one_line_error(invoke("fit", tiny_gray_png, "--ema", "1"), "--ema")
    assert_one_line_error(invoke("fit"), "DATA")
    file_out = tmp_path / "a-file"
    file_out.write_text("keep me")
    assert_one_line_error(invoke("fit", tiny_gray_png, "--out", file_out), "not a run directory")
    assert file_out.read_text() == "keep me"


def test_invalid_config_json_is_refused_and_kept(tiny_gray_png, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{ not json")
    assert_one_line_error(invoke("fit", tiny_gray_png, "--out", run), "config.json")
    assert (run / "config.json").read_text() == "{ not json"


def trained_run(tiny_png, out, steps=8, gif_every=4):
    args = ["fit", tiny_png, "--out", out, *TINY, "--steps", steps, "--gif-every", gif_every, "--no-xla"]
    assert invoke(*args).exit_code == 0
    return out


def test_gif_command_remakes_the_callbacks_gif_exactly(tiny_gray_png, tmp_path):
    run = trained_run(tiny_gray_png, tmp_path / "run")
    made_during_fit = (run / "gifs" / "step-0000004.gif").read_bytes()
    (run / "gifs" / "step-0000004.gif").unlink()
    result = invoke("gif", run, "--every", "4")
    assert result.exit_code == 0, result.output
    assert (run / "gifs" / "step-0000004.gif").read_bytes() == made_during_fit
    assert (run / "gifs" / "step-0000008.gif").exists()


def test_gif_evolution_sheet_and_side_by_side(tiny_rgb_png, tmp_path):
    run = trained_run(tiny_rgb_png, tmp_path / "run", steps=12)
    assert invoke("gif", run, "--evolution").exit_code == 0
    evolution = Image.open(run / "gifs" / "evolution.gif")
    assert evolution.n_frames == 3  # milestones 4, 8, 12
    assert invoke("gif", run, "--every", "8", "--side-by-side", "--no-boxes").exit_code == 0
    side = Image.open(run / "gifs" / "step-0000008-noboxes-side.gif")
    plain = Image.open(run / "gifs" / "step-0000008.gif")
    assert side.size[0] > 2 * plain.size[0] - 1 and side.size[1] == plain.size[1]
    assert invoke("gif", run, "--every", "12", "--format", "png-sheet").exit_code == 0
    assert Image.open(run / "gifs" / "step-0000012.png").format == "PNG"


def test_gif_defaults_to_the_latest_run_under_outputs(tiny_gray_png, tmp_path):
    with CliRunner().isolated_filesystem(temp_dir=tmp_path):
        trained_run(tiny_gray_png, Path("outputs") / "first")
        result = invoke("gif", "--every", "8")
        assert result.exit_code == 0 and "outputs/first/gifs/step-0000008.gif" in result.output


def test_gif_bad_arguments_are_one_line(tiny_gray_png, tmp_path):
    with CliRunner().isolated_filesystem(temp_dir=tmp_path):
        assert_one_line_error(invoke("gif"), "no runs under outputs")
    assert_one_line_error(invoke("gif", tmp_path / "nothing"), "not a drawart run")
    run = trained_run(tiny_gray_png, tmp_path / "run")
    before = snapshot(run)
    assert_one_line_error(invoke("gif", run, "--every", "3"), "no milestone", "4, 8")
    assert_one_line_error(invoke("gif", run, "--every", "0"), "--every")
    assert_one_line_error(invoke("gif", run, "--every", "-4"), "--every")
    assert snapshot(run) == before


def weights_in(checkpoint: Path) -> dict:
    """Every variable in a checkpoint but the wall-clock seconds, which no two runs share."""
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(checkpoint / "ckpt"))
    names = [n for n in reader.get_variable_to_shape_map() if "seconds" not in n and "OBJECT_GRAPH" not in n]
    return {name: reader.get_tensor(name) for name in names}


def test_a_garbled_newest_checkpoint_warns_once_and_the_run_heals(tiny_gray_png, tmp_path):
    run = tmp_path / "run"
    fit = ["fit", tiny_gray_png, "--out", run, "--steps", "15"]
    assert invoke(*fit, *TINY, "--no-xla", "--checkpoint-every", "5", "--steps-per-call", "5").exit_code == 0
    newest = run / "checkpoints" / "step-0000015"
    trained = weights_in(newest)
    data = newest / "ckpt.data-00000-of-00001"
    garbled = bytearray(data.read_bytes())
    garbled[len(garbled) // 2] ^= 0xFF
    data.write_bytes(bytes(garbled))

    result = invoke(*fit)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if "warning" in line and "checkpoint" in line]
    assert len(warnings) == 1 and "step-0000015" in warnings[0] and "checksum" in warnings[0]
    assert "from step 10" in result.output and f"done: {run} at step 15" in result.output
    # The step-15 checkpoint is written again, identical; the damaged one is kept aside.
    healed = weights_in(newest)
    assert healed.keys() == trained.keys() and len(healed) > 20
    for name, value in trained.items():
        np.testing.assert_array_equal(healed[name], value, err_msg=name)
    assert (run / "checkpoints" / "step-0000015.damaged" / data.name).read_bytes() == bytes(garbled)
    from drawart.run import RunDir

    warnings = []
    assert RunDir(run).latest_checkpoint(warn=warnings.append)[0] == 15 and warnings == []


def press_ctrl_c(through_tensorflow: bool):
    """Raise what Ctrl-C raises: a KeyboardInterrupt, or, landing inside TensorFlow's C++ code, the
    TypeError that tracing a tf.function raises with it in its chain (errors.from_ctrl_c)."""
    if not through_tensorflow:
        raise KeyboardInterrupt
    try:  # as CPython and TensorFlow chain them
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise SystemError("returned a result with an exception set") from interrupt
    except SystemError:
        raise TypeError("what tracing a tf.function raised") from None


@pytest.mark.parametrize("through_tensorflow", [False, True])
def test_ctrl_c_is_one_line_exit_130_and_the_run_resumes(tiny_gray_png, tmp_path, monkeypatch, through_tensorflow):
    """Also when the interrupt lands inside TensorFlow's C++ code, which raises another error with
    the KeyboardInterrupt in its chain (errors.from_ctrl_c)."""
    from drawart import callbacks

    progress = callbacks.PlainProgress.on_train_batch_end

    def ctrl_c_at_step_7(self, batch, logs=None):
        if callbacks.global_step(self.model) == 7:
            press_ctrl_c(through_tensorflow)
        progress(self, batch, logs)

    monkeypatch.setattr(callbacks.PlainProgress, "on_train_batch_end", ctrl_c_at_step_7)
    fit = ["fit", tiny_gray_png, "--out", tmp_path / "run", "--steps", "9"]
    result = invoke(*fit, *TINY, "--no-xla", "--checkpoint-every", "3", "--steps-per-call", "1")
    assert result.exit_code == 130, result.output
    assert result.stderr.splitlines() == ["interrupted at step 7; rerun the same command to resume from step 6"]
    monkeypatch.undo()
    again = invoke(*fit)
    assert again.exit_code == 0 and "from step 6" in again.output and "at step 9" in again.output


def test_every_command_has_help_with_an_example():
    for args in ([], *([name] for name in cli.commands)):
        result = invoke(*args, "--help")
        assert result.exit_code == 0 and "Example: drawart" in result.output, args
    assert set(cli.commands) == {"fit", "gif", "sample", "info", "export", "page"}


def test_progress_is_a_bar_on_a_terminal_lines_elsewhere_none_when_quiet():
    from drawart.cli import progress_kind

    class Terminal:
        def isatty(self):
            return True

    class LogFile:
        def isatty(self):
            return False

    assert progress_kind(False, Terminal()) == "bar"
    assert progress_kind(False, LogFile()) == "lines"
    assert progress_kind(True, Terminal()) is None


def fabricated_run(path, attention=True):
    """A run directory as fit leaves it, made without TensorFlow: config, two checkpoints, metrics."""
    from drawart import run as rundir
    from drawart.checkpoints import save_checkpoint
    from drawart.config import ImageConfig, ModelConfig, RunConfig
    from drawart.metrics import append_metrics

    config = RunConfig(
        model=ModelConfig(height=6, width=9, glimpses=3, attention=attention),
        image=ImageConfig(path="cat.png", digest="ab" * 32, size=9, gray=True),
        versions={"drawart": "0.1.0"},
    )
    run = rundir.RunDir(path)
    run.create(config)
    for step in (1000, 2000):
        save_checkpoint(run.checkpoints, step, lambda prefix: Path(prefix + ".index").write_bytes(b"w"))
    save_checkpoint(run.milestones, 1000, lambda prefix: Path(prefix + ".index").write_bytes(b"w"))
    append_metrics(
        run.metrics_path, {"step": 2000, "loss": 12.5, "recon": 12.0, "kl": 0.5, "psnr": 24.25, "seconds": 90.0}
    )
    return run


def test_info_reports_the_run_without_tensorflow(tmp_path):
    import subprocess
    import sys

    run = fabricated_run(tmp_path / "run")
    result = invoke("info", run.path)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "cat.png: 9×6 gray" in out and "glimpses=3" in out and "steps=20000" in out
    assert "2000 (newest good checkpoint) of 20000" in out
    assert "checkpoints:  1000 2000" in out and "milestones:   1000" in out
    assert "step 2000: loss 12.50" in out and "psnr 24.25 dB" in out and "1.5 min" in out
    assert "MiB on disk" in out

    code = (
        "import sys; from drawart.cli import main; sys.argv = ['drawart', 'info', sys.argv[1]]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code == 0\n"
        "print('tensorflow' in sys.modules)"
    )
    probe = subprocess.run([sys.executable, "-c", code, str(run.path)], capture_output=True, text=True)
    assert probe.stdout.strip().endswith("False"), probe.stderr


def test_info_tells_how_the_newest_milestone_draws(drawn_run, tmp_path):
    from drawart import train
    from drawart.progress import Progress
    from drawart.run import RunDir

    result = invoke("info", drawn_run)
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("drawing:"))
    # The same measures, made from the model itself rather than from the stored strokes.
    run = RunDir(drawn_run)
    from drawart import export

    model, step = train.load_model(run)  # drawing by the weights' moving average, as milestones do
    image = run.training_data(run.read_config()).drawn
    stored = export.drawing_progress(export.stored(run, step), image)
    np.testing.assert_allclose(stored.psnr, Progress.of(model.trace(image)["canvases"], image).psnr, atol=1e-3)
    assert line == f"drawing:      step {step}: {stored.describe()}"
    # A run with no strokes yet says so.
    fresh = invoke("info", fabricated_run(tmp_path / "run").path)
    assert "drawing:      not measured yet" in fresh.output


def test_info_skips_a_broken_checkpoint_with_a_warning(tmp_path):
    run = fabricated_run(tmp_path / "run")
    (run.checkpoints / "step-0002000" / "ckpt.index").write_bytes(b"corrupt")
    result = invoke("info", run.path)
    assert result.exit_code == 0 and "1000 (newest good checkpoint)" in result.output
    assert "skipping checkpoint" in result.stderr


def test_sample_and_info_bad_arguments_are_one_line(tmp_path):
    assert_one_line_error(invoke("info", tmp_path / "nothing"), "not a drawart run")
    assert_one_line_error(invoke("sample", tmp_path / "nothing"), "not a drawart run")
    with CliRunner().isolated_filesystem(temp_dir=tmp_path):
        assert_one_line_error(invoke("info"), "no runs under outputs")
    run = fabricated_run(tmp_path / "plain", attention=False)
    before = snapshot(run.path)
    assert_one_line_error(invoke("sample", run.path, "--render-size", "64"), "--render-size needs attention")
    assert_one_line_error(invoke("sample", run.path, "-n", "0"), "--count")
    assert snapshot(run.path) == before


# ---------------------------------------------------------------------------------------------
# gif and sample: formats, timing, outputs kept unless --force, encoders refused before any work.


@pytest.fixture(scope="module")
def drawn_run(tmp_path_factory):
    """A tiny gray run with milestones at steps 4 and 8, whose fit wrote their GIFs (and records)."""
    from conftest import gray_gradient

    folder = tmp_path_factory.mktemp("drawn")
    image = folder / "gray.png"
    Image.fromarray(gray_gradient()).save(image)
    return trained_run(image, folder / "run")


def durations_of(path: Path) -> list[int]:
    from PIL import ImageSequence

    with Image.open(path) as image:
        got = []
        for frame in ImageSequence.Iterator(image):
            frame.load()  # WebP sets a frame's duration when it is decoded
            got.append(frame.info["duration"])
        return got


def no_model(monkeypatch):
    """Make loading a model fail loudly: what is refused or kept must never get that far."""
    from drawart import train

    def load_model(run):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(train, "load_model", load_model)


def test_gif_and_sample_formats_with_frame_and_hold_times(drawn_run):
    T = 3  # TINY's glimpses: T + 1 frames
    result = invoke("gif", drawn_run, "--every", "8", "--format", "webp", "--frame-ms", "40", "--hold-ms", "900")
    assert result.exit_code == 0, result.output
    webp = drawn_run / "gifs" / "step-0000008-40ms-hold900ms.webp"
    with Image.open(webp) as image:
        assert image.format == "WEBP" and image.size == Image.open(drawn_run / "gifs" / "step-0000008.gif").size
    # libwebp merges identical consecutive frames (adding their times): the total is kept.
    got = durations_of(webp)
    assert sum(got) == 40 * T + 900 and got[-1] >= 900 and len(got) <= T + 1
    assert invoke("gif", drawn_run, "--every", "8", "--frame-ms", "30").exit_code == 0
    assert durations_of(drawn_run / "gifs" / "step-0000008-30ms.gif") == [30] * T + [1500]
    result = invoke("sample", drawn_run, "-n", "2", "--format", "webp", "--hold-ms", "700")
    assert result.exit_code == 0, result.output
    assert sum(durations_of(drawn_run / "samples" / "step-0000008-2samples-seed0-60ms-hold700ms.webp")) == 60 * T + 700
    assert invoke("sample", drawn_run, "-n", "2", "--frame-ms", "80").exit_code == 0
    assert durations_of(drawn_run / "samples" / "step-0000008-2samples-seed0-80ms.gif") == [80] * T + [1500]
    # MP4 has one frame rate: the hold is the last frame repeated (imageio-ffmpeg is a dev extra)
    import imageio.v3 as iio

    assert (
        invoke("gif", drawn_run, "--every", "8", "--format", "mp4", "--frame-ms", "40", "--hold-ms", "800").exit_code
        == 0
    )
    mp4 = drawn_run / "gifs" / "step-0000008-40ms-hold800ms.mp4"
    assert len(iio.imread(mp4, plugin="FFMPEG")) == T + 800 // 40
    assert iio.immeta(mp4, plugin="FFMPEG")["fps"] == 25


def test_gif_keeps_what_it_made_before_unless_forced(drawn_run, monkeypatch):
    gifs = drawn_run / "gifs"
    fit_made = snapshot(gifs)
    assert {p.name for p in fit_made} >= {"step-0000004.gif", ".step-0000004.gif.json", "step-0000008.gif"}
    with monkeypatch.context() as patch:
        no_model(patch)
        result = invoke("gif", drawn_run)  # fit's milestone GIFs are what gif makes by default
        assert result.exit_code == 0, result.output
        assert result.output.count("made before with these options") == 2
        assert invoke("gif", drawn_run, "--every", "4").exit_code == 0
    assert snapshot(gifs) == fit_made
    result = invoke("gif", drawn_run, "--every", "4", "--force")
    assert result.exit_code == 0 and "wrote" in result.output
    again = drawn_run / "gifs" / "step-0000004.gif"
    assert again.read_bytes() == fit_made[again][0] and again.stat().st_mtime_ns != fit_made[again][1]
    # A file without its record (an earlier drawart made it) is kept, and said so.
    (gifs / ".step-0000008.gif.json").unlink()
    before = snapshot(gifs)
    with monkeypatch.context() as patch:
        no_model(patch)
        result = invoke("gif", drawn_run, "--every", "8")
    assert result.exit_code == 0 and "kept" in result.output and "--force replaces it" in result.output
    assert snapshot(gifs) == before
    # Other options make another file; no temporary file is left behind.
    assert invoke("gif", drawn_run, "--every", "8", "--nearest").exit_code == 0
    assert (gifs / "step-0000008-nearest.gif").exists() and not list(gifs.glob(".*.tmp-*"))


@pytest.mark.parametrize("through_tensorflow", [False, True])
def test_ctrl_c_during_a_render_is_aborted_exit_130_and_touches_nothing(drawn_run, monkeypatch, through_tensorflow):
    from drawart import drawing

    before = snapshot(drawn_run / "gifs")
    monkeypatch.setattr(drawing, "reconstruction_frames", lambda *args, **kwargs: press_ctrl_c(through_tensorflow))
    result = invoke("gif", drawn_run, "--every", "8", "--force")
    assert result.exit_code == 130, result.output
    assert result.stderr.strip().splitlines()[-1] == "aborted" and "Traceback" not in result.output
    assert snapshot(drawn_run / "gifs") == before


def test_sample_and_evolution_are_kept_unless_forced(drawn_run, monkeypatch):
    for args in (["sample", drawn_run, "-n", "3"], ["gif", drawn_run, "--evolution"]):
        assert invoke(*args).exit_code == 0
        with monkeypatch.context() as patch:
            no_model(patch)
            result = invoke(*args)
        assert result.exit_code == 0 and "made before" in result.output, result.output
        result = invoke(*args, "--force")
        assert result.exit_code == 0 and "wrote" in result.output


@pytest.mark.parametrize("command", ["gif", "sample"])
@pytest.mark.parametrize("fmt", ["mp4", "webp"])
def test_a_missing_encoder_is_refused_before_any_work(tmp_path, monkeypatch, command, fmt):
    import sys

    from drawart import formats

    run = fabricated_run(tmp_path / "run")
    before = snapshot(run.path)
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # makes `import imageio_ffmpeg` fail
    monkeypatch.setattr(formats.features, "check", lambda name: False)  # a Pillow without libwebp
    no_model(monkeypatch)
    result = invoke(command, run.path, "--format", fmt)
    assert_one_line_error(result, "imageio-ffmpeg" if fmt == "mp4" else "libwebp")
    assert snapshot(run.path) == before


def test_bad_frame_and_hold_times_are_one_line(tmp_path, monkeypatch):
    run = fabricated_run(tmp_path / "run")
    before = snapshot(run.path)
    no_model(monkeypatch)
    for command in ("gif", "sample"):
        for option, value in (("--frame-ms", "0"), ("--frame-ms", "-5"), ("--hold-ms", "0"), ("--frame-ms", "fast")):
            assert_one_line_error(invoke(command, run.path, option, value), option)
    assert snapshot(run.path) == before


# ---------------------------------------------------------------------------------------------
# export and page: what they refuse, and where they write (the drawing itself: test_page, test_e2e).


def with_stored_strokes(run):
    """Stored strokes for both kept steps of a fabricated run, and its image: export and page then
    need no TensorFlow (the fabricated weights could not be loaded anyway)."""
    from drawart import export

    run.save_image(np.zeros((6, 9, 1), np.float32))
    for step in (1000, 2000):
        export.store(
            run,
            {
                "schema": export.SCHEMA,
                "step": step,
                "image": {"width": 9, "height": 6, "channels": 1},
                "window": "local",
                "write_n": 3,
                "read_n": 2,
                "canvas_start": [0.0],
                "glimpses": [],
            },
        )
    return run


def test_export_and_page_refuse_bad_input_in_one_line_and_touch_nothing(tmp_path):
    run = with_stored_strokes(fabricated_run(tmp_path / "run"))  # milestone 1000; checkpoints 1000, 2000
    a_file = tmp_path / "a-file"
    a_file.write_text("keep me")
    before = snapshot(run.path)
    for command in ("export", "page"):
        assert_one_line_error(invoke(command, tmp_path / "nothing"), "not a drawart run")
        assert_one_line_error(invoke(command, run.path, "--step", 1500), "no weights at step 1500", "--step 1000, 2000")
        assert_one_line_error(
            invoke(command, run.path, "-o", tmp_path / "no-such-folder" / "x"), "no-such-folder does not exist"
        )
        assert_one_line_error(invoke(command, run.path, "-o", tmp_path), "is a folder")
        assert_one_line_error(invoke(command, run.path, "-o", a_file / "x"), "a-file is a file, not a folder")
        with CliRunner().isolated_filesystem(temp_dir=tmp_path):
            assert_one_line_error(invoke(command), "no runs under outputs")
    plain = fabricated_run(tmp_path / "plain", attention=False)
    assert_one_line_error(invoke("export", plain.path), "--no-attention")
    assert snapshot(run.path) == before and a_file.read_text() == "keep me"


def test_a_failed_write_of_export_or_page_is_one_line_and_keeps_the_old_file(tmp_path, monkeypatch):
    import errno

    from drawart import atomic

    run = with_stored_strokes(fabricated_run(tmp_path / "run"))
    old = tmp_path / "old.json"
    old.write_text("keep me")

    def full_disk(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "atomic_write_bytes", full_disk)
    for command in ("export", "page"):
        assert_one_line_error(invoke(command, run.path, "-o", old), f"cannot write {old}", "No space left")
        assert old.read_text() == "keep me"


def test_export_writes_the_named_file_or_standard_output_or_says_where_the_stored_one_is(tmp_path):
    import json

    from drawart import export

    run = with_stored_strokes(fabricated_run(tmp_path / "run"))
    result = invoke("export", run.path)
    assert result.exit_code == 0 and str(export.stored_path(run, 2000)) in result.output  # the newest
    out = tmp_path / "strokes.json"
    assert invoke("export", run.path, "--step", 1000, "-o", out).exit_code == 0
    assert json.loads(out.read_text()) == export.stored(run, 1000)
    result = invoke("export", run.path, "-o", "-")
    assert result.exit_code == 0 and json.loads(result.stdout) == export.stored(run, 2000)
    result = invoke("page", run.path, "--step", 1000)
    assert result.exit_code == 0 and f"wrote {run.page_path}" in result.output
    assert '"selected":1000' in run.page_path.read_text()


# ---------------------------------------------------------------------------------------------
# A data set (scikit-learn's 8×8 digits): learning, the held-out bound, GIFs, samples, resume.

DIGITS = "--size 8 --glimpses 4 --hidden 32 --z 4 --read-n 2 --write-n 3 --gif-every 5000".split()


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """One binarised digits run with a held-out tenth, trained once for the tests below."""
    from conftest import digits_images

    folder = tmp_path_factory.mktemp("digits")
    data = folder / "digits.npz"
    np.savez(data, images=digits_images())
    run = folder / "run"
    result = invoke(
        "fit",
        data,
        "--out",
        run,
        *DIGITS,
        "--batch",
        "16",
        "--steps",
        "300",
        "--checkpoint-every",
        "100",
        "--gif-every",
        "150",
        "--val-fraction",
        "0.1",
        "--binarize",
        "--seed",
        "3",
        "-q",
    )
    assert result.exit_code == 0, result.output
    return run


def test_a_data_set_run_learns_and_logs_the_held_out_bound(digits_run):
    header, *rows = (digits_run / "validation.csv").read_text().splitlines()
    assert header == "step,bound,recon,kl"
    steps, bounds = zip(*[(int(r.split(",")[0]), float(r.split(",")[1])) for r in rows])
    assert steps == (100, 200, 300)
    assert bounds[-1] < bounds[0] - 2.0, bounds  # nats per held-out image fall as it learns
    # Binarised and stored exactly: 0 or 1 only, one 8×8 gray image per digit.
    data = np.load(digits_run / "data.npy")
    assert data.shape == (1797, 8, 8, 1) and set(np.unique(data).tolist()) == {0, 255}


def test_info_describes_the_data_set_and_its_bound(digits_run):
    result = invoke("info", digits_run)
    assert result.exit_code == 0, result.output
    data_line = next(line for line in result.output.splitlines() if line.startswith("data:"))
    assert "1797 images of 8×8 gray, binarized, 1617 trained on, 180 held out" in data_line
    last = (digits_run / "validation.csv").read_text().splitlines()[-1].split(",")
    assert f"val bound:    step 300: {float(last[1]):.2f} nats/image" in result.output


def test_gif_of_a_data_set_redraws_a_fixed_grid_of_held_out_digits(digits_run):
    from PIL import ImageSequence

    result = invoke("gif", digits_run, "--every", "150", "--scale", "4", "--no-boxes")
    assert result.exit_code == 0, result.output
    with Image.open(digits_run / "gifs" / "step-0000150-noboxes-x4.gif") as gif:
        frames = [np.asarray(f.convert("L")) for f in ImageSequence.Iterator(gif)]
    # T + 1 canvases of a 4×4 grid of 8×8 digits at 4×, with 2·4-pixel gutters all round.
    assert len(frames) == 5
    assert frames[0].shape == (4 * 32 + 5 * 8, 4 * 32 + 5 * 8)
    # --evolution: the grid's finished drawings, one frame per milestone.
    assert invoke("gif", digits_run, "--evolution", "--scale", "4", "--no-boxes").exit_code == 0
    with Image.open(digits_run / "gifs" / "evolution-noboxes-x4.gif") as gif:
        assert gif.n_frames == 2 and gif.size == frames[0].shape[::-1]


def test_the_page_of_a_data_set_shows_the_held_out_bound_and_a_held_out_digit(digits_run):
    import base64

    from drawart.run import RunDir

    run = RunDir(digits_run)
    data = inline_data(run.page_path.read_text(encoding="utf-8"), "run")
    rows = [line.split(",") for line in (digits_run / "validation.csv").read_text().splitlines()[1:]]
    assert data["validation"] == {"step": [int(r[0]) for r in rows], "bound": [float(r[1]) for r in rows]}
    assert data["dataset"] and [doc["step"] for doc in inline_data(run.page_path.read_text(), "strokes")] == [150, 300]
    # The image beside the drawing is the one drawn: the first held-out digit, as the GIFs show it.
    shown = Image.open(BytesIO(base64.b64decode(data["image"].split(",", 1)[1])))
    drawn = run.training_data(run.read_config()).drawn
    np.testing.assert_array_equal(np.asarray(shown), np.round(drawn[..., 0] * 255))


@needs_chromium
def test_the_page_of_a_data_set_draws_with_its_bound_curve_in_chromium(digits_run, tmp_path):
    from drawart import export
    from drawart.progress import psnr
    from drawart.run import RunDir

    strokes = export.stored(RunDir(digits_run), 300)
    report = open_page(
        digits_run / "index.html", f"step=300&t={len(strokes['glimpses'])}&boxes=0&px=8", tmp_path / "profile"
    )
    assert report["errors"] == [] and report["console"] == [] and report["step"] == 300
    assert psnr(report["rgb"], as_rgb(export.redraw(strokes)[-1])) >= 40


def test_sample_of_a_data_set_is_deterministic_with_its_seed(digits_run):
    def sample(seed):
        # --force: the same grid is drawn again, not kept from the call before.
        assert invoke("sample", digits_run, "-n", "4", "--seed", seed, "--no-boxes", "--force").exit_code == 0
        return (digits_run / "samples" / f"step-0000300-4samples-noboxes-seed{seed}.gif").read_bytes()

    first = sample(5)
    assert sample(5) == first
    assert sample(6) != first
    with Image.open(BytesIO(first)) as gif:
        assert gif.n_frames == 5  # drawn glimpse by glimpse: c_0..c_T


def test_a_data_set_run_resumes_exactly(digits_npz, tmp_path):
    common = [
        *DIGITS,
        "--batch",
        "8",
        "--checkpoint-every",
        "5",
        "--steps-per-call",
        "3",
        "--val-fraction",
        "0.2",
        "-q",
    ]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert invoke("fit", digits_npz, "--out", straight, *common, "--steps", "12").exit_code == 0
    assert invoke("fit", digits_npz, "--out", resumed, *common, "--steps", "5").exit_code == 0
    assert invoke("fit", digits_npz, "--out", resumed, "--steps", "12", "-q").exit_code == 0

    from drawart import train
    from drawart.run import RunDir

    a, _ = train.load_model(RunDir(straight))
    b, _ = train.load_model(RunDir(resumed))
    for wa, wb in zip(a.weights + a.optimizer.variables, b.weights + b.optimizer.variables):
        np.testing.assert_array_equal(wa.numpy(), wb.numpy())
    for name in ("metrics.csv", "validation.csv"):
        lines = lambda run, name=name: [line.split(",")[:5] for line in (run / name).read_text().splitlines()]
        assert lines(straight) == lines(resumed)


def test_data_set_refusals_are_one_line(digits_npz, tiny_gray_png, tmp_path):
    run = tmp_path / "run"
    assert_one_line_error(
        invoke("fit", tiny_gray_png, "--out", run, "--val-fraction", "0.2"), "--val-fraction needs a data set"
    )
    assert not run.exists()
    assert (
        invoke("fit", digits_npz, "--out", run, *DIGITS, "--steps", "2", "--val-fraction", "0.1", "-q").exit_code == 0
    )
    before = snapshot(run)
    assert_one_line_error(invoke("fit", digits_npz, "--out", run, "--binarize"), "binarize (False then, True now)")
    assert_one_line_error(invoke("fit", digits_npz, "--out", run, "--val-fraction", "0.3"), "val_fraction")
    np.savez(tmp_path / "fewer.npz", images=np.load(digits_npz)["images"][:100])
    assert_one_line_error(invoke("fit", tmp_path / "fewer.npz", "--out", run), "the data (")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert_one_line_error(invoke("fit", bad, "--out", tmp_path / "other"), "bad.npz")
    assert snapshot(run) == before


def test_a_size_this_machine_cannot_train_is_refused_before_anything_is_written(tiny_gray_png, tmp_path):
    result = invoke("fit", tiny_gray_png, "--out", tmp_path / "huge", "--size", "200000")
    assert_one_line_error(result, "--size 200000", "use a smaller --size")
    assert not (tmp_path / "huge").exists()


def test_a_size_that_enlarges_the_photo_is_warned_of_in_one_line(tiny_gray_png, tmp_path):
    result = invoke("fit", tiny_gray_png, "--out", tmp_path / "run", *TINY, "--size", "40", "--steps", "1", "--no-xla")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: --size 40 enlarges")]
    assert len(warnings) == 1 and "(24×16 px)" in warnings[0]
    plain = invoke("fit", tiny_gray_png, "--out", tmp_path / "other", *TINY, "--steps", "1", "--no-xla")
    assert "enlarges" not in plain.stderr


def test_a_run_that_fails_before_its_first_checkpoint_leaves_no_directory(tiny_gray_png, tmp_path, monkeypatch):
    from drawart import train

    def broken(*args, **kwargs):
        raise MemoryError("Unable to allocate 149. GiB")

    monkeypatch.setattr(train, "fit", broken)
    with pytest.raises(MemoryError):
        invoke("fit", tiny_gray_png, "--out", tmp_path / "outputs" / "broken", *TINY, "--steps", "5")
    assert not (tmp_path / "outputs" / "broken").exists()
    # A folder that held something before is never removed, whatever happens.
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(MemoryError):
        invoke("fit", tiny_gray_png, "--out", tmp_path / "mine", *TINY, "--steps", "5")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_fit_says_where_it_trains_once_and_its_plan_after_the_first_calls(tiny_gray_png, tmp_path):
    run = tmp_path / "run"
    first = invoke("fit", tiny_gray_png, "--out", run, *TINY, "--steps", "4", "--steps-per-call", "1", "--no-xla")
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    assert lines[0].startswith(f"starting {run}: 9×6 gray, 3 glimpses, to step 4, on ")
    resumed = invoke("fit", tiny_gray_png, "--out", run, "--steps", "6")
    assert [line for line in resumed.output.splitlines() if "resuming" in line] == [
        f"resuming {run} from step 4: 9×6 gray, 3 glimpses, to step 6, on " + lines[0].split(", on ")[1]
    ]


def test_a_second_launch_says_how_long_compiling_took_here(tiny_gray_png, tmp_path, monkeypatch):
    monkeypatch.setenv("DRAWART_XLA_CACHE", str(tmp_path / "xla"))
    first = invoke("fit", tiny_gray_png, "--out", tmp_path / "a", *TINY, "--steps", "2", "--steps-per-call", "1")
    assert "(the first time here" in first.output
    second = invoke("fit", tiny_gray_png, "--out", tmp_path / "b", *TINY, "--steps", "2", "--steps-per-call", "1")
    assert re.search(r"compiling the training step with XLA \(about \d+ s last time on this machine\)", second.output)
