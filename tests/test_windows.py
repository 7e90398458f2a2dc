"""drawart.windows: the window types, and the filter formula of the strokes schema, on grids finer than the training image."""

import numpy as np

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
