"""Pythia 8 generation: top and QCD jet physics, reproducibility, the paired images.

Pythia's initialisation costs about 0.5 s and a selected jet 0.2-0.4 s of generation, so the
physics samples are made once per module (about 30 jets each) and marked slow.
"""

import math

import numpy as np
import pytest

from caloml.errors import InputError
from caloml.jets import generation, images, observables


@pytest.fixture(scope="module")
def top_jets():
    return generation.generate("top", 30, seed=0)


@pytest.fixture(scope="module")
def qcd_jets():
    return generation.generate("qcd", 30, seed=0)


@pytest.mark.slow
def test_top_jets_carry_the_top_mass_and_qcd_jets_do_not(top_jets, qcd_jets):
    top_mass = top_jets["jet"][:, 3]
    qcd_mass = qcd_jets["jet"][:, 3]
    assert 140.0 <= np.median(top_mass) <= 200.0
    assert np.mean((top_mass > 140.0) & (top_mass < 200.0)) >= 0.6
    assert np.median(qcd_mass) < 110.0
    assert (top_jets["is_top"] == 1).all() and (qcd_jets["is_top"] == 0).all()


@pytest.mark.slow
def test_tau32_of_the_images_separates_three_prong_top_jets_from_qcd(top_jets, qcd_jets):
    # N-subjettiness on the HR images (observables.jet_observables, exclusive-kT axes): a top
    # jet's three prongs make tau3 small against tau2, QCD jets have no third prong.
    top = observables.jet_observables(top_jets["hr"], images.PIXEL_SIZE_RAD)["tau32"]
    qcd = observables.jet_observables(qcd_jets["hr"], images.PIXEL_SIZE_RAD)["tau32"]
    assert np.nanmedian(top) < np.nanmedian(qcd) - 0.1
    # As a cut: tau32 < 0.6 keeps most top jets and fewer QCD jets.
    assert np.mean(top < 0.6) > np.mean(qcd < 0.6) + 0.2


@pytest.mark.slow
def test_selected_jets_pass_the_paper_selection(top_jets):
    jet = top_jets["jet"]
    assert ((jet[:, 0] >= 550) & (jet[:, 0] <= 650)).all() and (np.abs(jet[:, 1]) < 2).all()
    for factor in images.FACTORS:
        lr = top_jets[f"jet_lr{factor}"]
        assert (images.delta_r(jet[:, 1], jet[:, 2], lr[:, 1], lr[:, 2]) < 0.1).all()
        assert ((top_jets[f"lr{factor}"] > 0).sum(axis=(1, 2)) >= 1).all()
    assert (top_jets["num_constituents"] >= 15).all()
    attrs = top_jets.attrs
    assert attrs["num_events_generated"] >= 30 and attrs["acceptance"] == pytest.approx(
        30 / attrs["num_events_generated"])
    assert attrs["pythia_version"].startswith("8.3")


@pytest.mark.slow
def test_pooled_hr_images_are_close_to_the_lr_images(top_jets):
    hr = top_jets["hr"]
    for factor in images.FACTORS:
        n = 160 // factor
        pooled = hr.reshape(len(hr), n, factor, n, factor).sum(axis=(2, 4))
        lr = top_jets[f"lr{factor}"]
        active = (pooled > 0) | (lr > 0)
        agree = np.isclose(pooled, lr, rtol=1e-4, atol=1e-3)[active]
        # Re-clustering on coarse pixels changes only a few pixels at the jet's edge.
        assert agree.mean() > 0.9
        np.testing.assert_allclose(lr.sum(axis=(1, 2)), top_jets[f"jet_lr{factor}"][:, 0],
                                   rtol=0.1)


@pytest.mark.slow
def test_the_hr_image_holds_the_in_window_constituents(qcd_jets):
    constituents = qcd_jets["constituents"]  # (E, px, py, pz)
    pt = np.hypot(constituents[..., 1], constituents[..., 2])
    assert (np.diff(pt, axis=1) <= 1e-4).all()  # pT-ordered, zero-padded
    count = qcd_jets["num_constituents"]
    assert ((pt > 0).sum(axis=1) == count).all()
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(constituents[..., 3] / pt)
    phi = np.arctan2(constituents[..., 2], constituents[..., 1])
    centre = qcd_jets["image_centre"]
    d_eta = eta - centre[:, :1]
    d_phi = np.mod(phi - centre[:, 1:] + math.pi, 2 * math.pi) - math.pi
    half = 80 * images.PIXEL_SIZE_RAD
    inside = (pt > 0) & (np.abs(d_eta) < half - 1e-4) & (np.abs(d_phi) < half - 1e-4)
    near_edge = (pt > 0) & ~inside & (np.abs(d_eta) < half + 1e-4) & (
        np.abs(d_phi) < half + 1e-4)
    image_pt = qcd_jets["hr"].sum(axis=(1, 2))
    expected = (pt * inside).sum(axis=1)
    slack = (pt * near_edge).sum(axis=1) + 1e-3 * expected
    assert (np.abs(image_pt - expected) <= slack).all()
    # The HR jet's pT is its constituents' (pixel-level) vector sum: close to the scalar sum.
    np.testing.assert_allclose(image_pt, qcd_jets["jet"][:, 0], rtol=0.15)


@pytest.mark.slow
def test_same_seed_same_jets_for_one_and_two_workers(monkeypatch):
    # Small chunks, so that two workers share the work.
    monkeypatch.setattr(generation, "CHUNK_JETS", 2)
    one = generation.generate("qcd", 4, seed=3, workers=1)
    two = generation.generate("qcd", 4, seed=3, workers=2)
    assert set(one) == set(two)
    for key in one:
        np.testing.assert_array_equal(one[key], two[key], err_msg=key)
    assert one.attrs["num_events_generated"] == two.attrs["num_events_generated"]
    other = generation.generate("qcd", 2, seed=4, workers=1)
    assert not np.array_equal(other["jet"], one["jet"][:2])


def test_the_pt_hat_cut_is_the_default_fraction_or_checked():
    assert generation.pt_hat_min((550.0, 650.0), None) == pytest.approx(495.0)
    assert generation.pt_hat_min((550.0, 650.0), 330.0) == 330.0
    with pytest.raises(InputError, match="at most the jet pT window's lower edge 550 GeV"):
        generation.generate("qcd", 1, pt_hat_min_gev=600.0)


def test_too_few_jets_name_the_window_and_the_tries():
    with pytest.raises(InputError, match=r"550-650 GeV and \|eta\| < 0.001 .* after 20 events; "
                                         r"widen the pT window"):
        generation.generate("qcd", 1, eta_max=0.001, max_tries=20)


@pytest.mark.parametrize("kwargs, match", [
    ({"process": "higgs"}, "unknown process 'higgs'"),
    ({"num_jets": 0}, "num_jets must be a positive integer"),
    ({"pt_range_gev": (650, 550)}, "0 < low < high"),
    ({"eta_max": -1.0}, "eta_max must be a positive number"),
    ({"seed": -1}, "seed must be a non-negative integer"),
])
def test_bad_requests_fail_before_any_work(kwargs, match):
    args = {"process": "top", "num_jets": 1, **kwargs}
    with pytest.raises(InputError, match=match):
        generation.generate(**args)


def test_pythia_settings_of_the_processes():
    top = generation.pythia_settings("top", 7, 330.0)
    assert "24:onMode = off" in top and "24:onIfAny = 1 2 3 4 5" in top
    assert "Top:gg2ttbar = on" in top and "Beams:eCM = 14000" in top
    assert "Random:seed = 7" in top and "PhaseSpace:pTHatMin = 330" in top
    assert "HardQCD:all = on" in generation.pythia_settings("qcd", 1, 330.0)
