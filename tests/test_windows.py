"""drawart.windows: the window types, and the filter formula of the strokes schema, on grids finer than the training image."""

import numpy as np
from pytest import approx

from drawart import windows


def test_a_fine_stroke_drawn_finer_is_widened_to_a_pixel_and_keeps_its_ink():
    assert windows.display_blur(1) == 0  # at the training size: exactly what was trained
    assert 0 < windows.display_blur(2) < windows.display_blur(8) < windows.DISPLAY_BLUR**2
    window = {"stride": 0.6 / 48, "sigma": 0.3 / 48}  # a stroke a third of a pixel wide, 48 px image
    for scale in (4, 8):
        rows = windows.axis_filters(24.0, window, 5, 48 * scale, scale, 48, "local")
        # Each filter's ink over the image, in training pixels, is its stride (0.6 px) on any fine
        # grid. (At the training size a stroke this fine is only sampled, and its ink is not kept.)
        np.testing.assert_allclose(rows.sum(axis=1) / scale, 0.6, rtol=1e-3)
    # At 4x, the middle filter's spread is that of a widened stroke, √(0.3² + blur), not 0.3 px.
    row = windows.axis_filters(24.0, window, 1, 192, 4, 48, "local")[0]
    x = (np.arange(192) + 0.5) / 4
    spread = np.sqrt(np.sum(row * (x - 24.0) ** 2) / np.sum(row))
    np.testing.assert_allclose(spread, np.sqrt(0.3**2 + windows.display_blur(4)), rtol=1e-2)


def test_overshoot_charges_a_confined_write_window_only_past_the_knees_of_its_ways_out():
    from drawart.filterbank import Filterbank

    centre, side, ink = windows.LIMIT_KNEES
    bank = Filterbank(3, 8, 8, kind="local", head="write", confined=True, gamma_range=0.5, max_window=1.0)
    assert not bank.places.any()  # with no bound, every glimpse starts at the centre

    def charged(*raw):
        return float(bank.overshoot(np.array([raw], "float32"), 0)[0])

    # Inside the knees, and far out on the ways in (the widest side, the strongest ink): nothing.
    assert charged(centre - 0.1, -centre + 0.1, 0.0, -side + 0.1, 0.5 * ink - 0.01) == 0
    assert charged(0.0, 0.0, 9.0, 9.0, -9.0) == 0
    # Towards an edge, the least side or the faintest ink: the overshoot, squared and summed.
    assert charged(centre + 0.5, 0.0, 0.0, 0.0, 0.0) == approx(0.25)
    assert charged(0.0, -centre - 1.0, 0.0, -side - 2.0, 0.5 * (ink + 1.0)) == approx(1.0 + 4.0 + 1.0)
    # A window type without limits, or a head without them, is never charged.
    for other in (
        Filterbank(3, 8, 8, kind="paper", head="write"),
        Filterbank(3, 8, 8, kind="local", head="read", confined=True),
        Filterbank(3, 8, 8, kind="local", head="write", confined=False),
    ):
        assert float(other.overshoot(np.full((1, 5), -9.0, "float32"), 0)[0]) == 0
