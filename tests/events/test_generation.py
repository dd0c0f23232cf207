"""Pythia 8 events rendered twice: layout, reproducibility, energy bookkeeping, event physics.

Pythia's initialisation costs about 0.4 s and an event about 10 ms (plus the renderings), so
the rendered samples are made once per module (40 events per process).
"""

import numpy as np
import pytest
from scipy import optimize, stats

from caloml.errors import InputError
from caloml.events import fast, generation, towers
from caloml.jets import generation as jet_generation

NUM_EVENTS = 40


@pytest.fixture(scope="module")
def samples():
    return {process: generation.generate(process, NUM_EVENTS, seed=11)
            for process in generation.PROCESSES}


@pytest.fixture(scope="module")
def particles():
    """The final-state particles of 24 dijet events, with their charges."""
    pythia = generation.make_pythia("dijet", 5, generation.DEFAULT_PT_HAT_MIN_GEV)
    out = generation._generate_particles(pythia, 24)
    out["charge"] = jet_generation._Charges(pythia)(out["pdg_id"])
    return out


def test_arrays_have_the_layout_shapes_and_dtypes(samples):
    for process, data in samples.items():
        assert data["fast"].shape == data["detailed"].shape == (NUM_EVENTS, 72, 72)
        assert data["fast"].dtype == data["detailed"].dtype == np.float32
        assert data["truth_jets"].shape == (NUM_EVENTS, 10, 4)
        assert data["truth_jets"].dtype == np.float32
        assert data["num_truth_jets"].dtype == np.int32
        assert data["calo_truth_gev"].shape == (NUM_EVENTS,)
        assert data["process"].dtype == np.int8
        assert (data["process"] == generation.PROCESS_LABELS[process]).all()
        assert (data["fast"] >= 0).all() and (data["detailed"] >= 0).all()
        attrs = data.attrs
        assert attrs["process"] == process and attrs["num_events"] == NUM_EVENTS
        assert attrs["sqrt_s_gev"] == 13000.0 and attrs["pythia_version"].startswith("8.3")


def test_truth_jets_are_ordered_zero_padded_and_above_20_gev(samples):
    for data in samples.values():
        jets, count = data["truth_jets"], data["num_truth_jets"]
        pt = jets[..., 0]
        filled = np.arange(10)[None, :] < np.minimum(count, 10)[:, None]
        assert (pt[filled] > 20.0).all() and (jets[~filled] == 0).all()
        assert (np.diff(pt, axis=1) <= 0).all()
        assert (np.abs(jets[..., 1][filled]) < towers.ETA_MAX).all()
        # p̂T > 50 GeV: nearly every event has a jet above 20 GeV (balance, radiation).
        assert np.mean(count >= 1) > 0.9


def test_truth_jets_of_hand_built_particles():
    # Two 100 GeV photons back to back, one pair of 30 GeV pions within R = 0.5 merging into
    # a jet, one 15 GeV photon alone (below 20 GeV), a neutrino (left out).
    def p4(pt, eta, phi, mass=0.0):
        pz = pt * np.sinh(eta)
        return [pt * np.cos(phi), pt * np.sin(phi), pz, np.sqrt(pt**2 + pz**2 + mass**2)]

    momentum = np.array([p4(100, 0.0, 0.0), p4(100, 0.0, np.pi - 0.01), p4(30, 1.0, 1.5),
                         p4(30, 1.2, 1.5), p4(15, -2.0, -1.5), p4(500, 0.0, 1.0)])
    event = np.zeros(6, np.int64)
    pdg = np.array([22, 22, 211, -211, 22, 12], np.int32)
    jets, count = generation.truth_jets(event, pdg, momentum, 2)
    assert count.tolist() == [3, 0]
    np.testing.assert_allclose(jets[0, :2, 0], [100, 100], rtol=1e-5)
    assert jets[0, 2, 0] == pytest.approx(60.0, rel=1e-5)  # two 30 GeV pions 0.2 apart
    assert jets[0, 2, 1] == pytest.approx(np.arcsinh((np.sinh(1.0) + np.sinh(1.2)) / 2), rel=1e-5)
    assert not jets[0, 3:].any() and not jets[1].any()


@pytest.mark.slow
def test_same_seed_same_events_for_one_and_two_workers(monkeypatch):
    # Small chunks, so that two workers share the work.
    monkeypatch.setattr(generation, "CHUNK_EVENTS", 3)
    one = generation.generate("dijet", 6, seed=3, workers=1)
    two = generation.generate("dijet", 6, seed=3, workers=2)
    assert set(one) == set(two)
    for key in one:
        np.testing.assert_array_equal(one[key], two[key], err_msg=key)
    other = generation.generate("dijet", 3, seed=4, workers=1)
    assert not np.array_equal(other["fast"], one["fast"][:3])
    assert not np.array_equal(other["calo_truth_gev"], one["calo_truth_gev"][:3])


def test_fast_deposits_conserve_the_calorimeter_energy(particles):
    # Before smearing and thresholds, the fast towers hold exactly the energy of the
    # particles that reach the calorimeter face inside the grid, muons and neutrinos left out.
    args = (particles["event"], particles["pdg_id"], particles["charge"],
            particles["momentum_gev"], 24)
    true = fast.deposits(*args)
    reference = generation.calo_truth_gev(*args)
    np.testing.assert_allclose((true["ecal"] + true["hcal"]).sum(axis=(1, 2)), reference,
                               rtol=1e-9)
    # Most of it comes from the forward calorimeter at 13 TeV; a visible event has more
    # than the two 50 GeV partons.
    assert (reference > 100.0).all()
    energy = particles["momentum_gev"][:, 3]
    total = np.bincount(particles["event"], weights=energy, minlength=24)
    np.testing.assert_allclose(total, 13000.0, rtol=1e-6)  # the beams' energy, all of it
    assert (reference < total).all()


def _kept_above_gev(resolution, energy_min_gev, significance_min):
    """The smeared energy a tower of each eta row needs: E' >= max(E_min, k sigma(E'))."""
    return np.array([max(energy_min_gev, optimize.brentq(
        lambda e, eta=eta: e - significance_min * resolution(e, eta), 1e-3, 1e4))
        for eta in towers.ETA_CENTRES])


def test_fast_totals_are_the_card_expectation(particles):
    # Each tower of true energy E becomes E' ~ N(E, sigma(E)), kept if E' >= t(eta): its
    # expected contribution is E Phi(z) + sigma phi(z), z = (E - t) / sigma, with variance
    # E[E'^2 1] - mean^2, E[E'^2 1] = E^2 Phi + 2 E sigma phi + sigma^2 (Phi - z phi).
    args = (particles["event"], particles["pdg_id"], particles["charge"],
            particles["momentum_gev"], 24)
    true = fast.deposits(*args)
    image = fast.render(*args, np.random.default_rng(3))
    reference = generation.calo_truth_gev(*args)
    for key, resolution, minimum, significance in (
            ("ecal", fast.ecal_resolution_gev, 0.5, 2.0),
            ("hcal", fast.hcal_resolution_gev, 1.0, 1.0)):
        energy = true[key]
        sigma = np.maximum(resolution(energy, towers.ETA_CENTRES[None, :, None]), 1e-12)
        z = (energy - _kept_above_gev(resolution, minimum, significance)[None, :, None]) / sigma
        cdf, pdf = stats.norm.cdf(z), stats.norm.pdf(z)
        mean = np.where(energy > 0, energy * cdf + sigma * pdf, 0.0)
        second = energy**2 * cdf + 2 * energy * sigma * pdf + sigma**2 * (cdf - z * pdf)
        variance = np.where(energy > 0, second - mean**2, 0.0)
        pulls = (image[key].sum(axis=(1, 2)) - mean.sum(axis=(1, 2))) / np.sqrt(
            variance.sum(axis=(1, 2)))
        assert (np.abs(pulls) < 4).all(), (key, pulls)
        assert abs(pulls.mean()) < 4 / np.sqrt(24), key
    # The thresholds remove about 15 % of the energy (fast module docstring).
    ratio = (image["ecal"] + image["hcal"]).sum(axis=(1, 2)) / reference
    assert 0.8 < ratio.mean() < 0.9


def test_fast_and_detailed_totals_agree_within_the_resolution(particles):
    args = (particles["event"], particles["pdg_id"], particles["charge"],
            particles["momentum_gev"], 24)
    out = generation.render_events(particles, particles["charge"], 24,
                                   (np.random.default_rng(1), np.random.default_rng(2)))
    true = fast.deposits(*args)
    eta = towers.ETA_CENTRES[None, :, None]
    variance = (fast.ecal_resolution_gev(true["ecal"], eta) ** 2 * (true["ecal"] > 0)
                + fast.hcal_resolution_gev(true["hcal"], eta) ** 2 * (true["hcal"] > 0))
    # The detailed towers resolve hadrons no worse than the card (detailed module: 15-17 %
    # against 22 % for 50 GeV pions), so the card's width twice bounds the combination.
    combined = np.sqrt(2 * variance.sum(axis=(1, 2)))
    fast_total = out["fast"].sum(axis=(1, 2))
    detailed_total = out["detailed"].sum(axis=(1, 2))
    assert np.mean(np.abs(detailed_total - fast_total) < 3 * combined) >= 0.9
    assert 0.9 < detailed_total.sum() / fast_total.sum() < 1.1
    np.testing.assert_array_equal(out["calo_truth_gev"],
                                  generation.calo_truth_gev(*args).astype(np.float32))


def test_both_renderings_keep_most_of_the_calorimeter_energy(samples):
    # Of the energy reaching the calorimeters, the fast towers keep 85 % (the card's
    # thresholds) and the detailed ones about 80 % (thresholds, non-compensation of soft
    # hadrons, leakage), event by event within the resolution.
    for process, data in samples.items():
        reference = data["calo_truth_gev"]
        for key in ("fast", "detailed"):
            ratio = data[key].sum(axis=(1, 2)) / reference
            assert 0.75 < ratio.mean() < 0.92, (process, key, ratio.mean())
            assert (np.abs(ratio - ratio.mean()) < 0.35).all(), (process, key)


def test_detailed_images_are_wider_than_fast_ones(samples):
    # Around the hottest fast tower of each event (|eta| < 2.5), the centre holds a smaller
    # share of the 3 x 3 towers in the detailed image: showers spread into the neighbours,
    # fast deposits stay in the tower of the impact.
    share = {key: [] for key in ("fast", "detailed")}
    central = np.abs(towers.ETA_CENTRES) < 2.5
    for data in samples.values():
        for fast_image, detailed_image in zip(data["fast"], data["detailed"], strict=True):
            row, column = np.unravel_index(np.argmax(fast_image * central[:, None]),
                                           fast_image.shape)
            rows = np.arange(row - 1, row + 2)
            columns = np.arange(column - 1, column + 2) % 72
            for key, image in (("fast", fast_image), ("detailed", detailed_image)):
                window = image[np.ix_(rows, columns)]
                share[key].append(image[row, column] / window.sum())
    difference = np.asarray(share["fast"]) - np.asarray(share["detailed"])
    error = difference.std() / np.sqrt(len(difference))
    assert difference.mean() > 4 * error
    assert np.mean(share["fast"]) - np.mean(share["detailed"]) > 0.1


@pytest.mark.slow
def test_wjets_events_have_more_jets_than_dijet_events():
    # W (-> q q') + parton: three hard partons against two. Particle level only (no
    # rendering), 256 events each: <n_jets> = 3.3 against 2.9 (+- 0.07 each).
    counts = {}
    for process in generation.PROCESSES:
        pythia = generation.make_pythia(process, 21, generation.DEFAULT_PT_HAT_MIN_GEV)
        out = generation._generate_particles(pythia, 256)
        counts[process] = generation.truth_jets(out["event"], out["pdg_id"],
                                                out["momentum_gev"], 256)[1]
    difference = counts["wjets"].mean() - counts["dijet"].mean()
    error = np.hypot(counts["wjets"].std(), counts["dijet"].std()) / np.sqrt(256)
    assert difference > 3 * error
    assert np.mean(counts["wjets"] >= 3) > np.mean(counts["dijet"] >= 3) + 0.1


def test_pythia_settings_of_the_processes():
    wjets = generation.pythia_settings("wjets", 7, 50.0)
    assert "24:onMode = off" in wjets and "24:onIfAny = 1 2 3 4 5" in wjets
    assert "WeakBosonAndParton:qqbar2Wg = on" in wjets
    assert "WeakBosonAndParton:qg2Wq = on" in wjets
    assert "Beams:eCM = 13000" in wjets and "PhaseSpace:pTHatMin = 50" in wjets
    dijet = generation.pythia_settings("dijet", 1, 80.0)
    assert "HardQCD:all = on" in dijet and "PhaseSpace:pTHatMin = 80" in dijet
    assert "Random:seed = 1" in dijet


@pytest.mark.parametrize("kwargs, match", [
    ({"process": "zjets"}, r"unknown process 'zjets'; expected one of \['wjets', 'dijet'\]"),
    ({"num_events": 0}, "num_events must be a positive integer, got 0"),
    ({"num_events": 2.5}, "num_events must be a positive integer, got 2.5"),
    ({"seed": -1}, "seed must be a non-negative integer, got -1"),
    ({"workers": 0}, "workers must be a positive integer, got 0"),
    ({"pt_hat_min_gev": -5.0}, "pt_hat_min_gev must be a positive number of GeV below 6500"),
    ({"pt_hat_min_gev": float("nan")}, "pt_hat_min_gev must be a positive number"),
])
def test_bad_requests_fail_before_any_work(kwargs, match, tmp_path):
    args = {"process": "dijet", "num_events": 1, **kwargs}
    with pytest.raises(InputError, match=match):
        generation.generate(**args)
    with pytest.raises(InputError, match=match):
        generation.generate_to_file(tmp_path / "x.h5", **args)
    assert not list(tmp_path.iterdir())
