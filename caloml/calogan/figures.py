"""The figures of the slides' CaloGAN assessment (paper 004, §V), from plain numpy arrays.

Each ``plot_*`` function takes the results of :mod:`caloml.calogan.evaluation` (no networks),
saves ``<path_stem>.png`` and ``.pdf`` (:func:`caloml.plotting.core.save_figure`) and returns
the paths. Images are indexed ``[x, y]`` as the public files store them (``layer_0`` [3, 96]:
3 cells of 160 mm along x, 96 strips of 5 mm along y) and drawn over the 480 × 480 mm window,
x to the right. "Simulator" is the reference (the public files' Geant4 or caloml's embedded
simulator), drawn filled; "CaloGAN" the generated showers, drawn as a line.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from caloml.calogan import config as config_lib
from caloml.observables import statistics
from caloml.plotting import core as plotting

EXTENT_MM = 480.0
SIMULATOR_STYLE = {"color": "0.45", "alpha": 0.45, "fill": True}
GAN_STYLE = {"color": "tab:red", "linewidth": 1.4}
GAN_LABEL = "CaloGAN"
SIMULATOR_LABEL = "simulator"
# Panels outside the training energy range are shaded.
OUTSIDE_COLOUR = "#fff1e0"
PAPER_LABELS = {"geant4_cpu": "Geant4, CPU (slides)", "calogan_cpu": "CaloGAN, CPU (slides)",
                "calogan_gpu": "CaloGAN, GPU (slides)"}
_PAPER_MARKERS = {"calogan_cpu": "s", "calogan_gpu": "^"}
_LAYER_LABELS = {
    "energy": r"$E_{%s}$ [MeV]",
    "energy_fraction": r"$f_{%s}$",
    "energy_ratio": r"$E_{\mathrm{ratio},%s}$",
    "lateral_width": r"$\sigma_{x,%s}$ [mm]",
    "lateral_width_y": r"$\sigma_{y,%s}$ [mm]",
    "sparsity": "sparsity, layer %s",
}
_SHOWER_LABELS = {
    "total_energy": r"$E_\mathrm{tot}$ [MeV]",
    "depth": r"depth $d$ [layer]",
    "lateral_depth": r"$l_d$ [MeV]",
    "shower_depth": r"$s_d$ [layer]",
    "shower_depth_width": r"$\sigma_{s_d}$ [layer]",
}


def observable_label(name: str) -> str:
    """Axis label of a shower-shape observable (``"energy_layer1"`` → ``$E_{1}$ [MeV]``)."""
    match = re.fullmatch(r"(.+)_layer(\d+)", name)
    if match and match.group(1) in _LAYER_LABELS:
        return _LAYER_LABELS[match.group(1)] % match.group(2)
    return _SHOWER_LABELS.get(name, name.replace("_", " "))


def layer_title(index: int, shape: Sequence[int]) -> str:
    """``"layer 0: 3×96 cells of 160×5 mm"``."""
    rows, columns = shape
    return (f"layer {index}: {rows}×{columns} cells of "
            f"{EXTENT_MM / rows:g}×{EXTENT_MM / columns:g} mm")


def _fractions(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, np.float64)
    total = counts.sum()
    return counts / total if total > 0 else counts


def _layer_images(images: Mapping[str, np.ndarray], what: str, ndim: int) -> list[np.ndarray]:
    out = []
    for key, shape in zip(config_lib.LAYER_KEYS, config_lib.LAYER_SHAPES, strict=True):
        if key not in images:
            raise ValueError(f"{what} lacks {key}")
        image = np.asarray(images[key], np.float64)
        if image.ndim != ndim or image.shape[-2:] != tuple(shape):
            raise ValueError(f"{what}[{key!r}] must end in {tuple(shape)} with {ndim} "
                             f"dimensions, got {image.shape}")
        out.append(image)
    return out


def _draw_layers(axes, images, titles, norms, cmap) -> list:
    drawn = []
    for ax, image, title, norm in zip(axes, images, titles, norms, strict=True):
        drawn.append(plotting.draw_image(ax, image, EXTENT_MM, norm, cmap))
        ax.set_title(title, fontsize="small")
        ax.set_xlabel("x [mm]")
        ax.set_ylabel("y [mm]")
        ax.label_outer()  # all panels span the same 480 mm window
    return drawn


def plot_average_images(
    simulator: Mapping[str, np.ndarray],
    gan: Mapping[str, np.ndarray],
    path_stem: str | os.PathLike,
    title: str | None = None,
    unit: str = "MeV",
) -> list[str]:
    """Average image per layer, simulator (top row) against CaloGAN (bottom row).

    Each layer (column) has one logarithmic colour scale for both rows
    (:data:`caloml.plotting.core.LOG_DECADES` decades below the brighter image; empty cells
    white), so a difference in colour is a difference in energy.

    Args:
        simulator: ``{"layer_0": [3, 96], "layer_1": [12, 12], "layer_2": [12, 6]}`` mean
            energy per cell.
        gan: the same for generated showers.
        path_stem: where to save (``.png`` and ``.pdf``).
        title: optional figure title.
        unit: energy unit of the cells.

    Returns:
        The paths written.
    """
    rows = {SIMULATOR_LABEL: _layer_images(simulator, "simulator", 2),
            GAN_LABEL: _layer_images(gan, "gan", 2)}
    fig, axes = plt.subplots(2, 3, figsize=(13, 8), sharex=True, sharey=True,
                             layout="constrained")
    cmap = plotting.image_cmap()
    norms = [plotting.log_norm([rows[name][i] for name in rows]) for i in range(3)]
    for row, (name, images) in enumerate(rows.items()):
        titles = [f"{name}, {layer_title(i, config_lib.LAYER_SHAPES[i])}" for i in range(3)]
        drawn = _draw_layers(axes[row], images, titles, norms, cmap)
    for column, image in enumerate(drawn):
        fig.colorbar(image, ax=axes[:, column], shrink=0.8,
                     label=f"mean energy per cell [{unit}]")
    fig.suptitle(f"{title}: average showers" if title else "average showers")
    return plotting.save_figure(fig, path_stem)


def plot_shower_shapes(
    histograms: Mapping[str, Mapping[str, Any] | None],
    path_stem: str | os.PathLike,
    title: str | None = None,
    num_columns: int = 6,
) -> list[str]:
    """One panel per shower-shape observable: simulator filled, CaloGAN as a line.

    Each panel shows both samples as fractions of their showers in the bins the separation
    power was computed with (values beyond the range in the end bins), and that separation
    power in its title.

    Args:
        histograms: ``{observable: {"edges": [K + 1], "simulator": [K] counts, "gan": [K]
            counts, "separation_power": float}}`` (:func:`caloml.calogan.evaluation.compare`)
            in drawing order; None for an observable without finite values ("not recorded").
        path_stem: where to save (``.png`` and ``.pdf``).
        title: optional figure title.
        num_columns: panels per row.

    Returns:
        The paths written.
    """
    if not histograms:
        raise ValueError("plot_shower_shapes needs at least one observable")
    num_rows = math.ceil(len(histograms) / num_columns)
    fig, axes = plt.subplots(num_rows, num_columns, figsize=(3.0 * num_columns, 2.6 * num_rows),
                             layout="constrained", squeeze=False)
    flat = axes.reshape(-1)
    for ax, (name, histogram) in zip(flat, histograms.items(), strict=False):
        ax.set_xlabel(observable_label(name))
        if histogram is None:
            plotting.no_data(ax, observable_label(name))
            continue
        edges = np.asarray(histogram["edges"], np.float64)
        ax.stairs(_fractions(histogram["simulator"]), edges, label=SIMULATOR_LABEL,
                  **SIMULATOR_STYLE)
        ax.stairs(_fractions(histogram["gan"]), edges, label=GAN_LABEL, **GAN_STYLE)
        ax.set_title(f"separation power {histogram['separation_power']:.3g}",
                     fontsize="small")
    for ax in flat[len(histograms):]:
        ax.set_axis_off()
    for ax in axes[:, 0]:
        ax.set_ylabel("fraction of showers")
    flat[0].legend(fontsize="small")
    fig.suptitle(f"{title}: shower shapes" if title else "shower shapes")
    return plotting.save_figure(fig, path_stem)


def plot_nearest_neighbours(
    generated: Mapping[str, np.ndarray],
    nearest: Mapping[str, np.ndarray],
    distances: np.ndarray,
    path_stem: str | os.PathLike,
    title: str | None = None,
    unit: str = "GeV",
) -> list[str]:
    """Generated showers (left three columns) beside their nearest training showers (right).

    One row per generated shower; each layer's pair of images shares a logarithmic colour
    scale. A generator that copies its training set would show twins, one that collapsed the
    same shower in every row.

    Args:
        generated: ``{"layer_0": [K, 3, 96], "layer_1": [K, 12, 12], "layer_2": [K, 12, 6]}``.
        nearest: the nearest training shower of each, the same shapes.
        distances: ``[K]`` Euclidean distances between them, in ``unit``.
        path_stem: where to save (``.png`` and ``.pdf``).
        title: optional figure title.
        unit: energy unit of the cells and distances.

    Returns:
        The paths written.
    """
    generated_layers = _layer_images(generated, "generated", 3)
    nearest_layers = _layer_images(nearest, "nearest", 3)
    distances = np.asarray(distances, np.float64).reshape(-1)
    num = len(distances)
    if num == 0 or any(len(x) != num for x in (*generated_layers, *nearest_layers)):
        raise ValueError(f"need K ≥ 1 showers in generated, nearest and distances alike, got "
                         f"{[len(x) for x in generated_layers + nearest_layers]} and {num}")
    fig, axes = plt.subplots(num, 6, figsize=(17, 2.9 * num), sharex=True, sharey=True,
                             layout="constrained", squeeze=False)
    cmap = plotting.image_cmap()
    for row in range(num):
        norms = [plotting.log_norm([g[row], n[row]])
                 for g, n in zip(generated_layers, nearest_layers, strict=True)]
        _draw_layers(axes[row, :3], [g[row] for g in generated_layers],
                     [f"generated {row}, layer {i}" for i in range(3)], norms, cmap)
        drawn = _draw_layers(
            axes[row, 3:], [n[row] for n in nearest_layers],
            [f"nearest training (d = {distances[row]:.3g} {unit}), layer {i}"
             for i in range(3)], norms, cmap)
        fig.colorbar(drawn[-1], ax=axes[row, :], shrink=0.9, label=f"energy per cell [{unit}]")
    fig.suptitle(f"{title}: nearest training showers" if title else "nearest training showers")
    return plotting.save_figure(fig, path_stem)


def plot_nn_distances(
    generated_to_train: np.ndarray,
    test_to_train: np.ndarray,
    path_stem: str | os.PathLike,
    separation_power: float | None = None,
    title: str | None = None,
    unit: str = "GeV",
    num_bins: int = 50,
) -> list[str]:
    """Distance to the nearest training shower: generated showers against held-out ones.

    A generator that memorised its training set sits left of the test showers (closer to the
    training set than new showers are), a collapsed or poor one to the right. Dashed lines
    mark the medians.

    Args:
        generated_to_train: ``[N]`` distances of generated showers.
        test_to_train: ``[M]`` distances of held-out test showers.
        path_stem: where to save (``.png`` and ``.pdf``).
        separation_power: of the two distributions, shown in the legend's title.
        title: optional figure title.
        unit: unit of the distances.
        num_bins: histogram bins over both samples.

    Returns:
        The paths written.
    """
    samples = {"test": np.asarray(test_to_train, np.float64).reshape(-1),
               "generated": np.asarray(generated_to_train, np.float64).reshape(-1)}
    edges = statistics.default_width_bins(*samples.values(), num=num_bins)
    fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    for (what, values), style in zip(samples.items(), (SIMULATOR_STYLE, GAN_STYLE),
                                     strict=True):
        median = float(np.median(values))
        ax.stairs(plotting.histogram_fractions(values, edges)[0], edges,
                  label=f"{what} → train (median {median:.3g} {unit})", **style)
        ax.axvline(median, color=style["color"], linestyle="--", linewidth=1.2)
    ax.set_xlabel(f"distance to the nearest training shower [{unit}]")
    ax.set_ylabel("fraction of showers")
    legend_title = (f"separation power {separation_power:.3g}"
                    if separation_power is not None and np.isfinite(separation_power) else None)
    ax.legend(title=legend_title, fontsize="small")
    ax.set_title(f"{title}: nearest-neighbour distances" if title
                 else "nearest-neighbour distances")
    return plotting.save_figure(fig, path_stem)


def plot_energy_response(
    ratios: Mapping[float, Mapping[str, np.ndarray]],
    path_stem: str | os.PathLike,
    training_range_gev: tuple[float, float] = config_lib.TRAINING_ENERGY_GEV,
    title: str | None = None,
    num_bins: int = 40,
    num_columns: int = 5,
) -> list[str]:
    """E_tot / E of generated and simulated showers, one panel per requested energy.

    Panels of energies outside the training range are shaded and say so in their title; the
    legend gives each sample's mean ± standard deviation. A dotted line marks E_tot = E.

    Args:
        ratios: ``{energy_gev: {"simulator": [N], "gan": [M]}}`` E_tot / E_requested.
        path_stem: where to save (``.png`` and ``.pdf``).
        training_range_gev: (low, high) energies the generator was trained on.
        title: optional figure title (e.g. the particle).
        num_bins: histogram bins per panel, over both samples' finite values.
        num_columns: panels per row.

    Returns:
        The paths written.
    """
    if not ratios:
        raise ValueError("plot_energy_response needs at least one energy")
    low, high = training_range_gev
    num_columns = min(num_columns, len(ratios))
    num_rows = math.ceil(len(ratios) / num_columns)
    fig, axes = plt.subplots(num_rows, num_columns, figsize=(3.4 * num_columns, 3.2 * num_rows),
                             layout="constrained", squeeze=False)
    flat = axes.reshape(-1)
    for ax, (energy, samples) in zip(flat, ratios.items(), strict=False):
        inside = low <= energy <= high
        ax.set_title(f"{energy:g} GeV" + ("" if inside else " (outside training range)"),
                     fontsize="small", color="black" if inside else "tab:orange")
        if not inside:
            ax.set_facecolor(OUTSIDE_COLOUR)
        ax.set_xlabel(r"$E_\mathrm{tot}$ / $E$")
        values = {name: np.asarray(samples[key], np.float64).reshape(-1)
                  for name, key in ((SIMULATOR_LABEL, "simulator"), (GAN_LABEL, "gan"))}
        values = {name: v[np.isfinite(v)] for name, v in values.items()}
        if any(v.size == 0 for v in values.values()):
            plotting.no_data(ax, "E_tot / E")
            continue
        edges = statistics.default_width_bins(*values.values(), num=num_bins)
        for (name, v), style in zip(values.items(), (SIMULATOR_STYLE, GAN_STYLE), strict=True):
            ax.stairs(plotting.histogram_fractions(v, edges)[0], edges,
                      label=f"{name} ({v.mean():.3f} ± {v.std():.3f})", **style)
        ax.axvline(1.0, color="0.3", linestyle=":", linewidth=1)
        ax.legend(fontsize="x-small")
    for ax in flat[len(ratios):]:
        ax.set_axis_off()
    for ax in axes[:, 0]:
        ax.set_ylabel("fraction of showers")
    what = f"energy response (trained on {low:g}–{high:g} GeV)"
    fig.suptitle(f"{title}: {what}" if title else what)
    return plotting.save_figure(fig, path_stem)


def plot_runtime(
    runtime: Mapping[str, Any],
    path_stem: str | os.PathLike,
    title: str | None = None,
) -> list[str]:
    """ms per shower against batch size, this machine next to the slides' table (log-log).

    Args:
        runtime: :func:`caloml.calogan.evaluation.runtime_table`'s result (or its JSON):
            ``"rows"`` of ``batch_size`` and ``ms_per_shower`` (median), ``"device"`` and
            ``"paper_ms_per_shower"`` (a series ``{batch size: ms}`` per hardware, drawn as
            points, or one number, Geant4's, drawn as a horizontal line).
        path_stem: where to save (``.png`` and ``.pdf``).
        title: optional title.

    Returns:
        The paths written.
    """
    rows = sorted(runtime["rows"], key=lambda r: r["batch_size"])
    fig, ax = plt.subplots(figsize=(6.4, 4.6), layout="constrained")
    ax.plot([r["batch_size"] for r in rows], [r["ms_per_shower"] for r in rows], "o-",
            color="tab:red", label=f"CaloGAN, this {runtime.get('device', 'machine').upper()}"
            " (median)")
    paper = runtime.get("paper_ms_per_shower", config_lib.PAPER_RUNTIME_MS)
    for i, (key, value) in enumerate(paper.items()):
        label = PAPER_LABELS.get(key, key.replace("_", " "))
        if isinstance(value, Mapping):
            points = sorted((float(b), float(ms)) for b, ms in value.items())
            ax.plot(*zip(*points, strict=True), marker=_PAPER_MARKERS.get(key, "D"),
                    linestyle="--", color=f"C{i}", label=label)
        else:
            ax.axhline(float(value), color="black", linestyle=":",
                       label=f"{label}: {float(value):g} ms")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel("ms per shower")
    ax.grid(True, which="both", linestyle=":", alpha=0.5)
    ax.legend(fontsize="small")
    ax.set_title(title or "generation time per shower")
    return plotting.save_figure(fig, path_stem)
