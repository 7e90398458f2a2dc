"""The run's page: self-contained, carrying every kept milestone's strokes, and, opened in headless
Chromium, redrawing the model's canvases with no JavaScript error."""

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from pagetools import as_rgb, inline_data, needs_chromium, open_page
from test_cli import fabricated_run
from test_export import scattered_model

from drawart import export, page, train
from drawart.checkpoints import save_checkpoint
from drawart.config import ImageConfig, RunConfig, TrainConfig
from drawart.image import load_image
from drawart.metrics import append_metrics
from drawart.progress import psnr
from drawart.run import RunDir


def made_run(folder: Path, window: str, gray: bool) -> RunDir:
    """A run as fit leaves it, made without training: a real photo, scattered weights (see
    test_export) kept as milestones at steps 3 and 6 with their strokes, a checkpoint at 6, metrics."""
    channels = 1 if gray else 3
    model, _ = scattered_model(window, channels)
    cfg = model.config
    loaded = load_image(Path(__file__).parent / "data" / "chelsea-24.png", size=max(cfg.width, cfg.height), gray=gray)
    assert loaded.pixels.shape == (cfg.height, cfg.width, channels)
    config = RunConfig(
        model=cfg,
        train=TrainConfig(steps=6, gif_every=3, checkpoint_every=6, jit_compile=False, ema=0.0),
        image=ImageConfig(path="chelsea-24.png", digest=loaded.digest, size=cfg.width, gray=gray),
    )
    run = RunDir(folder)
    run.create(config)
    run.save_image(loaded.pixels)
    rng = np.random.default_rng(3)
    for step in (3, 6):
        if step == 6:  # other weights: another drawing
            for weight in model.writer.params.weights + model.writer.patch.weights:
                weight.assign(weight.numpy() + rng.normal(0, 0.3, weight.shape).astype("float32"))
        save_checkpoint(run.milestones, step, lambda prefix: train.save_weights(model, prefix))
        export.store(run, export.strokes(model, loaded.pixels, step))
        append_metrics(
            run.metrics_path,
            {
                "step": step,
                "loss": 90.0 - step,
                "recon": 88.0 - step,
                "kl": 2.0,
                "psnr": 10.0 + step,
                "seconds": 2.0 * step,
            },
        )
    save_checkpoint(run.checkpoints, 6, train.TrainingState(model).write)
    page.write_page(run)
    return run


@pytest.fixture(scope="module", params=[("local", False), ("paper", True)], ids=["local-rgb", "paper-gray"])
def made(request, tmp_path_factory):
    window, gray = request.param
    return made_run(tmp_path_factory.mktemp(f"page-{window}") / "run", window, gray)


class Links(HTMLParser):
    """Every src and href attribute, and every tag, of an HTML document."""

    def __init__(self):
        super().__init__()
        self.links, self.tags = [], set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.links += [value for name, value in attrs if name in ("src", "href")]


def external(text: str) -> list[str]:
    parser = Links()
    parser.feed(text)
    return [link for link in parser.links if not link.startswith(("data:", "#"))] + sorted(
        parser.tags & {"link", "iframe", "object", "embed"}
    )


def assert_carries(packed: dict, doc: dict) -> None:
    """The page's packed document is `doc`: every field the same, each patch the same float32s."""
    n, channels = doc["write_n"], doc["image"]["channels"]
    assert {k: v for k, v in packed.items() if k != "glimpses"} == {k: v for k, v in doc.items() if k != "glimpses"}
    assert len(packed["glimpses"]) == len(doc["glimpses"])
    for carried, glimpse in zip(packed["glimpses"], doc["glimpses"]):
        assert {k: v for k, v in carried.items() if k != "patch"} == {k: v for k, v in glimpse.items() if k != "patch"}
        values = np.frombuffer(base64.b64decode(carried["patch"]), "<f4").reshape(channels, n, n)
        np.testing.assert_array_equal(values, np.asarray(glimpse["patch"], np.float32))


def test_the_page_is_self_contained_with_every_milestones_strokes(made):
    text = made.page_path.read_text(encoding="utf-8")
    assert external(text) == []
    assert not re.search(r"@import|url\(|\bfetch\(|XMLHttpRequest|import\(", text)
    # The strokes inline are those stored for each kept step, as `drawart export` writes them.
    docs = inline_data(text, "strokes")
    assert [doc["step"] for doc in docs] == export.drawable_steps(made) == [3, 6]
    for doc, step in zip(docs, (3, 6)):
        assert_carries(doc, export.stored(made, step))
    data = inline_data(text, "run")
    assert data["step"] == 6 and data["metrics"]["step"] == [3, 6] and data["metrics"]["psnr"] == [13.0, 16.0]
    assert data["image"].startswith("data:image/png;base64,")
    assert data["resume"] == f"drawart fit chelsea-24.png --out {made.path} --steps 6"


@needs_chromium
def test_the_page_redraws_the_models_canvases_in_chromium(made, tmp_path):
    model, step = train.load_model(made)
    config = model.config
    longest = max(config.width, config.height)
    image = made.training_data(made.read_config()).drawn
    # At the training size, boxes off, the finished drawing of the newest milestone.
    report = open_page(made.page_path, f"step={step}&t={config.glimpses}&boxes=0&px={longest}", tmp_path / "profile")
    assert report["errors"] == [] and report["console"] == []
    assert (report["step"], report["t"]) == (6, config.glimpses)
    final = as_rgb(model.trace(image)["canvases"][-1])
    assert report["rgb"].shape == final.shape
    assert psnr(report["rgb"], final) >= 40
    # The fragment opens another milestone at a glimpse, here on a 3× finer grid: the stored strokes
    # redrawn there in numpy.
    report = open_page(made.page_path, f"step=3&t=2&boxes=0&px={3 * longest}", tmp_path / "profile")
    assert report["errors"] == [] and report["console"] == []
    assert (report["step"], report["t"]) == (3, 2)
    expected = as_rgb(export.redraw(export.stored(made, 3), scale=3)[2])
    assert report["rgb"].shape == expected.shape and psnr(report["rgb"], expected) >= 40
    assert psnr(report["rgb"], as_rgb(export.redraw(export.stored(made, 3), scale=3)[3])) < 40  # t matters


@needs_chromium
def test_a_run_without_attention_gets_curves_and_settings_without_error(tmp_path):
    run = fabricated_run(tmp_path / "plain", attention=False)
    path = page.write_page(run, docs={}, image=np.zeros((6, 9, 1)))
    assert external(path.read_text(encoding="utf-8")) == []
    report = open_page(path, "t=0", tmp_path / "profile")
    assert report["errors"] == [] and report["console"] == []


def test_long_runs_embed_evenly_spaced_milestones_and_curves():
    steps = list(range(500, 100001, 500))  # 200 milestones
    shown = page.thinned(steps, 24, keep=1500)
    assert shown[0] == 500 and shown[-1] == 100000 and 1500 in shown and len(shown) == 25
    gaps = np.diff([s for s in shown if s != 1500])
    assert gaps.max() - gaps.min() <= 500  # evenly spaced
    assert page.thinned(steps[:5], 24) == steps[:5]
    rows = [{"step": s, "loss": float(s)} for s in range(50, 1_000_001, 50)]
    curve = page.curves(rows + rows[-3:], ("loss",))  # a step logged twice counts once
    assert len(curve["step"]) <= page.MAX_POINTS + 1 and curve["step"][0] == 50 and curve["step"][-1] == 1_000_000
    assert curve["loss"] == [float(s) for s in curve["step"]]


def fake_strokes(step: int, rng, n: int = 6, glimpses: int = 3) -> dict:
    window = {"x": 0.5, "y": 0.5, "stride": 0.1, "sigma": 0.05, "gamma": 1.0}
    return {
        "schema": export.SCHEMA,
        "step": step,
        "seed": 0,
        "image": {"width": 9, "height": 6, "channels": 1},
        "window": "local",
        "write_n": n,
        "read_n": 2,
        "canvas_start": [0.0],
        "glimpses": [
            {"write": window, "read": window, "patch": export._short(rng.normal(size=(1, n, n)))}
            for _ in range(glimpses)
        ],
    }


def test_a_long_runs_page_reads_and_carries_only_the_milestones_that_fit(tmp_path, monkeypatch):
    run = fabricated_run(tmp_path / "run")
    rng = np.random.default_rng(0)
    steps = list(range(100, 6001, 100))  # 60 milestones with strokes
    for step in steps:
        save_checkpoint(run.milestones, step, lambda prefix: Path(prefix + ".index").write_bytes(b"w"))
        export.store(run, fake_strokes(step, rng))
    # Room for the strokes of five drawings (one packed is about as large as any other)
    one = len(json.dumps(page.packed(fake_strokes(1, rng)), separators=(",", ":")))
    monkeypatch.setattr(page, "MAX_STROKES_BYTES", 5 * one + one // 2)
    reads = []
    stored = export.stored
    monkeypatch.setattr(export, "stored", lambda run, step: reads.append(step) or stored(run, step))
    text = page.write_page(run, image=np.zeros((6, 9, 1))).read_text(encoding="utf-8")
    assert len(reads) <= page.MAX_DRAWINGS  # not all 60 documents
    docs = inline_data(text, "strokes")
    shown = [doc["step"] for doc in docs]
    assert len(shown) == 5 and shown[0] == 100 and shown[-1] == 6000
    assert len(re.search(r'id="strokes-data">(.*?)</script>', text, re.S).group(1)) <= page.MAX_STROKES_BYTES
    for doc in docs:
        assert_carries(doc, stored(run, doc["step"]))
    data = inline_data(text, "run")
    assert data["shown"] == shown and data["drawn"] == len(steps) and data["missing"] == []
    # A damaged document among those shown is left out and listed as missing: drawart page traces it.
    export.stored_path(run, 6000).write_text("{", encoding="utf-8")
    data = inline_data(page.write_page(run, image=np.zeros((6, 9, 1))).read_text(encoding="utf-8"), "run")
    assert 6000 not in data["shown"] and data["missing"] == [6000]


def test_packed_patches_are_exact_and_under_half_the_decimals():
    doc = fake_strokes(1, np.random.default_rng(1), n=20)
    assert_carries(page.packed(doc), doc)
    assert len(json.dumps(page.packed(doc))) < 0.5 * len(json.dumps(doc))


def test_inline_data_cannot_end_its_script_element(tmp_path):
    run = fabricated_run(tmp_path / "</script><script>alert(1)</script>")
    text = page.page_html(run, {}, [], None, np.zeros((6, 9, 1)))
    assert text.count("</script>") == text.count("<script")  # the run's path did not close one early
    assert "\\u003c/script>\\u003cscript>alert(1)" in text


def test_a_non_finite_logged_value_is_a_gap_in_its_curve():
    rows = [{"step": 50, "loss": 2.0}, {"step": 100, "loss": float("nan")}, {"step": 150, "loss": float("inf")}]
    assert page.curves(rows, ["loss"]) == {"step": [50, 100, 150], "loss": [2.0, None, None]}
