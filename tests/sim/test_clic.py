"""The CLIC ECAL + HCAL geometry (paper 003 §2): layout, calibration, resolution, angles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize

from caloml import errors, observables, sim
from caloml.io import schema
from caloml.sim import clic

GEOMETRY = clic.ClicGeometry()
ECAL_DEPTH_MM = GEOMETRY.layers["depth_mm"][: GEOMETRY.num_ecal_layers]


def sums(data) -> tuple[np.ndarray, np.ndarray]:
    """ECAL and HCAL window sums per event (GeV)."""
    return (data["ECAL"].sum(axis=(1, 2, 3), dtype=np.float64),
            data["HCAL"].sum(axis=(1, 2, 3), dtype=np.float64))


def wrap(angle: np.ndarray) -> np.ndarray:
    return np.angle(np.exp(1j * angle))


@pytest.fixture(scope="module")
def electrons():
    return sim.simulate("clic", "electron", 300, energy_gev=(2.0, 500.0), seed=11, truth=True)


@pytest.fixture(scope="module")
def pions():
    return sim.simulate("clic", "piplus", 300, energy_gev=(2.0, 500.0), seed=12, truth=True)


def test_layers_match_the_lcd_design():
    layers = GEOMETRY.layers
    assert GEOMETRY.num_ecal_layers == 25 and len(layers["depth_mm"]) == 25 + 60
    # PHYSICS.md §6: the ECAL is ≈ 23 X0 and ≈ 1 λ (0.82 λ from W + Si alone); HCAL ≈ 7 λ.
    assert layers["edges_x0"][25] == pytest.approx(22.76, abs=0.05)
    assert layers["edges_lambda"][25] == pytest.approx(0.823, abs=0.005)
    assert layers["edges_lambda"][-1] - layers["edges_lambda"][25] == pytest.approx(7.02, abs=0.01)
    # 17 thin then 8 thick layers; the HCAL starts at 1700 mm, 200 mm behind the ECAL face.
    pitch = np.diff(ECAL_DEPTH_MM)
    np.testing.assert_allclose(pitch[:16], 2.9)
    np.testing.assert_allclose(pitch[17:], 5.3)
    assert layers["depth_mm"][25] == pytest.approx(200.0 + 19.0 + 1.5)
    # A MIP reads 5.5 MeV / ê = 7.8 MeV per thin layer at the EM scale.
    assert layers["hit_gev"][0] == pytest.approx(0.0078, abs=1e-4)
    assert np.all(layers["hit_shape"] > 0)


def test_files_have_the_triforce_layout(electrons, pions):
    for data, pdg in ((electrons, 11), (pions, 211)):
        for field in schema.CLIC.fields:
            array = data[field.key]
            assert array.shape == (300, *field.shape), field.key
            assert array.dtype == np.dtype(field.dtype), field.key
        assert np.all(data["pdgID"] == pdg)
        assert np.all(data["ECAL"] >= 0) and np.all(data["HCAL"] >= 0)
        assert np.all((data["theta"] >= 1.047) & (data["theta"] <= 2.094))
        np.testing.assert_allclose(data["eta"], -np.log(np.tan(data["theta"] / 2)), atol=1e-6)
        assert np.all(data["openingAngle"] == 0)
    minus = sim.simulate("clic", "piminus", 4, energy_gev=50.0, seed=1)
    assert np.all(minus["pdgID"] == -211)


def test_electron_sum_is_calibrated_to_the_incident_energy():
    for energy in (10.0, 50.0, 200.0):
        data = sim.simulate("clic", "electron", 200, energy_gev=energy, seed=3)
        ecal, hcal = sums(data)
        ratio = (ecal + hcal) / energy
        # Calibrated per section: <sum/E> = 1 minus ≈ 0.1% outside the windows.
        assert ratio.mean() == pytest.approx(1.0, abs=3 * ratio.std() / math.sqrt(200) + 0.003)


def test_noise_free_energy_bookkeeping_is_exact():
    data = clic.simulate_chunk("electron", np.array([5.0, 80.0, 450.0]),
                               np.random.default_rng(0), add_noise=False)
    ecal, hcal = sums(data)
    total = ecal + hcal + data["out_of_window_gev"] + data["leakage_gev"]
    np.testing.assert_allclose(total, data["energy"], rtol=1e-5)


@pytest.mark.slow
def test_electron_resolution_has_a_w_si_stochastic_term():
    energies = np.array([5.0, 20.0, 100.0, 400.0])
    sigma = []
    for energy in energies:
        ecal, hcal = sums(sim.simulate("clic", "electron", 300, energy_gev=energy, seed=4,
                                       workers=2))
        sigma.append(np.std((ecal + hcal) / energy))
    (a, b), _ = optimize.curve_fit(lambda e, a, b: np.sqrt(a**2 / e + b**2), energies,
                                   np.array(sigma), p0=(0.15, 0.01))
    # Measured: a = 15.0%, b = 0.7% (README). W/Si calorimeters: CALICE 16.5%/√E ⊕ 1.1%,
    # CLIC ECAL design ≈ 15%/√E ⊕ 1% (PHYSICS.md §2).
    assert 0.12 < abs(a) < 0.19
    assert abs(b) < 0.02


def test_hcal_ecal_ratio_separates_electrons_from_pions(electrons, pions):
    e_ecal, e_hcal = sums(electrons)
    p_ecal, p_hcal = sums(pions)
    e_ratio = e_hcal / e_ecal
    p_ratio = p_hcal / np.maximum(p_ecal, 1e-12)
    # Paper Fig. 2: electrons below 0.1 (their ECAL is 23 X0), most pions far above.
    assert np.mean(e_ratio < 0.1) > 0.99
    assert np.mean(p_ratio > 0.1) > 0.8
    assert np.median(p_ratio) > 100 * np.median(e_ratio)
    # Paper Fig. 3: the HCAL/ECAL < 0.1 selection keeps mostly low-energy pions.
    low = pions["energy"] < 50
    passed = p_ratio < 0.1
    assert passed[low].mean() > passed[~low].mean()


def test_reco_angles_track_the_truth():
    photons = sim.simulate("clic", "photon", 100, energy_gev=(10.0, 500.0), seed=5)
    np.testing.assert_allclose(photons["recoEta"], photons["eta"], atol=0.003)
    np.testing.assert_allclose(wrap(photons["recoPhi"] - photons["phi"]), 0.0, atol=0.003)
    np.testing.assert_allclose(photons["recoTheta"], photons["theta"], atol=0.003)


@pytest.mark.parametrize("particle, low, high", [("electron", 0.95, 1.05), ("piplus", 1.0, 1.5)])
def test_charged_particles_bend_in_the_solenoid(particle, low, high):
    data = sim.simulate("clic", particle, 100, energy_gev=20.0, seed=6)
    # Impact azimuth φ − q·asin(0.3 B R / 2 p_T): ≈ 0.09 rad at 20 GeV. The barycentre lies
    # deeper along the (y-inclined) track: w/(R + w) more, ≈ 2% for electrons, up to ≈ 30% for
    # pions showering in the HCAL.
    bend = np.arcsin(0.2998 * 4.0 * 1.5 / (2 * 20.0 * np.sin(data["theta"])))
    shift = wrap(data["recoPhi"] - data["phi"])
    ratio = np.median(shift / (-clic.CHARGE[particle] * bend))
    assert low < ratio < high
    straight = sim.simulate("clic", particle, 50, energy_gev=20.0, seed=6, magnetic_field_t=0)
    assert np.median(np.abs(wrap(straight["recoPhi"] - straight["phi"]))) < 0.01


@pytest.mark.parametrize("theta", [1.047, math.pi / 2, 2.094])
def test_incidence_angle_shifts_the_longitudinal_barycentre(theta):
    data = sim.simulate("clic", "photon", 32, energy_gev=100.0, seed=7, theta_rad=theta)
    # The beam runs along y, as in the Triforce files: dy/dz = cot θ; nothing moves along x.
    # Per event: pooling events would mix windows centred at different depths (each window is
    # centred on its own shower) and flatten the slope.
    slopes = [observables.showers.layer_barycentre_slopes(data["ECAL"], ECAL_DEPTH_MM,
                                                  GEOMETRY.ecal_cell_mm, axis=axis)
              for axis in (1, 0)]
    assert np.median(slopes[0]) == pytest.approx(1 / math.tan(theta), abs=0.01)
    assert abs(np.median(slopes[1])) < 0.01


def test_fixed_angle_is_normal_incidence():
    data = sim.simulate("clic", "electron", 8, energy_gev=50.0, seed=8, fixed_angle=True)
    np.testing.assert_allclose(data["theta"], math.pi / 2, atol=1e-6)
    assert data.attrs["fixed_angle"] is True


def test_pi0_opening_angle_selection():
    data = sim.simulate("clic", "pi0", 80, seed=9, select_opening_angle_rad=0.01)
    assert np.all(data["openingAngle"] < 0.01)
    # No pi0 below 2m/0.01 = 27 GeV can pass: the selection reshapes the spectrum (Fig. 5).
    assert data["energy"].min() > 27.0
    assert 0.5 < data.attrs["fraction_selected"] < 1.0
    with pytest.raises(errors.InputError, match="no event would pass"):
        sim.simulate("clic", "pi0", 4, energy_gev=5.0, select_opening_angle_rad=0.01)


@pytest.mark.slow
def test_pion_hcal_ecal_selection():
    data = sim.simulate("clic", "piplus", 30, energy_gev=(2.0, 20.0), seed=10,
                        select_hcal_ecal_ratio=0.1)
    ecal, hcal = sums(data)
    assert np.all(hcal < 0.1 * ecal)
    assert 0.0 < data.attrs["fraction_selected"] < 0.5


def test_sampling_noise_has_the_stochastic_variance():
    rng = np.random.default_rng(0)
    mu, q, k = 0.05, 0.0078, 0.5
    images = np.full((400, 2, 10, 10), mu, np.float32)
    noisy = clic.sampling_noise(images, np.full((400, 2), q), np.full(2, k), rng)
    assert noisy.mean() == pytest.approx(mu, rel=0.02)
    # Var = q (1 + 1/k) μ = a² μ.
    assert noisy.var() == pytest.approx(q * (1 + 1 / k) * mu, rel=0.05)


@pytest.mark.parametrize("options, message", [
    (dict(theta_rad=(2.0, 1.0)), "theta_rad"),
    (dict(theta_rad=3.1), "theta_rad"),
    (dict(fixed_angle=True, theta_rad=1.2), "either fixed_angle or theta_rad"),
    (dict(select_hcal_ecal_ratio=-1.0), "select_hcal_ecal_ratio"),
])
def test_bad_options_are_refused(options, message):
    with pytest.raises(errors.InputError, match=message):
        sim.simulate("clic", "electron", 2, **options)
