"""Load a set of same-sized pictures (a folder of images, or a .npy/.npz array) for MNIST-style training.

All input errors for the set live here: every problem with the folder, the array
file or the size asked of it becomes a `DatasetError` whose message is one line
naming the path. Single images go through `drawart.image`, so they are decoded
exactly as when training on one picture.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drawart.config import ImageConfig
from drawart.errors import DrawartError
from drawart.image import MIN_SIDE, ImageError, _digest, _one_line, _scaled_size, load_image, pick_channels, resize_to

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"})
ARRAY_SUFFIXES = frozenset({".npy", ".npz"})
DEFAULT_LONGEST = ImageConfig().size  # size=None: the data's own size, but never larger than this
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"

# What numpy and zipfile raise on a broken .npy/.npz (object arrays are told apart by their message).
ARRAY_READ_ERRORS = (
    ValueError,
    OSError,
    EOFError,
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    KeyError,
    TypeError,
    OverflowError,
)


class DatasetError(DrawartError):
    """The input data set (or the size asked of it) cannot be used."""


@dataclass(frozen=True)
class LoadedDataset:
    images: np.ndarray  # float32 (N, H, W, C), C in {1, 3}, values in [0, 1], C-contiguous, every image the same size
    digest: str  # sha256 of the source data before resizing or binarising: same data -> same digest
    description: str  # short human text, e.g. "1797 images from array (1797, 8, 8) uint8"


def is_dataset(path: str | Path) -> bool:
    """True for a directory or a .npy/.npz file: what `load_dataset` takes rather than `load_image`."""
    path = Path(path)
    return path.is_dir() or path.suffix.lower() in ARRAY_SUFFIXES


def load_dataset(
    path: str | Path, size: int | None = None, gray: bool | None = None, binarize: bool = False
) -> LoadedDataset:
    """Load every image, bring them to one size (longest side `size`, default the data's own capped at 64)."""
    name = f"'{_one_line(os.fspath(path))}'"
    if size is not None and size < MIN_SIDE:
        raise DatasetError(f"size {size} for {name} is too small: use a size of at least {MIN_SIDE}")
    try:
        if os.path.isdir(path):
            images, digest, description = _load_folder(Path(path), name, size, gray)
        elif not os.path.exists(path):
            raise DatasetError(f"dataset {name} does not exist: check the path")
        elif Path(path).suffix.lower() in ARRAY_SUFFIXES:
            images, digest, description = _load_array_file(path, name, size, gray)
        else:
            raise DatasetError(f"{name} is not a dataset: pass a folder of images or a .npy/.npz file")
        if binarize:
            images = binarized(images)
        return LoadedDataset(np.ascontiguousarray(images, dtype=np.float32), digest, description)
    except MemoryError:
        raise DatasetError(f"dataset {name} does not fit in memory: use fewer images or a smaller --size") from None


def binarized(pixels: np.ndarray) -> np.ndarray:
    """0 or 1 by the classic fixed threshold of binarised MNIST: 0.5."""
    return (pixels > 0.5).astype(np.float32)


# --- a folder of image files -----------------------------------------------------------------------


def _load_folder(folder: Path, name: str, size: int | None, gray: bool | None) -> tuple[np.ndarray, str, str]:
    """Each file through load_image, then cropped and resized to the first image's (scaled) size."""
    files = _image_files(folder, name)
    images, digests, all_gray = [], [], True
    target = None
    for file in files:
        try:
            loaded = load_image(file, size=None, gray=gray)
        except ImageError as err:
            raise DatasetError(str(err)) from None  # already one line naming the file
        if target is None:
            height, width = loaded.pixels.shape[:2]
            target = _target_size(width, height, size, name)
        images.append(_fit(loaded.pixels, *target))
        digests.append(loaded.digest)
        all_gray = all_gray and loaded.is_gray
    # gray=None: colour as soon as one image is; repeating gray commutes with the resize, so doing it now is exact
    want_gray = all_gray if gray is None else gray
    stacked = np.stack([pick_channels(image, want_gray) for image in images])
    h = hashlib.sha256()
    for digest in digests:
        h.update(digest.encode())
    return stacked, h.hexdigest(), f"{len(files)} images from folder"


def _image_files(folder: Path, name: str) -> list[Path]:
    """Files with an image suffix, sorted by name, hidden ones skipped; none at all is an error."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except PermissionError:
        raise DatasetError(
            f"folder {name} cannot be read (permission denied): fix its permissions or copy it"
        ) from None
    except OSError as err:
        raise DatasetError(f"folder {name} cannot be read ({_one_line(str(err))[:120]}): check the path") from None
    files = [
        Path(entry.path)
        for entry in entries
        if not entry.name.startswith(".") and Path(entry.name).suffix.lower() in IMAGE_SUFFIXES and entry.is_file()
    ]
    if not files:
        suffixes = " ".join(sorted(IMAGE_SUFFIXES))
        raise DatasetError(f"folder {name} holds no image files ({suffixes}): put the training images in it")
    return files


def _fit(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Centre-crop to the target aspect (only if scaling alone would not reach it), then resize to height × width."""
    h, w = pixels.shape[:2]
    if (h, w) == (height, width):
        return pixels
    if _scaled_size(w, h, max(height, width)) != (width, height):
        if w * height > h * width:  # wider than the target: trim left and right
            crop = min(w, max(1, round(h * width / height)))
            left = (w - crop) // 2
            pixels = pixels[:, left : left + crop]
        else:  # taller: trim top and bottom
            crop = min(h, max(1, round(w * height / width)))
            top = (h - crop) // 2
            pixels = pixels[top : top + crop]
    return resize_to(pixels, height, width)


# --- a .npy / .npz array ---------------------------------------------------------------------------


def _load_array_file(path, name: str, size: int | None, gray: bool | None) -> tuple[np.ndarray, str, str]:
    """Read, check shape and values, scale to [0, 1], pick channels and resize the whole stack."""
    array = _read_array(path, name)
    _check_shape(array, name)
    description = f"{array.shape[0]} images from array {array.shape} {array.dtype}"
    digest = _digest(array)
    images = _to_unit(array, name)
    del array  # the float copy is all we need from here on
    if images.ndim == 3:
        images = images[..., None]
    images = pick_channels(images, images.shape[-1] == 1 if gray is None else gray)
    height, width = images.shape[1:3]
    new_height, new_width = _target_size(width, height, size, name)
    if (new_height, new_width) != (height, width):
        out = np.empty((len(images), new_height, new_width, images.shape[-1]), np.float32)
        for i, image in enumerate(images):
            out[i] = resize_to(image, new_height, new_width)
        images = out
    return images, digest, description


def _read_array(path, name: str) -> np.ndarray:
    """np.load without pickles; the file's first bytes, not its suffix, say whether it is .npy or .npz."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(NPY_MAGIC))
        if not head:
            raise DatasetError(f"array file {name} is empty (0 bytes): save the images with numpy.save")
        if not head.startswith((NPY_MAGIC, ZIP_MAGIC)):
            raise DatasetError(f"{name} is not a NumPy .npy/.npz file: save the images with numpy.save or numpy.savez")
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return loaded
        with loaded:
            return _pick_npz_array(loaded, name)
    except FileNotFoundError:
        raise DatasetError(f"array file {name} does not exist: check the path") from None
    except PermissionError:
        raise DatasetError(
            f"array file {name} cannot be read (permission denied): fix its permissions or copy it"
        ) from None
    except DatasetError:
        raise
    except ARRAY_READ_ERRORS as err:
        if "Object arrays" in str(err) or "pickle" in str(err):
            raise DatasetError(
                f"array file {name} holds pickled Python objects (dtype object), which are not loaded: "
                "save a plain numeric array (uint8 or float)"
            ) from None
        reason = _one_line(str(err) or type(err).__name__)[:120]
        raise DatasetError(
            f"array file {name} is corrupt or truncated ({reason}): save it again with numpy.save"
        ) from None


def _pick_npz_array(archive, name: str) -> np.ndarray:
    """The only array, else the one named `images`."""
    keys = list(archive.files)
    if len(keys) == 1:
        return archive[keys[0]]
    if "images" in keys:
        return archive["images"]
    listed = ", ".join(_one_line(key) for key in keys) or "none"
    raise DatasetError(
        f"array file {name} holds {len(keys)} arrays ({listed}) and none is named 'images': name the image array 'images'"
    )


def _check_shape(array: np.ndarray, name: str) -> None:
    """(N, H, W) or (N, H, W, C) with C 1 or 3, N > 0, of a real numeric or bool dtype."""
    if array.dtype.kind not in "biuf":
        raise DatasetError(f"array {name} has dtype {array.dtype}: use a numeric array (uint8, integer, float or bool)")
    expected = "expected (N, H, W) or (N, H, W, C) with C 1 or 3"
    if array.ndim not in (3, 4) or (array.ndim == 4 and array.shape[3] not in (1, 3)):
        raise DatasetError(f"array {name} has shape {array.shape}: {expected}")
    if array.shape[0] == 0:
        raise DatasetError(f"array {name} holds no images (shape {array.shape}): {expected} with N at least 1")
    if array.shape[1] == 0 or array.shape[2] == 0:
        raise DatasetError(f"array {name} holds empty images (shape {array.shape}): {expected} with H and W at least 1")


def _to_unit(array: np.ndarray, name: str) -> np.ndarray:
    """float32 in [0, 1]: uint8 and 0–255 data are divided by 255, bool and 0–1 data are kept."""
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0  # as image.py does, so a PNG and its array agree
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    low, high = array.min(), array.max()  # NaN and Inf show up in min or max
    if array.dtype.kind == "f" and not (np.isfinite(low) and np.isfinite(high)):
        raise DatasetError(f"array {name} holds NaN or infinite values: replace them with numbers in 0–1 or 0–255")
    if low >= 0 and high <= 1:
        return array.astype(np.float32)
    if low >= 0 and high <= 255:
        return array.astype(np.float32) / 255.0
    raise DatasetError(f"array {name} has values from {low} to {high}: values must be 0–1 or 0–255")


# --- shared -----------------------------------------------------------------------------------------


def _target_size(width: int, height: int, size: int | None, name: str) -> tuple[int, int]:
    """(height, width) of every output image: the first image scaled so its longest side is `size`."""
    longest = min(max(width, height), DEFAULT_LONGEST) if size is None else size
    new_width, new_height = _scaled_size(width, height, longest)
    if min(new_width, new_height) < MIN_SIDE:
        raise DatasetError(
            f"images in {name} ({width}x{height} px) would be {new_width}x{new_height} px: "
            f"use a larger --size (each side needs at least {MIN_SIDE} px)"
        )
    return new_height, new_width
