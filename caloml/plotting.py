"""Matplotlib figures that mirror the papers' figures (non-interactive "Agg" backend).

Image figures take, per particle, a mapping from image kind to images ``[N, H, W]`` in GeV,
e.g. ``{"photon": {"hr": [N, 96, 96], "lr": [N, 24, 24]}, "pi0": {...}}``; later figures
add super-resolved images as a third kind (``"sr"``). Images are indexed ``[x, y]`` as the
simulator writes them (first axis x) and drawn with x to the right and y up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # files only; never open windows (works on machines without a display)

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.patches as mpatches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from caloml import outputs  # noqa: E402

# Full SR-γ window, 96 cells of 5.5 mm = 24 crystals of 22 mm (paper 000, section 2).
SRGAMMA_WINDOW_MM = 528.0

KIND_LABELS = {"hr": "HR", "lr": "LR", "sr": "SR"}
PARTICLE_LABELS = {"photon": r"$\gamma$", "pi0": r"$\pi^0$", "electron": r"$e^-$",
                   "positron": r"$e^+$"}
# Log colour scales span this many decades below the brightest cell.
LOG_DECADES = 4.0


def save_figure(
    fig: matplotlib.figure.Figure,
    path_stem: str | os.PathLike,
    formats: Sequence[str] = ("png", "pdf"),
    dpi: int = 150,
) -> list[str]:
    """Saves ``fig`` as ``<path_stem>.png`` and ``.pdf`` atomically and closes it.

    Args:
        fig: the figure.
        path_stem: file name without extension; its directory must exist.
        formats: file formats (extensions) to write.
        dpi: resolution of raster formats.

    Returns:
        The paths written.
    """
    stem = os.fspath(path_stem)
    paths = []
    try:
        for fmt in formats:
            path = f"{stem}.{fmt}"
            with outputs.atomic_path(path) as tmp_path:
                fig.savefig(tmp_path, format=fmt, dpi=dpi)
            paths.append(path)
            # The layout is solved by the first save; keeping it saves a second solve.
            fig.set_layout_engine("none")
    finally:
        plt.close(fig)
    return paths


def _kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.upper())


def _particle_label(particle: str) -> str:
    return PARTICLE_LABELS.get(particle, particle)


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


def _log_norm(images: Sequence[np.ndarray]) -> mcolors.LogNorm:
    vmax = max(float(np.max(im)) for im in images)
    vmax = vmax if vmax > 0 else 1.0
    return mcolors.LogNorm(vmin=vmax * 10.0**-LOG_DECADES, vmax=vmax)


def _cmap(name: str = "viridis") -> mcolors.Colormap:
    # Masked (zero) cells and cells below the colour scale are drawn as empty.
    return matplotlib.colormaps[name].with_extremes(bad="white", under="white")


def _draw_image(ax, image: np.ndarray, extent_mm: float, norm, cmap):
    """Draws ``image`` [H, W] (indexed [x, y]) over ``±extent_mm / 2``, zeros masked."""
    half = extent_mm / 2
    masked = np.ma.masked_less_equal(image, 0.0) if isinstance(norm, mcolors.LogNorm) else image
    return ax.imshow(
        masked.T, origin="lower", extent=(-half, half, -half, half), norm=norm, cmap=cmap,
        interpolation="nearest",
    )


def _mm_and_cell_axes(ax, num_cells: int, extent_mm: float, from_centre: bool = False) -> None:
    """Labels the axes in mm (bottom, left) and adds cell axes (top, right).

    Cells count from the image edge (0 = first cell's lower edge), or with ``from_centre``
    from the central cell (0 = its centre).
    """
    ax.set_xlabel("x [mm]")
    ax.set_ylabel("y [mm]")
    cell_mm = extent_mm / num_cells
    half = 0.0 if from_centre else extent_mm / 2

    def to_cells(mm):
        return (np.asarray(mm) + half) / cell_mm

    def to_mm(cells):
        return np.asarray(cells) * cell_mm - half

    top = ax.secondary_xaxis("top", functions=(to_cells, to_mm))
    right = ax.secondary_yaxis("right", functions=(to_cells, to_mm))
    what = "cells from centre" if from_centre else "cell"
    top.set_xlabel(f"{what} ({cell_mm:g} mm)", fontsize="small")
    right.set_ylabel(f"{what} ({cell_mm:g} mm)", fontsize="small")
    for axis in (top, right):
        axis.tick_params(labelsize="x-small")


def plot_srgamma_examples(
    data_by_particle: Mapping[str, Mapping[str, np.ndarray]],
    path_stem: str | os.PathLike | None,
    num_examples: int = 3,
    extent_mm: float = SRGAMMA_WINDOW_MM,
    windows: Mapping[str, np.ndarray] | None = None,
    window_size: int = 6,
) -> matplotlib.figure.Figure | list[str]:
    """Example calorimeter images per particle and kind, as in paper 000, Fig. 2 (first row).

    One row per (particle, image kind), one column per example event; each row shares a
    logarithmic colour scale (energy per cell in GeV, :data:`LOG_DECADES` decades, empty
    cells white). Axes are in mm from the window centre (bottom, left) and in cells of that
    kind (top, right).

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
    cmap = _cmap()
    for row, (particle, kind) in enumerate(rows):
        arrays = data_by_particle[particle]
        images = np.asarray(arrays[kind][:num_examples], np.float64)
        norm = _log_norm(images)
        smallest = min(arrays[k].shape[-1] for k in kinds)
        for col in range(num_examples):
            ax = axes[row, col]
            im = _draw_image(ax, images[col], extent_mm, norm, cmap)
            _mm_and_cell_axes(ax, images.shape[-1], extent_mm)
            energy = ""
            if "energy" in arrays:
                energy = f" {float(arrays['energy'][col]):.3g} GeV"
            ax.set_title(f"{_particle_label(particle)}{energy}, {_kind_label(kind)}, "
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
    return save_figure(fig, path_stem)


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
    extent_mm: float = SRGAMMA_WINDOW_MM,
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
    cmap = _cmap()
    for row, kind in enumerate(kinds):
        norm = _log_norm([averages[p][kind] for p in particles])
        for col, particle in enumerate(particles):
            ax = axes[row, col]
            image = averages[particle][kind]
            im = _draw_image(ax, image, window_mm, norm, cmap)
            _mm_and_cell_axes(ax, image.shape[-1], window_mm, from_centre=True)
            label = _energy_label(data_by_particle[particle])
            num = len(data_by_particle[particle][kind])
            ax.set_title(f"{_particle_label(particle)}{label}, mean {_kind_label(kind)} "
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
            im = _draw_image(ax, delta, window_mm, diff_norm, "RdBu_r")
            _mm_and_cell_axes(ax, delta.shape[-1], window_mm, from_centre=True)
            ax.set_title(f"{_particle_label(a)} $-$ {_particle_label(b)}, "
                         f"{_kind_label(kind)}", fontsize="medium")
            ticks = top * np.array([-10, -1, -0.1, -0.01, 0, 0.01, 0.1, 1, 10])
            fig.colorbar(im, ax=ax, shrink=0.9, ticks=ticks,
                         label="difference [GeV]").ax.set_yticklabels([f"{t:.2g}" for t in ticks])
    fig.suptitle(f"Average images, each event centred on its hottest {_kind_label(reference)} "
                 "cell (mm from its centre)")
    if path_stem is None:
        return fig
    return save_figure(fig, path_stem)
