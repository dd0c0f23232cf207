"""The figures of the end-to-end reconstruction study (paper 003, Figs. 13–15, 17–19, 25–28).

Each ``plot_*`` function takes the results of :mod:`caloml.reco.evaluation` (no networks),
saves ``<path_stem>.png`` and ``.pdf`` (:func:`caloml.plotting.core.save_figure`) and returns
the paths; :func:`write_figures` draws everything a list of predictions files allows, one
geometry and angle at a time (CLIC: Figs. 13–15; ATLAS- and CMS-like: Figs. 17–19).

Conventions of :mod:`caloml.reco.evaluation`: the signal is class 0 (γ or e); bias and
resolution are fractions, drawn in %.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np

from caloml.data.resample import TargetGeometry, get_target, resampler
from caloml.errors import InputError
from caloml.plotting import core as plotting
from caloml.reco import evaluation

GEOMETRY_LABELS = {"clic": "CLIC", "atlas": "ATLAS-like",
                   "atlas_printed": "ATLAS-like (Δη 0.5)", "cms": "CMS-like"}
# Rows of the regression figures in the paper's order (Fig. 15: e, π±, γ, π⁰).
PARTICLE_ORDER = ("electron", "piplus", "photon", "pi0")
_MARKERS = {"linear": "v", "xgboost": "s", "xgboost_bdt": "s", "adaboost": "D"}
# Bins of true η in the accuracy figure (Fig. 14, right) over the range of the test set.
NUM_ETA_BINS = 10
_ENERGY_TICKS_GEV = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def method_label(method: str) -> str:
    """Legend name of a method (``"googlenet"`` → ``"GN"``, as in the paper)."""
    return evaluation.METHOD_LABELS.get(method, method)


def _colour(method: str) -> str:
    index = evaluation.METHODS.index(method) if method in evaluation.METHODS else 0
    return f"C{index % 10}"


def _marker(method: str) -> str:
    return _MARKERS.get(method, "o")


def _energy_ticks(ax) -> None:
    """Labels a log true-energy axis at 2, 5, 10, 20, … GeV (inside its current limits)."""
    low, high = ax.get_xlim()
    ticks = [t for t in _ENERGY_TICKS_GEV if low <= t <= high]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(mticker.NullFormatter())


def _title(geometry: str, angle: str, what: str = "") -> str:
    where = f"{GEOMETRY_LABELS.get(geometry, geometry)}, {angle} angle"
    return f"{what}, {where}" if what else where


def plot_roc_curves(
    rocs: Mapping[str, evaluation.RocCurve],
    path_stem: str | os.PathLike,
    signal: str,
    background: str,
    title: str | None = None,
) -> list[str]:
    """ROC curves of every method (Figs. 13 and 17), AUC ± bootstrap error in the legend.

    Left: signal efficiency vs background efficiency on linear axes, as the paper draws them,
    with the diagonal of a random guess. Right: background rejection (1 / background
    efficiency, log scale) vs signal efficiency, which separates curves near AUC = 1; points
    where no background passes are left out.

    Args:
        rocs: ``{method: RocCurve}`` in drawing order.
        path_stem: where to save (``.png`` and ``.pdf``).
        signal: particle name of class 0 (``"photon"``, ``"electron"``).
        background: particle name of class 1 (``"pi0"``, ``"piplus"``).
        title: optional figure title.

    Returns:
        The paths written.
    """
    sig, bkg = plotting.particle_label(signal), plotting.particle_label(background)
    fig, (roc_ax, rej_ax) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
    for method, roc in rocs.items():
        label = f"{method_label(method)} (AUC = {roc.auc:.4f} ± {roc.auc_err:.4f})"
        style = {"color": _colour(method), "linewidth": 1.5}
        roc_ax.plot(roc.background_efficiency, roc.signal_efficiency, label=label, **style)
        passing = roc.background_efficiency > 0
        rej_ax.plot(roc.signal_efficiency[passing], 1.0 / roc.background_efficiency[passing],
                    label=method_label(method), **style)
    roc_ax.plot([0, 1], [0, 1], color="0.5", linestyle="--", linewidth=1, label="random")
    roc_ax.set_xlim(0, 1)
    roc_ax.set_ylim(0, 1.02)
    roc_ax.set_xlabel(f"{bkg} efficiency (false-positive rate)")
    roc_ax.set_ylabel(f"{sig} efficiency (true-positive rate)")
    roc_ax.legend(loc="lower right", fontsize="small")
    rej_ax.set_yscale("log")
    rej_ax.set_xlim(0, 1)
    rej_ax.set_xlabel(f"{sig} efficiency")
    rej_ax.set_ylabel(f"{bkg} rejection (1 / efficiency)")
    rej_ax.legend(loc="upper right", fontsize="small")
    for ax in (roc_ax, rej_ax):
        ax.grid(True, which="both", linestyle=":", alpha=0.5)
    if title:
        fig.suptitle(title)
    return plotting.save_figure(fig, path_stem)


def _accuracy_points(ax, accuracy: evaluation.BinnedAccuracy, method: str) -> None:
    shown = accuracy.counts > 0
    ax.errorbar(accuracy.centres[shown], accuracy.accuracy[shown], yerr=accuracy.error[shown],
                color=_colour(method), marker=_marker(method), markersize=4, linestyle="-",
                linewidth=1, label=method_label(method))


def plot_accuracy(
    by_method: Mapping[str, tuple[evaluation.BinnedAccuracy, evaluation.BinnedAccuracy | None]],
    path_stem: str | os.PathLike,
    title: str | None = None,
) -> list[str]:
    """Classification accuracy in bins of true energy (left) and true η (right), Fig. 14.

    Args:
        by_method: ``{method: (accuracy vs energy, accuracy vs η or None)}``; the paper draws
            its best network only. Empty bins are not drawn; a None η binning (fixed angle:
            one η value) leaves a "not recorded" panel.
        path_stem: where to save.
        title: optional figure title.

    Returns:
        The paths written.
    """
    fig, (energy_ax, eta_ax) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    has_eta = False
    for method, (vs_energy, vs_eta) in by_method.items():
        _accuracy_points(energy_ax, vs_energy, method)
        if vs_eta is not None:
            _accuracy_points(eta_ax, vs_eta, method)
            has_eta = True
    energy_ax.set_xlabel("true energy [GeV]")
    energy_ax.set_xscale("log")
    _energy_ticks(energy_ax)
    eta_ax.set_xlabel(r"true $\eta$")
    for ax in (energy_ax, eta_ax):
        ax.set_ylabel("accuracy")
        ax.grid(True, linestyle=":", alpha=0.5)
    energy_ax.legend(loc="lower left", fontsize="small")
    if has_eta:
        eta_ax.legend(loc="lower left", fontsize="small")
    else:
        plotting.no_data(eta_ax, "η dependence (one η value)")
    if title:
        fig.suptitle(title)
    return plotting.save_figure(fig, path_stem)


def plot_energy_response(
    by_particle: Mapping[str, Mapping[str, tuple[evaluation.EnergyResponse,
                                                 evaluation.ResolutionFit]]],
    path_stem: str | os.PathLike,
    title: str | None = None,
) -> list[str]:
    """Bias (left) and resolution (right, with the Eq. 3 fit) vs true energy (Figs. 15, 18, 19,
    26–28): one row per particle, one series per method.

    Args:
        by_particle: ``{particle: {method: (EnergyResponse, ResolutionFit)}}``; rows follow
            the dict's order. Sparse bins (NaN) are not drawn; an invalid fit draws no line.
        path_stem: where to save.
        title: optional figure title.

    Returns:
        The paths written.
    """
    if not by_particle:
        raise InputError("plot_energy_response needs at least one particle")
    rows = len(by_particle)
    fig, axes = plt.subplots(rows, 2, figsize=(11, 3.6 * rows), layout="constrained",
                             squeeze=False)
    for (particle, methods), (bias_ax, res_ax) in zip(by_particle.items(), axes, strict=True):
        lowest, highest = np.inf, 0.0
        for method, (response, fit) in methods.items():
            colour, marker = _colour(method), _marker(method)
            shown = np.isfinite(response.resolution)
            energy = response.mean_energy_gev[shown]
            bias_ax.errorbar(energy, 100 * response.bias[shown],
                             yerr=100 * response.bias_err[shown], color=colour, marker=marker,
                             markersize=4, linestyle="-", linewidth=1,
                             label=method_label(method))
            label = method_label(method)
            if fit.valid:
                label += (f": {100 * fit.a:.1f}%/√E ⊕ {100 * fit.b:.2f}% ⊕ "
                          f"{fit.c:.2f} GeV/E")
            res_ax.errorbar(energy, 100 * response.resolution[shown],
                            yerr=100 * response.resolution_err[shown], color=colour,
                            marker=marker, markersize=4, linestyle="none", label=label)
            if shown.any():
                lowest = min(lowest, float(response.edges_gev[0]))
                highest = max(highest, float(response.edges_gev[-1]))
            if fit.valid and shown.any():
                curve = np.geomspace(response.edges_gev[0], response.edges_gev[-1], 200)
                res_ax.plot(curve, 100 * fit(curve), color=colour, linewidth=1)
        name = plotting.particle_label(particle)
        bias_ax.set_ylabel(f"{name} relative bias [%]")
        res_ax.set_ylabel(f"{name} resolution σ(ΔE)/E [%]")
        if highest == 0:
            # No bin holds enough events: say so instead of drawing empty log axes.
            for ax in (bias_ax, res_ax):
                plotting.no_data(ax, f"{name} energy response (too few test events per bin)")
            continue
        bias_ax.axhline(0.0, color="0.5", linewidth=0.8)
        res_ax.set_yscale("log")
        for ax in (bias_ax, res_ax):
            ax.set_xscale("log")
            ax.set_xlabel("true energy [GeV]")
            ax.grid(True, which="both", linestyle=":", alpha=0.5)
            if highest > 0:
                ax.set_xlim(lowest, highest)
            if methods:
                ax.legend(loc="best", fontsize="x-small")
        # Plain numbers ("3", "20") rather than "3×10⁰" on the log resolution axis.
        res_ax.yaxis.set_major_formatter(mticker.LogFormatter(labelOnlyBase=False))
        res_ax.yaxis.set_minor_formatter(mticker.LogFormatter(labelOnlyBase=False,
                                                              minor_thresholds=(2, 0.5)))
        for ax in (bias_ax, res_ax):
            _energy_ticks(ax)
    if title:
        fig.suptitle(title)
    return plotting.save_figure(fig, path_stem)


def plot_feature_importance(
    names: Sequence[str],
    importances: Sequence[float] | np.ndarray,
    path_stem: str | os.PathLike,
    top: int | None = None,
    xlabel: str = "Gini importance",
    title: str | None = None,
) -> list[str]:
    """Horizontal bars of the BDT's feature importances, largest on top (Fig. 25).

    Args:
        names: ``[F]`` feature names.
        importances: ``[F]`` their importances (e.g. sklearn's ``feature_importances_``).
        path_stem: where to save.
        top: draw only the ``top`` largest (all if None).
        xlabel: what the importances are.
        title: optional figure title.

    Returns:
        The paths written.
    """
    values = np.asarray(importances, np.float64).reshape(-1)
    if len(names) != values.size:
        raise InputError(f"{len(names)} feature names but {values.size} importances")
    if values.size == 0:
        raise InputError("plot_feature_importance needs at least one feature")
    if top is not None and top < 1:
        raise InputError(f"top must be a positive number of features, got {top}")
    order = np.argsort(-values, kind="stable")[:top]
    fig, ax = plt.subplots(figsize=(7, 1.0 + 0.28 * order.size), layout="constrained")
    positions = np.arange(order.size)[::-1]  # the largest at the top
    ax.barh(positions, values[order], color="C0")
    ax.set_yticks(positions, [names[i] for i in order], fontsize="small")
    ax.set_xlabel(xlabel)
    ax.grid(True, axis="x", linestyle=":", alpha=0.5)
    if title:
        fig.suptitle(title)
    return plotting.save_figure(fig, path_stem)


def _eta_edges(eta: np.ndarray) -> np.ndarray | None:
    """NUM_ETA_BINS equal bins over the η range of the events; None if η hardly varies."""
    low, high = float(np.min(eta)), float(np.max(eta))
    if high - low < 1e-6:
        return None
    return np.linspace(low, high, NUM_ETA_BINS + 1)


def write_figures(
    predictions: Sequence[evaluation.Predictions],
    plots_dir: str | os.PathLike,
    num_bootstrap: int = evaluation.NUM_BOOTSTRAP,
    seed: int = 0,
    edges_gev: Sequence[float] = evaluation.DEFAULT_ENERGY_EDGES_GEV,
    estimator: str = "std",
) -> list[str]:
    """Draws every figure the predictions allow, per geometry and angle, into ``plots_dir``.

    * ``roc_<task>_<geometry>_<angle>``: ROC curves of every classifying method;
    * ``accuracy_<task>_<geometry>_<angle>``: accuracy vs energy and η of the best network
      by AUC (of the best method if no network classified);
    * ``energy_response_<geometry>_<angle>``: bias and resolution of every regressing
      method, one row per particle.

    A method without a task's classification (or without regression) is simply absent.

    Args:
        predictions: every method's :class:`~caloml.reco.evaluation.Predictions`.
        plots_dir: the directory (created if missing).
        num_bootstrap: replicas of the AUC errors in the legends.
        seed: seed of the bootstraps.
        edges_gev: true-energy bins of the accuracy and regression figures.
        estimator: resolution estimator (:func:`~caloml.reco.evaluation.energy_response`).

    Returns:
        The paths written.
    """
    plots_dir = os.fspath(plots_dir)
    os.makedirs(plots_dir, exist_ok=True)
    paths: list[str] = []
    for (geometry, angle, task), methods in evaluation.classification_groups(predictions).items():
        signal, background = (evaluation.particle_of(pdg) for pdg in evaluation.TASK_PDGS[task])
        rocs = {m: evaluation.roc_with_auc(p.label, p.score, num_bootstrap, seed)
                for m, p in methods.items()}
        stem = f"{task}_{geometry}_{angle}"
        paths += plot_roc_curves(rocs, os.path.join(plots_dir, f"roc_{stem}"), signal,
                                 background, _title(geometry, angle,
                                                    evaluation.TASK_LABELS[task]))
        networks = [m for m in rocs if m in evaluation.NETWORKS] or list(rocs)
        best = max(networks, key=lambda m: rocs[m].auc)
        p = methods[best]
        eta_edges = _eta_edges(p.eta[p.label >= 0])
        accuracy = (evaluation.binned_accuracy(p.label, p.score, p.energy_true_gev, edges_gev),
                    None if eta_edges is None
                    else evaluation.binned_accuracy(p.label, p.score, p.eta, eta_edges))
        paths += plot_accuracy({best: accuracy}, os.path.join(plots_dir, f"accuracy_{stem}"),
                               _title(geometry, angle, evaluation.TASK_LABELS[task]))
    by_place: dict[tuple[str, str], dict[str, dict]] = {}
    for (geometry, angle, particle), methods in evaluation.regression_groups(predictions).items():
        results = {}
        for method, (true, pred) in methods.items():
            response = evaluation.energy_response(true, pred, edges_gev, estimator, seed=seed)
            fit = evaluation.fit_resolution_eq3(response.mean_energy_gev, response.resolution,
                                                response.resolution_err)
            results[method] = (response, fit)
        by_place.setdefault((geometry, angle), {})[particle] = results
    for (geometry, angle), by_particle in by_place.items():
        ordered = {p: by_particle[p] for p in PARTICLE_ORDER if p in by_particle}
        paths += plot_energy_response(
            ordered, os.path.join(plots_dir, f"energy_response_{geometry}_{angle}"),
            _title(geometry, angle, "energy regression"))
    return paths


def plot_resampling_example(ecal: np.ndarray, target: str | TargetGeometry,
                   path_stem: str | os.PathLike, event: int | None = None) -> list[str]:
    """One window before, on the target grid and after resampling (cf. paper 003 Fig. 16).

    Panels, all summed over depth and drawn in CLIC cells (x along r φ, y along the beam):
    the CLIC window; each target layer's readout on its own cells (:meth:`Resampler.to_target`,
    the cell edges drawn as they are, overhanging the window); the window back on the CLIC grid.
    The first and last panels share a logarithmic colour scale.

    Args:
        ecal: one window ``[51, 51, 25]`` (GeV).
        target: a :data:`TARGETS` name or a :class:`TargetGeometry`.
        path_stem: output path without extension (``.png`` and ``.pdf`` are written).
        event: the event's index, for the title.

    Returns:
        The paths written.
    """
    geometry = get_target(target)
    ecal = np.asarray(ecal, np.float64)
    operator = resampler(geometry, ecal.shape)
    on_target = [layer[0] for layer in operator.to_target(ecal[None])]
    before = ecal.sum(axis=-1)
    after = operator.apply(ecal[None])[0].sum(axis=-1, dtype=np.float64)
    num_panels = len(on_target) + 2
    fig, axes = plt.subplots(1, num_panels, figsize=(3.3 * num_panels, 3.6),
                             layout="constrained")
    clic_x = np.arange(operator.shape[0] + 1)
    clic_y = np.arange(operator.shape[1] + 1)
    shared = plotting.log_norm([before, after])
    cmap = plotting.image_cmap()
    panels = [(before, clic_x, clic_y, shared, "CLIC, summed over depth")]
    for i, (image, layer) in enumerate(zip(on_target, geometry.layers, strict=True)):
        first, stop = layer.clic_layers
        panels.append((image, operator.x_edges[i], operator.y_edges[i],
                       plotting.log_norm([image]),
                       f"{geometry.name} layer {i + 1} (CLIC layers {first}-{stop - 1})\n"
                       f"{image.shape[0]} x {image.shape[1]} cells"))
    panels.append((after, clic_x, clic_y, shared, "back on CLIC, summed over depth"))
    low = min(min(p[1][0], p[2][0]) for p in panels)
    high = max(max(p[1][-1], p[2][-1]) for p in panels)
    for ax, (image, x_edges, y_edges, norm, title) in zip(axes, panels, strict=True):
        # Each grid is regular: an image spanning its edges shows its cells at their size.
        drawn = ax.imshow(np.ma.masked_less_equal(image, 0.0).T, origin="lower", norm=norm,
                         cmap=cmap, interpolation="nearest", aspect="equal",
                         extent=(x_edges[0], x_edges[-1], y_edges[0], y_edges[-1]))
        ax.set_title(title, fontsize="small")
        ax.set_xlim(low, high)
        ax.set_ylim(low, high)
        ax.set_xlabel(r"x [CLIC cells] (r$\phi$)")
        fig.colorbar(drawn, ax=ax, shrink=0.8, label="GeV per cell")
    axes[0].set_ylabel(r"y [CLIC cells] (beam, $\eta$)")
    which = "" if event is None else f"event {event}, "
    fig.suptitle(f"Resampling to {geometry.name}: {which}{before.sum():.4g} GeV in the ECAL "
                 f"before, {after.sum():.4g} GeV after")
    return plotting.save_figure(fig, path_stem)
