"""Compound-Poisson shower fluctuations."""

import numpy as np
import pytest

from caloml.sim import noise


def test_poisson_counts_have_poisson_moments_for_small_and_large_means():
    lam = np.array([0.0, 0.003, 0.2, 1.0, 1.99, 2.0, 7.5, 400.0])
    expected = np.tile(lam, (40_000, 1))
    counts = noise.poisson_counts(expected, np.random.default_rng(0))
    assert counts.dtype == np.float32
    assert (counts == np.round(counts)).all()
    assert (counts[:, 0] == 0).all()
    sem = np.sqrt(lam / len(counts))
    np.testing.assert_array_less(np.abs(counts.mean(0) - lam), 5 * sem + 1e-12)
    np.testing.assert_allclose(counts.var(0)[2:], lam[2:], rtol=0.05)
    # P(0) for the scattered (low-mean) cells.
    assert (counts[:, 2] == 0).mean() == pytest.approx(np.exp(-0.2), abs=0.01)


def test_counts_stay_in_their_row():
    expected = np.zeros((3, 5))
    expected[1, 2] = 1.5
    counts = noise.poisson_counts(np.tile(expected, (1000, 1)), np.random.default_rng(1))
    assert counts.sum() > 0
    mask = np.tile(expected, (1000, 1)) == 0
    assert counts[mask].sum() == 0


def test_noise_keeps_image_sums_and_has_spot_variance():
    rng = np.random.default_rng(2)
    mu = np.tile(np.array([[5.0, 1.0, 0.1, 0.0]]), (20_000, 1))
    spot = np.full(20_000, 0.05)
    noisy = noise.add_shower_noise(mu, spot, rng)
    np.testing.assert_allclose(noisy.sum(1), mu.sum(1), rtol=1e-5)
    np.testing.assert_allclose(noisy.mean(0), mu[0], rtol=0.02, atol=1e-3)
    assert (noisy[:, 3] == 0).all()
    # Before the sum-preserving rescale, var = e·μ; the rescale removes the total's variance,
    # which for the small cells is a negligible correction.
    assert noisy[:, 2].var() == pytest.approx(0.05 * 0.1, rel=0.1)
