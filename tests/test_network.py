"""drawart.network: the paper's parts (the sampler's KL in closed form)."""

import math

import numpy as np
import pytest

from drawart.network import Sampler


def test_kl_is_the_closed_form_summed_over_latent_dimensions():
    sampler = Sampler(4)
    sampler.build((None, 3))
    mu = np.array([0.5, -1.0, 0.0, 2.0], "float32")
    log_sigma = np.array([0.0, -0.5, 0.3, 1.0], "float32")
    # Zero kernels, so μ and log σ are the biases whatever h_enc is.
    sampler.mean.set_weights([np.zeros((3, 4), "float32"), mu])
    sampler.log_sigma.set_weights([np.zeros((3, 4), "float32"), log_sigma])
    eps = np.array([[0.1, -0.2, 0.3, 0.0]], "float32")
    z, kl = sampler(np.ones((1, 3), "float32"), eps)
    sigma = np.exp(log_sigma)
    want = sum(0.5 * (m**2 + s**2 - math.log(s**2) - 1) for m, s in zip(mu, sigma))
    assert float(kl.numpy()[0]) == pytest.approx(want, rel=1e-6)
    np.testing.assert_allclose(z.numpy()[0], mu + sigma * eps[0], rtol=1e-6)
