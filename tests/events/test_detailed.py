"""The detailed rendering: showers of every particle in the CMS-like calorimeter towers."""

import math

import numpy as np
import pytest
from scipy import special, stats

from caloml.errors import InputError
from caloml.events import detailed, fast, geometry, towers
from caloml.sim import gflash, lateral
from caloml.sim.materials import PBWO4

ELECTRON_MASS = 0.000511
PION_MASS = 0.13957
# Centre of grid row 36 (eta 0 ... 0.087) and column 36 (phi 0 ... 5 degrees).
ETA_CENTRE = float(towers.ETA_CENTRES[36])
PHI_CENTRE = float(towers.PHI_CENTRES[36])


def _aimed_phi(pt_gev, phi_target, charge):
    """Vertex phi of a particle that reaches the barrel face at ``phi_target``."""
    if charge == 0:
        return phi_target
    half_turn = math.asin(towers.BARREL_RADIUS_M * towers.GEV_PER_TESLA_METRE * towers.FIELD_T
                          * abs(charge) / (2.0 * pt_gev))
    return phi_target + math.copysign(half_turn, charge)


def _particles(pdg, charge, energy_gev, count, eta=ETA_CENTRE, phi=PHI_CENTRE, mass=0.0,
               per_event=1):
    """``count`` equal particles aimed at (eta, phi) of the ECAL face, ``per_event`` per event."""
    momentum = math.sqrt(energy_gev**2 - mass**2)
    pt = momentum / math.cosh(eta)
    phi0 = _aimed_phi(pt, phi, charge)
    row = [pt * math.cos(phi0), pt * math.sin(phi0), pt * math.sinh(eta), energy_gev]
    return (np.arange(count) // per_event, np.full(count, pdg, np.int32),
            np.full(count, float(charge)), np.tile(row, (count, 1)), -(-count // per_event))


def _pt_particle(pdg, charge, pt_gev, eta, phi=0.3, mass=0.0):
    pz = pt_gev * math.sinh(eta)
    energy = math.sqrt(pt_gev**2 + pz**2 + mass**2)
    return [pt_gev * math.cos(phi), pt_gev * math.sin(phi), pz, energy], pdg, charge


def _expected_central_share(energy_gev, rho_m):
    """E1/E25 of an electron at a tower centre from the GFlash mean profile, slice by slice.

    The profile in 0.1 X0 slices, with R_C, R_T and p at each slice (PHYSICS.md §1.4),
    integrated over the central tower and the 5 x 5 towers around it with the exact
    rectangle formula (:func:`caloml.sim.lateral.student_t_cell_fractions`).
    """
    mean_ln_t, mean_ln_alpha, *_ = gflash.mean_log_parameters(np.array([energy_gev]), PBWO4)
    t_max, alpha = math.exp(mean_ln_t[0]), math.exp(mean_ln_alpha[0])
    beta = (alpha - 1.0) / t_max
    edges = np.linspace(0.0, geometry.ECAL_DEPTH_X0, 259)
    cdf = gflash.profile_cdf(np.array([alpha]), np.array([beta]), edges[None, :],
                             PBWO4.attenuation_x0)[0]
    energy = np.diff(cdf)
    middle = 0.5 * (edges[1:] + edges[:-1])
    r_core, r_tail, p = gflash.radial_parameters(energy_gev, middle / t_max, PBWO4)
    eta_half = 0.5 * (towers.ETA_EDGES[37] - towers.ETA_EDGES[36]) * rho_m * 1000.0
    phi_half = 0.5 * (towers.PHI_EDGES[1] - towers.PHI_EDGES[0]) * rho_m * 1000.0
    x_edges = eta_half * np.array([-5.0, -3.0, -1.0, 1.0, 3.0, 5.0])
    y_edges = phi_half * np.array([-5.0, -3.0, -1.0, 1.0, 3.0, 5.0])
    central = window = 0.0
    for e, rc, rt, share in zip(energy, r_core, r_tail, p, strict=True):
        for radius, weight in ((rc, share), (rt, 1.0 - share)):
            cells = lateral.student_t_cell_fractions(radius * PBWO4.moliere_radius_mm, 0.0, 0.0,
                                                     x_edges, y_edges)
            central += e * weight * cells[2, 2]
            window += e * weight * cells.sum()
    return central / window


def test_electron_at_a_tower_centre_stays_in_the_ecal_and_its_tower():
    result = detailed.simulate(*_particles(11, -1, 50.0, 200, mass=ELECTRON_MASS),
                               np.random.default_rng(0))
    ecal = result.ecal_clean_gev.astype(np.float64)
    ecal_total = ecal.sum(axis=(1, 2))
    assert 0.97 < ecal_total.mean() / 50.0 < 1.0
    assert result.hcal_clean_gev.sum(axis=(1, 2)).mean() < 0.01 * 50.0
    central = (ecal[:, 36, 36] / ecal_total).mean()
    # The shower lies between the face (rho = 1.29 m) and the back (1.52 m) of the crystals.
    low = _expected_central_share(50.0, towers.BARREL_RADIUS_M)
    high = _expected_central_share(50.0, towers.BARREL_RADIUS_M + 0.23)
    assert 0.96 < low < high < 0.99
    assert low - 0.002 < central < high + 0.002
    # Equal sharing with the eta neighbours; in phi the bent electron crosses the crystals
    # at an angle (3.8 T: 0.0147 rad), so the deeper part of its shower lies at larger phi.
    mean_image = ecal.mean(axis=0)
    assert mean_image[35, 36] == pytest.approx(mean_image[37, 36], rel=0.03)
    assert 1.03 < mean_image[36, 37] / mean_image[36, 35] < 1.2


def test_electron_on_a_tower_edge_shares_half_with_the_neighbour():
    edge = float(towers.ETA_EDGES[37])
    result = detailed.simulate(*_particles(11, -1, 50.0, 200, eta=edge, mass=ELECTRON_MASS),
                               np.random.default_rng(1))
    ecal = result.ecal_clean_gev.astype(np.float64)
    share = ecal[:, 36:38, 36].sum(axis=0) / ecal.sum()
    assert share.sum() > 0.97
    assert share[0] == pytest.approx(share[1], rel=0.05)


@pytest.mark.parametrize("energy_gev", [20.0, 100.0])
def test_electron_resolution_follows_the_cms_test_beam(energy_gev):
    result = detailed.simulate(*_particles(11, -1, energy_gev, 4000, mass=ELECTRON_MASS,
                                           per_event=100), np.random.default_rng(2))
    ecal = result.particles.ecal_gev
    expected = math.hypot(0.028 / math.sqrt(energy_gev), 0.003)
    assert ecal.std() / ecal.mean() == pytest.approx(expected, rel=0.08)


def test_pions_are_calibrated_at_50_gev_with_a_hadronic_resolution():
    truth = detailed.simulate(*_particles(211, 1, 50.0, 6000, mass=PION_MASS, per_event=100),
                              np.random.default_rng(3)).particles
    total = truth.ecal_gev + truth.hcal_gev
    # HCAL_CALIBRATION makes the mean 50 GeV (statistical error here 0.2 %).
    assert total.mean() == pytest.approx(50.0, rel=0.01)
    # CMS EB+HB test beam ~14 %, Delphes' CMS card 22 %.
    assert 0.11 < total.std() / total.mean() < 0.18
    assert 0.15 < truth.ecal_gev.mean() / total.mean() < 0.4
    # Non-compensation: softer pions respond less.
    soft = detailed.simulate(*_particles(211, 1, 5.0, 6000, mass=PION_MASS, per_event=100),
                             np.random.default_rng(4)).particles
    assert 0.8 < (soft.ecal_gev + soft.hcal_gev).mean() / 5.0 < 0.95
    assert (soft.invisible_gev > 0).mean() > 0.5


def test_pion_showers_spread_wider_than_electron_showers():
    def shares(pdg, charge, mass, seed):
        result = detailed.simulate(*_particles(pdg, charge, 50.0, 150, mass=mass),
                                   np.random.default_rng(seed))
        image = (result.ecal_clean_gev + result.hcal_clean_gev).astype(np.float64)
        image /= image.sum(axis=(1, 2), keepdims=True)
        offsets = towers.ETA_CENTRES - ETA_CENTRE
        width = np.sqrt((image.sum(axis=2) * offsets**2).sum(axis=1))
        return image[:, 36, 36].mean(), image[:, 35:38, 35:38].sum(axis=(1, 2)).mean(), width
    electron_centre, _, electron_width = shares(11, -1, ELECTRON_MASS, 5)
    pion_centre, pion_nine, pion_width = shares(211, 1, PION_MASS, 6)
    assert electron_centre > 0.97
    assert 0.55 < pion_centre < 0.85
    # The pion visibly spills into its eight neighbours.
    assert pion_nine - pion_centre > 0.1
    assert np.median(pion_width) > 3 * np.median(electron_width)


def test_muons_leave_mip_signals_growing_with_the_hcal_path():
    central = detailed.simulate(*_particles(13, -1, 20.0, 2000, mass=0.10566, per_event=100),
                                np.random.default_rng(7)).particles
    # 1.3 x 10.2 MeV/cm x 23 cm; 1.3 x 11.97 MeV/cm x 5.82 x 16.42 cm x the calibration.
    assert central.ecal_gev.mean() == pytest.approx(0.305, rel=0.02)
    assert central.hcal_gev.mean() == pytest.approx(1.322 * 1.487, rel=0.03)
    assert 0.28 < central.ecal_gev.mean() < 0.33 and 1.8 < central.hcal_gev.mean() < 2.2
    assert central.leakage_gev.mean() == pytest.approx(20.0 - 0.305 - 1.487, rel=1e-3)
    inclined = detailed.simulate(*_particles(13, -1, 20.0, 2000, eta=1.0, mass=0.10566,
                                             per_event=100), np.random.default_rng(8)).particles
    assert inclined.ecal_gev.mean() == pytest.approx(0.305, rel=0.02)
    assert inclined.hcal_gev.mean() / central.hcal_gev.mean() == pytest.approx(math.cosh(1.0),
                                                                                 rel=0.04)


def test_neutrinos_loopers_and_far_forward_particles_deposit_nothing():
    rows = [
        _pt_particle(12, 0, 20.0, 0.5),  # neutrino
        _pt_particle(211, 1, 0.5, 0.0, mass=PION_MASS),  # looper: pT < 0.3 B R / 2 = 0.735
        _pt_particle(22, 0, 5.0, 4.6),  # beyond |eta| = 4.191
        _pt_particle(211, 1, 1.0, 0.0, mass=PION_MASS),  # reaches the barrel
    ]
    momentum = np.array([r[0] for r in rows])
    result = detailed.simulate(np.arange(4), np.array([r[1] for r in rows]),
                               np.array([float(r[2]) for r in rows]), momentum, 4,
                               np.random.default_rng(9))
    truth = result.particles
    np.testing.assert_allclose(truth.lost_gev[:3], momentum[:3, 3])
    assert truth.lost_gev[3] == 0.0
    assert not result.ecal_clean_gev[:3].any() and not result.hcal_clean_gev[:3].any()
    assert truth.ecal_deposit_gev[3] + truth.hcal_deposit_gev[3] > 0.0


def test_noise_towers_and_thresholds_follow_the_readout_table():
    num_events = 200
    result = detailed.simulate(np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0),
                               np.zeros((0, 4)), num_events, np.random.default_rng(10))
    assert not result.ecal_clean_gev.any() and not result.hcal_clean_gev.any()
    readout = geometry.readout_rows()
    for image, prefix in ((result.ecal_gev, "ecal"), (result.hcal_gev, "hcal")):
        threshold = readout[f"{prefix}_threshold_gev"]
        noise = readout[f"{prefix}_noise_gev"]
        fired = image > 0
        assert np.all(image[fired] > np.broadcast_to(threshold[None, :, None], image.shape)[fired])
        expected = num_events * towers.NUM_PHI * stats.norm.sf(threshold / noise).sum()
        assert abs(fired.sum() - expected) < 5 * math.sqrt(expected) + 1
    # EB sum 0.2 GeV, EE 0.45, HF long fibres 0.5; HB 0.7, HE 0.8, HF short fibres 0.85.
    rows = [36, 36 + 23, 36 + 33]  # eta 0.04, 2.01, 3.58
    np.testing.assert_allclose(readout["ecal_threshold_gev"][rows], [0.2, 0.45, 0.5])
    np.testing.assert_allclose(readout["hcal_threshold_gev"][rows], [0.7, 0.8, 0.85])


def test_towers_keep_noisy_energy_above_threshold_and_drop_the_rest():
    result = detailed.simulate(*_particles(22, 0, 20.0, 50), np.random.default_rng(11))
    clean, measured = result.ecal_clean_gev, result.ecal_gev
    # The photon's tower is far above threshold: kept with the EB noise (0.06 GeV).
    assert np.all(np.abs(measured[:, 36, 36] - clean[:, 36, 36]) < 5 * 0.06)
    # Its diagonal neighbours hold ~0.02 GeV: dropped unless noise lifts them over 0.2 GeV.
    assert clean[:, 35, 35].max() < 0.05 and (measured[:, 35, 35] == 0).mean() > 0.95


def test_the_same_seed_gives_the_same_images():
    inputs = _particles(211, 1, 30.0, 4, mass=PION_MASS)
    first = detailed.render(*inputs, np.random.default_rng(12))
    second = detailed.render(*inputs, np.random.default_rng(12))
    other = detailed.render(*inputs, np.random.default_rng(13))
    assert set(first) == {"ecal", "hcal"}
    for key in first:
        assert first[key].shape == (4, 72, 72) and first[key].dtype == np.float32
        np.testing.assert_array_equal(first[key], second[key])
    assert not np.array_equal(first["hcal"], other["hcal"])


def test_energy_bookkeeping_of_mixed_particles():
    rng = np.random.default_rng(14)
    count, num_events = 3000, 30
    ids = np.array([22, 11, -11, 211, -211, 321, 130, 2212, -2212, 2112, 13, 12])
    charges = {22: 0, 11: -1, -11: 1, 211: 1, -211: -1, 321: 1, 130: 0, 2212: 1, -2212: -1,
               2112: 0, 13: -1, 12: 0}
    masses = {22: 0.0, 11: ELECTRON_MASS, -11: ELECTRON_MASS, 211: PION_MASS,
              -211: PION_MASS, 321: 0.4937, 130: 0.4976, 2212: 0.93827, -2212: 0.93827,
              2112: 0.93957, 13: 0.10566, 12: 0.0}
    pdg = rng.choice(ids, count)
    pt = np.exp(rng.uniform(math.log(0.2), math.log(200.0), count))
    eta = rng.uniform(-5.0, 5.0, count)
    phi = rng.uniform(-math.pi, math.pi, count)
    mass = np.array([masses[p] for p in pdg])
    momentum = np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta),
                         np.sqrt((pt * np.cosh(eta)) ** 2 + mass**2)], axis=1)
    event = np.sort(rng.integers(0, num_events, count))
    charge = np.array([float(charges[p]) for p in pdg])
    result = detailed.simulate(event, pdg.astype(np.int32), charge, momentum, num_events, rng)
    truth = result.particles

    energy = momentum[:, 3]
    expected_available = np.where(pdg == 2212, energy - 0.938272, energy)
    expected_available = np.where(pdg == 2112, energy - 0.938272, expected_available)
    expected_available = np.where(pdg == -2212, energy + 0.938272, expected_available)
    np.testing.assert_allclose(truth.available_gev, expected_available)
    parts = (truth.ecal_deposit_gev, truth.hcal_deposit_gev, truth.invisible_gev,
             truth.leakage_gev, truth.lost_gev)
    assert all((p >= 0).all() for p in parts)
    np.testing.assert_allclose(sum(parts), truth.available_gev, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(truth.lost_gev[pdg == 12], energy[pdg == 12])
    assert (truth.invisible_gev[np.isin(pdg, (22, 11, -11, 13))] == 0).all()
    # The noise-free images hold every signal less what fell beyond the grid.
    per_event = np.bincount(event, truth.ecal_gev + truth.hcal_gev - truth.outside_gev,
                            minlength=num_events)
    image_sum = (result.ecal_clean_gev.astype(np.float64).sum(axis=(1, 2))
                 + result.hcal_clean_gev.astype(np.float64).sum(axis=(1, 2)))
    np.testing.assert_allclose(image_sum, per_event, rtol=1e-5, atol=1e-3)
    assert result.ecal_clean_gev.min() >= 0 and result.hcal_clean_gev.min() >= 0
    neutral_central = (charge == 0) & (np.abs(eta) < 3.5)
    assert (truth.outside_gev[neutral_central] == 0).all()
    assert truth.outside_gev[np.abs(eta) > 3.9].sum() > 0


def test_tower_fractions_are_the_exact_rectangle_integrals():
    # A kernel of R = 0.03 (eta units) in the uniform barrel, off-centre in its tower.
    eta, phi, radius = 0.31, -1.02, 0.03
    fractions, rows, columns = detailed.tower_fractions(np.array([eta]), np.array([phi]),
                                                        np.array([radius]), 2)
    x_edges = towers.ETA_EDGES[rows[0, 0]:rows[0, -1] + 2] - eta
    phi_low = towers.PHI_EDGES[columns[0, 0]]
    y_edges = phi_low + (towers.PHI_EDGES[1] - towers.PHI_EDGES[0]) * np.arange(6) - phi
    exact = lateral.student_t_cell_fractions(radius, 0.0, 0.0, x_edges, y_edges)
    np.testing.assert_allclose(fractions[0], exact / exact.sum(), atol=1e-12)
    assert towers.ETA_EDGES[rows[0, 2]] <= eta < towers.ETA_EDGES[rows[0, 2] + 1]
    assert towers.PHI_EDGES[columns[0, 2]] <= phi < towers.PHI_EDGES[columns[0, 2] + 1]
    # Windows wrap around in phi.
    _, _, wrapped = detailed.tower_fractions(np.array([0.0]), np.array([3.13]),
                                             np.array([0.01]), 2)
    np.testing.assert_array_equal(wrapped[0], [69, 70, 71, 0, 1])


def test_shower_points_of_straight_and_bent_paths():
    # A neutral particle at eta 0.5: the ECAL part on the line from the origin, 0.1 m deep.
    eta = np.array([0.5, 2.0])
    barrel = np.array([True, False])
    phi = np.array([0.2, -1.0])
    hit_eta = eta
    points = geometry.shower_points(hit_eta, phi, barrel, phi, eta, np.array([False, True]),
                                    np.array([100.0, 0.0]))
    np.testing.assert_allclose(points["eta"], eta, atol=1e-12)
    np.testing.assert_allclose(points["phi"], phi, atol=1e-12)
    # Barrel: rho grows by the depth x sin(theta); end cap: the HE face |z| = 3.88 m.
    assert points["rho_m"][0] == pytest.approx(1.29 + 0.1 / math.cosh(0.5))
    assert points["rho_m"][1] == pytest.approx(3.88 / math.sinh(2.0))
    # A bent track keeps turning away from its impact point behind the face.
    bent = geometry.shower_points(np.array([0.0]), np.array([0.0]), np.array([True]),
                                  np.array([-0.1]), np.array([0.0]), np.array([True]),
                                  np.array([0.0]))
    impact = math.asin(1.29 * math.sin(0.1) / 1.777)
    assert bent["phi"][0] == pytest.approx(-0.1 + impact)
    assert bent["rho_m"][0] == pytest.approx(1.777)


def test_available_energy_of_baryons_and_antibaryons():
    pdg = np.array([2212, -2212, 2112, 3122, 211, 22, 321])
    energy = np.full(7, 10.0)
    np.testing.assert_allclose(detailed.available_energy(pdg, energy),
                               [10 - 0.938272, 10 + 0.938272, 10 - 0.938272, 10 - 0.938272,
                                10, 10, 10])


def test_invalid_inputs_raise_one_line_input_errors():
    event, pdg, charge, momentum, num = _particles(22, 0, 10.0, 3)
    with pytest.raises(InputError, match=r"momentum_gev must have shape \[3, 4\]"):
        detailed.render(event, pdg, charge, momentum[:, :3], num, np.random.default_rng(0))
    with pytest.raises(InputError, match=r"event must hold integer indices in \[0, 2\)"):
        detailed.render(event, pdg, charge, momentum, 2, np.random.default_rng(0))
    with pytest.raises(InputError, match="pdg_id and charge must have shape"):
        detailed.render(event, pdg[:2], charge, momentum, num, np.random.default_rng(0))
    bad = momentum.copy()
    bad[0, 3] = np.nan
    with pytest.raises(InputError, match="must be finite"):
        detailed.render(event, pdg, charge, bad, num, np.random.default_rng(0))


def test_fast_and_detailed_renderings_agree_on_pythia_event_totals():
    from caloml.jets import generation

    pythia = generation.make_pythia("qcd", 5, 50.0)
    particles = generation.final_state(pythia.nextBatch(20))
    ids = np.unique(particles["pdg_id"])
    charge_of = {int(i): pythia.particleData.charge(int(i)) for i in ids}
    charge = np.array([charge_of[int(i)] for i in particles["pdg_id"]], np.float64)
    args = (particles["event"], particles["pdg_id"], charge, particles["momentum_gev"],
            particles["num_events"])
    detailed_result = detailed.simulate(*args, np.random.default_rng(15))
    fast_true = fast.deposits(*args)
    fast_total = fast_true["ecal"].sum(axis=(1, 2)) + fast_true["hcal"].sum(axis=(1, 2))
    clean_total = (detailed_result.ecal_clean_gev.sum(axis=(1, 2))
                   + detailed_result.hcal_clean_gev.sum(axis=(1, 2)))
    ratio = clean_total / fast_total
    # Calibrated at 50 GeV, soft hadrons respond less: a few % below the deposited energy.
    assert 0.9 < ratio.mean() < 1.0
    assert np.all(np.abs(ratio - 1.0) < 0.2)
    fast_images = fast.render(*args, np.random.default_rng(16))
    fast_final = fast_images["ecal"].sum(axis=(1, 2)) + fast_images["hcal"].sum(axis=(1, 2))
    final = detailed_result.ecal_gev.sum(axis=(1, 2)) + detailed_result.hcal_gev.sum(axis=(1, 2))
    assert 0.8 < (final / fast_final).mean() < 1.1
    # Hadrons shower in the crystals too: the detailed ECAL holds more than the fast one.
    assert detailed_result.ecal_clean_gev.sum() > 1.2 * fast_true["ecal"].sum()


def test_an_em_shower_loses_little_energy_behind_the_crystals():
    # Mean profile of a 100 GeV electron: P(alpha, beta 25.8) from GFlash, with the tail.
    mean_ln_t, mean_ln_alpha, *_ = gflash.mean_log_parameters(np.array([100.0]), PBWO4)
    alpha = math.exp(mean_ln_alpha[0])
    beta = (alpha - 1.0) / math.exp(mean_ln_t[0])
    gamma_leak = 1.0 - special.gammainc(alpha, beta * geometry.ECAL_DEPTH_X0)
    truth = detailed.simulate(*_particles(11, -1, 100.0, 50, mass=ELECTRON_MASS,
                                          per_event=50), np.random.default_rng(17)).particles
    leak = truth.hcal_deposit_gev / 100.0
    assert leak.mean() > gamma_leak
    assert leak.mean() < 0.01
