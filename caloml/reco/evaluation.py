"""Evaluation of the end-to-end reconstruction study (paper 003, §5.3–5.4 and appendix D).

Every network and baseline writes its test-set predictions in one file format
(:func:`write_predictions`, :func:`read_predictions`); this module turns a list of such files
into the paper's figures of merit and the ``metrics.json`` content (:func:`summarise`).

Classification (Figs. 13, 14, 17). The two classes of a task are ``0`` and ``1``:
γ (0) vs π⁰ (1) in ``gamma_pi0``, e (0) vs π± (1) in ``e_pi``. The **signal is class 0** (the
γ or the e) and the background class 1. A score is larger for events more like class 1: a
logit difference or a BDT margin, never a probability, so that ROC curves have no ties where
a sigmoid saturates. An event is *selected as signal* when ``score <= threshold``; the signal
efficiency is the fraction of class 0 selected, the background efficiency (false-positive
rate) the fraction of class 1 selected, and the background rejection its inverse — the same
convention as :mod:`caloml.observables.statistics`. The predicted class is
``score > threshold`` (0 for logit differences: the larger logit wins).

Regression (Figs. 15, 18, 19, 26–28). The relative residual of an event is
``r = (E_pred − E_true) / E_true``. In bins of true energy:

* **bias** = mean of ``r`` (positive: the energy is overestimated), error ``std(r) / √n``;
* **resolution** = ``σ(ΔE) / E_true``: the standard deviation of ``r`` (as in the original
  analysis), error ``σ / √(2 (n − 1))`` (Gaussian); or, with ``estimator="iqr68"``, the half
  width of the central 68 % interval of ``r`` (robust to the tails of leaking π±), error from
  a bootstrap.

Eq. 3, ``σ/E = a/√E ⊕ b ⊕ c/E`` (terms added in quadrature, E in GeV, σ/E a fraction),
is fitted to the binned resolutions at the mean true energy of each bin, weighted by their
errors, with a, b, c ≥ 0 (:func:`fit_resolution_eq3`).
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.optimize
import sklearn.metrics
from absl import logging

from caloml import outputs
from caloml.errors import DataError, InputError, MissingFileError
from caloml.observables import statistics

# Particle names by PDG id (the names of caloml.data.reco.PARTICLES and of
# caloml.plotting.core.PARTICLE_LABELS; charged pions of both signs are stored as 211).
PDG_PARTICLES = {11: "electron", 22: "photon", 111: "pi0", 211: "piplus"}
# Classes 0 and 1 of each classification task by PDG id (paper 003, §5.3.1); class 0 is signal.
TASK_PDGS = {"gamma_pi0": (22, 111), "e_pi": (11, 211)}
TASKS = (*TASK_PDGS, "regression")
NETWORKS = ("dnn", "cnn", "googlenet")
CLASSIFICATION_BASELINES = ("xgboost_bdt", "adaboost")
REGRESSION_BASELINES = ("linear", "xgboost")
METHODS = (*NETWORKS, *CLASSIFICATION_BASELINES, *REGRESSION_BASELINES)
# CLIC and the targets of caloml.data.resample ("atlas_printed": the paper's printed 3rd-layer
# Δη of 0.5).
GEOMETRIES = ("clic", "atlas", "atlas_printed", "cms")
ANGLES = ("variable", "fixed")
METADATA_KEYS = ("method", "task", "geometry", "angle")
_METADATA_CHOICES = {"method": METHODS, "task": TASKS, "geometry": GEOMETRIES, "angle": ANGLES}
# Arrays of a predictions file, one row per test event, with the dtype they are stored in.
ARRAY_DTYPES = {
    "pdg": np.int32,
    "label": np.int8,
    "score": np.float64,
    "energy_true_gev": np.float64,
    "energy_pred_gev": np.float64,
    "eta": np.float64,
    "conversion": np.int32,
}

# True-energy bins of the regression figures (paper range 2–500 GeV): finer below 50 GeV,
# where the a/√E and c/E terms of Eq. 3 are measured, than the original's 25 GeV steps.
DEFAULT_ENERGY_EDGES_GEV = (2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 150.0, 200.0, 300.0, 400.0, 500.0)
# Energies at which metrics.json quotes resolution and bias (interpolated between bins).
REFERENCE_ENERGIES_GEV = (10.0, 100.0, 400.0)
# Signal efficiencies at which metrics.json quotes the background rejection.
REPORTED_EFFICIENCIES = (0.9, 0.99)
# A bin with fewer events gives no bias or resolution (its spread is not measured).
MIN_EVENTS_PER_BIN = 10
NUM_BOOTSTRAP = 100
RESOLUTION_ESTIMATORS = ("std", "iqr68")


# ---------------------------------------------------------------------------------------------
# Predictions files


@dataclasses.dataclass(frozen=True, eq=False)
class Predictions:
    """One method's predictions on one test set (every array ``[N]``, one row per event).

    Attributes:
        method: one of :data:`METHODS`.
        task: ``"gamma_pi0"``, ``"e_pi"`` or ``"regression"``.
        geometry: one of :data:`GEOMETRIES` (``"clic"``, ``"atlas"``, ``"cms"``, …).
        angle: ``"variable"`` or ``"fixed"`` incidence angle.
        pdg: ``[N]`` int32 true PDG id without its sign (11, 22, 111, 211).
        label: ``[N]`` int8 true class of the task (0 or 1), -1 where the method did not classify.
        score: ``[N]`` float64, larger = more like class 1 (logit difference or BDT margin);
            NaN where not classified.
        energy_true_gev: ``[N]`` float64 true energy in GeV.
        energy_pred_gev: ``[N]`` float64 predicted energy in GeV; NaN where not regressed.
        eta: ``[N]`` float64 true pseudorapidity.
        conversion: ``[N]`` int32 photon conversion flag (0 for other particles).
    """

    method: str
    task: str
    geometry: str
    angle: str
    pdg: np.ndarray
    label: np.ndarray
    score: np.ndarray
    energy_true_gev: np.ndarray
    energy_pred_gev: np.ndarray
    eta: np.ndarray
    conversion: np.ndarray

    @property
    def num_events(self) -> int:
        return int(self.pdg.shape[0])

    @property
    def classifies(self) -> bool:
        """Whether any event was classified (the file holds a ROC curve)."""
        return bool(np.any(self.label >= 0))

    @property
    def regresses(self) -> bool:
        """Whether any event has a predicted energy."""
        return bool(np.any(np.isfinite(self.energy_pred_gev)))

    def arrays(self) -> dict[str, np.ndarray]:
        return {key: getattr(self, key) for key in ARRAY_DTYPES}


def _validated(source: str, metadata: Mapping[str, Any],
               arrays: Mapping[str, Any]) -> Predictions:
    """A :class:`Predictions` from raw metadata and arrays; DataError naming ``source`` and key."""
    values = {}
    for key in METADATA_KEYS:
        if key not in metadata:
            raise DataError(f"{source}: missing metadata key {key!r}")
        value = metadata[key]
        value = value.item() if isinstance(value, np.ndarray) and value.ndim == 0 else value
        if not isinstance(value, str) or value not in _METADATA_CHOICES[key]:
            raise DataError(f"{source}: metadata {key!r} is {value!r}; expected one of "
                            f"{list(_METADATA_CHOICES[key])}")
        values[key] = value
    unknown = sorted(set(arrays) - set(ARRAY_DTYPES) - set(METADATA_KEYS))
    if unknown:
        raise DataError(f"{source}: unknown key {unknown[0]!r}; expected only "
                        f"{list(ARRAY_DTYPES)} and the metadata {list(METADATA_KEYS)}")
    length = None
    for key, dtype in ARRAY_DTYPES.items():
        if key not in arrays:
            raise DataError(f"{source}: missing key {key!r}")
        array = np.asarray(arrays[key])
        if array.ndim != 1:
            raise DataError(f"{source}: key {key!r} has shape {array.shape}; expected [N], "
                            "one row per event")
        if length is None:
            length = array.shape[0]
        elif array.shape[0] != length:
            raise DataError(f"{source}: key {key!r} has length {array.shape[0]}; expected "
                            f"{length} (one row per event, as 'pdg')")
        numeric = (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.bool_)
                   or np.issubdtype(array.dtype, np.floating))
        if np.issubdtype(dtype, np.integer):
            # Integers stored as floats (HDF5 pdgID) are fine; fractions and overflow are not.
            info = np.iinfo(dtype)
            with np.errstate(invalid="ignore"):
                integral = numeric and bool(np.all((array == np.round(array))
                                                   & (array >= info.min) & (array <= info.max)))
            if not integral:
                raise DataError(f"{source}: key {key!r} holds non-integers or values outside "
                                f"{np.dtype(dtype).name}; expected integers")
        elif not numeric:
            raise DataError(f"{source}: key {key!r} has dtype {array.dtype}; expected numbers")
        values[key] = array.astype(dtype)
    if length == 0:
        raise DataError(f"{source}: key 'pdg' has no events; expected at least one")
    # The charge sign is not a class of the study (π⁻ and π⁺ are both "π±"): stored as |pdg|.
    values["pdg"] = np.abs(values["pdg"])
    pdg, label, score = values["pdg"], values["label"], values["score"]
    bad = ~np.isin(pdg, list(PDG_PARTICLES))
    if bad.any():
        raise DataError(f"{source}: key 'pdg' holds {pdg[bad][0]}; expected one of "
                        f"{list(PDG_PARTICLES)}")
    if not np.all(np.isin(label, (-1, 0, 1))):
        raise DataError(f"{source}: key 'label' holds values other than -1, 0, 1")
    task = values["task"]
    if task == "regression":
        if np.any(label >= 0):
            raise DataError(f"{source}: key 'label' classifies events in task 'regression'; "
                            "expected -1 everywhere")
    else:
        classes = np.asarray(TASK_PDGS[task])
        if not np.all(np.isin(pdg, classes)):
            raise DataError(f"{source}: key 'pdg' holds particles outside task {task!r}; "
                            f"expected only {list(classes)}")
        classified = label >= 0
        if np.any(classes[label[classified]] != pdg[classified]):
            raise DataError(f"{source}: key 'label' disagrees with 'pdg'; expected 0 for "
                            f"{classes[0]} and 1 for {classes[1]} in task {task!r}")
    if np.any(np.isfinite(score) != (label >= 0)):
        raise DataError(f"{source}: key 'score' must be finite exactly where 'label' is 0 or 1 "
                        "and NaN where it is -1")
    energy_true = values["energy_true_gev"]
    if not np.all(np.isfinite(energy_true) & (energy_true > 0)):
        raise DataError(f"{source}: key 'energy_true_gev' must be finite and positive")
    if np.any(np.isinf(values["energy_pred_gev"])):
        raise DataError(f"{source}: key 'energy_pred_gev' is infinite; expected a number or NaN")
    if not np.all(np.isfinite(values["eta"])):
        raise DataError(f"{source}: key 'eta' must be finite")
    return Predictions(**values)


def write_predictions(path: str | os.PathLike, *, method: str, task: str, geometry: str,
                      angle: str, arrays: Mapping[str, np.ndarray]) -> Predictions:
    """Validates and writes one method's predictions as ``.npz`` (atomically).

    Args:
        path: the output file (conventionally ``predictions_<task>.npz`` in the work directory).
        method: one of :data:`METHODS` (``"dnn"``, ``"xgboost_bdt"``, ``"linear"``, …).
        task: ``"gamma_pi0"``, ``"e_pi"`` or ``"regression"``.
        geometry: one of :data:`GEOMETRIES` (``"clic"``, ``"atlas"``, ``"cms"``, …).
        angle: ``"variable"`` or ``"fixed"``.
        arrays: the arrays of :data:`ARRAY_DTYPES`, each ``[N]`` (see :class:`Predictions`);
            negative PDG ids (π⁻, e⁺) are stored as their absolute value.

    Returns:
        The predictions as written.

    Raises:
        DataError: a missing or unknown key, a wrong length, a value out of range or unknown
            metadata (the message names the file and the key).
        OutputError: ``path`` cannot be written.
    """
    path = os.fspath(path)
    metadata = {"method": method, "task": task, "geometry": geometry, "angle": angle}
    predictions = _validated(path, metadata, arrays)
    outputs.check_writable(path)
    stored = {key: np.asarray(value) for key, value in metadata.items()}
    with outputs.atomic_path(path) as tmp_path, open(tmp_path, "wb") as f:
        # A file object keeps np.savez from appending ".npz" to the temporary name.
        np.savez(f, **stored, **predictions.arrays())
    return predictions


def read_predictions(path: str | os.PathLike) -> Predictions:
    """Reads and validates a file written by :func:`write_predictions`.

    Raises:
        MissingFileError: ``path`` does not exist.
        DataError: not an ``.npz`` archive, or its content is invalid (file and key named).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise MissingFileError(f"predictions file {path!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as archive:
            content = {key: archive[key] for key in archive.files}
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: not a predictions .npz archive ({error})") from None
    metadata = {key: content.pop(key) for key in METADATA_KEYS if key in content}
    return _validated(path, metadata, content)


# ---------------------------------------------------------------------------------------------
# Classification


@dataclasses.dataclass(frozen=True, eq=False)
class RocCurve:
    """A ROC curve with signal = class 0 (arrays ``[P]``, increasing efficiencies).

    Attributes:
        signal_efficiency: fraction of class 0 with ``score <= threshold`` (true-positive rate).
        background_efficiency: fraction of class 1 with ``score <= threshold`` (false-positive
            rate); the background rejection is its inverse.
        thresholds: the score thresholds (increasing; the first, ``-inf``, selects nothing).
        auc: area under the curve.
        auc_err: its bootstrap standard deviation.
    """

    signal_efficiency: np.ndarray
    background_efficiency: np.ndarray
    thresholds: np.ndarray
    auc: float
    auc_err: float


def _classified(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels [n] (0/1) and finite scores [n] of the classified events; InputError if one class."""
    labels = np.asarray(labels).reshape(-1)
    scores = np.asarray(scores, np.float64).reshape(-1)
    if labels.shape != scores.shape:
        raise InputError(f"labels {labels.shape} and scores {scores.shape} differ in shape")
    keep = (labels >= 0) & np.isfinite(scores)
    labels, scores = labels[keep].astype(np.int64), scores[keep]
    if np.any(labels > 1):
        raise InputError("labels must be 0, 1 or -1 (not classified)")
    if not (np.any(labels == 0) and np.any(labels == 1)):
        raise InputError("a ROC curve needs events of both classes (labels 0 and 1)")
    return labels, scores


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve with signal = class 0, selected by ``score <= threshold``.

    Args:
        labels: ``[N]`` true classes 0/1 (-1 = not classified, ignored).
        scores: ``[N]`` scores, larger = more like class 1 (NaN ignored).

    Returns:
        ``(signal_efficiency [P], background_efficiency [P], thresholds [P])``, efficiencies
        increasing from 0 to 1 (``sklearn.metrics.roc_curve`` on the negated scores).
    """
    labels, scores = _classified(labels, scores)
    background_eff, signal_eff, neg_thresholds = sklearn.metrics.roc_curve(
        labels == 0, -scores)
    return signal_eff, background_eff, -neg_thresholds


def _tie_groups(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(event order by score [n], tie-group index of each sorted event [n], number of groups)."""
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    new_group = np.concatenate([[True], sorted_scores[1:] != sorted_scores[:-1]])
    group = np.cumsum(new_group) - 1
    return order, group, int(group[-1]) + 1


def _weighted_auc(is_one: np.ndarray, weights: np.ndarray, group: np.ndarray,
                  num_groups: int) -> float:
    """AUC = P(score₁ > score₀) + ½ P(tie) of events weighted by ``weights`` (sorted order)."""
    w_one = np.bincount(group, weights=weights * is_one, minlength=num_groups)
    w_zero = np.bincount(group, weights=weights * ~is_one, minlength=num_groups)
    zeros_below = np.cumsum(w_zero) - w_zero
    total = w_one.sum() * w_zero.sum()
    if total == 0:
        return float("nan")
    return float(np.sum(w_one * (zeros_below + 0.5 * w_zero)) / total)


def auc_with_error(labels: np.ndarray, scores: np.ndarray, num_bootstrap: int = NUM_BOOTSTRAP,
                   seed: int = 0) -> tuple[float, float]:
    """Area under the ROC curve and its bootstrap error.

    The AUC is the probability that a class-1 event scores above a class-0 event (ties count
    half); it is the same whichever class is called signal. The error is the standard
    deviation of the AUC over ``num_bootstrap`` resamplings of the events with replacement:
    each replica is a vector of event multiplicities applied to one presorted score list, so
    a replica costs O(N) and no per-event loop runs.

    Args:
        labels: ``[N]`` true classes 0/1 (-1 = not classified, ignored).
        scores: ``[N]`` scores, larger = more like class 1 (NaN ignored).
        num_bootstrap: bootstrap replicas (at least 2).
        seed: seed of the resampling.

    Returns:
        ``(auc, auc_err)``.
    """
    if num_bootstrap < 2:
        raise InputError(f"num_bootstrap must be at least 2, got {num_bootstrap}")
    labels, scores = _classified(labels, scores)
    order, group, num_groups = _tie_groups(labels, scores)
    is_one = labels[order] == 1
    n = labels.size
    auc = _weighted_auc(is_one, np.ones(n), group, num_groups)
    rng = np.random.default_rng(seed)
    replicas = np.empty(num_bootstrap)
    for k in range(num_bootstrap):
        multiplicity = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
        replicas[k] = _weighted_auc(is_one, multiplicity, group, num_groups)
    return auc, float(np.nanstd(replicas, ddof=1))


def roc_with_auc(labels: np.ndarray, scores: np.ndarray, num_bootstrap: int = NUM_BOOTSTRAP,
                 seed: int = 0) -> RocCurve:
    """:func:`roc_curve` and :func:`auc_with_error` in one :class:`RocCurve`."""
    signal_eff, background_eff, thresholds = roc_curve(labels, scores)
    auc, auc_err = auc_with_error(labels, scores, num_bootstrap, seed)
    return RocCurve(signal_eff, background_eff, thresholds, auc, auc_err)


def rejection_at_efficiencies(
    labels: np.ndarray, scores: np.ndarray,
    efficiencies: Sequence[float] = REPORTED_EFFICIENCIES,
) -> dict[str, dict[str, float]]:
    """Background (class 1) rejection at fixed signal (class 0) efficiencies.

    Thresholds are quantiles of the class-0 scores; the error is binomial on the background
    (:func:`caloml.observables.statistics.rejection_at_efficiency`). A rejection is ``inf``
    when no background event passes.

    Returns:
        ``{"0.9": {"rejection": r, "error": e}, ...}`` keyed by the efficiency (``%g``).
    """
    labels, scores = _classified(labels, scores)
    rejection, error, _ = statistics.rejection_at_efficiency(
        scores[labels == 0], scores[labels == 1], np.asarray(efficiencies, np.float64))
    return {f"{e:g}": {"rejection": float(r), "error": float(d)}
            for e, r, d in zip(efficiencies, rejection, error, strict=True)}


@dataclasses.dataclass(frozen=True, eq=False)
class BinnedAccuracy:
    """Classification accuracy in bins of a variable (arrays ``[K]``; empty bins NaN).

    Attributes:
        edges: ``[K + 1]`` bin edges (GeV for energy, none for η).
        centres: ``[K]`` mean value of the variable over the bin's events (the bin middle if
            empty).
        counts: ``[K]`` classified events per bin.
        accuracy: ``[K]`` fraction classified correctly.
        error: ``[K]`` binomial error ``sqrt(p (1 − p) / n)``.
    """

    edges: np.ndarray
    centres: np.ndarray
    counts: np.ndarray
    accuracy: np.ndarray
    error: np.ndarray


def _bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each value [n] in ``edges`` [K + 1] (last edge included); -1 outside."""
    index = np.searchsorted(edges, values, side="right") - 1
    index[values == edges[-1]] = edges.size - 2
    index[(values < edges[0]) | (values > edges[-1]) | ~np.isfinite(values)] = -1
    return index


def _check_edges(edges: np.ndarray | Sequence[float], name: str) -> np.ndarray:
    edges = np.asarray(edges, np.float64).reshape(-1)
    if edges.size < 2 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise InputError(f"{name} must be at least 2 finite, increasing bin edges, got {edges}")
    return edges


def _bin_means(values: np.ndarray, index: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mean of ``values`` per bin [K]; the bin middle where a bin is empty."""
    num_bins = edges.size - 1
    inside = index >= 0
    counts = np.bincount(index[inside], minlength=num_bins)
    sums = np.bincount(index[inside], weights=values[inside], minlength=num_bins)
    middle = 0.5 * (edges[1:] + edges[:-1])
    return np.divide(sums, counts, out=middle.copy(), where=counts > 0)


def binned_accuracy(labels: np.ndarray, scores: np.ndarray, values: np.ndarray,
                    edges: np.ndarray | Sequence[float], threshold: float = 0.0
                    ) -> BinnedAccuracy:
    """Accuracy of ``predicted class = score > threshold`` in bins of ``values`` (Fig. 14).

    Args:
        labels: ``[N]`` true classes 0/1 (-1 = not classified, ignored).
        scores: ``[N]`` scores, larger = more like class 1.
        values: ``[N]`` the binning variable (true energy in GeV, or true η).
        edges: ``[K + 1]`` increasing bin edges; events outside are ignored.
        threshold: score above which an event is called class 1 (0 for a logit difference).

    Returns:
        The :class:`BinnedAccuracy`.
    """
    edges = _check_edges(edges, "edges")
    labels = np.asarray(labels).reshape(-1)
    scores = np.asarray(scores, np.float64).reshape(-1)
    values = np.asarray(values, np.float64).reshape(-1)
    if not labels.shape == scores.shape == values.shape:
        raise InputError(f"labels {labels.shape}, scores {scores.shape} and values "
                         f"{values.shape} differ in shape")
    keep = (labels >= 0) & np.isfinite(scores)
    labels, scores, values = labels[keep], scores[keep], values[keep]
    index = _bin_index(values, edges)
    inside = index >= 0
    num_bins = edges.size - 1
    counts = np.bincount(index[inside], minlength=num_bins)
    correct = np.bincount(index[inside],
                          weights=((scores > threshold) == (labels == 1))[inside],
                          minlength=num_bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        accuracy = np.where(counts > 0, correct / counts, np.nan)
        error = np.where(counts > 0, np.sqrt(accuracy * (1 - accuracy) / counts), np.nan)
    return BinnedAccuracy(edges, _bin_means(values, index, edges), counts, accuracy, error)


# ---------------------------------------------------------------------------------------------
# Regression


@dataclasses.dataclass(frozen=True, eq=False)
class EnergyResponse:
    """Bias and resolution in bins of true energy (arrays ``[K]``; sparse bins NaN).

    Attributes:
        edges_gev: ``[K + 1]`` true-energy bin edges in GeV.
        mean_energy_gev: ``[K]`` mean true energy of the bin's events (the bin middle if empty).
        counts: ``[K]`` events per bin.
        bias: ``[K]`` mean of ``(E_pred − E_true) / E_true`` (a fraction).
        bias_err: ``[K]`` its error.
        resolution: ``[K]`` ``σ(ΔE) / E_true`` (a fraction; see ``estimator``).
        resolution_err: ``[K]`` its error.
        estimator: ``"std"`` or ``"iqr68"``.
    """

    edges_gev: np.ndarray
    mean_energy_gev: np.ndarray
    counts: np.ndarray
    bias: np.ndarray
    bias_err: np.ndarray
    resolution: np.ndarray
    resolution_err: np.ndarray
    estimator: str


def _half_width_68(values: np.ndarray, axis: int = -1) -> np.ndarray:
    low, high = np.quantile(values, (0.15865, 0.84135), axis=axis)
    return 0.5 * (high - low)


def energy_response(
    energy_true_gev: np.ndarray,
    energy_pred_gev: np.ndarray,
    edges_gev: np.ndarray | Sequence[float] = DEFAULT_ENERGY_EDGES_GEV,
    estimator: str = "std",
    min_events: int = MIN_EVENTS_PER_BIN,
    num_bootstrap: int = 50,
    seed: int = 0,
) -> EnergyResponse:
    """Relative energy bias and resolution per true-energy bin (Figs. 15, 26–28).

    Args:
        energy_true_gev: ``[N]`` true energies in GeV.
        energy_pred_gev: ``[N]`` predicted energies in GeV (NaN: not regressed, ignored).
        edges_gev: ``[K + 1]`` bin edges in GeV; default 2–500 GeV in 10 bins.
        estimator: ``"std"`` (the paper's standard deviation) or ``"iqr68"`` (half width of
            the central 68 % interval, robust to tails).
        min_events: bins with fewer events give NaN.
        num_bootstrap: replicas for the ``"iqr68"`` error (a loop over replicas per bin).
        seed: seed of that bootstrap.

    Returns:
        The :class:`EnergyResponse`.
    """
    if estimator not in RESOLUTION_ESTIMATORS:
        raise InputError(f"estimator must be one of {list(RESOLUTION_ESTIMATORS)}, "
                         f"got {estimator!r}")
    edges = _check_edges(edges_gev, "edges_gev")
    true = np.asarray(energy_true_gev, np.float64).reshape(-1)
    pred = np.asarray(energy_pred_gev, np.float64).reshape(-1)
    if true.shape != pred.shape:
        raise InputError(f"energy_true_gev {true.shape} and energy_pred_gev {pred.shape} "
                         "differ in shape")
    keep = np.isfinite(pred) & np.isfinite(true) & (true > 0)
    true, pred = true[keep], pred[keep]
    residual = (pred - true) / true
    index = _bin_index(true, edges)
    num_bins = edges.size - 1
    counts = np.bincount(index[index >= 0], minlength=num_bins)
    bias, bias_err, resolution, resolution_err = (np.full(num_bins, np.nan) for _ in range(4))
    rng = np.random.default_rng(seed)
    for k in np.flatnonzero(counts >= max(min_events, 2)):
        r = residual[index == k]
        n = r.size
        std = float(np.std(r, ddof=1))
        bias[k], bias_err[k] = float(np.mean(r)), std / math.sqrt(n)
        if estimator == "std":
            resolution[k], resolution_err[k] = std, std / math.sqrt(2.0 * (n - 1))
        else:
            resolution[k] = float(_half_width_68(r))
            replicas = [float(_half_width_68(r[rng.integers(0, n, n)]))
                        for _ in range(num_bootstrap)]
            resolution_err[k] = float(np.std(replicas, ddof=1))
    return EnergyResponse(edges, _bin_means(true, index, edges), counts, bias, bias_err,
                          resolution, resolution_err, estimator)


def resolution_eq3(energy_gev: np.ndarray | float, a: float, b: float, c: float) -> np.ndarray:
    """Eq. 3: ``σ/E = sqrt(a² / E + b² + c² / E²)`` (E in GeV; a in √GeV, c in GeV)."""
    energy = np.asarray(energy_gev, np.float64)
    return np.sqrt(a**2 / energy + b**2 + c**2 / energy**2)


@dataclasses.dataclass(frozen=True)
class ResolutionFit:
    """Fitted terms of Eq. 3 (NaN when fewer than 3 bins could be used).

    Attributes:
        a: stochastic term in √GeV (σ/E fraction × √GeV); ``a_err`` its error.
        b: constant term (fraction); ``b_err`` its error.
        c: noise term in GeV; ``c_err`` its error.
        chi2: χ² of the fit; ``ndf`` its degrees of freedom (bins − 3).
    """

    a: float
    b: float
    c: float
    a_err: float
    b_err: float
    c_err: float
    chi2: float
    ndf: int

    def __call__(self, energy_gev: np.ndarray | float) -> np.ndarray:
        return resolution_eq3(energy_gev, self.a, self.b, self.c)

    @property
    def valid(self) -> bool:
        return math.isfinite(self.a)


_NO_FIT = ResolutionFit(*([float("nan")] * 7), ndf=0)


def fit_resolution_eq3(energy_gev: np.ndarray, resolution: np.ndarray,
                       resolution_err: np.ndarray | None = None) -> ResolutionFit:
    """Fits Eq. 3, ``σ/E = a/√E ⊕ b ⊕ c/E``, with a, b, c ≥ 0 (appendix D).

    Bins with a non-finite value or error are skipped. Because ``(σ/E)²`` is linear in
    ``(a², b², c²)``, a non-negative least-squares solution of that linear problem gives the
    starting point; ``scipy.optimize.curve_fit`` (bounded at 0) then fits ``σ/E`` itself,
    weighted by ``resolution_err`` (unweighted if None). Errors are the square roots of the
    covariance diagonal (``absolute_sigma`` when errors are given); a term that ends at its
    bound 0 may get an infinite error (the fit does not measure it).

    Args:
        energy_gev: ``[K]`` energies of the bins in GeV (their mean true energies).
        resolution: ``[K]`` relative resolutions σ/E (fractions).
        resolution_err: ``[K]`` their errors, or None.

    Returns:
        The :class:`ResolutionFit`; all NaN if fewer than 3 bins are usable.
    """
    energy = np.asarray(energy_gev, np.float64).reshape(-1)
    sigma = np.asarray(resolution, np.float64).reshape(-1)
    err = (np.ones_like(sigma) if resolution_err is None
           else np.asarray(resolution_err, np.float64).reshape(-1))
    if not energy.shape == sigma.shape == err.shape:
        raise InputError(f"energy_gev {energy.shape}, resolution {sigma.shape} and "
                         f"resolution_err {err.shape} differ in shape")
    use = np.isfinite(energy) & (energy > 0) & np.isfinite(sigma) & np.isfinite(err) & (err >= 0)
    energy, sigma, err = energy[use], sigma[use], err[use]
    if energy.size < 3:
        return _NO_FIT
    # A zero error (a bin of identical residuals) would take all the weight.
    err = np.maximum(err, 1e-3 * np.maximum(np.abs(sigma), 1e-12))
    design = np.stack([1.0 / energy, np.ones_like(energy), 1.0 / energy**2], axis=1)
    weight = 1.0 / (2.0 * np.abs(sigma) * err + 1e-300)
    squares, _ = scipy.optimize.nnls(design * weight[:, None], sigma**2 * weight)
    start = np.maximum(np.sqrt(squares), 1e-6)
    # A term fitted to its bound 0 has a zero derivative there (∂√(b²)/∂b = 0), so the
    # covariance is singular: that term's error becomes inf ("not measured"), not a warning.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scipy.optimize.OptimizeWarning)
            params, cov = scipy.optimize.curve_fit(
                lambda e, a, b, c: resolution_eq3(e, a, b, c), energy, sigma, p0=start,
                sigma=err, absolute_sigma=resolution_err is not None, bounds=(0.0, np.inf))
    except (RuntimeError, ValueError):
        return _NO_FIT
    with np.errstate(invalid="ignore"):
        errors = np.sqrt(np.diag(cov))
    chi2 = float(np.sum(((resolution_eq3(energy, *params) - sigma) / err) ** 2))
    return ResolutionFit(*(float(p) for p in params), *(float(e) for e in errors), chi2=chi2,
                         ndf=int(energy.size - 3))


def at_energies(response: EnergyResponse, values: np.ndarray,
                energies_gev: Sequence[float] = REFERENCE_ENERGIES_GEV) -> np.ndarray:
    """Binned ``values`` [K] interpolated (linearly in log E) at ``energies_gev`` [R].

    Uses the bins with finite values, placed at their mean true energy; NaN outside the span
    of those bins (no extrapolation).
    """
    finite = np.isfinite(values)
    x = np.log(response.mean_energy_gev[finite])
    y = np.asarray(values)[finite]
    target = np.log(np.asarray(energies_gev, np.float64))
    if x.size == 0:
        return np.full(target.shape, np.nan)
    result = np.interp(target, x, y)
    result[(target < x[0]) | (target > x[-1])] = np.nan
    return result


# ---------------------------------------------------------------------------------------------
# Grouping and summary


def particle_of(pdg: int) -> str:
    """Particle name of a PDG id (``22`` → ``"photon"``)."""
    return PDG_PARTICLES[int(pdg)]


def _concatenate(group: Sequence[Predictions]) -> Predictions:
    if len(group) == 1:
        return group[0]
    first = group[0]
    arrays = {key: np.concatenate([getattr(p, key) for p in group]) for key in ARRAY_DTYPES}
    return dataclasses.replace(first, **arrays)


def classification_groups(predictions: Iterable[Predictions]
                          ) -> dict[tuple[str, str, str], dict[str, Predictions]]:
    """``{(geometry, angle, task): {method: predictions}}`` of the files that classify.

    Files of the same method, task, geometry and angle are concatenated. Methods are ordered
    as :data:`METHODS`; a method whose events hold one class only is left out (logged).
    """
    grouped: dict[tuple[str, str, str], dict[str, list[Predictions]]] = {}
    for p in predictions:
        if p.task in TASK_PDGS and p.classifies:
            grouped.setdefault((p.geometry, p.angle, p.task), {}).setdefault(p.method, []).append(p)
    result = {}
    for key, methods in sorted(grouped.items()):
        joined = {m: _concatenate(methods[m]) for m in METHODS if m in methods}
        for method, p in list(joined.items()):
            if not (np.any(p.label == 0) and np.any(p.label == 1)):
                # A test set of one class (a tiny smoke run) has no ROC curve: left out.
                logging.warning("%s %s on %s/%s: the test events hold one class only; no ROC "
                                "curve or AUC", method, key[2], key[0], key[1])
                del joined[method]
        if joined:
            result[key] = joined
    return result


def regression_groups(predictions: Iterable[Predictions]
                      ) -> dict[tuple[str, str, str], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """``{(geometry, angle, particle): {method: (energy_true_gev [n], energy_pred_gev [n])}}``.

    Every event with a finite predicted energy counts, whatever the file's task (the networks
    regress the energy of both particles of their classification task).
    """
    grouped: dict[tuple[str, str, str], dict[str, list[tuple[np.ndarray, np.ndarray]]]] = {}
    for p in predictions:
        regressed = np.isfinite(p.energy_pred_gev)
        for pdg in np.unique(p.pdg[regressed]):
            rows = regressed & (p.pdg == pdg)
            key = (p.geometry, p.angle, particle_of(pdg))
            grouped.setdefault(key, {}).setdefault(p.method, []).append(
                (p.energy_true_gev[rows], p.energy_pred_gev[rows]))
    return {key: {m: (np.concatenate([t for t, _ in methods[m]]),
                      np.concatenate([e for _, e in methods[m]]))
                  for m in METHODS if m in methods}
            for key, methods in sorted(grouped.items())}


def _energies_key(energies_gev: Sequence[float]) -> list[str]:
    return [f"{e:g}" for e in energies_gev]


def regression_summary(response: EnergyResponse, fit: ResolutionFit,
                       energies_gev: Sequence[float] = REFERENCE_ENERGIES_GEV) -> dict[str, Any]:
    """metrics.json entry of one regression method: Eq. 3 terms and values at ``energies_gev``."""
    keys = _energies_key(energies_gev)

    def table(values):
        return dict(zip(keys, (float(v) for v in values), strict=True))

    return {
        "a_sqrt_gev": fit.a, "a_err": fit.a_err, "b": fit.b, "b_err": fit.b_err,
        "c_gev": fit.c, "c_err": fit.c_err, "chi2": fit.chi2, "ndf": fit.ndf,
        "num_events": int(response.counts.sum()),
        "estimator": response.estimator,
        "resolution": table(at_energies(response, response.resolution, energies_gev)),
        "resolution_err": table(at_energies(response, response.resolution_err, energies_gev)),
        "resolution_fit": table(fit(np.asarray(energies_gev, np.float64))),
        "bias": table(at_energies(response, response.bias, energies_gev)),
        "bias_err": table(at_energies(response, response.bias_err, energies_gev)),
    }


def _mean_finite(values: Iterable[float]) -> float:
    values = np.asarray([v for v in values if v is not None], np.float64)
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else float("nan")


def summarise(
    predictions: Sequence[Predictions],
    num_bootstrap: int = NUM_BOOTSTRAP,
    seed: int = 0,
    edges_gev: Sequence[float] = DEFAULT_ENERGY_EDGES_GEV,
    estimator: str = "std",
    energies_gev: Sequence[float] = REFERENCE_ENERGIES_GEV,
    efficiencies: Sequence[float] = REPORTED_EFFICIENCIES,
) -> dict[str, Any]:
    """The metrics.json content of the study from every method's predictions.

    Returns:
        A nested dict (strict JSON once written with :func:`caloml.outputs.write_json`):

        * ``classification[geometry][angle][task]``: ``signal``, ``background`` (particle
          names) and ``methods[method]`` = ``{"auc", "auc_err", "num_events",
          "rejection": {"0.9": {"rejection", "error"}, "0.99": …}}``;
        * ``regression[geometry][angle][particle][method]``: :func:`regression_summary`;
        * ``network_vs_baseline``: ``classification`` rows (per geometry, angle, task: the
          best network by AUC and every classification baseline's AUC) and ``regression``
          rows (per geometry, angle, particle: the best network by mean resolution at
          ``energies_gev`` and the XGBoost and linear resolutions there);
        * ``settings``: the energies, efficiencies, bins and estimator used.
    """
    summary: dict[str, Any] = {"classification": {}, "regression": {},
                               "network_vs_baseline": {"classification": [], "regression": []},
                               "settings": {"reference_energies_gev": list(energies_gev),
                                            "efficiencies": list(efficiencies),
                                            "energy_edges_gev": list(edges_gev),
                                            "resolution_estimator": estimator,
                                            "signal": "class 0 (photon in gamma_pi0, electron "
                                                      "in e_pi)"}}
    for (geometry, angle, task), methods in classification_groups(predictions).items():
        entry = {"signal": particle_of(TASK_PDGS[task][0]),
                 "background": particle_of(TASK_PDGS[task][1]), "methods": {}}
        for method, p in methods.items():
            auc, auc_err = auc_with_error(p.label, p.score, num_bootstrap, seed)
            entry["methods"][method] = {
                "auc": auc, "auc_err": auc_err, "num_events": int(np.sum(p.label >= 0)),
                "rejection": rejection_at_efficiencies(p.label, p.score, efficiencies)}
        summary["classification"].setdefault(geometry, {}).setdefault(angle, {})[task] = entry
        networks = {m: v for m, v in entry["methods"].items() if m in NETWORKS}
        if networks:
            best = max(networks, key=lambda m: networks[m]["auc"])
            summary["network_vs_baseline"]["classification"].append({
                "geometry": geometry, "angle": angle, "task": task, "best_network": best,
                "network_auc": networks[best]["auc"], "network_auc_err": networks[best]["auc_err"],
                "baselines": {m: {"auc": v["auc"], "auc_err": v["auc_err"]}
                              for m, v in entry["methods"].items()
                              if m in CLASSIFICATION_BASELINES}})
    keys = _energies_key(energies_gev)
    for (geometry, angle, particle), methods in regression_groups(predictions).items():
        entry = {}
        for method, (true, pred) in methods.items():
            response = energy_response(true, pred, edges_gev, estimator, seed=seed)
            fit = fit_resolution_eq3(response.mean_energy_gev, response.resolution,
                                     response.resolution_err)
            entry[method] = regression_summary(response, fit, energies_gev)
        summary["regression"].setdefault(geometry, {}).setdefault(angle, {})[particle] = entry
        ranked = {m: _mean_finite(entry[m]["resolution"].values())
                  for m in entry if m in NETWORKS}
        ranked = {m: v for m, v in ranked.items() if math.isfinite(v)}
        if ranked:
            best = min(ranked, key=ranked.get)
            summary["network_vs_baseline"]["regression"].append({
                "geometry": geometry, "angle": angle, "particle": particle,
                "best_network": best, "energies_gev": list(energies_gev),
                "network_resolution": [entry[best]["resolution"][k] for k in keys],
                "baselines": {m: [entry[m]["resolution"][k] for k in keys]
                              for m in REGRESSION_BASELINES if m in entry}})
    return summary


METHOD_LABELS = {"dnn": "DNN", "cnn": "CNN", "googlenet": "GN", "xgboost_bdt": "BDT (XGBoost)",
                 "adaboost": "BDT (AdaBoost)", "linear": "Linear regression",
                 "xgboost": "XGBoost"}
TASK_LABELS = {"gamma_pi0": "γ vs π⁰", "e_pi": "e vs π±"}
_PARTICLE_TEXT = {"electron": "e", "photon": "γ", "pi0": "π⁰", "piplus": "π±"}


def _number(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}f}"


def _percent(values: Sequence[float | None]) -> str:
    return " / ".join("–" if v is None or not math.isfinite(v) else f"{100 * v:.1f}"
                      for v in values)


def summary_markdown(summary: Mapping[str, Any]) -> str:
    """The "network vs baseline" tables of :func:`summarise` as markdown (for the README).

    Returns:
        Two tables: AUC of the best network against the classification baselines, and the
        relative resolution (%) at the reference energies of the best network against
        XGBoost and linear regression; an empty table row says no result.
    """
    table = summary.get("network_vs_baseline", {})
    energies = summary.get("settings", {}).get("reference_energies_gev", REFERENCE_ENERGIES_GEV)
    energies_text = " / ".join(f"{e:g}" for e in energies)
    lines = ["| Geometry | Angle | Task | Best network | AUC | BDT (XGBoost) AUC | "
             "BDT (AdaBoost) AUC |",
             "|---|---|---|---|---|---|---|"]
    for row in table.get("classification", []):
        baselines = row["baselines"]

        def auc(method, baselines=baselines):
            if method not in baselines:
                return "–"
            return (f"{_number(baselines[method]['auc'])} ± "
                    f"{_number(baselines[method]['auc_err'])}")

        lines.append(
            f"| {row['geometry']} | {row['angle']} | {TASK_LABELS[row['task']]} | "
            f"{METHOD_LABELS[row['best_network']]} | {_number(row['network_auc'])} ± "
            f"{_number(row['network_auc_err'])} | {auc('xgboost_bdt')} | {auc('adaboost')} |")
    lines += ["", f"Relative resolution σ(ΔE)/E in % at {energies_text} GeV:", "",
              "| Geometry | Angle | Particle | Best network | Network | XGBoost | Linear |",
              "|---|---|---|---|---|---|---|"]
    for row in table.get("regression", []):
        baselines = row["baselines"]
        lines.append(
            f"| {row['geometry']} | {row['angle']} | {_PARTICLE_TEXT[row['particle']]} | "
            f"{METHOD_LABELS[row['best_network']]} | {_percent(row['network_resolution'])} | "
            f"{_percent(baselines['xgboost']) if 'xgboost' in baselines else '–'} | "
            f"{_percent(baselines['linear']) if 'linear' in baselines else '–'} |")
    return "\n".join(lines) + "\n"
