"""A new user's path through the command line: fit, watch it draw, sample, look at the run, open
its page, export its strokes and redraw them."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from drawart.cli import cli
from drawart.strokes import psnr
from test_cli import TINY
from test_page import needs_chromium, open_page


def drawart(*args) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_fit_gif_sample_info(tiny_rgb_png, tmp_path):
    with CliRunner().isolated_filesystem(temp_dir=tmp_path):
        # Not a terminal here, so progress comes as plain lines. (XLA off: it only slows a tiny model.)
        out = drawart("fit", tiny_rgb_png, *TINY, "--steps", 8, "--gif-every", 4, "--no-xla")
        assert "step 8/8" in out and "done: outputs/rgb at step 8" in out
        out = drawart("fit", tiny_rgb_png, "--steps", 10, "--quiet")
        assert "from step 8" in out and "step 10/10" not in out
        run = Path("outputs/rgb")
        assert sorted(p.name for p in (run / "gifs").glob("*.gif")) == ["step-0000004.gif", "step-0000008.gif"]
        assert any((run / "tensorboard").iterdir())

        # The commands that read a run default to the latest one under outputs/.
        assert "wrote outputs/rgb/gifs/evolution.gif" in drawart("gif", "--evolution")
        out = drawart("sample", "-n", 4, "--seed", 2)
        grid = run / "samples" / "step-0000010-4samples-seed2.gif"
        assert str(grid) in out
        image = Image.open(grid)
        assert image.n_frames == 3 + 1 and max(image.size) >= 256  # T=3 glimpses, in step

        out = drawart("info")
        assert "outputs/rgb" in out and "10 (newest good checkpoint) of 10" in out
        assert "milestones:   4 8" in out and "last metrics: step 10" in out


@pytest.fixture(scope="module")
def watched_run(tmp_path_factory):
    """A run fitted through the command line, whose page fit wrote and `drawart page` rewrote."""
    from conftest import colourful

    folder = tmp_path_factory.mktemp("watched")
    image = folder / "rgb.png"
    Image.fromarray(colourful()).save(image)
    run = folder / "outputs" / "rgb"
    out = drawart("fit", image, "--out", run, *TINY, "--steps", 6, "--gif-every", 3, "--no-xla", "-q")
    assert f"done: {run} at step 6" in out and (run / "index.html").is_file()
    assert drawart("page", run).strip() == f"wrote {run / 'index.html'} ({(run / 'index.html').stat().st_size / 1024:.0f} KiB)"
    return run


def test_fit_page_export_and_redraw_the_export(watched_run, tmp_path):
    from drawart import export, train
    from drawart.run import RunDir

    out = tmp_path / "strokes.json"
    assert drawart("export", watched_run, "-o", out).strip().startswith(f"wrote {out}")
    strokes = json.loads(out.read_text())
    assert strokes["schema"] == export.SCHEMA and strokes["step"] == 6
    model, step = train.load_model(RunDir(watched_run))
    traced = model.trace(RunDir(watched_run).load_image())["canvases"]
    assert np.abs(export.redraw(strokes) - traced).max() <= 1e-4
    # The page carries the same strokes.
    assert export.to_json(strokes) in (watched_run / "index.html").read_text()


@needs_chromium
def test_the_page_of_a_fitted_run_draws_what_the_export_redraws(watched_run, tmp_path):
    from drawart import export
    from drawart.run import RunDir

    strokes = export.stored(RunDir(watched_run), 6)
    longest = max(strokes["image"]["width"], strokes["image"]["height"])
    glimpses = len(strokes["glimpses"])
    report = open_page(watched_run / "index.html", f"t={glimpses}&boxes=0&px={longest}", tmp_path / "profile")
    assert report["errors"] == [] and report["console"] == [] and report["step"] == 6
    assert psnr(report["rgb"], export.redraw(strokes)[-1]) >= 40
