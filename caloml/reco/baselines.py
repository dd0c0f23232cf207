"""Feature-based baselines of the reconstruction study (paper 003, appendices C and D).

* Classification (§5.3.1, appendix C): a boosted decision tree on the expert features of
  :mod:`caloml.observables.expert` — XGBoost tuned with scikit-optimize's ``BayesSearchCV``
  (the paper's baseline), or Triforce's ``BDT.py``, an sklearn AdaBoost of 800 depth-1 stumps
  with learning rate 0.5 on every scalar of the files (REFERENCES.md §3.3).
* Energy regression (appendix D): ``E = a·E_ECAL + b·E_HCAL + c`` (Eq. 2) by least squares,
  or an XGBoost regressor of depth 3 on the window sums and the ECAL mean depth (plus, for π±,
  the ECAL RMS in x, the HCAL RMS in (x, y) and the HCAL mean depth), early-stopped on the
  validation split. π± whose window sum ``E_ECAL + E_HCAL`` (the files' units, raw energy × 50)
  does not exceed 0.3·E (GeV) are dropped from every split, as Triforce's ``clean_chpi``.

:func:`run_bdt` and :func:`run_regression` write a work directory: ``config.json``, the models
(XGBoost's JSON format; sklearn models with ``joblib``, loadable by the same sklearn version
only, and only from a trusted source, as any pickle), ``predictions_<task>.npz`` in the format of
:mod:`caloml.reco.evaluation`, ``metrics.json`` and ``plots/``.

The library imports sklearn, scikit-optimize, XGBoost and matplotlib inside the functions that
need them, so entry scripts read the configs below before their flags are parsed.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from absl import logging

from caloml import outputs
from caloml.data import reco as data_reco
from caloml.errors import InputError
from caloml.observables import expert
from caloml.reco.config import (
    BDTConfig,
    RegressionConfig,
)

# Appendix D, Eq. 2: the linear regression's inputs.
LINEAR_FEATURES = ("ECAL_E", "HCAL_E")
# Appendix D: "total ECAL energy, total HCAL energy, mean z coordinate of the ECAL shower" for
# e, γ and π⁰ ...
EM_REGRESSION_FEATURES = ("ECAL_E", "HCAL_E", "ECALmomentZ1")
# ... and for π± also "RMS in the x direction of the ECAL shower, RMS in the (x, y) plane of the
# HCAL shower, mean z coordinate of the HCAL shower".
PION_REGRESSION_FEATURES = (*EM_REGRESSION_FEATURES, "ECAL_rmsX_cells", "HCAL_rmsXY_cells",
                            "HCALmomentZ1")
# Triforce BDT.py uses every scalar of the files but the truth (energy, eta, phi, theta,
# conversion, openingAngle): the expert features and the reconstructed angles. recoTheta is
# left out: it is a monotonic function of recoEta, so no stump can tell them apart.
ADABOOST_EXTRA_FEATURES = ("recoEta", "recoPhi")
# Scalars read with the windows: truth for the predictions file, reconstructed angles.
SCALAR_KEYS = ("energy", "pdgID", "eta", "recoEta", "recoPhi", "conversion")
# Importance of a feature in an XGBoost model: its total gain (the loss reduction of all splits
# on it), normalised to sum 1 — the analogue of the Gini importance of paper Fig. 25.
XGBOOST_IMPORTANCE = "total_gain"
# Labels of the importance kinds on the feature-importance figures.
IMPORTANCE_LABELS = {"gini": "Gini importance", XGBOOST_IMPORTANCE: "total gain (normalised)"}
# Method names of the predictions files (caloml.reco.evaluation.METHODS).
PREDICTION_METHODS = {"xgboost": "xgboost_bdt", "adaboost": "adaboost"}


def predictions_file(task: str) -> str:
    """Name of the predictions file of ``task`` in a work directory."""
    return f"predictions_{task}.npz"


# ============================================================================================
# Features
# ============================================================================================

def load_features(paths: dict[str, str], split: str, data_config: data_reco.DataConfig,
                  hit_threshold: float = expert.DEFAULT_HIT_THRESHOLD,
                  ) -> dict[str, np.ndarray]:
    """Expert features and scalars of one split of every file, block by block.

    Args:
        paths: ``{particle: path}`` (:func:`caloml.data.reco.dataset_files`); the order gives
            the labels.
        split: ``train``, ``validation`` or ``test``.
        data_config: rows of the splits.
        hit_threshold: as :func:`caloml.observables.expert.expert_features`.

    Returns:
        ``{name: [N]}``: the :data:`~caloml.observables.expert.FEATURE_NAMES` (float64), the
        :data:`SCALAR_KEYS` as read and ``label`` (int8, index of the particle in ``paths``).
    """
    parts = []
    for block in data_reco.iter_blocks(paths, split, data_config,
                                       keys=("ECAL", "HCAL", *SCALAR_KEYS)):
        features = expert.expert_features(block["ECAL"], block["HCAL"],
                                          hit_threshold=hit_threshold)
        features.update({key: block[key] for key in (*SCALAR_KEYS, "label")})
        parts.append(features)
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


def classification_feature_names(method: str) -> tuple[str, ...]:
    """Inputs of the classification BDT: the expert features (and reco angles for AdaBoost)."""
    if method == "adaboost":
        return (*expert.CLASSIFICATION_FEATURE_NAMES, *ADABOOST_EXTRA_FEATURES)
    return expert.CLASSIFICATION_FEATURE_NAMES


def regression_feature_names(method: str, particle: str) -> tuple[str, ...]:
    """Inputs of the regression baseline of ``method`` for ``particle`` (appendix D)."""
    if method == "linear":
        return LINEAR_FEATURES
    return PION_REGRESSION_FEATURES if particle == "piplus" else EM_REGRESSION_FEATURES


def regression_selection(features: dict[str, np.ndarray], particle: str,
                         config: RegressionConfig) -> np.ndarray:
    """[N] bool: events kept for the regression of ``particle`` (appendix D's cleaning).

    π±: ``ECAL_E + HCAL_E > pion_min_sum_fraction · energy``. The sums are in the files' units
    (raw energy × 50, so that an electron's sum is about its energy in GeV) and ``energy`` in GeV,
    as Triforce compares them. e, γ, π⁰: all events, or Triforce's ``clean_varangle`` if
    ``config.em_cleaning``.
    """
    window_sum = features["ECAL_E"] + features["HCAL_E"]
    energy_gev = np.asarray(features["energy"], dtype=np.float64)
    if particle == "piplus":
        return window_sum > config.pion_min_sum_fraction * energy_gev
    if config.em_cleaning:
        ratio = expert.safe_divide(features["HCAL_E"], features["ECAL_E"])
        return ((window_sum > config.em_min_sum_fraction * energy_gev)
                & (ratio < config.em_max_hcal_ecal_ratio) & (features["ECAL_E"] > 0))
    return np.ones(len(energy_gev), bool)


# ============================================================================================
# Classification
# ============================================================================================

def search_space(config: BDTConfig) -> dict[str, Any]:
    """scikit-optimize dimensions of the XGBoost hyper-parameter search."""
    from skopt.space import Integer, Real

    return {
        "max_depth": Integer(*config.max_depth_range),
        "learning_rate": Real(*config.learning_rate_range, prior="log-uniform"),
        "n_estimators": Integer(*config.n_estimators_range),
        "subsample": Real(*config.subsample_range),
        "colsample_bytree": Real(*config.colsample_bytree_range),
        "min_child_weight": Real(*config.min_child_weight_range, prior="log-uniform"),
        "gamma": Real(*config.gamma_range),
    }


def fit_xgboost_classifier(x: np.ndarray, y: np.ndarray, config: BDTConfig,
                           ) -> tuple[Any, dict[str, Any]]:
    """Tunes an ``XGBClassifier`` by Bayesian search and refits the best on all of ``x``.

    Args:
        x: [N, F] features.
        y: [N] labels 0/1.
        config: search space, ``n_iter``, ``cv_folds``, ``seed``, ``threads``.

    Returns:
        ``(model, search)``: the refitted best classifier and ``{"best_params": {...},
        "cv_best_auc": float, "cv_auc": [n_iter]}`` (mean ROC AUC over the folds).
    """
    import xgboost
    from sklearn.model_selection import StratifiedKFold
    from skopt import BayesSearchCV

    estimator = xgboost.XGBClassifier(objective="binary:logistic", tree_method="hist",
                                      n_jobs=config.threads, random_state=config.seed)
    folds = StratifiedKFold(config.cv_folds, shuffle=True, random_state=config.seed)
    search = BayesSearchCV(estimator, search_space(config), n_iter=config.n_iter, cv=folds,
                           scoring="roc_auc", refit=True, random_state=config.seed, n_jobs=1)
    search.fit(x, y)
    best = {key: value.item() if isinstance(value, np.generic) else value
            for key, value in search.best_params_.items()}
    return search.best_estimator_, {
        "best_params": best, "cv_best_auc": float(search.best_score_),
        "cv_auc": [float(v) for v in search.cv_results_["mean_test_score"]],
    }


def fit_adaboost_classifier(x: np.ndarray, y: np.ndarray, config: BDTConfig) -> Any:
    """Triforce's AdaBoost: 800 depth-1 stumps, learning rate 0.5 (REFERENCES.md §3.3).

    ``BDT.py`` declares ``max_depth = 3`` but never passes it, so sklearn's default stumps run.
    """
    from sklearn.ensemble import AdaBoostClassifier
    from sklearn.tree import DecisionTreeClassifier

    model = AdaBoostClassifier(DecisionTreeClassifier(max_depth=1),
                               n_estimators=config.adaboost_n_estimators,
                               learning_rate=config.adaboost_learning_rate,
                               random_state=config.seed)
    return model.fit(x, y)


def classifier_scores(model: Any, x: np.ndarray) -> np.ndarray:
    """float64 [N] scores, higher for class 1: XGBoost's log-odds, AdaBoost's decision value.

    Margins rather than probabilities, which saturate into ties far in the tails.
    """
    if hasattr(model, "get_booster"):
        return np.asarray(model.predict(x, output_margin=True), dtype=np.float64)
    return np.asarray(model.decision_function(x), dtype=np.float64)


def feature_importances(model: Any, num_features: int) -> tuple[np.ndarray, str]:
    """Normalised importances [F] and their kind.

    XGBoost: each feature's total gain over all splits, normalised to sum 1
    (:data:`XGBOOST_IMPORTANCE`); sklearn AdaBoost: the Gini importances of paper Fig. 25.
    """
    if hasattr(model, "get_booster"):
        score = model.get_booster().get_score(importance_type=XGBOOST_IMPORTANCE)
        values = np.array([score.get(f"f{i}", 0.0) for i in range(num_features)])
        total = values.sum()
        return (values / total if total > 0 else values), XGBOOST_IMPORTANCE
    return np.asarray(model.feature_importances_, dtype=np.float64), "gini"


def _save_model(model: Any, path: str) -> None:
    with outputs.atomic_path(path) as tmp_path:
        if hasattr(model, "save_model"):
            model.save_model(tmp_path)
        else:
            import joblib

            joblib.dump(model, tmp_path)


def _prepare_workdir(workdir: str, config: Any) -> tuple[str, str]:
    if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise InputError(f"work directory {workdir!r} exists and is not a directory")
    plots = os.path.join(workdir, "plots")
    os.makedirs(plots, exist_ok=True)
    outputs.remove_stale_temporaries(workdir)
    outputs.write_json(os.path.join(workdir, "config.json"), config)
    return plots, os.path.join(workdir, "data")


def _angle(data_config: data_reco.DataConfig) -> str:
    return "fixed" if data_config.fixed_angle else "variable"


def run_bdt(config: BDTConfig, workdir: str) -> dict[str, Any]:
    """Trains and tests the classification baseline of ``config.task``.

    Writes into ``workdir``: ``config.json``, ``data/`` (simulated files, when
    ``config.data.data`` is None), ``bdt.json`` (XGBoost) or ``bdt.joblib`` (AdaBoost),
    ``predictions_<task>.npz`` (test events: truth, label, score), ``metrics.json`` and
    ``plots/``: ``feature_importance`` (Fig. 25) and the ROC and accuracy figures of
    :func:`caloml.reco.figures.write_figures` (PNG + PDF).

    Returns:
        The metrics: ``test_auc`` (ROC AUC of the score for class 1), ``test_accuracy`` (score
        > 0), event counts, the importances, for XGBoost the search's results, and
        ``evaluation`` (:func:`caloml.reco.evaluation.summarise` of the predictions).
    """
    from sklearn.metrics import roc_auc_score

    from caloml.reco import evaluation, figures

    plots, data_dir = _prepare_workdir(workdir, config)
    particles = data_reco.TASKS[config.task]
    paths = data_reco.dataset_files(config.data, particles, data_dir, progress=config.progress)
    names = classification_feature_names(config.method)
    train = load_features(paths, "train", config.data, config.hit_threshold)
    test = load_features(paths, "test", config.data, config.hit_threshold)
    x_train = expert.feature_matrix(train, names)
    y_train = train["label"].astype(np.int64)
    logging.info("%s BDT on %d training events, %d features", config.method, len(y_train),
                 len(names))
    metrics: dict[str, Any] = {"task": config.task, "method": config.method,
                               "classes": list(particles)}
    if config.method == "xgboost":
        model, search = fit_xgboost_classifier(x_train, y_train, config)
        metrics["search"] = search
        model_path = os.path.join(workdir, "bdt.json")
    else:
        model = fit_adaboost_classifier(x_train, y_train, config)
        model_path = os.path.join(workdir, "bdt.joblib")
    _save_model(model, model_path)

    score = classifier_scores(model, expert.feature_matrix(test, names))
    label = test["label"].astype(np.int8)
    predictions = evaluation.write_predictions(
        os.path.join(workdir, predictions_file(config.task)),
        method=PREDICTION_METHODS[config.method],
        task=config.task, geometry=config.geometry or data_reco.geometry_of(paths),
        angle=_angle(config.data),
        arrays=_prediction_arrays(test, label=label, score=score,
                                  energy_pred_gev=np.full(len(label), np.nan)))
    importances, kind = feature_importances(model, len(names))
    figures.plot_feature_importance(list(names), importances,
                                    os.path.join(plots, "feature_importance"),
                                    xlabel=IMPORTANCE_LABELS[kind])
    order = np.argsort(importances)[::-1]
    metrics.update({
        "test_auc": float(roc_auc_score(label, score)) if len(set(label)) == 2 else float("nan"),
        "test_accuracy": float(np.mean((score > 0) == (label == 1))),
        "num_train": {p: int(np.sum(y_train == i)) for i, p in enumerate(particles)},
        "num_test": {p: int(np.sum(label == i)) for i, p in enumerate(particles)},
        "importance_type": kind,
        "feature_importances": {names[i]: float(importances[i]) for i in order},
        # The study's figures of merit (ROC, rejections, accuracy vs energy and η).
        "evaluation": evaluation.summarise([predictions], seed=config.seed),
    })
    figures.write_figures([predictions], plots, seed=config.seed)
    outputs.write_json(os.path.join(workdir, "metrics.json"), metrics)
    logging.info("%s %s BDT: test AUC %.4f", config.task, config.method, metrics["test_auc"])
    return metrics


def _prediction_arrays(features: dict[str, np.ndarray], *, label: np.ndarray,
                       score: np.ndarray, energy_pred_gev: np.ndarray) -> dict[str, np.ndarray]:
    return {
        # Charged pions of both signs (and e±) are one class: the files' pdgID carries the sign.
        "pdg": np.abs(np.asarray(features["pdgID"])).astype(np.int32),
        "label": np.asarray(label, dtype=np.int8),
        "score": np.asarray(score, dtype=np.float64),
        "energy_true_gev": np.asarray(features["energy"], dtype=np.float64),
        "energy_pred_gev": np.asarray(energy_pred_gev, dtype=np.float64),
        "eta": np.asarray(features["eta"], dtype=np.float64),
        "conversion": np.asarray(features["conversion"], dtype=np.int32),
    }


# ============================================================================================
# Regression
# ============================================================================================

def fit_linear_regression(x: np.ndarray, energy_gev: np.ndarray) -> tuple[Any, dict[str, float]]:
    """Least-squares fit of Eq. 2, ``E = a·E_ECAL + b·E_HCAL + c``.

    Args:
        x: [N, 2] window sums ``(E_ECAL, E_HCAL)`` in the files' units.
        energy_gev: [N] true energies.

    Returns:
        ``(model, {"a": …, "b": …, "c": …})``: a and b in GeV per file unit, c in GeV.
    """
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(x, energy_gev)
    a, b = (float(v) for v in model.coef_)
    return model, {"a": a, "b": b, "c": float(model.intercept_)}


def fit_xgboost_regressor(x_train: np.ndarray, energy_train_gev: np.ndarray,
                          x_validation: np.ndarray, energy_validation_gev: np.ndarray,
                          config: RegressionConfig) -> Any:
    """XGBoost regression of the energy (appendix D), early-stopped on the validation events.

    Returns:
        The fitted ``XGBRegressor``; its ``best_iteration`` is the round of the smallest
        validation RMSE, and ``predict`` uses the trees up to it.
    """
    import xgboost

    model = xgboost.XGBRegressor(
        objective="reg:squarederror", max_depth=config.max_depth,
        learning_rate=config.learning_rate, min_child_weight=config.min_child_weight,
        n_estimators=config.num_rounds, early_stopping_rounds=config.early_stopping_rounds,
        eval_metric="rmse", tree_method="hist", n_jobs=config.threads,
        random_state=config.seed)
    return model.fit(x_train, energy_train_gev,
                     eval_set=[(x_validation, energy_validation_gev)], verbose=False)


def relative_residual_summary(energy_pred_gev: np.ndarray, energy_true_gev: np.ndarray,
                              ) -> dict[str, float]:
    """Mean (bias) and standard deviation (resolution) of ``(E_pred − E_true) / E_true``."""
    residual = (np.asarray(energy_pred_gev, np.float64) - energy_true_gev) / energy_true_gev
    return {"relative_bias": float(np.mean(residual)),
            "relative_resolution": float(np.std(residual)), "num_events": int(len(residual))}


def run_regression(config: RegressionConfig, workdir: str) -> dict[str, Any]:
    """Trains and tests the regression baseline for each particle of ``config``.

    Writes into ``workdir``: ``config.json``, ``data/`` (simulated files), per particle
    ``linear_<particle>.joblib`` or ``xgboost_<particle>.json``, ``predictions_regression.npz``
    (the test events kept by :func:`regression_selection`, all particles), ``metrics.json`` and
    ``plots/``: the bias and resolution figure of :func:`caloml.reco.figures.write_figures`
    and, for XGBoost, ``feature_importance_<particle>`` (PNG + PDF).

    Returns:
        The metrics: per particle the events used and dropped per split, ``a``, ``b``, ``c``
        (linear) or ``best_iteration`` (XGBoost), and the test ``relative_bias`` and
        ``relative_resolution`` over all energies; ``evaluation``: the binned bias, resolution
        and Eq. 3 fit (:func:`caloml.reco.evaluation.summarise`).
    """
    from caloml.reco import evaluation, figures

    plots, data_dir = _prepare_workdir(workdir, config)
    paths = data_reco.dataset_files(config.data, config.particles, data_dir,
                                    progress=config.progress)
    metrics: dict[str, Any] = {"method": config.method, "particles": {}}
    predictions = []
    for particle in config.particles:
        one = {particle: paths[particle]}
        names = regression_feature_names(config.method, particle)
        splits, summary = {}, {"features": list(names)}
        for split in data_reco.SPLITS:
            if split == "validation" and config.method == "linear":
                continue
            features = load_features(one, split, config.data, config.hit_threshold)
            keep = regression_selection(features, particle, config)
            splits[split] = {key: value[keep] for key, value in features.items()}
            summary[f"num_{split}"] = int(keep.sum())
            summary[f"dropped_{split}"] = int(np.sum(~keep))
        x = {split: expert.feature_matrix(arrays, names) for split, arrays in splits.items()}
        energy = {split: np.asarray(arrays["energy"], np.float64)
                  for split, arrays in splits.items()}
        if config.method == "linear":
            model, coefficients = fit_linear_regression(x["train"], energy["train"])
            summary.update(coefficients)
            _save_model(model, os.path.join(workdir, f"linear_{particle}.joblib"))
        else:
            model = fit_xgboost_regressor(x["train"], energy["train"], x["validation"],
                                          energy["validation"], config)
            summary["best_iteration"] = int(model.best_iteration)
            _save_model(model, os.path.join(workdir, f"xgboost_{particle}.json"))
            importances, kind = feature_importances(model, len(names))
            summary["importance_type"] = kind
            summary["feature_importances"] = dict(zip(names, importances.tolist(), strict=True))
            figures.plot_feature_importance(
                list(names), importances, os.path.join(plots, f"feature_importance_{particle}"),
                xlabel=IMPORTANCE_LABELS[kind], title=particle)
        energy_pred = np.asarray(model.predict(x["test"]), dtype=np.float64)
        summary["test"] = relative_residual_summary(energy_pred, energy["test"])
        metrics["particles"][particle] = summary
        logging.info("%s %s regression: best %s, test resolution %.4f", particle,
                     config.method, summary.get("best_iteration", "-"),
                     summary["test"]["relative_resolution"])
        n = len(energy_pred)
        predictions.append(_prediction_arrays(
            splits["test"], label=np.full(n, -1, np.int8), score=np.full(n, np.nan),
            energy_pred_gev=energy_pred))
    written = evaluation.write_predictions(
        os.path.join(workdir, predictions_file("regression")), method=config.method,
        task="regression", geometry=config.geometry or data_reco.geometry_of(paths),
        angle=_angle(config.data),
        arrays={key: np.concatenate([p[key] for p in predictions]) for key in predictions[0]})
    # Bias and resolution in bins of true energy with the Eq. 3 fit (Figs. 26–28).
    metrics["evaluation"] = evaluation.summarise([written], seed=config.seed)
    figures.write_figures([written], plots, seed=config.seed)
    outputs.write_json(os.path.join(workdir, "metrics.json"), metrics)
    return metrics
