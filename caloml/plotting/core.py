"""Figure helpers shared by every system's figures (non-interactive "Agg" backend).

No paper specifics live here: saving (PNG + PDF, atomically), logarithmic image colour
scales, images drawn in mm with cell axes, normalised histograms and ratio panels, moving means.
Images are indexed ``[x, y]`` as the simulator writes them (first axis x) and drawn with x to
the right and y up. Each system's ``figures`` module draws its paper's figures with these.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # files only; never open windows (works on machines without a display)

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from caloml import outputs  # noqa: E402

PARTICLE_LABELS = {"photon": r"$\gamma$", "pi0": r"$\pi^0$", "electron": r"$e^-$",
                   "positron": r"$e^+$", "piplus": r"$\pi^+$", "piminus": r"$\pi^-$"}


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


def particle_label(particle: str) -> str:
    """The particle's symbol in TeX (``"pi0"`` → ``$\\pi^0$``), or its name if unknown."""
    return PARTICLE_LABELS.get(particle, particle)


def log_norm(images: Sequence[np.ndarray]) -> mcolors.LogNorm:
    """A log colour scale from the brightest cell of ``images`` down :data:`LOG_DECADES`."""
    vmax = max(float(np.max(im)) for im in images)
    vmax = vmax if vmax > 0 else 1.0
    return mcolors.LogNorm(vmin=vmax * 10.0**-LOG_DECADES, vmax=vmax)


def image_cmap(name: str = "viridis") -> mcolors.Colormap:
    """``name`` with masked (zero) cells and cells below the scale drawn white."""
    # Masked (zero) cells and cells below the colour scale are drawn as empty.
    return matplotlib.colormaps[name].with_extremes(bad="white", under="white")


def draw_image(ax, image: np.ndarray, extent_mm: float, norm, cmap):
    """Draws ``image`` [H, W] (indexed [x, y]) over ``±extent_mm / 2``, zeros masked."""
    half = extent_mm / 2
    masked = np.ma.masked_less_equal(image, 0.0) if isinstance(norm, mcolors.LogNorm) else image
    return ax.imshow(
        masked.T, origin="lower", extent=(-half, half, -half, half), norm=norm, cmap=cmap,
        interpolation="nearest",
    )


def mm_and_cell_axes(ax, num_cells: int, extent_mm: float, from_centre: bool = False) -> None:
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


def moving_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Centred moving mean [E] over the finite entries of ``values`` [E] (shrinks at the ends)."""
    values = np.asarray(values, np.float64)
    finite = np.isfinite(values)
    kernel = np.ones(max(int(window), 1))
    num = np.convolve(np.where(finite, values, 0.0), kernel, mode="same")
    den = np.convolve(finite.astype(np.float64), kernel, mode="same")
    return np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)


def no_data(ax, what: str) -> None:
    """Writes "<what>: not recorded" across an empty panel."""
    ax.text(0.5, 0.5, f"{what}: not recorded", transform=ax.transAxes, ha="center",
            va="center", color="0.5")


def log_y_if_positive(ax, *arrays: np.ndarray) -> None:
    """Sets a log y axis if every finite value of ``arrays`` is positive."""
    values = np.concatenate([np.asarray(a, np.float64).reshape(-1) for a in arrays] or [[]])
    values = values[np.isfinite(values)]
    if values.size and np.all(values > 0):
        ax.set_yscale("log")


def histogram_fractions(values: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fraction of all entries per bin [K], raw counts [K]); overflow is not drawn."""
    values = np.asarray(values, np.float64).reshape(-1)
    counts = np.histogram(values, edges)[0].astype(np.float64)
    return counts / max(values.size, 1), counts


def ratio_points(ax, centres, ratio, err, colour, marker, low, high, label) -> None:
    """Ratio points with error bars; points outside [low, high] become arrows at the edge."""
    inside = np.isfinite(ratio) & (ratio >= low) & (ratio <= high)
    ax.errorbar(centres[inside], ratio[inside], yerr=err[inside], color=colour, marker=marker,
                markersize=3, linestyle="none", elinewidth=0.8, label=label)
    span = high - low
    above = np.isfinite(ratio) & (ratio > high)
    below = np.isfinite(ratio) & (ratio < low)
    ax.plot(centres[above], np.full(above.sum(), high - 0.04 * span), marker="^",
            color=colour, linestyle="none", markersize=5)
    ax.plot(centres[below], np.full(below.sum(), low + 0.04 * span), marker="v",
            color=colour, linestyle="none", markersize=5)

