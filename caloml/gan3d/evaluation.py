"""The paper's "simulator vs GAN" assessment of a trained 3DGAN generator (paper 003 §4.2, App. B).

:func:`evaluate` generates one shower per held-out simulated event, at the event's energy and
measured angle ``mtheta`` (the fixed-angle ``energygan`` at its energy only), and compares the
two samples with the paper's figures and the 3DGAN analysis' figures of merit
(svalleco/3Dgan ``analysis/utils/GANutils.py``, REFERENCES.md §2.2):

- example showers at the ends of the energy and angle ranges, as 2D projections (Figs 7–8);
- the sampling fraction (ECAL sum / E) against E per angle bin, the number of cells above
  :data:`HIT_THRESHOLD` and the x, y, z shower profiles per angle bin (Fig. 9);
- the second moments along x, y, z, the energy fractions of the three longitudinal thirds and
  the profiles in log scale over all events (Fig. 10);
- the relative errors of the mean moments and mean profiles per energy bin (GANutils'
  ``metric``) and the measured angle of the generated showers against the requested one;
- ms per shower at ``config.runtime_batch_sizes`` on this machine, beside the paper's numbers;
- with ``config.reco_workdir``: the reconstruction network of ``train/reco.py`` (loaded from its
  SavedModel, without caloml.reco) on simulated and generated showers (Appendix B, Figs 21–22).

Every 1D distribution gets the separation power ``½ Σ (p − q)² / (p + q)`` of its two
histograms. Cell energies are in the files' units (a 100–200 GeV electron's window sums to
about 0.95 E); positions, moments and profiles are in cells; angles in rad (figures: degrees).

Bins (caloml's choices where the paper gives none): the angle bins are GANutils' 62°, 90° and
118° ± 0.1 rad of the requested (= the simulated event's measured) angle; the energy bins of the
relative errors are all events and the original's 110, 150 and 190 GeV ± 5 GeV, generalised to
10 %, 50 % and 90 % of ``config.energy_gev`` ± 5 % of its width.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from caloml import benchmarking, outputs, seeding
from caloml.data import reco as reco_data
from caloml.data import threedgan
from caloml.errors import DataError, InputError, MissingFileError
from caloml.gan3d import config as config_lib
from caloml.gan3d import figures
from caloml.observables import statistics, voxels

# Paper §4.2: "the number of hits above a 3 × 10⁻⁴ MeV threshold", applied in the files' units.
HIT_THRESHOLD = 3e-4
# GANutils: moments up to order 2 (barycentre, squared width).
MAX_MOMENT_ORDER = 2
# GANutils' angle bins (AngleAnalysis: 62°, 90°, 118°) and half-width (``tolerance2`` 0.1 rad).
THETA_BINS_DEG = (62.0, 90.0, 118.0)
THETA_HALF_WIDTH_RAD = 0.1
# GANutils' energy bins 110, 150, 190 GeV ± 5 GeV of the 100–200 GeV data, as fractions.
ENERGY_BIN_POSITIONS = (0.1, 0.5, 0.9)
ENERGY_HALF_WIDTH_FRACTION = 0.05
# Equal energy bins of the sampling fraction and of the reconstruction's response against E.
NUM_ENERGY_PROFILE_BINS = 10
# TensorFlow's CPU Conv3D holds a whole batch's patch matrix (~0.3 GB per shower): at most 64.
GENERATION_BATCH = 64
RECO_BATCH = 256
RUNTIME_REPEATS = 3
RUNTIME_MIN_SECONDS = 0.5
# The example showers of Figs 7–8: the events nearest these corners of (E, θ) ranges.
EXAMPLE_CORNERS = ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0))
# The 1D distributions compared over all events, in the order of the figures.
OBSERVABLES = ("sampling_fraction", "num_hits", "second_moment_x", "second_moment_y",
               "second_moment_z", "longitudinal_fraction_1", "longitudinal_fraction_2",
               "longitudinal_fraction_3", "measured_theta")
_REQUIRED_KEYS = ("ECAL", "energy", "mtheta")


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


def _input_shapes(generator: keras.Model) -> dict[str, tuple]:
    inputs = generator.input
    if isinstance(inputs, dict):
        return {name: tuple(tensor.shape) for name, tensor in inputs.items()}
    return {tensor.name: tuple(tensor.shape) for tensor in generator.inputs}


def _noise_dim_and_angle(generator: keras.Model) -> tuple[int, bool]:
    shapes = _input_shapes(generator)
    if "latent" not in shapes or "energy" not in shapes:
        raise InputError(f"generator {generator.name!r} has inputs {sorted(shapes)}; expected "
                         "{'energy': [B, 1], 'latent': [B, noise_dim]} (and 'angle': [B, 1])")
    return int(shapes["latent"][-1]), "angle" in shapes


def generator_inputs(generator: keras.Model, energy_gev: np.ndarray, theta_rad: np.ndarray,
                     latent: np.ndarray) -> dict[str, np.ndarray]:
    """The input dict of ``generator`` (``angle`` only when it has that input)."""
    inputs = {"energy": np.asarray(energy_gev, np.float32).reshape(-1, 1),
              "latent": np.asarray(latent, np.float32)}
    if _noise_dim_and_angle(generator)[1]:
        inputs["angle"] = np.asarray(theta_rad, np.float32).reshape(-1, 1)
    return inputs


def generate(generator: keras.Model, energy_gev: np.ndarray, theta_rad: np.ndarray, seed: int,
             batch_size: int = GENERATION_BATCH,
             energy_range_gev: tuple[float, float] | None = None) -> np.ndarray:
    """Generated showers at the requested energies and angles, in the files' units.

    The latent vectors are drawn for all showers at once from ``np.random.default_rng(seed)``,
    so the showers depend on the seed and the requests, not on ``batch_size``. Only the
    ``ecal`` output is kept, batch by batch, so memory holds one float32 copy of the showers.

    Args:
        generator: called as ``generator({"energy": [B, 1] GeV, "angle": [B, 1] rad (when it
            has that input), "latent": [B, noise_dim]})`` and returning at least ``{"ecal":
            [B, X, Y, Z]}``.
        energy_gev: ``[N]`` requested energies.
        theta_rad: ``[N]`` requested polar angles (ignored by a generator without ``angle``).
        seed: seed of the latent vectors.
        batch_size: showers per generator call.
        energy_range_gev: the trained energies; requests outside get a warning (and are made).

    Returns:
        float32 ``[N, X, Y, Z]``.
    """
    energy = np.asarray(energy_gev, np.float64).reshape(-1)
    theta = np.asarray(theta_rad, np.float64).reshape(-1)
    if energy.size == 0 or theta.shape != energy.shape:
        raise InputError(f"generate needs as many angles as energies (at least one), got "
                         f"{theta.shape} and {energy.shape}")
    if not np.all(np.isfinite(energy) & (energy > 0)):
        raise InputError("energy_gev must hold positive energies in GeV")
    if energy_range_gev is not None:
        low, high = energy_range_gev
        outside = int(np.sum((energy < low) | (energy > high)))
        if outside:
            logging.warning("%d requested energies lie outside the trained %g-%g GeV; the "
                            "generator extrapolates there", outside, low, high)
    noise_dim, _ = _noise_dim_and_angle(generator)
    latent = np.random.default_rng(seed).standard_normal((energy.size, noise_dim),
                                                         dtype=np.float32)
    forward = tf.function(lambda x: generator(x, training=False)["ecal"], reduce_retracing=True)
    out = None
    for start in range(0, energy.size, batch_size):
        stop = min(start + batch_size, energy.size)
        ecal = np.asarray(forward(generator_inputs(generator, energy[start:stop],
                                                   theta[start:stop], latent[start:stop])))
        if out is None:
            out = np.empty((energy.size, *ecal.shape[1:]), np.float32)
        out[start:stop] = ecal
    return out


# --------------------------------------------------------------------------------------------
# Histograms and summaries
# --------------------------------------------------------------------------------------------


# The histogram comparison of every observable (caloml.observables.statistics).
histogram_edges = statistics.histogram_edges
histogram_counts = statistics.histogram_counts
summary = statistics.sample_summary
compare = statistics.compare_samples


# --------------------------------------------------------------------------------------------
# Observables and bins
# --------------------------------------------------------------------------------------------


def shower_observables(ecal: np.ndarray, energy_gev: np.ndarray) -> dict[str, Any]:
    """Everything the assessment compares, for showers ``[N, X, Y, Z]`` at energies ``[N]``.

    Returns:
        ``{"projections": (x [N, X], y [N, Y], z [N, Z]), "moments": [N, 3, 2], name: [N]
        for name in OBSERVABLES}``; ``measured_theta`` is NaN where undefined (no energy, or
        all of it in one layer).
    """
    profiles = voxels.projections(ecal)
    moments = voxels.moments_of_projections(profiles, MAX_MOMENT_ORDER)
    total = profiles[2].sum(axis=1)
    thirds = voxels.fractions_of_profile(profiles[2], 3)
    theta = threedgan.measured_theta(ecal)
    out: dict[str, Any] = {
        "projections": profiles,
        "moments": moments,
        "ecal_sum": total,
        "sampling_fraction": total / np.asarray(energy_gev, np.float64),
        "num_hits": voxels.num_hits(ecal, HIT_THRESHOLD),
        "measured_theta": np.where(theta == threedgan.UNDEFINED_THETA, np.nan, theta),
    }
    for axis_index, axis in enumerate(voxels.AXES):
        out[f"second_moment_{axis}"] = moments[:, axis_index, 1]
    for part in range(3):
        out[f"longitudinal_fraction_{part + 1}"] = thirds[:, part]
    return out


def theta_bins(config: config_lib.Gan3DExperiment, theta_rad: np.ndarray
               ) -> dict[str, np.ndarray]:
    """``{label: [N] bool}``: GANutils' angle bins of the requested angles (one for energygan)."""
    theta_rad = np.asarray(theta_rad, np.float64)
    if config.fixed_angle:
        return {"all": np.ones(theta_rad.shape, bool)}
    return {f"{deg:g}deg": np.abs(theta_rad - math.radians(deg)) < THETA_HALF_WIDTH_RAD
            for deg in THETA_BINS_DEG}


def energy_bins(config: config_lib.Gan3DExperiment) -> tuple[tuple[float, ...], float]:
    """(centres, half-width) in GeV of the relative errors' energy bins."""
    low, high = config.energy_gev
    return (tuple(low + f * (high - low) for f in ENERGY_BIN_POSITIONS),
            ENERGY_HALF_WIDTH_FRACTION * (high - low))


def binned_means(x: np.ndarray, values: dict[str, np.ndarray], edges: np.ndarray
                 ) -> dict[str, Any]:
    """Mean and standard deviation of each sample of ``values`` in bins of ``x``.

    Returns:
        ``{"edges", "centres", "num" [K], name: {"mean" [K], "std" [K]}}`` (NaN in empty
        bins).
    """
    x = np.asarray(x, np.float64)
    index = np.digitize(x, edges[1:-1])  # 0 … K − 1; the end bins take what lies beyond
    out: dict[str, Any] = {"edges": np.asarray(edges, np.float64),
                           "centres": 0.5 * (edges[1:] + edges[:-1]),
                           "num": np.bincount(index, minlength=len(edges) - 1)}
    for name, value in values.items():
        value = np.asarray(value, np.float64)
        means, stds = [], []
        for k in range(len(edges) - 1):
            chosen = value[index == k]
            chosen = chosen[np.isfinite(chosen)]
            means.append(chosen.mean() if chosen.size else np.nan)
            stds.append(chosen.std() if chosen.size else np.nan)
        out[name] = {"mean": np.array(means), "std": np.array(stds)}
    return out


def example_indices(energy_gev: np.ndarray, theta_rad: np.ndarray,
                    corners: Sequence[tuple[float, float]] = EXAMPLE_CORNERS) -> list[int]:
    """Events nearest the corners of the (E, θ) ranges, in units of each range (distinct)."""
    energy = np.asarray(energy_gev, np.float64)
    theta = np.asarray(theta_rad, np.float64)

    def unit(v):
        span = v.max() - v.min()
        return (v - v.min()) / span if span > 0 else np.zeros_like(v)

    u, w = unit(energy), unit(np.where(np.isfinite(theta), theta, np.nanmedian(theta)))
    chosen: list[int] = []
    for cu, cw in corners:
        order = np.argsort((u - cu) ** 2 + (w - cw) ** 2, kind="stable")
        for index in order:
            if int(index) not in chosen:
                chosen.append(int(index))
                break
    return chosen


# --------------------------------------------------------------------------------------------
# Runtime
# --------------------------------------------------------------------------------------------


def runtime_table(generator: keras.Model, batch_sizes: Sequence[int],
                  energy_gev: tuple[float, float] = config_lib.GEN_ENERGY_GEV,
                  theta_rad: tuple[float, float] = config_lib.GEN_THETA_RAD, seed: int = 0,
                  min_seconds: float = RUNTIME_MIN_SECONDS,
                  repeats: int = RUNTIME_REPEATS) -> dict[str, Any]:
    """Milliseconds per generated shower at each batch size, beside the paper's numbers.

    The generator runs in a ``tf.function`` (``training=False``) on inputs already on the
    device, as the paper times the network alone; the batch sizes' repeats are interleaved
    (:func:`caloml.benchmarking.time_interleaved`) and the median repeat is reported.

    Returns:
        ``{"device", "rows": [{"batch_size", "ms_per_shower" (median), "ms_per_shower_best",
        "ms_per_shower_all", "calls", "speedup_vs_geant4"}], "paper_ms_per_shower",
        "repeats", "min_seconds", "machine"}``.
    """
    batch_sizes = [int(b) for b in batch_sizes]
    if not batch_sizes or any(b < 1 for b in batch_sizes):
        raise InputError(f"batch_sizes must be positive integers, got {batch_sizes}")
    if repeats < 1 or not min_seconds > 0:
        raise InputError(f"runtime_table needs repeats >= 1 and min_seconds > 0, got "
                         f"{repeats} and {min_seconds}")
    rng = np.random.default_rng(seed)
    noise_dim, _ = _noise_dim_and_angle(generator)
    fns = {}
    for batch_size in batch_sizes:
        inputs = generator_inputs(
            generator, rng.uniform(*energy_gev, batch_size), rng.uniform(*theta_rad, batch_size),
            rng.standard_normal((batch_size, noise_dim), dtype=np.float32))
        inputs = {k: tf.constant(v) for k, v in inputs.items()}
        forward = tf.function(lambda x: generator(x, training=False)["ecal"])
        fns[batch_size] = lambda f=forward, x=inputs: f(x)
    timings = benchmarking.time_interleaved(fns, repeats, min_seconds)
    geant4_ms = config_lib.PAPER_RUNTIME_MS["geant4_xeon_8180"]
    rows = []
    for batch_size, timing in timings.items():
        per_shower = 1e3 * np.asarray(timing["seconds_all"]) / batch_size
        median = float(np.median(per_shower))
        rows.append({"batch_size": batch_size, "ms_per_shower": median,
                     "ms_per_shower_best": float(per_shower.min()),
                     "ms_per_shower_all": per_shower.tolist(), "calls": int(timing["calls"]),
                     "speedup_vs_geant4": geant4_ms / median})
        logging.info("generator batch %d: %.4g ms/shower (median of %d)", batch_size, median,
                     repeats)
    return {"device": benchmarking.device_kind(), "rows": rows,
            "paper_ms_per_shower": dict(config_lib.PAPER_RUNTIME_MS), "repeats": int(repeats),
            "min_seconds": float(min_seconds), "machine": benchmarking.machine_info()}


# --------------------------------------------------------------------------------------------
# Appendix B: the reconstruction network on simulated and generated showers
# --------------------------------------------------------------------------------------------


def check_reco_workdir(reco_workdir: str) -> tuple[dict[str, Any], str]:
    """The reconstruction run's config and the path of its exported SavedModel.

    Raises:
        MissingFileError: ``config.json`` or ``<model>_savedmodel/saved_model.pb`` is missing.
        DataError: ``config.json`` is unreadable or names no model.
    """
    config_path = os.path.join(reco_workdir, "config.json")
    if not os.path.isfile(config_path):
        raise MissingFileError(f"{config_path!r} does not exist: reco_workdir must be the "
                               "--workdir of a finished train/reco.py run")
    try:
        values = outputs.read_json(config_path)
    except (OSError, ValueError) as error:
        raise DataError(f"{config_path!r} is not a readable JSON file ({error})") from error
    model = values.get("model") if isinstance(values, dict) else None
    if not isinstance(model, str) or not model:
        raise DataError(f"{config_path!r} names no reconstruction model ('model'); is it a "
                        "train/reco.py work directory?")
    savedmodel = os.path.join(reco_workdir, f"{model}_savedmodel")
    if not os.path.isfile(os.path.join(savedmodel, "saved_model.pb")):
        raise MissingFileError(f"{savedmodel!r} is missing or incomplete: the reconstruction "
                               f"run in {reco_workdir!r} has not exported its network; rerun "
                               "train/reco.py with the same flags to finish it")
    return values, savedmodel


def load_reco(reco_workdir: str) -> tuple[Any, dict[str, tuple], dict[str, Any]]:
    """``(loaded SavedModel, {input name: shape}, reco config)`` (no caloml.reco needed)."""
    values, savedmodel = check_reco_workdir(reco_workdir)
    loaded = tf.saved_model.load(savedmodel)
    serve = getattr(loaded, "serve", None)
    signature = getattr(serve, "input_signature", None)
    if not signature or not isinstance(signature[0], dict):
        raise DataError(f"{savedmodel!r} has no 'serve' endpoint taking a dict of inputs "
                        "(caloml.training.export writes one)")
    shapes = {name: tuple(spec.shape) for name, spec in signature[0].items()}
    unknown = set(shapes) - set(reco_data.INPUT_NAMES)
    if unknown:
        raise DataError(f"{savedmodel!r} takes inputs {sorted(shapes)}; expected some of "
                        f"{list(reco_data.INPUT_NAMES)}")
    return loaded, shapes, values


def reco_predict(loaded: Any, input_shapes: dict[str, tuple], ecal: np.ndarray,
                 hcal: np.ndarray, reco_eta: np.ndarray, reco_phi: np.ndarray,
                 batch_size: int = RECO_BATCH) -> dict[str, np.ndarray]:
    """The reconstruction network's outputs on ECAL windows with their HCAL and directions.

    The inputs are made by :func:`caloml.data.reco.network_arrays` (the ECAL cropped to
    25 × 25 × 25 around its barycentre, the central HCAL cells, ``[10 recoPhi, 10 recoEta,
    ECAL sum / 100, HCAL sum / 100]``), ``batch_size`` events at a time.

    Returns:
        ``{"energy_gev": [N], "logits": [N, 2]}``.
    """
    hcal_window = int(input_shapes["hcal"][1]) if "hcal" in input_shapes else \
        reco_data.HCAL_WINDOW
    energy, logits = [], []
    for start in range(0, len(ecal), batch_size):
        part = slice(start, start + batch_size)
        eta, phi = np.asarray(reco_eta[part], np.float64), np.asarray(reco_phi[part], np.float64)
        block = {"ECAL": ecal[part], "HCAL": hcal[part], "recoEta": eta, "recoPhi": phi,
                 "eta": eta, "phi": phi, "energy": np.ones(len(eta)),
                 "label": np.zeros(len(eta), np.int8)}
        arrays = reco_data.network_arrays(block, hcal_window)
        out = loaded.serve({name: tf.constant(arrays[name]) for name in input_shapes})
        energy.append(np.asarray(out["energy"], np.float64)[:, 0] * reco_data.ENERGY_SCALE_GEV)
        logits.append(np.asarray(out["logits"], np.float64))
    return {"energy_gev": np.concatenate(energy), "logits": np.concatenate(logits)}


def electron_probability(logits: np.ndarray, electron_class: int = 0) -> np.ndarray:
    """Softmax probability ``[N]`` of the electron class from ``[N, 2]`` logits."""
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    weights = np.exp(shifted)
    return weights[:, electron_class] / weights.sum(axis=1)


def response_profile(true_gev: np.ndarray, predicted_gev: np.ndarray, edges: np.ndarray
                     ) -> dict[str, Any]:
    """Per bin of true energy: mean true and predicted energy, response and resolution.

    Returns:
        ``{"edges", "centres", "num", "mean_true_gev", "mean_predicted_gev", "response"
        (mean E_pred / E_true), "resolution" (std / mean of E_pred / E_true)}`` ([K] each).
    """
    true_gev = np.asarray(true_gev, np.float64)
    ratio = np.asarray(predicted_gev, np.float64) / true_gev
    means = binned_means(true_gev, {"true": true_gev, "predicted": predicted_gev,
                                    "ratio": ratio}, edges)
    with np.errstate(invalid="ignore", divide="ignore"):
        resolution = means["ratio"]["std"] / means["ratio"]["mean"]
    return {"edges": means["edges"], "centres": means["centres"], "num": means["num"],
            "mean_true_gev": means["true"]["mean"],
            "mean_predicted_gev": means["predicted"]["mean"],
            "response": means["ratio"]["mean"], "resolution": resolution}


def _reco_assessment(config, test, generated, plots) -> dict[str, Any]:
    loaded, shapes, reco_config = load_reco(config.reco_workdir)
    n = len(generated)
    notes = {"ecal_gan": "generated ECAL; the GAN makes the ECAL only, so each generated "
                         "shower gets the HCAL and recoEta/recoPhi of its paired simulated "
                         "event"}
    if "HCAL" in test:
        hcal = np.asarray(test["HCAL"])
        notes["hcal"] = "the simulated events' HCAL"
    else:
        window = int(shapes["hcal"][1]) if "hcal" in shapes else reco_data.HCAL_WINDOW
        hcal = np.zeros((n, window, window, reco_data.HCAL_LAYERS), np.float32)
        notes["hcal"] = "zeros: the test events carry no HCAL (3DGAN-layout --data files)"
    if "recoEta" in test and "recoPhi" in test:
        reco_eta, reco_phi = np.asarray(test["recoEta"]), np.asarray(test["recoPhi"])
        notes["reco_direction"] = "the simulated events' recoEta and recoPhi"
    else:
        theta = np.asarray(test["mtheta"], np.float64)
        reco_eta = -np.log(np.tan(0.5 * theta))
        reco_phi = np.zeros(n)
        notes["reco_direction"] = ("recoEta = -ln tan(mtheta / 2) and recoPhi = 0: the test "
                                   "events carry no recoEta/recoPhi")
    predictions = {
        "simulator": reco_predict(loaded, shapes, np.asarray(test["ECAL"]), hcal, reco_eta,
                                  reco_phi),
        "gan": reco_predict(loaded, shapes, generated, hcal, reco_eta, reco_phi),
    }
    true_gev = np.asarray(test["energy"], np.float64)
    low, high = config.energy_gev
    edges = np.linspace(low, high, NUM_ENERGY_PROFILE_BINS + 1)
    profiles = {name: response_profile(true_gev, p["energy_gev"], edges)
                for name, p in predictions.items()}
    ratios = {name: p["energy_gev"] / true_gev for name, p in predictions.items()}
    energy_metrics, _ = compare(ratios["simulator"], ratios["gan"])
    task = reco_config.get("task")
    metrics: dict[str, Any] = {
        "reco_workdir": config.reco_workdir, "model": reco_config.get("model"), "task": task,
        "inputs": sorted(shapes), "notes": notes, "num_events": int(n),
        "energy": {"predicted_over_true": energy_metrics, "profiles": profiles},
    }
    probabilities = None
    if task == "e_pi":
        electron = reco_data.TASKS["e_pi"].index("electron")
        probabilities = {name: electron_probability(p["logits"], electron)
                         for name, p in predictions.items()}
        classification, _ = compare(probabilities["simulator"], probabilities["gan"])
        for name, prob in probabilities.items():
            classification[name]["accuracy"] = float(np.mean(prob > 0.5))
        metrics["classification"] = classification
    else:
        metrics["classification"] = None
        metrics["notes"]["classification"] = (f"the network of task {task!r} does not separate "
                                              "electrons from charged pions (task e_pi does)")
    figures.plot_reco_energy(profiles, os.path.join(plots, "reco_energy"))
    if probabilities is not None:
        figures.plot_reco_classification(probabilities, os.path.join(plots, "reco_electron_id"))
    return metrics


# --------------------------------------------------------------------------------------------
# The assessment
# --------------------------------------------------------------------------------------------


def _checked_test(config: config_lib.Gan3DExperiment, test: dict[str, np.ndarray]
                  ) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    missing = [key for key in _REQUIRED_KEYS if key not in test]
    if missing:
        raise InputError(f"the test events lack {', '.join(missing)}; expected the arrays of "
                         "caloml.data.threedgan.read_events (ECAL, energy, mtheta, ...)")
    ecal = np.asarray(test["ECAL"])
    if ecal.ndim != 4 or ecal.shape[1:] != tuple(config.window):
        raise InputError(f"test ECAL has shape {ecal.shape}; the {config.generator.architecture}"
                         f" generator makes [N, {', '.join(map(str, config.window))}]")
    n = min(len(ecal), config.num_eval)
    test = {key: np.asarray(value)[:n] for key, value in test.items()}
    theta = np.asarray(test["mtheta"], np.float64)
    defined = np.isfinite(theta) & (theta > 0) & (theta < math.pi)
    total = voxels.total_energy(test["ECAL"])
    enough = total > config.gan.min_ecal_sum
    keep = enough & (defined | config.fixed_angle)
    dropped = {"num_undefined_mtheta": int(np.sum(~defined & enough)),
               "num_at_or_below_min_ecal_sum": int(np.sum(~enough))}
    if not keep.any():
        raise InputError(f"none of the {n} test events has a defined mtheta and an ECAL sum "
                         f"above {config.gan.min_ecal_sum:g}")
    if not keep.all():
        test = {key: value[keep] for key, value in test.items()}
    return test, dropped


def _distribution_assessment(simulated, generated, masks, plots, title):
    observables, histograms = {}, {}
    for name in OBSERVABLES:
        observables[name], histograms[name] = compare(simulated[name], generated[name])
    per_bin, hits, profiles = {}, {}, {}
    for label, mask in masks.items():
        entry = {"num": int(mask.sum())}
        for name in ("sampling_fraction", "num_hits"):
            entry[name], histogram = compare(simulated[name][mask], generated[name][mask])
            if name == "num_hits":
                hits[label] = histogram
        per_bin[label] = entry
        if mask.any():
            profiles[label] = {axis: {"simulator": simulated["projections"][i][mask].mean(0),
                                      "gan": generated["projections"][i][mask].mean(0)}
                               for i, axis in enumerate(voxels.AXES)}
        else:
            profiles[label] = None
    all_profiles = {"all": {axis: {"simulator": simulated["projections"][i].mean(0),
                                   "gan": generated["projections"][i].mean(0)}
                            for i, axis in enumerate(voxels.AXES)}}
    figures.plot_hits(hits, os.path.join(plots, "hits"), threshold=HIT_THRESHOLD, title=title)
    figures.plot_profiles(profiles, os.path.join(plots, "profiles"), title=title)
    figures.plot_profiles(all_profiles, os.path.join(plots, "profiles_log"), log=True,
                          title=title)
    figures.plot_second_moments({name: histograms[name] for name in OBSERVABLES
                                 if name.startswith("second_moment")},
                                os.path.join(plots, "second_moments"), title=title)
    figures.plot_longitudinal_fractions({name: histograms[name] for name in OBSERVABLES
                                         if name.startswith("longitudinal")},
                                        os.path.join(plots, "longitudinal_fractions"),
                                        title=title)
    return observables, per_bin, all_profiles


def evaluate(config: config_lib.Gan3DExperiment, generator: keras.Model,
             test: dict[str, np.ndarray], workdir: str,
             runtime_min_seconds: float = RUNTIME_MIN_SECONDS,
             runtime_repeats: int = RUNTIME_REPEATS) -> dict[str, Any]:
    """Simulator vs GAN (paper 003 §4.2, Figs 7–10; Appendix B with ``config.reco_workdir``).

    Uses the first ``config.num_eval`` test events with a defined ``mtheta`` (any, for the
    fixed-angle ``energygan``) and an ECAL sum above ``config.gan.min_ecal_sum`` (the training
    cut), and one generated shower per event at its ``energy`` and ``mtheta``, the latent
    vectors seeded by ``caloml.seeding.derive(config.seed, "evaluation/generate")``. Writes
    ``metrics.json`` and ``plots/`` (PNG + PDF) in ``workdir``.

    Args:
        config: the experiment.
        generator: the trained generator (see :func:`generate`).
        test: :func:`caloml.data.threedgan.read_events`' arrays: ``ECAL`` [N, X, Y, Z] (files'
            units), ``energy`` [N] GeV, ``mtheta`` [N] rad, optionally ``theta``, ``sum`` and,
            for Appendix B, ``HCAL`` [N, 11, 11, 60], ``recoEta``, ``recoPhi`` [N].
        workdir: where ``metrics.json`` and ``plots/`` go.
        runtime_min_seconds, runtime_repeats: see :func:`runtime_table`.

    Returns:
        The metrics written to ``metrics.json`` (keys in the README and the module docstring).
    """
    test, dropped = _checked_test(config, test)
    plots = os.path.join(workdir, "plots")
    os.makedirs(plots, exist_ok=True)
    energy = np.asarray(test["energy"], np.float64)
    requested = np.asarray(test["mtheta"], np.float64)
    _, uses_angle = _noise_dim_and_angle(generator)
    if uses_angle == config.fixed_angle:
        raise InputError(f"the {config.generator.architecture} config "
                         f"{'has no' if config.fixed_angle else 'needs an'} angle input, but "
                         f"the generator {'has' if uses_angle else 'has no'} 'angle' input")
    logging.info("generating %d showers for the assessment", len(energy))
    generated = generate(generator, energy, requested,
                         seeding.derive(config.seed, "evaluation/generate"),
                         energy_range_gev=config.energy_gev)
    simulated_obs = shower_observables(test["ECAL"], energy)
    generated_obs = shower_observables(generated, energy)
    label = "3DGAN" if not config.fixed_angle else "3DGAN (fixed angle)"
    low, high = config.energy_gev
    title = f"{low:g}–{high:g} GeV"
    if not config.fixed_angle:
        title += (f", {math.degrees(config.theta_rad[0]):.0f}°–"
                  f"{math.degrees(config.theta_rad[1]):.0f}°")
    masks = theta_bins(config, requested)

    examples = example_indices(energy, requested)
    figures.plot_example_showers(
        test["ECAL"][examples], generated[examples],
        [f"{energy[i]:.0f} GeV, {math.degrees(requested[i]):.0f}°" for i in examples],
        os.path.join(plots, "example_showers"))
    edges = np.linspace(low, high, NUM_ENERGY_PROFILE_BINS + 1)
    sampling = {name: binned_means(energy[mask], {
        "simulator": simulated_obs["sampling_fraction"][mask],
        "gan": generated_obs["sampling_fraction"][mask]}, edges)
        for name, mask in masks.items()}
    figures.plot_sampling_fraction(sampling, os.path.join(plots, "sampling_fraction"),
                                   title=title)
    observables, per_bin, mean_profiles = _distribution_assessment(
        simulated_obs, generated_obs, masks, plots, title)

    centres, half_width = energy_bins(config)
    energy_masks = voxels.energy_bin_masks(energy, centres, half_width)
    relative = voxels.binned_relative_errors(
        simulated_obs["moments"], generated_obs["moments"], simulated_obs["projections"],
        generated_obs["projections"], energy_masks, energy_masks)
    figures.plot_relative_errors(relative, os.path.join(plots, "relative_errors"),
                                 title=title)

    measured = generated_obs["measured_theta"]
    residual = measured - requested
    defined = np.isfinite(residual)
    angle = {
        "gan_minus_requested_rad": summary(residual),
        "mean_abs_error_rad": float(np.mean(np.abs(residual[defined]))) if defined.any()
        else float("nan"),
        # GANutils' angle figure of merit: mean |(requested − measured) / requested|.
        "relative_error": float(np.mean(np.abs(residual[defined] / requested[defined])))
        if defined.any() else float("nan"),
        "num_undefined_gan": int(np.sum(~defined)),
        "per_theta_bin": {name: {"requested": summary(requested[mask]),
                                 "gan": summary(measured[mask])}
                          for name, mask in masks.items()},
    }
    if "theta" in test:
        angle["simulator_mtheta_minus_theta_rad"] = summary(
            requested - np.asarray(test["theta"], np.float64))
    figures.plot_measured_angle(requested, measured, os.path.join(plots, "measured_angle"),
                                title=title)

    runtime = runtime_table(generator, config.runtime_batch_sizes, config.energy_gev,
                            config.theta_rad, seed=seeding.derive(config.seed,
                                                                  "evaluation/runtime"),
                            min_seconds=runtime_min_seconds, repeats=runtime_repeats)
    figures.plot_runtime(runtime, os.path.join(plots, "runtime"))
    reco = (_reco_assessment(config, test, generated, plots)
            if config.reco_workdir is not None else None)

    metrics = {
        "generator": label,
        "num_events": int(len(energy)),
        "dropped": dropped,
        "hit_threshold": HIT_THRESHOLD,
        "theta_bins": list(masks),
        "theta_half_width_rad": THETA_HALF_WIDTH_RAD,
        "energy_bins_gev": {"centres": list(centres), "half_width": half_width},
        "longitudinal_parts": voxels.longitudinal_parts(config.window[2], 3),
        "observables": observables,
        "per_theta_bin": per_bin,
        "sampling_fraction_vs_energy": sampling,
        "mean_profiles": mean_profiles,
        "relative_errors": relative,
        "measured_angle": angle,
        "runtime": runtime,
        "reco": reco,
        "units": {"cells": "the files' units", "positions_and_moments": "cells",
                  "angles": "rad", "runtime": "ms per shower"},
        "config": dataclasses.asdict(config),
    }
    path = os.path.join(workdir, "metrics.json")
    outputs.write_json(path, metrics)
    logging.info("wrote %s and %s", path, plots)
    return metrics
