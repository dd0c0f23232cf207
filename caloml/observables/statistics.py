"""Distances between distributions and classifier figures of merit (paper 000, §4–5).

* :func:`ks_statistic` — the two-sample Kolmogorov–Smirnov statistic used to pick the GAN
  epoch from the HR and SR shower-width distributions (Fig. 6, :func:`select_epoch`).
* :func:`histogram_overlap` — the overlapping area of two normalised histograms, the
  photon / pi0 separation quoted for the shower widths of Fig. 11.
* :func:`separation_power` — ``½ Σ (p − q)² / (p + q)`` of two binned distributions, the
  distance the calorimeter-simulation literature quotes between a fast and a full simulation.
* :func:`rejection_at_efficiency` / :func:`rejection_curve` — pion rejection at fixed photon
  efficiency (Figs. 7 and 13).
* :func:`fit_resolution` — the stochastic and constant terms of a calorimeter's resolution.
* :func:`compare_samples` — the separation power and summaries of a simulated and a generated
  sample on common bins (:func:`histogram_edges`, :func:`histogram_counts`,
  :func:`sample_summary`), what the GAN assessments report per observable.
* :func:`chi2_distance` — the χ² two-sample homogeneity statistic of two histograms of counts,
  the "χ² distance" CALPAGAN (paper 002, Tables 1–2) quotes between jet-variable distributions.
* :func:`frechet_distance` — the Fréchet (Wasserstein-2) distance of Gaussians fitted to two
  feature samples, the FID of CALPAGAN's Fig. 5 when the features come from a network.

Classifier convention (as the CNNs of paper 000, §5, which are trained with pi0 = 1): a score
is the classifier's output ``P(pi0)``; photons are the signal and an event is *selected as a
photon* when ``score <= threshold``. The photon efficiency is the fraction of photons
selected, the false-positive rate (FPR) the fraction of pi0 selected, and the pion rejection
``1 / FPR`` (paper 000, footnote 2). Pass logits rather than sigmoid outputs: any monotonic
score gives the same rejections, and logits do not saturate into ties.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.optimize
import scipy.stats

from caloml.errors import InputError


def _sample(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, np.float64).reshape(-1)
    if x.size == 0:
        raise ValueError(f"{name} is empty")
    return x


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov–Smirnov statistic ``sup_x |F_a(x) - F_b(x)|``.

    Args:
        a: ``[Na]`` sample (any shape, flattened).
        b: ``[Nb]`` sample.

    Returns:
        The statistic in [0, 1]: 0 for identical empirical distributions, 1 for disjoint ones;
        NaN if either sample holds a NaN or infinite value (e.g. the width of a NaN image).
    """
    a, b = _sample(a, "a"), _sample(b, "b")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return float("nan")
    return float(scipy.stats.ks_2samp(a, b).statistic)


def select_epoch(ks_photon: Sequence[float], ks_pi0: Sequence[float]) -> int:
    """The epoch with the lowest mean of the photon and pi0 KS statistics (paper 000, §4).

    Args:
        ks_photon: ``[E]`` KS statistic between HR and SR photon widths per epoch.
        ks_pi0: ``[E]`` the same for pi0.

    Returns:
        The selected epoch, 1-based (entry ``k`` of the lists is epoch ``k + 1``, as Keras
        callbacks count); non-finite values are never selected, ties go to the earlier epoch.
    """
    mean = 0.5 * (np.asarray(ks_photon, np.float64) + np.asarray(ks_pi0, np.float64))
    if mean.ndim != 1 or mean.size == 0 or not np.isfinite(mean).any():
        raise ValueError("select_epoch needs at least one epoch with finite KS statistics")
    return int(np.argmin(np.where(np.isfinite(mean), mean, np.inf))) + 1


def default_width_bins(*samples: np.ndarray, num: int = 50) -> np.ndarray:
    """Common, equally wide bin edges spanning the finite values of all ``samples``.

    Args:
        *samples: arrays of any shape (e.g. photon and pi0 widths in rad).
        num: number of bins.

    Returns:
        float64 ``[num + 1]`` edges from the smallest to the largest value (widened by ±0.5
        if all values are equal), so every entry falls in a bin.
    """
    if num < 1:
        raise ValueError(f"num must be positive, got {num}")
    values = np.concatenate([np.asarray(s, np.float64).reshape(-1) for s in samples] or [[]])
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("default_width_bins needs at least one finite value")
    low, high = float(values.min()), float(values.max())
    if low == high:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, num + 1)


def histogram_overlap(a: np.ndarray, b: np.ndarray, bins: int | np.ndarray = 50) -> float:
    """Overlapping area of the normalised histograms of two samples.

    ``Σ_k min(p_a,k, p_b,k)``, with ``p_k`` the fraction of a sample's entries in bin ``k``
    of a common binning. 1 for identical histograms, 0 for samples in disjoint bins; for two
    Gaussians of equal width ``σ`` whose means differ by ``d`` it tends to ``2 Φ(-d / 2σ)``
    for fine bins and large samples.

    The value depends on the binning: coarse bins merge the tails and raise it. Paper 000
    quotes the photon / pi0 width overlaps "with a binning as in Fig. 11" (e.g. 52 % LR,
    0.53 % HR at 20 GeV), whose edges are not given; caloml's figures use
    :func:`default_width_bins` (50 equal bins over all samples being compared), so compare
    numbers across kinds with one binning, not with the paper's percentages to the decimal.

    Args:
        a: ``[Na]`` sample (any shape, flattened).
        b: ``[Nb]`` sample.
        bins: number of equal bins spanning both samples (:func:`default_width_bins`), or
            ``[K + 1]`` increasing bin edges. Entries outside given edges are ignored: each
            histogram is normalised to its entries inside the binning.

    Returns:
        The overlap in [0, 1].
    """
    a, b = _sample(a, "a"), _sample(b, "b")
    if np.ndim(bins) == 0:
        edges = default_width_bins(a, b, num=int(bins))
    else:
        edges = np.asarray(bins, np.float64)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise ValueError("bins must be a positive integer or increasing edges [K + 1]")
    counts_a = np.histogram(a, edges)[0].astype(np.float64)
    counts_b = np.histogram(b, edges)[0].astype(np.float64)
    if counts_a.sum() == 0 or counts_b.sum() == 0:
        return 0.0
    return float(np.minimum(counts_a / counts_a.sum(), counts_b / counts_b.sum()).sum())


def separation_power(reference: np.ndarray, other: np.ndarray) -> float:
    """Separation power ``½ Σ_k (p_k − q_k)² / (p_k + q_k)`` of two binned distributions.

    ``p`` and ``q`` are ``reference`` and ``other`` normalised to unit sum over the bins used:
    bins where ``reference`` is NaN (unknown, e.g. unreadable in a digitised figure) are
    skipped in both, and bins where both are zero contribute nothing. 0 for histograms of the
    same shape, 1 for histograms in disjoint bins; it is the triangular discrimination / 2
    (a symmetric χ²-like distance, bounded unlike the plain χ²).

    Pass bin contents (counts or probabilities), not densities on unequal bins: multiply a
    density by the bin widths first.

    Args:
        reference: ``[K]`` non-negative bin contents, NaN where unknown.
        other: ``[K]`` non-negative finite bin contents.

    Returns:
        The separation power in [0, 1]; NaN if either histogram is empty in the bins used.

    Raises:
        ValueError: for different shapes, negative values or non-finite ``other``.
    """
    p = np.asarray(reference, np.float64).reshape(-1)
    q = np.asarray(other, np.float64).reshape(-1)
    if p.shape != q.shape:
        raise ValueError(f"histograms of {p.size} and {q.size} bins")
    if not np.all(np.isfinite(q)):
        raise ValueError("other holds non-finite bin contents")
    used = np.isfinite(p)
    p, q = p[used], q[used]
    if np.any(p < 0) or np.any(q < 0):
        raise ValueError("bin contents must be non-negative")
    if p.sum() <= 0 or q.sum() <= 0:
        return float("nan")
    p, q = p / p.sum(), q / q.sum()
    filled = (p + q) > 0
    return float(0.5 * np.sum((p[filled] - q[filled]) ** 2 / (p[filled] + q[filled])))


def rejection_at_efficiency(
    signal_scores: np.ndarray,
    background_scores: np.ndarray,
    efficiencies: np.ndarray | Sequence[float] | float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pion rejection at fixed photon efficiencies, with its statistical uncertainty.

    Convention (module docstring): scores are ``P(pi0)``; photons (signal) are selected by
    ``score <= threshold``. For each efficiency ``e`` the threshold is the ``e``-quantile of
    the signal scores (``numpy.quantile``, linear interpolation), so a fraction ``e`` of the
    photons is selected (more if scores are tied at the threshold, e.g. a saturated sigmoid:
    pass logits to avoid that). Then

    * ``FPR = n / N_bkg``, the fraction of pi0 with ``score <= threshold``;
    * ``rejection = 1 / FPR``;
    * ``rejection_err = σ_FPR / FPR²`` with the binomial ``σ_FPR = sqrt(FPR (1 - FPR) / N_bkg)``
      (only the background's statistical uncertainty; the threshold is taken as exact).

    If no pi0 is selected (``FPR = 0``), the rejection is ``inf`` and its error ``nan``: the
    sample only shows that the rejection exceeds about ``N_bkg`` (the Poisson 68 % upper
    limit on zero events, 1.14 events, gives the lower bound ``N_bkg / 1.14``). Figures skip
    such points.

    Args:
        signal_scores: ``[Ns]`` classifier outputs ``P(pi0)`` for photons.
        background_scores: ``[Nb]`` classifier outputs for pi0.
        efficiencies: ``[K]`` (or a scalar) photon efficiencies in (0, 1].

    Returns:
        ``(rejection [K], rejection_err [K], thresholds [K])`` as float64 arrays (shape ``[]``
        for a scalar efficiency).
    """
    signal = _sample(signal_scores, "signal_scores")
    background = np.sort(_sample(background_scores, "background_scores"))
    eff = np.asarray(efficiencies, np.float64)
    if np.any(~np.isfinite(eff)) or np.any(eff <= 0) or np.any(eff > 1):
        raise ValueError(f"efficiencies must be in (0, 1], got {efficiencies}")
    thresholds = np.quantile(signal, eff)
    selected = np.searchsorted(background, thresholds, side="right")  # count of score <= t
    fpr = selected / background.size
    with np.errstate(divide="ignore", invalid="ignore"):
        rejection = np.where(fpr > 0, 1.0 / fpr, np.inf)
        sigma_fpr = np.sqrt(fpr * (1.0 - fpr) / background.size)
        rejection_err = np.where(fpr > 0, sigma_fpr / fpr**2, np.nan)
    return rejection, rejection_err, np.asarray(thresholds, np.float64)


def rejection_curve(
    signal_scores: np.ndarray,
    background_scores: np.ndarray,
    efficiencies: np.ndarray | Sequence[float] = np.linspace(0.5, 0.99, 50),  # noqa: B008
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pion rejection versus photon efficiency (paper 000, Fig. 13).

    Args:
        signal_scores: ``[Ns]`` classifier outputs ``P(pi0)`` for photons.
        background_scores: ``[Nb]`` classifier outputs for pi0.
        efficiencies: ``[K]`` photon efficiencies in (0, 1].

    Returns:
        ``(efficiencies [K], rejection [K], rejection_err [K])``, the tuple
        :func:`caloml.srgan.figures.plot_rejection_curves` takes; see
        :func:`rejection_at_efficiency` for the convention and ``FPR = 0``.
    """
    eff = np.asarray(efficiencies, np.float64).reshape(-1)
    rejection, rejection_err, _ = rejection_at_efficiency(signal_scores, background_scores, eff)
    return eff, rejection, rejection_err


def fit_resolution(energy_gev: np.ndarray, relative_sigma: np.ndarray) -> tuple[float, float]:
    """Fits ``σ/E = a/√E ⊕ b`` (added in quadrature) and returns ``(a, b)``, both ≥ 0.

    Args:
        energy_gev: ``[K]`` energies in GeV.
        relative_sigma: ``[K]`` relative resolutions σ/E at those energies.
    """
    (a, b), _ = scipy.optimize.curve_fit(lambda e, a, b: np.sqrt(a**2 / e + b**2),
                                         np.asarray(energy_gev, np.float64),
                                         np.asarray(relative_sigma, np.float64), p0=(0.15, 0.01))
    return abs(float(a)), abs(float(b))


# Bins of compare_samples: NUM_BINS equal bins between these quantiles of either sample.
NUM_BINS = 50
RANGE_QUANTILES = (0.005, 0.995)


def _finite(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, np.float64).reshape(-1)
    return values[np.isfinite(values)]


def histogram_edges(reference: np.ndarray, other: np.ndarray,
                    num_bins: int = NUM_BINS) -> np.ndarray | None:
    """Common bin edges of two samples (NaN and infinite values ignored).

    Integer-valued samples with at most ``num_bins`` distinct values in their span (a depth, a
    hit count) get one bin per integer. Otherwise ``num_bins`` equal bins span from the lower to
    the upper :data:`RANGE_QUANTILES` of either sample, so that a few outliers do not squeeze
    the distributions into one bin; :func:`histogram_counts` puts values beyond into the end
    bins.

    Returns:
        float64 ``[K + 1]`` edges, or None when either sample has no finite value.
    """
    a, b = _finite(reference), _finite(other)
    if a.size == 0 or b.size == 0:
        return None
    both = np.concatenate([a, b])
    low, high = float(both.min()), float(both.max())
    if np.all(both == np.round(both)) and high - low < num_bins:
        return np.arange(low - 0.5, high + 1.0)
    low = min(float(np.quantile(x, RANGE_QUANTILES[0])) for x in (a, b))
    high = max(float(np.quantile(x, RANGE_QUANTILES[1])) for x in (a, b))
    if low == high:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, num_bins + 1)


def histogram_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts ``[K]`` of the finite ``values`` in ``edges``, values beyond in the end bins."""
    return np.histogram(np.clip(_finite(values), edges[0], edges[-1]), edges)[0].astype(
        np.float64)


def sample_summary(values: np.ndarray) -> dict[str, Any]:
    """``{"mean", "std", "num", "num_non_finite"}`` of the finite entries of ``values``."""
    values = np.asarray(values, np.float64).reshape(-1)
    finite = values[np.isfinite(values)]
    return {
        "mean": float(finite.mean()) if finite.size else float("nan"),
        "std": float(finite.std()) if finite.size else float("nan"),
        "num": int(finite.size),
        "num_non_finite": int(values.size - finite.size),
    }


def compare_samples(reference: np.ndarray, other: np.ndarray, num_bins: int = NUM_BINS,
                    names: tuple[str, str] = ("simulator", "gan"),
                    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Separation power and summaries of a simulated (``reference``) and a generated sample.

    Args:
        reference, other: the two samples.
        num_bins: histogram bins.
        names: the keys of the two samples in the results (e.g. ``("hr", "sr")``).

    Returns:
        ``(metrics, histogram)``: metrics ``{"separation_power", "simulator": summary,
        "gan": summary}`` (separation power NaN when a sample has no finite value) and the
        histogram ``{"edges", "simulator", "gan" (counts), "separation_power"}`` a figure
        draws, or None; ``names`` replace ``"simulator"`` and ``"gan"``.
    """
    first, second = names
    edges = histogram_edges(reference, other, num_bins)
    histogram = None
    separation = float("nan")
    if edges is not None:
        counts_reference = histogram_counts(reference, edges)
        counts_other = histogram_counts(other, edges)
        separation = separation_power(counts_reference, counts_other)
        histogram = {"edges": edges, first: counts_reference, second: counts_other,
                     "separation_power": separation}
    metrics = {"separation_power": separation, first: sample_summary(reference),
               second: sample_summary(other)}
    return metrics, histogram


def chi2_distance(a: np.ndarray, b: np.ndarray, bins: int | np.ndarray = NUM_BINS) -> float:
    """The χ² distance of the histograms of two samples (two-sample homogeneity χ²).

    CALPAGAN (paper 002, Tables 1–2) quotes "χ² distances" between distributions without
    defining them. caloml's is the χ² of the homogeneity test of two histograms of unweighted
    counts ``a_k``, ``b_k`` with totals ``A = Σ a_k``, ``B = Σ b_k`` (Gagunashvili 2006; ROOT's
    ``TH1::Chi2Test``, option "UU")::

        χ² = Σ_k (B a_k − A b_k)² / (A B (a_k + b_k))

    over the bins with entries (``a_k + b_k > 0``). For equal totals it is
    ``Σ (a_k − b_k)² / (a_k + b_k)``; for two samples of one distribution it follows a χ²
    law with (non-empty bins − 1) degrees of freedom, so it grows with the sample sizes and the
    number of bins: compare values computed with the same sizes and binning only.

    Non-finite entries (a missing jet's NaN) are dropped. Both histograms share one binning:
    ``bins`` equal bins between the lower and upper :data:`RANGE_QUANTILES` of either sample
    (:func:`histogram_edges`; one bin per integer for integer samples), or the given edges;
    entries beyond the edges are counted in the end bins (:func:`histogram_counts`).

    Args:
        a: ``[Na]`` sample (any shape, flattened).
        b: ``[Nb]`` sample.
        bins: number of bins, or ``[K + 1]`` increasing edges.

    Returns:
        The χ² (0 for identical histograms); NaN if either sample has no finite entry.
    """
    a, b = _finite(a), _finite(b)
    if a.size == 0 or b.size == 0:
        return float("nan")
    if np.ndim(bins) == 0:
        if int(bins) != bins or bins < 1:
            raise InputError(f"bins must be a positive integer or increasing edges, got {bins}")
        edges = histogram_edges(a, b, int(bins))
    else:
        edges = np.asarray(bins, np.float64)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise InputError("bins must be a positive integer or increasing edges [K + 1]")
    counts_a, counts_b = histogram_counts(a, edges), histogram_counts(b, edges)
    total_a, total_b = counts_a.sum(), counts_b.sum()
    filled = (counts_a + counts_b) > 0
    counts_a, counts_b = counts_a[filled], counts_b[filled]
    return float(np.sum((total_b * counts_a - total_a * counts_b) ** 2 / (counts_a + counts_b))
                 / (total_a * total_b))


def _gaussian_moments(features: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    features = np.asarray(features, np.float64)
    if features.ndim == 1:
        features = features[:, None]
    if features.ndim != 2 or features.shape[0] < 2:
        raise InputError(f"{name} must be [N, D] features with N >= 2, got shape "
                         f"{features.shape}")
    if not np.isfinite(features).all():
        raise InputError(f"{name} holds NaN or infinite features")
    return features.mean(axis=0), np.atleast_2d(np.cov(features, rowvar=False))


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix."""
    values, vectors = np.linalg.eigh(0.5 * (matrix + matrix.T))
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance of the Gaussians fitted to two feature samples (the FID formula).

    ``‖μa − μb‖² + Tr(Σa + Σb − 2 (Σa Σb)^½)`` with the sample means and covariances
    (``ddof = 1``, as the FID's reference code). ``Tr (Σa Σb)^½`` is computed as
    ``Σ_k √λ_k`` of the symmetric positive semi-definite ``Σa^½ Σb Σa^½`` (same eigenvalues as
    ``Σa Σb``), with eigenvalues rounded below 0 clipped: no complex parts, and singular
    covariances (fewer samples than features, constant features) are fine.

    Args:
        features_a: ``[Na, D]`` features (``[Na]`` for one feature).
        features_b: ``[Nb, D]`` features.

    Returns:
        The squared Wasserstein-2 distance of the two Gaussians (≥ 0); 0 for equal moments.
    """
    mean_a, cov_a = _gaussian_moments(features_a, "features_a")
    mean_b, cov_b = _gaussian_moments(features_b, "features_b")
    if mean_a.shape != mean_b.shape:
        raise InputError(f"features_a and features_b differ in dimension: {mean_a.size} and "
                         f"{mean_b.size}")
    root_a = _psd_sqrt(cov_a)
    product = root_a @ cov_b @ root_a
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(0.5 * (product + product.T)), 0.0, None)).sum()
    distance = float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b)
                     - 2.0 * cross)
    return max(distance, 0.0)
