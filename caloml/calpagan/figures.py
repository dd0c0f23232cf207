"""The figures of the CALPAGAN study (paper 002 §4, Figs 4-13), from numpy arrays.

Each ``plot_*`` function takes plain results of :mod:`caloml.calpagan.evaluation` (no
networks), saves ``<path_stem>.png`` and ``.pdf`` (:func:`caloml.plotting.core.save_figure`)
and returns the paths. Event images are ``[72, 72]`` tower energies in GeV (axis 0 eta, axis 1
phi, :mod:`caloml.events.towers`), drawn with eta to the right and phi up on the towers' own
(non-uniform) edges.

The three samples keep the paper's letters everywhere: D for the fast simulation (the paper's
Delphes), G for the detailed one (its Geant4) and C for CALPAGAN's translation of D; the pairs
are D-G, G-C and D-C (Tables 1-2).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.patches as mpatches
import matplotlib.pyplot as plt
import numpy as np

from caloml.events import observables as event_obs
from caloml.events import towers
from caloml.observables import statistics
from caloml.plotting import core as plotting

# The three image sets and the pairs compared (paper Tables 1-2: D-G, G-C, D-C).
SAMPLES = ("fast", "detailed", "calpagan")
PAIRS = ("fast-detailed", "detailed-calpagan", "fast-calpagan")
SAMPLE_LABELS = {"fast": "fast sim. (D)", "detailed": "detailed sim. (G)",
                 "calpagan": "CALPAGAN (C)"}
SAMPLE_TITLES = {"fast": "fast simulation (D)", "detailed": "detailed simulation (G)",
                 "calpagan": "CALPAGAN (C)"}
PAIR_LABELS = {"fast-detailed": "D–G", "detailed-calpagan": "G–C", "fast-calpagan": "D–C"}
SAMPLE_STYLES = {
    "fast": {"color": "tab:blue", "linewidth": 1.3, "linestyle": "--"},
    "detailed": {"color": "0.4", "alpha": 0.4, "fill": True},
    "calpagan": {"color": "tab:red", "linewidth": 1.4},
}
PAIR_COLOURS = {"fast-detailed": "tab:blue", "detailed-calpagan": "tab:red",
                "fast-calpagan": "tab:purple"}
# Fig. 5: training set solid, test set dashed.
SET_STYLES = {"train": "-", "test": "--"}
NUM_BINS = 40
JET_LABELS = {
    "tau1": r"$\tau_1$", "tau2": r"$\tau_2$", "girth": "girth",
    "two_point_moment": "two-point moment", "pt": r"$p_T$ [GeV]", "mass": "mass [GeV]",
    "eta": r"$\eta$", "phi": r"$\phi$", "num_constituents": "towers",
}
LOSS_LABELS = {"discriminator_loss": "discriminator loss", "generator_loss": "generator loss",
               "adversarial_loss": "generator: adversarial part",
               "l1_loss": "generator: L1 part"}


def observable_label(key: str) -> str:
    """Axis label of an event observable: ``"jet2_tau1"`` → ``"jet 2 τ1"``, ``"delta_phi"`` →
    ``"Δφ(jet 1, jet 2)"``."""
    if key == "delta_eta":
        return r"$\Delta\eta$(jet 1, jet 2)"
    if key == "delta_phi":
        return r"$\Delta\phi$(jet 1, jet 2)"
    if key == "num_jets":
        return "jets"
    head, _, name = key.partition("_")
    if head.startswith("jet") and head[3:].isdigit():
        return f"jet {head[3:]} {JET_LABELS.get(name, name.replace('_', ' '))}"
    return key.replace("_", " ")


def _suptitle(fig, what: str, title: str | None) -> None:
    fig.suptitle(f"{what} ({title})" if title else what)


def _finite(values) -> np.ndarray:
    values = np.asarray(values, np.float64).reshape(-1)
    return values[np.isfinite(values)]


def _fractions(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    values = _finite(values)
    if values.size == 0:
        return np.zeros(len(edges) - 1)
    return statistics.histogram_counts(values, edges) / values.size


def _eta_phi_image(ax, image: np.ndarray, norm, cmap):
    masked = np.ma.masked_less_equal(np.asarray(image, np.float64), 0.0)
    # Rasterised: 5184 vector quads per panel make slow, heavy PDFs.
    drawn = ax.pcolormesh(towers.ETA_EDGES, towers.PHI_EDGES, masked.T, norm=norm, cmap=cmap,
                          shading="flat", rasterized=True)
    ax.set_xlabel(r"$\eta$")
    ax.set_ylabel(r"$\phi$ [rad]")
    return drawn


# --------------------------------------------------------------------------------------------
# Fig. 4: example events and their jets
# --------------------------------------------------------------------------------------------


def plot_event_examples(
    images: Mapping[str, np.ndarray],
    jets: Mapping[str, Mapping[str, np.ndarray]],
    path_stem: str | os.PathLike,
    title: str | None = None,
    radius: float = event_obs.JET_RADIUS,
) -> list[str]:
    """Example events of the three samples and, below each, the towers of their jets (Fig. 4).

    For every example: a row of the fast, detailed and CALPAGAN images, then a row of the same
    images restricted to the towers of the leading trimmed jets, with a circle of the jet
    radius around each jet axis and the jets' pT in the panel title. The six panels of an
    example share one logarithmic colour scale.

    Args:
        images: ``{"fast", "detailed", "calpagan": [K, 72, 72]}`` GeV, the same K events.
        jets: ``{sample: cluster_jets result for those K events}`` (needs ``"tower_jet"``
            ``[K, 72, 72]`` and ``"pt"``, ``"eta"``, ``"phi"`` ``[K, J]``).
        path_stem: where to save (``.png`` and ``.pdf``).
        title: e.g. ``"W+jets, trained on W+jets"``.
        radius: the circles' radius (the anti-kT R).

    Returns:
        The paths written.
    """
    samples = [s for s in SAMPLES if s in images]
    if not samples:
        raise ValueError(f"plot_event_examples needs images of some of {list(SAMPLES)}")
    count = len(np.asarray(images[samples[0]]))
    if count == 0:
        raise ValueError("plot_event_examples needs at least one event")
    fig, axes = plt.subplots(2 * count, len(samples), figsize=(4.3 * len(samples),
                                                               3.5 * 2 * count),
                             layout="constrained", squeeze=False)
    cmap = plotting.image_cmap()
    for event in range(count):
        event_images = {s: np.asarray(images[s][event], np.float64) for s in samples}
        norm = plotting.log_norm(list(event_images.values()))
        for column, sample in enumerate(samples):
            image = event_images[sample]
            top, bottom = axes[2 * event, column], axes[2 * event + 1, column]
            drawn = _eta_phi_image(top, image, norm, cmap)
            top.set_title(f"event {event + 1}: {SAMPLE_TITLES[sample]}, "
                          f"{np.nansum(np.maximum(image, 0.0)):.0f} GeV", fontsize="small")
            tower_jet = np.asarray(jets[sample]["tower_jet"][event])
            _eta_phi_image(bottom, np.where(tower_jet >= 0, image, 0.0), norm, cmap)
            for eta, phi in zip(jets[sample]["eta"][event], jets[sample]["phi"][event],
                                strict=True):
                if np.isfinite(eta) and np.isfinite(phi):
                    bottom.add_patch(mpatches.Circle((eta, phi), radius, fill=False,
                                                     color="tab:red", linewidth=0.8))
            pts = _finite(jets[sample]["pt"][event])
            bottom.set_title(f"jets: {', '.join(f'{pt:.0f}' for pt in pts)} GeV" if pts.size
                             else "no jet above threshold", fontsize="small")
        fig.colorbar(drawn, ax=axes[2 * event:2 * event + 2, :].ravel().tolist(), shrink=0.8,
                     label="tower energy [GeV]")
    _suptitle(fig, "example events (top) and their trimmed jets (bottom)", title)
    return plotting.save_figure(fig, path_stem)


# --------------------------------------------------------------------------------------------
# Figs 7-12: jet observables with chi2 distances
# --------------------------------------------------------------------------------------------


def chi2_legend_title(chi2: Mapping[str, float]) -> str:
    """``"χ² D–G 12.3, G–C 4.5, D–C 6.7"`` from ``{pair: value}`` (missing pairs left out)."""
    parts = [f"{PAIR_LABELS[pair]} {chi2[pair]:.1f}" for pair in PAIRS
             if pair in chi2 and chi2[pair] is not None and np.isfinite(chi2[pair])]
    return "χ² " + ", ".join(parts) if parts else "χ²: no entries"


def plot_observables(
    observables: Mapping[str, Mapping[str, np.ndarray]],
    chi2: Mapping[str, Mapping[str, float]],
    path_stem: str | os.PathLike,
    keys: Sequence[str] = event_obs.EVENT_OBSERVABLES,
    title: str | None = None,
    num_bins: int = NUM_BINS,
) -> list[str]:
    """Distributions of the jet observables of the three samples (Figs 7-12).

    One panel per observable (jets 1 and 2 side by side, then Δη and Δφ) with the fractions of
    events per bin on common bins; the legend's title gives the χ² distances D–G, G–C and D–C
    as the paper's Fig. 7 does. Events without the jet (NaN) are left out.

    Args:
        observables: ``{"fast", "detailed", "calpagan": {key: [N]}}``
            (:func:`caloml.events.observables.event_observables`).
        chi2: ``{key: {pair: χ²}}`` (:func:`caloml.calpagan.evaluation.chi2_table`).
        path_stem: where to save (``.png`` and ``.pdf``).
        keys: observables to draw, in order.
        title: e.g. ``"dijet events, trained on W+jets"``.
        num_bins: bins per panel.

    Returns:
        The paths written.
    """
    samples = [s for s in SAMPLES if s in observables]
    if not samples or not keys:
        raise ValueError(f"plot_observables needs samples among {list(SAMPLES)} and keys")
    columns = 4
    rows = -(-len(keys) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.9 * columns, 3.2 * rows),
                             layout="constrained", squeeze=False)
    for index, key in enumerate(keys):
        ax = axes[index // columns, index % columns]
        ax.set_xlabel(observable_label(key))
        pooled = np.concatenate([_finite(observables[s][key]) for s in samples])
        edges = statistics.histogram_edges(pooled, pooled, num_bins)
        if edges is None:
            plotting.no_data(ax, observable_label(key))
            continue
        for sample in samples:
            ax.stairs(_fractions(observables[sample][key], edges), edges,
                      label=SAMPLE_LABELS[sample], **SAMPLE_STYLES[sample])
        ax.legend(title=chi2_legend_title(chi2.get(key, {})), fontsize="xx-small",
                  title_fontsize="xx-small")
        if index % columns == 0:
            ax.set_ylabel("fraction of events")
    for index in range(len(keys), rows * columns):
        axes[index // columns, index % columns].set_visible(False)
    _suptitle(fig, "jet observables of the two leading trimmed jets", title)
    return plotting.save_figure(fig, path_stem)


# --------------------------------------------------------------------------------------------
# Fig. 5: Fréchet distance per epoch; Fig. 6: losses per epoch
# --------------------------------------------------------------------------------------------


def plot_frechet_history(
    entries: Sequence[Mapping[str, Any]],
    path_stem: str | os.PathLike,
    title: str | None = None,
) -> list[str]:
    """Fréchet distance of the three pairs per epoch, training set solid, test set dashed (Fig. 5).

    Args:
        entries: ``[{"epoch": e, "train": {pair: d}, "test": {pair: d}}]``
            (:class:`caloml.calpagan.evaluation.FrechetHistory`); a set or pair missing from
            every entry is not drawn.
        path_stem: where to save (``.png`` and ``.pdf``).
        title: optional title.

    Returns:
        The paths written.
    """
    entries = sorted(entries, key=lambda e: e["epoch"])
    if not entries:
        raise ValueError("plot_frechet_history needs at least one epoch")
    fig, ax = plt.subplots(figsize=(7.0, 4.6), layout="constrained")
    epochs = np.array([e["epoch"] for e in entries], np.float64)
    drawn = []
    for which, style in SET_STYLES.items():
        for pair in PAIRS:
            values = np.array([np.nan if e.get(which, {}).get(pair) is None
                               else e[which][pair] for e in entries], np.float64)
            if not np.isfinite(values).any():
                continue
            ax.plot(epochs, values, linestyle=style, marker="o", markersize=2.5,
                    color=PAIR_COLOURS[pair], label=f"{PAIR_LABELS[pair]} ({which})")
            drawn.append(values)
    plotting.log_y_if_positive(ax, *drawn)
    ax.set_xlabel("epoch")
    ax.set_ylabel("Fréchet distance (jet-image classifier features)")
    ax.grid(True, which="both", linestyle=":", alpha=0.5)
    ax.legend(fontsize="small", ncols=2)
    ax.set_title(title or "Fréchet distance per epoch")
    return plotting.save_figure(fig, path_stem)


def plot_losses(
    history: Sequence[Mapping[str, float]],
    path_stem: str | os.PathLike,
    keys: Sequence[str] | None = None,
    title: str | None = None,
) -> list[str]:
    """Generator and discriminator losses per epoch (Fig. 6).

    Args:
        history: ``[{"epoch": e, "<loss>": value, ...}]`` (:class:`caloml.training.callbacks.
            History` entries).
        path_stem: where to save (``.png`` and ``.pdf``).
        keys: losses to draw; default: those of :data:`LOSS_LABELS` found in the history.
        title: optional title.

    Returns:
        The paths written.
    """
    history = sorted(history, key=lambda e: e["epoch"])
    if keys is None:
        keys = [k for k in LOSS_LABELS if any(k in e for e in history)]
    if not history or not keys:
        raise ValueError("plot_losses needs epochs holding at least one loss")
    fig, ax = plt.subplots(figsize=(7.0, 4.4), layout="constrained")
    epochs = np.array([e["epoch"] for e in history], np.float64)
    for key in keys:
        values = np.array([e.get(key, np.nan) if e.get(key) is not None else np.nan
                           for e in history], np.float64)
        ax.plot(epochs, values, marker="o", markersize=2.5,
                label=LOSS_LABELS.get(key, key.replace("_", " ")))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (training set, epoch mean)")
    ax.grid(True, linestyle=":", alpha=0.5)
    ax.legend(fontsize="small")
    ax.set_title(title or "losses per epoch")
    return plotting.save_figure(fig, path_stem)


# --------------------------------------------------------------------------------------------
# Fig. 13: inference time
# --------------------------------------------------------------------------------------------


def plot_inference_time(
    runtime: Mapping[str, Any],
    path_stem: str | os.PathLike,
    title: str | None = None,
) -> list[str]:
    """Milliseconds per event against batch size, log-log (Fig. 13; one device here).

    Args:
        runtime: :func:`caloml.calpagan.evaluation.inference_time`'s result: ``"device"`` and
            ``"rows"`` of ``batch_size``, ``ms_per_event`` (median) and ``ms_per_event_all``.
        path_stem: where to save (``.png`` and ``.pdf``).
        title: optional title.

    Returns:
        The paths written.
    """
    rows = sorted(runtime["rows"], key=lambda r: r["batch_size"])
    if not rows:
        raise ValueError("plot_inference_time needs at least one batch size")
    fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    batch = np.array([r["batch_size"] for r in rows], np.float64)
    median = np.array([r["ms_per_event"] for r in rows], np.float64)
    low = np.array([min(r.get("ms_per_event_all") or [m]) for r, m in zip(rows, median,
                                                                          strict=True)])
    high = np.array([max(r.get("ms_per_event_all") or [m]) for r, m in zip(rows, median,
                                                                           strict=True)])
    ax.errorbar(batch, median, yerr=[median - low, high - median], marker="o", color="tab:red",
                capsize=3, label=f"CALPAGAN, {runtime.get('device', 'cpu').upper()} "
                "(median, range of repeats)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel("inference time per event [ms]")
    ax.grid(True, which="both", linestyle=":", alpha=0.5)
    ax.legend(fontsize="small")
    ax.set_title(title or "inference time per event")
    return plotting.save_figure(fig, path_stem)
