"""The CLIC ECAL + HCAL (paper 003 §2): layout, readout, Si spectrum, angles, conversions."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys

import h5py
import numpy as np
import pytest
from scipy import optimize, stats

from caloml import errors, observables, sim
from caloml.io import schema
from caloml.sim import CHUNK_SIZE, clic


def _phi_sf(lam):
    """Survival function of Landau's φ(λ), through scipy's S1 form (caloml.sim.landau)."""
    return stats.landau.sf((np.asarray(lam) - math.log(math.pi / 2)) * 2 / math.pi)

GEOMETRY = clic.ClicGeometry()
LAYERS = GEOMETRY.layers
ECAL_DEPTH_MM = LAYERS["depth_mm"][: GEOMETRY.num_ecal_layers]


def sums(data) -> tuple[np.ndarray, np.ndarray]:
    """ECAL and HCAL window sums per event (GeV, as stored)."""
    return (data["ECAL"].sum(axis=(1, 2, 3), dtype=np.float64),
            data["HCAL"].sum(axis=(1, 2, 3), dtype=np.float64))


def wrap_half(angle: np.ndarray) -> np.ndarray:
    """Angle difference modulo π in [−π/2, π/2): recoPhi = atan(y/x) is only defined modulo π."""
    return (np.asarray(angle) + np.pi / 2) % np.pi - np.pi / 2


@pytest.fixture(scope="module")
def electrons():
    return sim.simulate("clic", "electron", 300, energy_gev=(2.0, 500.0), seed=11, truth=True)


@pytest.fixture(scope="module")
def pions():
    return sim.simulate("clic", "piplus", 300, energy_gev=(2.0, 500.0), seed=12, truth=True)


def test_layers_match_the_clic_o2_v04_barrel():
    assert GEOMETRY.num_ecal_layers == 25 and len(LAYERS["depth_mm"]) == 25 + 60
    # lcgeo CLIC_o2_v04: 17 × 4.4 mm + 8 × 6.8 mm of ECAL (2.4 / 4.8 mm of 17.8 g/cm³ W alloy,
    # 0.5 mm Si, Cu PCB) = 21.1 X0 and 0.87 λ_I; HCAL 60 × 26.5 mm (20 mm steel) = 7.5 λ_I.
    assert LAYERS["layer_edges_x0"][25] == pytest.approx(21.10, abs=0.01)
    assert LAYERS["layer_edges_lambda"][25] == pytest.approx(0.873, abs=0.003)
    hcal_lambda = LAYERS["layer_edges_lambda"][-1] - LAYERS["layer_edges_lambda"][25]
    assert hcal_lambda == pytest.approx(7.49, abs=0.01)
    np.testing.assert_allclose(np.diff(ECAL_DEPTH_MM)[:16], 4.4)
    np.testing.assert_allclose(np.diff(ECAL_DEPTH_MM)[16:], 6.8)
    assert LAYERS["front_mm"][25] + GEOMETRY.ecal_front_mm == 1697.0
    assert LAYERS["front_mm"][-1] + 26.5 + GEOMETRY.ecal_front_mm == pytest.approx(3287.0)
    # Sampling cells tile the depth, each around its plate, and share the layers' MIP loss.
    edges = LAYERS["edges_x0"]
    assert edges[0] == 0 and edges[-1] == pytest.approx(LAYERS["layer_edges_x0"][-1])
    assert np.all((LAYERS["plate_x0"] > edges[:-1]) & (LAYERS["plate_x0"] < edges[1:]))
    total_mip_mev = 17 * 5.852 + 8 * 10.839 + 60 * 23.74
    assert 1e3 * LAYERS["mip_gev"].sum() == pytest.approx(total_mip_mev)
    # ê·f_mip: a MIP loses 0.194 MeV (3.88 MeV/cm) of its 5.85 / 10.84 / 23.74 MeV in the Si or
    # the 3 mm of polystyrene (0.60 MeV); ê = 0.704 (W/Si) and 0.876 (steel/scintillator).
    assert LAYERS["em_fraction"][8] == pytest.approx(0.704 * 0.1938 / 5.852, rel=1e-3)
    assert LAYERS["em_fraction"][20] == pytest.approx(0.704 * 0.1938 / 10.839, rel=1e-3)
    assert LAYERS["em_fraction"][50] == pytest.approx(0.876 * 0.5994 / 23.74, rel=1e-3)
    np.testing.assert_array_equal(LAYERS["readout"], clic.FILE_SCALE)


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
        # Convert_to_txt.py: openingAngle -1 without a pi0 -> gamma gamma, no conversions.
        assert np.all(data["openingAngle"] == -1)
        assert np.all(data["conversion"] == 0)
        # recoPhi = atan(y/x).
        assert np.all(np.abs(data["recoPhi"]) <= np.pi / 2)
    minus = sim.simulate("clic", "piminus", 4, energy_gev=50.0, seed=1)
    assert np.all(minus["pdgID"] == -211)


def test_files_store_raw_active_energy_times_50():
    # Convert_to_h5.py stores Geant4's energyDeposit (MeV) of the Si / scintillator cells
    # /1000*50: per event, the windows are 50 × the raw active energy (here the expected one of
    # the GFlash deposits, noise-free), and ECAL/50/E is the sampling fraction.
    data = clic.simulate_chunk("electron", np.full(8, 100.0), np.random.default_rng(2),
                               add_noise=False)
    ecal = data["ECAL"].astype(np.float64)
    em = clic.simulate_chunk("electron", np.full(8, 100.0), np.random.default_rng(2),
                             geometry=clic.make_geometry(readout="em_scale"), add_noise=False)
    np.testing.assert_allclose(
        ecal, em["ECAL"] * (clic.FILE_SCALE * LAYERS["em_fraction"][:25]), rtol=2e-6, atol=1e-9)
    fraction = ecal.sum(axis=(1, 2, 3)) / clic.FILE_SCALE / 100.0
    # Between the thick and thin layers' ê·f_mip, nearer the thin ones (shower maximum at 7 X0).
    assert np.all((fraction > LAYERS["em_fraction"][20]) & (fraction < LAYERS["em_fraction"][8]))


def test_sampling_fraction_falls_with_energy():
    # 3DGAN Fig. 10 / paper 003 Fig. 9 plot ECAL/Ep of the raw Si sum: ≈ 0.02, falling with E
    # as the showers reach the thick layers (f_mip 1.8% against 3.3%) and leak out of the back.
    means = []
    for energy in (10.0, 100.0, 400.0):
        ecal, _ = sums(sim.simulate("clic", "electron", 100, energy_gev=energy, seed=3,
                                    fixed_angle=True))
        fraction = ecal / clic.FILE_SCALE / energy
        means.append((fraction.mean(), fraction.std() / math.sqrt(len(fraction))))
    assert 0.019 < means[0][0] < 0.023 and 0.016 < means[2][0] < 0.020
    for (high, high_err), (low, low_err) in zip(means, means[1:], strict=False):
        assert high - low > 3 * math.hypot(high_err, low_err)


def test_raw_z_profile_has_no_step_at_the_thick_layers():
    # Each Si plate samples the shower's particle flux where it sits: the raw energy per layer
    # follows one smooth curve in depth across the change from 2.4 to 4.8 mm of W (layer 16 ->
    # 17), as in the files. Calibrated to the EM scale, each cell holds the energy of its own
    # X0, which doubles there: smooth per X0, not per layer.
    plate = LAYERS["plate_x0"][:25]
    width = np.diff(LAYERS["edges_x0"])[:25]
    profiles = {}
    for readout in clic.READOUTS:
        data = sim.simulate("clic", "electron", 128, energy_gev=100.0, seed=4, fixed_angle=True,
                            readout=readout)
        profiles[readout] = data["ECAL"].sum(axis=(1, 2), dtype=np.float64).mean(axis=0)

    def jump(log_profile, a, b):
        """ln E_b − ln E_a minus its prediction from the slopes on either side."""
        before = (log_profile[a] - log_profile[a - 3]) / (plate[a] - plate[a - 3])
        after = (log_profile[b + 3] - log_profile[b]) / (plate[b + 3] - plate[b])
        return log_profile[b] - log_profile[a] - 0.5 * (before + after) * (plate[b] - plate[a])

    raw = np.log(profiles["files"])
    em = np.log(profiles["em_scale"])
    for a, b in ((16, 17), (15, 17)):
        assert abs(jump(raw, a, b)) < 0.07
        assert abs(jump(em - np.log(width), a, b)) < 0.07
    # Per cell, the EM-scale profile steps up with the cells' X0 (0.65 -> 0.95 -> 1.26 X0):
    # ln(1.26/0.65) = 0.66.
    assert jump(em, 15, 17) == pytest.approx(math.log(width[17] / width[15]), abs=0.07)


def test_em_scale_sum_is_calibrated_to_the_incident_energy():
    for energy in (10.0, 50.0, 200.0):
        data = sim.simulate("clic", "electron", 200, energy_gev=energy, seed=3,
                            readout="em_scale")
        ecal, hcal = sums(data)
        ratio = (ecal + hcal) / energy
        # Calibrated per cell: <sum/E> = 1 minus ≈ 0.2% outside the windows.
        assert ratio.mean() == pytest.approx(1.0, abs=3 * ratio.std() / math.sqrt(200) + 0.004)


@pytest.mark.parametrize("particle", ["electron", "photon", "pi0"])
def test_noise_free_energy_bookkeeping_is_exact(particle):
    data = clic.simulate_chunk(particle, np.array([5.0, 80.0, 450.0] * 8),
                               np.random.default_rng(0), add_noise=False)
    per_deposit = GEOMETRY.stored_per_deposit()
    deposited = (data["ECAL"].astype(np.float64) / per_deposit[:25]).sum(axis=(1, 2, 3)) + (
        data["HCAL"].astype(np.float64) / per_deposit[25:]).sum(axis=(1, 2, 3))
    total = deposited + data["out_of_window_gev"] + data["leakage_gev"]
    np.testing.assert_allclose(total, data["energy"], rtol=1e-5)


@pytest.mark.slow
def test_electron_resolution_has_a_w_si_stochastic_term():
    energies = np.array([5.0, 20.0, 100.0, 400.0])
    sigma = {readout: [] for readout in clic.READOUTS}
    for energy in energies:
        for readout in clic.READOUTS:
            ecal, hcal = sums(sim.simulate("clic", "electron", 300, energy_gev=energy, seed=4,
                                           workers=2, readout=readout))
            total = ecal + hcal
            sigma[readout].append(np.std(total) / np.mean(total))
    (a, b), _ = optimize.curve_fit(lambda e, a, b: np.sqrt(a**2 / e + b**2), energies,
                                   np.array(sigma["em_scale"]), p0=(0.15, 0.01))
    # W/Si calorimeters: CALICE 16.5%/√E ⊕ 1.1%, CLIC ECAL design ≈ 15%/√E ⊕ 1% (PHYSICS.md §2).
    assert 0.12 < abs(a) < 0.19
    assert abs(b) < 0.02
    # The raw sum weighs the thick layers half: shower-depth fluctuations add a constant term of
    # a few per cent (paper 003 App. D: the linear regression on the sums reaches 3-4% at
    # 500 GeV, the mean depth as a feature improves it 3-4×).
    assert 0.025 < sigma["files"][-1] < 0.06
    assert sigma["files"][-1] > 2 * sigma["em_scale"][-1]


def test_landau_loss_follows_the_pdg_formula():
    # ξ = (K/2)(Z/A)ρx/β² for 0.5 mm Si at βγ = 3.5 (β² = 12.25/13.25).
    mpv, xi = clic.SILICON.landau(0.5, 3.5)
    assert xi == pytest.approx(0.5 * 0.307075 * 0.49848 * 2.329 * 0.05 * 13.25 / 12.25)
    # A MIP's most probable loss in 300 µm of Si is ≈ 22,000 e-h pairs × 3.6 eV ≈ 80 keV.
    assert clic.SILICON.landau(0.3, 3.5)[0] == pytest.approx(0.080, rel=0.05)
    # 0.7 of the Bethe mean (3.88 MeV/cm) in 0.5 mm at minimum ionisation.
    assert mpv / clic.SILICON.mean_mip_loss_mev(0.5) == pytest.approx(0.70, abs=0.02)
    # The relativistic rise, ≈ 7% up to the Fermi plateau where the density effect stops it.
    rise = clic.SILICON.landau(0.5, np.array([3.5, 20.0, 100.0, 1000.0, 1e4]))[0]
    assert np.all(np.diff(rise[:4]) > 0)
    assert rise[3] / rise[0] == pytest.approx(1.07, abs=0.01)
    assert rise[4] == pytest.approx(rise[3], rel=1e-5)


def test_single_hits_sit_at_the_mip_peak_with_a_landau_tail():
    spectrum = GEOMETRY.hit_spectrum.take(np.array([0]))
    mpv, xi, cut = spectrum.mpv_gev[0], spectrum.xi_gev[0], spectrum.max_lambda[0]
    # Cells expecting 0.02 hits: 99% of the non-empty ones hold one hit.
    images = np.full((200, 1, 50, 50), 0.02 * spectrum.mean_gev[0], np.float32)
    cells = clic.sampling_noise(images, np.ones((200, 1)), spectrum, np.random.default_rng(0))
    values = cells[cells > 0].astype(np.float64)
    assert values.size == pytest.approx(200 * 2500 * (1 - math.exp(-0.02)), rel=0.03)
    counts, edges = np.histogram(values, bins=np.arange(0.5, 3.0, 0.05) * mpv)
    assert 0.5 * (edges[np.argmax(counts)] + edges[np.argmax(counts) + 1]) == pytest.approx(
        mpv, rel=0.05)
    # Landau: λ = (X − Δ_p)/ξ − 0.22278 has the tail P(λ > 20) ≈ (2/π)/20 up to the truncation,
    # and nothing far below the peak.
    lam = (values - mpv) / xi - 0.22278
    expected = (_phi_sf(20.0) - _phi_sf(cut)) / (1 - _phi_sf(cut))
    assert np.mean(lam > 20.0) == pytest.approx(expected, rel=0.1)
    assert np.mean(lam < -4.0) < 1e-3
    # In a shower: the non-empty cells of the thin ECAL layers (50 × raw) peak at the MIP.
    data = sim.simulate("clic", "electron", 32, energy_gev=50.0, seed=2, fixed_angle=True)
    raw = data["ECAL"][..., 1:16].ravel().astype(np.float64) / clic.FILE_SCALE
    counts, edges = np.histogram(raw[raw > 0], bins=np.arange(0.5, 3.0, 0.05) * mpv)
    assert 0.5 * (edges[np.argmax(counts)] + edges[np.argmax(counts) + 1]) == pytest.approx(
        mpv, rel=0.06)


def test_sampling_noise_has_the_stochastic_variance():
    # Var = ⟨X²⟩/⟨X⟩·μ = ê·f·a²·μ in active energy, i.e. a²μ at the EM scale; hadronic hits (s)
    # multiply it by s.
    for layer in (3, 20, 40):
        spectrum = GEOMETRY.hit_spectrum.take(np.array([layer]))
        target = LAYERS["em_fraction"][layer] * LAYERS["stochastic_term"][layer] ** 2
        for scale, mu_hits in ((1.0, 0.5), (1.0, 30.0), (5.0, 3.0)):
            mu = mu_hits * scale * spectrum.mean_gev[0]
            # 4M cells: the truncated Landau tail makes the sample variance converge slowly.
            images = np.full((2500, 1, 40, 40), mu, np.float32)
            noisy = clic.sampling_noise(images, np.full((2500, 1), scale), spectrum,
                                        np.random.default_rng(layer)).astype(np.float64)
            assert noisy.mean() == pytest.approx(mu, rel=0.005)
            assert noisy.var() == pytest.approx(scale * target * mu, rel=0.04)


def test_hadronic_hits_carry_the_hadronic_stochastic_term():
    dep = clic.pion_deposits("piplus", np.full(64, 50.0),
                             clic.draw_tracks("piplus", np.full(64, 50.0),
                                              np.random.default_rng(0), GEOMETRY),
                             np.random.default_rng(1), GEOMETRY)
    index = np.arange(25, 85)
    scale = clic._hit_scale(dep, index, GEOMETRY)
    share = np.divide(dep.hadronic_gev[:, index], dep.shower_gev[:, index],
                      out=np.zeros((64, 60)), where=dep.shower_gev[:, index] > 0)
    a2 = (1 - share) * 0.22**2 + share * GEOMETRY.hadronic_stochastic_term**2
    np.testing.assert_allclose(scale * 0.22**2, a2)
    assert scale.max() > 5.0


def test_pion_track_has_the_relativistic_rise():
    # Layer 0 of a π± at normal incidence without field holds its track's loss in 0.5 mm of Si
    # (it interacts there in 2% of the events): median of the truncated Landau at its βγ.
    medians = {}
    for energy in (2.0, 100.0):
        data = sim.simulate("clic", "piplus", 400, energy_gev=energy, seed=5, fixed_angle=True,
                            magnetic_field_t=0.0)
        layer_0 = data["ECAL"][..., 0].sum(axis=(1, 2), dtype=np.float64) / clic.FILE_SCALE
        medians[energy] = np.median(layer_0[layer_0 > 0])
    cut = GEOMETRY.hit_spectrum.max_lambda[0]
    grid = np.linspace(-3, 10, 130_001)
    cdf = (1 - _phi_sf(grid)) / (1 - _phi_sf(cut))
    median_lambda = grid[np.searchsorted(cdf, 0.5)]
    for energy, median in medians.items():
        mpv, xi = clic.SILICON.landau(0.5, math.sqrt(energy**2 - 0.13957**2) / 0.13957)
        assert median == pytest.approx(1e-3 * (mpv + xi * (median_lambda + 0.22278)), rel=0.02)
    assert medians[100.0] / medians[2.0] > 1.03


def test_reco_angles_are_computed_as_in_convert_to_h5():
    # A hand-built barycentre: 20 mm deep, 30 mm across (r·φ) and 400 mm along the beam from
    # the impact at φ = 2.5 rad (|φ| > π/2), 1500 mm from the axis.
    tracks = clic.Tracks(theta=np.array([1.3]), phi=np.array([2.5]),
                         impact_u_mm=np.array([0.0]), impact_v_mm=np.array([1500.0 * 2.5]),
                         impact_phi=np.array([2.5]), slope_u=np.zeros(1), slope_v=np.zeros(1))
    theta, eta, phi = clic._reco_angles(np.array([400.0]), np.array([1500.0 * 2.5 + 30.0]),
                                        np.array([20.0]), tracks, GEOMETRY)
    x = 1520.0 * math.cos(2.5) - 30.0 * math.sin(2.5)
    y = 1520.0 * math.sin(2.5) + 30.0 * math.cos(2.5)
    assert theta[0] == pytest.approx(math.acos(400.0 / math.sqrt(x**2 + y**2 + 400.0**2)))
    assert eta[0] == pytest.approx(-math.log(math.tan(theta[0] / 2)))
    # getPhi: math.atan(y/x), not atan2: π off the azimuth of the point.
    assert phi[0] == pytest.approx(math.atan(y / x))
    assert phi[0] == pytest.approx(math.atan2(y, x) - math.pi)


def test_reco_angles_track_the_truth():
    photons = sim.simulate("clic", "photon", 100, energy_gev=(10.0, 500.0), seed=5,
                           tracker_x0=0.0)
    np.testing.assert_allclose(photons["recoEta"], photons["eta"], atol=0.003)
    np.testing.assert_allclose(wrap_half(photons["recoPhi"] - photons["phi"]), 0.0, atol=0.003)
    np.testing.assert_allclose(photons["recoTheta"], photons["theta"], atol=0.003)
    folded = np.abs(photons["phi"]) > np.pi / 2
    assert 0 < folded.sum() < 100
    np.testing.assert_allclose(photons["recoPhi"][folded],
                               photons["phi"][folded] - np.pi * np.sign(photons["phi"][folded]),
                               atol=0.003)


def test_barycentre_counts_the_energy_outside_the_windows():
    # With 3 × 3-cell windows most of an inclined shower lies outside them; Convert_to_h5.py's
    # barycentre takes every hit cell, so recoTheta still follows the shower axis.
    small = clic.ClicGeometry(ecal_window=(3, 3), hcal_window=(1, 1), theta_rad=(1.1,),
                              tracker_x0=0.0)
    data = clic.simulate_chunk("photon", np.full(16, 100.0), np.random.default_rng(3), small)
    full = clic.simulate_chunk("photon", np.full(16, 100.0), np.random.default_rng(3),
                               dataclasses.replace(small, ecal_window=(51, 51),
                                                   hcal_window=(11, 11)))
    assert np.mean(data["out_of_window_gev"]) > 10.0
    np.testing.assert_allclose(data["recoTheta"], full["recoTheta"], atol=3e-4)
    np.testing.assert_allclose(data["recoTheta"], 1.1, atol=2e-3)


@pytest.mark.parametrize("particle, low, high", [("electron", 0.95, 1.05), ("piplus", 1.0, 1.5)])
def test_charged_particles_bend_in_the_solenoid(particle, low, high):
    data = sim.simulate("clic", particle, 100, energy_gev=20.0, seed=6)
    # Impact azimuth φ − q·asin(0.3 B R / 2p_T): ≈ 0.09 rad at 20 GeV. The barycentre lies
    # deeper along the (y-inclined) track: w/(R + w) more, ≈ 2% for electrons, up to ≈ 30% for
    # pions showering in the HCAL.
    bend = np.arcsin(0.2998 * 4.0 * 1.5 / (2 * 20.0 * np.sin(data["theta"])))
    shift = wrap_half(data["recoPhi"] - data["phi"])
    ratio = np.median(shift / (-clic.CHARGE[particle] * bend))
    assert low < ratio < high
    straight = sim.simulate("clic", particle, 50, energy_gev=20.0, seed=6, magnetic_field_t=0)
    assert np.median(np.abs(wrap_half(straight["recoPhi"] - straight["phi"]))) < 0.01


def test_helix_reaches_the_face_where_the_circle_crosses_it():
    start = np.array([0.0, 700.0, 1000.0, 0.0])
    p_t = np.array([1.0, 2.0, 0.3, 50.0])
    reaches, turn, azimuth, path = clic.helix_to_face(start, p_t, 4.0, 1500.0)
    rho = 1e3 * p_t / (0.299792458 * 4.0)
    x = start + rho * np.sin(turn)
    y = rho * (1 - np.cos(turn))
    np.testing.assert_allclose(np.hypot(x, y)[reaches], 1500.0, rtol=1e-9)
    np.testing.assert_allclose(azimuth[reaches], np.arctan2(y, x)[reaches], rtol=1e-9)
    np.testing.assert_allclose(path, rho * turn)
    # From the axis: sin(α/2) = R/2ρ, the impact at α/2. 0.3 GeV from 1 m curls up (2ρ < 0.5 m).
    assert turn[0] == pytest.approx(2 * math.asin(1500.0 / (2 * rho[0])))
    assert azimuth[0] == pytest.approx(turn[0] / 2)
    np.testing.assert_array_equal(reaches, [True, True, False, True])


def test_photons_convert_in_the_tracker_material():
    # P = 1 − exp(−7/9 · t/sin θ): 8.9% at 90° for the default 0.12 X0, 10.2% at θ = 1.047.
    for tracker_x0, theta in ((0.12, math.pi / 2), (0.12, 1.047), (0.5, math.pi / 2),
                              (0.0, math.pi / 2)):
        geometry = clic.make_geometry(tracker_x0=tracker_x0, theta_rad=theta)
        energy = np.full(4000, 20.0)
        rng = np.random.default_rng(7)
        dep = clic.electromagnetic_deposits("photon", energy,
                                            clic.draw_tracks("photon", energy, rng, geometry),
                                            rng, geometry)
        expected = 1.0 - math.exp(-7.0 / 9.0 * tracker_x0 / math.sin(theta))
        assert dep.conversion.mean() == pytest.approx(
            expected, abs=4 * math.sqrt(expected * (1 - expected) / 4000) + 1e-9)
        # A converted photon's energy is in its two legs, an unconverted one's in leg 0.
        legs = dep.shower_gev.sum(axis=1) + dep.leakage_gev
        np.testing.assert_allclose(legs, energy, rtol=1e-9)
    assert clic.ClicGeometry().tracker_x0 == clic.TRACKER_X0 == 0.12


def test_pair_energy_follows_bethe_heitler():
    x = clic.bethe_heitler_fraction(200_000, np.random.default_rng(8))
    assert np.all((x >= 0) & (x <= 1))
    assert x.mean() == pytest.approx(0.5, abs=0.005)

    def weight(a, b):  # ∫ (1 − 4/3 x(1 − x)) dx
        return (b - a) - 4 / 3 * ((b**2 - a**2) / 2 - (b**3 - a**3) / 3)

    observed = np.mean(x < 0.1) / np.mean((x > 0.45) & (x < 0.55))
    assert observed == pytest.approx(weight(0.0, 0.1) / weight(0.45, 0.55), rel=0.03)


def test_converted_photons_shower_apart_along_r_phi():
    # The e+ and e− bend apart in the 4 T field before the ECAL (≈ 50 mm each for 25 GeV legs of
    # a conversion near the beam): a converted 50 GeV photon's energy spreads along x (r·φ),
    # not along y (the beam).
    geometry = clic.make_geometry(fixed_angle=True, tracker_x0=2.0)
    data = clic.simulate_chunk("photon", np.full(64, 50.0), np.random.default_rng(9), geometry)
    converted = data["conversion"] == 1
    assert 0.6 < converted.mean() < 0.9

    def spread(axis):
        profile = data["ECAL"].sum(axis=(3, 2 if axis == 1 else 1), dtype=np.float64)
        cells = np.arange(51)
        mean = profile @ cells / profile.sum(axis=1)
        return np.sqrt(profile @ cells**2 / profile.sum(axis=1) - mean**2)

    along_x, along_y = spread(1), spread(2)
    assert np.median(along_x[converted]) > 1.8 * np.median(along_x[~converted])
    assert np.median(along_y[converted]) < 1.2 * np.median(along_y[~converted])


def test_pi0_conversions_count_both_photons():
    data = sim.simulate("clic", "pi0", 200, energy_gev=100.0, seed=10, tracker_x0=1.0)
    # Two photons of > 1 GeV (a 100 GeV π⁰'s softer photon is below 1 GeV in 1% of decays),
    # each converting with 1 − exp(−7/9 t/sin θ) ≈ 0.57.
    assert set(np.unique(data["conversion"])) == {0, 1, 2}
    p = 1 - np.exp(-7 / 9 / np.sin(data["theta"]))
    assert data["conversion"].mean() == pytest.approx(2 * p.mean(), abs=0.1)


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


def test_hcal_ecal_ratio_separates_electrons_from_pions(electrons, pions):
    e_ecal, e_hcal = sums(electrons)
    p_ecal, p_hcal = sums(pions)
    e_ratio = e_hcal / e_ecal
    p_ratio = p_hcal / np.maximum(p_ecal, 1e-12)
    # Paper Fig. 2: electrons below 0.1 (their ECAL is 21 X0), most pions far above.
    assert np.mean(e_ratio < 0.1) > 0.98
    assert np.mean(p_ratio > 0.1) > 0.8
    assert np.median(p_ratio) > 100 * np.median(e_ratio)
    # Paper Fig. 3: the HCAL/ECAL < 0.1 selection keeps mostly low-energy pions.
    low = pions["energy"] < 50
    passed = p_ratio < 0.1
    assert passed[low].mean() > passed[~low].mean()


def test_fixed_angle_is_normal_incidence():
    data = sim.simulate("clic", "electron", 8, energy_gev=50.0, seed=8, fixed_angle=True)
    np.testing.assert_allclose(data["theta"], math.pi / 2, atol=1e-6)
    assert data.attrs["fixed_angle"] is True


def test_pi0_opening_angle_selection():
    data = sim.simulate("clic", "pi0", 80, seed=9, select_opening_angle_rad=0.01)
    assert np.all(data["openingAngle"] < 0.01) and np.all(data["openingAngle"] > 0)
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


@pytest.mark.slow
def test_same_seed_gives_identical_arrays_whatever_the_number_of_workers():
    n = CHUNK_SIZE + 17
    one = sim.simulate("clic", "pi0", n, energy_gev=(2.0, 30.0), seed=12, workers=1, truth=True)
    two = sim.simulate("clic", "pi0", n, energy_gev=(2.0, 30.0), seed=12, workers=2, truth=True)
    for key in one:
        np.testing.assert_array_equal(one[key], two[key], err_msg=key)
    assert one["conversion"].sum() > 0


def test_cli_writes_the_readout_and_tracker_options(tmp_path):
    out = tmp_path / "gamma.h5"
    proc = subprocess.run(
        [sys.executable, "-m", "caloml.sim", "--geometry=clic", "--particle=photon",
         "--num_showers=3", "--workers=1", "--energy=20", "--readout=em_scale",
         "--tracker_x0=0.3", f"--output={out}"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r") as h5:
        assert h5.attrs["readout"] == "em_scale"
        assert h5.attrs["tracker_x0"] == pytest.approx(0.3)
        assert h5["conversion"].shape == (3,)
        total = h5["ECAL"][:].sum(axis=(1, 2, 3)) + h5["HCAL"][:].sum(axis=(1, 2, 3))
        unconverted = h5["conversion"][:] == 0
    # Calibrated: an unconverted photon's windows hold ≈ its energy (a converted one's legs
    # may bend out of them).
    assert np.all(total[unconverted] > 0.85 * 20.0)


@pytest.mark.parametrize("options, message", [
    (dict(theta_rad=(2.0, 1.0)), "theta_rad"),
    (dict(theta_rad=3.1), "theta_rad"),
    (dict(fixed_angle=True, theta_rad=1.2), "either fixed_angle or theta_rad"),
    (dict(select_hcal_ecal_ratio=-1.0), "select_hcal_ecal_ratio"),
    (dict(readout="raw"), "readout must be one of"),
    (dict(tracker_x0=-0.1), "tracker_x0"),
    (dict(tracker_x0=float("nan")), "tracker_x0"),
])
def test_bad_options_are_refused(options, message):
    with pytest.raises(errors.InputError, match=message):
        sim.simulate("clic", "electron", 2, **options)
