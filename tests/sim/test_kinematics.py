"""pi0 -> gamma gamma decay kinematics against closed-form answers (PHYSICS.md §3)."""

import numpy as np
import pytest
from scipy import stats

from caloml import errors
from caloml.sim import kinematics

M = kinematics.PI0_MASS_GEV


@pytest.mark.parametrize("energy", [20.0, 50.0])
def test_decays_conserve_energy_and_reconstruct_the_pi0_mass(energy):
    d = kinematics.decay_pi0(np.full(50_000, energy), np.random.default_rng(0))
    np.testing.assert_allclose(d.energy1_gev + d.energy2_gev, energy, rtol=1e-12)
    mass = np.sqrt(2 * d.energy1_gev * d.energy2_gev * (1 - np.cos(d.opening_angle_rad)))
    np.testing.assert_allclose(mass, M, rtol=1e-6)
    np.testing.assert_allclose(d.theta1_rad + d.theta2_rad, d.opening_angle_rad, rtol=1e-12)
    # Transverse momentum balance of two massless photons.
    np.testing.assert_allclose(
        d.energy1_gev * np.sin(d.theta1_rad), d.energy2_gev * np.sin(d.theta2_rad), rtol=1e-9
    )


@pytest.mark.parametrize("energy", [20.0, 50.0])
def test_opening_angle_minimum_and_distribution(energy):
    d = kinematics.decay_pi0(np.full(200_000, energy), np.random.default_rng(1))
    theta_min = 2 * M / energy
    # The minimum 2 arcsin(m/E) ≈ 2m/E is reached for symmetric decays and never undercut.
    assert d.opening_angle_rad.min() >= kinematics.min_opening_angle(energy) * (1 - 1e-12)
    assert d.opening_angle_rad.min() == pytest.approx(theta_min, rel=2e-3)
    assert kinematics.min_opening_angle(energy) == pytest.approx(theta_min, rel=1e-4)
    # P(theta < x) = sqrt(1 - (theta_min/x)^2): KS test over 200k decays.
    result = stats.kstest(d.opening_angle_rad, lambda x: kinematics.opening_angle_cdf(x, energy))
    assert result.statistic < 0.004, result
    # Flat energy sharing (isotropic decay in the rest frame).
    beta = np.sqrt(1 - (M / energy) ** 2)
    low, high = energy * (1 - beta) / 2, energy * (1 + beta) / 2
    assert stats.kstest(d.energy1_gev, stats.uniform(low, high - low).cdf).statistic < 0.004


def test_opening_angle_cut_redraws_and_counts_draws():
    energy, cut = 20.0, np.radians(2.0)
    d = kinematics.decay_pi0(np.full(100_000, energy), np.random.default_rng(2), cut)
    assert d.opening_angle_rad.max() <= cut
    kept = 100_000 / d.num_drawn
    expected = kinematics.opening_angle_cdf(cut, energy)  # 0.922 at 20 GeV (PHYSICS.md §3)
    assert kept == pytest.approx(expected, abs=0.003)
    # Truncated distribution: CDF(x) / CDF(cut).
    truncated = stats.kstest(
        d.opening_angle_rad, lambda x: kinematics.opening_angle_cdf(x, energy) / expected
    )
    assert truncated.statistic < 0.006


def test_cut_below_kinematic_minimum_is_rejected():
    with pytest.raises(errors.InputError, match="smallest opening angle"):
        kinematics.decay_pi0(np.full(3, 5.0), np.random.default_rng(0), np.radians(2.0))
