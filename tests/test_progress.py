"""The drawing measures: glimpses drawing and the late share, on hand-made traces."""

import math

import numpy as np
import pytest

from drawart.progress import Progress, flat_psnr, psnr


def test_psnr_of_a_known_error():
    target = np.zeros((4, 4, 1))
    assert psnr(target + 0.1, target) == pytest.approx(20.0)


def test_drawing_counts_glimpses_that_raise_the_psnr_enough():
    # Gains 2, 0.01, 1, 0.5, −0.3: three glimpses add at least 0.05 dB; a loss is not drawing.
    progress = Progress([10.0, 12.0, 12.01, 13.0, 13.5, 13.2], flat=10.0)
    assert progress.glimpses == 5
    assert progress.drawing() == 3


def test_late_share_is_the_gain_after_the_first_quarter():
    # T = 8, T/4 = 2: (20 − 14) / (20 − 12) of the gain over the flat colour comes later.
    progress = Progress([11, 13, 14, 15, 16, 17, 18, 19, 20], flat=12.0)
    assert progress.late_share() == pytest.approx(6 / 8)
    # T = 5 rounds T/4 down to glimpse 1.
    assert Progress([10, 14, 15, 16, 17, 18], flat=10.0).late_share() == pytest.approx(4 / 8)


def test_a_block_in_that_does_everything_has_no_late_share_and_few_drawing():
    stalled = Progress([13.2] + [20.0, 24.0, 26.0, 28.7] + [28.7] * 12, flat=13.2)
    assert stalled.late_share() == pytest.approx(0.0)
    assert stalled.drawing() == 4 and stalled.few_drawing()
    assert "4 of 16 glimpses draw" in stalled.describe() and "late share 0.00" in stalled.describe()
    steady = Progress(13.2 + np.arange(17.0), flat=13.2)
    assert steady.drawing() == 16 and not steady.few_drawing()


def test_no_gain_over_flat_has_no_late_share():
    worse = Progress([10.0, 9.0, 9.5], flat=10.0)
    assert math.isnan(worse.late_share())
    assert "late share n/a" in worse.describe()


def test_progress_of_canvases_measures_each_against_the_image():
    image = np.full((4, 6, 3), 0.5)
    image[0, 0] = 0.9  # not flat, so the flat colour has an error
    canvases = np.stack([np.full_like(image, 0.5 - e) for e in (0.2, 0.1, 0.0)])
    progress = Progress.of(canvases, image)
    np.testing.assert_allclose(progress.psnr, [psnr(c, image) for c in canvases])
    assert progress.flat == pytest.approx(flat_psnr(image))
    assert flat_psnr(image) == pytest.approx(psnr(np.broadcast_to(image.mean(axis=(0, 1)), image.shape), image))
