"""The fast rendering: Delphes CMS card towers on the 72 x 72 grid, on hand-built particles."""

import math

import numpy as np
import pytest
from scipy import stats

from caloml.events import fast, towers


class _NoNoise:
    """A generator whose Gaussian draws are all 0: towers keep their true energy."""

    def standard_normal(self, size):
        return np.zeros(size)


def _particle(pdg, charge, pt_gev, eta, phi, mass_gev=0.0):
    pz = pt_gev * math.sinh(eta)
    energy = math.sqrt(pt_gev**2 + pz**2 + mass_gev**2)
    momentum = [[pt_gev * math.cos(phi), pt_gev * math.sin(phi), pz, energy]]
    return (np.zeros(1, np.int64), np.array([pdg], np.int32), np.array([float(charge)]),
            np.array(momentum))


def _render(particle, rng, num_events=1):
    return fast.render(*particle, num_events, rng)


def test_a_photon_lands_in_its_ecal_tower_with_the_card_resolution():
    eta, phi = 0.3, 1.0
    out = _render(_particle(22, 0, 50.0 / math.cosh(eta), eta, phi), np.random.default_rng(1))
    assert out["ecal"].shape == out["hcal"].shape == (1, 72, 72)
    assert out["ecal"].dtype == np.float32
    # eta 0.3 lies in [0.261, 0.348): row 36 + 3; phi 1.0 in [1.0 - 0.0036, ...): column 47.
    i_eta, i_phi = 39, 47
    assert towers.ETA_EDGES[i_eta] <= eta < towers.ETA_EDGES[i_eta + 1]
    assert np.count_nonzero(out["ecal"]) == 1 and not out["hcal"].any()
    # sigma(50 GeV, eta = 0.3045) = (1 + 0.64 eta^2) sqrt(50^2 0.008^2 + 50 0.11^2 + 0.4^2).
    sigma = (1 + 0.64 * towers.ETA_CENTRES[i_eta] ** 2) * math.sqrt(0.16 + 0.605 + 0.16)
    assert sigma == pytest.approx(1.019, abs=1e-3)
    assert abs(out["ecal"][0, i_eta, i_phi] - 50.0) < 5 * sigma


def test_a_charged_pion_bends_into_the_hcal_tower_the_helix_gives():
    pt, eta, phi = 5.0, 0.3, float(towers.PHI_CENTRES[36])
    plus = _particle(211, 1, pt, eta, phi, 0.1396)
    minus = _particle(-211, -1, pt, eta, phi, 0.1396)
    # Helix radius rho = pT / (0.2998 B); at the barrel (R = 1.29 m) the direction of the
    # impact point has turned by asin(R / 2 rho), positive charges to decreasing phi.
    rho_m = pt / (0.299792458 * 3.8)
    turn = math.asin(1.29 / (2 * rho_m))
    assert turn == pytest.approx(0.1475, abs=1e-4)  # 1.7 towers of 5 degrees
    for particle, sign, column in ((plus, -1, 34), (minus, 1, 38)):
        hit = fast.impacts(*particle[1:])
        assert hit["phi"][0] == pytest.approx(phi + sign * turn, abs=1e-9)
        true = fast.deposits(*particle, 1)
        assert not true["ecal"].any()
        assert np.argwhere(true["hcal"][0]).tolist() == [[39, column]]
        assert true["hcal"][0, 39, column] == pytest.approx(particle[3][0, 3])
    # A neutral hadron of the same momentum flies straight into column 36.
    neutron = _particle(2112, 0, pt, eta, phi, 0.9396)
    assert np.argwhere(fast.deposits(*neutron, 1)["hcal"][0]).tolist() == [[39, 36]]


def test_a_looping_pion_leaves_nothing():
    # pT < 0.3 B R / 2 = 0.735 GeV at eta = 0: the helix never reaches the barrel, nor an end cap.
    out = fast.deposits(*_particle(211, 1, 0.5, 0.0, 0.0, 0.1396), 1)
    assert not out["ecal"].any() and not out["hcal"].any()


@pytest.mark.parametrize("pdg", [12, -14, 16, 13, -13])
def test_neutrinos_and_muons_leave_nothing(pdg):
    charge = -1 if pdg == 13 else 1 if pdg == -13 else 0
    out = _render(_particle(pdg, charge, 50.0, 0.5, 0.2, 0.1057 if abs(pdg) == 13 else 0.0),
                  np.random.default_rng(0))
    assert not out["ecal"].any() and not out["hcal"].any()


def test_energy_fractions_of_the_card():
    # K0S and Lambda: 30 % ECAL, 70 % HCAL; pi0 and electrons all ECAL; neutrons all HCAL.
    np.testing.assert_allclose(fast.ecal_fraction(np.array([310, 3122, 111, 11, 22, 2112])),
                               [0.3, 0.3, 1, 1, 1, 0])
    np.testing.assert_allclose(fast.hcal_fraction(np.array([310, 3122, 111, 13, 12, 2112, 211])),
                               [0.7, 0.7, 0, 0, 0, 1, 1])
    kaon = _particle(310, 0, 20.0, -1.0, -2.0, 0.4976)
    true = fast.deposits(*kaon, 1)
    energy = kaon[3][0, 3]
    assert true["ecal"].sum() == pytest.approx(0.3 * energy)
    assert true["hcal"].sum() == pytest.approx(0.7 * energy)
    assert (np.argwhere(true["ecal"][0]) == np.argwhere(true["hcal"][0])).all()


def test_particles_outside_the_grid_or_along_the_beam_are_lost():
    forward = _particle(22, 0, 1.0, 4.25, 0.0)  # beyond |eta| = 4.191
    beam = (np.zeros(1, np.int64), np.array([22], np.int32), np.zeros(1),
            np.array([[0.0, 0.0, 100.0, 100.0]]))
    for particle in (forward, beam):
        true = fast.deposits(*particle, 1)
        assert not true["ecal"].any()


def test_thresholds_of_the_card_on_unsmeared_towers():
    ecal = np.zeros((1, 72, 72))
    hcal = np.zeros((1, 72, 72))
    # ECAL at eta = +-0.0435: E >= 0.5 GeV and E >= 2 sigma(E); 2 sigma(0.9) = 0.830 passes,
    # 2 sigma(0.7) = 0.825 does not, nor does 0.3 GeV.
    ecal[0, 36, [0, 1, 2]] = [0.3, 0.7, 0.9]
    # HCAL: E >= 1 GeV and E >= sigma(E) = sqrt(0.05^2 E^2 + 1.5^2 E): 2.0 fails, 2.5 passes.
    hcal[0, 36, [0, 1, 2]] = [0.3, 2.0, 2.5]
    e_out = fast.smear(ecal, fast.ecal_resolution_gev, 0.5, 2.0, _NoNoise())
    h_out = fast.smear(hcal, fast.hcal_resolution_gev, 1.0, 1.0, _NoNoise())
    np.testing.assert_allclose(e_out[0, 36, :3], [0.0, 0.0, 0.9])
    np.testing.assert_allclose(h_out[0, 36, :3], [0.0, 0.0, 2.5])
    assert e_out.sum() == pytest.approx(0.9) and h_out.sum() == pytest.approx(2.5)


def test_a_soft_photon_survives_only_upward_fluctuations():
    # A 0.3 GeV ECAL tower at eta ~ 0 survives when E' = 0.3 + sigma(0.3) z reaches the
    # threshold E_t = 2 sigma(E_t), the positive root of a E^2 + b E + c = 0 with
    # a = 1 - 4 f^2 0.008^2, b = -4 f^2 0.11^2, c = -4 f^2 0.4^2, f = 1 + 0.64 eta^2
    # (0.826 GeV > EnergyMin = 0.5): P = 1 - Phi((E_t - 0.3) / sigma(0.3)).
    num = 20000
    energy = np.zeros((num // 72 + 1, 72, 72))
    energy[:, 36, :] = 0.3
    out = fast.smear(energy, fast.ecal_resolution_gev, 0.5, 2.0, np.random.default_rng(5))
    eta = towers.ETA_CENTRES[36]
    f2 = (1 + 0.64 * eta**2) ** 2
    a, b, c = 1 - 4 * f2 * 0.008**2, -4 * f2 * 0.11**2, -4 * f2 * 0.4**2
    threshold = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    assert threshold == pytest.approx(0.8257, abs=1e-4)
    expected = stats.norm.sf((threshold - 0.3) / fast.ecal_resolution_gev(0.3, eta))
    surviving = out[:, 36, :] > 0
    assert expected == pytest.approx(0.097, abs=0.001)
    n = surviving.size
    assert abs(surviving.mean() - expected) < 4 * math.sqrt(expected * (1 - expected) / n)
    assert (out[:, 36, :][surviving] >= threshold - 1e-9).all()


@pytest.mark.parametrize("calorimeter", ["ecal", "hcal"])
def test_smearing_width_at_50_gev_is_the_cards(calorimeter):
    resolution = getattr(fast, f"{calorimeter}_resolution_gev")
    energy = np.full((4, 72, 72), 50.0)
    rows = np.abs(towers.ETA_CENTRES) < 2.5  # where 50 GeV is far above every threshold
    out = fast.smear(energy, resolution, 0.5 if calorimeter == "ecal" else 1.0,
                     2.0 if calorimeter == "ecal" else 1.0, np.random.default_rng(2))
    sigma = resolution(np.full(72, 50.0), towers.ETA_CENTRES)
    pulls = ((out - 50.0) / sigma[None, :, None])[:, rows, :].ravel()
    n = pulls.size  # 4 x 58 x 72 = 16704 towers
    assert abs(pulls.mean()) < 4 / math.sqrt(n)
    assert abs(pulls.std() - 1.0) < 4 / math.sqrt(2 * n)
    if calorimeter == "hcal":
        # sqrt(50^2 0.05^2 + 50 1.5^2) = 10.90 GeV in the barrel and end caps.
        assert sigma[36] == pytest.approx(10.897, abs=1e-3)


def test_the_card_resolution_formulas():
    # ECAL: barrel factor (1 + 0.64 eta^2), end cap (2.16 + 5.6 (|eta| - 2)^2), HF stochastic.
    core = math.sqrt(100 * 0.008**2 + 10 * 0.11**2 + 0.4**2)
    np.testing.assert_allclose(
        fast.ecal_resolution_gev(np.full(4, 10.0), np.array([0.0, -1.0, 2.0, 3.5])),
        [core, 1.64 * core, 2.16 * core, math.sqrt(100 * 0.107**2 + 10 * 2.08**2)])
    np.testing.assert_allclose(
        fast.hcal_resolution_gev(np.full(3, 10.0), np.array([0.0, -2.9, 3.1])),
        [math.sqrt(100 * 0.05**2 + 10 * 1.5**2)] * 2 + [math.sqrt(100 * 0.13**2 + 10 * 2.7**2)])


def test_events_of_a_batch_stay_apart_and_render_is_reproducible():
    particles = [_particle(22, 0, 30.0, -0.5, 2.0), _particle(2112, 0, 40.0, 1.0, -1.0, 0.94)]
    event = np.array([0, 2], np.int64)
    pdg = np.concatenate([p[1] for p in particles])
    charge = np.concatenate([p[2] for p in particles])
    momentum = np.concatenate([p[3] for p in particles])
    one = fast.render(event, pdg, charge, momentum, 3, np.random.default_rng(7))
    two = fast.render(event, pdg, charge, momentum, 3, np.random.default_rng(7))
    np.testing.assert_array_equal(one["ecal"], two["ecal"])
    assert one["ecal"][0].any() and not one["ecal"][1:].any()
    assert one["hcal"][2].any() and not one["hcal"][:2].any()
