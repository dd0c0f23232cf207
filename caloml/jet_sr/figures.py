"""The figures of the jet super-resolution study (paper 001 §3, Figs 4–11), from numpy arrays.

Each ``plot_*`` function takes plain results of :mod:`caloml.jet_sr.evaluation` (no networks),
saves ``<path_stem>.png`` and ``.pdf`` (:func:`caloml.plotting.core.save_figure`) and returns
the paths. Jet images are ``[η, φ]`` pixel pT in GeV (axis 1 η, axis 2 φ, as
:mod:`caloml.jets` writes them), drawn with η to the right and φ up, in rad from the image
centre (the jet axis). The four samples of one assessment keep one style everywhere:
HR (truth, grey filled), SR (super-resolved, red line), LR (the measured low-resolution image,
blue filled) and LR_gen (the SR image sum-pooled back, blue dashed line).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np

from caloml.jets import observables as jet_observables
from caloml.observables import statistics
from caloml.plotting import core as plotting

SAMPLE_LABELS = {"hr": "HR", "sr": "SR", "lr": "LR", "lr_gen": r"LR$_\mathrm{gen}$"}
SAMPLE_STYLES = {
    "hr": {"color": "0.45", "alpha": 0.45, "fill": True},
    "sr": {"color": "tab:red", "linewidth": 1.4},
    "lr": {"color": "tab:blue", "alpha": 0.25, "fill": True},
    "lr_gen": {"color": "tab:blue", "linewidth": 1.4, "linestyle": "--"},
}
# Fig. 6: the factor scan's samples, HR then the coarser images.
FACTOR_COLOURS = {1: "0.3", 2: "tab:green", 4: "tab:orange", 8: "tab:purple"}
# The observables of Figs 4–5 / 8–9 (bottom rows), Fig. 6 and Fig. 7, in drawing order.
OBSERVABLE_PANELS = ("mass", "girth", "c02", "tau21", "tau32", "tau1", "tau2", "tau3")
FACTOR_SCAN_PANELS = ("num_constituents", "mass", "tau21", "tau32", "girth", "c02")
RELATIVE_DIFFERENCE_PANELS = ("mass", "tau2", "tau3", "c02")
NUM_BINS = 40
SPECTRUM_COLUMNS = 5
# Relative differences (Eq. 10) are drawn in this range; entries beyond go to the end bins.
RELATIVE_RANGE = (-1.0, 1.0)
# log10 |HR − SR| / |HR − LR| (Fig. 7 lower panels) is drawn in this range.
LOG_RATIO_RANGE = (-3.0, 3.0)


# Axis labels in TeX (the paper's symbols, Eq. 9); others fall back to caloml.jets' labels.
OBSERVABLE_LABELS = {
    "pt": r"$p_{T,\mathrm{jet}}$ [GeV]",
    "mass": r"$m_\mathrm{jet}$ [GeV]",
    "girth": r"girth $w_\mathrm{pf}$",
    "c02": r"$C_{0.2}$",
    "tau1": r"$\tau_1$",
    "tau2": r"$\tau_2$",
    "tau3": r"$\tau_3$",
    "tau21": r"$\tau_2 / \tau_1$",
    "tau32": r"$\tau_3 / \tau_2$",
    "num_constituents": "active pixels",
}
# The same without units, for relative differences.
OBSERVABLE_SYMBOLS = {**OBSERVABLE_LABELS, "pt": r"$p_{T,\mathrm{jet}}$",
                      "mass": r"$m_\mathrm{jet}$"}


def observable_label(name: str) -> str:
    """Axis label of a jet observable (else :data:`caloml.jets.observables.OBSERVABLE_LABELS`)."""
    if name in OBSERVABLE_LABELS:
        return OBSERVABLE_LABELS[name]
    return jet_observables.OBSERVABLE_LABELS.get(name, name.replace("_", " "))


def ordinal(k: int) -> str:
    """``1`` → ``"1st"``, ``2`` → ``"2nd"``, ``11`` → ``"11th"``."""
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def _suptitle(fig, what: str, title: str | None) -> None:
    fig.suptitle(f"{what} ({title})" if title else what)


def _finite(values) -> np.ndarray:
    values = np.asarray(values, np.float64).reshape(-1)
    return values[np.isfinite(values)]


def _fractions(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Fraction of the finite ``values`` per bin, values beyond the edges in the end bins."""
    values = _finite(values)
    if values.size == 0:
        return np.zeros(len(edges) - 1)
    return statistics.histogram_counts(values, edges) / values.size


def _common_edges(samples: Sequence[np.ndarray], num_bins: int = NUM_BINS) -> np.ndarray | None:
    """Edges spanning all samples together, binned as compare_samples bins (None: no data)."""
    pooled = np.concatenate([_finite(s) for s in samples] or [np.empty(0)])
    return statistics.histogram_edges(pooled, pooled, num_bins)


def _image_extent_rad(num_pixels: int, pixel_size_rad: float) -> float:
    return num_pixels * pixel_size_rad


def _eta_phi_axes(ax) -> None:
    ax.set_xlabel(r"$\Delta\eta$ [rad]")
    ax.set_ylabel(r"$\Delta\phi$ [rad]")


# --------------------------------------------------------------------------------------------
# Fig. 4 (and 5, 8, 9): images, leading constituents, patches, observables
# --------------------------------------------------------------------------------------------


def plot_average_images(
    hr: np.ndarray,
    sr: np.ndarray,
    lr: np.ndarray,
    lr_gen: np.ndarray,
    path_stem: str | os.PathLike,
    pixel_size_rad: float,
    title: str | None = None,
) -> list[str]:
    """Average HR and SR images and average LR and LR_gen images (Fig. 4, top left).

    HR and SR share one logarithmic colour scale, LR and LR_gen another (the LR pixels hold
    f² times the area). Pixels with zero mean are white.

    Args:
        hr: ``[H, W]`` mean HR image, pT per pixel in GeV (axis 0 η, axis 1 φ).
        sr: ``[H, W]`` mean SR image.
        lr: ``[h, w]`` mean LR image (``H = f·h``).
        lr_gen: ``[h, w]`` mean sum-pooled SR image.
        path_stem: where to save (``.png`` and ``.pdf``).
        pixel_size_rad: HR pixel size; the images span ``H · pixel_size_rad`` around the axis.
        title: e.g. ``"trained on QCD, applied to top"``.

    Returns:
        The paths written.
    """
    images = {"hr": np.asarray(hr, np.float64), "sr": np.asarray(sr, np.float64),
              "lr": np.asarray(lr, np.float64), "lr_gen": np.asarray(lr_gen, np.float64)}
    if images["hr"].shape != images["sr"].shape or images["lr"].shape != images["lr_gen"].shape:
        raise ValueError(f"HR/SR and LR/LR_gen images must pair up, got shapes "
                         f"{[im.shape for im in images.values()]}")
    extent = _image_extent_rad(images["hr"].shape[0], pixel_size_rad)
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.0), layout="constrained")
    cmap = plotting.image_cmap()
    for pair in (("hr", "sr"), ("lr", "lr_gen")):
        norm = plotting.log_norm([images[k] for k in pair])
        for key in pair:
            ax = axes[list(images).index(key)]
            drawn = plotting.draw_image(ax, images[key], extent, norm, cmap)
            size = images[key].shape[0]
            ax.set_title(f"{SAMPLE_LABELS[key]} ({size}×{images[key].shape[1]} pixels)",
                         fontsize="small")
            _eta_phi_axes(ax)
        fig.colorbar(drawn, ax=[axes[list(images).index(k)] for k in pair], shrink=0.85,
                     label=r"mean pixel $p_T$ [GeV]")
    _suptitle(fig, "average jet images", title)
    return plotting.save_figure(fig, path_stem)


def sqrt_spectrum(values_gev: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Fractions of jets per bin of √pT, with zeros (no k-th constituent) in the first bin.

    Args:
        values_gev: ``[N]`` pT of the k-th leading constituent (0 when a jet has fewer).
        edges: ``[K + 1]`` edges of √pT whose first bin ``[edges[0], 0)`` is the zero bin.

    Returns:
        ``[K]`` fractions of the jets (values beyond the last edge in the last bin).
    """
    values = np.asarray(values_gev, np.float64).reshape(-1)
    mapped = np.where(values > 0, np.sqrt(np.maximum(values, 0.0)), 0.5 * edges[0])
    return _fractions(mapped, edges)


def spectrum_edges(*samples_gev: np.ndarray, num_bins: int = NUM_BINS) -> np.ndarray:
    """Edges ``[num_bins + 2]`` in √GeV: a zero bin ``[−w, 0)``, then equal bins of width w.

    The bins span from 0 to the largest 99.5 % quantile of the positive √pT of the samples.
    """
    highs = [np.quantile(np.sqrt(s[s > 0]), statistics.RANGE_QUANTILES[1])
             for s in (_finite(x) for x in samples_gev) if np.any(s > 0)]
    high = max(highs) if highs else 1.0
    width = high / num_bins
    return np.concatenate([[-width], np.linspace(0.0, high, num_bins + 1)])


def plot_leading_spectra(
    hr: np.ndarray,
    sr: np.ndarray,
    lr: np.ndarray,
    lr_gen: np.ndarray,
    path_stem: str | os.PathLike,
    title: str | None = None,
    num_bins: int = NUM_BINS,
) -> list[str]:
    """√pT of the 1st … n-th hardest constituent: HR vs SR, then LR vs LR_gen (Fig. 4).

    One panel per constituent and comparison, :data:`SPECTRUM_COLUMNS` per row: the HR/SR rows
    first, then the LR/LR_gen rows. The leftmost bin (left of √pT = 0) collects the jets with
    fewer than k constituents; its fractions are also in the panel's text.

    Args:
        hr, sr, lr, lr_gen: ``[N, n]`` pT in GeV of the n leading pixels per jet, descending,
            0 where a jet has fewer (:func:`caloml.jets.observables.leading_constituents`).
        path_stem: where to save (``.png`` and ``.pdf``).
        title: e.g. ``"trained on QCD, applied to QCD"``.
        num_bins: bins of √pT per panel, besides the zero bin.

    Returns:
        The paths written.
    """
    samples = {k: np.asarray(v, np.float64) for k, v in
               (("hr", hr), ("sr", sr), ("lr", lr), ("lr_gen", lr_gen))}
    n = samples["hr"].shape[1]
    if any(s.ndim != 2 or s.shape[1] != n for s in samples.values()) or n == 0:
        raise ValueError(f"leading constituents must be [N, n] with one n >= 1, got "
                         f"{[s.shape for s in samples.values()]}")
    rows_per_block = -(-n // SPECTRUM_COLUMNS)
    columns = min(n, SPECTRUM_COLUMNS)
    fig, axes = plt.subplots(2 * rows_per_block, columns,
                             figsize=(2.9 * columns, 2.3 * 2 * rows_per_block),
                             layout="constrained", squeeze=False)
    for block, (reference, other) in enumerate((("hr", "sr"), ("lr", "lr_gen"))):
        for k in range(n):
            ax = axes[block * rows_per_block + k // columns, k % columns]
            edges = spectrum_edges(samples[reference][:, k], samples[other][:, k],
                                   num_bins=num_bins)
            empty = []
            for key in (reference, other):
                ax.stairs(sqrt_spectrum(samples[key][:, k], edges), edges,
                          label=SAMPLE_LABELS[key], **SAMPLE_STYLES[key])
                empty.append(f"{SAMPLE_LABELS[key]} {100 * np.mean(samples[key][:, k] <= 0):.0f}%")
            ax.axvline(0.0, color="0.6", linewidth=0.6)
            ax.set_ylim(top=1.25 * ax.get_ylim()[1])  # room for the text
            ax.text(0.97, 0.95, "none: " + ", ".join(empty), transform=ax.transAxes,
                    ha="right", va="top", fontsize="xx-small")
            ax.set_title(f"{ordinal(k + 1)} constituent, {SAMPLE_LABELS[reference]} vs "
                         f"{SAMPLE_LABELS[other]}", fontsize="small")
            ax.set_xlabel(rf"$\sqrt{{p_{{T,{k + 1}}}}}$ [$\sqrt{{\mathrm{{GeV}}}}$]",
                          fontsize="small")
            ax.tick_params(labelsize="x-small")
            if k % columns == 0:
                ax.set_ylabel("fraction of jets", fontsize="small")
        for k in range(n, rows_per_block * columns):
            axes[block * rows_per_block + k // columns, k % columns].set_visible(False)
        axes[block * rows_per_block, 0].legend(fontsize="x-small", loc="center right")
    _suptitle(fig, "leading constituents (left bin: jets with fewer constituents)", title)
    return plotting.save_figure(fig, path_stem)


def plot_patches(
    hr_patch: np.ndarray,
    sr_patch: np.ndarray,
    path_stem: str | os.PathLike,
    title: str | None = None,
) -> list[str]:
    """Average unit-sum (f × f) patches of HR and SR and their relative difference (Fig. 4).

    Args:
        hr_patch: ``[f, f]`` mean pT fraction per sub-pixel of the HR patches
            (:func:`caloml.jets.observables.average_patch`), axis 0 η.
        sr_patch: ``[f, f]`` the same for SR.
        path_stem: where to save (``.png`` and ``.pdf``).
        title: e.g. ``"trained on top, applied to top"``.

    Returns:
        The paths written.
    """
    hr_patch = np.asarray(hr_patch, np.float64)
    sr_patch = np.asarray(sr_patch, np.float64)
    if hr_patch.shape != sr_patch.shape or hr_patch.ndim != 2:
        raise ValueError(f"patches must be two [f, f] arrays, got {hr_patch.shape} and "
                         f"{sr_patch.shape}")
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(hr_patch > 0, (sr_patch - hr_patch) / hr_patch, np.nan)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.0), layout="constrained")
    factor = hr_patch.shape[0]
    vmax = max(float(hr_patch.max()), float(sr_patch.max()), 1e-12)
    norm = mcolors.Normalize(vmin=0.0, vmax=vmax)
    span = max(float(np.nanmax(np.abs(relative))) if np.isfinite(relative).any() else 0.0, 0.05)
    panels = (("HR", hr_patch, "viridis", norm, r"mean $p_T$ fraction"),
              ("SR", sr_patch, "viridis", norm, r"mean $p_T$ fraction"),
              ("(SR − HR) / HR", relative, "coolwarm",
               mcolors.Normalize(vmin=-span, vmax=span), "relative difference"))
    for ax, (name, patch, cmap, panel_norm, label) in zip(axes, panels, strict=True):
        drawn = ax.imshow(patch.T, origin="lower", cmap=cmap, norm=panel_norm,
                          interpolation="nearest")
        if factor <= 8:
            for i in range(factor):
                for j in range(factor):
                    text = "–" if not np.isfinite(patch[i, j]) else (
                        f"{patch[i, j]:+.2f}" if cmap == "coolwarm" else f"{patch[i, j]:.3f}")
                    ax.text(i, j, text, ha="center", va="center", fontsize="x-small",
                            color="black" if cmap == "coolwarm" else "white")
        ax.set_title(f"{name} ({factor}×{factor} patch)", fontsize="small")
        ax.set_xticks(range(factor))
        ax.set_yticks(range(factor))
        ax.set_xlabel(r"sub-pixel in $\eta$")
        ax.set_ylabel(r"sub-pixel in $\phi$")
        fig.colorbar(drawn, ax=ax, shrink=0.85, label=label)
    l1 = float(np.abs(sr_patch - hr_patch).sum())
    _suptitle(fig, f"average patches, L1(SR, HR) = {l1:.3f}", title)
    return plotting.save_figure(fig, path_stem)


def _draw_samples(ax, samples: Mapping[str, np.ndarray], name: str, num_bins: int) -> None:
    ax.set_xlabel(observable_label(name))
    edges = _common_edges(list(samples.values()), num_bins)
    if edges is None:
        plotting.no_data(ax, observable_label(name))
        return
    for key, values in samples.items():
        style = SAMPLE_STYLES.get(key, {"linewidth": 1.2})
        ax.stairs(_fractions(values, edges), edges, label=SAMPLE_LABELS.get(key, key), **style)


def plot_observables(
    observables: Mapping[str, Mapping[str, np.ndarray]],
    path_stem: str | os.PathLike,
    names: Sequence[str] = OBSERVABLE_PANELS,
    title: str | None = None,
    num_bins: int = NUM_BINS,
) -> list[str]:
    """High-level observables of LR, LR_gen, HR and SR (Figs 4–5, 8–9, bottom rows).

    One panel per observable with four normalised histograms on common bins; the panel title
    gives the separation powers HR–SR and LR–LR_gen (:func:`caloml.observables.statistics.
    compare_samples`).

    Args:
        observables: ``{"lr", "lr_gen", "hr", "sr": {name: [N]}}``
            (:func:`caloml.jets.observables.jet_observables`); missing samples are left out.
        path_stem: where to save (``.png`` and ``.pdf``).
        names: the observables to draw, in order.
        title: e.g. ``"trained on QCD, applied to QCD"``.
        num_bins: bins per panel.

    Returns:
        The paths written.
    """
    order = [key for key in ("lr", "lr_gen", "hr", "sr") if key in observables]
    if not order or not names:
        raise ValueError("plot_observables needs samples among lr, lr_gen, hr, sr and names")
    columns = min(len(names), 4)
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.8 * columns, 3.3 * rows),
                             layout="constrained", squeeze=False)
    for index, name in enumerate(names):
        ax = axes[index // columns, index % columns]
        _draw_samples(ax, {key: observables[key][name] for key in order}, name, num_bins)
        parts = []
        for reference, other in (("hr", "sr"), ("lr", "lr_gen")):
            if reference in observables and other in observables:
                separation = statistics.compare_samples(observables[reference][name],
                                                        observables[other][name])[0]
                parts.append(f"{SAMPLE_LABELS[reference]}–{SAMPLE_LABELS[other]} "
                             f"{separation['separation_power']:.3f}")
        if parts:
            ax.set_title("sep. power " + ", ".join(parts), fontsize="x-small")
        if index % columns == 0:
            ax.set_ylabel("fraction of jets")
    for index in range(len(names), rows * columns):
        axes[index // columns, index % columns].set_visible(False)
    axes[0, 0].legend(fontsize="small")
    _suptitle(fig, "jet observables", title)
    return plotting.save_figure(fig, path_stem)


# --------------------------------------------------------------------------------------------
# Fig. 7: per-jet relative differences
# --------------------------------------------------------------------------------------------


def log_deviation_ratio(relative_lr: np.ndarray, relative_sr: np.ndarray) -> np.ndarray:
    """``log10 |HR − SR| / |HR − LR|`` per jet from the Eq. 10 relative differences.

    Negative where SR is closer to HR than LR. A jet with ``SR = HR`` gives ``-inf``, one with
    ``LR = HR`` ``+inf`` (drawn in the end bins), one with both NaN.

    Args:
        relative_lr: ``[N]`` (HR − LR) / HR.
        relative_sr: ``[N]`` (HR − SR) / HR.

    Returns:
        ``[N]`` float64.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(np.abs(np.asarray(relative_sr, np.float64))
                        / np.abs(np.asarray(relative_lr, np.float64)))


def plot_relative_differences(
    relative: Mapping[str, Mapping[str, np.ndarray]],
    closer_fraction: Mapping[str, float],
    path_stem: str | os.PathLike,
    paper: Mapping[str, float] | None = None,
    title: str | None = None,
    num_bins: int = NUM_BINS,
) -> list[str]:
    """Per-jet (HR − LR)/HR and (HR − SR)/HR per observable, with the closer fraction (Fig. 7).

    Upper panels: the two relative differences (Eq. 10); lower panels:
    ``log10 |HR − SR| / |HR − LR|``, whose part left of 0 (SR closer to the truth than LR) is
    the closer fraction ``p`` in the panel title (with the paper's value when given).
    Relative differences beyond ±1 and log ratios beyond ±3 are put in the end bins.

    Args:
        relative: ``{name: {"hr_lr": [N], "hr_sr": [N]}}`` (NaN entries are left out).
        closer_fraction: ``{name: p}``, p in [0, 1]
            (:func:`caloml.jets.observables.closer_fraction`).
        path_stem: where to save (``.png`` and ``.pdf``).
        paper: ``{name: p}`` quoted by the paper (Fig. 7: top jets), drawn beside ours.
        title: e.g. ``"trained on top, applied to top"``.
        num_bins: bins per panel.

    Returns:
        The paths written.
    """
    names = list(relative)
    if not names:
        raise ValueError("plot_relative_differences needs at least one observable")
    fig, axes = plt.subplots(2, len(names), figsize=(3.9 * len(names), 6.2),
                             layout="constrained", squeeze=False, height_ratios=(3, 2))
    edges = np.linspace(*RELATIVE_RANGE, num_bins + 1)
    ratio_edges = np.linspace(*LOG_RATIO_RANGE, num_bins + 1)
    for column, name in enumerate(names):
        upper, lower = axes[0, column], axes[1, column]
        for key, label, colour in (("hr_lr", "(HR − LR) / HR", "tab:blue"),
                                   ("hr_sr", "(HR − SR) / HR", "tab:red")):
            values = np.asarray(relative[name][key], np.float64)
            finite = _finite(values)
            upper.stairs(_fractions(values, edges), edges, color=colour, linewidth=1.4,
                         label=f"{label}: {np.mean(finite):+.2f} ± {np.std(finite):.2f}"
                         if finite.size else label)
        upper.axvline(0.0, color="0.6", linewidth=0.6)
        symbol = OBSERVABLE_SYMBOLS.get(name, observable_label(name))
        upper.set_xlabel(f"relative difference of {symbol}", fontsize="small")
        upper.legend(fontsize="xx-small", loc="upper left")
        p = closer_fraction.get(name, float("nan"))
        text = f"{symbol}: p = {100 * p:.0f}%"
        if paper and name in paper:
            text += f" (paper {100 * paper[name]:.0f}%)"
        upper.set_title(text, fontsize="small")
        ratio = log_deviation_ratio(relative[name]["hr_lr"], relative[name]["hr_sr"])
        ratio = ratio[~np.isnan(ratio)]
        lower.stairs(_fractions(np.clip(ratio, *LOG_RATIO_RANGE), ratio_edges), ratio_edges,
                     color="0.3", fill=True, alpha=0.5)
        lower.axvline(0.0, color="tab:red", linewidth=1.0, linestyle="--")
        lower.set_xlabel(r"$\log_{10}$ |HR − SR| / |HR − LR|", fontsize="small")
        lower.text(0.03, 0.95, "SR closer", transform=lower.transAxes, ha="left", va="top",
                   fontsize="x-small")
        lower.text(0.97, 0.95, "LR closer", transform=lower.transAxes, ha="right", va="top",
                   fontsize="x-small")
        if column == 0:
            upper.set_ylabel("fraction of jets")
            lower.set_ylabel("fraction of jets")
    _suptitle(fig, "per-jet deviations from the HR truth, p = fraction with SR closer", title)
    return plotting.save_figure(fig, path_stem)


# --------------------------------------------------------------------------------------------
# Fig. 6: down-scaling factors; Fig. 11: number of RRDBs
# --------------------------------------------------------------------------------------------


def factor_of(sample: str) -> int:
    """``"hr"`` → 1, ``"lr4"`` → 4."""
    if sample == "hr":
        return 1
    if sample.startswith("lr") and sample[2:].isdigit():
        return int(sample[2:])
    raise ValueError(f"factor scan samples are 'hr' and 'lr<f>', got {sample!r}")


def plot_factor_scan(
    observables: Mapping[str, Mapping[str, np.ndarray]],
    path_stem: str | os.PathLike,
    names: Sequence[str] = FACTOR_SCAN_PANELS,
    title: str | None = None,
    num_bins: int = NUM_BINS,
) -> list[str]:
    """Active pixels and observables of HR and the images down-scaled by f (Fig. 6).

    Args:
        observables: ``{"hr": {name: [N]}, "lr2": …, "lr4": …, "lr8": …}``.
        path_stem: where to save (``.png`` and ``.pdf``).
        names: observables to draw (default: active pixels, m_jet, τ21, τ32, w_pf, C_0.2).
        title: e.g. ``"QCD jets"``.
        num_bins: bins per panel.

    Returns:
        The paths written.
    """
    samples = sorted(observables, key=factor_of)
    if not samples or not names:
        raise ValueError("plot_factor_scan needs samples ('hr', 'lr<f>') and names")
    columns = min(len(names), 3)
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows),
                             layout="constrained", squeeze=False)
    for index, name in enumerate(names):
        ax = axes[index // columns, index % columns]
        ax.set_xlabel(observable_label(name))
        edges = _common_edges([observables[s][name] for s in samples], num_bins)
        if name == "num_constituents":
            counts = np.concatenate([_finite(observables[s][name]) for s in samples])
            if counts.size:
                edges = np.linspace(counts.min() - 0.5, counts.max() + 0.5,
                                    min(int(counts.max() - counts.min()) + 1, 3 * num_bins) + 1)
        if edges is None:
            plotting.no_data(ax, observable_label(name))
            continue
        for sample in samples:
            factor = factor_of(sample)
            label = "HR" if factor == 1 else f"LR, f = {factor}"
            style = ({"color": FACTOR_COLOURS[1], "alpha": 0.4, "fill": True} if factor == 1
                     else {"color": FACTOR_COLOURS.get(factor), "linewidth": 1.4})
            ax.stairs(_fractions(observables[sample][name], edges), edges, label=label,
                      **style)
        if index % columns == 0:
            ax.set_ylabel("fraction of jets")
    for index in range(len(names), rows * columns):
        axes[index // columns, index % columns].set_visible(False)
    axes[0, 0].legend(fontsize="small")
    _suptitle(fig, "down-scaling by f = " + ", ".join(
        str(factor_of(s)) for s in samples if s != "hr"), title)
    return plotting.save_figure(fig, path_stem)


def plot_rrdb_scan(
    scans: Mapping[str, Mapping[str, Any]],
    path_stem: str | os.PathLike,
    title: str | None = None,
) -> list[str]:
    """Wasserstein distance HR–SR of the k-th leading constituent vs the number of RRDBs
    (Fig. 11).

    One panel per scan (e.g. ``"trained on top, applied to top"``), one line per constituent
    k (coloured from dark, k = 1, to light, k = n), with the spread over repeated runs as
    error bars when there are several.

    Args:
        scans: ``{panel title: rrdb_scan metrics}``
            (:func:`caloml.jet_sr.evaluation.rrdb_scan`: ``"num_rrdb"`` [R],
            ``"wasserstein_gev"`` [R][n] means, ``"wasserstein_std_gev"`` [R][n]).
        path_stem: where to save (``.png`` and ``.pdf``).
        title: optional figure title.

    Returns:
        The paths written.
    """
    if not scans:
        raise ValueError("plot_rrdb_scan needs at least one scan")
    fig, axes = plt.subplots(1, len(scans), figsize=(5.4 * len(scans), 4.2),
                             layout="constrained", squeeze=False)
    cmap = plt.get_cmap("viridis")
    for ax, (name, scan) in zip(axes[0], scans.items(), strict=True):
        num_rrdb = np.asarray(scan["num_rrdb"], np.float64)
        distance = np.asarray(scan["wasserstein_gev"], np.float64)
        spread = np.asarray(scan.get("wasserstein_std_gev", np.zeros_like(distance)),
                            np.float64)
        n = distance.shape[1]
        for k in range(n):
            colour = cmap(k / max(n - 1, 1))
            ax.errorbar(num_rrdb, distance[:, k], yerr=spread[:, k] if spread.any() else None,
                        color=colour, marker="o", markersize=3, linewidth=1.0, capsize=2,
                        label=ordinal(k + 1))
        ax.set_xticks(num_rrdb)
        ax.set_xlabel("number of RRDBs")
        ax.set_ylabel(r"$W_1$(HR, SR) of $p_{T,k}$ [GeV]")
        ax.set_title(name, fontsize="small")
        plotting.log_y_if_positive(ax, distance)
        ax.legend(fontsize="xx-small", ncols=3, title="k-th constituent",
                  title_fontsize="x-small")
    _suptitle(fig, "Wasserstein distance of the leading constituents", title)
    return plotting.save_figure(fig, path_stem)
