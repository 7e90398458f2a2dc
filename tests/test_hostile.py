"""Hostile input through `drawart fit`: each case is one clear line and exit 2 or it simply works,
and nothing that existed before is changed.

Image decoding itself is fuzzed in test_image.py; here the bytes go through the whole command.
"""

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import gray_gradient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from test_cli import TINY, assert_one_line_error, invoke, snapshot
from test_image import mutated_png

from drawart.cli import cli
from drawart.fit_plan import plan_fit
from drawart.image import load_image
from drawart.run import RunDir

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def other_run(tmp_path):
    """A run started on another picture: any image that loads is refused, so nothing trains."""
    picture = tmp_path / "other.png"
    Image.fromarray(gray_gradient(30, 20)).save(picture)
    plan = plan_fit(picture, tmp_path / "run", size=9)
    plan.run.create(plan.config)
    return plan.run.path


def fit_bytes_is_one_line(tmp_path, run: Path, data: bytes) -> None:
    image = tmp_path / "input.png"
    image.write_bytes(data)
    before = snapshot(run)
    assert_one_line_error(invoke("fit", image, "--out", run))
    assert snapshot(run) == before


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes_are_one_line(tmp_path, other_run, monkeypatch, data):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)  # random headers must not allocate much
    fit_bytes_is_one_line(tmp_path, other_run, data)


@FUZZ
@given(data=mutated_png())
def test_mutated_pngs_are_one_line(tmp_path, other_run, monkeypatch, data):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    fit_bytes_is_one_line(tmp_path, other_run, data)


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height 8-bit gray pixels, with one row of data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(1 + width)))
        + chunk(b"IEND", b"")
    )


def png_bytes(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name, data, words",
    [
        ("huge.png", png_claiming(100_000, 100_000), ["huge.png", "too large", "decompression bomb"]),
        ("dot.png", png_bytes(np.zeros((1, 1), np.uint8)), ["dot.png", "too small", "1x1"]),
        ("thin.png", png_bytes(np.zeros((2, 400), np.uint8)), ["thin.png", "too small"]),
    ],
)
def test_bad_pictures_are_one_line_and_make_no_run(tmp_path, name, data, words):
    image = tmp_path / name
    image.write_bytes(data)
    result = invoke("fit", image, "--out", tmp_path / "run")
    assert_one_line_error(result, *words)
    assert not (tmp_path / "run").exists()


def make_out(tmp_path, kind) -> Path:
    if kind == "parent is a file":
        (tmp_path / "a-file").write_text("keep me")
        return tmp_path / "a-file" / "run"
    if kind == "in /proc":  # tests run as root, who may write anywhere chmod forbids; not in /proc
        return Path("/proc/drawart-hostile-test/run")
    if kind == "out is a file":
        (tmp_path / "run").write_text("keep me")
        return tmp_path / "run"
    run = tmp_path / "run"
    run.mkdir()
    if kind == "config.json not JSON":
        (run / "config.json").write_text('{"model": {"glimpses": 3,')
    elif kind == "config.json wrong type":
        (run / "config.json").write_text('{"model": {"glimpses": "many"}}')
    return run


@pytest.mark.parametrize(
    "kind, words",
    [
        ("parent is a file", ["cannot create run directory", "Not a directory", "--out"]),
        ("in /proc", ["cannot create run directory", "--out"]),
        ("out is a file", ["is a file, not a run directory", "--out"]),
        ("config.json not JSON", ["config.json", "is not a valid drawart config"]),
        ("config.json wrong type", ["config.json", "glimpses"]),
    ],
)
def test_unusable_out_is_one_line_and_changes_nothing(tmp_path, tiny_gray_png, kind, words):
    out = make_out(tmp_path, kind)
    before = snapshot(tmp_path)
    result = invoke("fit", tiny_gray_png, "--out", out, *TINY, "--steps", "1", "--no-xla")
    assert_one_line_error(result, *words)
    assert snapshot(tmp_path) == before
    if kind == "in /proc":
        assert not out.parent.exists()


def odd_but_fine(tmp_path, kind) -> tuple[Path, Path]:
    """(image to pass, PNG of the pixels it must train on)."""
    reference = tmp_path / "reference.png"
    if kind == "animated GIF":
        frames = [Image.fromarray(gray_gradient(12, 8)).convert("RGB"), Image.new("RGB", (12, 8), (0, 0, 255))]
        image = tmp_path / "anim.gif"
        frames[0].save(image, save_all=True, append_images=frames[1:], duration=50, loop=0)
        frames[0].save(reference)
    else:  # 16-bit gray PNG
        image = tmp_path / "deep.png"
        Image.fromarray(np.arange(96, dtype=np.uint16).reshape(8, 12) * 600).save(image)
        reference = image
    return image, reference


@pytest.mark.parametrize("kind", ["animated GIF", "16-bit PNG"])
def test_odd_but_valid_pictures_train(tmp_path, kind):
    image, reference = odd_but_fine(tmp_path, kind)
    result = invoke("fit", image, "--out", tmp_path / "run", *TINY, "--steps", "1", "--no-xla")
    assert result.exit_code == 0, result.output
    config = RunDir(tmp_path / "run").read_config()
    assert config.image.digest == load_image(reference).digest  # the first frame; all 16 bits
    assert RunDir(tmp_path / "run").latest_checkpoint()[0] == 1


def test_a_png_named_jpg_in_a_folder_with_spaces_and_accents_works_end_to_end(tmp_path, tiny_gray_png):
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=tmp_path):
        folder = Path("my pictures")
        folder.mkdir()
        image = folder / "café ☕.jpg"
        image.write_bytes(tiny_gray_png.read_bytes())
        result = runner.invoke(cli, ["fit", str(image), *TINY, "--steps", "2", "--no-xla"])
        assert result.exit_code == 0, result.output
        run = RunDir(Path("outputs") / "café ☕")  # the default --out: outputs/<image stem>
        assert run.read_config().image.path == str(image)
        assert run.latest_checkpoint()[0] == 2
        again = runner.invoke(cli, ["fit", str(image), "--steps", "3"])
        assert again.exit_code == 0 and "from step 2" in again.output
