"""BDT and regression baselines (paper 003 appendices C and D) on tiny samples."""

import dataclasses
import os

import numpy as np
import pytest
import xgboost

from caloml import outputs
from caloml.data import reco as data_reco
from caloml.errors import InputError
from caloml.observables import expert
from caloml.reco import baselines, evaluation


def separable(n=120, seed=0):
    """[n, 3] features whose first column alone separates the classes."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    x = rng.normal(size=(n, 3))
    x[:, 0] += 4.0 * y
    return x, y


# ---------------------------------------------------------------------------------------------
# Configs


def test_defaults_are_the_papers_and_triforces():
    regression = baselines.RegressionConfig()
    assert (regression.max_depth, regression.learning_rate, regression.min_child_weight,
            regression.num_rounds, regression.early_stopping_rounds) == (3, 0.3, 1.0, 1000, 10)
    assert regression.pion_min_sum_fraction == 0.3 and not regression.em_cleaning
    assert regression.particles == data_reco.PARTICLES
    assert dataclasses.replace(regression, particle="pi0").particles == ("pi0",)
    bdt = baselines.BDTConfig()
    assert (bdt.adaboost_n_estimators, bdt.adaboost_learning_rate) == (800, 0.5)
    assert bdt.hit_threshold == 0.1 and bdt.method == "xgboost"


@pytest.mark.parametrize("cls, changes, message", [
    (baselines.BDTConfig, {"task": "mu_pi"}, r"task must be one of \['gamma_pi0', 'e_pi'\]"),
    (baselines.BDTConfig, {"method": "svm"}, "method must be one of"),
    (baselines.BDTConfig, {"cv_folds": 1}, "cv_folds must be an integer of at least 2"),
    (baselines.BDTConfig, {"learning_rate_range": (0.0, 0.3)},
     r"learning_rate_range must be a \(low, high\) pair with 0 < low < high"),
    (baselines.BDTConfig, {"max_depth_range": (5, 3)}, "max_depth_range must be"),
    (baselines.BDTConfig, {"subsample_range": (0.5, 1.5)}, r"subsample_range must lie in \(0, 1\]"),
    (baselines.RegressionConfig, {"particle": "muon"}, "particle must be one of"),
    (baselines.RegressionConfig, {"learning_rate": 0.0}, "learning_rate must be > 0"),
    (baselines.RegressionConfig, {"pion_min_sum_fraction": -0.1},
     "pion_min_sum_fraction must be ≥ 0"),
])
def test_bad_settings_are_named(cls, changes, message):
    with pytest.raises(InputError, match=message):
        cls(**changes)


# ---------------------------------------------------------------------------------------------
# Features and selections


def test_feature_lists():
    assert baselines.classification_feature_names("xgboost") == (
        expert.CLASSIFICATION_FEATURE_NAMES)
    assert baselines.classification_feature_names("adaboost") == (
        *expert.CLASSIFICATION_FEATURE_NAMES, "recoEta", "recoPhi")
    assert baselines.regression_feature_names("linear", "piplus") == ("ECAL_E", "HCAL_E")
    assert baselines.regression_feature_names("xgboost", "photon") == (
        "ECAL_E", "HCAL_E", "ECALmomentZ1")
    assert baselines.regression_feature_names("xgboost", "piplus") == (
        "ECAL_E", "HCAL_E", "ECALmomentZ1", "ECAL_rmsX_cells", "HCAL_rmsXY_cells", "HCALmomentZ1")
    assert set(baselines.PION_REGRESSION_FEATURES) <= set(expert.FEATURE_NAMES)


def test_pion_cleaning_keeps_window_sums_above_the_fraction_of_the_true_energy():
    features = {"ECAL_E": np.array([10.0, 20.0, 29.0, 0.0, 1.0]),
                "HCAL_E": np.array([0.0, 11.0, 2.0, 0.0, 3.0]),
                "energy": np.array([100.0, 100.0, 100.0, 100.0, 3.0])}
    config = baselines.RegressionConfig()
    # Sums 10, 31, 31, 0, 4 against 0.3 E = 30, 30, 30, 30, 0.9.
    np.testing.assert_array_equal(baselines.regression_selection(features, "piplus", config),
                                  [False, True, True, False, True])
    np.testing.assert_array_equal(baselines.regression_selection(
        features, "piplus", dataclasses.replace(config, pion_min_sum_fraction=0.05)),
        [True, True, True, False, True])
    assert baselines.regression_selection(features, "photon", config).all()
    # Triforce's clean_varangle: sum > 0.66 E and HCAL/ECAL < 0.4 (only the last event).
    np.testing.assert_array_equal(baselines.regression_selection(
        features, "electron", dataclasses.replace(config, em_cleaning=True)),
        [False, False, False, False, False])
    features["ECAL_E"][4] = 10.0
    np.testing.assert_array_equal(baselines.regression_selection(
        features, "electron", dataclasses.replace(config, em_cleaning=True)),
        [False, False, False, False, True])


# ---------------------------------------------------------------------------------------------
# Models


def test_linear_regression_recovers_eq2_coefficients():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 100, size=(50, 2))
    energy = 1.2 * x[:, 0] + 3.5 * x[:, 1] + 0.7
    model, coefficients = baselines.fit_linear_regression(x, energy)
    assert coefficients == pytest.approx({"a": 1.2, "b": 3.5, "c": 0.7})
    np.testing.assert_allclose(model.predict(x[:3]), energy[:3])


def test_xgboost_regressor_has_appendix_d_settings_and_stops_early():
    rng = np.random.default_rng(2)
    x = rng.uniform(size=(200, 3))
    energy = 100 * x[:, 0] + 1.0
    # Validation targets unrelated to the features: the loss stops improving at once.
    config = baselines.RegressionConfig(threads=1)
    model = baselines.fit_xgboost_regressor(x[:150], energy[:150], x[150:],
                                            rng.uniform(0, 100, size=50), config)
    params = model.get_params()
    assert (params["max_depth"], params["learning_rate"], params["min_child_weight"],
            params["n_estimators"]) == (3, 0.3, 1.0, 1000)
    assert model.best_iteration < 50
    assert model.get_booster().num_boosted_rounds() == model.best_iteration + 1 + 10


def test_relative_residual_summary():
    summary = baselines.relative_residual_summary(np.array([11.0, 9.0, 22.0]),
                                                  np.array([10.0, 10.0, 20.0]))
    # Residuals 0.1, −0.1, 0.1: mean 1/30, population standard deviation √(8/900).
    assert summary["relative_bias"] == pytest.approx(1 / 30)
    assert summary["relative_resolution"] == pytest.approx(np.sqrt(8 / 900))
    assert summary["num_events"] == 3


def test_adaboost_boosts_stumps_with_scores_higher_for_class_one():
    x, y = separable()
    config = baselines.BDTConfig(method="adaboost", adaboost_n_estimators=20)
    model = baselines.fit_adaboost_classifier(x, y, config)
    assert model.get_params()["n_estimators"] == 20 and len(model.estimators_) >= 1
    assert all(tree.get_depth() == 1 for tree in model.estimators_)
    assert model.learning_rate == 0.5
    scores = baselines.classifier_scores(model, x)
    assert scores.dtype == np.float64 and scores[y == 1].min() > scores[y == 0].max()
    importances, kind = baselines.feature_importances(model, 3)
    assert kind == "gini" and importances.sum() == pytest.approx(1.0)
    assert np.argmax(importances) == 0


def test_xgboost_search_returns_a_refitted_model_in_the_space_and_log_odds():
    x, y = separable()
    config = baselines.BDTConfig(n_iter=2, cv_folds=2, n_estimators_range=(5, 20),
                                 max_depth_range=(1, 3), threads=1)
    model, search = baselines.fit_xgboost_classifier(x, y, config)
    best = search["best_params"]
    assert set(best) == {"max_depth", "learning_rate", "n_estimators", "subsample",
                         "colsample_bytree", "min_child_weight", "gamma"}
    assert 1 <= best["max_depth"] <= 3 and 5 <= best["n_estimators"] <= 20
    assert model.get_params()["n_estimators"] == best["n_estimators"]
    assert len(search["cv_auc"]) == 2 and search["cv_best_auc"] == max(search["cv_auc"])
    scores = baselines.classifier_scores(model, x)
    probability = model.predict_proba(x)[:, 1]
    np.testing.assert_allclose(1 / (1 + np.exp(-scores)), probability, rtol=1e-5)
    importances, kind = baselines.feature_importances(model, 3)
    assert kind == "total_gain" and importances.sum() == pytest.approx(1.0)
    assert np.argmax(importances) == 0


# ---------------------------------------------------------------------------------------------
# Whole runs on a tiny simulated sample


@pytest.fixture(scope="module")
def clic_dir(tmp_path_factory):
    """Simulated photon, π⁰ and electron files with 60 + 20 + 100 rows each."""
    directory = str(tmp_path_factory.mktemp("clic"))
    config = data_reco.DataConfig(num_train=60, num_validation=20, num_test=100, workers=1)
    data_reco.dataset_files(config, ("photon", "pi0", "electron"), directory)
    return directory


def small_data(clic_dir):
    return data_reco.DataConfig(data=clic_dir, num_train=60, num_validation=20, num_test=100)


@pytest.mark.slow
def test_run_bdt_writes_a_reloadable_model_and_consistent_predictions(clic_dir, tmp_path):
    config = baselines.BDTConfig(data=small_data(clic_dir), n_iter=2, cv_folds=2,
                                 n_estimators_range=(5, 20), threads=1)
    metrics = baselines.run_bdt(config, str(tmp_path))
    assert outputs.read_json(tmp_path / "metrics.json") == metrics
    assert outputs.read_json(tmp_path / "config.json")["n_iter"] == 2
    predictions = evaluation.read_predictions(tmp_path / "predictions_gamma_pi0.npz")
    assert (predictions.method, predictions.task, predictions.angle) == (
        "xgboost_bdt", "gamma_pi0", "variable")
    np.testing.assert_array_equal(predictions.pdg, np.where(predictions.label == 0, 22, 111))
    assert np.all(np.isnan(predictions.energy_pred_gev))
    assert metrics["num_test"] == {"photon": int(np.sum(predictions.label == 0)),
                                   "pi0": int(np.sum(predictions.label == 1))}
    from sklearn.metrics import roc_auc_score

    assert metrics["test_auc"] == pytest.approx(roc_auc_score(predictions.label,
                                                              predictions.score))
    # The saved model gives the written scores from features recomputed from the files.
    model = xgboost.XGBClassifier()
    model.load_model(tmp_path / "bdt.json")
    paths = {p: os.path.join(clic_dir, f"{p}.h5") for p in ("photon", "pi0")}
    test = baselines.load_features(paths, "test", config.data)
    x = expert.feature_matrix(test, expert.CLASSIFICATION_FEATURE_NAMES)
    np.testing.assert_allclose(model.predict(x, output_margin=True), predictions.score,
                               rtol=1e-5, atol=1e-6)
    assert len(metrics["feature_importances"]) == 47
    assert metrics["evaluation"]["classification"]["clic"]["variable"]["gamma_pi0"][
        "methods"]["xgboost_bdt"]["auc"] == pytest.approx(metrics["test_auc"])
    assert {"feature_importance.png", "feature_importance.pdf",
            "roc_gamma_pi0_clic_variable.png"} <= set(os.listdir(tmp_path / "plots"))


@pytest.mark.slow
def test_adaboost_run_draws_gini_importances_of_every_scalar(clic_dir, tmp_path,
                                                             captured_figures):
    config = baselines.BDTConfig(data=small_data(clic_dir), method="adaboost",
                                 adaboost_n_estimators=30)
    metrics = baselines.run_bdt(config, str(tmp_path))
    assert metrics["importance_type"] == "gini" and len(metrics["feature_importances"]) == 49
    assert os.path.exists(tmp_path / "bdt.joblib")
    importance = [fig for fig in captured_figures
                  if fig.axes[0].get_xlabel() == "Gini importance"]
    assert len(importance) == 1
    labels = {t.get_text() for t in importance[0].axes[0].get_yticklabels()}
    assert labels == set(baselines.classification_feature_names("adaboost"))


@pytest.mark.slow
def test_run_regression_linear_and_xgboost(clic_dir, tmp_path):
    data = small_data(clic_dir)
    linear = baselines.run_regression(
        baselines.RegressionConfig(method="linear", particle="electron", data=data),
        str(tmp_path / "linear"))
    predictions = evaluation.read_predictions(tmp_path / "linear" / "predictions_regression.npz")
    assert predictions.method == "linear" and np.all(predictions.label == -1)
    assert np.all(predictions.pdg == 11)
    test = baselines.load_features({"electron": os.path.join(clic_dir, "electron.h5")},
                                   "test", data)
    coefficients = linear["particles"]["electron"]
    np.testing.assert_allclose(
        predictions.energy_pred_gev,
        coefficients["a"] * test["ECAL_E"] + coefficients["b"] * test["HCAL_E"]
        + coefficients["c"], rtol=1e-9)
    np.testing.assert_array_equal(predictions.energy_true_gev, test["energy"])
    assert coefficients["num_test"] == 100 and coefficients["dropped_test"] == 0

    boosted = baselines.run_regression(
        baselines.RegressionConfig(particle="electron", data=data, threads=1),
        str(tmp_path / "xgboost"))
    summary = boosted["particles"]["electron"]
    assert 0 <= summary["best_iteration"] < 1000
    model = xgboost.XGBRegressor()
    model.load_model(tmp_path / "xgboost" / "xgboost_electron.json")
    predictions = evaluation.read_predictions(
        tmp_path / "xgboost" / "predictions_regression.npz")
    x = expert.feature_matrix(test, baselines.EM_REGRESSION_FEATURES)
    np.testing.assert_allclose(model.predict(x), predictions.energy_pred_gev, rtol=1e-5)
    residual = (predictions.energy_pred_gev - test["energy"]) / test["energy"]
    assert summary["test"]["relative_resolution"] == pytest.approx(np.std(residual))
    assert os.path.exists(tmp_path / "xgboost" / "plots" / "feature_importance_electron.png")
