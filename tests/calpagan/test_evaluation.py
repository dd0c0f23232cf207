"""The CALPAGAN assessment: translation, Fréchet distances, χ² tables, timing, metrics."""

import json
import os

import keras
import numpy as np
import pytest

from caloml import outputs
from caloml.calpagan import evaluation
from caloml.errors import InputError
from caloml.events import observables as event_obs
from caloml.events import towers
from caloml.observables import statistics


def _events(rng, n, spread=1.0):
    """Events with two hard towers and soft noise (GeV)."""
    images = rng.exponential(0.5 * spread, (n, *towers.IMAGE_SHAPE)) * (
        rng.random((n, *towers.IMAGE_SHAPE)) < 0.03)
    rows = rng.integers(20, 50, (n, 2))
    columns = np.stack([rng.integers(0, 36, n), rng.integers(36, 72, n)], axis=1)
    for k in range(2):
        images[np.arange(n), rows[:, k], columns[:, k]] += rng.uniform(60, 250, n)
    return images.astype(np.float32)


class _Scale(keras.Model):
    """fast [B, 72, 72] → ``factor`` × fast (a stand-in for a trained translator)."""

    def __init__(self, factor):
        inputs = keras.Input(towers.IMAGE_SHAPE)
        super().__init__(inputs=inputs, outputs=keras.layers.Rescaling(factor)(inputs),
                         name="scale")


def test_feature_classifier_size_config_and_reload(tmp_path):
    model = evaluation.JetImageClassifier()
    # conv 3x3: 9 C_in C_out + C_out; 72 → 36 → 18 → 9 → 4 after four poolings.
    convs = (9 * 1 * 16 + 16) + (9 * 16 * 32 + 32) + (9 * 32 * 64 + 64) + (9 * 64 * 64 + 64)
    dense = (4 * 4 * 64) * 64 + 64
    assert model.count_params() == convs + dense + 65 == 125_889
    assert model.get_layer("features").units == 64
    clone = evaluation.JetImageClassifier.from_config(model.get_config())
    assert clone.count_params() == model.count_params() and clone.filters == model.filters
    images = _events(np.random.default_rng(0), 3)
    images[0, 0, 0] = -5.0  # negative pixels count as empty (LogEnergy)
    path = os.path.join(tmp_path, "fid_classifier.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(reloaded.predict(images, verbose=0),
                               model.predict(images, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(evaluation.LogEnergy()(np.array([-3.0, 0.0, np.e - 1.0])),
                               [0.0, 0.0, 1.0], rtol=1e-6)
    with pytest.raises(InputError, match="do not fit"):
        evaluation.JetImageClassifier(filters=(8,) * 7)


@pytest.mark.slow
def test_feature_classifier_training_is_seeded_and_learns_an_easy_split():
    rng = np.random.default_rng(1)
    a = _events(rng, 24)
    b = _events(rng, 24) * 4.0  # four times the energy: separable
    models = [evaluation.train_feature_classifier(a, b, seed=3, epochs=4, batch_size=8)
              for _ in range(2)]
    for first, second in zip(models[0].get_weights(), models[1].get_weights(), strict=True):
        np.testing.assert_array_equal(first, second)
    features = evaluation.image_features(models[0], a[:5], batch_size=2)
    assert features.shape == (5, 64) and np.all(features >= 0)  # after the ReLU
    assert evaluation.classifier_accuracy(models[0], a, b) > 0.75
    with pytest.raises(InputError, match=r"\[N, 72, 72\]"):
        evaluation.train_feature_classifier(a[:, :10], b, seed=0, epochs=1)


def test_translate_takes_models_and_callables():
    fast = _events(np.random.default_rng(2), 5)
    np.testing.assert_allclose(evaluation.translate(_Scale(2.0), fast, batch_size=2), 2 * fast,
                               rtol=1e-6)
    with_channel = evaluation.translate(lambda x: 3.0 * np.asarray(x)[..., None], fast, 4)
    np.testing.assert_allclose(with_channel, 3 * fast, rtol=1e-6)
    with pytest.raises(InputError, match="returned shape"):
        evaluation.translate(lambda x: np.asarray(x)[:, :5], fast)
    with pytest.raises(InputError, match="Keras model or a callable"):
        evaluation.translate(3.0, fast)


def test_frechet_table_pairs():
    rng = np.random.default_rng(4)
    features = {"fast": rng.normal(size=(50, 3)), "detailed": rng.normal(1.0, size=(50, 3)),
                "calpagan": rng.normal(0.5, size=(50, 3))}
    table = evaluation.frechet_table(features)
    assert list(table) == ["fast-detailed", "detailed-calpagan", "fast-calpagan"]
    assert table["detailed-calpagan"] == pytest.approx(
        statistics.frechet_distance(features["detailed"], features["calpagan"]))
    features["calpagan"][0, 0] = np.nan
    table = evaluation.frechet_table(features)
    assert np.isnan(table["fast-calpagan"]) and np.isfinite(table["fast-detailed"])
    with pytest.raises(InputError, match="missing"):
        evaluation.frechet_table({"fast": features["fast"]})


def test_frechet_history_records_resumes_and_drops_later_epochs(tmp_path):
    rng = np.random.default_rng(5)
    fast = _events(rng, 6)
    sets = {"train": (fast, 1.5 * fast), "test": (fast[:4], 1.5 * fast[:4])}
    model = evaluation.JetImageClassifier()
    path = os.path.join(tmp_path, "fid_history.json")
    scale = {"value": 1.0}
    callback = evaluation.FrechetHistory(lambda x: scale["value"] * np.asarray(x), model, sets,
                                         path, every=2)
    callback.on_train_begin()
    callback.on_epoch_end(0)  # epoch 1: not recorded with every = 2
    scale["value"] = 1.5  # the "trained" translator now reproduces the detailed images
    callback.on_epoch_end(1)
    entries = evaluation.read_frechet_history(path)
    assert [e["epoch"] for e in entries] == [0, 2]
    start, end = entries
    # Epoch 0: the translator copies the fast images.
    assert start["train"]["fast-calpagan"] == pytest.approx(0.0, abs=1e-6)
    assert start["train"]["detailed-calpagan"] == pytest.approx(start["train"]["fast-detailed"])
    # Epoch 2: it reproduces the detailed ones.
    assert end["test"]["detailed-calpagan"] == pytest.approx(0.0, abs=1e-6)
    assert end["test"]["fast-calpagan"] == pytest.approx(end["test"]["fast-detailed"])
    assert end["train"]["fast-detailed"] > 0
    # A run resumed from epoch 1 forgets epoch 2 and does not record epoch 0 again.
    resumed = evaluation.FrechetHistory(_Scale(1.5), model, sets, path, every=1,
                                        initial_epoch=1)
    assert [e["epoch"] for e in resumed.entries] == [0]
    resumed.on_train_begin()
    resumed.on_epoch_end(1)
    assert [e["epoch"] for e in evaluation.read_frechet_history(path)] == [0, 2]
    with open(path) as f:
        assert set(json.load(f)) == {"epochs"}


def test_chi2_table_and_summary():
    rng = np.random.default_rng(6)
    keys = ["jet1_pt", "delta_phi"]
    detailed = {k: rng.normal(size=300) for k in keys}
    fast = {k: rng.normal(0.5, size=300) for k in keys}
    calpagan = {"jet1_pt": detailed["jet1_pt"].copy(), "delta_phi": rng.normal(2.0, size=300)}
    table = evaluation.chi2_table(fast, detailed, calpagan, bins=10, keys=keys)
    assert list(table) == keys
    assert table["jet1_pt"]["detailed-calpagan"] == 0.0
    assert table["delta_phi"]["fast-detailed"] == pytest.approx(
        statistics.chi2_distance(fast["delta_phi"], detailed["delta_phi"], 10))
    summary = evaluation.chi2_summary(table)
    assert summary["closer"] == ["jet1_pt"] and summary["num_compared"] == 2
    with pytest.raises(InputError, match="missing"):
        evaluation.chi2_table(fast, detailed, calpagan)  # default keys: the paper's set


def test_total_energy_ratios():
    detailed = np.zeros((2, *towers.IMAGE_SHAPE))
    detailed[0, 0, 0], detailed[1, 0, 0] = 100.0, 300.0
    images = {"fast": 0.5 * detailed, "detailed": detailed, "calpagan": 2.0 * detailed}
    energy = evaluation.total_energy(images)
    assert energy["mean_gev"] == {"fast": 100.0, "detailed": 200.0, "calpagan": 400.0}
    assert energy["ratio_to_detailed"] == {"fast": 0.5, "calpagan": 2.0}
    assert energy["median_event_ratio_to_detailed"]["calpagan"] == 2.0
    images["calpagan"] = images["calpagan"].copy()
    images["calpagan"][1, 5, 5] = np.nan
    energy = evaluation.total_energy(images)
    assert energy["num_non_finite"]["calpagan"] == 1 and energy["mean_gev"]["detailed"] == 100.0


def test_inference_time_rows():
    fast = _events(np.random.default_rng(7), 3)
    runtime = evaluation.inference_time(_Scale(1.0), fast, [1, 5], repeats=2, min_seconds=0.01)
    assert runtime["device"] == "cpu" and [r["batch_size"] for r in runtime["rows"]] == [1, 5]
    for row in runtime["rows"]:
        assert len(row["ms_per_event_all"]) == 2
        assert row["ms_per_event"] == pytest.approx(np.median(row["ms_per_event_all"]))
        assert 0 < row["ms_per_event_best"] <= row["ms_per_event"]
    with pytest.raises(InputError, match="batch_sizes"):
        evaluation.inference_time(_Scale(1.0), fast, [0])


def test_evaluate_end_to_end(tmp_path, captured_figures):
    rng = np.random.default_rng(8)
    # detailed = 1.25 x fast and a translator that learnt exactly that: G-C vanishes.
    test_sets = {}
    for process in ("dijet", "wjets"):
        fast = _events(rng, 12)
        test_sets[process] = {"fast": fast, "detailed": 1.25 * fast}
    history = {"epochs": [{"epoch": 1, "generator_loss": 3.0, "discriminator_loss": 0.7},
                          {"epoch": 2, "generator_loss": 2.5, "discriminator_loss": 0.6}]}
    fid = {"epochs": [{"epoch": e, "train": {p: 1.0 / (e + 1) for p in evaluation.PAIRS},
                       "test": {p: 2.0 / (e + 1) for p in evaluation.PAIRS}} for e in (0, 1, 2)]}
    metrics = evaluation.evaluate(
        _Scale(1.25), test_sets, "wjets", os.path.join(tmp_path, "plots"), history=history,
        fid_history=fid, feature_model=evaluation.JetImageClassifier(), batch_sizes=(2,),
        runtime_repeats=1, runtime_min_seconds=0.01)
    assert list(metrics["processes"]) == ["wjets", "dijet"]  # the trained process first
    assert metrics["processes"]["dijet"]["cross_process"]
    assert not metrics["processes"]["wjets"]["cross_process"]
    result = metrics["processes"]["wjets"]
    assert list(result["chi2"]) == list(event_obs.EVENT_OBSERVABLES)
    # 1.25 x fast is the detailed image up to float32 rounding: the same jets, chi2 G-C = 0.
    assert result["chi2"]["jet1_pt"]["detailed-calpagan"] == 0.0
    assert result["chi2"]["jet1_pt"]["fast-calpagan"] == pytest.approx(
        result["chi2"]["jet1_pt"]["fast-detailed"])
    assert result["chi2"]["jet1_pt"]["fast-detailed"] > 0
    assert result["total_energy"]["ratio_to_detailed"]["calpagan"] == pytest.approx(1.0)
    assert result["total_energy"]["ratio_to_detailed"]["fast"] == pytest.approx(0.8)
    assert result["frechet"]["detailed-calpagan"] == pytest.approx(0.0, abs=1e-6)
    assert result["jets"]["detailed"]["fraction_two_jets"] == 1.0
    assert metrics["frechet_history"]["last"]["epoch"] == 2
    assert [r["batch_size"] for r in metrics["inference"]["rows"]] == [2]
    assert 0.0 <= metrics["feature_classifier_accuracy"] <= 1.0
    assert metrics["plots"] == [f"{p}_{what}.{fmt}" for p in ("wjets", "dijet")
                                for what in ("events", "observables") for fmt in ("png", "pdf")
                                ] + [f"{name}.{fmt}" for name in ("frechet_history", "losses",
                                                                   "inference_time")
                                     for fmt in ("png", "pdf")]
    assert len(captured_figures) == 7
    json.dumps(outputs.to_json(metrics), allow_nan=False)  # strict JSON
    with pytest.raises(InputError, match="trained_process"):
        evaluation.evaluate(_Scale(1.0), test_sets, "top", str(tmp_path))
    with pytest.raises(InputError, match="lacks detailed"):
        evaluation.evaluate(_Scale(1.0), {"dijet": {"fast": test_sets["dijet"]["fast"]}},
                            "dijet", str(tmp_path))


def test_threshold_keeps_a_soft_output_floor_out_of_the_jets():
    fast = _events(np.random.default_rng(9), 4)
    fast[fast < 0.5] = 0.0
    detailed = 1.25 * fast

    def floor(x):  # a translator leaving 0.01 GeV in every tower
        return 1.25 * np.asarray(x) + 0.01

    _, plain = evaluation.assess_process(floor, fast, detailed)
    metrics, cut = evaluation.assess_process(floor, fast, detailed, threshold_gev=0.1)
    assert metrics["threshold_gev"] == 0.1
    np.testing.assert_array_equal(cut["jets"]["calpagan"]["num_constituents"],
                                  cut["jets"]["detailed"]["num_constituents"])
    assert np.all(plain["jets"]["calpagan"]["num_constituents"][:, 0]
                  > cut["jets"]["detailed"]["num_constituents"][:, 0])
