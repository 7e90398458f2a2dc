"""drawart.image: every supported mode loads to float [0,1] HWC, and every bad input is one ImageError line."""

import os
import zlib

import numpy as np
import pytest
from conftest import colourful, gray_gradient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from drawart.image import ImageError, LoadedImage, load_image, resize_longest


def check_valid(img: LoadedImage, channels: int | None = None) -> None:
    p = img.pixels
    assert p.dtype == np.float32 and p.ndim == 3 and p.flags.c_contiguous
    assert p.shape[2] in (1, 3)
    if channels is not None:
        assert p.shape[2] == channels
    assert np.isfinite(p).all() and p.min() >= 0.0 and p.max() <= 1.0
    assert len(img.digest) == 64


def raises_one_line(path, match: str, **kwargs) -> str:
    with pytest.raises(ImageError) as info:
        load_image(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and len(message.splitlines()) == 1
    assert os.path.basename(str(path)) in message
    assert match in message
    return message


# --- modes -----------------------------------------------------------------------------------------


def test_gray_png_loads_as_one_channel(tiny_gray_png):
    img = load_image(tiny_gray_png, size=None)
    check_valid(img, channels=1)
    assert img.source_mode == "L" and img.is_gray and img.source_size == (24, 16)
    np.testing.assert_allclose(img.pixels[:, :, 0], gray_gradient() / 255.0, atol=1e-6)


def test_rgb_png_loads_as_three_channels(tiny_rgb_png):
    img = load_image(tiny_rgb_png, size=None)
    check_valid(img, channels=3)
    assert img.source_mode == "RGB" and not img.is_gray
    np.testing.assert_allclose(img.pixels, colourful() / 255.0, atol=1e-6)


def test_rgba_transparent_pixel_becomes_white(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 255
    rgba[0, 0] = (10, 20, 30, 0)
    rgba[0, 1] = (0, 0, 0, 128)
    path = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(path)
    img = load_image(path, size=None)
    check_valid(img, channels=3)
    assert img.source_mode == "RGBA"
    np.testing.assert_allclose(img.pixels[0, 0], 1.0)
    assert 0.45 < img.pixels[0, 1, 0] < 0.55  # half-transparent black over white
    np.testing.assert_allclose(img.pixels[4, 4], (200 / 255, 0, 0), atol=1e-6)


def test_la_composited_on_white_stays_gray(tmp_path):
    la = np.full((6, 6, 2), 50, np.uint8)
    la[..., 1] = 255
    la[0, 0, 1] = 0
    path = tmp_path / "la.png"
    Image.fromarray(la, "LA").save(path)
    img = load_image(path, size=None)
    check_valid(img, channels=1)
    assert img.source_mode == "LA" and img.is_gray
    assert img.pixels[0, 0, 0] == 1.0 and img.pixels[3, 3, 0] == pytest.approx(50 / 255)


def test_palette_image(tmp_path):
    path = tmp_path / "p.png"
    Image.fromarray(colourful()).convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(path)
    img = load_image(path, size=None)
    check_valid(img, channels=3)
    assert img.source_mode == "P" and not img.is_gray


def test_palette_with_transparency_becomes_white(tmp_path):
    im = Image.new("P", (6, 6), 1)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.putpixel((0, 0), 0)
    path = tmp_path / "pt.png"
    im.save(path, transparency=0)
    img = load_image(path, size=None)
    check_valid(img, channels=3)
    np.testing.assert_allclose(img.pixels[0, 0], 1.0)
    np.testing.assert_allclose(img.pixels[2, 2], (1.0, 0.0, 0.0))


def test_cmyk_converted_to_rgb(tmp_path):
    path = tmp_path / "c.jpg"
    Image.fromarray(colourful()).convert("CMYK").save(path, quality=95)
    img = load_image(path, size=None)
    check_valid(img, channels=3)
    assert img.source_mode == "CMYK"


def test_sixteen_bit_keeps_full_precision(tmp_path):
    a = np.full((8, 8), 40000, np.uint16)
    a[0, 0] = 65535
    a[0, 1] = 1
    path = tmp_path / "16.png"
    Image.fromarray(a).save(path)
    img = load_image(path, size=None)
    check_valid(img, channels=1)
    assert img.source_mode in ("I;16", "I") and img.is_gray
    assert img.pixels[4, 4, 0] == pytest.approx(40000 / 65535, abs=1e-4)
    assert img.pixels[0, 0, 0] == 1.0 and img.pixels[0, 1, 0] == pytest.approx(1 / 65535)


def test_bilevel_mode_1(tmp_path):
    path = tmp_path / "b.png"
    Image.fromarray(gray_gradient() > 100).save(path)
    img = load_image(path, size=None)
    check_valid(img, channels=1)
    assert img.source_mode == "1"
    assert set(np.unique(img.pixels)) == {0.0, 1.0}


def test_float_mode_f(tmp_path):
    path = tmp_path / "f.tif"
    Image.fromarray(np.linspace(-0.5, 1.5, 64, dtype=np.float32).reshape(8, 8)).save(path)
    img = load_image(path, size=None)
    check_valid(img, channels=1)
    assert img.source_mode == "F"


def test_wrong_extension_still_loads(tmp_path, tiny_rgb_png):
    path = tmp_path / "actually_png.jpg"
    path.write_bytes(tiny_rgb_png.read_bytes())
    assert load_image(path).digest == load_image(tiny_rgb_png).digest


def test_animated_gif_uses_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    img = load_image(path, size=None)
    np.testing.assert_allclose(img.pixels[4, 4], (1.0, 0.0, 0.0))


def test_exif_orientation_applied(tmp_path):
    path = tmp_path / "rot.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(colourful(20, 12)).save(path, exif=exif)
    img = load_image(path, size=None)
    assert img.source_size == (12, 20)
    assert img.pixels.shape == (20, 12, 3)


# --- size and channels -----------------------------------------------------------------------------


def test_resize_keeps_aspect(tmp_path):
    path = tmp_path / "wide.png"
    Image.fromarray(colourful(40, 20)).save(path)
    img = load_image(path, size=16)
    check_valid(img, channels=3)
    assert img.pixels.shape == (8, 16, 3)
    assert img.source_size == (40, 20)


def test_resize_tall_and_upscale(tiny_gray_png):
    assert load_image(tiny_gray_png, size=48).pixels.shape == (32, 48, 1)
    assert load_image(tiny_gray_png).pixels.shape == (43, 64, 1)  # default size 64, 16*64/24 = 42.67


def test_resize_longest_on_arrays():
    tall = np.random.default_rng(0).random((30, 10, 3), dtype=np.float32)
    out = resize_longest(tall, 12)
    assert out.shape == (12, 4, 3) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_digest_is_source_based_and_size_independent(tiny_rgb_png):
    assert load_image(tiny_rgb_png, size=8).digest == load_image(tiny_rgb_png, size=None).digest


def test_gray_decided_from_image(tiny_gray_png, tiny_rgb_png, tmp_path):
    assert load_image(tiny_gray_png).pixels.shape[2] == 1
    assert load_image(tiny_rgb_png).pixels.shape[2] == 3
    path = tmp_path / "gray_as_rgb.png"
    Image.fromarray(gray_gradient()).convert("RGB").save(path)
    img = load_image(path)
    assert img.is_gray and img.pixels.shape[2] == 1


def test_gray_true_on_rgb_gives_luminance(tiny_rgb_png):
    img = load_image(tiny_rgb_png, size=None, gray=True)
    check_valid(img, channels=1)
    assert not img.is_gray
    expected = np.asarray(Image.open(tiny_rgb_png).convert("L")) / 255.0
    np.testing.assert_allclose(img.pixels[:, :, 0], expected, atol=1 / 255 + 1e-6)


def test_gray_false_on_l_gives_three_equal_channels(tiny_gray_png):
    img = load_image(tiny_gray_png, gray=False)
    check_valid(img, channels=3)
    assert img.is_gray
    assert np.array_equal(img.pixels[..., 0], img.pixels[..., 1]) and np.array_equal(
        img.pixels[..., 1], img.pixels[..., 2]
    )


def test_digest_stable_and_distinct(tmp_path):
    a, b, c = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    Image.fromarray(colourful()).save(a)
    Image.fromarray(colourful()).save(b, compress_level=9)
    changed = colourful()
    changed[0, 0, 0] ^= 1
    Image.fromarray(changed).save(c)
    assert load_image(a).digest == load_image(b).digest
    assert load_image(a).digest != load_image(c).digest


# --- bad input -------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    raises_one_line(tmp_path / "nope.png", "does not exist")


def test_folder(tmp_path):
    folder = tmp_path / "a_folder"
    folder.mkdir()
    raises_one_line(folder, "folder")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    raises_one_line(path, "empty")


def test_text_file(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello, I am not a picture\n")
    raises_one_line(path, "not an image")


def test_truncated_png(tmp_path, tiny_rgb_png):
    path = tmp_path / "half.png"
    data = tiny_rgb_png.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    raises_one_line(path, "corrupt or truncated")


def test_truncated_jpeg(tmp_path):
    path = tmp_path / "half.jpg"
    Image.fromarray(colourful(64, 64)).save(path, quality=90)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    raises_one_line(path, "corrupt or truncated")


def test_unreadable(monkeypatch, tiny_rgb_png):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("drawart.image.open", denied, raising=False)  # chmod is no use when tests run as root
    raises_one_line(tiny_rgb_png, "permission denied")


def test_decompression_bomb_warning_and_error(monkeypatch, tiny_gray_png):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300)  # 384 px: warning zone (limit..2*limit)
    message = raises_one_line(tiny_gray_png, "too large")
    assert "384 pixels" in message and "300" in message
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 384 px > 2*limit: Pillow raises
    raises_one_line(tiny_gray_png, "too large")


def test_source_too_small(tmp_path):
    path = tmp_path / "tiny.png"
    Image.new("L", (3, 10)).save(path)
    raises_one_line(path, "at least 4×4")


def test_size_below_four(tiny_gray_png):
    raises_one_line(tiny_gray_png, "at least 4", size=3)


def test_too_thin_after_resize(tmp_path):
    path = tmp_path / "strip.png"
    Image.new("L", (100, 10)).save(path)
    raises_one_line(path, "too thin", size=16)


def test_newline_in_file_name_is_escaped(tmp_path):
    path = tmp_path / "bad\nname.png"
    with pytest.raises(ImageError) as info:
        load_image(path)
    assert "\n" not in str(info.value) and "bad\\nname.png" in str(info.value)


# --- fuzz: never anything but a LoadedImage or an ImageError -------------------------------------------


def _small_png() -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(colourful(8, 6)).save(buf, format="PNG")
    return buf.getvalue()


SMALL_PNG = _small_png()


@st.composite
def mutated_png(draw):
    data = bytearray(SMALL_PNG)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[pos:]
        else:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


def _load_or_image_error(path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        img = load_image(path, size=16)
    except ImageError as err:
        assert "\n" not in str(err)
    else:
        check_valid(img)


FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(data=st.binary(max_size=256))
def test_fuzz_random_bytes(tmp_path, monkeypatch, data):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)  # random headers must not allocate much
    _load_or_image_error(tmp_path / "random.bin", data)


@FUZZ
@given(data=mutated_png())
def test_fuzz_mutated_png(tmp_path, monkeypatch, data):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)  # mutated headers must not allocate much
    _load_or_image_error(tmp_path / "mutated.png", data)


def test_crc_is_checked(tmp_path):
    """A flipped bit inside IDAT with a fixed-up CRC still decodes or errors cleanly."""
    data = bytearray(SMALL_PNG)
    start = data.index(b"IDAT")
    length = int.from_bytes(data[start - 4 : start], "big")
    data[start + 10] ^= 0xFF
    data[start + 4 + length : start + 8 + length] = zlib.crc32(bytes(data[start : start + 4 + length])).to_bytes(
        4, "big"
    )
    _load_or_image_error(tmp_path / "crc.png", bytes(data))
