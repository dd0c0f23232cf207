"""Physics of the charged-pion model (caloml.sim.hadron; PHYSICS.md §4)."""

import math

import numpy as np
import pytest
from scipy import special

from caloml.sim import gflash, hadron, landau, lateral
from caloml.sim.materials import PB_LAR_CALOGAN

STACK = hadron.CALOGAN_STACK


def test_bethe_minimum_of_the_calogan_stack_is_its_mip_loss():
    """2 mm Pb + 4 mm LAr: min of Bethe's mean loss 0.565 MeV/mm at βγ ≈ 3 (PHYSICS.md §4: 0.567,
    the 272 MeV of a MIP crossing the 480 mm stack)."""
    bg = np.geomspace(1.0, 100.0, 2001)
    per_mm = hadron.mean_loss_mev(STACK, bg, 1.0)
    assert per_mm.min() == pytest.approx(0.567, rel=0.01)
    assert 2.5 < bg[per_mm.argmin()] < 4.0


def test_most_probable_loss_rises_and_saturates_at_the_fermi_plateau():
    """Δ_p over CaloGAN's 90 mm layer 0 rises from βγ = 7 (1 GeV) to 700 (100 GeV) and then
    stops (density effect), while the mean keeps rising with T_max."""
    bg = np.geomspace(7.0, 7e4, 60)
    mpv, xi = hadron.landau_parameters(STACK, bg, 90.0)
    assert np.all(np.diff(mpv) >= -1e-6)  # flat, to rounding, on the plateau
    assert mpv[-1] / mpv[0] - 1 > 0.10
    at_700 = np.searchsorted(bg, 700.0)
    assert mpv[-1] / mpv[at_700] - 1 < 0.005
    mean = hadron.mean_loss_mev(STACK, bg, 90.0)
    assert np.all(np.diff(mean) > 0) and mean[at_700] / mean[0] == pytest.approx(1.47, abs=0.03)
    # ξ = (K/2)(Z/A)ρx: 2.65 MeV for 90 mm of the stack.
    assert xi[-1] == pytest.approx(2.65, rel=0.01)


@pytest.mark.parametrize("energy_gev", [2.0, 10.0, 100.0])
def test_layer_losses_follow_landau(energy_gev):
    """15 steps of 6 mm (layer 0): peak at PDG's Δ_p, Bethe's mean, Landau's tail.

    200,000 tracks. The mode (of a 7-bin running mean of 0.1 ξ bins) is within 0.5 ξ of Δ_p;
    the mean is Bethe's within three standard errors (≈ 1% at 100 GeV: the δ-ray tail); from
    10 GeV (T_max ≥ 1.6 GeV ≥ 600 ξ) P(Δ > Δ_p + kξ) for k = 5, 20 against Landau's φ (drawn
    with caloml.sim.landau) within 15%: a compound Poisson of δ-rays of 1/T² has Landau's tail
    up to T_max.
    """
    rng = np.random.default_rng(0)
    num = 200_000
    bg = hadron.beta_gamma(np.full(num, energy_gev))
    losses = hadron.sample_track_steps(STACK, bg, np.full((num, 15), 6.0), rng)
    total_mev = 1e3 * losses.total_gev.sum(axis=1)
    mpv, xi = hadron.landau_parameters(STACK, bg[0], 90.0)
    counts, edges = np.histogram(total_mev, np.arange(mpv - 5 * xi, mpv + 10 * xi, 0.1 * xi))
    smooth = np.convolve(counts, np.ones(7) / 7, "same")
    mode = 0.5 * (edges[:-1] + edges[1:])[smooth.argmax()]
    assert abs(mode - mpv) < 0.5 * xi
    # The sample mean of a 1/T² tail up to T_max scatters by √(ξ T_max/num): allow 3 of those.
    _, t_max = hadron._kinematics(bg[0], hadron.PION_MASS_GEV)
    assert total_mev.mean() == pytest.approx(hadron.mean_loss_mev(STACK, bg[0], 90.0),
                                             abs=3 * math.sqrt(xi * t_max / num))
    # Landau's φ from the S1 variates of caloml.sim.landau: λ_φ = (π/2)λ_S1 + ln(π/2).
    phi = landau.standard(num, rng)
    reference = mpv + xi * (phi - landau.MODE)
    if energy_gev < 10:
        return  # T_max = 75 ξ: Vavilov's regime, whose tail is shorter than Landau's.
    for k in (5.0, 20.0):
        ours = np.mean(total_mev > mpv + k * xi)
        theirs = np.mean(reference > mpv + k * xi)
        assert ours == pytest.approx(theirs, rel=0.15), k


def test_delta_rays_are_the_hard_collisions():
    """δ-rays lie in [T_c, T_max]; their mean energy per step is ξ[ln(T_max/T_c) − β²(1 − T_c/
    T_max)] (the spin-0 spectrum above T_c), and with the soft part they make Bethe's mean."""
    rng = np.random.default_rng(1)
    num = 100_000
    bg = hadron.beta_gamma(np.full(num, 20.0))
    losses = hadron.sample_track_steps(STACK, bg, np.full((num, 1), 6.0), rng)
    beta2 = (bg[0] / math.hypot(1.0, bg[0])) ** 2
    ratio = hadron.ELECTRON_MASS_MEV / (1e3 * hadron.PION_MASS_GEV)
    t_max = 2 * hadron.ELECTRON_MASS_MEV * bg[0] ** 2 / (
        1 + 2 * math.hypot(1.0, bg[0]) * ratio + ratio**2)
    cut = hadron.DELTA_RAY_CUT_MEV
    delta_mev = 1e3 * losses.delta_gev
    assert delta_mev.min() >= cut and delta_mev.max() <= t_max
    _, xi = hadron.landau_parameters(STACK, bg[0], 6.0)
    # The mean of the whole 1/T² spectrum up to T_max = 14 GeV converges slowly (±9% here):
    # test the δ-rays below 10 MeV, ξ[ln(10 MeV/T_c) − β²(10 MeV − T_c)/T_max] (±0.5%).
    soft = delta_mev[delta_mev < 10.0]
    expected = xi * (math.log(10.0 / cut) - beta2 * (10.0 - cut) / t_max)
    assert soft.sum() / num == pytest.approx(expected, rel=0.02)
    assert np.mean(delta_mev > 10.0) == pytest.approx(0.1 / 10.0, rel=0.05)
    assert 1e3 * losses.local_gev.mean() == pytest.approx(
        hadron.restricted_loss_mev(STACK, bg[0], 6.0, cut), rel=1e-3)
    no_fluctuation = hadron.sample_track_steps(STACK, bg[:10], np.full((10, 1), 6.0), rng,
                                               fluctuate=False)
    np.testing.assert_allclose(1e3 * no_fluctuation.total_gev,
                               hadron.mean_loss_mev(STACK, bg[0], 6.0))


def test_multiple_scattering_follows_highland():
    """1 GeV pions through 90 mm (5.8 X0): rms angle θ0 and rms position x·θ0/√3 (PDG
    eq. 34.20), within 3% (20,000 tracks: 1% statistical)."""
    rng = np.random.default_rng(2)
    edges = np.arange(0.0, 91.0, 6.0)
    position, angle = hadron.scattered_track(np.full(20_000, 1.0), edges, PB_LAR_CALOGAN.x0_mm,
                                             rng)
    p = math.sqrt(1.0 - hadron.PION_MASS_GEV**2)
    theta0 = math.sqrt(hadron.highland_variance(p, 90.0 / PB_LAR_CALOGAN.x0_mm))
    assert angle[:, -1].std() == pytest.approx(theta0, rel=0.03)
    # Position at the middle of the last step (87 mm) vs the PDG rms at that depth.
    theta_mid = math.sqrt(hadron.highland_variance(p, 87.0 / PB_LAR_CALOGAN.x0_mm))
    assert position[:, -1].std() == pytest.approx(87.0 * theta_mid / math.sqrt(3), rel=0.05)
    assert abs(position[:, -1].mean()) < 0.05


def test_diffusion_kernel_conserves_energy_and_reaches_back():
    """A unit source in slice 5 of 10 slices of 0.1 L: slice i < 5 gets ½e^{−d/L}(1 − e^{−w/L})
    (d: source to the slice's near edge); faces with an extrapolation length remove more."""
    edges = np.linspace(0.0, 1.0, 11)[None, :]
    source = np.zeros((1, 10))
    source[0, 5] = 1.0
    spread, escaped = hadron.diffuse(source, edges, 1.0)
    assert spread.sum() + escaped.sum() == pytest.approx(1.0)
    d = 0.55 - edges[0, 1:5]
    np.testing.assert_allclose(spread[0, :4], 0.5 * np.exp(-d) * (1 - np.exp(-0.1)))
    assert spread[0, 5] == pytest.approx(1 - np.exp(-0.05))
    near, lost = hadron.diffuse(source, edges, 1.0, extrapolation=0.5)
    assert near.sum() + lost.sum() == pytest.approx(1.0)
    assert np.all(near >= 0) and np.all(near <= spread + 1e-15)
    assert near[0, 0] < 0.8 * spread[0, 0] and lost[0] > escaped[0]


def test_neutron_halo_profile_is_the_projected_diffusion_density():
    """Gaussian-mixture weights reproduce the containment 1 − (ρ/L) K1(ρ/L) of K0(ρ/L)/(2πL²)."""
    edges, widths = lateral.width_grid()
    length = 150.0
    weights = hadron.neutron_halo_profile(length, edges)
    assert weights.sum() == pytest.approx(1.0) and np.all(weights >= 0)
    for rho in (0.5 * length, length, 2 * length):
        contained = np.sum(weights * (1 - np.exp(-(rho**2) / (2 * widths**2))))
        x = rho / length
        assert contained == pytest.approx(1 - x * special.k1(x), abs=0.03)
    median = hadron.HALO_MEDIAN_OVER_LENGTH
    assert median * special.k1(median) == pytest.approx(0.5, abs=1e-4)


def _showers(energy_gev, num, t_int_mm=37.4, seed=3):
    """Pions of one energy interacting at ``t_int_mm`` of the CaloGAN stack, no track loss."""
    edges_x0 = np.linspace(0.0, 480.0 / PB_LAR_CALOGAN.x0_mm, 63)
    edges_mm = edges_x0 * PB_LAR_CALOGAN.x0_mm
    slices = len(edges_x0) - 1
    return hadron.simulate_pions(
        np.full(num, energy_gev), edges_x0, edges_mm / 374.0, np.full(slices, 374.0),
        np.zeros(slices), PB_LAR_CALOGAN, np.random.default_rng(seed),
        t_int_lambda=np.full(num, t_int_mm / 374.0), mip_loss_gev=np.zeros((num, slices)),
    ), edges_mm


@pytest.mark.parametrize("energy_gev", [2.0, 10.0, 50.0, 500.0])
def test_mean_em_fraction_follows_groom(energy_gev):
    pions, _ = _showers(energy_gev, 20_000)
    assert pions.em_fraction.mean() == pytest.approx(
        float(hadron.mean_em_fraction(energy_gev)), abs=0.01)


def test_em_fraction_has_a_leading_pi0_tail_at_all_energies():
    """Electron-like pions exist at every energy: P(f_em > 0.9) is 0.4–1.1% from 10 to 500 GeV
    (charge exchange: 0.2% at 10 GeV, 3e-6 at 500; leading π⁰ with x > 0.9: 0.11 × 1%; plus
    high leading shares with an EM-rich rest), P(f_em > 0.95) ≈ 0.2% (CMS test beam: ≈ 0.1% of
    pions with E/p > 0.95). 60,000 showers per energy: ≥ 240 above 0.9, ±7%."""
    above_90, above_95 = [], []
    for energy in (10.0, 50.0, 100.0, 500.0):
        pions, _ = _showers(energy, 60_000, seed=int(energy))
        above_90.append(np.mean(pions.em_fraction > 0.9))
        above_95.append(np.mean(pions.em_fraction > 0.95))
        lead = np.mean(pions.leading_fraction > 0.9)
        cex = float(hadron.charge_exchange_probability(energy))
        expected = cex + (1 - cex) * hadron.LEADING_PI0_PROBABILITY * 0.1 ** 2
        assert lead == pytest.approx(expected, rel=0.25, abs=2e-4)
    assert min(above_90) > 0.003 and max(above_90) < 0.02
    assert max(above_90) / min(above_90) < 4
    assert all(0.001 < p < 0.005 for p in above_95)
    assert hadron.charge_exchange_probability(1.0) > 0.03
    assert hadron.charge_exchange_probability(100.0) < 3e-4


def test_pion_energy_is_booked_exactly_by_kind():
    """EM part + leading π⁰ + ionisation + halo + invisible + their leakages = E."""
    pions, _ = _showers(30.0, 2000, t_int_mm=200.0)
    total = (pions.em.slice_energy_gev.sum(1) + pions.em.leakage_gev
             + pions.pi0.slice_energy_gev.sum(1) + pions.pi0.leakage_gev
             + pions.ionisation.slice_energy_gev.sum(1) + pions.ionisation.leakage_gev
             + pions.halo_slice_gev.sum(1) + pions.invisible_gev)
    np.testing.assert_allclose(total, 30.0, rtol=1e-9)
    view = pions.showers
    np.testing.assert_allclose(view.slice_energy_gev[0::2], pions.em.slice_energy_gev
                               + pions.pi0.slice_energy_gev)
    np.testing.assert_allclose(view.slice_energy_gev[1::2], pions.ionisation.slice_energy_gev
                               + pions.halo_slice_gev)
    assert np.all(np.isfinite(view.core_radius_mm)) and np.all(view.tail_radius_mm > 0)


def test_halo_reaches_back_in_front_of_deep_interactions():
    """Interacting 300 mm deep, a 50 GeV pion's neutron halo still puts ~1% of itself in the
    first 90 mm: ½e^{−(210…300)/150}, less near the face."""
    pions, edges_mm = _showers(50.0, 500, t_int_mm=300.0)
    front = pions.halo_slice_gev[:, edges_mm[1:] <= 90.0].sum(1)
    everywhere = pions.halo_slice_gev.sum(1)
    assert np.all(pions.ionisation.slice_energy_gev[:, edges_mm[1:] <= 300.0 - 8.0] == 0)
    assert np.all(front > 0)
    assert 0.005 < np.median(front / everywhere) < 0.05
    # The neutron share of the non-EM energy released in the stack feeds the halo.
    assert hadron.E_OVER_H == pytest.approx(1 / 0.68)


def test_first_interaction_tilts_the_leading_pi0_and_makes_it_a_photon_shower():
    pions, _ = _showers(20.0, 4000)
    has = pions.leading_fraction > 0
    assert 0.08 < has.mean() < 0.14
    assert np.all(pions.pi0.slice_energy_gev[~has] == 0)
    np.testing.assert_allclose(
        pions.pi0.slice_energy_gev[has].sum(1) + pions.pi0.leakage_gev[has],
        20.0 * pions.leading_fraction[has], rtol=1e-9)
    # ⟨p_T⟩ = 0.35 GeV: slopes of p_T/E_π0 (capped at 0.5).
    pt = np.hypot(*pions.pi0_slope[has].T) * 20.0 * pions.leading_fraction[has]
    assert np.median(pt[pions.leading_fraction[has] > 0.2]) == pytest.approx(
        0.35 * math.sqrt(math.log(4) / (0.5 * math.pi)), rel=0.15)
    assert isinstance(pions.pi0, gflash.Showers)
