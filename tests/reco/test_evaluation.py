"""Metrics and predictions files of the reconstruction study (paper 003, §5.3–5.4, appendix D)."""

import math

import numpy as np
import pytest
import sklearn.metrics

from caloml import errors, outputs
from caloml.reco import evaluation

TASK_PDG = {"gamma_pi0": (22, 111), "e_pi": (11, 211)}


def classifier_arrays(task, n, separation, seed, regress_sigma=None):
    """Arrays of a classifier whose class-1 scores are shifted by ``separation``."""
    rng = np.random.default_rng(seed)
    label = np.arange(n) % 2
    energy = rng.uniform(2.0, 500.0, n)
    pred = (energy * (1 + rng.normal(0, regress_sigma, n)) if regress_sigma is not None
            else np.full(n, np.nan))
    return {"pdg": np.asarray(TASK_PDG[task])[label], "label": label,
            "score": rng.normal(separation * label, 1.0), "energy_true_gev": energy,
            "energy_pred_gev": pred, "eta": rng.uniform(-0.5, 0.5, n),
            "conversion": np.zeros(n, int)}


def regression_arrays(pdg, n, sigma, seed, bias=0.0):
    rng = np.random.default_rng(seed)
    energy = rng.uniform(2.0, 500.0, n)
    return {"pdg": np.full(n, pdg), "label": np.full(n, -1), "score": np.full(n, np.nan),
            "energy_true_gev": energy,
            "energy_pred_gev": energy * (1 + bias + rng.normal(0, sigma, n)),
            "eta": np.zeros(n), "conversion": np.zeros(n, int)}


def predictions(method, task, arrays, geometry="clic", angle="variable"):
    return evaluation._validated("test", {"method": method, "task": task, "geometry": geometry,
                                          "angle": angle}, arrays)


# --- ROC and AUC -------------------------------------------------------------------------------


def test_auc_of_a_hand_made_example_and_ties():
    # Class-1 scores above class-0 scores in 3 of the 4 pairs (0.35 < 0.4).
    labels = np.array([0, 0, 1, 1])
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    auc, err = evaluation.auc_with_error(labels, scores, num_bootstrap=50)
    assert auc == pytest.approx(0.75)
    assert err > 0
    # A tie counts half: pairs (1 > 0.5: yes), (1 = 1: half), (2 > both: 2) -> 3.5 / 4.
    auc, _ = evaluation.auc_with_error([0, 0, 1, 1], [0.5, 1.0, 1.0, 2.0])
    assert auc == pytest.approx(3.5 / 4)
    # Unclassified events (-1, NaN) are ignored.
    auc, _ = evaluation.auc_with_error([0, -1, 1], [0.0, np.nan, 1.0])
    assert auc == 1.0


def test_auc_matches_sklearn_and_extremes():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 3000)
    scores = np.round(rng.normal(labels * 0.7, 1.0), 1)  # rounded: many ties
    auc, _ = evaluation.auc_with_error(labels, scores, num_bootstrap=10)
    assert auc == pytest.approx(sklearn.metrics.roc_auc_score(labels, scores), abs=1e-12)
    separated, separated_err = evaluation.auc_with_error(labels, labels * 10.0 + scores * 0.01,
                                                         num_bootstrap=10)
    assert (separated, separated_err) == (1.0, 0.0)
    same = rng.normal(size=3000)
    random_auc, random_err = evaluation.auc_with_error(labels, same, num_bootstrap=100, seed=3)
    assert abs(random_auc - 0.5) < 3 * random_err
    # Hanley & McNeil: the error of an AUC near 0.5 is about sqrt((n0 + n1 + 1) / (12 n0 n1)).
    n1 = labels.sum()
    expected = math.sqrt((3000 + 1) / (12 * n1 * (3000 - n1)))
    assert random_err == pytest.approx(expected, rel=0.3)


def test_bootstrap_error_shrinks_with_the_sample_size():
    def error(n):
        rng = np.random.default_rng(n)
        labels = np.arange(n) % 2
        return evaluation.auc_with_error(labels, rng.normal(labels, 1.0), 100, seed=0)[1]

    small, large = error(400), error(6400)
    # 16 times the events: a quarter of the error (allow bootstrap noise).
    assert 2.5 < small / large < 6.0


def test_auc_errors_are_input_errors():
    with pytest.raises(errors.InputError, match="both classes"):
        evaluation.auc_with_error([0, 0], [1.0, 2.0])
    with pytest.raises(errors.InputError, match="num_bootstrap must be at least 2"):
        evaluation.auc_with_error([0, 1], [1.0, 2.0], num_bootstrap=1)


def test_roc_curve_takes_class_0_as_signal():
    labels = np.array([0, 0, 1, 1])
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    signal_eff, background_eff, thresholds = evaluation.roc_curve(labels, scores)
    # Thresholds rise; selecting score <= 0.1 keeps half of the signal and no background,
    # <= 0.4 all signal and half the background.
    points = set(zip(background_eff.tolist(), signal_eff.tolist(), strict=True))
    assert {(0.0, 0.0), (0.0, 0.5), (0.5, 1.0), (1.0, 1.0)} <= points
    assert thresholds[0] == -np.inf and np.all(np.diff(thresholds) > 0)
    assert np.trapezoid(signal_eff, background_eff) == pytest.approx(0.75)


def test_rejection_at_fixed_signal_efficiency_by_hand():
    signal = np.arange(10.0)  # class 0
    background = np.arange(10.0) + 4.5  # class 1
    labels = np.r_[np.zeros(10, int), np.ones(10, int)]
    table = evaluation.rejection_at_efficiencies(labels, np.r_[signal, background], (0.9, 0.3))
    # 90 %: threshold = 8.1, background 4.5, 5.5, 6.5, 7.5 pass -> rejection 10 / 4.
    assert table["0.9"]["rejection"] == pytest.approx(2.5)
    assert table["0.9"]["error"] == pytest.approx(math.sqrt(0.4 * 0.6 / 10) / 0.4**2)
    # 30 %: threshold 2.7, nothing passes: infinite rejection.
    assert table["0.3"]["rejection"] == math.inf


# --- accuracy ----------------------------------------------------------------------------------


def test_binned_accuracy_and_binomial_error_by_hand():
    labels = np.array([0, 0, 1, 1, 0, 1, -1])
    scores = np.array([-1.0, 2.0, 3.0, 0.5, -2.0, 1.0, np.nan])
    energy = np.array([5.0, 8.0, 12.0, 15.0, 30.0, 600.0, 7.0])
    edges = [0.0, 10.0, 20.0, 40.0, 50.0]
    result = evaluation.binned_accuracy(labels, scores, energy, edges)
    np.testing.assert_array_equal(result.counts, [2, 2, 1, 0])
    np.testing.assert_allclose(result.accuracy[:3], [0.5, 1.0, 1.0])
    np.testing.assert_allclose(result.error[:3], [math.sqrt(0.25 / 2), 0.0, 0.0])
    assert np.isnan(result.accuracy[3]) and np.isnan(result.error[3])
    np.testing.assert_allclose(result.centres, [6.5, 13.5, 30.0, 45.0])
    # A threshold of 2.5 calls the second event class 0 (right) and the fourth class 0 (wrong).
    shifted = evaluation.binned_accuracy(labels, scores, energy, edges, threshold=2.5)
    np.testing.assert_allclose(shifted.accuracy[:3], [1.0, 0.5, 1.0])
    with pytest.raises(errors.InputError, match="increasing bin edges"):
        evaluation.binned_accuracy(labels, scores, energy, [1.0, 1.0])


# --- regression --------------------------------------------------------------------------------

A, B, C = 0.12, 0.01, 0.4  # injected Eq. 3 terms (√GeV, fraction, GeV)
ENERGIES = np.array([3.0, 7.0, 15.0, 30.0, 70.0, 120.0, 170.0, 250.0, 350.0, 450.0])


def smeared(num_per_energy, seed, bias=0.02):
    """True energies at the ENERGIES (one per default bin), predictions smeared by Eq. 3."""
    rng = np.random.default_rng(seed)
    true = np.repeat(ENERGIES, num_per_energy)
    sigma = evaluation.resolution_eq3(true, A, B, C)
    return true, true * (1 + bias + sigma * rng.standard_normal(true.size))


def test_bias_and_resolution_recover_gaussian_smearing():
    true, pred = smeared(4000, seed=0)
    response = evaluation.energy_response(true, pred)
    np.testing.assert_array_equal(response.counts, 4000)
    np.testing.assert_allclose(response.mean_energy_gev, ENERGIES)
    expected = evaluation.resolution_eq3(ENERGIES, A, B, C)
    assert np.all(np.abs(response.bias - 0.02) < 4 * response.bias_err)
    np.testing.assert_allclose(response.bias_err, expected / math.sqrt(4000), rtol=0.05)
    assert np.all(np.abs(response.resolution - expected) < 4 * response.resolution_err)
    np.testing.assert_allclose(response.resolution_err, expected / math.sqrt(2 * 3999),
                               rtol=0.05)


def test_robust_resolution_ignores_tails_that_inflate_the_std():
    true, pred = smeared(2000, seed=1, bias=0.0)
    rng = np.random.default_rng(2)
    tail = rng.random(true.size) < 0.05
    pred = np.where(tail, pred * 0.3, pred)  # 5 % of events lose 70 % of their energy
    expected = evaluation.resolution_eq3(ENERGIES, A, B, C)
    robust = evaluation.energy_response(true, pred, estimator="iqr68", num_bootstrap=20)
    plain = evaluation.energy_response(true, pred)
    assert np.all(plain.resolution > 1.3 * expected)
    np.testing.assert_allclose(robust.resolution, expected, rtol=0.2)
    assert np.all(robust.resolution_err > 0) and np.all(robust.resolution_err < 0.1 * expected)


def test_sparse_bins_and_unregressed_events_are_skipped():
    true = np.array([3.0] * 12 + [30.0] * 3 + [600.0] * 20 + [7.0])
    pred = true * 1.1
    pred[-1] = np.nan
    response = evaluation.energy_response(true, pred)
    assert response.counts[0] == 12 and response.counts[3] == 3 and response.counts[1] == 0
    np.testing.assert_allclose(response.bias[0], 0.1)
    np.testing.assert_allclose(response.resolution[0], 0.0, atol=1e-12)
    assert np.isnan(response.bias[3]) and np.isnan(response.resolution[1])
    with pytest.raises(errors.InputError, match="estimator must be one of"):
        evaluation.energy_response(true, pred, estimator="mad")


def test_eq3_fit_recovers_injected_terms():
    energy = np.geomspace(2.0, 500.0, 10)
    exact = evaluation.resolution_eq3(energy, A, B, C)
    fit = evaluation.fit_resolution_eq3(energy, exact, 0.01 * exact)
    assert (fit.a, fit.b, fit.c) == pytest.approx((A, B, C), rel=1e-4)
    assert fit.ndf == 7 and fit.chi2 == pytest.approx(0.0, abs=1e-6)
    # A term that is absent stays at its bound 0 rather than going negative.
    no_noise = evaluation.fit_resolution_eq3(energy, evaluation.resolution_eq3(energy, A, B, 0.0))
    assert no_noise.c == pytest.approx(0.0, abs=1e-4) and no_noise.a == pytest.approx(A, rel=1e-4)
    # NaN bins are skipped; fewer than 3 usable bins give no fit.
    with_gaps = exact.copy()
    with_gaps[[0, 5]] = np.nan
    assert evaluation.fit_resolution_eq3(energy, with_gaps).a == pytest.approx(A, rel=1e-4)
    assert not evaluation.fit_resolution_eq3(energy[:2], exact[:2]).valid


def test_eq3_fit_of_smeared_bins_within_its_errors():
    true, pred = smeared(4000, seed=4)
    response = evaluation.energy_response(true, pred)
    fit = evaluation.fit_resolution_eq3(response.mean_energy_gev, response.resolution,
                                        response.resolution_err)
    for value, err, injected in ((fit.a, fit.a_err, A), (fit.b, fit.b_err, B),
                                 (fit.c, fit.c_err, C)):
        assert 0 < err < 0.3 * injected
        assert abs(value - injected) < 4 * err
    assert fit.chi2 < 3 * fit.ndf


def test_values_at_reference_energies_interpolate_in_log_energy():
    true = np.repeat([5.0, 20.0, 80.0], 20)
    response = evaluation.energy_response(true, true, edges_gev=[2, 10, 50, 100])
    values = np.array([0.3, 0.2, np.nan])
    # 10 GeV lies halfway between 5 and 20 in log E; 80 GeV has no finite bin: NaN.
    np.testing.assert_allclose(evaluation.at_energies(response, values, (10.0, 5.0, 80.0)),
                               [0.25, 0.3, np.nan])


# --- predictions files -------------------------------------------------------------------------


def test_predictions_round_trip(tmp_path):
    arrays = classifier_arrays("gamma_pi0", 6, 1.0, seed=0, regress_sigma=0.05)
    arrays["pdg"] = arrays["pdg"].astype(np.float64)  # as HDF5 stores pdgID
    arrays["conversion"][0] = 1
    path = tmp_path / "predictions.npz"
    written = evaluation.write_predictions(path, method="googlenet", task="gamma_pi0",
                                           geometry="atlas", angle="fixed", arrays=arrays)
    back = evaluation.read_predictions(path)
    assert (back.method, back.task, back.geometry, back.angle) == (
        "googlenet", "gamma_pi0", "atlas", "fixed")
    for key, dtype in evaluation.ARRAY_DTYPES.items():
        assert getattr(back, key).dtype == dtype
        np.testing.assert_array_equal(getattr(back, key), getattr(written, key))
    np.testing.assert_array_equal(back.pdg, [22, 111, 22, 111, 22, 111])
    assert back.classifies and back.regresses and back.num_events == 6
    assert [p.name for p in tmp_path.iterdir()] == ["predictions.npz"]


def test_the_charge_sign_is_dropped(tmp_path):
    arrays = classifier_arrays("e_pi", 4, 1.0, seed=0)
    arrays["pdg"] = np.array([11, -211, -11, 211])  # e⁻, π⁻, e⁺, π⁺
    path = tmp_path / "e_pi.npz"
    evaluation.write_predictions(path, method="cnn", task="e_pi", geometry="atlas_printed",
                                 angle="variable", arrays=arrays)
    back = evaluation.read_predictions(path)
    np.testing.assert_array_equal(back.pdg, [11, 211, 11, 211])
    assert back.geometry == "atlas_printed"


def _bad(arrays, **changes):
    arrays = dict(arrays)
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    return arrays


GOOD = classifier_arrays("gamma_pi0", 4, 1.0, seed=0, regress_sigma=0.05)


@pytest.mark.parametrize("metadata, arrays, message", [
    ({}, _bad(GOOD, score=None), "missing key 'score'"),
    ({}, _bad(GOOD, eta=np.zeros(3)), "key 'eta' has length 3; expected 4"),
    ({}, _bad(GOOD, eta=np.zeros((4, 1))), r"key 'eta' has shape \(4, 1\); expected \[N\]"),
    ({}, _bad(GOOD, extra=np.zeros(4)), "unknown key 'extra'"),
    ({"method": "rnn"}, GOOD, "metadata 'method' is 'rnn'; expected one of"),
    ({"task": "tau"}, GOOD, "metadata 'task' is 'tau'"),
    ({"geometry": "lhcb"}, GOOD, "metadata 'geometry' is 'lhcb'"),
    ({"angle": "oblique"}, GOOD, "metadata 'angle' is 'oblique'"),
    ({}, _bad(GOOD, pdg=np.array([22, 111, 22, 13])), "key 'pdg' holds 13"),
    ({}, _bad(GOOD, pdg=np.array([22.5, 111, 22, 111])), "key 'pdg' holds non-integers"),
    ({}, _bad(GOOD, pdg=np.array([11, 211, 11, 211])), "particles outside task 'gamma_pi0'"),
    ({}, _bad(GOOD, label=np.array([1, 1, 0, 1])), "'label' disagrees with 'pdg'"),
    ({}, _bad(GOOD, label=np.array([0, 2, 0, 1])), "'label' holds values other than"),
    ({}, _bad(GOOD, label=np.array([0, -1, 0, 1])), "'score' must be finite exactly where"),
    ({"task": "regression"}, GOOD, "classifies events in task 'regression'"),
    ({}, _bad(GOOD, energy_true_gev=np.array([1.0, 0.0, 2.0, 3.0])),
     "'energy_true_gev' must be finite and positive"),
    ({}, _bad(GOOD, energy_pred_gev=np.array([1.0, np.inf, 2.0, 3.0])),
     "'energy_pred_gev' is infinite"),
    ({}, _bad(GOOD, eta=np.array([0.0, np.nan, 0.0, 0.0])), "'eta' must be finite"),
    ({}, _bad(GOOD, conversion=np.array(["a", "b", "c", "d"])), "'conversion' holds non-int"),
    ({}, {k: v[:0] for k, v in GOOD.items()}, "'pdg' has no events"),
])
def test_every_invalid_predictions_file_is_a_one_line_data_error(tmp_path, metadata, arrays,
                                                                 message):
    path = tmp_path / "bad.npz"
    settings = {"method": "dnn", "task": "gamma_pi0", "geometry": "clic", "angle": "variable",
                **metadata}
    with pytest.raises(errors.DataError, match=message) as raised:
        evaluation.write_predictions(path, **settings, arrays=arrays)
    text = str(raised.value)
    assert text.startswith(f"{path}: ") and "\n" not in text
    assert not path.exists()
    # The reader checks the same: an archive written around the writer fails alike.
    np.savez(path, **settings, **arrays)
    with pytest.raises(errors.DataError, match=message):
        evaluation.read_predictions(path)


def test_reading_a_missing_or_foreign_file(tmp_path):
    with pytest.raises(errors.MissingFileError, match="does not exist"):
        evaluation.read_predictions(tmp_path / "none.npz")
    foreign = tmp_path / "text.npz"
    foreign.write_text("not an archive")
    with pytest.raises(errors.DataError, match=r"text.npz: not a predictions .npz archive"):
        evaluation.read_predictions(foreign)
    np.savez(tmp_path / "old.npz", **{k: v for k, v in GOOD.items()}, method="dnn",
             geometry="clic", angle="fixed")
    with pytest.raises(errors.DataError, match="old.npz: missing metadata key 'task'"):
        evaluation.read_predictions(tmp_path / "old.npz")


# --- summary -----------------------------------------------------------------------------------


@pytest.fixture
def study():
    """Synthetic predictions with a known ranking (GN > CNN > DNN > BDT; DNN regresses best)."""
    n = 2000
    return [
        predictions("dnn", "gamma_pi0", classifier_arrays("gamma_pi0", n, 1.0, 0, 0.03)),
        predictions("cnn", "gamma_pi0", classifier_arrays("gamma_pi0", n, 1.5, 1, 0.04)),
        predictions("googlenet", "gamma_pi0", classifier_arrays("gamma_pi0", n, 2.0, 2, 0.05)),
        predictions("xgboost_bdt", "gamma_pi0", classifier_arrays("gamma_pi0", n, 0.5, 3)),
        predictions("dnn", "e_pi", classifier_arrays("e_pi", n, 3.0, 4, 0.03)),
        predictions("linear", "regression", regression_arrays(22, n, 0.10, 5)),
        predictions("xgboost", "regression", regression_arrays(22, n, 0.06, 6, bias=0.01)),
        predictions("linear", "regression", regression_arrays(22, n, 0.10, 7), geometry="cms"),
    ]


def test_summarise_ranks_the_methods(study):
    summary = evaluation.summarise(study, num_bootstrap=20)
    gamma = summary["classification"]["clic"]["variable"]["gamma_pi0"]
    assert (gamma["signal"], gamma["background"]) == ("photon", "pi0")
    aucs = {m: v["auc"] for m, v in gamma["methods"].items()}
    assert list(aucs) == ["dnn", "cnn", "googlenet", "xgboost_bdt"]
    assert aucs["googlenet"] > aucs["cnn"] > aucs["dnn"] > aucs["xgboost_bdt"]
    # Normal scores shifted by d: AUC = Φ(d / √2).
    assert aucs["cnn"] == pytest.approx(0.5 * math.erfc(-1.5 / 2), abs=4 * gamma["methods"][
        "cnn"]["auc_err"])
    assert set(gamma["methods"]["dnn"]["rejection"]) == {"0.9", "0.99"}
    assert gamma["methods"]["googlenet"]["rejection"]["0.9"]["rejection"] > gamma["methods"][
        "dnn"]["rejection"]["0.9"]["rejection"]
    photons = summary["regression"]["clic"]["variable"]["photon"]
    assert list(photons) == ["dnn", "cnn", "googlenet", "linear", "xgboost"]
    assert photons["linear"]["resolution"]["100"] == pytest.approx(0.10, rel=0.25)
    assert photons["xgboost"]["bias"]["100"] == pytest.approx(0.01, abs=0.01)
    # A constant relative resolution is Eq. 3's b term.
    assert photons["linear"]["b"] == pytest.approx(0.10, rel=0.1)
    assert "pi0" in summary["regression"]["clic"]["variable"]  # networks regress both classes
    assert list(summary["regression"]["cms"]["variable"]["photon"]) == ["linear"]
    rows = summary["network_vs_baseline"]["classification"]
    assert [(r["task"], r["best_network"]) for r in rows] == [("e_pi", "dnn"),
                                                             ("gamma_pi0", "googlenet")]
    assert list(rows[1]["baselines"]) == ["xgboost_bdt"] and rows[0]["baselines"] == {}
    regression_rows = summary["network_vs_baseline"]["regression"]
    photon_row = next(r for r in regression_rows
                      if (r["geometry"], r["particle"]) == ("clic", "photon"))
    assert photon_row["best_network"] == "dnn"
    assert list(photon_row["baselines"]) == ["linear", "xgboost"]
    # No network regressed on the CMS-like geometry: no comparison row.
    assert all(r["geometry"] == "clic" for r in regression_rows)


def test_a_method_with_one_class_only_has_no_roc_but_keeps_its_regression():
    arrays = classifier_arrays("gamma_pi0", 40, 1.0, seed=0, regress_sigma=0.05)
    photons = {key: value[arrays["label"] == 0] for key, value in arrays.items()}
    summary = evaluation.summarise([predictions("dnn", "gamma_pi0", photons)], num_bootstrap=5)
    assert summary["classification"] == {}
    assert list(summary["regression"]["clic"]["variable"]) == ["photon"]


def test_summary_is_strict_json_and_renders_markdown(study, tmp_path):
    summary = evaluation.summarise(study, num_bootstrap=20)
    outputs.write_json(tmp_path / "metrics.json", summary)
    again = outputs.read_json(tmp_path / "metrics.json")
    assert again["network_vs_baseline"]["classification"][1]["best_network"] == "googlenet"
    markdown = evaluation.summary_markdown(summary)
    lines = markdown.splitlines()
    gamma = next(line for line in lines if "γ vs π⁰" in line)
    assert gamma.startswith("| clic | variable | γ vs π⁰ | GN | ")
    assert gamma.endswith(" | – |")  # no AdaBoost result
    photon = next(line for line in lines if line.startswith("| clic | variable | γ |"))
    network, xgboost, linear = photon.split(" | ")[4:7]
    assert len(network.split(" / ")) == 3
    # XGBoost (6 %) and linear (10 %) resolutions, in %, at each reference energy.
    assert all(abs(float(v) - 6) < 1.5 for v in xgboost.split(" / "))
    assert all(abs(float(v) - 10) < 2.5 for v in linear.rstrip(" |").split(" / "))
