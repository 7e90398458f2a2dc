"""Load one picture from disk into a small float array the network can overfit.

All input errors for the image live here: every problem with the file or the
requested size becomes an `ImageError` whose message is one line naming the file.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from drawart.errors import DrawartError

MIN_SIDE = 4
SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float64)  # Pillow's "L" weights (ITU-R 601)

# Everything a hostile or broken file can make Pillow raise while decoding.
DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    struct.error,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    MemoryError,
    OverflowError,
    AttributeError,
    RuntimeError,
    NotImplementedError,
    AssertionError,
    zlib.error,
)


class ImageError(DrawartError):
    """The input image (or the size asked of it) cannot be used."""


@dataclass(frozen=True)
class LoadedImage:
    pixels: np.ndarray  # float32 (H, W, C), C in {1, 3}, values in [0, 1], C-contiguous
    digest: str  # sha256 of the decoded source pixels before resizing
    source_size: tuple[int, int]  # (width, height) after EXIF orientation
    source_mode: str  # Pillow mode of the file as opened
    is_gray: bool  # whether the source itself is grayscale


def load_image(
    path: str | Path,
    size: int | None = 64,
    gray: bool | None = None,
    check_shape: Callable[[int, int, int], None] | None = None,
) -> LoadedImage:
    """Decode `path` (any format Pillow sniffs), flatten alpha on white, resize so the longest side is `size`.

    `check_shape(height, width, channels)`, if given, sees the shape before anything that size is
    made, and may raise to refuse it.
    """
    name = f"'{_one_line(os.fspath(path))}'"
    if size is not None and size < MIN_SIDE:
        raise ImageError(f"size {size} for {name} is too small: use a size of at least {MIN_SIDE}")
    mode, source = _decode(path, name)
    height, width = source.shape[:2]
    if min(width, height) < MIN_SIDE:
        raise ImageError(
            f"image {name} is too small ({width}x{height} px): use an image at least {MIN_SIDE}×{MIN_SIDE}"
        )
    is_gray = source.shape[2] == 1
    pixels = _to_unit_float(source)
    pixels = pick_channels(pixels, is_gray if gray is None else gray)
    if size is not None and size != max(width, height):
        new_w, new_h = _scaled_size(width, height, size)
        if min(new_w, new_h) < MIN_SIDE:
            raise ImageError(
                f"image {name} ({width}x{height} px) is too thin to resize to {new_w}x{new_h} px: "
                f"use a larger size or a less elongated image (each side needs at least {MIN_SIDE} px)"
            )
        if check_shape:
            check_shape(new_h, new_w, pixels.shape[2])
        pixels = resize_longest(pixels, size)
    elif check_shape:
        check_shape(height, width, pixels.shape[2])
    return LoadedImage(
        pixels=np.ascontiguousarray(pixels, dtype=np.float32),
        digest=_digest(source),
        source_size=(width, height),
        source_mode=mode,
        is_gray=is_gray,
    )


def resize_longest(pixels: np.ndarray, size: int) -> np.ndarray:
    """Resize float HWC so its longest side is `size`, keeping the aspect."""
    if pixels.ndim != 3:
        raise ValueError(f"resize_longest expects an (H, W, C) array, got shape {pixels.shape}")
    if size < 1:
        raise ImageError(f"cannot resize an image to {size} px: use a size of at least 1")
    height, width = pixels.shape[:2]
    new_width, new_height = _scaled_size(width, height, size)
    return resize_to(pixels, new_height, new_width)


def resize_to(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize float HWC to exactly height × width, channel by channel in Pillow "F" mode (no 8-bit rounding)."""
    if pixels.ndim != 3:
        raise ValueError(f"resize_to expects an (H, W, C) array, got shape {pixels.shape}")
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(pixels[:, :, c], dtype=np.float32)).resize(
                (width, height), Image.Resampling.LANCZOS
            )
        )
        for c in range(pixels.shape[2])
    ]
    return np.clip(np.stack(channels, axis=2), 0.0, 1.0).astype(np.float32)


def _scaled_size(width: int, height: int, size: int) -> tuple[int, int]:
    """(width, height) with the longest side equal to `size`, aspect kept, each side at least 1."""
    scale = size / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _decode(path, name: str) -> tuple[str, np.ndarray]:
    """Open, fully decode and normalise the file; any failure becomes one ImageError line."""
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:
                raise ImageError(f"image file {name} is empty (0 bytes): pass a real image file")
            return _decode_open_file(handle, name)
    except FileNotFoundError:
        raise ImageError(f"image file {name} does not exist: check the path") from None
    except IsADirectoryError:
        raise ImageError(f"{name} is a folder, not an image file: pass the path of one image") from None
    except PermissionError:
        raise ImageError(
            f"image file {name} cannot be read (permission denied): fix its permissions or copy it"
        ) from None
    except ImageError:
        raise
    except DECODE_ERRORS as err:
        raise ImageError(_cannot_read(name, err)) from None


def _decode_open_file(handle, name: str) -> tuple[str, np.ndarray]:
    """Decode the first frame, treating Pillow's decompression-bomb warning as an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(handle) as im:
                mode = im.mode
                im.load()  # Pillow is lazy: force the decode so truncation shows up here
                im = ImageOps.exif_transpose(im)
                return mode, _normalise(im)
        except Image.UnidentifiedImageError:
            raise ImageError(
                f"{name} is not an image Pillow can read: pass a PNG, JPEG, GIF, WebP, BMP or TIFF file"
            ) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise ImageError(_bomb_message(name, err)) from None


def _normalise(im: Image.Image) -> np.ndarray:
    """The source pixels as (H, W, 1) gray or (H, W, 3) RGB in uint8, uint16 (16-bit) or float32 (mode F)."""
    if im.mode in SIXTEEN_BIT_MODES:
        return np.clip(np.asarray(im, dtype=np.int64), 0, 65535).astype("<u2")[:, :, None]
    if im.mode == "F":
        return np.asarray(im, dtype="<f4")[:, :, None]
    if "A" in im.mode or "a" in im.mode or "transparency" in im.info:
        im = _on_white(im)
    if im.mode in ("1", "L"):
        return np.asarray(im.convert("L"), dtype=np.uint8)[:, :, None]
    rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    if (rgb[:, :, 0] == rgb[:, :, 1]).all() and (rgb[:, :, 1] == rgb[:, :, 2]).all():
        return np.ascontiguousarray(rgb[:, :, :1])  # colour file holding a gray picture
    return rgb


def _on_white(im: Image.Image) -> Image.Image:
    """Composite any transparency on white, so see-through pixels read as paper."""
    rgba = im.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _to_unit_float(source: np.ndarray) -> np.ndarray:
    """Scale by the integer range (16-bit keeps its full precision); float sources are clipped to [0, 1]."""
    if source.dtype == np.uint8:
        return source.astype(np.float32) / 255.0
    if source.dtype.kind == "u":
        return source.astype(np.float32) / 65535.0
    return np.clip(np.nan_to_num(source.astype(np.float32), nan=0.0), 0.0, 1.0)


def pick_channels(pixels: np.ndarray, gray: bool) -> np.ndarray:
    """1 channel by luminance, or 3 channels by repeating gray; channels are the last axis (HWC or NHWC)."""
    if gray and pixels.shape[-1] == 3:
        return (pixels.astype(np.float64) @ LUMA).astype(np.float32)[..., None]
    if not gray and pixels.shape[-1] == 1:
        return np.repeat(pixels, 3, axis=-1)
    return pixels


def _digest(source: np.ndarray) -> str:
    """Hash of dtype, shape and pixels: same picture -> same digest, whatever lossless format it came in."""
    h = hashlib.sha256(f"{source.dtype.str}{source.shape}".encode())
    h.update(np.ascontiguousarray(source))  # hashed in place: no copy of a large dataset
    return h.hexdigest()


def _bomb_message(name: str, err: Exception) -> str:
    numbers = re.findall(r"\d+", str(err))
    count = f"{int(numbers[0]):,} pixels" if numbers else "too many pixels"
    return (
        f"image {name} is too large ({count}, limit {Image.MAX_IMAGE_PIXELS:,}) and may be a "
        "decompression bomb: scale it down before using it"
    )


def _cannot_read(name: str, err: Exception) -> str:
    reason = _one_line(str(err) or type(err).__name__)[:120]
    return f"image file {name} is corrupt or truncated ({reason}): re-export or re-download it"


def _one_line(text: str) -> str:
    """Escape control characters so a message can never span lines."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
