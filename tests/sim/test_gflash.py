"""GFlash longitudinal and radial parameterisation (PHYSICS.md §1.2, §1.4)."""

import numpy as np
import pytest

from caloml.sim import gflash
from caloml.sim.materials import PBWO4


def test_individual_profiles_have_the_parameterised_means_widths_and_correlation():
    energy = np.full(200_000, 50.0)
    t_max, alpha, _ = gflash.sample_profiles(energy, PBWO4, np.random.default_rng(0))
    mean_t, mean_a, s_t, s_a, rho = (np.asarray(v)[0] for v in
                                     gflash.mean_log_parameters(energy[:1], PBWO4))
    ln_t, ln_a = np.log(t_max), np.log(alpha)
    assert ln_t.mean() == pytest.approx(mean_t, abs=3e-3 * s_t * 10)
    assert ln_a.mean() == pytest.approx(mean_a, abs=3e-3 * s_a * 10)
    assert ln_t.std() == pytest.approx(s_t, rel=0.01)
    assert ln_a.std() == pytest.approx(s_a, rel=0.01)
    assert np.corrcoef(ln_t, ln_a)[0, 1] == pytest.approx(rho, abs=0.005)
    # PHYSICS.md §1.5 check: <T> ≈ 7.9 X0 and <α> ≈ 5.1 at 50 GeV in PbWO4.
    assert t_max.mean() == pytest.approx(7.9, abs=0.05)
    assert alpha.mean() == pytest.approx(5.1, abs=0.1)


def test_slices_and_leakage_add_up_to_the_energy():
    rng = np.random.default_rng(1)
    energy = rng.uniform(1, 500, 1000)
    start = rng.exponential(9 / 7, 1000)
    edges = np.linspace(0, 230 / 8.9, 53)
    showers = gflash.simulate_longitudinal(energy, start, edges, PBWO4, rng)
    assert (showers.slice_energy_gev >= 0).all()
    np.testing.assert_allclose(
        showers.slice_energy_gev.sum(1) + showers.leakage_gev, energy, rtol=1e-12
    )
    # Slices in front of the conversion point are empty.
    first = np.searchsorted(edges, start, side="right") - 1
    for i in range(20):
        assert showers.slice_energy_gev[i, : first[i]].sum() == 0.0
    # Longitudinal leakage of 25.8 X0 grows with energy but stays at the per-cent level.
    low = showers.leakage_gev[energy < 50] / energy[energy < 50]
    high = showers.leakage_gev[energy > 300] / energy[energy > 300]
    assert 0.001 < low.mean() < high.mean() < 0.03


def test_radial_parameters_at_known_depths():
    energy = np.array([[50.0]])
    r_core, r_tail, p = gflash.radial_parameters(energy, np.array([[0.0, 1.0, 3.0]]), PBWO4)
    z, ln_e = PBWO4.z_eff, np.log(50.0)
    np.testing.assert_allclose(r_core[0, 0], 0.0251 + 0.00319 * ln_e)
    np.testing.assert_allclose(
        r_core[0, 1] - r_core[0, 0], 0.1162 - 0.000381 * z, rtol=1e-12
    )
    # The core dominates early, the tail grows with depth.
    assert p[0, 0] > p[0, 2]
    assert r_tail[0, 2] > r_tail[0, 1]
    assert ((0 <= p) & (p <= 1)).all()


def test_spot_numbers():
    # PHYSICS.md §1.5: ~12.1k spots for 50 GeV in PbWO4.
    assert gflash.num_spots(np.array(50.0), PBWO4) == pytest.approx(12_100, rel=0.01)
