"""drawart.dataset: folders and .npy/.npz arrays load to one float [0,1] NHWC stack; every bad input is one DatasetError line."""

import os
import pickle

import numpy as np
import pytest
from conftest import colourful, digits_images, gray_gradient
from PIL import Image

from drawart.dataset import DatasetError, LoadedDataset, is_dataset, load_dataset


def check_valid(data: LoadedDataset, shape: tuple | None = None) -> None:
    x = data.images
    assert isinstance(x, np.ndarray) and x.dtype == np.float32 and x.ndim == 4 and x.flags.c_contiguous
    assert x.shape[3] in (1, 3)
    if shape is not None:
        assert x.shape == shape
    assert np.isfinite(x).all() and x.min() >= 0.0 and x.max() <= 1.0
    assert len(data.digest) == 64 and int(data.digest, 16) >= 0


def raises_one_line(path, match: str, **kwargs) -> str:
    with pytest.raises(DatasetError) as info:
        load_dataset(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and len(message.splitlines()) == 1
    assert os.path.basename(str(path)) in message
    assert match in message
    return message


def save_npy(tmp_path, array, name: str = "data.npy"):
    path = tmp_path / name
    np.save(path, array)
    return path


def save_png(folder, name: str, array: np.ndarray) -> None:
    folder.mkdir(exist_ok=True)
    Image.fromarray(array).save(folder / name)


def lanczos(channel: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pillow's float LANCZOS resize of one 2-D channel, done here independently of drawart."""
    return np.asarray(
        Image.fromarray(channel.astype(np.float32), "F").resize((width, height), Image.Resampling.LANCZOS)
    )


# --- is_dataset ------------------------------------------------------------------------------------


def test_is_dataset(tmp_path, tiny_gray_png):
    assert is_dataset(tmp_path)
    assert is_dataset(tmp_path / "x.npy") and is_dataset(tmp_path / "X.NPZ") and is_dataset("mnist.Npy")
    assert not is_dataset(tiny_gray_png)
    assert not is_dataset(tmp_path / "missing_folder")
    assert not is_dataset(tmp_path / "data.npy.png")


# --- a folder of images ----------------------------------------------------------------------------


def test_folder_of_gray_pngs_sorted_by_name(tmp_path):
    folder = tmp_path / "digits"
    ramps = {name: gray_gradient() // (i + 1) for i, name in enumerate(["b.png", "a.png", "c.PNG"])}
    for name, array in ramps.items():
        save_png(folder, name, array)
    (folder / ".hidden.png").write_bytes(b"not a png, but hidden: skipped")
    (folder / "notes.txt").write_text("not an image suffix: skipped")
    (folder / "sub").mkdir()
    data = load_dataset(folder)
    check_valid(data, shape=(3, 16, 24, 1))  # 24 px longest side is under 64: kept
    for i, name in enumerate(["a.png", "b.png", "c.PNG"]):
        np.testing.assert_array_equal(data.images[i, :, :, 0], ramps[name].astype(np.float32) / 255.0)
    assert data.description == "3 images from folder"


def test_folder_mixed_gray_rgb_sizes_goes_colour_with_centre_crop(tmp_path):
    folder = tmp_path / "mixed"
    save_png(folder, "a.png", colourful(20, 12))  # first by name: sets the target 20x12 (aspect 5:3)
    taller = np.full((16, 24), 255, np.uint8)
    taller[0], taller[-1] = 0, 0  # black top and bottom rows: a 5:3 centre crop keeps rows 1..14 only
    save_png(folder, "b.png", taller)
    wider = np.full((12, 40), 255, np.uint8)
    wider[:, :10], wider[:, 30:] = 0, 0  # black sides: a 5:3 centre crop keeps columns 10..29 only
    save_png(folder, "c.png", wider)
    same_aspect = gray_gradient(10, 6)  # 5:3 already: upscaled, nothing cropped
    save_png(folder, "d.png", same_aspect)
    data = load_dataset(folder)
    check_valid(data, shape=(4, 12, 20, 3))  # one RGB image makes the whole set RGB
    np.testing.assert_array_equal(data.images[0], colourful(20, 12).astype(np.float32) / 255.0)
    for i in (1, 2, 3):  # gray images repeated into three equal channels
        assert np.array_equal(data.images[i, ..., 0], data.images[i, ..., 1])
        assert np.array_equal(data.images[i, ..., 1], data.images[i, ..., 2])
    assert data.images[1].min() > 0.99 and data.images[2].min() > 0.99  # the black borders were cropped away
    expected = np.clip(lanczos(same_aspect / 255.0, 20, 12), 0, 1)
    np.testing.assert_allclose(data.images[3, ..., 0], expected, atol=1e-6)


def test_folder_gray_true_gives_luminance(tmp_path):
    folder = tmp_path / "f"
    save_png(folder, "a.png", colourful(20, 12))
    save_png(folder, "b.png", gray_gradient(20, 12))
    data = load_dataset(folder, gray=True)
    check_valid(data, shape=(2, 12, 20, 1))
    expected = np.asarray(Image.fromarray(colourful(20, 12)).convert("L")) / 255.0
    np.testing.assert_allclose(data.images[0, ..., 0], expected, atol=1 / 255 + 1e-6)


def test_folder_default_size_capped_at_64_and_size_option(tmp_path):
    folder = tmp_path / "photos"
    save_png(folder, "p.png", colourful(100, 80))
    assert load_dataset(folder).images.shape == (1, 51, 64, 3)  # 80 * 64 / 100 = 51.2
    assert load_dataset(folder, size=10).images.shape == (1, 8, 10, 3)


def test_folder_first_image_only_scaled_even_when_rounding_shifts_aspect(tmp_path):
    folder = tmp_path / "f"
    save_png(folder, "a.png", gray_gradient(24, 16))  # size 10: 10 x 6.67 -> 10x7, a slightly different aspect
    data = load_dataset(folder, size=10)
    check_valid(data, shape=(1, 7, 10, 1))
    expected = np.clip(lanczos(gray_gradient(24, 16) / 255.0, 10, 7), 0, 1)  # the whole picture, nothing cropped
    np.testing.assert_allclose(data.images[0, ..., 0], expected, atol=1e-6)


def test_folder_digest(tmp_path):
    one, two, changed = tmp_path / "one", tmp_path / "two", tmp_path / "changed"
    save_png(one, "a.png", colourful())
    save_png(one, "b.png", gray_gradient())
    two.mkdir()
    Image.fromarray(colourful()).save(two / "a.png", compress_level=9)  # other bytes, same pixels
    Image.fromarray(gray_gradient()).save(two / "b.png", compress_level=0)
    flipped = gray_gradient()
    flipped[3, 3] ^= 1
    save_png(changed, "a.png", colourful())
    save_png(changed, "b.png", flipped)
    assert load_dataset(one).digest == load_dataset(two).digest
    assert load_dataset(one).digest == load_dataset(one, size=8, gray=True, binarize=True).digest
    assert load_dataset(one).digest != load_dataset(changed).digest


# --- arrays ----------------------------------------------------------------------------------------


def test_npy_nhw_uint8(tmp_path):
    array = digits_images(5)
    data = load_dataset(save_npy(tmp_path, array))
    check_valid(data, shape=(5, 8, 8, 1))
    np.testing.assert_array_equal(data.images[..., 0], array.astype(np.float32) / 255.0)
    assert data.description == "5 images from array (5, 8, 8) uint8"


def test_npy_nhwc_float_unit_range_kept_exactly(tmp_path):
    array = np.random.default_rng(0).random((3, 6, 10, 3))
    data = load_dataset(save_npy(tmp_path, array))
    check_valid(data, shape=(3, 6, 10, 3))
    np.testing.assert_array_equal(data.images, array.astype(np.float32))
    assert "(3, 6, 10, 3) float64" in data.description


def test_npz_single_array_any_name(tmp_path):
    array = digits_images(4)
    path = tmp_path / "one.npz"
    np.savez(path, whatever=array)
    data = load_dataset(path)
    check_valid(data, shape=(4, 8, 8, 1))
    np.testing.assert_array_equal(data.images[..., 0], array / np.float32(255))


def test_npz_images_among_others(tmp_path):
    array = digits_images(6)
    path = tmp_path / "labelled.npz"
    np.savez_compressed(path, labels=np.arange(6), images=array, extra=np.zeros((6, 8, 8, 3)))
    data = load_dataset(path)
    check_valid(data, shape=(6, 8, 8, 1))
    np.testing.assert_array_equal(data.images[..., 0], array / np.float32(255))


def test_real_digits_npz(digits_npz):
    data = load_dataset(digits_npz)
    check_valid(data, shape=(1797, 8, 8, 1))
    assert data.images.max() == 1.0 and data.images.min() == 0.0
    np.testing.assert_array_equal(data.images[..., 0], digits_images() / np.float32(255))
    assert data.description == "1797 images from array (1797, 8, 8) uint8"
    big = load_dataset(digits_npz, size=16)
    check_valid(big, shape=(1797, 16, 16, 1))
    np.testing.assert_allclose(
        big.images[7, ..., 0], np.clip(lanczos(digits_images(8)[7] / 255.0, 16, 16), 0, 1), atol=1e-6
    )


def test_array_suffix_does_not_matter_content_does(tmp_path):
    array = digits_images(3)
    path = tmp_path / "really_npz.npy"
    with open(path, "wb") as handle:
        np.savez(handle, images=array)
    check_valid(load_dataset(path), shape=(3, 8, 8, 1))


# --- values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "array, expected",
    [
        (np.array([0, 1, 0, 1], np.int64), [0, 1, 0, 1]),  # integers already 0/1: kept
        (np.array([0, 255, 51, 1], np.int32), [0, 1, 0.2, 1 / 255]),  # 0..255 integers: / 255
        (np.array([0, 200.0, 100, 1], np.float32), [0, 200 / 255, 100 / 255, 1 / 255]),  # floats over 1: / 255
        (np.array([0, 0.5, 1, 0.25], np.float16), [0, 0.5, 1, 0.25]),  # floats in 0..1: kept
        (np.array([True, False, True, True]), [1, 0, 1, 1]),  # bool: 0/1
        (np.array([0, 1, 1, 0], np.uint8), [0, 1 / 255, 1 / 255, 0]),  # uint8 is always / 255
        (np.array([0, 250, 54, 1], np.uint16), [0, 250 / 255, 54 / 255, 1 / 255]),  # any integer dtype
    ],
)
def test_value_scaling(tmp_path, array, expected):
    stack = np.broadcast_to(array.reshape(1, 2, 2), (2, 2, 2)).repeat(2, axis=1).repeat(2, axis=2)  # (2, 4, 4)
    data = load_dataset(save_npy(tmp_path, stack), size=4)
    want = np.asarray(expected, np.float64).reshape(2, 2).repeat(2, axis=0).repeat(2, axis=1)
    np.testing.assert_allclose(data.images[0, ..., 0], want, atol=1e-6)


def test_binarize_after_resize(digits_npz):
    data = load_dataset(digits_npz, binarize=True)
    check_valid(data, shape=(1797, 8, 8, 1))
    np.testing.assert_array_equal(data.images[..., 0], (digits_images() > 127.5).astype(np.float32))
    resized = load_dataset(digits_npz, size=12)
    binary = load_dataset(digits_npz, size=12, binarize=True)
    assert set(np.unique(binary.images)) == {0.0, 1.0}
    np.testing.assert_array_equal(binary.images, (resized.images > 0.5).astype(np.float32))


# --- gray and colour -------------------------------------------------------------------------------


def test_rgb_array_gray_true_gives_luminance(tmp_path):
    array = np.stack([colourful(8, 6), colourful(8, 6)[::-1]])
    data = load_dataset(save_npy(tmp_path, array), gray=True)
    check_valid(data, shape=(2, 6, 8, 1))
    unit = array / 255.0
    expected = 0.299 * unit[..., 0] + 0.587 * unit[..., 1] + 0.114 * unit[..., 2]
    np.testing.assert_allclose(data.images[..., 0], expected, atol=1e-6)


def test_gray_array_gray_false_repeats(tmp_path):
    data = load_dataset(save_npy(tmp_path, digits_images(2)), gray=False)
    check_valid(data, shape=(2, 8, 8, 3))
    for c in (1, 2):
        np.testing.assert_array_equal(data.images[..., 0], data.images[..., c])


def test_gray_none_follows_channel_count(tmp_path):
    assert load_dataset(save_npy(tmp_path, digits_images(2)[..., None], "c1.npy")).images.shape[3] == 1
    equal_rgb = np.repeat(digits_images(2)[..., None], 3, axis=3)
    assert load_dataset(save_npy(tmp_path, equal_rgb, "c3.npy")).images.shape[3] == 3  # three channels stay three


# --- size ------------------------------------------------------------------------------------------


def test_array_default_size_capped_at_64(tmp_path):
    array = np.zeros((2, 100, 50), np.uint8)
    assert load_dataset(save_npy(tmp_path, array)).images.shape == (2, 64, 32, 1)


def test_array_resize_each_image(tmp_path):
    rng = np.random.default_rng(1)
    array = rng.random((3, 10, 6, 3))
    data = load_dataset(save_npy(tmp_path, array), size=15)
    check_valid(data, shape=(3, 15, 9, 3))
    for i in range(3):
        for c in range(3):
            expected = np.clip(lanczos(array[i, ..., c], 9, 15), 0, 1)
            np.testing.assert_allclose(data.images[i, ..., c], expected, atol=1e-6)


# --- digest ----------------------------------------------------------------------------------------


def test_array_digest(tmp_path):
    array = digits_images(10)
    npy = save_npy(tmp_path, array)
    single, among = tmp_path / "single.npz", tmp_path / "among.npz"
    np.savez(single, array)
    np.savez_compressed(among, labels=np.arange(10), images=array)
    digest = load_dataset(npy).digest
    assert load_dataset(single).digest == digest and load_dataset(among).digest == digest
    assert load_dataset(npy, size=20, gray=False, binarize=True).digest == digest
    changed = array.copy()
    changed[9, 7, 7] ^= 1
    assert load_dataset(save_npy(tmp_path, changed, "changed.npy")).digest != digest
    assert load_dataset(save_npy(tmp_path, array[:9], "fewer.npy")).digest != digest


# --- bad input -------------------------------------------------------------------------------------


def test_missing_paths(tmp_path):
    raises_one_line(tmp_path / "nope.npy", "does not exist")
    raises_one_line(tmp_path / "no_folder", "does not exist")


def test_not_a_dataset(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    raises_one_line(path, "not a dataset")


def test_empty_folder(tmp_path):
    folder = tmp_path / "empty_folder"
    folder.mkdir()
    raises_one_line(folder, "no image files")
    (folder / "readme.txt").write_text("no pictures here")
    (folder / ".hidden.png").write_bytes(b"")
    raises_one_line(folder, "no image files")


def test_folder_with_corrupt_png(tmp_path):
    folder = tmp_path / "set"
    save_png(folder, "a.png", gray_gradient())
    data = (folder / "a.png").read_bytes()
    (folder / "b.png").write_bytes(data[: len(data) // 2])
    message = raises_one_line(folder, "corrupt or truncated")
    assert "b.png" in message


def test_folder_with_text_named_png(tmp_path):
    folder = tmp_path / "set"
    save_png(folder, "a.png", gray_gradient())
    (folder / "z.png").write_text("I am text")
    assert "z.png" in raises_one_line(folder, "not an image")


@pytest.mark.parametrize("shape", [(8, 8), (5,), (2, 3, 8, 8, 1), (2, 8, 8, 2), (2, 8, 8, 4)])
def test_wrong_shape(tmp_path, shape):
    message = raises_one_line(save_npy(tmp_path, np.zeros(shape, np.uint8)), str(shape))
    assert "(N, H, W)" in message


def test_no_images(tmp_path):
    raises_one_line(save_npy(tmp_path, np.zeros((0, 28, 28), np.uint8)), "no images")


def test_empty_images(tmp_path):
    raises_one_line(save_npy(tmp_path, np.zeros((3, 0, 28), np.uint8)), "empty images")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf(tmp_path, bad):
    array = np.full((2, 8, 8), 0.5)
    array[1, 2, 3] = bad
    raises_one_line(save_npy(tmp_path, array), "NaN or infinite")


@pytest.mark.parametrize(
    "low, high, dtype", [(-3, 300, np.int16), (-0.5, 1.0, np.float64), (0, 256, np.uint16), (0.0, 1000.5, np.float32)]
)
def test_values_out_of_range(tmp_path, low, high, dtype):
    array = np.zeros((2, 8, 8), dtype)
    array[0, 0, 0], array[1, 1, 1] = low, high
    message = raises_one_line(save_npy(tmp_path, array), "0–1 or 0–255")
    assert f"from {low} to {high}" in message


@pytest.mark.parametrize("array", [np.zeros((2, 8, 8), np.complex64), np.full((2, 8, 8), "ab")])
def test_unsupported_dtype(tmp_path, array):
    raises_one_line(save_npy(tmp_path, array), str(array.dtype))


def test_object_array(tmp_path):
    array = np.empty((2, 8, 8), dtype=object)
    array[...] = 0
    raises_one_line(save_npy(tmp_path, array), "pickled")
    path = tmp_path / "objects.npz"
    np.savez(path, images=array)
    raises_one_line(path, "pickled")


def test_pickled_npy(tmp_path):
    path = tmp_path / "pickled.npy"
    path.write_bytes(pickle.dumps(digits_images(2)))
    raises_one_line(path, "not a NumPy")


def test_npz_several_arrays_none_named_images(tmp_path):
    path = tmp_path / "many.npz"
    np.savez(path, train=digits_images(2), test=digits_images(3))
    message = raises_one_line(path, "name the image array 'images'")
    assert "train" in message and "test" in message


def test_truncated_npy(tmp_path):
    full = save_npy(tmp_path, digits_images(20), "full.npy").read_bytes()
    body, header = tmp_path / "body.npy", tmp_path / "header.npy"
    body.write_bytes(full[: len(full) // 2])
    header.write_bytes(full[:40])
    raises_one_line(body, "corrupt or truncated")
    raises_one_line(header, "corrupt or truncated")


def test_truncated_npz(tmp_path, digits_npz):
    path = tmp_path / "cut.npz"
    path.write_bytes(digits_npz.read_bytes()[:500])
    raises_one_line(path, "corrupt or truncated")


def test_empty_array_file(tmp_path):
    path = tmp_path / "zero.npy"
    path.write_bytes(b"")
    raises_one_line(path, "empty")


def test_too_small_after_resize(tmp_path):
    raises_one_line(save_npy(tmp_path, np.zeros((2, 40, 4), np.uint8)), "larger --size", size=16)  # 16x2 px
    raises_one_line(save_npy(tmp_path, np.zeros((2, 3, 3), np.uint8), "tiny.npy"), "larger --size")
    folder = tmp_path / "strips"
    save_png(folder, "a.png", np.zeros((10, 100), np.uint8))
    raises_one_line(folder, "larger --size", size=20)


def test_size_below_minimum(digits_npz):
    raises_one_line(digits_npz, "at least 4", size=3)


def test_memory_error_is_one_line(monkeypatch, digits_npz):
    def out_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr("drawart.dataset.np.load", out_of_memory)
    raises_one_line(digits_npz, "does not fit in memory")


def test_newline_in_path_is_escaped(tmp_path):
    path = tmp_path / "bad\nname.npy"
    np.save(path, digits_images(2))
    with pytest.raises(DatasetError) as info:
        load_dataset(path, size=2)
    assert "\n" not in str(info.value) and "bad\\nname.npy" in str(info.value)
