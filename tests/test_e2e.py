"""A new user's path through the command line: fit, watch it draw, sample, look at the run, open
its page, export its strokes and redraw them. One run is fitted, for all of them."""

import json
from contextlib import chdir
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from pagetools import needs_chromium, open_page
from PIL import Image
from test_cli import TINY

from drawart.cli import cli
from drawart.progress import psnr


def drawart(*args) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """(folder, what fit printed, what the resume printed): a run fitted to step 8 in
    folder/outputs/rgb, then resumed to 10, as a user would, from `folder`."""
    from conftest import colourful

    folder = tmp_path_factory.mktemp("e2e")
    Image.fromarray(colourful()).save(folder / "rgb.png")
    with chdir(folder):
        # Not a terminal here, so progress comes as plain lines. (XLA off: it only slows a tiny model.)
        first = drawart("fit", "rgb.png", *TINY, "--steps", 8, "--gif-every", 4, "--no-xla")
        resumed = drawart("fit", "rgb.png", "--steps", 10, "--quiet")
    return folder, first, resumed


def test_fit_gif_sample_info(fitted):
    folder, first, resumed = fitted
    assert "step 8/8" in first and "done: outputs/rgb at step 8" in first
    assert "from step 8" in resumed and "step 10/10" not in resumed
    with chdir(folder):
        run = Path("outputs/rgb")
        assert sorted(p.name for p in (run / "gifs").glob("step-*.gif")) == ["step-0000004.gif", "step-0000008.gif"]
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


def test_fit_writes_the_page_and_page_and_export_redraw_what_the_model_draws(fitted, tmp_path):
    from drawart import export, page, train
    from drawart.run import RunDir

    folder = fitted[0]
    run = RunDir(folder / "outputs" / "rgb")
    fit_wrote = run.page_path.read_text()
    assert '"step":10' in fit_wrote  # the page fit wrote at its last step
    with chdir(folder):
        out = drawart("page")  # the latest run
    assert out.strip() == f"wrote outputs/rgb/index.html ({run.page_path.stat().st_size / 1024:.0f} KiB)"

    out = tmp_path / "strokes.json"
    assert drawart("export", run.path, "-o", out).strip().startswith(f"wrote {out}")
    strokes = json.loads(out.read_text())
    assert strokes["schema"] == export.SCHEMA and strokes["step"] == 10  # the newest
    model, step = train.load_model(run)
    traced = model.trace(run.load_image())["canvases"]
    assert np.abs(export.redraw(strokes) - traced).max() <= 1e-4
    # The page carries the same strokes.
    assert export.to_json(page.packed(strokes)) in run.page_path.read_text()


@needs_chromium
def test_the_page_of_a_fitted_run_draws_what_the_export_redraws(fitted, tmp_path):
    from drawart import export
    from drawart.run import RunDir

    run = RunDir(fitted[0] / "outputs" / "rgb")
    strokes = export.stored(run, 10)
    longest = max(strokes["image"]["width"], strokes["image"]["height"])
    glimpses = len(strokes["glimpses"])
    report = open_page(run.page_path, f"t={glimpses}&boxes=0&px={longest}", tmp_path / "profile")
    assert report["errors"] == [] and report["console"] == [] and report["step"] == 10
    assert psnr(report["rgb"], export.redraw(strokes)[-1]) >= 40
