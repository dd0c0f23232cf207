"""The slides' assessment of a trained CaloGAN generator (paper 004, §V "Performance assessment").

The slides name four potential problems and one figure or table each; :func:`evaluate` does all
four for every particle and writes ``metrics.json`` and ``plots/`` (PNG + PDF):

1. unrealistic shower shapes: the test showers against generated showers at the same energies,
   average image per layer and the observables of the slides' table (E_i, E_tot, f_i,
   E_ratio,i, d, l_d, s_d, σ_sd) plus each layer's lateral widths and sparsity, with the
   separation power ``½ Σ (p − q)² / (p + q)`` of each pair of histograms;
2. overtraining and mode collapse: generated showers beside their nearest training showers,
   and the nearest-training-shower distances of generated and of held-out test showers;
3. out-of-range energies: the response E_tot / E of generated and simulated showers at requested
   energies inside and outside the training range (1–100 GeV);
4. runtime: ms per shower at the slides' batch sizes on this machine, next to the slides' table.

Showers (simulated or generated) are dicts of float32 numpy arrays: ``layer_0`` [N, 3, 96],
``layer_1`` [N, 12, 12], ``layer_2`` [N, 12, 6] cell energies in GeV, ``energy`` [N, 1] GeV and
``particle`` [N] int32 (index into ``config.particles``). Shower shapes are computed in MeV, the
unit of the public files, so that feats1d's lateral-width guard (1e-6) means what it meant there;
nearest-neighbour distances are Euclidean in GeV over the 504 cells of a shower.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from caloml import benchmarking, outputs
from caloml.calogan import config as config_lib
from caloml.calogan import figures
from caloml.data import calogan as calogan_data
from caloml.errors import InputError
from caloml.observables import layered, statistics
from caloml.plotting import core as plotting
from caloml.training import seeds

LAYER_KEYS = config_lib.LAYER_KEYS
# Every layer spans 480 mm along both axes (REFERENCES.md §1.1).
EXTENT_MM = 480.0
MEV_PER_GEV = 1000.0
# The observables in the order of the slides' table, then the per-layer widths and sparsity.
# ``lateral_width_layer{i}`` is feats1d's width along the first image axis (x: 3, 12, 12 cells);
# ``lateral_width_y_layer{i}`` the same along the second (y: 96, 12, 6 cells), which resolves
# layer 0's 5 mm strips that the 160 mm x cells cannot.
SHOWER_SHAPES = (
    *(f"energy_layer{i}" for i in range(3)), "total_energy",
    *(f"energy_fraction_layer{i}" for i in range(3)),
    *(f"energy_ratio_layer{i}" for i in range(3)),
    "depth", "lateral_depth", "shower_depth", "shower_depth_width",
    *(f"lateral_width_layer{i}" for i in range(3)),
    *(f"lateral_width_y_layer{i}" for i in range(3)),
    *(f"sparsity_layer{i}" for i in range(3)),
)
NUM_BINS = statistics.NUM_BINS
# Showers whose nearest training shower is searched (the search is O(queries × training)).
MAX_NEIGHBOUR_QUERIES = 2000
NEIGHBOUR_CHUNK = 4096
# Generated showers drawn beside their nearest training shower in the figure.
NUM_NEIGHBOUR_EXAMPLES = 3
RESPONSE_QUANTILES = (0.05, 0.16, 0.5, 0.84, 0.95)
RUNTIME_REPEATS = 5
RUNTIME_MIN_SECONDS = 0.5

# simulate_reference(particle, energy_gev, num, seed, workers) -> showers in GeV.
Simulator = Callable[..., dict[str, np.ndarray]]


def _latent_dim(generator: keras.Model) -> int:
    latent_dim = getattr(generator, "latent_dim", None)
    if latent_dim is not None:
        return int(latent_dim)
    inputs = generator.input
    if isinstance(inputs, dict) and "latent" in inputs:
        return int(inputs["latent"].shape[-1])
    for tensor in generator.inputs:
        if tensor.name == "latent":
            return int(tensor.shape[-1])
    raise InputError(f"generator {generator.name!r} has no 'latent' input; expected inputs "
                     "{'latent': [B, latent_dim], 'energy': [B, 1]}")


def _generator_inputs(generator: keras.Model, latent: np.ndarray, energy_gev: np.ndarray,
                      particle: int) -> dict[str, np.ndarray]:
    inputs = {"latent": latent, "energy": energy_gev.astype(np.float32).reshape(-1, 1)}
    if getattr(generator, "num_classes", 1) > 1:
        inputs["particle"] = np.full((len(latent), 1), particle, np.int32)
    return inputs


def generate(generator: keras.Model, energy_gev: np.ndarray, seed: int, particle: int = 0,
             batch_size: int = 1024) -> dict[str, np.ndarray]:
    """Generated showers at the requested energies.

    z ~ N(0, 1) is drawn for all showers at once from ``np.random.default_rng(seed)``, so the
    showers depend on the seed and the energies only, not on ``batch_size``.

    Args:
        generator: called as ``generator({"latent": [B, latent_dim], "energy": [B, 1] GeV})``
            (plus ``"particle": [B, 1] int32`` when ``generator.num_classes > 1``), returning
            ``{"layer_0": [B, 3, 96], "layer_1": [B, 12, 12], "layer_2": [B, 12, 6]}`` in GeV.
        energy_gev: ``[N]`` requested energies.
        seed: seed of the latent vectors.
        particle: index of the particle in the experiment's ``particles``.
        batch_size: showers per generator call.

    Returns:
        Showers: ``layer_0/1/2`` float32 GeV, ``energy`` [N, 1] float32 GeV, ``particle`` [N]
        int32.
    """
    energy_gev = np.asarray(energy_gev, np.float64).reshape(-1)
    if energy_gev.size == 0 or not np.all(np.isfinite(energy_gev) & (energy_gev > 0)):
        raise InputError("energy_gev must be a non-empty array of positive energies in GeV")
    classes = getattr(generator, "num_classes", 1)
    if not 0 <= particle < classes:
        raise InputError(f"particle index {particle} is beyond the generator's ACGAN embedding "
                         f"of {classes} particle(s) (indices 0 to {classes - 1})")
    latent = np.random.default_rng(seed).standard_normal(
        (energy_gev.size, _latent_dim(generator)), dtype=np.float32)
    images = generator.predict(_generator_inputs(generator, latent, energy_gev, particle),
                               batch_size=batch_size, verbose=0)
    showers = {key: np.asarray(images[key], np.float32) for key in LAYER_KEYS}
    showers["energy"] = energy_gev.astype(np.float32)[:, None]
    showers["particle"] = np.full(energy_gev.size, particle, np.int32)
    return showers


def shower_vectors(showers: dict[str, np.ndarray]) -> np.ndarray:
    """The three layers of each shower flattened and concatenated: float32 ``[N, 504]`` GeV."""
    return np.concatenate([np.asarray(showers[key], np.float32).reshape(len(showers[key]), -1)
                           for key in LAYER_KEYS], axis=1)


def nearest_neighbours(queries: np.ndarray, reference: np.ndarray,
                       chunk: int = NEIGHBOUR_CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean nearest neighbour in ``reference`` of every query.

    Squared distances are ``|a|² + |b|² − 2 a·b`` in float64, clipped at 0 against round-off,
    computed ``chunk`` × ``chunk`` at a time so memory stays bounded for any sample size. Ties
    go to the first reference row.

    Args:
        queries: ``[N, D]`` vectors (e.g. :func:`shower_vectors`).
        reference: ``[M, D]`` vectors, ``M ≥ 1``.
        chunk: rows of queries and of reference per block.

    Returns:
        ``(distance [N] float64, index [N] int64)``: the distance to the nearest reference row
        and that row's index.
    """
    queries, reference = np.asarray(queries), np.asarray(reference)
    if queries.ndim != 2 or reference.ndim != 2 or queries.shape[1] != reference.shape[1]:
        raise InputError(f"nearest_neighbours needs queries [N, D] and reference [M, D], got "
                         f"{queries.shape} and {reference.shape}")
    if len(reference) == 0:
        raise InputError("nearest_neighbours needs at least one reference vector")
    if chunk < 1:
        raise InputError(f"chunk must be a positive integer, got {chunk}")
    if not (np.all(np.isfinite(queries)) and np.all(np.isfinite(reference))):
        raise InputError("nearest_neighbours got non-finite vectors")
    distance = np.empty(len(queries), np.float64)
    index = np.zeros(len(queries), np.int64)
    reference_sq = np.einsum("ij,ij->i", reference, reference, dtype=np.float64)
    for q_start in range(0, len(queries), chunk):
        q = queries[q_start:q_start + chunk].astype(np.float64)
        q_sq = np.einsum("ij,ij->i", q, q)
        best = np.full(len(q), np.inf)
        best_index = np.zeros(len(q), np.int64)
        for r_start in range(0, len(reference), chunk):
            r = reference[r_start:r_start + chunk].astype(np.float64)
            squared = q_sq[:, None] + reference_sq[None, r_start:r_start + len(r)] - 2.0 * q @ r.T
            local = np.argmin(squared, axis=1)
            value = squared[np.arange(len(q)), local]
            better = value < best
            best[better] = value[better]
            best_index[better] = local[better] + r_start
        distance[q_start:q_start + len(q)] = np.sqrt(np.maximum(best, 0.0))
        index[q_start:q_start + len(q)] = best_index
    return distance, index


# The histogram comparison of every observable (caloml.observables.statistics).
histogram_edges = statistics.histogram_edges
histogram_counts = statistics.histogram_counts
summary = statistics.sample_summary
compare = statistics.compare_samples


def shower_shapes(showers: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The observables :data:`SHOWER_SHAPES` of showers in GeV, computed in MeV.

    Returns:
        ``{name: [N]}``; energies (E_i, E_tot, l_d) in MeV, widths in mm.
    """
    layers = [np.asarray(showers[key], np.float32) * np.float32(MEV_PER_GEV)
              for key in LAYER_KEYS]
    shapes = layered.shower_shapes(layers, extent=EXTENT_MM)
    for i, layer in enumerate(layers):
        shapes[f"lateral_width_y_layer{i}"] = layered.lateral_width(
            np.swapaxes(layer, 1, 2), EXTENT_MM)
    return {name: shapes[name] for name in SHOWER_SHAPES}


def average_images(showers: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Mean image per layer in MeV: ``{layer_key: float64 [rows, columns]}``."""
    return {key: np.asarray(showers[key], np.float64).mean(axis=0) * MEV_PER_GEV
            for key in LAYER_KEYS}


def response_summary(ratio: np.ndarray) -> dict[str, Any]:
    """Mean, std and :data:`RESPONSE_QUANTILES` of E_tot / E (finite entries)."""
    ratio = np.asarray(ratio, np.float64).reshape(-1)
    finite = ratio[np.isfinite(ratio)]
    quantiles = (np.quantile(finite, RESPONSE_QUANTILES) if finite.size
                 else np.full(len(RESPONSE_QUANTILES), np.nan))
    return {**summary(ratio),
            "quantiles": {f"{q:g}": float(v) for q, v in zip(RESPONSE_QUANTILES, quantiles,
                                                              strict=True)}}


def _device() -> str:
    return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"


def runtime_table(generator: keras.Model, batch_sizes: Sequence[int], seed: int = 0,
                  min_seconds: float = RUNTIME_MIN_SECONDS,
                  repeats: int = RUNTIME_REPEATS) -> dict[str, Any]:
    """Milliseconds per generated shower at each batch size, beside the slides' table.

    The generator runs in a ``tf.function`` (``generator(inputs, training=False)``) on inputs
    already on the device, as the slides time the network alone. After a warm-up call (the
    trace) each repeat loops a batch size's call for at least ``min_seconds``; the batch sizes'
    repeats are interleaved (:func:`caloml.benchmarking.time_interleaved`), and the median
    repeat is reported (the fastest too), which a busy machine shifts less than a mean.

    Args:
        generator: the generator (see :func:`generate`).
        batch_sizes: showers per call.
        seed: seed of the latent vectors and energies (U(1, 100) GeV).
        min_seconds: shortest repeat.
        repeats: repeats per batch size.

    Returns:
        ``{"device": "cpu" | "gpu", "rows": [{"batch_size", "ms_per_shower" (median),
        "ms_per_shower_best", "ms_per_shower_all", "calls", "speedup_vs_geant4"}],
        "paper_ms_per_shower": config.PAPER_RUNTIME_MS, "repeats", "min_seconds",
        "machine": machine_info()}``.
    """
    batch_sizes = [int(b) for b in batch_sizes]
    if not batch_sizes or any(b < 1 for b in batch_sizes):
        raise InputError(f"batch_sizes must be positive integers, got {batch_sizes}")
    if repeats < 1 or not min_seconds > 0:
        raise InputError(f"runtime_table needs repeats >= 1 and min_seconds > 0, got "
                         f"{repeats} and {min_seconds}")
    rng = np.random.default_rng(seed)
    latent_dim = _latent_dim(generator)
    fns = {}
    for batch_size in batch_sizes:
        latent = rng.standard_normal((batch_size, latent_dim), dtype=np.float32)
        energy = rng.uniform(*config_lib.TRAINING_ENERGY_GEV, batch_size)
        inputs = {k: tf.constant(v) for k, v in
                  _generator_inputs(generator, latent, energy, 0).items()}
        # One function per batch size: each traces once, in its warm-up call.
        forward = tf.function(lambda x: generator(x, training=False))
        fns[batch_size] = lambda f=forward, x=inputs: f(x)
    timings = benchmarking.time_interleaved(fns, repeats, min_seconds)
    geant4_ms = config_lib.PAPER_RUNTIME_MS.get("geant4_cpu")
    rows = []
    for batch_size, timing in timings.items():
        per_shower = 1e3 * np.asarray(timing["seconds_all"]) / batch_size
        median = float(np.median(per_shower))
        rows.append({
            "batch_size": batch_size,
            "ms_per_shower": median,
            "ms_per_shower_best": float(per_shower.min()),
            "ms_per_shower_all": per_shower.tolist(),
            "calls": int(timing["calls"]),
            "speedup_vs_geant4": geant4_ms / median if geant4_ms else None,
        })
        logging.info("generator batch %d: %.4g ms/shower (median of %d)", batch_size, median,
                     repeats)
    return {"device": _device(), "rows": rows,
            "paper_ms_per_shower": config_lib.PAPER_RUNTIME_MS, "repeats": int(repeats),
            "min_seconds": float(min_seconds), "machine": benchmarking.machine_info()}


def _of_particle(showers: dict[str, np.ndarray], index: int, particles: Sequence[str],
                 what: str) -> dict[str, np.ndarray]:
    """The showers of particle ``index``; all of them when there is no ``particle`` key."""
    missing = [key for key in (*LAYER_KEYS, "energy") if key not in showers]
    if missing:
        raise InputError(f"{what} showers lack {', '.join(missing)}; expected layer_0, "
                         "layer_1, layer_2 (GeV), energy [N, 1] (GeV) and particle [N]")
    if "particle" not in showers:
        if len(particles) > 1:
            raise InputError(f"{what} showers have no 'particle' key, needed to tell "
                             f"{', '.join(particles)} apart")
        selected = showers
    else:
        mask = np.asarray(showers["particle"]).reshape(-1) == index
        selected = showers if mask.all() else {k: np.asarray(v)[mask] for k, v in
                                               showers.items()}
    if len(selected["energy"]) == 0:
        raise InputError(f"{what} showers hold no {particles[index]} (particle index {index})")
    return selected


def _total_energy_gev(showers: dict[str, np.ndarray]) -> np.ndarray:
    return layered.total_energy([showers[key] for key in LAYER_KEYS])


def _shower_shape_assessment(simulated, generated, plots, particle, title):
    shapes_sim, shapes_gan = shower_shapes(simulated), shower_shapes(generated)
    metrics, histograms = {}, {}
    for name in SHOWER_SHAPES:
        metrics[name], histograms[name] = compare(shapes_sim[name], shapes_gan[name])
    powers = [m["separation_power"] for m in metrics.values()]
    finite = [p for p in powers if np.isfinite(p)]
    figures.plot_shower_shapes(histograms, os.path.join(plots, f"shower_shapes_{particle}"),
                               title=title)
    figures.plot_average_images(average_images(simulated), average_images(generated),
                                os.path.join(plots, f"average_images_{particle}"), title=title)
    return {"observables": metrics,
            "mean_separation_power": float(np.mean(finite)) if finite else float("nan")}


def _mode_collapse_assessment(simulated, generated, train, plots, particle, title):
    num = min(MAX_NEIGHBOUR_QUERIES, len(simulated["energy"]))
    reference = shower_vectors(train)
    gan_distance, gan_index = nearest_neighbours(
        shower_vectors({key: generated[key][:num] for key in LAYER_KEYS}), reference)
    test_distance, _ = nearest_neighbours(
        shower_vectors({key: simulated[key][:num] for key in LAYER_KEYS}), reference)
    metrics, _ = compare(test_distance, gan_distance)
    examples = np.arange(min(NUM_NEIGHBOUR_EXAMPLES, num))
    figures.plot_nearest_neighbours(
        {key: generated[key][examples] for key in LAYER_KEYS},
        {key: np.asarray(train[key])[gan_index[examples]] for key in LAYER_KEYS},
        gan_distance[examples], os.path.join(plots, f"nearest_neighbours_{particle}"),
        title=title)
    figures.plot_nn_distances(gan_distance, test_distance,
                              os.path.join(plots, f"nn_distances_{particle}"),
                              separation_power=metrics["separation_power"], title=title)
    gan_median, test_median = float(np.median(gan_distance)), float(np.median(test_distance))
    return {
        "num_generated": int(num),
        "num_test": int(num),
        "num_train": int(len(reference)),
        "median_distance_generated_to_train_gev": gan_median,
        "median_distance_test_to_train_gev": test_median,
        "median_ratio": gan_median / test_median if test_median > 0 else float("nan"),
        "separation_power": metrics["separation_power"],
        "generated_to_train_gev": metrics["gan"],
        "test_to_train_gev": metrics["simulator"],
    }


def _energy_response_assessment(config, generator, index, particle, simulate, plots, title):
    low, high = config.gan.fake_energy_gev
    metrics, ratios = {}, {}
    for energy in config.response_energies_gev:
        key = f"{energy:g}"
        generated = generate(generator, np.full(config.num_response, energy),
                             seeds.derive(config.seed, f"evaluation/{particle}/response/{key}"),
                             particle=index)
        simulated = simulate(particle, float(energy), config.num_response,
                             seeds.derive(config.seed, f"evaluation/{particle}/reference/{key}"),
                             workers=config.workers)
        ratios[float(energy)] = {"simulator": _total_energy_gev(simulated) / energy,
                                 "gan": _total_energy_gev(generated) / energy}
        separation, _ = compare(ratios[float(energy)]["simulator"], ratios[float(energy)]["gan"])
        metrics[key] = {
            "energy_gev": float(energy),
            "inside_training_range": bool(low <= energy <= high),
            "simulator": response_summary(ratios[float(energy)]["simulator"]),
            "gan": response_summary(ratios[float(energy)]["gan"]),
            "separation_power": separation["separation_power"],
        }
        logging.info("%s at %g GeV: E_tot/E %.3f (GAN) vs %.3f (simulator)", particle, energy,
                     metrics[key]["gan"]["mean"], metrics[key]["simulator"]["mean"])
    figures.plot_energy_response(ratios, os.path.join(plots, f"energy_response_{particle}"),
                                 training_range_gev=(low, high), title=title)
    return metrics


def evaluate(config: config_lib.CaloGANExperiment, generator: keras.Model,
             train: dict[str, np.ndarray], test: dict[str, np.ndarray], output_dir: str,
             simulate: Simulator | None = None,
             runtime_min_seconds: float = RUNTIME_MIN_SECONDS,
             runtime_repeats: int = RUNTIME_REPEATS) -> dict[str, Any]:
    """The slides' four assessments; writes ``metrics.json`` and ``plots/`` in ``output_dir``.

    Per particle ``p`` (index ``i`` of ``config.particles``): the test showers of ``p`` against
    showers generated at their energies (shower shapes and average images); the nearest
    training shower of up to :data:`MAX_NEIGHBOUR_QUERIES` generated and as many test showers;
    the energy response at ``config.response_energies_gev``, ``config.num_response`` generated
    and simulated showers each. Then the runtime table at ``config.runtime_batch_sizes``, once.
    Every random draw is seeded by :func:`caloml.training.seeds.derive` from ``config.seed``.

    Args:
        config: the experiment.
        generator: the trained generator (see :func:`generate`).
        train: the training showers (GeV), all particles.
        test: the held-out showers (GeV), all particles.
        output_dir: where ``metrics.json`` and ``plots/`` go (the work directory).
        simulate: ``simulate(particle, energy_gev, num, seed, workers=...)`` -> showers in GeV
            at one energy; default :func:`caloml.data.calogan.simulate_reference`.
        runtime_min_seconds, runtime_repeats: see :func:`runtime_table`.

    Returns:
        The metrics written to ``metrics.json``: ``{"particles": {p: {"shower_shapes",
        "mode_collapse", "energy_response", ...}}, "runtime", "config"}``.
    """
    simulate = simulate or calogan_data.simulate_reference
    plots = os.path.join(output_dir, "plots")
    os.makedirs(plots, exist_ok=True)
    # Every particle's showers are checked before the long work starts.
    selected = [(_of_particle(test, index, config.particles, "test"),
                 _of_particle(train, index, config.particles, "training"))
                for index in range(len(config.particles))]
    per_particle = {}
    for index, (particle, (simulated, train_p)) in enumerate(zip(config.particles, selected,
                                                                  strict=True)):
        label = plotting.particle_label(particle)
        title = f"{label}, simulator vs CaloGAN"
        generated = generate(generator, simulated["energy"][:, 0],
                             seeds.derive(config.seed, f"evaluation/{particle}/generate"),
                             particle=index)
        logging.info("assessing %s: %d test showers, %d training showers", particle,
                     len(simulated["energy"]), len(train_p["energy"]))
        per_particle[particle] = {
            "num_test": int(len(simulated["energy"])),
            "num_train": int(len(train_p["energy"])),
            "shower_shapes": _shower_shape_assessment(simulated, generated, plots, particle,
                                                      title),
            "mode_collapse": _mode_collapse_assessment(simulated, generated, train_p, plots,
                                                       particle, title),
            "energy_response": _energy_response_assessment(config, generator, index, particle,
                                                           simulate, plots, label),
        }
        logging.info("%s: mean separation power of the shower shapes %.3g; median NN distance "
                     "generated %.3g GeV vs test %.3g GeV", particle,
                     per_particle[particle]["shower_shapes"]["mean_separation_power"],
                     per_particle[particle]["mode_collapse"][
                         "median_distance_generated_to_train_gev"],
                     per_particle[particle]["mode_collapse"]["median_distance_test_to_train_gev"])
    runtime = runtime_table(generator, config.runtime_batch_sizes,
                            seed=seeds.derive(config.seed, "evaluation/runtime"),
                            min_seconds=runtime_min_seconds, repeats=runtime_repeats)
    figures.plot_runtime(runtime, os.path.join(plots, "runtime"))
    metrics = {
        "particles": per_particle,
        "units": {"energies": "MeV (shower shapes), GeV (distances, energy response)",
                  "lateral_widths": "mm", "runtime": "ms per shower"},
        "training_energy_range_gev": list(config.gan.fake_energy_gev),
        "runtime": runtime,
        "config": dataclasses.asdict(config),
    }
    path = os.path.join(output_dir, "metrics.json")
    outputs.write_json(path, metrics)
    logging.info("wrote %s and %s", path, plots)
    return metrics
