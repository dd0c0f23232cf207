"""Jets of event images against hand-computed answers (caloml.events.observables)."""

import numpy as np
import pytest

from caloml.errors import InputError
from caloml.events import observables, towers

# A barrel tower row near eta = 0.3 and its eta centres (edges are multiples of 0.087 there).
ETA0 = int(np.searchsorted(towers.ETA_EDGES, 0.3) - 1)
PHI0 = 10


def _images(n=1):
    return np.zeros((n, *towers.IMAGE_SHAPE))


def _pt(energy, i_eta):
    return energy / np.cosh(towers.ETA_CENTRES[i_eta])


def _rapidity(pts, i_etas):
    """Rapidity of massless towers in one phi column, summed."""
    eta = towers.ETA_CENTRES[np.asarray(i_etas)]
    pts = np.asarray(pts)
    energy, pz = np.sum(pts * np.cosh(eta)), np.sum(pts * np.sinh(eta))
    return 0.5 * np.log((energy + pz) / (energy - pz))


def test_tower_constituents_are_massless_at_tower_centres():
    images = _images(2)
    images[1, ETA0, PHI0] = 40.0
    images[0, 3, 70] = 5.0
    images[0, 4, 70] = -2.0  # a LeakyReLU output below 0 is no particle
    towers_ = observables.tower_constituents(images)
    np.testing.assert_array_equal(towers_["event"], [0, 1])
    np.testing.assert_array_equal(towers_["i_eta"], [3, ETA0])
    np.testing.assert_allclose(towers_["eta"], towers.ETA_CENTRES[[3, ETA0]])
    np.testing.assert_allclose(towers_["phi"], towers.PHI_CENTRES[[70, PHI0]])
    np.testing.assert_allclose(towers_["pt"], [_pt(5.0, 3), _pt(40.0, ETA0)])
    momentum = towers_["momentum"]
    np.testing.assert_allclose(momentum[:, 0], [5.0, 40.0])
    np.testing.assert_allclose(momentum[:, 0] ** 2 - (momentum[:, 1:] ** 2).sum(axis=1), 0.0,
                               atol=1e-9)
    assert len(observables.tower_constituents(images, threshold_gev=10.0)["event"]) == 1


def test_two_tower_jet_against_hand_computed_kinematics():
    images = _images()
    images[0, ETA0, PHI0] = 100.0
    images[0, ETA0 + 1, PHI0] = 50.0
    jets = observables.cluster_jets(images)
    pt_a, pt_b = _pt(100.0, ETA0), _pt(50.0, ETA0 + 1)
    eta_a, eta_b = towers.ETA_CENTRES[ETA0], towers.ETA_CENTRES[ETA0 + 1]
    pt = pt_a + pt_b  # same phi: transverse momenta add
    eta = np.arcsinh((pt_a * np.sinh(eta_a) + pt_b * np.sinh(eta_b)) / pt)
    mass = np.sqrt(2.0 * pt_a * pt_b * (np.cosh(eta_a - eta_b) - 1.0))
    y = _rapidity([pt_a, pt_b], [ETA0, ETA0 + 1])
    radial = pt_a * abs(eta_a - y) + pt_b * abs(eta_b - y)
    assert jets["pt"][0, 0] == pytest.approx(pt)
    assert jets["eta"][0, 0] == pytest.approx(eta)
    assert jets["phi"][0, 0] == pytest.approx(towers.PHI_CENTRES[PHI0])
    assert jets["mass"][0, 0] == pytest.approx(mass)
    assert jets["girth"][0, 0] == pytest.approx(radial / pt)
    assert jets["two_point_moment"][0, 0] == pytest.approx(pt_a * pt_b * (eta_b - eta_a) / pt**2)
    assert jets["tau1"][0, 0] == pytest.approx(radial / (pt * observables.JET_RADIUS))
    assert jets["tau2"][0, 0] == 0.0  # two towers, two axes
    assert jets["num_constituents"][0, 0] == 2 and jets["num_jets"][0] == 1
    assert np.isnan(jets["pt"][0, 1])  # no second jet


def test_single_tower_jet_has_zero_substructure():
    images = _images()
    images[0, ETA0, PHI0] = 80.0
    jets = observables.cluster_jets(images)
    assert jets["pt"][0, 0] == pytest.approx(_pt(80.0, ETA0))
    assert jets["eta"][0, 0] == pytest.approx(towers.ETA_CENTRES[ETA0])
    for name in ("girth", "two_point_moment", "tau1", "tau2", "mass"):
        assert jets[name][0, 0] == 0.0, name


def test_three_tower_jet_tau2_uses_exclusive_kt_axes():
    # A hard tower and, 3 and 4 towers further in eta, a pair that kT merges first.
    rows, energies = [ETA0, ETA0 + 3, ETA0 + 4], [100.0, 60.0, 20.0]
    images = _images()
    for row, energy in zip(rows, energies, strict=True):
        images[0, row, PHI0] = energy
    jets = observables.cluster_jets(images)
    pts = [_pt(e, r) for e, r in zip(energies, rows, strict=True)]
    eta = towers.ETA_CENTRES[rows]
    y_jet, y_pair = _rapidity(pts, rows), _rapidity(pts[1:], rows[1:])
    total = sum(pts)
    tau1 = sum(p * abs(e - y_jet) for p, e in zip(pts, eta, strict=True)) / (total * 0.5)
    tau2 = (pts[1] * abs(eta[1] - y_pair) + pts[2] * abs(eta[2] - y_pair)) / (total * 0.5)
    assert jets["num_constituents"][0, 0] == 3
    assert jets["tau1"][0, 0] == pytest.approx(tau1)
    assert jets["tau2"][0, 0] == pytest.approx(tau2)
    assert 0.0 < jets["tau2"][0, 0] < jets["tau1"][0, 0]
    # Two-point moment over the three unordered pairs.
    pairs = sum(pts[i] * pts[j] * abs(eta[i] - eta[j]) for i, j in ((0, 1), (0, 2), (1, 2)))
    assert jets["two_point_moment"][0, 0] == pytest.approx(pairs / total**2)


def test_trimming_removes_a_soft_far_tower_but_keeps_a_soft_near_one():
    images = _images(2)
    images[:, ETA0, PHI0] = 100.0
    hard = _pt(100.0, ETA0)
    # Event 0: 2 % of the jet's pT, 4 towers (dR = 0.348) away: inside R = 0.5, outside R_sub.
    images[0, ETA0 + 4, PHI0] = 0.02 * hard * np.cosh(towers.ETA_CENTRES[ETA0 + 4])
    # Event 1: the same pT in the next tower (dR = 0.087): the hard tower's own subjet.
    images[1, ETA0 + 1, PHI0] = 0.02 * hard * np.cosh(towers.ETA_CENTRES[ETA0 + 1])
    jets = observables.cluster_jets(images)
    assert jets["num_constituents"][:, 0].tolist() == [1, 2]
    assert jets["pt"][0, 0] == pytest.approx(hard)
    assert jets["pt"][1, 0] == pytest.approx(1.02 * hard)
    mask = observables.jet_image_mask(images, jets)
    assert mask[0].sum() == 1 and mask[0, ETA0, PHI0]
    assert mask[1].sum() == 2
    # Without trimming the far tower stays in the jet.
    untrimmed = observables.cluster_jets(images[:1], trim_fraction=0.0)
    assert untrimmed["num_constituents"][0, 0] == 2
    assert untrimmed["pt"][0, 0] == pytest.approx(1.02 * hard)


def test_jets_are_ordered_cut_and_counted():
    images = _images()
    images[0, ETA0, PHI0] = 50.0  # pT ~ 48 GeV
    images[0, ETA0, PHI0 + 30] = 120.0
    images[0, ETA0 + 20, PHI0 + 50] = 15.0  # below 20 GeV
    images[0, ETA0, PHI0 + 50] = 70.0
    jets = observables.cluster_jets(images)
    np.testing.assert_allclose(jets["pt"][0], [_pt(120.0, ETA0), _pt(70.0, ETA0)])
    assert jets["num_jets"][0] == 3  # three above 20 GeV, two kept
    one = observables.cluster_jets(images, max_jets=1)
    assert one["pt"].shape == (1, 1)
    tower_jet = jets["tower_jet"][0]
    assert tower_jet[ETA0, PHI0 + 30] == 0 and tower_jet[ETA0, PHI0 + 50] == 1
    assert tower_jet[ETA0, PHI0] == -1  # the third jet is not kept
    np.testing.assert_array_equal(observables.jet_image_mask(images, jets, jet=1)[0],
                                  tower_jet == 1)


def test_delta_phi_wraps_across_pi():
    images = _images()
    images[0, ETA0, 0] = 90.0  # phi = -pi + 2.5 deg
    images[0, ETA0 + 8, 71] = 60.0  # phi = pi - 2.5 deg, 0.7 away in eta
    values = observables.event_observables(images)
    assert values["delta_phi"][0] == pytest.approx(np.deg2rad(5.0))
    assert values["delta_eta"][0] == pytest.approx(
        towers.ETA_CENTRES[ETA0] - towers.ETA_CENTRES[ETA0 + 8])
    assert values["jet1_phi"][0] == pytest.approx(towers.PHI_CENTRES[0])
    assert list(values)[:4] == ["jet1_tau1", "jet2_tau1", "jet1_tau2", "jet2_tau2"]
    assert set(observables.EVENT_OBSERVABLES) <= set(values)
    # Two towers on either side of the seam at one eta are one jet, at phi = +-pi.
    seam = _images()
    seam[0, ETA0, 0] = 60.0
    seam[0, ETA0, 71] = 60.0
    jets = observables.cluster_jets(seam)
    assert jets["num_jets"][0] == 1
    assert jets["pt"][0, 0] == pytest.approx(2 * _pt(60.0, ETA0) * np.cos(np.deg2rad(2.5)))
    assert abs(jets["phi"][0, 0]) == pytest.approx(np.pi)


def test_batches_and_chunks_give_the_single_event_answers(monkeypatch):
    rng = np.random.default_rng(3)
    images = rng.exponential(2.0, (5, *towers.IMAGE_SHAPE)) * (
        rng.random((5, *towers.IMAGE_SHAPE)) < 0.05)
    images[:, 30, 10] += rng.uniform(60, 200, 5)
    images[:, 45, 40] += rng.uniform(60, 200, 5)
    images[3] = 0.0  # an empty event
    images[4, 5, 5] = np.nan  # a diverged network's event
    monkeypatch.setattr(observables, "_EVENT_CHUNK", 2)
    batch = observables.cluster_jets(images)
    for event in range(4):
        single = observables.cluster_jets(images[event:event + 1])
        for name in (*observables.JET_OBSERVABLES, "num_constituents", "num_jets"):
            np.testing.assert_allclose(batch[name][event], single[name][0], err_msg=name)
        np.testing.assert_array_equal(batch["tower_jet"][event], single["tower_jet"][0])
    assert batch["num_jets"][3] == 0 and np.isnan(batch["pt"][3]).all()
    assert np.isnan(batch["num_jets"][4]) and np.isnan(batch["tau1"][4]).all()
    assert (batch["tower_jet"][4] == -1).all()
    assert np.isnan(observables.event_observables(images)["delta_phi"][4])


def test_bad_inputs_name_what_was_expected():
    with pytest.raises(InputError, match=r"\[N, 72, 72\]"):
        observables.cluster_jets(np.zeros((2, 72, 71)))
    with pytest.raises(InputError, match="trim_fraction"):
        observables.cluster_jets(_images(), trim_fraction=1.5)
    with pytest.raises(InputError, match="max_jets"):
        observables.cluster_jets(_images(), max_jets=0)
    jets = observables.cluster_jets(_images(), max_jets=1)
    with pytest.raises(InputError, match="two leading jets"):
        observables.observables_of_jets(jets)
    with pytest.raises(InputError, match="clustered from images"):
        observables.jet_image_mask(_images(2), jets)
