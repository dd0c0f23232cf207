"""Landau energy-loss sampling (PDG convention φ(λ))."""

import numpy as np
import pytest
from scipy import integrate, stats

from caloml.sim import landau


def test_density_is_pdgs_phi_mode_and_width():
    grid = np.linspace(-4, 30, 340_001)
    phi = landau.pdf(grid)
    assert integrate.trapezoid(phi, grid) == pytest.approx(1.0 - stats.landau.sf(
        (30 - np.log(np.pi / 2)) * 2 / np.pi), abs=1e-6)
    assert grid[phi.argmax()] == pytest.approx(landau.MODE, abs=1e-3)
    above = grid[phi > phi.max() / 2]
    assert above.max() - above.min() == pytest.approx(4.018, abs=0.005)  # PDG: FWHM 4.018 ξ


def test_draws_follow_phi():
    lam = landau.standard(400_000, np.random.default_rng(0))
    quantiles = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    # φ's CDF through scipy's S1 form: P(λ < q) = F_S1((q − ln(π/2))·2/π).
    drawn = np.quantile(lam, quantiles)
    np.testing.assert_allclose(stats.landau.cdf((drawn - np.log(np.pi / 2)) * 2 / np.pi),
                               quantiles, atol=0.003)


def test_energy_loss_peaks_at_the_most_probable_value_and_truncation_holds():
    loss = landau.energy_loss(100.0, 10.0, np.random.default_rng(1), max_lambda=20.0)
    assert loss.shape == ()
    many = landau.energy_loss(np.full(300_000, 100.0), 10.0, np.random.default_rng(2),
                              max_lambda=20.0)
    counts, edges = np.histogram(many, np.arange(60.0, 200.0, 2.0))
    assert 0.5 * (edges[counts.argmax()] + edges[counts.argmax() + 1]) == pytest.approx(100, abs=2)
    assert many.max() <= 100 + 10 * (20 - landau.MODE) + 1e-9
    assert many.mean() == pytest.approx(100 + 10 * (landau.truncated_mean(20.0) - landau.MODE),
                                        rel=0.005)
