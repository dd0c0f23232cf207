"""The figures of the simulator reports (srgamma, clic, calogan), from numpy arrays.

Each function saves ``<path_stem>.png`` and ``.pdf`` and returns the paths (the srgamma image
figures return the figure itself when ``path_stem`` is None).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import matplotlib
import matplotlib.colors as mcolors
import matplotlib.patches as mpatches
import matplotlib.pyplot as plt
import numpy as np

from caloml.data import preprocessing
from caloml.plotting import core as plotting
from caloml.sim import calogan
from caloml.sim import srgamma as srgamma_geometry

# --- srgamma (paper 000, Fig. 2) -------------------------------------------------------------


def _energy_label(arrays: Mapping[str, np.ndarray]) -> str:
    """' 50 GeV' (or ' 20-50 GeV') from an optional ``energy`` [N] array, else ''."""
    if "energy" not in arrays or len(arrays["energy"]) == 0:
        return ""
    energy = np.asarray(arrays["energy"], np.float64)
    low, high = energy.min(), energy.max()
    return f" {low:.3g} GeV" if np.isclose(low, high) else f" {low:.3g}-{high:.3g} GeV"


def _image_kinds(data_by_particle: Mapping[str, Mapping[str, np.ndarray]]) -> list[str]:
    """Keys holding [N, H, W] images, common to every particle, in first-seen order."""
    per_particle = [
        [k for k, v in arrays.items() if np.ndim(v) == 3] for arrays in data_by_particle.values()
    ]
    if not per_particle or not per_particle[0]:
        raise ValueError("data_by_particle must map particles to {kind: [N, H, W] images}")
    kinds = [k for k in per_particle[0] if all(k in p for p in per_particle)]
    if not kinds:
        raise ValueError(f"no image kind is common to all particles: {per_particle}")
    return kinds


def plot_srgamma_examples(
    data_by_particle: Mapping[str, Mapping[str, np.ndarray]],
    path_stem: str | os.PathLike | None,
    num_examples: int = 3,
    extent_mm: float = srgamma_geometry.WINDOW_MM,
    windows: Mapping[str, np.ndarray] | None = None,
    window_size: int = preprocessing.WINDOW_SIZE,
) -> matplotlib.figure.Figure | list[str]:
    """Example calorimeter images per particle and kind, as in paper 000, Fig. 2 (first row).

    One row per (particle, image kind), one column per example event; each row shares a
    logarithmic colour scale (energy per cell in GeV,
    :data:`caloml.plotting.core.LOG_DECADES` decades, empty cells white). Axes are in mm from
    the window centre (bottom, left) and in cells of that kind (top, right).

    Args:
        data_by_particle: ``{particle: {kind: [N, H, W] images in GeV, "energy": [N]}}``;
            every kind (``"hr"``, ``"lr"``, later ``"sr"``) covers the same ``extent_mm``.
            ``energy`` is optional and only used in the titles.
        path_stem: where to save (``.png`` and ``.pdf``), or None to return the figure.
        num_examples: example events per particle (the first ones).
        extent_mm: side of the area every image covers.
        windows: optional ``{particle: [N, 2]}`` (row, col) origins, in cells of the smallest
            kind, of the selected sub-images to outline in red (as in Fig. 2), e.g. the
            ``origin`` of :func:`caloml.data.preprocessing.select_window`.
        window_size: side of the outlined windows in cells of the smallest kind.

    Returns:
        The paths written, or the figure if ``path_stem`` is None.
    """
    kinds = _image_kinds(data_by_particle)
    num_examples = min(
        [num_examples] + [len(arrays[kinds[0]]) for arrays in data_by_particle.values()]
    )
    if num_examples < 1:
        raise ValueError("plot_srgamma_examples needs at least one event per particle")
    rows = [(p, k) for p in data_by_particle for k in kinds]
    fig, axes = plt.subplots(
        len(rows), num_examples, figsize=(3.6 * num_examples + 1.2, 3.3 * len(rows)),
        squeeze=False, layout="constrained",
    )
    cmap = plotting.image_cmap()
    for row, (particle, kind) in enumerate(rows):
        arrays = data_by_particle[particle]
        images = np.asarray(arrays[kind][:num_examples], np.float64)
        norm = plotting.log_norm(images)
        smallest = min(arrays[k].shape[-1] for k in kinds)
        for col in range(num_examples):
            ax = axes[row, col]
            im = plotting.draw_image(ax, images[col], extent_mm, norm, cmap)
            plotting.mm_and_cell_axes(ax, images.shape[-1], extent_mm)
            energy = ""
            if "energy" in arrays:
                energy = f" {float(arrays['energy'][col]):.3g} GeV"
            ax.set_title(f"{plotting.particle_label(particle)}{energy}, {kind.upper()}, "
                         f"event {col}", fontsize="medium")
            if windows is not None and particle in windows:
                cell_mm = extent_mm / smallest
                r, c = np.asarray(windows[particle][col], np.float64) * cell_mm - extent_mm / 2
                ax.add_patch(mpatches.Rectangle(
                    (r, c), window_size * cell_mm, window_size * cell_mm,
                    fill=False, edgecolor="red", linewidth=1.2,
                ))
        fig.colorbar(im, ax=axes[row, :].tolist(), label="energy per cell [GeV]",
                     extend="min", shrink=0.9)
    if path_stem is None:
        return fig
    return plotting.save_figure(fig, path_stem)


def centred_average(
    images_by_kind: Mapping[str, np.ndarray],
    reference: str = "lr",
    half_size: int = 5,
) -> dict[str, np.ndarray]:
    """Average images after shifting each event so its hottest ``reference`` cell is central.

    The gun position is smeared by 44 mm (two crystals), so a plain average of the images
    shows that smearing rather than the shower shape. Here every event is first translated
    by whole reference cells so that its most energetic reference cell (LR crystal) lands on
    the centre, then the window of ``2 * half_size + 1`` reference cells around it is
    averaged. Finer kinds move by the same distance (``W_kind / W_reference`` cells per
    reference cell), so HR, LR and SR averages stay aligned. Cells shifted in from outside
    the simulated window count as zero.

    Args:
        images_by_kind: ``{kind: [N, H_kind, W_kind]}``, all covering the same area; sizes of
            the finer kinds are integer multiples of the reference's.
        reference: kind whose hottest cell defines the shift.
        half_size: half-width of the averaged window in reference cells.

    Returns:
        ``{kind: [(2 * half_size + 1) * f, (2 * half_size + 1) * f]}`` float64 averages,
        with ``f = W_kind / W_reference``; the hottest reference cell is the central block.
    """
    if reference not in images_by_kind:
        raise ValueError(f"reference kind {reference!r} not in {sorted(images_by_kind)}")
    ref = np.asarray(images_by_kind[reference])
    n, height, width = ref.shape
    if n == 0:
        raise ValueError("centred_average needs at least one event")
    hottest = np.stack(np.unravel_index(ref.reshape(n, -1).argmax(axis=1), (height, width)), 1)
    # Events sharing a hottest cell share a shift: sum them first, then shift the sums once.
    shifts, group = np.unique(hottest, axis=0, return_inverse=True)
    group = group.reshape(-1)
    out = {}
    for kind, images in images_by_kind.items():
        images = np.asarray(images)
        factor = images.shape[1] // height
        if images.shape[1:] != (height * factor, width * factor) or factor < 1:
            raise ValueError(
                f"{kind!r} images of shape {images.shape[1:]} are not a multiple of the "
                f"{reference!r} shape {(height, width)}"
            )
        side = (2 * half_size + 1) * factor
        total = np.zeros((side, side), np.float64)
        for i, (row, col) in enumerate(shifts):
            summed = images[group == i].sum(axis=0, dtype=np.float64)
            # Window [row - half_size, row + half_size] in reference cells, clipped to the image.
            r0, c0 = (row - half_size) * factor, (col - half_size) * factor
            rs, cs = max(r0, 0), max(c0, 0)
            re, ce = min(r0 + side, images.shape[1]), min(c0 + side, images.shape[2])
            total[rs - r0 : re - r0, cs - c0 : ce - c0] += summed[rs:re, cs:ce]
        out[kind] = total / n
    return out


def plot_srgamma_averages(
    data_by_particle: Mapping[str, Mapping[str, np.ndarray]],
    path_stem: str | os.PathLike | None,
    reference: str = "lr",
    half_size: int = 5,
    extent_mm: float = srgamma_geometry.WINDOW_MM,
    difference: tuple[str, str] | None = None,
) -> matplotlib.figure.Figure | list[str]:
    """Average images per particle and kind, centred per event, and their difference.

    As the averages of paper 000, Fig. 8 (which averages the selected 6×6 windows). Because
    the gun is smeared by 44 mm, each event is first shifted so its hottest LR crystal is at
    the centre (see :func:`centred_average`); the averages then show the mean shower shape,
    and the difference ``photon - pi0`` shows where the wider pi0 showers put their energy.
    One row per kind; columns: each particle (log colour scale, GeV per cell, shared within
    the row), then the difference (symmetric log scale, red where the first is larger).

    Args:
        data_by_particle: ``{particle: {kind: [N, H, W] images in GeV, "energy": [N]}}``.
        path_stem: where to save (``.png`` and ``.pdf``), or None to return the figure.
        reference: kind whose hottest cell centres each event.
        half_size: half-width of the shown window in reference cells (5: 11 LR crystals).
        extent_mm: side of the area every full image covers.
        difference: ``(a, b)`` particles to subtract, ``a - b``; default the first two
            particles if there are at least two, else no difference column.

    Returns:
        The paths written, or the figure if ``path_stem`` is None.
    """
    kinds = _image_kinds(data_by_particle)
    particles = list(data_by_particle)
    if difference is None and len(particles) >= 2:
        difference = (particles[0], particles[1])
    averages = {
        p: centred_average({k: arrays[k] for k in kinds}, reference, half_size)
        for p, arrays in data_by_particle.items()
    }
    ref_cells = np.shape(data_by_particle[particles[0]][reference])[-1]
    window_mm = (2 * half_size + 1) * extent_mm / ref_cells
    columns = len(particles) + (difference is not None)
    fig, axes = plt.subplots(
        len(kinds), columns, figsize=(3.8 * columns + 1.5, 3.4 * len(kinds)), squeeze=False,
        layout="constrained",
    )
    cmap = plotting.image_cmap()
    for row, kind in enumerate(kinds):
        norm = plotting.log_norm([averages[p][kind] for p in particles])
        for col, particle in enumerate(particles):
            ax = axes[row, col]
            image = averages[particle][kind]
            im = plotting.draw_image(ax, image, window_mm, norm, cmap)
            plotting.mm_and_cell_axes(ax, image.shape[-1], window_mm, from_centre=True)
            label = _energy_label(data_by_particle[particle])
            num = len(data_by_particle[particle][kind])
            ax.set_title(f"{plotting.particle_label(particle)}{label}, mean {kind.upper()} "
                         f"({num} events)", fontsize="medium")
        fig.colorbar(im, ax=axes[row, : len(particles)].tolist(), extend="min", shrink=0.9,
                     label="mean energy per cell [GeV]")
        if difference is not None:
            a, b = difference
            delta = averages[a][kind] - averages[b][kind]
            # Symmetric log scale: linear within 1 % of the largest decade, log above.
            top = 10.0 ** np.floor(np.log10(max(float(np.abs(delta).max()), 1e-12)))
            diff_norm = mcolors.SymLogNorm(linthresh=top / 100, vmin=-10 * top, vmax=10 * top)
            ax = axes[row, -1]
            im = plotting.draw_image(ax, delta, window_mm, diff_norm, "RdBu_r")
            plotting.mm_and_cell_axes(ax, delta.shape[-1], window_mm, from_centre=True)
            ax.set_title(f"{plotting.particle_label(a)} $-$ {plotting.particle_label(b)}, "
                         f"{kind.upper()}", fontsize="medium")
            ticks = top * np.array([-10, -1, -0.1, -0.01, 0, 0.01, 0.1, 1, 10])
            fig.colorbar(im, ax=ax, shrink=0.9, ticks=ticks,
                         label="difference [GeV]").ax.set_yticklabels([f"{t:.2g}" for t in ticks])
    fig.suptitle(f"Average images, each event centred on its hottest {reference.upper()} "
                 "cell (mm from its centre)")
    if path_stem is None:
        return fig
    return plotting.save_figure(fig, path_stem)



# --- clic (paper 003 §2) ---------------------------------------------------------------------


def plot_clic_response(
    response: Mapping[float, np.ndarray],
    fit: tuple[float, float],
    reference: tuple[float, float] | None,
    path_stem: str | os.PathLike,
) -> list[str]:
    """Electron calibration and resolution of the CLIC calorimeters against energy.

    Top: mean (ECAL + HCAL) / E per energy with its standard error. Bottom: σ/E per energy,
    the fitted ``a/√E ⊕ b`` and a reference resolution (e.g. CALICE's Si-W).

    Args:
        response: ``{energy_gev: [N] (ECAL + HCAL) / E}`` per electron.
        fit: ``(a, b)`` of the fit.
        reference: ``(a, b)`` of the reference curve, or None.
        path_stem: where to save.
    """
    energies = np.array(sorted(response), np.float64)
    values = [np.asarray(response[e], np.float64) for e in sorted(response)]
    means = np.array([v.mean() for v in values])
    errors = np.array([v.std() / np.sqrt(len(v)) for v in values])
    sigma = np.array([v.std() for v in values])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 6.4), sharex=True,
                                      height_ratios=[1, 2], layout="constrained")
    top.errorbar(energies, means, yerr=errors, marker="o", linestyle="none", color="C0")
    top.axhline(1.0, color="0.5", linewidth=0.8)
    top.set_ylabel("(ECAL + HCAL) / E")
    grid = np.geomspace(energies.min(), energies.max(), 200)
    bottom.plot(energies, 100 * sigma, "o", color="C0", label="caloml electrons")
    a, b = fit
    bottom.plot(grid, 100 * np.sqrt(a**2 / grid + b**2), color="C0",
                label=f"fit {100 * a:.1f}%/$\\sqrt{{E}}$ $\\oplus$ {100 * b:.1f}%")
    if reference is not None:
        ra, rb = reference
        bottom.plot(grid, 100 * np.sqrt(ra**2 / grid + rb**2), color="0.4", linestyle="--",
                    label=f"reference {100 * ra:.1f}%/$\\sqrt{{E}}$ $\\oplus$ {100 * rb:.1f}%")
    bottom.set_xscale("log")
    bottom.set_xlabel("electron energy E [GeV]")
    bottom.set_ylabel(r"$\sigma / E$ [%]")
    bottom.legend()
    return plotting.save_figure(fig, path_stem)


def plot_hcal_ecal(
    ratios: Mapping[str, tuple[np.ndarray, np.ndarray]],
    cut: float,
    path_stem: str | os.PathLike,
    decades: float = 4.0,
) -> list[str]:
    """HCAL/ECAL energy ratio per particle, with the paper's π± selection cut (paper 003, Fig. 2).

    Ratios beyond ``10^±decades`` (an empty ECAL or HCAL window) are drawn in the first and
    last bins, and their share is given in the legend.

    Args:
        ratios: ``{particle: (energy [N], hcal / ecal [N])}``.
        cut: the selection's upper limit (0.1), drawn as a line.
        path_stem: where to save.
        decades: half-width of the axis in decades around 1.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    edges = np.linspace(-decades, decades, 65)
    for i, (particle, (_, ratio)) in enumerate(ratios.items()):
        logs = np.log10(np.clip(np.asarray(ratio, np.float64), 1e-300, None))
        beyond = np.mean(np.abs(logs) > decades)
        fraction, _ = plotting.histogram_fractions(np.clip(logs, -decades, decades - 1e-9),
                                                   edges)
        label = (f"{plotting.particle_label(particle)} "
                 f"({100 * np.mean(logs < np.log10(cut)):.3g}% below {cut:g}")
        label += f", {100 * beyond:.3g}% off scale)" if beyond else ")"
        ax.stairs(fraction, edges, color=f"C{i}", label=label)
    ax.axvline(np.log10(cut), color="black", linestyle="--", linewidth=1.0)
    ax.set_xlabel(r"$\log_{10}$(HCAL / ECAL), first and last bins: off scale")
    ax.set_ylabel("fraction of events per bin")
    ax.legend()
    return plotting.save_figure(fig, path_stem)


def plot_incidence_slopes(
    slopes: Mapping[float, np.ndarray], path_stem: str | os.PathLike
) -> list[str]:
    """Per-event slopes dy/dz of the ECAL layer barycentres per polar angle, against cot θ.

    Args:
        slopes: ``{theta_rad: [N] slopes}`` (NaN entries are skipped).
        path_stem: where to save.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    values = {t: np.asarray(v, np.float64)[np.isfinite(v)] for t, v in slopes.items()}
    low = min(min(v.min(), 1 / np.tan(t)) for t, v in values.items()) - 0.1
    high = max(max(v.max(), 1 / np.tan(t)) for t, v in values.items()) + 0.1
    edges = np.linspace(low, high, 80)
    for i, (theta, v) in enumerate(values.items()):
        ax.stairs(plotting.histogram_fractions(v, edges)[0], edges, color=f"C{i}",
                  label=f"$\\theta$ = {theta:.3f} rad")
        ax.axvline(1 / np.tan(theta), color=f"C{i}", linestyle="--", linewidth=1.0)
    ax.set_xlabel("slope dy/dz of the layer barycentres (dashed: cot $\\theta$)")
    ax.set_ylabel("fraction of events per bin")
    ax.legend()
    return plotting.save_figure(fig, path_stem)


# --- calogan (paper 004) ---------------------------------------------------------------------


def plot_calogan_averages(
    samples: Mapping[str, Mapping[str, Sequence[np.ndarray]]], path_stem: str | os.PathLike
) -> list[str]:
    """Average image of each calorimeter layer per particle (CaloGAN paper, Fig. 4 style).

    Rows: particles; columns: layers 0, 1, 2, each drawn over the 480 × 480 mm window with its
    own cells (3 × 96, 12 × 12, 12 × 6) and a log colour scale per layer.

    Args:
        samples: ``{particle: {"layers": [L0 [N, 3, 96], L1 [N, 12, 12], L2 [N, 12, 6]]}}``
            in MeV.
        path_stem: where to save.
    """
    grids = calogan.CaloGANGeometry().grids
    particles = list(samples)
    fig, axes = plt.subplots(len(particles), len(grids), figsize=(11, 3.4 * len(particles)),
                             squeeze=False, layout="constrained")
    cmap = plotting.image_cmap()
    for layer, grid in enumerate(grids):
        averages = [np.asarray(samples[p]["layers"][layer], np.float64).mean(axis=0)
                    for p in particles]
        norm = plotting.log_norm(averages)
        for row, (particle, image) in enumerate(zip(particles, averages, strict=True)):
            ax = axes[row, layer]
            half_x, half_y = -grid.low_x_mm, -grid.low_y_mm
            im = ax.imshow(np.ma.masked_less_equal(image, 0.0).T, origin="lower", norm=norm,
                           cmap=cmap, extent=(-half_x, half_x, -half_y, half_y),
                           interpolation="nearest", aspect="equal")
            ax.set_title(f"{plotting.particle_label(particle)}, layer {layer} "
                         f"({grid.num_x}×{grid.num_y} cells)", fontsize="medium")
            ax.set_xlabel("x [mm]")
            ax.set_ylabel("y [mm]")
        fig.colorbar(im, ax=axes[:, layer].tolist(), extend="min", shrink=0.8,
                     label="mean energy per cell [MeV]", location="bottom")
    return plotting.save_figure(fig, path_stem)


def plot_calogan_layer_fractions(
    samples: Mapping[str, Mapping[str, np.ndarray]],
    expected: Mapping[str, Sequence[float]],
    path_stem: str | os.PathLike,
    bins: int = 10,
) -> list[str]:
    """Mean fraction of the deposit in each layer against the incident energy, per particle.

    Args:
        samples: ``{particle: {"layers": [3 arrays [N, x, y]] (MeV), "energy": [N] (GeV)}}``.
        expected: ``{energy: (f0, f1, f2)}`` positron expectation, drawn as crosses.
        path_stem: where to save.
        bins: energy bins (log-spaced over the samples' range).
    """
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), layout="constrained")
    for i, (particle, sample) in enumerate(samples.items()):
        sums = np.stack([np.asarray(x, np.float64).sum(axis=(1, 2)) for x in sample["layers"]],
                        axis=1)
        fractions = sums / np.maximum(sums.sum(axis=1, keepdims=True), 1e-12)
        energy = np.asarray(sample["energy"], np.float64)
        edges = np.geomspace(energy.min(), energy.max() * (1 + 1e-9), bins + 1)
        index = np.clip(np.digitize(energy, edges) - 1, 0, bins - 1)
        centres = np.sqrt(edges[1:] * edges[:-1])
        for layer, ax in enumerate(axes):
            means = np.array([fractions[index == k, layer].mean() if np.any(index == k)
                              else np.nan for k in range(bins)])
            ax.plot(centres, means, marker="o", color=f"C{i}",
                    label=plotting.particle_label(particle))
    for layer, ax in enumerate(axes):
        points = [(float(e), f[layer]) for e, f in expected.items() if f]
        if points:
            ax.plot(*zip(*points, strict=True), "x", color="black", markersize=9,
                    label=r"$e^+$ expectation (PHYSICS.md §5)")
        ax.set_xscale("log")
        ax.set_xlabel("incident energy [GeV]")
        ax.set_ylabel(f"fraction of the deposit in layer {layer}")
        ax.legend(fontsize="small")
    return plotting.save_figure(fig, path_stem)


def plot_calogan_cell_spectra(
    samples: Mapping[str, Mapping[str, Sequence[np.ndarray]]], path_stem: str | os.PathLike
) -> list[str]:
    """Spectrum of the non-zero cell energies per layer and particle (CaloGAN paper, Fig. 9).

    Args:
        samples: ``{particle: {"layers": [3 arrays [N, x, y]] in MeV}}``.
        path_stem: where to save.
    """
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), layout="constrained")
    edges = np.logspace(-3, 5, 81)
    for i, (particle, sample) in enumerate(samples.items()):
        for layer, ax in enumerate(axes):
            cells = np.asarray(sample["layers"][layer], np.float64)
            fraction, _ = plotting.histogram_fractions(cells[cells > 0], edges)
            ax.stairs(fraction, edges, color=f"C{i}",
                      label=f"{plotting.particle_label(particle)} "
                            f"(empty {100 * np.mean(cells <= 0):.0f}%)")
    for layer, ax in enumerate(axes):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"cell energy in layer {layer} [MeV]")
        ax.set_ylabel("fraction of non-empty cells per bin")
        ax.legend(fontsize="small")
    return plotting.save_figure(fig, path_stem)


def plot_calogan_geant4(
    features: Mapping[str, np.ndarray], reference: Mapping, particle: str,
    powers: Mapping[str, Mapping[str, float]], path_stem: str | os.PathLike,
) -> list[str]:
    """caloml's CaloGAN shower shapes over the digitised Geant4 histograms, one panel each.

    Args:
        features: :func:`caloml.observables.layered.shower_shapes` of caloml's showers (MeV).
        reference: the fixture (:func:`caloml.simreport.geant4.load_calogan_reference`).
        particle: ``positron``, ``photon`` or ``piplus``.
        powers: ``{observable: {particle: separation power}}`` for the panel titles.
        path_stem: where to save.
    """
    from caloml.simreport import geant4

    observables = reference["observables"]
    columns = 5
    rows = -(-len(observables) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.0 * columns, 3.1 * rows),
                             layout="constrained")
    for ax, (name, entry) in zip(axes.ravel(), observables.items(), strict=False):
        edges = np.asarray(entry["bin_edges"], np.float64)
        widths = np.diff(edges)
        truth = entry["geant4"][particle]
        density = np.array([np.nan if v is None else v for v in truth["density"]], np.float64)
        low = np.array([np.nan if v is None else v for v in truth["density_low"]], np.float64)
        high = np.array([np.nan if v is None else v for v in truth["density_high"]], np.float64)
        feature, factor = geant4.FEATURES[name]
        values = np.asarray(features[feature], np.float64) * factor
        counts = np.histogram(values[np.isfinite(values)], edges)[0].astype(np.float64)
        # The notebook's normed histograms: density over the entries inside the bins.
        ours = counts / max(counts.sum(), 1.0) / widths
        ax.stairs(np.nan_to_num(density), edges, fill=True, color="0.75", label="Geant4")
        ax.stairs(np.nan_to_num(high), edges, baseline=np.nan_to_num(low), fill=True,
                  color="0.45", alpha=0.5)
        ax.stairs(ours, edges, color="C3", label="caloml")
        ax.set_xscale("log" if entry["x_scale"] == "log" else "linear")
        if entry["y_scale"] == "log":
            ax.set_yscale("log")
        unit = f" [{entry['unit']}]" if entry["unit"] else ""
        ax.set_xlabel(name.replace("_", " ") + unit, fontsize="small")
        power = powers.get(name, {}).get(particle, float("nan"))
        ax.set_title(f"separation {power:.3f}", fontsize="small")
    for ax in axes.ravel()[len(observables):]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize="small")
    fig.suptitle(f"CaloGAN {plotting.particle_label(particle)} 1-100 GeV: caloml vs Geant4 "
                 f"(digitised from {reference['source']['repository']} "
                 f"{reference['source']['path']})")
    return plotting.save_figure(fig, path_stem)
