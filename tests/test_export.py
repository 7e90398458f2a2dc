"""Strokes documents: the schema, docs/strokes-schema.md's account of it, and a redraw from the JSON alone that
matches the model's canvases for both window kinds, gray and RGB, at the training size and finer."""

import json
import os

import numpy as np
import pytest
from conftest import tiny_model_config
from test_cli import fabricated_run

from drawart import export, train
from drawart.config import TrainConfig
from drawart.errors import DrawartError
from drawart.run import RunDir


def scattered_model(window: str, channels: int):
    """A tiny model whose windows, patches and canvas start are pushed well away from their initial
    values, so the strokes land all over the image, some over its edges."""
    config = tiny_model_config(channels=channels, window=window, glimpses=5, block_in=1, max_window=0.5)
    # Weights set by hand, never trained: no moving average to draw from (ema 0).
    model = train.build_model(config, TrainConfig(jit_compile=False, ema=0.0))
    rng = np.random.default_rng(channels)
    for layer in (model.writer.params, model.reader.params, model.writer.patch):
        for weight in layer.weights:
            weight.assign(weight.numpy() + rng.normal(0, 0.5, weight.shape).astype("float32"))
    model.canvas_start.assign(rng.normal(0, 1, channels).astype("float32"))
    image = rng.random((config.height, config.width, channels)).astype("float32")
    return model, image


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("window", ["paper", "local"])
def test_redraw_from_the_json_alone_matches_the_models_canvases(window, channels):
    model, image = scattered_model(window, channels)
    doc = json.loads(export.to_json(export.strokes(model, image, step=7)))  # through text, as a reader gets it
    traced = model.trace(image)["canvases"]
    assert np.abs(export.redraw(doc) - traced).max() <= 1e-4
    # The strokes have no fixed resolution: on a 2.5× finer grid they match the model's own fine render.
    fine = model.trace(image, grid_scale=2.5)["canvases"]
    redrawn = export.redraw(doc, scale=2.5)
    assert redrawn.shape == fine.shape and np.abs(redrawn - fine).max() <= 1e-4
    # Not a trivially flat picture: the glimpses changed the canvas, differently in different places.
    assert np.ptp(traced[-1] - traced[0]) > 0.05


def all_keys(value, prefix=""):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from all_keys(inner)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        yield from all_keys(value[0])


def test_the_document_follows_its_schema_and_the_docs_document_every_field(repo_root):
    model, image = scattered_model("local", 3)
    doc = export.strokes(model, image, step=1234)
    cfg = model.config
    assert doc["schema"] == export.SCHEMA == "drawart-strokes/1"
    assert doc["step"] == 1234 and doc["seed"] == 0 and doc["window"] == "local"
    assert doc["image"] == {"width": cfg.width, "height": cfg.height, "channels": 3}
    assert (doc["write_n"], doc["read_n"]) == (cfg.write_n, cfg.read_n)
    assert len(doc["canvas_start"]) == 3 and len(doc["glimpses"]) == cfg.glimpses
    for glimpse in doc["glimpses"]:
        assert set(glimpse) == {"write", "read", "patch"}
        for head in ("write", "read"):
            assert set(glimpse[head]) == {"x", "y", "stride", "sigma", "gamma"}
            assert glimpse[head]["stride"] > 0 and glimpse[head]["sigma"] > 0 and glimpse[head]["gamma"] > 0
        assert np.shape(glimpse["patch"]) == (3, cfg.write_n, cfg.write_n)
    # Patches are the model's float32 values exactly, written as their shortest decimals.
    traced = model.trace(image)
    np.testing.assert_array_equal(np.asarray([g["patch"] for g in doc["glimpses"]], np.float32), traced["patch"])
    # Image-relative: the centre is a share of the width from the left edge, the stride a share of
    # the longest side, as the model's own window puts them (in 0-based pixels).
    window = model.writer.filterbank.window(traced["write"], np.arange(cfg.glimpses)[:, None])
    first = doc["glimpses"][0]["write"]
    assert first["x"] * cfg.width - 0.5 == pytest.approx(float(np.asarray(window.gx)[0, 0]), abs=1e-5)
    assert first["stride"] * max(cfg.width, cfg.height) == pytest.approx(
        float(np.asarray(window.delta)[0, 0]), rel=1e-6
    )

    section = (repo_root / "docs" / "strokes-schema.md").read_text(encoding="utf-8")
    assert export.SCHEMA in section
    for key in set(all_keys(doc)):
        assert f"`{key}`" in section, f"docs/strokes-schema.md does not document {key!r}"


def test_strokes_are_stored_once_and_read_back(tmp_path):
    run = fabricated_run(tmp_path / "run")
    model, image = scattered_model("paper", 1)
    doc = export.strokes(model, image, step=1000)
    assert export.stored(run, 1000) is None
    export.store(run, doc)
    path = export.stored_path(run, 1000)
    assert path.name == "step-0001000.json" and export.stored(run, 1000) == json.loads(export.to_json(doc))
    stamp = path.stat().st_mtime_ns
    export.store(run, {**doc, "seed": 99})  # already there: kept as it is
    assert path.stat().st_mtime_ns == stamp and export.stored(run, 1000)["seed"] == 0
    # Another schema, or a step that is not the file's, is not these strokes.
    path.write_text(json.dumps({**doc, "schema": "drawart-strokes/0"}))
    assert export.stored(run, 1000) is None
    path.write_text("{ half a file")
    assert export.stored(run, 1000) is None
    assert not [p for p in run.strokes.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_kept_steps_are_the_milestones_and_the_newest_checkpoint(tmp_path):
    run = fabricated_run(tmp_path / "run")  # milestone 1000; checkpoints 1000 and 2000
    assert export.drawable_steps(run) == [1000, 2000]
    assert export.choose_step(run, None) == 2000 and export.choose_step(run, 1000) == 1000
    with pytest.raises(DrawartError, match=r"no weights at step 1500: .*\(--step 1000, 2000\)"):
        export.choose_step(run, 1500)
    empty = RunDir(tmp_path / "empty")
    os.makedirs(empty.path)
    with pytest.raises(DrawartError, match="no milestone or checkpoint yet"):
        export.choose_step(empty, None)


def test_a_documents_drawing_measures_are_those_of_the_models_canvases():
    from drawart.progress import Progress

    model, image = scattered_model("local", 3)
    doc = json.loads(export.to_json(export.strokes(model, image, step=7)))
    measured = export.drawing_progress(doc, image)
    traced = Progress.of(model.trace(image)["canvases"], image)
    np.testing.assert_allclose(measured.psnr, traced.psnr, atol=1e-3)
    assert measured.flat == traced.flat and measured.glimpses == 5


def test_the_newest_stored_strokes_are_those_of_the_newest_kept_step_that_has_them(tmp_path):
    run = fabricated_run(tmp_path / "run")  # kept steps 1000 and 2000
    assert export.newest_stored(run) is None
    model, image = scattered_model("paper", 1)
    export.store(run, export.strokes(model, image, step=1000))
    assert export.newest_stored(run)["step"] == 1000
    export.store(run, export.strokes(model, image, step=2000))
    assert export.newest_stored(run)["step"] == 2000
    export.stored_path(run, 2000).write_text("{ half a file")
    assert export.newest_stored(run)["step"] == 1000
