"""Speed and memory of the reconstruction study (paper 003 §5): networks, BDTs, resampler, stream.

:func:`benchmark_reco` measures, in one run on the default TensorFlow device:

1. network inference: showers/s of ``network(inputs, training=False)`` in a ``tf.function`` on
   random inputs of the right shapes — DNN and CNN at the paper's batch of 1000 (§5.2),
   GoogLeNet at a small batch in its micro-batch mode (§5.2: micro-batches of 10) — timed
   interleaved with a square float32 matmul, so each network's ``fraction_of_matmul`` (FLOP per
   shower × showers/s ÷ the matmul's FLOP/s) compares rates measured together. FLOP per shower
   are counted twice, from the traced TensorFlow graph
   (:func:`caloml.benchmarking.graph_flops`) and from the layers (:func:`layer_flops`);
   GoogLeNet's activation memory at batch 1000 is computed (:func:`activation_memory`), not
   measured: it does not fit in a workstation's memory;
2. the BDT baselines (appendices C, D) on the expert features of a small simulated γ/π⁰
   sample: an XGBoost classifier fitted at the centre of the search space (the search itself
   costs ``n_iter × cv_folds`` such fits and is projected, not run), Triforce's AdaBoost of
   800 stumps, their predictions per 1000 events, and the XGBoost energy regressor (depth 3,
   at most 1000 rounds, early stopping);
3. the geometry resampler (§5.4) in showers/s on one core for ATLAS and CMS, against the
   project's goal of 2,000 showers/s;
4. the peak resident memory (``ru_maxrss``) of a fresh process streaming one epoch of the
   training pipeline (:func:`caloml.data.reco.tf_dataset` with a shuffle buffer) from
   synthetic files of 4 and 8 shuffle buffers: peak memory should follow the batch, the
   blocks read and the shuffle buffer, not the file.

Machines are shared and interference only ever adds time: times are the fastest of several
repeats. The result is a JSON-serialisable dict (:func:`format_summary` prints its main
figures).
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from absl import logging

from caloml import benchmarking, checks
from caloml.data import reco as data_reco
from caloml.data import resample
from caloml.errors import InputError
from caloml.io import hdf5, schema
from caloml.observables import expert
from caloml.reco import baselines
from caloml.reco.config import (
    NETWORKS,
    BDTConfig,
    CNNConfig,
    DNNConfig,
    GoogLeNetConfig,
    RegressionConfig,
)

# Goals of the reconstruction speed issue.
GOALS = {
    # The resampler keeps ahead of reading gzip files: showers/s on one core, per target.
    "resampler_showers_per_s": 2000.0,
}
# §5.2: DNN and CNN batches of 1000 events; GoogLeNet in micro-batches of 10.
PAPER = {"batch_size": 1000, "googlenet_micro_batch": 10}
# Float32 activations.
BYTES_PER_VALUE = 4
GIB = 2.0**30
# Synthetic files of the stream-memory check: hit cells per event (sparse, as real showers; the
# values do not change the cost of reading and cropping).
SYNTHETIC_ECAL_HITS = 200
SYNTHETIC_HCAL_HITS = 50
# PDG ids of the synthetic files; π⁰ opening angles stay below the §2 selection (0.01 rad).
SYNTHETIC_PDG = {"photon": 22, "pi0": 111}
SYNTHETIC_PI0_OPENING_ANGLE_RAD = (0.001, 0.009)
# The particles (files) of the BDT timings and of the stream-memory check.
PARTICLES = data_reco.TASKS["gamma_pi0"]
# Events of the BDTs' timed predictions.
PREDICT_EVENTS = 1000
# Rows of the validation and test splits of the synthetic stream files (DataConfig needs ≥ 1).
_STREAM_EXTRA_ROWS = 1


@dataclasses.dataclass(frozen=True)
class BenchmarkSettings:
    """What :func:`benchmark_reco` runs (defaults: about 5 minutes on two CPU cores).

    Attributes:
        networks: networks timed, of ``dnn``, ``cnn``, ``googlenet``.
        batch_size: inference batch of the DNN and CNN (§5.2: 1000), also the batch of the
            streamed training pipeline and the batch GoogLeNet's activation memory is computed
            for.
        googlenet_batch_size: GoogLeNet's inference batch, run in micro-batches of
            ``googlenet.micro_batch`` (a paper-size GoogLeNet takes about a second per shower
            on a CPU).
        repeats: timed repeats of every measurement; the fastest counts.
        min_seconds: shortest timed repeat; short calls are looped until a repeat lasts this
            long.
        matmul_size: n of the n × n float32 matmul that gives the device's FP32 rate.
        dnn, cnn, googlenet: the network configurations (paper defaults).
        num_train, num_validation, num_test: simulated events per particle of the BDT timings
            (γ and π⁰; validation: the regressor's early stopping; test: the predictions).
        bdt: the classification baseline's settings (search size, AdaBoost, threads, seed).
        regression: the regression baseline's settings (depth, rounds, early stopping).
        resample_targets: geometries of the resampler timing.
        resample_showers: showers per resampler timing.
        shuffle_buffer: events in the shuffle buffer of the streamed pipeline.
        file_multiples: events per synthetic file, in shuffle buffers (one fresh process each).
        block_size: events read from HDF5 at a time by the streamed pipeline.
        workdir: directory of the simulated and synthetic files (kept); None: a temporary
            directory, removed at the end.
        seed: seed of the weights, the random inputs, the simulation and the synthetic files.
    """

    networks: tuple[str, ...] = NETWORKS
    batch_size: int = PAPER["batch_size"]
    googlenet_batch_size: int = PAPER["googlenet_micro_batch"]
    repeats: int = 3
    min_seconds: float = 0.5
    matmul_size: int = 4096
    dnn: DNNConfig = DNNConfig()
    cnn: CNNConfig = CNNConfig()
    googlenet: GoogLeNetConfig = GoogLeNetConfig()
    num_train: int = 1000
    num_validation: int = 250
    num_test: int = 250
    bdt: BDTConfig = BDTConfig()
    regression: RegressionConfig = RegressionConfig()
    resample_targets: tuple[str, ...] = ("atlas", "cms")
    resample_showers: int = 2000
    shuffle_buffer: int = 1024
    file_multiples: tuple[int, ...] = (4, 8)
    block_size: int = data_reco.DataConfig().block_size
    workdir: str | None = None
    seed: int = 1

    def __post_init__(self):
        checks.positive_int(self, "batch_size", "googlenet_batch_size", "repeats",
                            "matmul_size", "num_train", "num_validation", "num_test",
                            "resample_showers", "shuffle_buffer", "block_size")
        checks.positive_int(self, "seed", minimum=0)
        checks.finite(self, "min_seconds", low=0.0, strict_low=True)
        unknown = [name for name in self.networks if name not in NETWORKS]
        if unknown or len(set(self.networks)) != len(self.networks):
            raise InputError(f"networks must be distinct names of {list(NETWORKS)}, got "
                             f"{list(self.networks)} (BenchmarkSettings)")
        unknown = [name for name in self.resample_targets if name not in resample.TARGETS]
        if unknown:
            raise InputError(f"resample_targets must be of {sorted(resample.TARGETS)}, got "
                             f"{list(self.resample_targets)} (BenchmarkSettings)")
        if (not self.file_multiples
                or not all(isinstance(m, int) and m >= 1 for m in self.file_multiples)):
            raise InputError(f"file_multiples must be positive integers, got "
                             f"{self.file_multiples!r} (BenchmarkSettings)")

    def network_config(self, name: str) -> Any:
        """The configuration of network ``name``."""
        return getattr(self, name)


# ============================================================================================
# FLOP and activation memory
# ============================================================================================

def layer_flops(model: Any) -> float:
    """FLOP of one forward pass on one example, counted from the layers of a functional model.

    ``Conv2D``/``Conv3D``: 2 × output values × kernel volume × input channels; ``Dense``:
    2 × inputs × units per output row. The same operations
    :func:`caloml.benchmarking.graph_flops` counts, from the Keras side: the two counts check
    each other.
    """
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv3D)):
            total += benchmarking.conv_flops(layer.output.shape[1:], layer.kernel.shape)
        elif isinstance(layer, keras.layers.Dense):
            rows = int(np.prod(layer.output.shape[1:-1]))
            total += 2 * rows * int(layer.kernel.shape[0]) * int(layer.kernel.shape[1])
    return float(total)


def activation_memory(model: Any, batch_size: int) -> dict[str, Any]:
    """Float32 activation memory of ``model`` at ``batch_size``, computed from layer outputs.

    Training keeps every layer's output for the backward pass (``all_layers``); a forward pass
    needs at least the largest single output (``largest_layer``). Inputs are not counted.

    Returns:
        ``{"batch_size", "bytes_per_shower_all_layers", "bytes_per_shower_largest_layer",
        "largest_layer", "gib_all_layers", "gib_largest_layer"}`` (GiB = 2³⁰ bytes, at
        ``batch_size``).
    """
    import keras

    sizes = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        sizes[layer.name] = sum(int(np.prod(t.shape[1:])) for t in keras.tree.flatten(layer.output))
    total = BYTES_PER_VALUE * sum(sizes.values())
    largest = max(sizes, key=sizes.get)
    return {
        "batch_size": batch_size,
        "bytes_per_shower_all_layers": total,
        "bytes_per_shower_largest_layer": BYTES_PER_VALUE * sizes[largest],
        "largest_layer": largest,
        "gib_all_layers": total * batch_size / GIB,
        "gib_largest_layer": BYTES_PER_VALUE * sizes[largest] * batch_size / GIB,
    }


def machine_memory_bytes() -> int | None:
    """Physical memory of this machine, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


# ============================================================================================
# Inference
# ============================================================================================

def input_shapes(network: Any) -> dict[str, tuple[int, ...]]:
    """One example's shape per input of ``network``, e.g. ``{"scalars": (4,)}``."""
    return {name: tuple(int(d) for d in tensor.shape[1:]) for name, tensor in network.input.items()}


def random_inputs(network: Any, batch_size: int, seed: int) -> dict[str, Any]:
    """Uniform [0, 1) float32 inputs of ``network`` for ``batch_size`` showers (the cost does
    not depend on the values)."""
    import tensorflow as tf

    return {name: tf.random.stateless_uniform((batch_size, *shape), seed=(seed, i))
            for i, (name, shape) in enumerate(input_shapes(network).items())}


def inference_function(network: Any, inputs: dict[str, Any],
                       micro_batch: int | None = None) -> Callable[[], Any]:
    """A compiled ``network(inputs, training=False)``, in micro-batches if ``micro_batch``.

    With ``micro_batch`` the batch is run as consecutive slices of that many showers, their
    outputs joined: GoogLeNet's mode (§5.2), in which memory holds one micro-batch's
    activations whatever the batch.
    """
    import tensorflow as tf

    batch = int(next(iter(inputs.values())).shape[0])
    if not micro_batch or micro_batch >= batch:
        return tf.function(lambda: network(inputs, training=False))

    @tf.function
    def run():
        pieces = [network({k: v[start:start + micro_batch] for k, v in inputs.items()},
                          training=False) for start in range(0, batch, micro_batch)]
        return {key: tf.concat([p[key] for p in pieces], axis=0) for key in pieces[0]}

    return run


def network_flops(network: Any) -> dict[str, Any]:
    """FLOP per shower of ``network`` counted both ways, and its parameters."""
    counted = benchmarking.graph_flops(network, input_shapes(network))
    by_layers = layer_flops(network)
    return {"per_shower": counted, "source": "graph_flops (traced TensorFlow graph)",
            "layer_count": by_layers,
            "relative_difference": by_layers / counted - 1.0 if counted else None,
            "parameters": int(network.count_params())}


def _time_group(names: Sequence[str], networks: dict[str, Any], batch_sizes: dict[str, int],
                micro_batches: dict[str, int | None], settings: BenchmarkSettings,
                warmup: int) -> dict[str, dict[str, Any]]:
    fns = {}
    for name in names:
        inputs = random_inputs(networks[name], batch_sizes[name], settings.seed)
        fns[name] = inference_function(networks[name], inputs, micro_batches[name])
    fns["matmul"] = benchmarking.matmul(settings.matmul_size, settings.seed)[0]
    return benchmarking.time_interleaved(fns, settings.repeats, settings.min_seconds, warmup)


def benchmark_inference(settings: BenchmarkSettings) -> dict[str, Any]:
    """Times every network of ``settings`` against the matmul timed interleaved with it.

    DNN and CNN are timed together at ``batch_size``; GoogLeNet, whose first call (tracing
    included) is its warm-up, alone at ``googlenet_batch_size`` in micro-batches.

    Returns:
        ``{"matmul": the best of all matmul repeats, "flops": {name: network_flops},
        "networks": {name: row}, "googlenet_memory": activation_memory or None}``; a row holds
        ``batch_size``, ``micro_batch``, ``seconds_per_batch`` (the fastest repeat),
        ``seconds_all``, ``showers_per_s`` (batch / seconds), ``flops_per_shower``,
        ``flops_per_s``, ``matmul_flops_per_s`` (interleaved with it), ``fraction_of_matmul``
        and ``fraction_of_best_matmul``, and ``seconds_per_1000_showers``.
    """
    import keras

    from caloml.reco import networks as networks_lib

    networks, flops = {}, {}
    for name in settings.networks:
        keras.utils.set_random_seed(settings.seed)
        networks[name] = networks_lib.build_network(name, settings.network_config(name))
        flops[name] = network_flops(networks[name])
        logging.info("%s: %.1f MFLOP/shower (layer count %.1f), %d parameters", name,
                     flops[name]["per_shower"] / 1e6, flops[name]["layer_count"] / 1e6,
                     flops[name]["parameters"])
    batch_sizes = {name: settings.batch_size for name in networks}
    micro_batches: dict[str, int | None] = {name: None for name in networks}
    if "googlenet" in networks:
        batch_sizes["googlenet"] = settings.googlenet_batch_size
        micro_batches["googlenet"] = settings.googlenet.micro_batch

    groups = [([n for n in networks if n != "googlenet"], 1)]
    if "googlenet" in networks:
        groups.append((["googlenet"], 0))
    rows, matmul_runs = {}, []
    for names, warmup in groups:
        if not names:
            continue
        timing = _time_group(names, networks, batch_sizes, micro_batches, settings, warmup)
        matmul_flops = 2.0 * settings.matmul_size**3
        matmul_rate = matmul_flops / timing["matmul"]["seconds"]
        matmul_runs.append({"size": settings.matmul_size, "flops": matmul_flops,
                            **timing["matmul"], "flops_per_s": matmul_rate})
        for name in names:
            seconds = timing[name]["seconds"]
            showers_per_s = batch_sizes[name] / seconds
            flops_per_s = flops[name]["per_shower"] * showers_per_s
            rows[name] = {
                "batch_size": batch_sizes[name], "micro_batch": micro_batches[name],
                "seconds_per_batch": seconds, "seconds_all": timing[name]["seconds_all"],
                "calls": timing[name]["calls"], "showers_per_s": showers_per_s,
                "seconds_per_1000_showers": 1000.0 / showers_per_s,
                "flops_per_shower": flops[name]["per_shower"], "flops_per_s": flops_per_s,
                "matmul_flops_per_s": matmul_rate,
                "fraction_of_matmul": flops_per_s / matmul_rate,
            }
            logging.info("%s at batch %d: %.1f showers/s, %.0f%% of the matmul rate", name,
                         batch_sizes[name], showers_per_s, 100 * flops_per_s / matmul_rate)
    matmul = benchmarking.best_matmul(matmul_runs) if matmul_runs else None
    for row in rows.values():
        row["fraction_of_best_matmul"] = row["flops_per_s"] / matmul["flops_per_s"]
    memory = None
    if "googlenet" in networks:
        memory = activation_memory(networks["googlenet"], settings.batch_size)
        total = machine_memory_bytes()
        memory["machine_memory_gib"] = None if total is None else total / GIB
        memory["fits_in_machine_memory"] = (None if total is None
                                            else bool(memory["gib_all_layers"] * GIB <= total))
    return {"matmul": matmul, "flops": flops, "networks": rows, "googlenet_memory": memory}


# ============================================================================================
# BDT baselines
# ============================================================================================

def search_centre(config: BDTConfig) -> dict[str, Any]:
    """The centre of the XGBoost search space: one fit there costs about an average point.

    Linear ranges give their midpoint (integers rounded), log-scale ranges (learning rate,
    minimum child weight) their geometric mean.
    """
    def mid(pair):
        return (pair[0] + pair[1]) / 2

    def geometric(pair):
        return math.sqrt(pair[0] * pair[1])

    return {
        "max_depth": int(round(mid(config.max_depth_range))),
        "learning_rate": geometric(config.learning_rate_range),
        "n_estimators": int(round(mid(config.n_estimators_range))),
        "subsample": mid(config.subsample_range),
        "colsample_bytree": mid(config.colsample_bytree_range),
        "min_child_weight": geometric(config.min_child_weight_range),
        "gamma": mid(config.gamma_range),
    }


def _best_seconds(repeats: int, fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    best, result = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def _all_seconds(repeats: int, fn: Callable[..., Any], *args: Any) -> tuple[list[float], Any]:
    seconds, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(*args)
        seconds.append(time.perf_counter() - start)
    return seconds, result


def _timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def benchmark_bdt(settings: BenchmarkSettings, data_dir: str) -> dict[str, Any]:
    """Fit and prediction times of the baselines on simulated γ/π⁰ expert features.

    Simulates ``num_train + num_validation + num_test`` photons and π⁰ into ``data_dir``
    (cached), computes their expert features, then times (the fastest of ``repeats``, but
    AdaBoost's fit, once: single-threaded, it suffers little from other processes, and takes
    seconds): the XGBoost classifier at
    :func:`search_centre`, AdaBoost (``bdt.adaboost_n_estimators`` stumps), and the XGBoost
    photon-energy regressor, early-stopped on the validation events.

    Returns:
        ``{"events", "simulate_seconds", "features_seconds", "threads", "xgboost",
        "adaboost", "xgboost_regressor"}``; each model's ``fit_seconds`` (the fastest),
        ``fit_seconds_all`` and ``predict_seconds_per_1000`` (on :data:`PREDICT_EVENTS` test
        events, repeated when there are fewer); the classifier's ``params`` and
        ``search_projection`` (``n_iter × cv_folds`` fits plus the refit, each at the fit time
        measured on all training events: an upper bound, a fold sees (k − 1)/k of them); the
        regressor's ``best_iteration`` and ``rounds``.
    """
    import xgboost

    data = data_reco.DataConfig(num_train=settings.num_train,
                                num_validation=settings.num_validation,
                                num_test=settings.num_test, seed=settings.seed)
    simulate_seconds, paths = _timed(data_reco.dataset_files, data, PARTICLES, data_dir)
    features_seconds, splits = _timed(lambda: {
        split: baselines.load_features(paths, split, data, settings.bdt.hit_threshold)
        for split in data_reco.SPLITS})
    logging.info("BDT sample: %d events simulated in %.1f s, features in %.1f s",
                 data.num_rows * len(PARTICLES), simulate_seconds, features_seconds)
    bdt = settings.bdt
    result: dict[str, Any] = {
        "events": {split: int(len(splits[split]["label"])) for split in data_reco.SPLITS},
        "simulate_seconds": simulate_seconds, "features_seconds": features_seconds,
        "threads": bdt.threads,
    }

    for method in ("xgboost", "adaboost"):
        names = baselines.classification_feature_names(method)
        x_train = expert.feature_matrix(splits["train"], names)
        y_train = splits["train"]["label"].astype(np.int64)
        # Predictions are timed on 1000 events (the test events repeated): per-call costs
        # count as in real use.
        x_test = np.resize(expert.feature_matrix(splits["test"], names),
                           (PREDICT_EVENTS, len(names)))
        if method == "xgboost":
            params = search_centre(bdt)
            model = xgboost.XGBClassifier(objective="binary:logistic", tree_method="hist",
                                          n_jobs=bdt.threads, random_state=bdt.seed, **params)
            fit_all, _ = _all_seconds(settings.repeats, model.fit, x_train, y_train)
        else:
            fit_all, model = _all_seconds(1, baselines.fit_adaboost_classifier, x_train,
                                          y_train, bdt)
        fit_seconds = min(fit_all)
        predict_seconds, _ = _best_seconds(settings.repeats, baselines.classifier_scores, model,
                                           x_test)
        row = {"features": len(names), "fit_seconds": fit_seconds, "fit_seconds_all": fit_all,
               "predict_seconds_per_1000": 1000.0 * predict_seconds / PREDICT_EVENTS}
        if method == "xgboost":
            fits = bdt.n_iter * bdt.cv_folds + 1
            row["params"] = params
            row["search_projection"] = {"n_iter": bdt.n_iter, "cv_folds": bdt.cv_folds,
                                        "fits": fits, "seconds": fits * fit_seconds}
        else:
            row["n_estimators"] = bdt.adaboost_n_estimators
        result[method] = row
        logging.info("%s classifier: fit %.2f s, %.4f s per 1000 predictions", method,
                     fit_seconds, row["predict_seconds_per_1000"])

    regression = dataclasses.replace(settings.regression, threads=bdt.threads, seed=bdt.seed)
    names = baselines.regression_feature_names("xgboost", PARTICLES[0])

    def photons(split):
        features = splits[split]
        keep = features["label"] == 0
        return (expert.feature_matrix(features, names)[keep],
                np.asarray(features["energy"], np.float64)[keep])

    (x_train, e_train), (x_val, e_val), (x_test, _) = (photons(s) for s in data_reco.SPLITS)
    x_test = np.resize(x_test, (PREDICT_EVENTS, len(names)))
    fit_all, model = _all_seconds(settings.repeats, baselines.fit_xgboost_regressor, x_train,
                                  e_train, x_val, e_val, regression)
    predict_seconds, _ = _best_seconds(settings.repeats, model.predict, x_test)
    result["xgboost_regressor"] = {
        "particle": PARTICLES[0], "features": len(names), "max_depth": regression.max_depth,
        "max_rounds": regression.num_rounds,
        "early_stopping_rounds": regression.early_stopping_rounds,
        "best_iteration": int(model.best_iteration),
        "rounds": int(model.get_booster().num_boosted_rounds()),
        "fit_seconds": min(fit_all), "fit_seconds_all": fit_all,
        "predict_seconds_per_1000": 1000.0 * predict_seconds / PREDICT_EVENTS,
    }
    return result


# ============================================================================================
# Resampler
# ============================================================================================

def benchmark_resampler(targets: Sequence[str], num_showers: int, repeats: int = 3,
                        seed: int = 1) -> dict[str, Any]:
    """Showers/s of :func:`caloml.data.resample.throughput` (one core) per target.

    Returns:
        Per target ``{"showers_per_s": the fastest of repeats, "showers_per_s_all",
        "goal", "passed"}``.
    """
    goal = GOALS["resampler_showers_per_s"]
    result = {}
    for target in targets:
        rates = [resample.throughput(target, num_showers, seed=seed) for _ in range(repeats)]
        result[target] = {"showers_per_s": max(rates), "showers_per_s_all": rates,
                          "num_showers": num_showers, "goal": goal,
                          "passed": bool(max(rates) >= goal)}
        logging.info("resampler %s: %.0f showers/s on one core", target, max(rates))
    return result


# ============================================================================================
# Memory of the streamed training pipeline
# ============================================================================================

def clic_bytes_per_event(layout: schema.Layout = schema.CLIC) -> int:
    """Uncompressed bytes of one event of the non-optional arrays of ``layout``."""
    return sum(int(np.prod(f.shape)) * np.dtype(f.dtype).itemsize
               for f in layout.fields if not f.optional)


def write_synthetic_clic(path: str, particle: str, num_events: int, seed: int,
                         block_size: int = 256) -> None:
    """A ``clic``-layout file of random sparse showers (gzip), for memory and I/O timings.

    Every event has :data:`SYNTHETIC_ECAL_HITS` ECAL and :data:`SYNTHETIC_HCAL_HITS` HCAL cells
    of exponential energies at random places, energy uniform in [2, 500] GeV, θ uniform in
    [1.047, 2.094] (§2), reconstructed angles equal to the truth; π⁰ opening angles pass the
    §2 selection.

    Args:
        path: the file to write.
        particle: ``photon`` or ``pi0`` (:data:`SYNTHETIC_PDG`).
        num_events: events to write.
        seed: seed of the random showers.
        block_size: events generated and written at a time.
    """
    if particle not in SYNTHETIC_PDG:
        raise InputError(f"synthetic files are of {sorted(SYNTHETIC_PDG)}, got {particle!r}")
    rng = np.random.default_rng(seed)
    ecal_shape, hcal_shape = schema.CLIC.field("ECAL").shape, schema.CLIC.field("HCAL").shape
    with hdf5.H5Writer(path, schema.CLIC, num_events,
                       attrs={"geometry": "clic", "particle": particle, "synthetic": True}) as w:
        for start in range(0, num_events, block_size):
            n = min(block_size, num_events - start)
            arrays: dict[str, np.ndarray] = {}
            for key, shape, hits in (("ECAL", ecal_shape, SYNTHETIC_ECAL_HITS),
                                     ("HCAL", hcal_shape, SYNTHETIC_HCAL_HITS)):
                cells = np.zeros((n, int(np.prod(shape))), np.float32)
                rows = np.repeat(np.arange(n), hits)
                cells[rows, rng.integers(0, cells.shape[1], n * hits)] = rng.exponential(
                    1.0, n * hits).astype(np.float32)
                arrays[key] = cells.reshape(n, *shape)
            theta = rng.uniform(1.047, 2.094, n)
            eta = -np.log(np.tan(theta / 2))
            phi = rng.uniform(-np.pi, np.pi, n)
            opening = (rng.uniform(*SYNTHETIC_PI0_OPENING_ANGLE_RAD, n) if particle == "pi0"
                       else np.full(n, -1.0))
            scalars = {
                "energy": rng.uniform(2.0, 500.0, n), "pdgID": np.full(n, SYNTHETIC_PDG[particle]),
                "theta": theta, "eta": eta, "phi": phi, "recoTheta": theta, "recoEta": eta,
                # Reconstructed φ is atan(y/x), in (−π/2, π/2) as in the real files.
                "recoPhi": np.arctan(np.tan(phi)), "openingAngle": opening,
                "conversion": np.zeros(n),
            }
            for key, value in scalars.items():
                arrays[key] = value.astype(schema.CLIC.field(key).dtype)
            w.write(start, arrays)


def stream_bytes_per_event(hcal_window: int = data_reco.HCAL_WINDOW) -> int:
    """Bytes of one event as the training stream holds it (cropped inputs and targets)."""
    event = {"ECAL": np.zeros((1, *schema.CLIC.field("ECAL").shape), np.float32),
             "HCAL": np.zeros((1, *schema.CLIC.field("HCAL").shape), np.float32),
             "label": np.zeros(1, np.int8)}
    event.update({key: np.zeros(1, np.float32)
                  for key in ("recoPhi", "recoEta", "phi", "eta", "energy")})
    return sum(a.nbytes for a in data_reco.network_arrays(event, hcal_window).values())


def stream_peak_rss(data_dir: str, num_events: int, shuffle_buffer: int, batch_size: int,
                    block_size: int, seed: int = 1) -> dict[str, Any]:
    """Streams one epoch of the ``train`` rows of ``data_dir`` and reads this process' peak RSS.

    Call it in a fresh process (:func:`measure_stream_rss`): ``ru_maxrss`` is the peak of the
    whole process' life.

    Args:
        data_dir: a directory with ``photon.h5`` and ``pi0.h5`` (``clic`` layout) of at least
            ``num_events + 2`` rows each.
        num_events: training rows per file.
        shuffle_buffer, batch_size, block_size, seed: of :func:`caloml.data.reco.tf_dataset`.

    Returns:
        ``{"events", "batches", "seconds", "rss_before_stream_bytes" (``ru_maxrss`` once the
        pipeline is built: TensorFlow's share), "peak_rss_bytes" (``ru_maxrss`` after the
        epoch), "vm_hwm_bytes" (``VmHWM`` after the epoch, or None)}``.
    """
    config = data_reco.DataConfig(data=data_dir, num_train=num_events,
                                  num_validation=_STREAM_EXTRA_ROWS, num_test=_STREAM_EXTRA_ROWS,
                                  block_size=block_size)
    paths = data_reco.dataset_files(config, PARTICLES, data_dir)
    dataset = data_reco.tf_dataset(paths, "train", config, batch_size,
                                   shuffle_buffer=shuffle_buffer, seed=seed, repeat=False)
    before = benchmarking.peak_rss_bytes()["ru_maxrss_bytes"]
    events = batches = 0
    start = time.perf_counter()
    for _, targets in dataset:
        events += int(targets["label"].shape[0])
        batches += 1
    seconds = time.perf_counter() - start
    after = benchmarking.peak_rss_bytes()
    return {"events": events, "batches": batches, "seconds": seconds,
            "rss_before_stream_bytes": before, "peak_rss_bytes": after["ru_maxrss_bytes"],
            "vm_hwm_bytes": after["vm_hwm_bytes"]}


def measure_stream_rss(data_dir: str, num_events: int, shuffle_buffer: int, batch_size: int,
                       block_size: int, seed: int = 1, timeout_s: float = 900.0
                       ) -> dict[str, Any]:
    """:func:`stream_peak_rss` in a fresh Python process (its peak is this stream's alone).

    The process is started through a small launcher process, so that its ``ru_maxrss`` does
    not inherit the caller's peak.
    """
    args = {"data_dir": data_dir, "num_events": num_events, "shuffle_buffer": shuffle_buffer,
            "batch_size": batch_size, "block_size": block_size, "seed": seed}
    return benchmarking.run_in_fresh_process("caloml.reco.benchmark", "stream_peak_rss", args,
                                             timeout_s)


def benchmark_stream_memory(settings: BenchmarkSettings, directory: str) -> dict[str, Any]:
    """Peak RSS of streaming files of ``file_multiples`` shuffle buffers, one process each.

    Writes ``<directory>/x<m>/{photon,pi0}.h5`` of ``m × shuffle_buffer`` training rows (plus
    one validation and one test row) and streams each pair in a fresh process.

    Returns:
        ``{"shuffle_buffer", "batch_size", "block_size", "stream_bytes_per_event",
        "shuffle_buffer_bytes", "files": [...], "rss_difference_bytes" (largest file minus
        smallest), "file_bytes_difference"}``; per file: ``multiple``, ``events_per_file``,
        ``file_array_bytes`` (uncompressed arrays of one file), ``events_streamed``,
        ``seconds``, ``peak_rss_bytes`` (``ru_maxrss``), ``rss_before_stream_bytes`` and
        ``vm_hwm_bytes`` (:func:`stream_peak_rss`).
    """
    per_event = clic_bytes_per_event()
    stream_event = stream_bytes_per_event(data_reco.HCAL_WINDOW)
    files = []
    for multiple in settings.file_multiples:
        events = multiple * settings.shuffle_buffer
        data_dir = os.path.join(directory, f"x{multiple}")
        os.makedirs(data_dir, exist_ok=True)
        rows = events + 2 * _STREAM_EXTRA_ROWS
        start = time.perf_counter()
        for i, particle in enumerate(PARTICLES):
            write_synthetic_clic(os.path.join(data_dir, data_reco.file_name(particle)),
                                 particle, rows, settings.seed + i)
        write_seconds = time.perf_counter() - start
        measured = measure_stream_rss(data_dir, events, settings.shuffle_buffer,
                                      settings.batch_size, settings.block_size, settings.seed)
        files.append({"multiple": multiple, "events_per_file": rows,
                      "file_array_bytes": rows * per_event, "write_seconds": write_seconds,
                      "events_streamed": measured["events"], "batches": measured["batches"],
                      "seconds": measured["seconds"],
                      "peak_rss_bytes": measured["peak_rss_bytes"],
                      "rss_before_stream_bytes": measured["rss_before_stream_bytes"],
                      "vm_hwm_bytes": measured["vm_hwm_bytes"]})
        logging.info("streamed %d events of files of %d buffers: peak RSS %.2f GiB "
                     "(file arrays %.2f GiB each)", measured["events"], multiple,
                     measured["peak_rss_bytes"] / GIB, rows * per_event / GIB)
    smallest = min(files, key=lambda f: f["multiple"])
    largest = max(files, key=lambda f: f["multiple"])
    return {
        "shuffle_buffer": settings.shuffle_buffer, "batch_size": settings.batch_size,
        "block_size": settings.block_size, "particles": list(PARTICLES),
        "stream_bytes_per_event": stream_event,
        "shuffle_buffer_bytes": settings.shuffle_buffer * stream_event,
        "clic_bytes_per_event": per_event,
        "files": files,
        "rss_difference_bytes": largest["peak_rss_bytes"] - smallest["peak_rss_bytes"],
        "file_bytes_difference": largest["file_array_bytes"] - smallest["file_array_bytes"],
    }


# ============================================================================================
# The whole benchmark
# ============================================================================================

def benchmark_reco(settings: BenchmarkSettings = BenchmarkSettings()) -> dict[str, Any]:
    """Runs the whole reconstruction benchmark on the default TensorFlow device.

    Returns:
        A JSON-serialisable dict: ``benchmark``, ``machine``
        (:func:`caloml.benchmarking.machine_info`), ``settings``, ``goals``, ``paper``,
        ``device``, ``inference`` (:func:`benchmark_inference`), ``bdt``
        (:func:`benchmark_bdt`), ``resampler`` (:func:`benchmark_resampler`),
        ``stream_memory`` (:func:`benchmark_stream_memory`), ``summary`` and ``notes``.
    """

    device = benchmarking.device_kind()
    logging.info("reconstruction benchmark on %s", device)
    machine = benchmarking.machine_info()
    with tempfile.TemporaryDirectory(prefix="caloml-reco-benchmark-") as tmp:
        directory = settings.workdir or tmp
        inference = benchmark_inference(settings)
        bdt = benchmark_bdt(settings, os.path.join(directory, "bdt_data"))
        resampler = benchmark_resampler(settings.resample_targets, settings.resample_showers,
                                        settings.repeats, settings.seed)
        stream = benchmark_stream_memory(settings, os.path.join(directory, "stream_data"))
    machine["load_average_1min_end"] = benchmarking.load_average()
    summary = {
        "showers_per_s": {name: row["showers_per_s"]
                          for name, row in inference["networks"].items()},
        "fraction_of_matmul": {name: row["fraction_of_matmul"]
                               for name, row in inference["networks"].items()},
        "resampler_passed": {t: r["passed"] for t, r in resampler.items()},
        "resampler_all_passed": all(r["passed"] for r in resampler.values()),
        "stream_peak_rss_bytes": {str(f["multiple"]): f["peak_rss_bytes"]
                                  for f in stream["files"]},
        "stream_rss_difference_bytes": stream["rss_difference_bytes"],
    }
    return {
        "benchmark": "reco",
        "machine": machine,
        "settings": dataclasses.asdict(settings),
        "goals": dict(GOALS),
        "paper": dict(PAPER),
        "device": device,
        "inference": inference,
        "bdt": bdt,
        "resampler": resampler,
        "stream_memory": stream,
        "summary": summary,
        "notes": {
            "flops": "2 FLOP per multiply-add of convolutions and matrix products; "
                     "activations, pooling and normalisations are not counted",
            "googlenet": "timed at a small batch in micro-batches; its activation memory at "
                         "the DNN/CNN batch is computed from the layer outputs, not measured",
            "bdt": "XGBoost fits and all predictions: the fastest of the repeats (XGBoost's "
                   "OpenMP threads slow down by orders of magnitude on a busy machine); "
                   "AdaBoost's fit once; the XGBoost search is projected from the fastest fit "
                   "at the centre of the search space, not run",
            "stream_memory": "peak RSS (ru_maxrss) of a fresh process per file, started "
                             "through a small launcher (Linux carries ru_maxrss across fork "
                             "and exec); TensorFlow and the pipeline's blocks included",
        },
    }


def _verdict(passed: bool | None) -> str:
    return "n/a" if passed is None else ("pass" if passed else "FAIL")


def format_summary(result: dict[str, Any]) -> str:
    """A text table of the main figures of :func:`benchmark_reco`."""
    inference = result["inference"]
    lines = []
    if inference["matmul"] is not None:
        lines.append(f"device {result['device']}: matmul {inference['matmul']['size']}² "
                     f"{inference['matmul']['flops_per_s'] / 1e9:.1f} GFLOP/s (best)")
        lines.append(f"{'network':<10} {'batch':>6} {'MFLOP/shower':>13} {'s/batch':>9} "
                     f"{'showers/s':>10} {'GFLOP/s':>8} {'of matmul':>9}")
    for name, row in inference["networks"].items():
        lines.append(f"{name:<10} {row['batch_size']:>6d} {row['flops_per_shower'] / 1e6:>13.1f} "
                     f"{row['seconds_per_batch']:>9.4g} {row['showers_per_s']:>10.1f} "
                     f"{row['flops_per_s'] / 1e9:>8.1f} {100 * row['fraction_of_matmul']:>8.0f}%")
    memory = inference["googlenet_memory"]
    if memory is not None:
        lines.append(f"googlenet activations at batch {memory['batch_size']}: "
                     f"{memory['gib_all_layers']:.0f} GiB all layers (training), "
                     f"{memory['gib_largest_layer']:.1f} GiB largest layer")
    bdt = result["bdt"]
    xgb, ada, reg = bdt["xgboost"], bdt["adaboost"], bdt["xgboost_regressor"]
    projection = xgb["search_projection"]
    lines += [
        f"BDTs on {bdt['events']['train']} training events, {bdt['threads']} threads:",
        f"  xgboost classifier fit {xgb['fit_seconds']:.2f} s "
        f"({xgb['params']['n_estimators']} trees of depth {xgb['params']['max_depth']}), "
        f"predict {xgb['predict_seconds_per_1000']:.4f} s/1000; search "
        f"{projection['n_iter']}×{projection['cv_folds']}+1 fits ≈ {projection['seconds']:.0f} s",
        f"  adaboost ({ada['n_estimators']} stumps) fit {ada['fit_seconds']:.2f} s, "
        f"predict {ada['predict_seconds_per_1000']:.4f} s/1000",
        f"  xgboost regressor fit {reg['fit_seconds']:.2f} s ({reg['rounds']} rounds, best "
        f"{reg['best_iteration']}), predict {reg['predict_seconds_per_1000']:.4f} s/1000",
    ]
    for target, row in result["resampler"].items():
        lines.append(f"resampler {target}: {row['showers_per_s']:.0f} showers/s on one core "
                     f"(goal ≥ {row['goal']:.0f}): {_verdict(row['passed'])}")
    stream = result["stream_memory"]
    lines.append(f"stream, shuffle buffer {stream['shuffle_buffer']} events "
                 f"({stream['shuffle_buffer_bytes'] / 2**20:.0f} MiB), batch "
                 f"{stream['batch_size']}, blocks of {stream['block_size']}:")
    for f in stream["files"]:
        lines.append(f"  files of {f['multiple']} buffers ({f['file_array_bytes'] / GIB:.2f} GiB "
                     f"of arrays each): peak RSS {f['peak_rss_bytes'] / GIB:.2f} GiB")
    lines.append(f"  peak RSS difference {stream['rss_difference_bytes'] / 2**20:+.0f} MiB for "
                 f"{stream['file_bytes_difference'] / GIB:.2f} GiB more file")
    return "\n".join(lines)
