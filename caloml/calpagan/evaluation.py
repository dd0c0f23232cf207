"""The assessment of a trained CALPAGAN translator (paper 002 §4, Figs 4-13, Tables 1-2).

A translator maps fast-simulation event images (the paper's Delphes, "D") to detailed ones
(its Geant4, "G"); its outputs are CALPAGAN's ("C"). Images are ``[N, 72, 72]`` tower energies
in GeV (:mod:`caloml.events.towers`). For the process the translator was trained on and, for
the cross-process generalisation the paper reports in §4, for the other one
(:func:`evaluate`) the assessment compares the three samples by

- the jets of every image (anti-kT R = 0.5, trimmed, pT > 20 GeV;
  :mod:`caloml.events.observables`) and the distributions of tau1, tau2, girth, two-point
  moment, pT, mass, eta and phi of the two leading jets and their Delta eta and Delta phi
  (Figs 7-12), by the χ² distances D-G, G-C and D-C of Tables 1-2 (:func:`chi2_table`,
  :func:`caloml.observables.statistics.chi2_distance`: the paper does not define its χ²;
  values depend on sample size and binning and compare with the paper's only loosely);
- the Fréchet distance of the three pairs (Fig. 5) on the test events, with the per-epoch
  curve recorded during training by :class:`FrechetHistory`. The paper uses the FID, whose
  Inception-v3 weights cannot be downloaded here: caloml's features are the 64-unit
  penultimate layer of a small CNN trained here to tell W+jets from dijet detailed images
  (:class:`JetImageClassifier`, :func:`train_feature_classifier`), so the numbers are a
  "Fréchet jet-image distance", not FIDs;
- the total energy of the images, and the translator's inference time per event against the
  batch size on the CPU (Fig. 13; the paper's GPU and dual-GPU curves are not measured).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from absl import logging
from keras import layers, ops

from caloml import benchmarking, outputs
from caloml.calpagan import figures
from caloml.errors import InputError
from caloml.events import observables as event_obs
from caloml.events import towers
from caloml.observables import statistics
from caloml.training import classifier as classifier_lib

PROCESSES = ("wjets", "dijet")
PROCESS_LABELS = {"wjets": "W+jets", "dijet": "dijet"}
SAMPLES = figures.SAMPLES
PAIRS = figures.PAIRS
# χ² histograms: equal bins between the 0.5 % and 99.5 % quantiles of either sample.
CHI2_BINS = 50
FEATURE_LAYER = "features"
TRANSLATE_BATCH = 64
FEATURE_BATCH = 256
NUM_EXAMPLES = 2
RUNTIME_REPEATS = 3
RUNTIME_MIN_SECONDS = 0.2
DEFINITIONS = {
    "samples": "fast = fast simulation (paper: Delphes, D), detailed = detailed simulation "
               "(paper: Geant4, G), calpagan = the translator's output for the fast images (C)",
    "jets": "FastJet anti-kT R = 0.5 on the towers (massless at tower centres), trimmed (kT "
            "R_sub = 0.2, subjets below 0.03 pT_jet dropped), pT > 20 GeV, two leading jets",
    "chi2": "two-sample homogeneity chi2 of unweighted histograms, sum (B a - A b)^2 / "
            f"(A B (a + b)) over filled bins; {CHI2_BINS} equal bins between the 0.5% and 99.5% "
            "quantiles of either sample; events without the jet left out",
    "frechet": "Frechet distance of Gaussians fitted to the 64 penultimate-layer features of a "
               "CNN trained here to separate W+jets from dijet detailed images (no Inception "
               "weights: not an FID)",
    "inference": "median ms per event of the translator in a tf.function on the CPU, first "
                 "(tracing) call excluded",
}
# Paper Tables 1 (W+jets) and 2 (dijet): χ² per observable, [jet 1, jet 2] per pair (Δη, Δφ:
# one value). None: unreadable in the paper's text copy. The D-G columns of the two tables
# are equal except for Δη and Δφ, as printed.
_D_G = {"tau1": [179.0, 140.3], "tau2": [431.0, 400.3], "girth": [190.6, 174.7],
        "two_point_moment": [245.6, 207.4], "pt": [75.4, 54.4], "mass": [65.2, 58.3],
        "eta": [10.4, 18.1], "phi": [3.4, 5.5]}
PAPER_CHI2 = {
    "wjets": {
        "fast-detailed": {**_D_G, "delta_eta": 12.0, "delta_phi": 14.3},
        "detailed-calpagan": {
            "tau1": [137.0, 94.5], "tau2": [158.4, 242.2], "girth": [172.3, 7.7],
            "two_point_moment": [132.5, 85.1], "pt": [62.8, 44.4], "mass": [47.9, 44.8],
            "eta": [19.0, 20.5], "phi": [3.0, None], "delta_eta": 10.5, "delta_phi": 23.5},
        "fast-calpagan": {
            "tau1": [None, 88.1], "tau2": [342.6, 147.5], "girth": [302.4, 84.3],
            "two_point_moment": [310.5, 86.2], "pt": [207.3, 89.3], "mass": [54.7, 55.3],
            "eta": [6.5, 13.2], "phi": [1.2, 4.1], "delta_eta": 13.7, "delta_phi": 24.5},
    },
    "dijet": {
        "fast-detailed": {**_D_G, "delta_eta": 9.3, "delta_phi": 24.8},
        "detailed-calpagan": {
            "tau1": [118.0, 99.3], "tau2": [259.5, 238.4], "girth": [80.7, 89.0],
            "two_point_moment": [102.6, 88.0], "pt": [None, 38.6], "mass": [62.5, 52.4],
            "eta": [11.7, 17.8], "phi": [8.1, 6.8], "delta_eta": 17.3, "delta_phi": 15.7},
        "fast-calpagan": {
            "tau1": [83.1, 71.5], "tau2": [137.2, 157.1], "girth": [93.7, None],
            "two_point_moment": [114.5, 80.4], "pt": [99.5, 102.4], "mass": [73.0, 86.9],
            "eta": [5.3, 2.3], "phi": [3.4, 2.5], "delta_eta": 16.1, "delta_phi": 11.5},
    },
}
PAPER = {"chi2": PAPER_CHI2,
         "chi2_note": "paper Tables 1-2 (5000 test events, binning not given); trained and "
                      "tested on the same process"}


# --------------------------------------------------------------------------------------------
# Translation
# --------------------------------------------------------------------------------------------


def _forward(translator: Any) -> Callable[[Any], Any]:
    """A callable running ``translator`` in inference mode (a tf.function for Keras models)."""
    if isinstance(translator, (keras.Model, keras.layers.Layer)):
        return tf.function(lambda x: translator(x, training=False), reduce_retracing=True)
    if callable(translator):
        return translator
    raise InputError(f"the translator must be a Keras model or a callable, got "
                     f"{type(translator).__name__}")


def _check_events(images: np.ndarray, name: str) -> np.ndarray:
    images = np.asarray(images, np.float32)
    if images.ndim != 3 or images.shape[1:] != towers.IMAGE_SHAPE or len(images) == 0:
        raise InputError(f"{name} must be [N, {towers.NUM_ETA}, {towers.NUM_PHI}] event images "
                         f"in GeV with N >= 1, got shape {images.shape}")
    return images


def translate(translator: keras.Model | Callable[[Any], Any], fast_images: np.ndarray,
              batch_size: int = TRANSLATE_BATCH) -> np.ndarray:
    """CALPAGAN images of fast-simulation images, ``batch_size`` events per call.

    Args:
        translator: a Keras model or layer mapping fast ``[B, 72, 72]`` GeV to detailed
            ``[B, 72, 72]`` (or ``[B, 72, 72, 1]``) GeV, run with ``training=False`` (e.g.
            :class:`caloml.calpagan.networks.FastToDetailed`, or a ``keras.layers.TFSMLayer``
            of its SavedModel); or any callable doing the same on a float32 numpy batch.
        fast_images: ``[N, 72, 72]`` fast-simulation tower energies in GeV.
        batch_size: events per call.

    Returns:
        float32 ``[N, 72, 72]`` GeV (NaN outputs are kept: their events' jets become NaN).
    """
    fast = _check_events(fast_images, "fast_images")
    if int(batch_size) < 1:
        raise InputError(f"batch_size must be positive, got {batch_size}")
    forward = _forward(translator)
    out = np.empty(fast.shape, np.float32)
    for start in range(0, len(fast), int(batch_size)):
        batch = fast[start:start + int(batch_size)]
        result = np.asarray(forward(batch), np.float32)
        if result.ndim == 4 and result.shape[-1] == 1:
            result = result[..., 0]
        if result.shape != batch.shape:
            raise InputError(f"the translator returned shape {result.shape} for input "
                             f"{batch.shape}; expected the input's shape (or with a channel)")
        out[start:start + len(batch)] = result
    return out


# --------------------------------------------------------------------------------------------
# Fréchet distance on jet-image classifier features
# --------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="caloml")
class LogEnergy(layers.Layer):
    """``log(1 + max(E, 0))`` of GeV pixels: a dynamic range a CNN can learn from."""

    def call(self, inputs):
        return ops.log1p(ops.maximum(inputs, 0.0))


@keras.saving.register_keras_serializable(package="caloml")
class JetImageClassifier(keras.Model):
    """A small CNN telling W+jets from dijet event images; its features give Fréchet distances.

    ``[B, 72, 72]`` GeV → log(1 + E) → ``len(filters)`` × (conv 3×3 + ReLU → 2×2 max-pool) →
    flatten → dense ``feature_units`` + ReLU (the layer named ``"features"``) → dense 1 (the
    ``"logit"``) → sigmoid (``"probability"``, P(second class)). With the defaults
    (16, 32, 64, 64 filters; 72 → 36 → 18 → 9 → 4 towers; 64 features) it has 125,889
    parameters. Not from the paper, which uses Inception-v3 features (the FID); caloml cannot
    download those weights (module docstring).

    Args:
        filters: filters of the convolutions.
        feature_units: width of the feature layer.
        name: the model's name.
    """

    def __init__(self, filters: Sequence[int] = (16, 32, 64, 64), feature_units: int = 64,
                 name: str = "fid_classifier", **kwargs: Any):
        filters = tuple(int(f) for f in filters)
        if not filters or min(filters) < 1 or int(feature_units) < 1:
            raise InputError(f"JetImageClassifier needs positive filters and feature_units, got "
                             f"{filters} and {feature_units}")
        if 2 ** len(filters) > min(towers.IMAGE_SHAPE):
            raise InputError(f"{len(filters)} pooled convolutions do not fit a "
                             f"{towers.NUM_ETA}x{towers.NUM_PHI} image")
        inputs = keras.Input(towers.IMAGE_SHAPE, name="energy_gev")
        x = layers.Reshape((*towers.IMAGE_SHAPE, 1), name="channel")(inputs)
        x = LogEnergy(name="log_energy")(x)
        for i, count in enumerate(filters, start=1):
            x = layers.Conv2D(count, 3, padding="same", activation="relu", name=f"conv_{i}")(x)
            x = layers.MaxPooling2D(2, name=f"pool_{i}")(x)
        x = layers.Flatten(name="flatten")(x)
        features = layers.Dense(int(feature_units), activation="relu", name=FEATURE_LAYER)(x)
        logit = layers.Dense(1, name="logit")(features)
        outputs = layers.Activation("sigmoid", name="probability")(logit)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.filters = filters
        self.feature_units = int(feature_units)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable, "filters": list(self.filters),
                "feature_units": self.feature_units}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> JetImageClassifier:
        return cls(**config)


def train_feature_classifier(
    images_a: np.ndarray,
    images_b: np.ndarray,
    seed: int,
    epochs: int,
    batch_size: int = 64,
    validation_fraction: float = 0.1,
    learning_rate: float = 1e-3,
) -> JetImageClassifier:
    """Trains a :class:`JetImageClassifier` to tell ``images_b`` (label 1) from ``images_a`` (0).

    The experiment passes the detailed training images of W+jets and dijets. The events are
    shuffled with ``seed``; a ``validation_fraction`` of them (at least one) is held out for
    early stopping (:func:`caloml.training.classifier.train_classifier`, Adam, binary
    cross-entropy; the best epoch's weights are kept). Save it with ``model.save(".keras")``;
    loading needs ``caloml.calpagan.evaluation`` imported.

    Args:
        images_a: ``[Na, 72, 72]`` GeV, class 0.
        images_b: ``[Nb, 72, 72]`` GeV, class 1.
        seed: seed of the weights, the split and the shuffling (derive it from the run's).
        epochs: most epochs.
        batch_size: events per step.
        validation_fraction: share of the events held out.
        learning_rate: Adam's learning rate.

    Returns:
        The trained classifier.
    """
    a, b = _check_events(images_a, "images_a"), _check_events(images_b, "images_b")
    if int(epochs) < 1 or int(batch_size) < 1:
        raise InputError(f"epochs and batch_size must be positive, got {epochs} and "
                         f"{batch_size}")
    if not 0 < validation_fraction < 1:
        raise InputError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    images = np.concatenate([a, b])
    labels = np.concatenate([np.zeros(len(a)), np.ones(len(b))]).astype(np.float32)
    if len(images) < 2:
        raise InputError(f"the feature classifier needs at least 2 events, got {len(images)}")
    order = np.random.default_rng(seed).permutation(len(images))
    held = max(1, int(round(validation_fraction * len(images))))
    held = min(held, len(images) - 1)
    validation, train = order[:held], order[held:]
    keras.utils.set_random_seed(int(seed))
    model = JetImageClassifier()
    history = classifier_lib.train_classifier(
        model, images[train], labels[train], (images[validation], labels[validation]),
        learning_rate=learning_rate, batch_size=int(batch_size), epochs=int(epochs),
        seed=int(seed))
    logging.info("feature classifier: validation accuracy %.3f after %d epochs",
                 max(history.get("val_accuracy", [float("nan")])), len(history["loss"]))
    return model


def _feature_extractor(model: keras.Model) -> keras.Model:
    return keras.Model(model.inputs[0], model.get_layer(FEATURE_LAYER).output,
                       name=f"{model.name}_features")


def image_features(model: keras.Model, images: np.ndarray,
                   batch_size: int = FEATURE_BATCH) -> np.ndarray:
    """The classifier's feature-layer activations ``[N, feature_units]`` of event images.

    Args:
        model: a :class:`JetImageClassifier` (or any model with a ``"features"`` layer).
        images: ``[N, 72, 72]`` GeV.
        batch_size: events per call.
    """
    images = _check_events(images, "images")
    forward = _forward(_feature_extractor(model))
    return np.concatenate([np.asarray(forward(images[start:start + int(batch_size)]))
                           for start in range(0, len(images), int(batch_size))]).astype(
                               np.float64)


def classifier_accuracy(model: keras.Model, images_a: np.ndarray, images_b: np.ndarray,
                        batch_size: int = FEATURE_BATCH) -> float:
    """Fraction of ``images_a`` (class 0) and ``images_b`` (class 1) classified right at P = ½."""
    forward = _forward(model)
    correct = 0
    for images, label in ((images_a, 0), (images_b, 1)):
        images = _check_events(images, "images")
        for start in range(0, len(images), int(batch_size)):
            p = np.asarray(forward(images[start:start + int(batch_size)])).reshape(-1)
            correct += int(np.sum((p > 0.5) == bool(label)))
    return correct / (len(images_a) + len(images_b))


def frechet_table(features: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Fréchet distances of the three pairs (Fig. 5).

    Args:
        features: ``{"fast", "detailed", "calpagan": [N, D]}`` feature activations.

    Returns:
        ``{"fast-detailed", "detailed-calpagan", "fast-calpagan": distance}``; NaN for a pair
        whose features hold a NaN (a diverged translator).
    """
    missing = [s for s in SAMPLES if s not in features]
    if missing:
        raise InputError(f"frechet_table needs features of {list(SAMPLES)}; missing {missing}")
    table = {}
    for pair in PAIRS:
        first, second = pair.split("-")
        if not (np.isfinite(features[first]).all() and np.isfinite(features[second]).all()):
            table[pair] = float("nan")
            continue
        table[pair] = statistics.frechet_distance(features[first], features[second])
    return table


def read_frechet_history(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The entries of a :class:`FrechetHistory` file ([] if there is none)."""
    if not os.path.exists(path):
        return []
    return _history_entries(outputs.read_json(path))


def _history_entries(history: Any) -> list[dict[str, Any]]:
    """``{"epochs": [...]}`` (as History and FrechetHistory write) or the list itself."""
    if history is None:
        return []
    if isinstance(history, Mapping):
        if "epochs" not in history:
            raise InputError(f"a history must be a list of epochs or {{'epochs': [...]}}, got "
                             f"keys {sorted(history)}")
        history = history["epochs"]
    return [dict(e) for e in history]


class FrechetHistory(keras.callbacks.Callback):
    """Records the Fréchet distances of the three pairs every ``every`` epochs (Fig. 5).

    At the end of epoch ``e`` (1-based; every ``every``-th) the translator turns the fast
    images of each set into CALPAGAN images; with the detailed and fast images their classifier
    features give :func:`frechet_table` per set. The entry ``{"epoch": e, "train": {pair: d},
    "test": {pair: d}}`` is appended to ``path`` as ``{"epochs": [...]}`` (written atomically,
    strict JSON). When a fresh run begins, epoch 0 (the untrained translator) is recorded
    first. On construction the file's entries after ``initial_epoch`` are dropped, so a
    resumed run continues the curve. The features of the fixed fast and detailed images are
    computed once.

    Args:
        translator: the generator being trained wrapped for inference: a Keras model mapping
            fast GeV ``[B, 72, 72]`` to detailed GeV sharing the trained generator's weights
            (e.g. :class:`caloml.calpagan.networks.FastToDetailed` around it), or a callable
            ``translate_fn(fast [B, 72, 72] float32) -> [B, 72, 72]`` doing the same.
        feature_model: the trained :class:`JetImageClassifier`.
        sets: ``{"train": (fast, detailed), "test": (fast, detailed)}`` ``[N, 72, 72]`` GeV.
        path: the JSON file.
        every: epochs between records.
        initial_epoch: the epoch a resumed run starts from (0 for a fresh one).
        batch_size: events per translator call.
        record_initial: record epoch 0 when a fresh run begins.
    """

    def __init__(self, translator: keras.Model | Callable[[Any], Any],
                 feature_model: keras.Model,
                 sets: Mapping[str, tuple[np.ndarray, np.ndarray]], path: str | os.PathLike,
                 every: int = 1, initial_epoch: int = 0, batch_size: int = TRANSLATE_BATCH,
                 record_initial: bool = True):
        super().__init__()
        if int(every) < 1:
            raise InputError(f"every must be a positive number of epochs, got {every}")
        if not sets:
            raise InputError("FrechetHistory needs at least one set of (fast, detailed) images")
        self.translator = translator
        self.feature_model = feature_model
        self.sets = {name: (_check_events(fast, f"{name} fast images"),
                            _check_events(detailed, f"{name} detailed images"))
                     for name, (fast, detailed) in sets.items()}
        self.path = os.fspath(path)
        self.every = int(every)
        self.initial_epoch = int(initial_epoch)
        self.batch_size = int(batch_size)
        self.record_initial = record_initial
        self.entries = [e for e in read_frechet_history(self.path)
                        if e["epoch"] <= self.initial_epoch]
        self._forward = _forward(translator)
        self._extractor: keras.Model | None = None
        self._reference: dict[str, dict[str, np.ndarray]] | None = None

    def _features(self, images: np.ndarray) -> np.ndarray:
        if self._extractor is None:
            self._extractor = _forward(_feature_extractor(self.feature_model))
        return np.concatenate([np.asarray(self._extractor(images[s:s + FEATURE_BATCH]))
                               for s in range(0, len(images), FEATURE_BATCH)]).astype(
                                   np.float64)

    def measure(self) -> dict[str, dict[str, float]]:
        """``{set: frechet_table}`` of the translator as it is now."""
        if self._reference is None:
            self._reference = {name: {"fast": self._features(fast),
                                      "detailed": self._features(detailed)}
                               for name, (fast, detailed) in self.sets.items()}
        result = {}
        for name, (fast, _) in self.sets.items():
            translated = translate(self._forward, fast, self.batch_size)
            result[name] = frechet_table({**self._reference[name],
                                          "calpagan": self._features(translated)})
        return result

    def record(self, epoch: int) -> dict[str, Any]:
        """Measures, appends the entry of ``epoch`` and rewrites the file; returns the entry."""
        entry = {"epoch": int(epoch), **self.measure()}
        self.entries = [e for e in self.entries if e["epoch"] != entry["epoch"]] + [entry]
        outputs.write_json(self.path, {"epochs": self.entries})
        logging.info("epoch %d: Fréchet distances %s", epoch, "; ".join(
            f"{name}: " + ", ".join(f"{figures.PAIR_LABELS[p]} {d:.4g}" for p, d in table.items())
            for name, table in entry.items() if name != "epoch"))
        return entry

    def on_train_begin(self, logs: dict | None = None) -> None:
        if (self.record_initial and self.initial_epoch == 0
                and not any(e["epoch"] == 0 for e in self.entries)):
            self.record(0)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if (epoch + 1) % self.every == 0:
            self.record(epoch + 1)


# --------------------------------------------------------------------------------------------
# χ² tables, energies, timing
# --------------------------------------------------------------------------------------------


def chi2_table(obs_fast: Mapping[str, np.ndarray], obs_detailed: Mapping[str, np.ndarray],
               obs_calpagan: Mapping[str, np.ndarray], bins: int = CHI2_BINS,
               keys: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    """χ² distances of every observable for the pairs D-G, G-C and D-C (Tables 1-2).

    Args:
        obs_fast, obs_detailed, obs_calpagan: ``{key: [N]}``
            (:func:`caloml.events.observables.event_observables`).
        bins: bins per histogram (shared by the two samples of a pair).
        keys: observables; default :data:`caloml.events.observables.EVENT_OBSERVABLES` (the
            paper's rows: jets 1 and 2, then Δη and Δφ).

    Returns:
        ``{key: {"fast-detailed", "detailed-calpagan", "fast-calpagan": χ²}}`` (NaN where a
        sample has no event with the jet).
    """
    samples = {"fast": obs_fast, "detailed": obs_detailed, "calpagan": obs_calpagan}
    keys = list(event_obs.EVENT_OBSERVABLES if keys is None else keys)
    missing = sorted({k for k in keys for s in samples.values() if k not in s})
    if missing:
        raise InputError(f"observables {missing} are missing from a sample")
    table = {}
    for key in keys:
        table[key] = {}
        for pair in PAIRS:
            first, second = pair.split("-")
            table[key][pair] = statistics.chi2_distance(samples[first][key],
                                                        samples[second][key], bins)
    return table


def chi2_summary(table: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """How often CALPAGAN is closer to the detailed simulation than the fast one is.

    Returns:
        ``{"closer": [keys with χ²(G-C) < χ²(D-G)], "num_closer", "num_compared",
        "mean_ratio_gc_dg"}`` (the mean of χ²(G-C)/χ²(D-G) over keys where both are finite and
        χ²(D-G) > 0).
    """
    compared, closer, ratios = 0, [], []
    for key, row in table.items():
        dg, gc = row["fast-detailed"], row["detailed-calpagan"]
        if not (np.isfinite(dg) and np.isfinite(gc)):
            continue
        compared += 1
        if gc < dg:
            closer.append(key)
        if dg > 0:
            ratios.append(gc / dg)
    return {"closer": closer, "num_closer": len(closer), "num_compared": compared,
            "mean_ratio_gc_dg": float(np.mean(ratios)) if ratios else float("nan")}


def total_energy(images: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Mean total energy per event of each sample and its ratio to the detailed one.

    Args:
        images: ``{"fast", "detailed", "calpagan": [N, 72, 72]}`` GeV (the same events).

    Returns:
        ``{"mean_gev": {sample: mean}, "ratio_to_detailed": {sample: Σ sample / Σ detailed},
        "median_event_ratio_to_detailed": {sample: median over events}, "num_non_finite":
        {sample: events with a non-finite pixel}}`` (sums over finite events only).
    """
    sums = {key: np.asarray(value, np.float64).sum(axis=(1, 2)) for key, value in images.items()}
    finite = np.logical_and.reduce([np.isfinite(s) for s in sums.values()])
    detailed = sums["detailed"][finite]
    out: dict[str, Any] = {"mean_gev": {}, "ratio_to_detailed": {},
                           "median_event_ratio_to_detailed": {}, "num_non_finite": {}}
    for key, value in sums.items():
        out["num_non_finite"][key] = int(np.sum(~np.isfinite(value)))
        kept = value[finite]
        out["mean_gev"][key] = float(kept.mean()) if kept.size else float("nan")
        if key == "detailed":
            continue
        out["ratio_to_detailed"][key] = (float(kept.sum() / detailed.sum())
                                         if detailed.sum() > 0 else float("nan"))
        positive = detailed > 0
        out["median_event_ratio_to_detailed"][key] = (
            float(np.median(kept[positive] / detailed[positive])) if positive.any()
            else float("nan"))
    return out


def inference_time(translator: keras.Model | Callable[[Any], Any], fast_images: np.ndarray,
                   batch_sizes: Sequence[int], repeats: int = RUNTIME_REPEATS,
                   min_seconds: float = RUNTIME_MIN_SECONDS) -> dict[str, Any]:
    """Milliseconds per event of the translator against the batch size, on the CPU (Fig. 13).

    The translator runs in a ``tf.function`` under ``tf.device("/CPU:0")`` on inputs made of
    the given events (repeated up to the batch size). After a warm-up call per batch size (the
    trace: the first call is not timed) each repeat loops the call for at least
    ``min_seconds``; the batch sizes' repeats are interleaved
    (:func:`caloml.benchmarking.time_interleaved`) and the median repeat is reported. On a
    machine with a GPU the weights may live there and be copied per call; the paper's GPU
    curves are not measured.

    Args:
        translator: see :func:`translate`.
        fast_images: ``[N, 72, 72]`` GeV.
        batch_sizes: events per call.
        repeats: repeats per batch size.
        min_seconds: shortest repeat.

    Returns:
        ``{"device": "cpu", "rows": [{"batch_size", "ms_per_event" (median),
        "ms_per_event_best", "ms_per_event_all", "calls"}], "repeats", "min_seconds",
        "machine"}``.
    """
    fast = _check_events(fast_images, "fast_images")
    batch_sizes = [int(b) for b in batch_sizes]
    if not batch_sizes or min(batch_sizes) < 1:
        raise InputError(f"batch_sizes must be positive integers, got {batch_sizes}")
    if int(repeats) < 1 or not min_seconds > 0:
        raise InputError(f"inference_time needs repeats >= 1 and min_seconds > 0, got {repeats} "
                         f"and {min_seconds}")
    with tf.device("/CPU:0"):
        fns = {}
        for batch_size in batch_sizes:
            inputs = tf.constant(fast[np.arange(batch_size) % len(fast)])
            # One function per batch size: each traces once, in its warm-up call.
            forward = _forward(translator)
            fns[batch_size] = lambda f=forward, x=inputs: f(x)
        timings = benchmarking.time_interleaved(fns, int(repeats), float(min_seconds))
    rows = []
    for batch_size, timing in timings.items():
        per_event = 1e3 * np.asarray(timing["seconds_all"]) / batch_size
        rows.append({"batch_size": batch_size, "ms_per_event": float(np.median(per_event)),
                     "ms_per_event_best": float(per_event.min()),
                     "ms_per_event_all": per_event.tolist(), "calls": int(timing["calls"])})
        logging.info("translator batch %d: %.4g ms/event on the CPU (median of %d)", batch_size,
                     rows[-1]["ms_per_event"], repeats)
    return {"device": "cpu", "rows": rows, "repeats": int(repeats),
            "min_seconds": float(min_seconds), "machine": benchmarking.machine_info()}


# --------------------------------------------------------------------------------------------
# Everything
# --------------------------------------------------------------------------------------------


def _example_events(jets_detailed: Mapping[str, np.ndarray], count: int) -> np.ndarray:
    """The first ``count`` events with two jets in the detailed images (else the first ones)."""
    two = np.flatnonzero(np.asarray(jets_detailed["num_jets"]) >= 2)
    rest = np.setdiff1d(np.arange(len(jets_detailed["num_jets"])), two)
    return np.concatenate([two, rest])[:count]


def _subset(jets: Mapping[str, np.ndarray], events: np.ndarray) -> dict[str, np.ndarray]:
    return {key: np.asarray(value)[events] for key, value in jets.items()}


def _mean_finite(values: np.ndarray) -> float:
    values = np.asarray(values, np.float64)
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else float("nan")


def assess_process(translator: keras.Model | Callable[[Any], Any], fast: np.ndarray,
                   detailed: np.ndarray, feature_model: keras.Model | None = None,
                   batch_size: int = TRANSLATE_BATCH, bins: int = CHI2_BINS,
                   threshold_gev: float = 0.0) -> tuple[dict[str, Any], dict[str, Any]]:
    """Translates one process's test events and compares the three samples.

    Args:
        translator: see :func:`translate`.
        fast: ``[N, 72, 72]`` fast-simulation GeV.
        detailed: ``[N, 72, 72]`` detailed-simulation GeV of the same events.
        feature_model: the Fréchet-distance classifier; None leaves the distances out.
        batch_size: events per translator call.
        bins: χ² bins.
        threshold_gev: towers at or below it are no jet constituents, in all three samples
            alike (0: every tower above 0 GeV; a translator's soft floor of tiny positive
            outputs would otherwise join the jets).

    Returns:
        ``(metrics, arrays)``: metrics ``{"num_events", "chi2" (chi2_table), "chi2_summary",
        "jets": {sample: {"mean_num_jets", "fraction_two_jets"}}, "total_energy",
        "frechet" (if a feature model is given), "num_non_finite_calpagan_pixels"}``; arrays
        ``{"images", "jets", "observables": {sample: ...}}`` for the figures.
    """
    fast = _check_events(fast, "fast images")
    detailed = _check_events(detailed, "detailed images")
    if fast.shape != detailed.shape:
        raise InputError(f"fast and detailed images must pair up, got shapes {fast.shape} and "
                         f"{detailed.shape}")
    images = {"fast": fast, "detailed": detailed,
              "calpagan": translate(translator, fast, batch_size)}
    non_finite = int(np.sum(~np.isfinite(images["calpagan"])))
    if non_finite:
        logging.warning("%d CALPAGAN pixels are NaN or infinite: their events' jets are NaN",
                        non_finite)
    jets = {key: event_obs.cluster_jets(value, threshold_gev=threshold_gev)
            for key, value in images.items()}
    observables = {key: event_obs.observables_of_jets(value) for key, value in jets.items()}
    table = chi2_table(observables["fast"], observables["detailed"], observables["calpagan"],
                       bins)
    metrics: dict[str, Any] = {
        "num_events": len(fast),
        "chi2": table,
        "chi2_summary": chi2_summary(table),
        "threshold_gev": float(threshold_gev),
        "jets": {key: {"mean_num_jets": _mean_finite(value["num_jets"]),
                       "fraction_two_jets": float(np.mean(value["num_jets"] >= 2))}
                 for key, value in jets.items()},
        "total_energy": total_energy(images),
        "num_non_finite_calpagan_pixels": non_finite,
    }
    if feature_model is not None:
        metrics["frechet"] = frechet_table({key: image_features(feature_model, value)
                                            for key, value in images.items()})
    return metrics, {"images": images, "jets": jets, "observables": observables}


def evaluate(
    translator: keras.Model | Callable[[Any], Any],
    test_sets: Mapping[str, Mapping[str, np.ndarray]],
    trained_process: str,
    plots_dir: str | os.PathLike,
    history: Any = None,
    fid_history: Any = None,
    feature_model: keras.Model | None = None,
    batch_sizes: Sequence[int] = (1, 8, 64, 512),
    batch_size: int = TRANSLATE_BATCH,
    bins: int = CHI2_BINS,
    num_examples: int = NUM_EXAMPLES,
    runtime_repeats: int = RUNTIME_REPEATS,
    runtime_min_seconds: float = RUNTIME_MIN_SECONDS,
    threshold_gev: float = 0.0,
) -> dict[str, Any]:
    """Assesses a translator on its own process and on the other one, and draws every figure.

    For each process in ``test_sets``, the trained one first, :func:`assess_process` gives the
    χ² tables (the other process is the paper's cross-process test), total energies and, with
    a ``feature_model``, the final Fréchet distances on the test events. Figures go to
    ``plots_dir`` (PNG + PDF): ``<process>_events`` (Fig. 4), ``<process>_observables``
    (Figs 7-12), ``frechet_history`` (Fig. 5), ``losses`` (Fig. 6), ``inference_time``
    (Fig. 13).

    Args:
        translator: see :func:`translate`.
        test_sets: ``{process: {"fast": [N, 72, 72], "detailed": [N, 72, 72]}}`` GeV, processes
            among :data:`PROCESSES`.
        trained_process: the process the translator was trained on.
        plots_dir: where the figures go (created if missing).
        history: the training history, ``{"epochs": [...]}`` or its list (None: no Fig. 6).
        fid_history: the :class:`FrechetHistory` file's content or entries (None: no Fig. 5).
        feature_model: the Fréchet-distance classifier (None: no final distances).
        batch_sizes: batch sizes of the inference timing (empty: not timed).
        batch_size: events per translator call in the assessment.
        bins: χ² bins.
        num_examples: example events in Fig. 4.
        runtime_repeats, runtime_min_seconds: see :func:`inference_time`.
        threshold_gev: jet-constituent threshold of all samples (:func:`assess_process`).

    Returns:
        ``{"trained_process", "processes": {process: assess_process metrics + "cross_process"},
        "frechet_history": {"epochs", "last"} (if given), "feature_classifier_accuracy" (test
        detailed images of both processes, if available), "inference" (inference_time),
        "definitions", "paper", "plots"}``; strict JSON through :func:`caloml.outputs.to_json`.
    """
    if trained_process not in PROCESSES:
        raise InputError(f"trained_process must be one of {list(PROCESSES)}, got "
                         f"{trained_process!r}")
    unknown = sorted(set(test_sets) - set(PROCESSES))
    if unknown or not test_sets:
        raise InputError(f"test_sets must map some of {list(PROCESSES)} to test images, got "
                         f"{sorted(test_sets)}")
    for process, test in test_sets.items():
        missing = [key for key in ("fast", "detailed") if key not in test]
        if missing:
            raise InputError(f"the {process} test set lacks {', '.join(missing)}; expected "
                             "'fast' and 'detailed' event images")
    plots_dir = os.fspath(plots_dir)
    os.makedirs(plots_dir, exist_ok=True)
    trained_label = PROCESS_LABELS[trained_process]
    metrics: dict[str, Any] = {"trained_process": trained_process, "processes": {}}
    plots: list[str] = []
    order = [trained_process] + [p for p in PROCESSES if p != trained_process]
    for process in (p for p in order if p in test_sets):
        title = f"{PROCESS_LABELS[process]} events, trained on {trained_label}"
        logging.info("assessing CALPAGAN on %d %s", len(test_sets[process]["fast"]), title)
        result, arrays = assess_process(translator, test_sets[process]["fast"],
                                        test_sets[process]["detailed"], feature_model,
                                        batch_size, bins, threshold_gev)
        result["cross_process"] = process != trained_process
        metrics["processes"][process] = result
        events = _example_events(arrays["jets"]["detailed"], num_examples)
        plots += figures.plot_event_examples(
            {key: value[events] for key, value in arrays["images"].items()},
            {key: _subset(value, events) for key, value in arrays["jets"].items()},
            os.path.join(plots_dir, f"{process}_events"), title=title)
        plots += figures.plot_observables(arrays["observables"], result["chi2"],
                                          os.path.join(plots_dir, f"{process}_observables"),
                                          title=title)
        summary = result["chi2_summary"]
        logging.info("%s: CALPAGAN closer to the detailed simulation than the fast one for "
                     "%d of %d observables", title, summary["num_closer"],
                     summary["num_compared"])
    if feature_model is not None and all(p in test_sets for p in PROCESSES):
        metrics["feature_classifier_accuracy"] = classifier_accuracy(
            feature_model, test_sets["wjets"]["detailed"], test_sets["dijet"]["detailed"])
    entries = _history_entries(fid_history)
    if entries:
        metrics["frechet_history"] = {"epochs": len(entries),
                                      "last": max(entries, key=lambda e: e["epoch"])}
        plots += figures.plot_frechet_history(entries, os.path.join(plots_dir, "frechet_history"),
                                              title=f"Fréchet distance, trained on "
                                                    f"{trained_label}")
    losses = _history_entries(history)
    if losses and any(k in e for e in losses for k in figures.LOSS_LABELS):
        plots += figures.plot_losses(losses, os.path.join(plots_dir, "losses"),
                                     title=f"losses, trained on {trained_label}")
    if batch_sizes:
        first = next(p for p in order if p in test_sets)
        metrics["inference"] = inference_time(translator, test_sets[first]["fast"], batch_sizes,
                                              runtime_repeats, runtime_min_seconds)
        plots += figures.plot_inference_time(metrics["inference"],
                                             os.path.join(plots_dir, "inference_time"))
    metrics["definitions"] = DEFINITIONS
    metrics["paper"] = PAPER
    metrics["plots"] = [os.path.basename(p) for p in plots]
    return metrics
