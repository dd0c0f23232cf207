"""The figures of the 3DGAN assessment (paper 003 §4.2 Figs 7–10, Appendix B Figs 21–22).

Each ``plot_*`` function takes plain numpy results of :mod:`caloml.gan3d.evaluation` (no
networks), saves ``<path_stem>.png`` and ``.pdf`` (:func:`caloml.plotting.core.save_figure`)
and returns the paths. Showers are ``[X, Y, Z]`` windows (x along r φ, y along the beam, z the
depth) in the files' units; positions in cells; angles are drawn in degrees. "Simulator" is the
reference (the public files' Geant4 or caloml's embedded simulator), drawn filled or grey;
"3DGAN" the generated showers, drawn as a red line.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from caloml.gan3d import config as config_lib
from caloml.observables import statistics
from caloml.plotting import core as plotting

SIMULATOR_LABEL = "simulator"
GAN_LABEL = "3DGAN"
SIMULATOR_STYLE = {"color": "0.45", "alpha": 0.45, "fill": True}
GAN_STYLE = {"color": "tab:red", "linewidth": 1.4}
SIMULATOR_COLOUR, GAN_COLOUR = "0.3", "tab:red"
PAPER_LABELS = {"geant4_xeon_8180": "Geant4, Xeon 8180 (paper)",
                "3dgan_xeon_8180": "3DGAN, Xeon 8180 (paper)",
                "3dgan_gtx_1080": "3DGAN, GTX 1080 (paper)"}
_PAPER_STYLES = {"geant4_xeon_8180": ("black", ":"), "3dgan_xeon_8180": ("tab:blue", "--"),
                 "3dgan_gtx_1080": ("tab:green", "-.")}
# Projections of the example showers: (summed axis, horizontal axis, vertical axis).
EXAMPLE_PROJECTIONS = ((0, 2, 1), (2, 0, 1))
AXIS_NAMES = ("x", "y", "z")
AXIS_LABELS = {"x": "x [cell]", "y": "y [cell]", "z": "z (layer)"}
OBSERVABLE_LABELS = {
    "sampling_fraction": r"$E_\mathrm{ECAL}$ / $E$",
    "num_hits": "hits above threshold",
    "second_moment_x": r"$\langle (x - \bar x)^2 \rangle$ [cell$^2$]",
    "second_moment_y": r"$\langle (y - \bar y)^2 \rangle$ [cell$^2$]",
    "second_moment_z": r"$\langle (z - \bar z)^2 \rangle$ [layer$^2$]",
    "longitudinal_fraction_1": r"$E_\mathrm{1st\ third}$ / $E_\mathrm{ECAL}$",
    "longitudinal_fraction_2": r"$E_\mathrm{2nd\ third}$ / $E_\mathrm{ECAL}$",
    "longitudinal_fraction_3": r"$E_\mathrm{3rd\ third}$ / $E_\mathrm{ECAL}$",
    "measured_theta": r"measured $\theta$ [rad]",
}


def bin_label(name: str) -> str:
    """``"62deg"`` → ``"θ ≈ 62°"``; ``"all"`` → ``"all angles"``; energies ``"110"`` → GeV."""
    match = re.fullmatch(r"([\d.]+)deg", name)
    if match:
        return f"θ ≈ {match.group(1)}°"
    if name == "all":
        return "all events"
    return f"{name} GeV"


def _suptitle(fig, what: str, title: str | None) -> None:
    fig.suptitle(f"{what} ({title})" if title else what)


def _fractions(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, np.float64)
    total = counts.sum()
    return counts / total if total > 0 else counts


def _draw_histogram(ax, histogram: Mapping[str, Any] | None, xlabel: str) -> None:
    ax.set_xlabel(xlabel)
    if histogram is None:
        plotting.no_data(ax, xlabel)
        return
    edges = np.asarray(histogram["edges"], np.float64)
    ax.stairs(_fractions(histogram["simulator"]), edges, label=SIMULATOR_LABEL,
              **SIMULATOR_STYLE)
    ax.stairs(_fractions(histogram["gan"]), edges, label=GAN_LABEL, **GAN_STYLE)
    ax.set_title(f"separation power {histogram['separation_power']:.3g}", fontsize="small")


def _histogram_row(histograms: Mapping[str, Mapping[str, Any] | None], xlabels: Sequence[str],
                   path_stem, what: str, title: str | None) -> list[str]:
    if not histograms:
        raise ValueError(f"{what}: nothing to draw")
    fig, axes = plt.subplots(1, len(histograms), figsize=(4.2 * len(histograms), 3.6),
                             layout="constrained", squeeze=False)
    for ax, histogram, xlabel in zip(axes[0], histograms.values(), xlabels, strict=True):
        _draw_histogram(ax, histogram, xlabel)
    axes[0, 0].set_ylabel("fraction of showers")
    axes[0, 0].legend(fontsize="small")
    _suptitle(fig, what, title)
    return plotting.save_figure(fig, path_stem)


def plot_example_showers(
    simulated: np.ndarray,
    generated: np.ndarray,
    labels: Sequence[str],
    path_stem: str | os.PathLike,
    title: str | None = None,
) -> list[str]:
    """Example showers as 2D projections, simulator beside 3DGAN (paper Figs 7–8).

    One row per example; columns: the y–z projection (summed over x: the beam coordinate
    against the depth, where the angle shows) of the simulator and of the GAN, then the x–y
    projection (summed over the layers) of both. Each pair shares a logarithmic colour scale.

    Args:
        simulated: ``[K, X, Y, Z]`` simulated showers.
        generated: ``[K, X, Y, Z]`` the showers generated at their energies and angles.
        labels: ``[K]`` row titles (e.g. "150 GeV, 62°").
        path_stem: where to save (``.png`` and ``.pdf``).
        title: optional figure title.

    Returns:
        The paths written.
    """
    simulated, generated = np.asarray(simulated), np.asarray(generated)
    if simulated.ndim != 4 or simulated.shape != generated.shape or len(labels) != len(
            simulated) or len(simulated) == 0:
        raise ValueError(f"need K >= 1 simulated and generated showers [K, X, Y, Z] and K "
                         f"labels, got {simulated.shape}, {generated.shape} and {len(labels)}")
    num = len(simulated)
    fig, axes = plt.subplots(num, 4, figsize=(14, 3.0 * num), layout="constrained",
                             squeeze=False)
    cmap = plotting.image_cmap()
    for row in range(num):
        for p, (summed, horizontal, vertical) in enumerate(EXAMPLE_PROJECTIONS):
            images = []
            for shower in (simulated[row], generated[row]):
                image = shower.sum(axis=summed, dtype=np.float64)
                # The remaining axes keep their order; transpose to (vertical, horizontal).
                remaining = [a for a in range(3) if a != summed]
                if remaining.index(vertical) != 0:
                    image = image.T
                images.append(image)
            norm = plotting.log_norm(images)
            for s, (image, who) in enumerate(zip(images, (SIMULATOR_LABEL, GAN_LABEL),
                                                 strict=True)):
                ax = axes[row, 2 * p + s]
                drawn = ax.imshow(np.ma.masked_less_equal(image, 0.0), origin="lower",
                                  aspect="auto", norm=norm, cmap=cmap, interpolation="nearest")
                ax.set_title(f"{who}: {labels[row]}", fontsize="small")
                ax.set_xlabel(AXIS_LABELS[AXIS_NAMES[horizontal]])
                ax.set_ylabel(AXIS_LABELS[AXIS_NAMES[vertical]])
            fig.colorbar(drawn, ax=axes[row, 2 * p:2 * p + 2], shrink=0.9,
                         label="energy [files' units]")
    _suptitle(fig, "example showers: y–z and x–y projections", title)
    return plotting.save_figure(fig, path_stem)


def plot_sampling_fraction(
    profiles: Mapping[str, Mapping[str, Any]],
    path_stem: str | os.PathLike,
    title: str | None = None,
) -> list[str]:
    """Mean sampling fraction (ECAL sum / E) against E, one panel per angle bin (Fig. 9 top).

    Args:
        profiles: ``{bin: {"centres" [K] GeV, "num" [K], "simulator": {"mean", "std"},
            "gan": {"mean", "std"}}}`` (:func:`caloml.gan3d.evaluation.binned_means`).
        path_stem: where to save (``.png`` and ``.pdf``).
        title: optional figure title.

    Returns:
        The paths written.
    """
    if not profiles:
        raise ValueError("plot_sampling_fraction needs at least one angle bin")
    fig, axes = plt.subplots(1, len(profiles), figsize=(4.4 * len(profiles), 3.8),
                             layout="constrained", squeeze=False, sharey=True)
    for ax, (name, profile) in zip(axes[0], profiles.items(), strict=True):
        centres = np.asarray(profile["centres"], np.float64)
        for who, key, colour, marker in ((SIMULATOR_LABEL, "simulator", SIMULATOR_COLOUR, "o"),
                                         (GAN_LABEL, "gan", GAN_COLOUR, "s")):
            ax.errorbar(centres, profile[key]["mean"], yerr=profile[key]["std"], color=colour,
                        marker=marker, markersize=4, linestyle="-", capsize=2, label=who)
        ax.set_title(f"{bin_label(name)} ({int(np.sum(profile['num']))} showers)",
                     fontsize="small")
        ax.set_xlabel(r"$E$ [GeV]")
    axes[0, 0].set_ylabel(OBSERVABLE_LABELS["sampling_fraction"])
    axes[0, 0].legend(fontsize="small")
    _suptitle(fig, "sampling fraction", title)
    return plotting.save_figure(fig, path_stem)


def plot_hits(
    histograms: Mapping[str, Mapping[str, Any] | None],
    path_stem: str | os.PathLike,
    threshold: float,
    title: str | None = None,
) -> list[str]:
    """Number of cells above ``threshold`` per shower, one panel per angle bin (Fig. 9).

    Args:
        histograms: ``{bin: {"edges", "simulator", "gan", "separation_power"} or None}``
            (:func:`caloml.gan3d.evaluation.compare`).
        path_stem: where to save (``.png`` and ``.pdf``).
        threshold: the hit threshold (files' units), in the axis label.
        title: optional figure title.
    """
    labels = [f"hits above {threshold:g}, {bin_label(name)}" for name in histograms]
    return _histogram_row(histograms, labels, path_stem, "number of hits", title)


def plot_second_moments(
    histograms: Mapping[str, Mapping[str, Any] | None],
    path_stem: str | os.PathLike,
    title: str | None = None,
) -> list[str]:
    """Second moments (squared widths) along x, y, z (Fig. 10, first column).

    Args:
        histograms: ``{"second_moment_x": histogram or None, …}`` in drawing order.
    """
    labels = [OBSERVABLE_LABELS.get(name, name) for name in histograms]
    return _histogram_row(histograms, labels, path_stem, "second moments", title)


def plot_longitudinal_fractions(
    histograms: Mapping[str, Mapping[str, Any] | None],
    path_stem: str | os.PathLike,
    title: str | None = None,
) -> list[str]:
    """Energy fractions of the three longitudinal thirds (Fig. 10, second column).

    Args:
        histograms: ``{"longitudinal_fraction_1": histogram or None, …}``.
    """
    labels = [OBSERVABLE_LABELS.get(name, name) for name in histograms]
    return _histogram_row(histograms, labels, path_stem, "longitudinal energy fractions", title)


def plot_profiles(
    profiles: Mapping[str, Mapping[str, Mapping[str, np.ndarray]] | None],
    path_stem: str | os.PathLike,
    log: bool = False,
    title: str | None = None,
) -> list[str]:
    """Mean shower profiles along x, y, z (Fig. 9 linear per angle bin; Fig. 10 log).

    Args:
        profiles: ``{bin: {"x": {"simulator": [X], "gan": [X]}, "y": …, "z": …} or None}``:
            mean energy per cell index; one row per bin (None: "not recorded").
        path_stem: where to save (``.png`` and ``.pdf``).
        log: logarithmic energy axis (the tails, Fig. 10).
        title: optional figure title.
    """
    if not profiles:
        raise ValueError("plot_profiles needs at least one bin")
    fig, axes = plt.subplots(len(profiles), 3, figsize=(13, 3.2 * len(profiles)),
                             layout="constrained", squeeze=False)
    for row, (name, profile) in enumerate(profiles.items()):
        for column, axis in enumerate(AXIS_NAMES):
            ax = axes[row, column]
            ax.set_xlabel(AXIS_LABELS[axis])
            ax.set_title(bin_label(name), fontsize="small")
            if profile is None:
                plotting.no_data(ax, f"{axis} profile")
                continue
            simulator = np.asarray(profile[axis]["simulator"], np.float64)
            gan = np.asarray(profile[axis]["gan"], np.float64)
            edges = np.arange(len(simulator) + 1) - 0.5
            ax.stairs(simulator, edges, label=SIMULATOR_LABEL, **SIMULATOR_STYLE)
            ax.stairs(gan, edges, label=GAN_LABEL, **GAN_STYLE)
            if log:
                plotting.log_y_if_positive(ax, simulator[simulator > 0], gan[gan > 0])
        axes[row, 0].set_ylabel("mean energy per cell [files' units]")
    axes[0, 0].legend(fontsize="small")
    _suptitle(fig, "shower profiles" + (" (log scale)" if log else ""), title)
    return plotting.save_figure(fig, path_stem)


def plot_relative_errors(
    relative: Mapping[str, Mapping[str, Any]],
    path_stem: str | os.PathLike,
    title: str | None = None,
) -> list[str]:
    """GANutils' relative errors of the mean moments and profiles per energy bin.

    Left: the moment error of each order (mean |error| over x, y, z); right: the profile error
    of each axis (mean |error| over its cells) and their mean. Bins without showers are left
    out.

    Args:
        relative: :func:`caloml.observables.voxels.binned_relative_errors`' result.
    """
    names = [name for name, entry in relative.items() if entry.get("moments") is not None]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    positions = np.arange(len(names))
    if names:
        per_order = np.array([relative[n]["moments"]["per_order"] for n in names], np.float64)
        for order in range(per_order.shape[1]):
            left.plot(positions, per_order[:, order], marker="o",
                      label=f"moment {order + 1}" + (" (barycentre)" if order == 0 else ""))
        per_axis = np.array([relative[n]["projections"]["per_axis"] for n in names], np.float64)
        for a, axis in enumerate(AXIS_NAMES):
            right.plot(positions, per_axis[:, a], marker="o", label=f"{axis} profile")
        right.plot(positions, [relative[n]["projections"]["total"] for n in names], marker="s",
                   color="black", linestyle="--", label="mean of x, y, z")
    else:
        plotting.no_data(left, "moments")
        plotting.no_data(right, "profiles")
    for ax, what in ((left, "moments"), (right, "profiles")):
        ax.set_xticks(positions, [bin_label(n) for n in names])
        ax.set_xlabel("energy bin")
        ax.set_ylabel(f"relative error of the mean {what}")
        if names:
            ax.legend(fontsize="small")
    _suptitle(fig, "relative errors, 3DGAN against the simulator", title)
    return plotting.save_figure(fig, path_stem)


def plot_measured_angle(
    requested_rad: np.ndarray,
    measured_rad: np.ndarray,
    path_stem: str | os.PathLike,
    title: str | None = None,
    num_bins: int = 12,
) -> list[str]:
    """The angle measured from the generated showers against the requested angle.

    Left: the mean (± standard deviation) measured angle per bin of requested angle, with the
    diagonal; right: the distribution of measured − requested. Undefined measurements (NaN)
    are left out.

    Args:
        requested_rad: ``[N]`` requested angles (the simulated events' ``mtheta``).
        measured_rad: ``[N]`` angles measured from the generated showers (NaN: undefined).
    """
    requested = np.degrees(np.asarray(requested_rad, np.float64))
    measured = np.degrees(np.asarray(measured_rad, np.float64))
    defined = np.isfinite(requested) & np.isfinite(measured)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    left.set_xlabel("requested θ [°]")
    left.set_ylabel("measured θ of the 3DGAN showers [°]")
    right.set_xlabel("measured − requested θ [°]")
    right.set_ylabel("fraction of showers")
    if defined.any():
        edges = statistics.default_width_bins(requested[defined], num=num_bins)
        index = np.clip(np.digitize(requested[defined], edges[1:-1]), 0, num_bins - 1)
        centres = 0.5 * (edges[1:] + edges[:-1])
        filled = np.bincount(index, minlength=num_bins) > 0
        means = np.array([measured[defined][index == k].mean() if filled[k] else np.nan
                          for k in range(num_bins)])
        stds = np.array([measured[defined][index == k].std() if filled[k] else np.nan
                         for k in range(num_bins)])
        left.errorbar(centres[filled], means[filled], yerr=stds[filled], color=GAN_COLOUR,
                      marker="s", linestyle="none", capsize=2, label=GAN_LABEL)
        span = [edges[0], edges[-1]]
        left.plot(span, span, color="0.4", linestyle=":", label="measured = requested")
        left.legend(fontsize="small")
        residual = measured[defined] - requested[defined]
        res_edges = statistics.default_width_bins(residual, num=40)
        right.stairs(plotting.histogram_fractions(residual, res_edges)[0], res_edges,
                     label=f"{GAN_LABEL} ({residual.mean():.2f} ± {residual.std():.2f}°)",
                     **GAN_STYLE)
        right.legend(fontsize="small")
    else:
        plotting.no_data(left, "measured angle")
        plotting.no_data(right, "measured angle")
    _suptitle(fig, "measured against requested angle", title)
    return plotting.save_figure(fig, path_stem)


def plot_runtime(
    runtime: Mapping[str, Any],
    path_stem: str | os.PathLike,
    title: str | None = None,
) -> list[str]:
    """ms per shower against batch size on this machine, beside the paper's numbers (log-log).

    Args:
        runtime: :func:`caloml.gan3d.evaluation.runtime_table`'s result (or its JSON):
            ``"rows"`` of ``batch_size`` and ``ms_per_shower``, ``"device"`` and
            ``"paper_ms_per_shower"`` (one number per hardware, drawn as horizontal lines).
    """
    rows = sorted(runtime["rows"], key=lambda r: r["batch_size"])
    fig, ax = plt.subplots(figsize=(6.4, 4.6), layout="constrained")
    ax.plot([r["batch_size"] for r in rows], [r["ms_per_shower"] for r in rows], "o-",
            color=GAN_COLOUR,
            label=f"3DGAN, this {str(runtime.get('device', 'machine')).upper()} (median)")
    paper = runtime.get("paper_ms_per_shower", config_lib.PAPER_RUNTIME_MS)
    for key, value in paper.items():
        colour, style = _PAPER_STYLES.get(key, ("0.5", ":"))
        ax.axhline(float(value), color=colour, linestyle=style,
                   label=f"{PAPER_LABELS.get(key, key.replace('_', ' '))}: {float(value):g} ms")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel("ms per shower")
    ax.grid(True, which="both", linestyle=":", alpha=0.5)
    ax.legend(fontsize="small")
    ax.set_title(title or "generation time per shower")
    return plotting.save_figure(fig, path_stem)


def plot_reco_energy(
    profiles: Mapping[str, Mapping[str, Any]],
    path_stem: str | os.PathLike,
    title: str | None = None,
) -> list[str]:
    """The reconstruction network's energy on simulated and generated showers (Fig. 21).

    Left: mean predicted against mean true energy per bin of true energy, with the diagonal;
    right: the resolution (std / mean of E_pred / E_true) per bin.

    Args:
        profiles: ``{"simulator": p, "gan": p}`` with ``p`` from
            :func:`caloml.gan3d.evaluation.response_profile`.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    spans = []
    for key, who, colour, marker in (("simulator", SIMULATOR_LABEL, SIMULATOR_COLOUR, "o"),
                                     ("gan", GAN_LABEL, GAN_COLOUR, "s")):
        profile = profiles[key]
        true = np.asarray(profile["mean_true_gev"], np.float64)
        left.plot(true, profile["mean_predicted_gev"], marker=marker, color=colour, label=who)
        right.plot(profile["centres"], profile["resolution"], marker=marker, color=colour,
                   label=who)
        spans.extend(np.asarray(profile["edges"], np.float64)[[0, -1]])
    span = [min(spans), max(spans)]
    left.plot(span, span, color="0.4", linestyle=":", label="predicted = true")
    left.set_xlabel("true energy [GeV]")
    left.set_ylabel("mean predicted energy [GeV]")
    right.set_xlabel("true energy [GeV]")
    right.set_ylabel(r"resolution $\sigma / \mu$ of $E_\mathrm{pred} / E_\mathrm{true}$")
    for ax in (left, right):
        ax.legend(fontsize="small")
    _suptitle(fig, "reconstructed energy, simulator vs 3DGAN showers", title)
    return plotting.save_figure(fig, path_stem)


def plot_reco_classification(
    probabilities: Mapping[str, np.ndarray],
    path_stem: str | os.PathLike,
    title: str | None = None,
    num_bins: int = 25,
) -> list[str]:
    """The reconstruction network's electron probability on both samples (Fig. 22).

    Args:
        probabilities: ``{"simulator": [N], "gan": [M]}`` P(electron) in [0, 1].
    """
    edges = np.linspace(0.0, 1.0, num_bins + 1)
    fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    for key, who, style in (("simulator", SIMULATOR_LABEL, SIMULATOR_STYLE),
                            ("gan", GAN_LABEL, GAN_STYLE)):
        values = np.asarray(probabilities[key], np.float64)
        accuracy = float(np.mean(values > 0.5)) if values.size else math.nan
        ax.stairs(plotting.histogram_fractions(values, edges)[0], edges,
                  label=f"{who} (P > 0.5: {100 * accuracy:.1f}%)", **style)
    ax.set_yscale("log")
    ax.set_xlabel("predicted electron probability")
    ax.set_ylabel("fraction of showers")
    ax.legend(fontsize="small")
    ax.set_title(title or "electron identification, simulator vs 3DGAN showers")
    return plotting.save_figure(fig, path_stem)
