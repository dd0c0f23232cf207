"""The assessment of a trained jet super-resolution generator (paper 001 §3, Figs 4–11).

A generator up-samples low-resolution (LR) jet images by a factor f to super-resolved (SR)
images; the truth is the high-resolution (HR) image the LR image was made from. For one
pairing of the process the network was trained on with the process it is applied to
(:func:`assess`; "QCD on QCD" Fig. 4, "top on top" Fig. 5, "QCD on top" Fig. 8, "top on QCD"
Fig. 9) the assessment compares

- the average HR and SR images, and the average LR and LR_gen images, where
  ``LR_gen = sum_pool(SR, f)`` is the SR image pooled back to the LR grid;
- the pT spectra of the 1st … 15th leading constituents (pixels), HR vs SR and LR vs LR_gen,
  on a √pT axis as the paper draws them, with the 1-D Wasserstein distance HR–SR per
  constituent (Fig. 11's measure);
- the average unit-sum (f × f) patches of HR and SR;
- the jet observables of Eq. 9 (m_jet, w_pf, C_0.2, τ1…3, τ21, τ32, active pixels, pT) of all
  four samples, by the separation power of their histograms
  (:func:`caloml.observables.statistics.compare_samples`);
- per jet, the relative differences (HR − LR)/HR and (HR − SR)/HR (Eq. 10) and the fraction of
  jets for which SR is closer to the HR truth than LR (Fig. 7; the paper's 54 % for τ2, 61 % for
  τ3 and 74 % for C_0.2, quoted for top jets, are kept under ``"paper"``);
- the LR consistency ``Σ |LR_gen − LR| / Σ LR`` (the L_LR loss of Eq. 4 as a fraction), beside
  the same for ``sum_pool(HR)``, which is not 0 either since the LR jets are re-clustered from
  the pooled constituents (paper §2).

:func:`factor_scan` compares HR with the images down-scaled by 2, 4 and 8 (Fig. 6),
:func:`rrdb_scan` collects Wasserstein distances of networks with different numbers of RRDBs
(Fig. 11), and :func:`evaluate` runs the pairings and the factor scan and draws every figure.

Images are numpy ``[N, H, W]`` arrays of pixel pT in GeV (axis 1 η, axis 2 φ); a pixel above
the threshold is a massless constituent at the pixel centre (:mod:`caloml.jets.observables`).
A threshold ``threshold_gev`` is applied to every image set alike: pixels at or below it are
set to 0 before anything is computed (:func:`sr_threshold` gives the natural choice).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from caloml.errors import InputError
from caloml.jet_sr import config as config_lib
from caloml.jet_sr import figures
from caloml.jets import observables as jet_obs
from caloml.observables import statistics

PROCESSES = ("qcd", "top")
PROCESS_LABELS = {"qcd": "QCD", "top": "top"}
# The down-scaling factors of the paper's samples (§2: "factors of 2, 4, and 8").
FACTORS = config_lib.FACTORS
# Paper Fig. 4: the 1st … 15th leading constituents; Fig. 11 measures the same 15.
NUM_LEADING = 15
# Paper Fig. 7 and §3.3 (top jets, network trained on top jets): fraction of jets with SR
# closer to the HR truth than LR.
PAPER_CLOSER_FRACTION = {"tau2": 0.54, "tau3": 0.61, "c02": 0.74}
PAPER = {"closer_fraction": PAPER_CLOSER_FRACTION,
         "closer_fraction_sample": "top jets, network trained on top jets (paper Fig. 7)"}
# Observables compared as distributions (Figs 4–6, 8–9) and per jet (Eq. 10, Fig. 7). pT is
# left out of the per-jet comparison: sum pooling keeps it, so HR − LR is 0 up to re-clustering.
COMPARED_OBSERVABLES = ("pt", "mass", "girth", "c02", "tau1", "tau2", "tau3", "tau21", "tau32",
                        "num_constituents")
PER_JET_OBSERVABLES = ("mass", "girth", "c02", "tau1", "tau2", "tau3", "tau21", "tau32")
SR_BATCH = 64


# --------------------------------------------------------------------------------------------
# Super-resolution
# --------------------------------------------------------------------------------------------


def _sr_output(outputs: Any) -> Any:
    if isinstance(outputs, Mapping):
        if "sr" not in outputs:
            raise InputError(f"the generator returns outputs {sorted(outputs)}; expected 'sr' "
                             "(a JetSRGenerator returns {'sr_power', 'sr'})")
        return outputs["sr"]
    return outputs


def super_resolve(
    generator: keras.Model | keras.layers.Layer,
    lr_images: np.ndarray,
    batch_size: int = SR_BATCH,
    threshold_gev: float = 0.0,
) -> np.ndarray:
    """SR images of LR images, with pixels at or below ``threshold_gev`` set to 0.

    The generator runs in inference mode (``training=False``), ``batch_size`` jets at a time.
    Zeroing small outputs is the evaluation-time ``hardshrink(relu(x), threshold)`` of the
    original code (REFERENCES.md §5): the network leaves many tiny positive pixels that a
    detector would never record and that would count as constituents.

    Args:
        generator: a Keras model or layer (e.g. a :class:`caloml.jet_sr.networks.
            JetSRGenerator`, or a ``keras.layers.TFSMLayer`` of its SavedModel) taking
            ``[B, h, w, 1]`` LR pT in GeV and returning ``{"sr": [B, H, W, 1], ...}`` or the SR
            tensor itself.
        lr_images: ``[N, h, w]`` LR pT per pixel in GeV.
        batch_size: jets per generator call.
        threshold_gev: pixels ``<= threshold_gev`` (and negative ones) become 0.

    Returns:
        float32 ``[N, H, W]`` SR pT per pixel in GeV (NaN outputs are kept as NaN).
    """
    lr = np.asarray(lr_images, np.float32)
    if lr.ndim != 3 or len(lr) == 0:
        raise InputError(f"lr_images must be [N, h, w] LR jet images with N >= 1, got shape "
                         f"{lr.shape}")
    if int(batch_size) < 1:
        raise InputError(f"batch_size must be positive, got {batch_size}")
    if not (np.isfinite(threshold_gev) and threshold_gev >= 0):
        raise InputError(f"threshold_gev must be a finite pT >= 0 in GeV, got {threshold_gev}")
    forward = tf.function(lambda x: generator(x, training=False), reduce_retracing=True)
    out = None
    for start in range(0, len(lr), int(batch_size)):
        batch = tf.constant(lr[start:start + int(batch_size), :, :, None])
        sr = np.asarray(_sr_output(forward(batch)), np.float32)
        if sr.ndim == 4 and sr.shape[-1] == 1:
            sr = sr[..., 0]
        if sr.ndim != 3 or len(sr) != len(batch):
            raise InputError(f"the generator's SR output has shape {sr.shape} for {len(batch)} "
                             "jets; expected [B, H, W, 1] or [B, H, W]")
        if out is None:
            out = np.empty((len(lr), *sr.shape[1:]), np.float32)
        out[start:start + len(sr)] = sr
    # NaN outputs stay NaN: their jets' observables become NaN (counted as undefined), so a
    # diverged network cannot pass for a working one.
    np.putmask(out, out <= threshold_gev, 0.0)
    return out


def sr_threshold(hr_images: np.ndarray) -> float:
    """The smallest non-zero HR pixel pT, a natural detector threshold for SR images.

    The HR images hold detector-level constituents, none softer than what the detector
    records; the SR network, however, leaves a floor of tiny positive pixels. Applying the
    smallest pixel pT of the *training* HR sample as a threshold to the SR images (and to all
    samples compared, :func:`assess`) removes that floor without touching any pixel that a
    real HR image could hold (an SR pixel exactly at the threshold is dropped too).

    Args:
        hr_images: ``[N, H, W]`` HR pT per pixel in GeV (the training sample).

    Returns:
        The threshold in GeV.
    """
    hr = np.asarray(hr_images)
    positive = hr[hr > 0]
    if positive.size == 0:
        raise InputError(f"sr_threshold needs HR images with a pixel above 0 GeV, got "
                         f"{hr.shape} images without one")
    return float(positive.min())


# --------------------------------------------------------------------------------------------
# One pairing: HR, LR, SR and LR_gen
# --------------------------------------------------------------------------------------------


def _above(images: np.ndarray, threshold_gev: float) -> np.ndarray:
    """``images`` with pixels <= threshold set to 0 (no copy when none is non-zero there)."""
    images = np.asarray(images, np.float32)
    below = (images <= threshold_gev) & (images != 0)
    if not below.any():
        return images
    return np.where(below, np.float32(0.0), images)


def distribution_summary(values: np.ndarray) -> dict[str, Any]:
    """``{"mean", "std", "median", "num", "num_undefined"}`` of the finite entries (NaN if none).
    """
    values = np.asarray(values, np.float64).reshape(-1)
    finite = values[np.isfinite(values)]
    nan = float("nan")
    return {"mean": float(finite.mean()) if finite.size else nan,
            "std": float(finite.std()) if finite.size else nan,
            "median": float(np.median(finite)) if finite.size else nan,
            "num": int(finite.size), "num_undefined": int(values.size - finite.size)}


def _check_pair(hr: np.ndarray, lr: np.ndarray, factor: int, what: str) -> None:
    if hr.ndim != 3 or len(hr) == 0:
        raise InputError(f"HR images must be [N, H, W] with N >= 1, got {hr.shape}")
    expected = (len(hr), hr.shape[1] // factor, hr.shape[2] // factor)
    if hr.shape[1] % factor or hr.shape[2] % factor or lr.shape != expected:
        raise InputError(f"{what} images have shape {lr.shape}; HR images {hr.shape} down-scaled "
                         f"by {factor} need {expected}")


def assess(
    hr: np.ndarray,
    lr: np.ndarray,
    sr: np.ndarray,
    factor: int,
    pixel_size: float,
    threshold_gev: float = 0.0,
    num_leading: int = NUM_LEADING,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Compares HR, LR, SR and LR_gen = sum_pool(SR, f) of one test set (Figs 4, 5, 7–9).

    Args:
        hr: ``[N, H, W]`` HR truth, pT per pixel in GeV.
        lr: ``[N, H/f, W/f]`` the measured LR images of the same jets.
        sr: ``[N, H, W]`` the generator's SR images of ``lr`` (:func:`super_resolve`).
        factor: the down-scaling factor f.
        pixel_size: HR pixel size in rad (LR pixels are ``f · pixel_size``).
        threshold_gev: pixels at or below it are set to 0 in all four samples.
        num_leading: leading constituents compared (the paper's 15).

    A jet whose SR image holds a NaN pixel (a diverged network) gets NaN observables, counted as
    undefined by the comparisons, and is left out of the average images.

    Returns:
        ``(metrics, arrays)``. ``metrics`` (strict JSON through :func:`caloml.outputs.to_json`):
        ``num_jets``, ``factor``, ``pixel_size_rad``, ``threshold_gev``; ``observables``
        ``{name: {"hr_vs_sr", "hr_vs_lr", "lr_vs_lr_gen": compare_samples metrics}}``;
        ``relative_difference`` ``{name: {"hr_lr", "hr_sr": distribution_summary}}`` (Eq. 10);
        ``closer_fraction`` ``{name: p}``; ``leading_constituents`` (``"hr_vs_sr"`` and
        ``"lr_vs_lr_gen"``: per k, compare_samples of √pT; ``"wasserstein_hr_sr_gev"`` [n];
        ``"fraction_without"``: per sample [n], the fraction of jets with fewer than k
        constituents); ``patches`` (``"l1"`` Σ|SR − HR| of the unit-sum patches,
        ``"max_relative_difference"``); ``average_image_l1`` (Σ|⟨SR⟩ − ⟨HR⟩| / Σ⟨HR⟩);
        ``lr_consistency`` (``"sr"``: Σ|LR_gen − LR| / Σ LR, ``"hr"``: the same for
        sum_pool(HR)); ``num_non_finite_sr_pixels``; ``paper`` (:data:`PAPER`).
        ``arrays`` (for the figures): ``observables`` ``{"hr", "lr", "sr", "lr_gen": {name:
        [N]}}``, ``leading`` ``{sample: [N, n]}`` GeV, ``average_images`` ``{sample: [H, W] or
        [h, w]}``, ``patches`` ``{"hr", "sr": [f, f]}``, ``relative_differences`` ``{name:
        {"hr_lr", "hr_sr": [N]}}``.
    """
    factor = int(factor)
    hr = np.asarray(hr, np.float32)
    lr = np.asarray(lr, np.float32)
    sr = np.asarray(sr, np.float32)
    _check_pair(hr, lr, factor, "LR")
    if sr.shape != hr.shape:
        raise InputError(f"SR images have shape {sr.shape}; expected the HR shape {hr.shape}")
    if not (pixel_size > 0 and np.isfinite(pixel_size)):
        raise InputError(f"pixel_size must be a positive size in rad, got {pixel_size}")
    if not (np.isfinite(threshold_gev) and threshold_gev >= 0):
        raise InputError(f"threshold_gev must be a finite pT >= 0 in GeV, got {threshold_gev}")
    non_finite = int(np.sum(~np.isfinite(sr)))
    if non_finite:
        logging.warning("%d SR pixels are NaN or infinite: their jets' observables are NaN",
                        non_finite)
    images = {"hr": _above(hr, threshold_gev), "lr": _above(lr, threshold_gev),
              "sr": _above(sr, threshold_gev)}
    images["lr_gen"] = jet_obs.sum_pool(images["sr"], factor)
    sizes = {"hr": pixel_size, "sr": pixel_size, "lr": factor * pixel_size,
             "lr_gen": factor * pixel_size}
    observables = {key: jet_obs.jet_observables(images[key], sizes[key], threshold_gev)
                   for key in ("hr", "lr", "sr", "lr_gen")}

    distributions = {}
    for name in COMPARED_OBSERVABLES:
        distributions[name] = {
            f"{a}_vs_{b}": statistics.compare_samples(observables[a][name],
                                                      observables[b][name], names=(a, b))[0]
            for a, b in (("hr", "sr"), ("hr", "lr"), ("lr", "lr_gen"))}
    relative_arrays, relative, closer = {}, {}, {}
    for name in PER_JET_OBSERVABLES:
        relative_arrays[name] = {
            "hr_lr": jet_obs.relative_difference(observables["hr"][name], observables["lr"][name]),
            "hr_sr": jet_obs.relative_difference(observables["hr"][name], observables["sr"][name])}
        relative[name] = {key: distribution_summary(values)
                          for key, values in relative_arrays[name].items()}
        closer[name] = float(jet_obs.closer_fraction(observables["hr"][name],
                                                     observables["lr"][name],
                                                     observables["sr"][name]))

    leading = {key: jet_obs.leading_constituents(images[key], num_leading) for key in images}
    leading_metrics = {
        "k": list(range(1, num_leading + 1)),
        "axis": "sqrt(pT / GeV); jets with fewer than k constituents count as 0",
        **{f"{a}_vs_{b}": [statistics.compare_samples(np.sqrt(leading[a][:, k]),
                                                      np.sqrt(leading[b][:, k]),
                                                      names=(a, b))[0]
                           for k in range(num_leading)]
           for a, b in (("hr", "sr"), ("lr", "lr_gen"))},
        "wasserstein_hr_sr_gev": np.asarray(
            jet_obs.wasserstein_leading(images["hr"], images["sr"], num_leading), np.float64),
        "fraction_without": {key: np.mean(values <= 0, axis=0) for key, values in
                             leading.items()},
    }

    patches = {key: np.asarray(jet_obs.average_patch(images[key], factor), np.float64)
               for key in ("hr", "sr")}
    with np.errstate(divide="ignore", invalid="ignore"):
        patch_relative = np.abs(patches["sr"] - patches["hr"]) / patches["hr"]
    patch_relative = patch_relative[np.isfinite(patch_relative)]
    # Jets with a NaN or infinite SR pixel are left out of the averages (and counted above).
    finite_jets = np.isfinite(images["sr"]).all(axis=(1, 2))
    average_images = {key: values[finite_jets].mean(axis=0, dtype=np.float64)
                      if finite_jets.any() else np.full(values.shape[1:], np.nan)
                      for key, values in images.items()}
    lr_sum = float(images["lr"].sum(dtype=np.float64))
    pooled_hr = jet_obs.sum_pool(images["hr"], factor)

    def consistency(pooled):
        return (float(np.abs(pooled.astype(np.float64) - images["lr"]).sum()) / lr_sum
                if lr_sum > 0 else float("nan"))

    hr_mean_sum = float(average_images["hr"].sum())
    metrics = {
        "num_jets": len(hr),
        "factor": factor,
        "pixel_size_rad": float(pixel_size),
        "threshold_gev": float(threshold_gev),
        "observables": distributions,
        "relative_difference": relative,
        "closer_fraction": closer,
        "leading_constituents": leading_metrics,
        "patches": {"l1": float(np.abs(patches["sr"] - patches["hr"]).sum()),
                    "max_relative_difference": float(patch_relative.max())
                    if patch_relative.size else float("nan")},
        "average_image_l1": float(np.abs(average_images["sr"] - average_images["hr"]).sum())
        / hr_mean_sum if hr_mean_sum > 0 else float("nan"),
        "lr_consistency": {"sr": consistency(images["lr_gen"]), "hr": consistency(pooled_hr),
                           "definition": "sum |sum_pool(X, f) - LR| / sum LR"},
        "num_non_finite_sr_pixels": non_finite,
        "paper": PAPER,
    }
    arrays = {"observables": observables, "leading": leading, "average_images": average_images,
              "patches": patches, "relative_differences": relative_arrays}
    return metrics, arrays


# --------------------------------------------------------------------------------------------
# Fig. 6 and Fig. 11
# --------------------------------------------------------------------------------------------


def factor_scan(
    hr: np.ndarray,
    lr_by_factor: Mapping[int, np.ndarray],
    pixel_size: float,
    threshold_gev: float = 0.0,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Observables of HR and of the images down-scaled by each factor (Fig. 6).

    Args:
        hr: ``[N, H, W]`` HR pT per pixel in GeV.
        lr_by_factor: ``{f: [N, H/f, W/f]}`` the LR images of the same jets.
        pixel_size: HR pixel size in rad.
        threshold_gev: pixels at or below it are not constituents.

    Returns:
        ``(metrics, arrays)``: metrics ``{"factors", "active_pixels": {sample: summary},
        "observables": {name: {"lr<f>": compare_samples(HR, LR_f) metrics}}}``; arrays
        ``{"observables": {"hr", "lr<f>": {name: [N]}}}``.
    """
    hr = np.asarray(hr, np.float32)
    if not lr_by_factor:
        raise InputError("factor_scan needs LR images of at least one factor")
    if not (pixel_size > 0 and np.isfinite(pixel_size)):
        raise InputError(f"pixel_size must be a positive size in rad, got {pixel_size}")
    observables = {"hr": jet_obs.jet_observables(hr, pixel_size, threshold_gev)}
    factors = sorted(int(f) for f in lr_by_factor)
    for factor in factors:
        lr = np.asarray(lr_by_factor[factor], np.float32)
        _check_pair(hr, lr, factor, f"LR{factor}")
        observables[f"lr{factor}"] = jet_obs.jet_observables(lr, factor * pixel_size,
                                                             threshold_gev)
    metrics = {
        "factors": factors,
        "num_jets": len(hr),
        "active_pixels": {key: statistics.sample_summary(values["num_constituents"])
                          for key, values in observables.items()},
        "observables": {name: {key: statistics.compare_samples(observables["hr"][name],
                                                               values[name],
                                                               names=("hr", key))[0]
                               for key, values in observables.items() if key != "hr"}
                        for name in COMPARED_OBSERVABLES},
    }
    return metrics, {"observables": observables}


def rrdb_scan(points: Sequence[tuple[int, Sequence[float]]]) -> dict[str, Any]:
    """Wasserstein distances HR–SR per leading constituent against the number of RRDBs (Fig. 11).

    Args:
        points: ``[(num_rrdb, wasserstein_gev [n])]``, one per trained network
            (:func:`caloml.jets.observables.wasserstein_leading` of its SR images); repeated
            ``num_rrdb`` (other initialisations) are averaged.

    Returns:
        ``{"num_rrdb" [R] ascending, "num_runs" [R], "wasserstein_gev" [R][n] mean over runs,
        "wasserstein_std_gev" [R][n] standard deviation over runs (0 for one run),
        "mean_over_constituents_gev" [R], "points"}`` (the input, as lists).
    """
    if not points:
        raise InputError("rrdb_scan needs at least one (num_rrdb, wasserstein) point")
    by_rrdb: dict[int, list[np.ndarray]] = {}
    length = None
    for num_rrdb, distances in points:
        distances = np.asarray(distances, np.float64).reshape(-1)
        if int(num_rrdb) != num_rrdb or num_rrdb < 1:
            raise InputError(f"num_rrdb must be a positive integer, got {num_rrdb}")
        if length is None:
            length = distances.size
        if distances.size != length or length == 0:
            raise InputError(f"every point needs the same number (>= 1) of Wasserstein "
                             f"distances, got {length} and {distances.size}")
        by_rrdb.setdefault(int(num_rrdb), []).append(distances)
    num_rrdb = sorted(by_rrdb)
    means = np.array([np.mean(by_rrdb[r], axis=0) for r in num_rrdb])
    stds = np.array([np.std(by_rrdb[r], axis=0) for r in num_rrdb])
    return {"num_rrdb": num_rrdb, "num_runs": [len(by_rrdb[r]) for r in num_rrdb],
            "wasserstein_gev": means, "wasserstein_std_gev": stds,
            "mean_over_constituents_gev": means.mean(axis=1),
            "points": [{"num_rrdb": int(r), "wasserstein_gev": np.asarray(d, np.float64)}
                       for r, d in points]}


# --------------------------------------------------------------------------------------------
# Everything
# --------------------------------------------------------------------------------------------


def pairing_key(trained_on: str, applied_to: str) -> str:
    """``("qcd", "top")`` → ``"qcd_on_top"`` (trained on QCD, applied to top jets)."""
    return f"{trained_on}_on_{applied_to}"


def pairing_title(trained_on: str, applied_to: str) -> str:
    """``("qcd", "top")`` → ``"trained on QCD, applied to top"``."""
    return f"trained on {PROCESS_LABELS[trained_on]}, applied to {PROCESS_LABELS[applied_to]}"


def plot_assessment(arrays: Mapping[str, Any], metrics: Mapping[str, Any], plots_dir: str,
                    prefix: str, title: str, paper: Mapping[str, float] | None = None
                    ) -> list[str]:
    """Draws one pairing's figures (Figs 4/5/8/9 and 7) as ``<plots_dir>/<prefix>_*.png/pdf``.
    """
    stem = os.path.join(plots_dir, prefix)
    images = arrays["average_images"]
    leading = arrays["leading"]
    paths = figures.plot_average_images(images["hr"], images["sr"], images["lr"],
                                        images["lr_gen"], f"{stem}_average_images",
                                        metrics["pixel_size_rad"], title=title)
    paths += figures.plot_leading_spectra(leading["hr"], leading["sr"], leading["lr"],
                                          leading["lr_gen"], f"{stem}_leading_constituents",
                                          title=title)
    paths += figures.plot_patches(arrays["patches"]["hr"], arrays["patches"]["sr"],
                                  f"{stem}_patches", title=title)
    paths += figures.plot_observables(arrays["observables"], f"{stem}_observables", title=title)
    shown = figures.RELATIVE_DIFFERENCE_PANELS
    paths += figures.plot_relative_differences(
        {name: arrays["relative_differences"][name] for name in shown},
        {name: metrics["closer_fraction"][name] for name in shown},
        f"{stem}_relative_differences", paper=paper, title=title)
    return paths


def evaluate(
    generator: keras.Model | keras.layers.Layer,
    test_sets: Mapping[str, Mapping[str, np.ndarray]],
    trained_on: str,
    factor: int,
    pixel_size: float,
    plots_dir: str,
    threshold_gev: float = 0.0,
    batch_size: int = SR_BATCH,
) -> dict[str, Any]:
    """Assesses a generator on its own process and on the other one, and draws every figure.

    For each process in ``test_sets``, the trained one first, the LR images are
    super-resolved (:func:`super_resolve`) and :func:`assess`-ed: ``"<trained>_on_<applied>"``
    (e.g. ``"qcd_on_qcd"``, Fig. 4; ``"qcd_on_top"``, Fig. 8). A test set that also holds the
    LR images of every factor in :data:`FACTORS` (``"lr2"``, ``"lr4"``, ``"lr8"``) gets the
    factor scan of Fig. 6 under ``"factor_scan"``. Figures go to ``plots_dir`` (PNG + PDF),
    named ``<pairing>_<figure>`` and ``factor_scan_<process>``.

    Args:
        generator: see :func:`super_resolve`.
        test_sets: ``{"qcd": {...}, "top": {...}}`` (either may be missing), each with ``"hr"``
            ``[N, H, W]`` and ``"lr"`` ``[N, H/f, W/f]`` (:func:`caloml.data.jets.read_jets`),
            optionally ``"lr2"``, ``"lr4"``, ``"lr8"``.
        trained_on: the process the generator was trained on, ``"qcd"`` or ``"top"``.
        factor: the generator's up-sampling factor.
        pixel_size: HR pixel size in rad (the files' ``pixel_size_rad``).
        plots_dir: where the figures go (created if missing).
        threshold_gev: SR pixels (and pixels of every sample compared) at or below it are 0.
        batch_size: jets per generator call.

    Returns:
        ``{"trained_on", "factor", "pixel_size_rad", "threshold_gev", "<pairing>":
        assess metrics, ..., "factor_scan": {process: factor_scan metrics}, "plots": [paths]}``.
    """
    if trained_on not in PROCESSES:
        raise InputError(f"trained_on must be one of {list(PROCESSES)}, got {trained_on!r}")
    unknown = sorted(set(test_sets) - set(PROCESSES))
    if unknown or not test_sets:
        raise InputError(f"test_sets must map some of {list(PROCESSES)} to test images, got "
                         f"{sorted(test_sets)}")
    for process, test in test_sets.items():
        missing = [key for key in ("hr", "lr") if key not in test]
        if missing:
            raise InputError(f"the {process} test set lacks {', '.join(missing)}; expected the "
                             "arrays of caloml.data.jets.read_jets ('hr', 'lr', ...)")
    os.makedirs(plots_dir, exist_ok=True)
    metrics: dict[str, Any] = {"trained_on": trained_on, "factor": int(factor),
                               "pixel_size_rad": float(pixel_size),
                               "threshold_gev": float(threshold_gev)}
    plots: list[str] = []
    order = [trained_on] + [p for p in PROCESSES if p != trained_on]
    for applied in (p for p in order if p in test_sets):
        key, title = pairing_key(trained_on, applied), pairing_title(trained_on, applied)
        test = test_sets[applied]
        logging.info("super-resolving %d %s jets (%s)", len(test["lr"]), applied, title)
        sr = super_resolve(generator, test["lr"], batch_size, threshold_gev)
        metrics[key], arrays = assess(test["hr"], test["lr"], sr, factor, pixel_size,
                                      threshold_gev)
        paper = PAPER_CLOSER_FRACTION if key == "top_on_top" else None
        plots += plot_assessment(arrays, metrics[key], plots_dir, key, title, paper)
        logging.info("%s: SR closer than LR for tau2 %.2f, tau3 %.2f, C0.2 %.2f", title,
                     metrics[key]["closer_fraction"]["tau2"],
                     metrics[key]["closer_fraction"]["tau3"],
                     metrics[key]["closer_fraction"]["c02"])
    scans = {}
    for process, test in test_sets.items():
        if all(f"lr{f}" in test for f in FACTORS):
            scans[process], arrays = factor_scan(
                test["hr"], {f: test[f"lr{f}"] for f in FACTORS}, pixel_size, threshold_gev)
            plots += figures.plot_factor_scan(
                arrays["observables"], os.path.join(plots_dir, f"factor_scan_{process}"),
                title=f"{PROCESS_LABELS[process]} jets")
    if scans:
        metrics["factor_scan"] = scans
    metrics["plots"] = [os.path.basename(p) for p in plots]
    return metrics
