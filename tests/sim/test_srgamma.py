"""Physics and layout of the SR-γ toy calorimeter simulation (paper 000 §2)."""

import dataclasses

import numpy as np
import pytest

from caloml.data.preprocessing import select_window
from caloml.sim import kinematics, simulate, srgamma

E_C_GEV = 8.74e-3


def _centred(**kw):
    # (11, 11) mm is the centre of the crystal just above and right of the window centre.
    return dict(gun_sigma_mm=0.0, gun_center_mm=(11.0, 11.0), **kw)


def test_containment_of_50_gev_photons_on_a_crystal_centre():
    """1×1 / 3×3 / 5×5 crystal fractions ≈ 0.79 / 0.94 / 0.97 (CMS ECAL design values).

    Tolerance ±0.015: the reference values are quoted to two digits and GFlash's radial
    parameterisation reproduces Geant4 containment at the 1–2% level; the statistical error
    of 2,000 showers is below 0.002.
    """
    data = simulate("srgamma", "photon", 2000, 50.0, seed=3, **_centred())
    lr = data["lr"].astype(np.float64) / 50.0
    c = 12  # crystal covering 0–22 mm in x and y
    fractions = [lr[:, c - k : c + k + 1, c - k : c + k + 1].sum((1, 2)).mean() for k in (0, 1, 2)]
    np.testing.assert_allclose(fractions, [0.79, 0.94, 0.97], atol=0.015)


@pytest.mark.parametrize("energy", [5.0, 20.0, 100.0, 400.0])
def test_mean_depth_of_shower_maximum_of_photons(energy):
    """<t_max> = ln(E/E_c) + 0.5 X0 for photons (PDG); tolerance 0.15 X0."""
    data = simulate("srgamma", "photon", 1000, energy, seed=4, truth=True)
    expected = np.log(energy / E_C_GEV) + 0.5
    assert data["shower_max_x0"].mean() == pytest.approx(expected, abs=0.15)


def test_electrons_start_at_the_face_photons_one_conversion_length_deeper():
    e = simulate("srgamma", "electron", 2000, 50.0, seed=5, truth=True)["shower_max_x0"]
    g = simulate("srgamma", "photon", 2000, 50.0, seed=5, truth=True)["shower_max_x0"]
    assert g.mean() - e.mean() == pytest.approx(9 / 7, abs=0.1)


@pytest.mark.parametrize("particle", ["photon", "pi0"])
def test_energy_bookkeeping_is_exact(particle):
    data = simulate("srgamma", particle, 600, 50.0, seed=6, truth=True)
    total = (data["hr"].sum((1, 2), dtype=np.float64) + data["out_of_window_gev"]
             + data["leakage_gev"])
    np.testing.assert_allclose(total, data["energy"], rtol=2e-6)
    assert (data["leakage_gev"] > 0).all()
    assert (data["out_of_window_gev"] > -1e-5).all()


def test_lr_is_the_exact_4x4_sum_of_hr_and_layout():
    data = simulate("srgamma", "pi0", 300, 20.0, seed=7)
    hr, lr = data["hr"], data["lr"]
    assert hr.shape == (300, 96, 96) and hr.dtype == np.float32
    assert lr.shape == (300, 24, 24) and lr.dtype == np.float32
    expected = hr.reshape(300, 24, 4, 24, 4).sum(axis=(2, 4), dtype=np.float64)
    np.testing.assert_array_equal(lr, expected.astype(np.float32))
    assert (hr >= 0).all()
    assert set(data) == {"hr", "lr", "energy", "pdg", "opening_angle_rad", "impact_xy_mm"}
    assert (data["pdg"] == 111).all() and data["pdg"].dtype == np.int32


def test_pi0_opening_angle_cut_and_fraction_kept():
    data = simulate("srgamma", "pi0", 5000, 20.0, seed=8)
    angle = data["opening_angle_rad"]
    assert angle.max() <= np.radians(2.0)
    assert angle.min() >= kinematics.min_opening_angle(20.0) * (1 - 1e-6)
    # Paper: "around 94% and 99%" kept at 20 and 50 GeV; exact kinematics give 92.2% and 98.8%.
    expected = kinematics.opening_angle_cdf(np.radians(2.0), 20.0)
    assert data.attrs["pi0_fraction_kept"] == pytest.approx(expected, abs=0.01)


def test_pi0_photons_are_resolved_in_hr_more_than_in_lr():
    """The two photons of a 20 GeV pi0 are ≥ 17 mm apart at the face (PHYSICS.md §3): more than
    three 5.5 mm cells but less than one 22 mm crystal, so the hottest HR cell of a pi0 holds a
    much smaller share of the energy than a photon's, and the hottest LR crystal less so."""

    def hottest_share(images):
        return (images.max((1, 2)) / images.sum((1, 2))).mean()

    g = simulate("srgamma", "photon", 500, 20.0, seed=9)
    p = simulate("srgamma", "pi0", 500, 20.0, seed=9)
    hr_ratio = hottest_share(p["hr"]) / hottest_share(g["hr"])
    lr_ratio = hottest_share(p["lr"]) / hottest_share(g["lr"])
    assert hr_ratio < 0.8
    assert hr_ratio < lr_ratio - 0.03


def test_six_by_six_window_keeps_about_99_percent():
    """Paper §2: the 6×6 LR window with the largest sum keeps ~99% of the image energy.

    GFlash's power-law radial tail puts a little more energy far out than Geant4 did: caloml
    gives 98.4% at 20 and 50 GeV (README, deviations), hence the range 0.975–0.995.
    """
    for particle in ("photon", "pi0"):
        data = simulate("srgamma", particle, 500, 50.0, seed=11)
        window, _, _ = select_window(data["lr"], data["hr"])
        kept = window.sum((1, 2)) / data["lr"].sum((1, 2))
        assert 0.975 < kept.mean() < 0.995, (particle, kept.mean())


def test_gun_smearing():
    data = simulate("srgamma", "photon", 3000, 20.0, seed=10)
    xy = data["impact_xy_mm"]
    np.testing.assert_allclose(xy.std(0), 44.0, rtol=0.05)
    np.testing.assert_allclose(xy.mean(0), 0.0, atol=3 * 44 / np.sqrt(3000))
    # The image barycentre follows the impact point.
    x = (np.arange(96) - 47.5) * 5.5
    e = data["hr"].sum((1, 2))
    bary_x = data["hr"].sum(2) @ x / e
    inside = np.abs(xy[:, 0]) < 150
    np.testing.assert_allclose(bary_x[inside], xy[inside, 0], atol=3.0)


def test_expected_images_without_noise_are_smooth_and_noise_keeps_the_sum():
    geometry = dataclasses.replace(srgamma.SRGammaGeometry(), gun_sigma_mm=0.0)
    rng = np.random.default_rng(0)
    clean = srgamma.simulate_chunk("photon", np.full(50, 50.0), rng, geometry, add_noise=False)
    rng = np.random.default_rng(0)
    noisy = srgamma.simulate_chunk("photon", np.full(50, 50.0), rng, geometry)
    np.testing.assert_allclose(noisy["hr"].sum((1, 2)), clean["hr"].sum((1, 2)), rtol=1e-5)
    # Spot fluctuations leave most far cells empty; the expected image is never zero nearby.
    assert (clean["hr"][:, 40:56, 40:56] > 0).all()
    assert (noisy["hr"] == 0).mean() > 0.3
