"""The filterbank against the paper's equations (1-based, as printed) and their symmetries."""

import math

import numpy as np
import pytest

from drawart.filterbank import Filterbank, read_glimpse, write_patch
from drawart.windows import Window, side_bound


def paper_filters(raw, n, height, width):
    """Eqs. 19–26 exactly as printed in the paper: 1-based i and a, written with plain loops."""
    gx_t, gy_t, log_var, log_delta_t, log_gamma = raw
    gx = (width + 1) / 2 * (gx_t + 1)
    gy = (height + 1) / 2 * (gy_t + 1)
    delta = (max(width, height) - 1) / (n - 1) * math.exp(log_delta_t)
    var = math.exp(log_var)

    def bank(g, size):
        f = np.zeros((n, size))
        for i in range(1, n + 1):
            mu = g + (i - n / 2 - 0.5) * delta
            for a in range(1, size + 1):
                f[i - 1, a - 1] = math.exp(-((a - mu) ** 2) / (2 * var))
            f[i - 1] /= f[i - 1].sum()
        return f

    return bank(gx, width), bank(gy, height), math.exp(log_gamma)


@pytest.mark.parametrize(
    "raw, n, height, width",
    [
        ([0.0, 0.0, 0.0, 0.0, 0.0], 3, 7, 7),
        ([0.2, -0.4, math.log(0.5), math.log(0.8), math.log(2.0)], 4, 6, 9),
        ([-0.7, 0.5, math.log(3.0), math.log(0.3), -0.5], 5, 11, 5),
    ],
)
def test_filters_match_the_papers_one_based_equations(raw, n, height, width):
    fx, fy, gamma = Filterbank(n, height, width)(np.array([raw], dtype="float32"))
    want_fx, want_fy, want_gamma = paper_filters(raw, n, height, width)
    np.testing.assert_allclose(np.asarray(fx)[0], want_fx, atol=1e-5)
    np.testing.assert_allclose(np.asarray(fy)[0], want_fy, atol=1e-5)
    np.testing.assert_allclose(np.asarray(gamma)[0, 0], want_gamma, rtol=1e-6)


def test_hand_computed_centre_filters():
    # A = B = 3, N = 2, g̃ = 0, δ̃ = 1, σ² = 1: centre pixel 1 (0-based), δ = 2, μ = {0, 2}.
    fx, fy, gamma = Filterbank(2, 3, 3)(np.zeros((1, 5), dtype="float32"))
    first = np.exp([-0.0, -0.5, -2.0])
    first /= first.sum()
    want = np.stack([first, first[::-1]])
    np.testing.assert_allclose(np.asarray(fx)[0], want, atol=1e-6)
    np.testing.assert_allclose(np.asarray(fy)[0], want, atol=1e-6)
    assert float(np.asarray(gamma)[0, 0]) == pytest.approx(1.0)


def test_window_is_in_zero_based_pixels():
    bank = Filterbank(5, height=10, width=20)
    gx, gy, delta, var, gamma = (np.asarray(v)[0, 0] for v in bank.window(np.zeros((1, 5), "float32")))
    assert (gx, gy) == pytest.approx((9.5, 4.5))  # the exact centres of 0..19 and 0..9
    assert delta == pytest.approx(19 / 4)
    assert (var, gamma) == pytest.approx((1.0, 1.0))


@pytest.mark.parametrize("height, width", [(8, 8), (6, 11)])
def test_centred_grid_reads_a_mirrored_image_as_the_mirrored_glimpse(height, width):
    rng = np.random.default_rng(0)
    images = rng.random((1, height, 3, width)).astype("float32")  # rows-first (batch, B, C, A)
    params = np.array([[0.0, 0.0, math.log(0.7), math.log(0.6), 0.3]], dtype="float32")
    fx, fy, gamma = Filterbank(4, height, width)(params)
    glimpse = np.asarray(read_glimpse(images, fx, fy, gamma))
    mirrored = np.asarray(read_glimpse(images[..., ::-1].copy(), fx, fy, gamma))
    flipped = np.asarray(read_glimpse(images[:, ::-1].copy(), fx, fy, gamma))
    np.testing.assert_allclose(mirrored, glimpse[..., ::-1], atol=1e-5)
    np.testing.assert_allclose(flipped, glimpse[..., ::-1, :], atol=1e-5)


def test_y_filters_follow_gy_not_gx():
    # A port that built F_Y from the X grid ignored g_Y: moving g̃y alone must move F_Y only.
    bank = Filterbank(3, 9, 9)
    fx0, fy0, _ = bank(np.zeros((1, 5), "float32"))
    fx1, fy1, _ = bank(np.array([[0.0, 0.5, 0, 0, 0]], "float32"))
    np.testing.assert_allclose(np.asarray(fx0), np.asarray(fx1))
    assert not np.allclose(np.asarray(fy0), np.asarray(fy1))


@pytest.mark.parametrize("channels", [1, 3])
def test_read_and_write_shapes_with_a_non_square_image(channels):
    batch, n, height, width = 2, 3, 5, 8
    params = np.random.default_rng(1).normal(size=(batch, 5)).astype("float32") * 0.3
    fx, fy, gamma = Filterbank(n, height, width)(params)
    assert np.asarray(fx).shape == (batch, n, width)
    assert np.asarray(fy).shape == (batch, n, height)
    images = np.ones((batch, height, channels, width), "float32")
    assert np.asarray(read_glimpse(images, fx, fy, gamma)).shape == (batch, channels, n, n)
    patch = np.ones((batch, channels, n, n), "float32")
    assert np.asarray(write_patch(patch, fx, fy, gamma)).shape == (batch, height, channels, width)


def test_read_scales_by_gamma_and_write_divides_by_it():
    params = np.array([[0.1, -0.2, 0.0, -0.3, math.log(2.5)]], "float32")
    fx, fy, gamma = Filterbank(3, 6, 7)(params)
    image = np.random.default_rng(2).random((1, 6, 1, 7)).astype("float32")
    fxn, fyn = np.asarray(fx)[0], np.asarray(fy)[0]
    want_read = 2.5 * fyn @ image[0, :, 0] @ fxn.T
    np.testing.assert_allclose(np.asarray(read_glimpse(image, fx, fy, gamma))[0, 0], want_read, rtol=1e-5)
    patch = np.random.default_rng(3).random((1, 1, 3, 3)).astype("float32")
    want_write = fyn.T @ patch[0, 0] @ fxn / 2.5
    np.testing.assert_allclose(np.asarray(write_patch(patch, fx, fy, gamma))[0, :, 0], want_write, rtol=1e-5, atol=1e-7)


def test_finer_grid_keeps_intensity_and_position():
    # Rendering above the training size: each s×s block of the fine write averages to the coarse one.
    params = np.array([[0.2, -0.1, math.log(1.5), -0.2, 0.0]], "float32")
    patch = np.random.default_rng(4).random((1, 1, 4, 4)).astype("float32")
    coarse = np.asarray(write_patch(patch, *Filterbank(4, 10, 12)(params)))[0, :, 0]
    s = 4
    fine = np.asarray(write_patch(patch, *Filterbank(4, 10, 12, grid_scale=s)(params)))[0, :, 0]
    assert fine.shape == (10 * s, 12 * s)
    # Same total ink per unit of image area, in the same place.
    assert fine.sum() / s**2 == pytest.approx(coarse.sum(), rel=1e-3)
    ys, xs = np.mgrid[0:10, 0:12]
    fy_, fx_ = (np.mgrid[0 : 10 * s, 0 : 12 * s] + 0.5) / s - 0.5
    assert (fine * fx_).sum() / fine.sum() == pytest.approx((coarse * xs).sum() / coarse.sum(), abs=0.01)
    assert (fine * fy_).sum() / fine.sum() == pytest.approx((coarse * ys).sum() / coarse.sum(), abs=0.01)
    # Smooth, not blown-up pixels: neighbouring fine pixels inside a coarse pixel differ.
    assert not np.allclose(fine[0::s, 0::s], fine[1::s, 1::s])


# ---------------------------------------------------------------------------------------------
# Local windows: gap-free and bounded whatever the network outputs.

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

from drawart.filterbank import coverage_ripple, filter_centres, starting_places, window_share  # noqa: E402

# Raw parameters far beyond what training produces, sigmoid saturation included.
RAW = arrays("float32", (16, 5), elements=st.floats(-30, 30, width=32))
SHAPES = st.sampled_from([(43, 64, 20), (64, 64, 20), (16, 12, 3), (171, 256, 20), (9, 6, 5), (128, 96, 32)])


def ripple(bank, params, t):
    window = bank.window(params, t)
    fx, fy, _ = (np.asarray(v) for v in bank(params, t=t))
    n = bank.n
    return np.maximum(
        coverage_ripple(fx, filter_centres(np.asarray(window.gx), np.asarray(window.delta), n), bank.width),
        coverage_ripple(fy, filter_centres(np.asarray(window.gy), np.asarray(window.delta), n), bank.height),
    )


@settings(max_examples=40, deadline=None)
@given(raw=RAW, shape=SHAPES, max_window=st.floats(0.05, 1.0), head=st.sampled_from(["read", "write"]))
def test_local_filters_leave_no_gaps_for_any_raw_parameters(raw, shape, max_window, head):
    height, width, n = shape
    bank = Filterbank(n, height, width, kind="local", head=head, max_window=max_window, reach=4, glimpses=16, taper=6)
    assert ripple(bank, raw, np.arange(16)[:, None]).max() <= 1.05


def test_the_papers_filters_do_leave_gaps():
    # What the ripple measure is for: σ/δ = 0.3, as training drove the paper's write window to.
    bank = Filterbank(20, 64, 64)
    delta = 63 / 19
    raw = np.array([[0.0, 0.0, 2 * math.log(0.3 * delta), 0.0, 0.0]], "float32")
    assert ripple(bank, raw, 0)[0] > 1.5


GLIMPSES = 16


def local_write_bank(shape, max_window, reach, taper, confined=False, **limits):
    """The local write filterbank of a GLIMPSES-glimpse model of `shape` (height, width, N)."""
    height, width, n = shape
    return Filterbank(
        n,
        height,
        width,
        kind="local",
        head="write",
        max_window=max_window,
        reach=reach,
        glimpses=GLIMPSES,
        taper=taper,
        confined=confined,
        **limits,
    )


# A confined write's limits: drawart 0.5.0's, 0.6.0's, and today's defaults (0.7.0's).
LIMITS = st.sampled_from([{"window_floor": f, "gamma_range": r} for f, r in ((0.1, 2.0), (0.5, 0.5), (0.1, 0.5))])


@settings(max_examples=40, deadline=None)
@given(raw=RAW, shape=SHAPES, max_window=st.floats(0.05, 1.0), reach=st.integers(0, 8), taper=st.integers(0, 8))
def test_the_write_window_never_exceeds_its_bound(raw, shape, max_window, reach, taper):
    height, width, n = shape
    bank = local_write_bank(shape, max_window, reach, taper)
    t = np.arange(GLIMPSES)[:, None]
    side = n * np.asarray(bank.window(raw, t).delta)[:, 0]
    # The whole image through the block-in, max_window once the taper is over, a step between.
    glimpse = np.arange(GLIMPSES)
    bound = np.where(glimpse < reach, 1.0, np.where(glimpse < reach + taper, 1.0, max_window))
    assert (side <= bound * max(height, width) * (1 + 1e-5)).all()
    sigma_over_delta = np.asarray(bank.window(raw, t).sigma)[:, 0] / np.maximum(
        np.asarray(bank.window(raw, t).delta)[:, 0], 1e-30
    )
    assert ((sigma_over_delta >= 0.5 - 1e-4) | (np.asarray(bank.window(raw, t).delta)[:, 0] < 1e-2)).all()


@settings(max_examples=40, deadline=None)
@given(
    raw=RAW,
    shape=SHAPES,
    max_window=st.floats(0.05, 1.0),
    reach=st.integers(0, 8),
    taper=st.integers(0, 8),
    limits=LIMITS,
)
def test_a_confined_write_stays_on_the_image_and_always_writes(raw, shape, max_window, reach, taper, limits):
    # Unconfined, training may park a glimpse off the image, raise its γ until it writes nothing or
    # shrink its window to nothing, and from there no gradient brings it back (bench/glimpses.py).
    height, width, n = shape
    t = np.arange(GLIMPSES)[:, None]
    window = local_write_bank(shape, max_window, reach, taper, confined=True, **limits).window(raw, t)
    gx, gy, delta, gamma = (np.asarray(v, "float64")[:, 0] for v in (window.gx, window.gy, window.delta, window.gamma))
    assert ((gx >= -0.5) & (gx <= width - 0.5)).all() and ((gy >= -0.5) & (gy <= height - 0.5)).all()
    r = limits["gamma_range"]
    assert ((gamma >= math.exp(-r) * (1 - 1e-5)) & (gamma <= math.exp(r) * (1 + 1e-5))).all()
    bound = np.asarray(side_bound(t[:, 0], max_window, reach, taper), "float64") * max(height, width)
    assert (n * delta >= limits["window_floor"] * bound * (1 - 1e-5)).all()


@pytest.mark.parametrize("floor,r", [(0.1, 2.0), (0.5, 0.5)])
def test_confining_changes_only_the_write_centre_intensity_and_least_side(floor, r):
    raw = np.array([[0.4, -2.5, 0.3, -0.2, 5.0]], "float32")
    window = lambda head, confined: Filterbank(
        5, 43, 64, kind="local", head=head, reach=1, confined=confined, window_floor=floor, gamma_range=r
    ).window(raw, 0)
    free, confined = window("read", False), window("read", True)
    assert all(float(getattr(confined, k)[0, 0]) == float(getattr(free, k)[0, 0]) for k in Window._fields)
    free, confined = window("write", False), window("write", True)
    # The write: g̃ = tanh(raw) keeps the centre on the image; log γ = r·tanh(raw / r); the side is
    # at least `floor` of the bound.
    assert float(confined.gx[0, 0]) == pytest.approx(64 / 2 * (math.tanh(0.4) + 1) - 0.5, rel=1e-5)
    assert float(confined.gy[0, 0]) == pytest.approx(43 / 2 * (math.tanh(-2.5) + 1) - 0.5, rel=1e-5)
    assert float(confined.gamma[0, 0]) == pytest.approx(math.exp(r * math.tanh(5.0 / r)), rel=1e-5)
    assert float(free.gamma[0, 0]) == pytest.approx(math.exp(5.0), rel=1e-5)
    sigmoid = 1 / (1 + math.exp(0.2))
    assert float(free.delta[0, 0]) == pytest.approx(64 / 5 * sigmoid, rel=1e-5)
    assert float(confined.delta[0, 0]) == pytest.approx(64 / 5 * (floor + (1 - floor) * sigmoid), rel=1e-5)
    assert float(confined.var[0, 0]) / float(confined.delta[0, 0]) ** 2 == pytest.approx(
        float(free.var[0, 0]) / float(free.delta[0, 0]) ** 2, rel=1e-4
    )  # the same σ/δ


@pytest.mark.parametrize("reach,taper", [(8, 8), (0, 4), (3, 1)])
def test_the_bound_narrows_step_by_step_over_the_taper(reach, taper):
    bounds = np.asarray(side_bound(np.arange(24), 0.3, reach, taper), "float64")
    assert (bounds[:reach] == 1).all()
    assert bounds[reach + taper :] == pytest.approx(0.3)
    narrowing = bounds[reach - 1 if reach else 0 : reach + taper + 1]
    assert (np.diff(narrowing) < 0).all()  # every taper glimpse is a step narrower than the last
    assert (bounds[reach : reach + taper] > 0.3).all()


def test_no_taper_is_the_one_step_bound_of_0_2_0():
    t = np.arange(16)
    assert np.array_equal(np.asarray(side_bound(t, 0.3, 8, 0)), np.where(t < 8, np.float32(1), np.float32(0.3)))


def test_local_glimpses_start_spread_over_the_image():
    places = starting_places(32, 8, 0.3)
    assert (places[:8] == 0).all()
    later = places[8:]
    assert len({tuple(p) for p in later.round(4)}) == len(later)  # every local glimpse starts elsewhere
    assert np.abs(later).max() <= 0.7 + 1e-6  # inset so a window of side 0.3 starts inside the image
    assert (later[:, 0] < 0).any() and (later[:, 0] > 0).any() and (later[:, 1] < 0).any() and (later[:, 1] > 0).any()


def test_local_windows_are_shares_of_the_image_at_any_size():
    # The same raw parameters put the window on the same part of the picture at 64 px and at 256 px.
    raw = np.array([[0.3, -0.4, 0.5, -1.0, 0.2]], "float32")
    small = Filterbank(20, 43, 64, kind="local", head="write", max_window=0.3, reach=8, glimpses=16).window(raw, 9)
    large = Filterbank(20, 172, 256, kind="local", head="write", max_window=0.3, reach=8, glimpses=16).window(raw, 9)
    assert (float(small.gx[0, 0]) + 0.5) / 64 == pytest.approx((float(large.gx[0, 0]) + 0.5) / 256)
    assert (float(small.gy[0, 0]) + 0.5) / 43 == pytest.approx((float(large.gy[0, 0]) + 0.5) / 172)
    assert float(small.delta[0, 0]) / 64 == pytest.approx(float(large.delta[0, 0]) / 256)
    assert float(small.sigma[0, 0]) / 64 == pytest.approx(float(large.sigma[0, 0]) / 256, rel=1e-4)


def test_a_local_write_puts_the_same_ink_whatever_the_stroke_size():
    # Filters scaled by δ: a constant patch writes ~1/γ inside the window, big window or small.
    patch = np.ones((1, 1, 20, 20), "float32")
    for stride in (3.0, -1.0, -3.0):
        raw = np.array([[0.0, 0.0, 0.0, stride, 0.0]], "float32")
        bank = Filterbank(20, 64, 64, kind="local", head="write", reach=1)  # glimpse 0: centred, bound 1
        canvas = np.asarray(write_patch(patch, *bank(raw, t=0)))[0, :, 0]
        assert canvas[32, 32] == pytest.approx(1.0, abs=0.03)


def test_window_share_clips_the_box_to_the_image():
    from drawart.windows import Window

    one = lambda v: np.array([[v]], "float64")
    whole = Window(one(31.5), one(31.5), one(64 / 20), one(1.0), one(1.0))
    assert window_share(whole, 20, 64, 64)[0] == pytest.approx(1.0)
    quarter = Window(one(31.5), one(31.5), one(32 / 20), one(1.0), one(1.0))
    assert window_share(quarter, 20, 64, 64)[0] == pytest.approx(0.25)
    corner = Window(one(-0.5), one(-0.5), one(32 / 20), one(1.0), one(1.0))  # centred on the corner
    assert window_share(corner, 20, 64, 64)[0] == pytest.approx(0.0625)


@settings(max_examples=40, deadline=None)
@given(raw=RAW, shape=SHAPES, max_window=st.floats(0.05, 0.5), reach=st.integers(0, 4), taper=st.integers(0, 4))
def test_a_cropped_write_holds_the_whole_window_for_any_raw_parameters(raw, shape, max_window, reach, taper):
    bank = local_write_bank(shape, max_window, reach, taper)
    t = np.arange(GLIMPSES)[:, None]
    bounded = np.arange(GLIMPSES) >= reach + taper
    rows, columns = bank.crop_sides()
    fx, fy, gamma = (np.asarray(v) for v in bank(raw, t=t))
    fx_c, fy_c, gamma_c, x0, y0 = (np.asarray(v) for v in bank.cropped(raw, t, rows, columns))
    np.testing.assert_array_equal(gamma_c, gamma)
    for full, crop, start, length in ((fx, fx_c, x0, columns), (fy, fy_c, y0, rows)):
        for i in np.flatnonzero(bounded):
            inside = full[i, :, start[i] : start[i] + length]
            np.testing.assert_allclose(crop[i], inside, rtol=1e-5, atol=1e-30)
            outside = full[i].copy()
            outside[:, start[i] : start[i] + length] = 0
            assert outside.max() <= 1e-7 * max(full[i].max(), 1e-30)
