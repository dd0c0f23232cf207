"""The Delphes-ATLAS-card detector model: towers, smearing, thresholds, tracking, energy flow."""

import math

import numpy as np
import pytest

from caloml.jets import detector

DEGREE = math.pi / 180


def _single(pdg, pt, eta, phi, num_events, mass=0.0, charge=0.0):
    """``num_events`` events holding one particle each, all alike."""
    pz = pt * math.sinh(eta)
    energy = math.sqrt((pt * math.cosh(eta)) ** 2 + mass**2)
    momentum = np.tile([pt * math.cos(phi), pt * math.sin(phi), pz, energy], (num_events, 1))
    return (np.arange(num_events), np.full(num_events, pdg), np.full(num_events, charge),
            momentum)


def test_ecal_energy_spread_matches_the_card_formula():
    # 50 GeV photons at eta 0.3: sigma = sqrt(50^2 0.0017^2 + 50 0.101^2) = 0.7211 GeV.
    event, pdg, charge, momentum = _single(22, 50 / math.cosh(0.3), 0.3, 0.2, 20000)
    out = detector.respond(event, pdg, charge, momentum, np.random.default_rng(0))
    assert len(out["event"]) == 20000 and (out["kind"] == detector.ECAL).all()
    expected = math.sqrt(50**2 * 0.0017**2 + 50 * 0.101**2)
    assert out["energy_gev"].mean() == pytest.approx(50.0, abs=0.03)
    assert out["energy_gev"].std() == pytest.approx(expected, rel=0.03)


def test_hcal_energy_spread_matches_the_card_formula():
    # 100 GeV K0L at eta 0.1 (|eta| <= 1.7): sigma = sqrt(100^2 0.0302^2 + 100 0.5205^2
    # + 1.59^2) = 6.224 GeV.
    mass = 0.4976
    pt = math.sqrt(100**2 - mass**2) / math.cosh(0.1)
    event, pdg, charge, momentum = _single(130, pt, 0.1, -1.0, 20000, mass=mass)
    out = detector.respond(event, pdg, charge, momentum, np.random.default_rng(1))
    assert (out["kind"] == detector.HCAL).all()
    expected = math.sqrt(100**2 * 0.0302**2 + 100 * 0.5205**2 + 1.59**2)
    assert expected == pytest.approx(6.224, abs=1e-3)
    assert out["energy_gev"].std() == pytest.approx(expected, rel=0.03)
    # In the endcap (1.7 < |eta| <= 3.2) the card's second formula applies.
    assert detector.hcal_resolution_gev(100.0, 2.0) == pytest.approx(
        math.sqrt(100**2 * 0.05**2 + 100 * 0.706**2))


def test_towers_sit_at_their_centres():
    # ECAL: eta rows of 0.0174, 1-degree phi bins starting at -pi.
    event, pdg, charge, momentum = _single(22, 20.0, 0.123, 0.456, 3)
    out = detector.respond(event, pdg, charge, momentum, np.random.default_rng(2))
    np.testing.assert_allclose(out["eta"], 7.5 * 0.0174)
    np.testing.assert_allclose(out["phi"], -math.pi + 206.5 * DEGREE)
    np.testing.assert_allclose(out["pt_gev"], out["energy_gev"] / np.cosh(7.5 * 0.0174))
    # HCAL: 0.1 x 10 degrees.
    event, pdg, charge, momentum = _single(2112, 30.0, 0.05, 0.1, 3, mass=0.9396)
    out = detector.respond(event, pdg, charge, momentum, np.random.default_rng(3))
    np.testing.assert_allclose(out["eta"], 0.05)
    np.testing.assert_allclose(out["phi"], -math.pi + 18.5 * 10 * DEGREE)


def test_tower_grids_follow_the_card():
    ecal, hcal = detector.ECAL_GRID, detector.HCAL_GRID
    # ECAL: 340 rows of 360 phi bins for |eta| < 2.958, 22 forward rows of 36.
    assert ecal.num_towers == 340 * 360 + 22 * 36
    # HCAL: the row -2.6 ... -2.5 takes the 10-degree segmentation of its upper edge -2.5,
    # the row 2.6 ... 2.8 the 20-degree one of 2.8.
    row = {round(e, 6): n for e, n in zip(hcal.eta_edges[:-1], hcal.phi_bins, strict=True)}
    assert row[-2.6] == 36 and row[2.6] == 18 and row[0.0] == 36 and row[-4.9] == 18
    assert (ecal.tower_index(np.array([5.5, -5.5]), np.zeros(2)) == -1).all()
    # Phi is taken modulo 2 pi.
    assert ecal.tower_index([0.5], [math.pi - 1e-9]) == ecal.tower_index([0.5], [-math.pi - 1e-9])


def test_neutrinos_leave_nothing():
    event, pdg, charge, momentum = _single(14, 80.0, 0.0, 0.0, 50)
    out = detector.respond(event, pdg, charge, momentum, np.random.default_rng(4))
    assert len(out["event"]) == 0
    # A neutrino beside a photon: only the photon is seen.
    momenta = np.array([[80.0, 0, 0, 80.0], [0, 40.0, 0, 40.0]])
    out = detector.respond([0, 0], [12, 22], [0, 0], momenta, np.random.default_rng(5))
    assert len(out["event"]) == 1 and out["kind"][0] == detector.ECAL
    assert out["phi"][0] == pytest.approx(math.pi / 2, abs=DEGREE)


def test_tracking_threshold_and_efficiency():
    rng = np.random.default_rng(6)
    # Below 0.1 GeV: no track (what is seen of it is HCAL noise passing the thresholds).
    event, pdg, charge, momentum = _single(211, 0.08, 0.0, 0.0, 2000, mass=0.1396, charge=1)
    out = detector.respond(event, pdg, charge, momentum, rng)
    assert not (out["kind"] == detector.TRACK).any() and len(out["kind"]) < 60
    # Just above it, 70 % are tracked.
    event, pdg, charge, momentum = _single(211, 0.12, 0.0, 0.0, 20000, mass=0.1396, charge=1)
    out = detector.respond(event, pdg, charge, momentum, rng)
    assert np.sum(out["kind"] == detector.TRACK) / 20000 == pytest.approx(0.70, abs=0.012)
    # 5 GeV pions at eta 0: 95 % tracked.
    event, pdg, charge, momentum = _single(211, 5.0, 0.0, 0.0, 20000, mass=0.1396, charge=1)
    out = detector.respond(event, pdg, charge, momentum, rng)
    assert np.mean(out["kind"] == detector.TRACK) * len(out["kind"]) / 20000 == pytest.approx(
        0.95, abs=0.006)
    # Beyond |eta| = 2.5 nothing is tracked: only calorimeter objects.
    event, pdg, charge, momentum = _single(211, 20.0, 2.7, 0.0, 500, mass=0.1396, charge=1)
    out = detector.respond(event, pdg, charge, momentum, rng)
    assert len(out["kind"]) > 400 and not (out["kind"] == detector.TRACK).any()
    assert detector.tracking_efficiency(0.5, 2.0, 11) == 0.50
    assert detector.tracking_efficiency(150.0, 1.0, 11) == 0.99


def test_soft_tracks_keep_the_card_resolution():
    # 2 GeV pions at eta 0.2: relative resolution sqrt(0.06^2 + 2^2 1.3e-3^2) = 6.02 %; the
    # calorimeter (sigma ~ 1.9 GeV) barely moves them.
    event, pdg, charge, momentum = _single(211, 2.0, 0.2, 0.0, 20000, mass=0.1396, charge=1)
    out = detector.respond(event, pdg, charge, momentum, np.random.default_rng(7))
    tracks = out["pt_gev"][out["kind"] == detector.TRACK]
    expected = math.sqrt(0.06**2 + 4 * 1.3e-3**2)
    assert tracks.mean() == pytest.approx(2.0, rel=0.01)
    assert tracks.std() / 2.0 == pytest.approx(expected, rel=0.05)


def test_energy_flow_measures_hard_charged_hadrons_with_the_calorimeter():
    # 500 GeV pions: the card's tracking resolution is 65 % there (sigma 326 GeV), the HCAL's
    # 3.8 % (19 GeV); the energy flow rescales the track to the better estimate.
    event, pdg, charge, momentum = _single(211, 500.0, 0.0, 1.0, 4000, mass=0.1396, charge=1)
    assert detector.track_resolution(500.0, 0.0, 211) == pytest.approx(
        math.sqrt(0.06**2 + 500**2 * 1.3e-3**2))
    out = detector.respond(event, pdg, charge, momentum, np.random.default_rng(8))
    assert np.sum(out["kind"] == detector.TRACK) > 3700
    # A track measured too high is scaled down to the tower; one measured too low leaves the
    # significant rest of the tower as a neutral object: the sum is the calorimeter's.
    total = np.bincount(out["event"], weights=out["pt_gev"], minlength=4000)
    calo_sigma = detector.hcal_resolution_gev(500.0, 0.0)
    assert total.std() == pytest.approx(calo_sigma, rel=0.1)
    assert np.median(total) == pytest.approx(500.0, rel=0.01)
    tracks = out["pt_gev"][out["kind"] == detector.TRACK]
    assert np.mean(np.abs(tracks - 500.0) < 3 * calo_sigma) > 0.5


def test_a_photon_beside_a_track_stays_a_neutral_object():
    # A tracked pion and a photon in the same direction: the pion goes to the HCAL, so the
    # ECAL tower holds the photon alone and keeps it.
    pion = [10.0 * math.cos(0.3), 10.0 * math.sin(0.3), 0.0, math.hypot(10.0, 0.1396)]
    photon = [30.0 * math.cos(0.3), 30.0 * math.sin(0.3), 0.0, 30.0]
    out = detector.respond([0, 0], [211, 22], [1, 0], np.array([pion, photon]),
                           np.random.default_rng(9))
    ecal = out["kind"] == detector.ECAL
    assert ecal.sum() == 1 and out["energy_gev"][ecal][0] == pytest.approx(30.0, abs=3.0)


def test_same_rng_same_response():
    rng = np.random.default_rng(10)
    momenta = rng.normal(0, 20, (300, 3))
    momenta = np.concatenate([momenta, np.linalg.norm(momenta, axis=1, keepdims=True)], axis=1)
    event = np.sort(rng.integers(0, 10, 300))
    pdg = rng.choice([22, 211, 130, 11, 13], 300)
    charge = np.isin(pdg, [211, 11, 13]).astype(float)
    a = detector.respond(event, pdg, charge, momenta, np.random.default_rng(1))
    b = detector.respond(event, pdg, charge, momenta, np.random.default_rng(1))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert np.all(np.diff(a["event"]) >= 0)
