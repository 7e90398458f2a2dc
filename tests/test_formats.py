"""drawart.formats: the format registry and the WebP, PNG sheet and MP4 encoders."""

import importlib.util
import io
import sys

import numpy as np
import pytest
from PIL import Image, ImageSequence

from drawart import formats, picture
from drawart.errors import DrawartError

T, H, W = 4, 8, 12


def _canvases(channels, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((T + 1, H, W, channels))


def _smooth_gradient(height=64, width=256):
    """Floats (H, W, 3) in [0, 1]: a dusk-like ramp over 6,571 colours, too many for one palette."""
    x = np.linspace(0, 1, width)[None, :, None]
    y = np.linspace(0, 1, height)[:, None, None]
    return (np.array([20, 40, 80]) + x * np.array([210, 150, 70]) + y * np.array([0, 30, 0])) / 255


def test_frame_durations():
    assert formats.frame_durations(5) == [60, 60, 60, 60, 1500]
    assert formats.frame_durations(1, frame_ms=40, hold_ms=900) == [900]
    assert formats.frame_durations(0) == []


def test_webp_frame_count_durations_and_full_colour():
    truth = np.stack([_smooth_gradient(16, 32) * (0.5 + 0.1 * t) for t in range(4)])  # distinct frames
    frames = picture.to_uint8(truth)
    durations = [40, 50, 60, 1500]
    with Image.open(io.BytesIO(formats.encode_webp(frames, durations))) as im:
        assert im.format == "WEBP" and im.n_frames == 4 and im.info["loop"] == 0
        got = []
        for k, frame in enumerate(ImageSequence.Iterator(im)):
            frame.load()  # WebP sets a frame's duration when it is decoded
            got.append(frame.info["duration"])
            np.testing.assert_array_equal(np.asarray(frame.convert("RGB")), frames[k])  # lossless
    assert got == durations
    gray = formats.encode_webp(picture.to_uint8(_canvases(1)), formats.frame_durations(T + 1))
    assert Image.open(io.BytesIO(gray)).n_frames == T + 1


def test_webp_without_libwebp_is_one_clear_line(monkeypatch):
    monkeypatch.setattr(formats.features, "check", lambda name: False)
    problem = formats.encoder_problem("webp")
    assert problem and "\n" not in problem and "libwebp" in problem
    with pytest.raises(DrawartError, match="libwebp"):
        formats.encode_webp(picture.to_uint8(_canvases(3)), formats.frame_durations(T + 1))
    assert formats.encoder_problem("gif") is None


def test_png_sheet_grid_size():
    frames = picture.drawing_frames(_canvases(3), scale=2)  # 5 frames of 16×24
    im = Image.open(io.BytesIO(formats.encode_png_sheet(frames)))
    cols, rows = 3, 2  # ceil(sqrt(5)) = 3
    assert im.size == (cols * 24 + (cols + 1) * 4, rows * 16 + (rows + 1) * 4)
    im = Image.open(io.BytesIO(formats.encode_png_sheet(frames, columns=5)))
    assert im.size == (5 * 24 + 6 * 4, 16 + 2 * 4)
    assert Image.open(io.BytesIO(formats.encode_png_sheet(picture.to_uint8(_canvases(1))))).mode == "L"


def test_png_sheet_labels_add_a_band_with_text():
    frames = picture.drawing_frames(_canvases(1), scale=4)
    plain = Image.open(io.BytesIO(formats.encode_png_sheet(frames, columns=5)))
    labels = [f"t={t}" for t in range(T + 1)]
    labelled = Image.open(io.BytesIO(formats.encode_png_sheet(frames, columns=5, labels=labels)))
    assert labelled.size[0] == plain.size[0] and labelled.size[1] > plain.size[1]
    band = np.asarray(labelled)[4 + H * 4 :, 4 : 4 + W * 4]
    assert (band != 255).any()


def test_mp4_timing_repeats_frames_to_their_durations():
    fps, repeats = formats.mp4_timing(formats.frame_durations(4, frame_ms=50, hold_ms=1500))
    assert fps == 20 and repeats.tolist() == [1, 1, 1, 30]
    fps, repeats = formats.mp4_timing([40, 60, 100, 130])  # each shown for its duration, to half a frame
    assert fps == 25 and repeats.tolist() == [1, 2, 2, 3]  # 1.5 rounds to even; 3.25 to 3
    assert formats.mp4_timing([900])[1].tolist() == [1]
    for bad in ([], [60, 0], [60, -5]):
        with pytest.raises(ValueError):
            formats.mp4_timing(bad)


def test_encode_mp4_installed_or_clear_error():
    frames = picture.drawing_frames(_canvases(1), scale=3)  # 24×36: even; and odd case below
    odd = picture.to_uint8(np.random.default_rng(2).random((3, 7, 9, 3)))
    if importlib.util.find_spec("imageio_ffmpeg") is None:
        with pytest.raises(DrawartError):
            formats.encode_mp4(frames, formats.frame_durations(len(frames)))
        return
    import imageio.v3 as iio

    for f in (frames, odd):
        durations = formats.frame_durations(len(f), frame_ms=100, hold_ms=500)
        data = formats.encode_mp4(f, durations)
        assert data[4:8] == b"ftyp"
        decoded = iio.imread(data, extension=".mp4", plugin="FFMPEG")
        assert len(decoded) == len(f) - 1 + 5  # the hold is the last frame five times at 10 fps
        assert iio.immeta(data, extension=".mp4", plugin="FFMPEG")["fps"] == 10
        # the held frames show the last frame: lossy H.264, so nearer it than the frame before it
        shown = formats._even(picture.to_rgb(f)).astype(float)
        for held in decoded[-5:].astype(float):
            assert np.abs(held - shown[-1]).mean() < np.abs(held - shown[-2]).mean()
    with pytest.raises(ValueError):
        formats.encode_mp4(frames, [60])


def test_encode_mp4_missing_imageio_ffmpeg(monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # makes `import imageio_ffmpeg` fail
    with pytest.raises(DrawartError) as err:
        formats.encode_mp4(picture.to_uint8(_canvases(3)), formats.frame_durations(3))
    msg = str(err.value)
    assert "\n" not in msg and "imageio-ffmpeg" in msg and "drawart[mp4]" in msg
