"""Read histograms back out of matplotlib PNGs: filled, semi-transparent, overlapping steps.

For figures whose data are lost but whose pictures survive (a notebook's PNG outputs). The
histograms must be drawn as ``hist(..., histtype='stepfilled', alpha=α)`` over a white
background, one colour per histogram, in a known order; opaque lines drawn over them, text
and a legend may hide parts. No paper specifics live here: the caller gives the bin edges,
the scales and the tick labels it read off the picture.

Method:

1. The axes frame is the pair of full-length dark rows and columns; the major tick marks
   (3 or more dark pixels outside the frame; minor ticks have at most two) are paired with the
   given tick labels and fitted linearly (in log10 on log axes), so the pixel ↔ value maps
   need no knowledge of the plotting library's autoscaling or margins.
2. Alpha compositing over white gives one colour for each subset of overlapping fills
   (:func:`fill_colours`). Every pixel inside the frame is classified as one subset (within
   :data:`COLOUR_TOLERANCE` per channel) or as unknown (opaque lines, text, the legend's frame
   and handles). Inside the legend's box the fills show through washed out (the box is white
   at ``legend_alpha``) and are classified against the washed colours.
3. A fill covers its bin from the baseline up to the bin's value, so in each column of a bin
   the fill's top edge lies above every pixel holding that histogram and below every pixel
   known not to. Intersecting these bounds over the bin's interior columns brackets the edge
   (Agg snaps a fill's top edge onto the pixel boundary above it, so the topmost filled pixel
   contains the true edge); the bracket's midpoint is the value and its ends, widened by the
   tick fit's residual, its uncertainty. A bin where no pixel holds the histogram reads 0 (on
   a log axis: below the axis floor). A bin whose bracket is wider than ``max_bracket_px``
   (the top hidden) or that lies outside the drawn x range reads NaN.

Histograms drawn this way by matplotlib are recovered within their brackets (tested), to
about half a pixel where the top is visible.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import os
from collections.abc import Sequence

import numpy as np

from caloml.errors import DataError, MissingFileError

# Agg's 8-bit compositing differs from the float blend by at most 2 per channel.
COLOUR_TOLERANCE = 4
# Washed-out colours under a legend are closer together (5 or more apart for α = 0.2).
WASHED_TOLERANCE = 1
MAX_BRACKET_PX = 12.0
# A pixel is "dark" (frame) below this grey level: a black 0.8 pt frame at 72 dpi is 51.
_DARK = 60
# Major ticks (3.5 pt) have at least this many pixels darker than _TICK_GREY.
_TICK_GREY = 170
_MAJOR_TICK_PX = 3
# The legend's frame: a light grey (0.8 at framealpha 0.8 gives 214) in rows/columns of
# at least this many pixels.
_LEGEND_GREY = (190, 250)
_LEGEND_RUN_PX = 20


@dataclasses.dataclass(frozen=True)
class Axes:
    """Pixel geometry of one figure: frame rows/columns and the pixel ↔ value maps.

    Pixel ``(row, col)`` spans the continuous coordinates ``[row, row + 1) × [col, col + 1)``.
    """

    top: int
    bottom: int
    left: int
    right: int
    x_fit: tuple[float, float]  # x (log10 x on a log axis) = x_fit[0] + x_fit[1] × column
    y_fit: tuple[float, float]  # y (log10 y on a log axis) = y_fit[0] + y_fit[1] × row
    x_scale: str
    y_scale: str
    y_residual_px: float  # largest distance of a y tick from the fitted map

    def x_to_px(self, x: np.ndarray) -> np.ndarray:
        x = np.log10(x) if self.x_scale == "log" else np.asarray(x, np.float64)
        return (x - self.x_fit[0]) / self.x_fit[1]

    def y_to_value(self, row: np.ndarray) -> np.ndarray:
        value = self.y_fit[0] + self.y_fit[1] * np.asarray(row, np.float64)
        return 10.0**value if self.y_scale == "log" else value

    def value_to_y(self, value: np.ndarray) -> np.ndarray:
        value = np.asarray(value, np.float64)
        if self.y_scale == "log":
            with np.errstate(divide="ignore", invalid="ignore"):  # 0: -inf, below any axis
                value = np.log10(value)
        return (value - self.y_fit[0]) / self.y_fit[1]


@dataclasses.dataclass(frozen=True, eq=False)
class DigitisedFigure:
    """What :func:`digitise_stepfilled` read from one figure.

    Attributes:
        axes: the frame and calibration.
        legend: ``(top, bottom, left, right)`` pixel box of the legend, or None.
        bin_edges: ``[B + 1]`` the bin edges given.
        density: ``[P, B]`` values read per histogram and bin; NaN where unreadable.
        low, high: ``[P, B]`` bounds of each value (NaN where unreadable).
        conflicts: ``[P]`` columns dropped because their pixels contradicted each other.
    """

    axes: Axes
    legend: tuple[int, int, int, int] | None
    bin_edges: np.ndarray
    density: np.ndarray
    low: np.ndarray
    high: np.ndarray
    conflicts: np.ndarray


def notebook_pngs(notebook: str | os.PathLike) -> dict[tuple[int, int], np.ndarray]:
    """The PNG outputs of a Jupyter notebook as RGB arrays composited over white.

    Args:
        notebook: path of the ``.ipynb`` file.

    Returns:
        ``{(cell, k): int array [H, W, 3]}`` (0-255), ``cell`` the 0-based index in
        ``nb['cells']`` and ``k`` counting that cell's PNG outputs.

    Raises:
        MissingFileError: if the file does not exist.
        DataError: if it is not a notebook.
    """
    from PIL import Image

    notebook = os.fspath(notebook)
    if not os.path.isfile(notebook):
        raise MissingFileError(f"notebook {notebook} does not exist")
    try:
        with open(notebook, encoding="utf-8") as f:
            cells = json.load(f)["cells"]
    except (ValueError, KeyError, TypeError) as error:
        raise DataError(f"{notebook} is not a Jupyter notebook: {error}") from None
    out = {}
    for index, cell in enumerate(cells):
        pngs = [o["data"]["image/png"] for o in cell.get("outputs", ())
                if "image/png" in o.get("data", {})]
        for k, data in enumerate(pngs):
            image = Image.open(io.BytesIO(base64.b64decode(data))).convert("RGBA")
            out[(index, k)] = composite_over_white(np.asarray(image))
    return out


def composite_over_white(rgba: np.ndarray) -> np.ndarray:
    """``[H, W, 4]`` 0-255 RGBA over a white page, as an int ``[H, W, 3]`` array."""
    rgba = np.asarray(rgba, np.float64)
    alpha = rgba[..., 3:4] / 255.0
    return np.rint(rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.int64)


def fill_colours(rgb: np.ndarray, alpha: float) -> np.ndarray:
    """Colour of every subset of overlapping fills over white, drawn in the order given.

    Args:
        rgb: ``[P, 3]`` fill colours (0-255) in drawing order.
        alpha: the fills' opacity.

    Returns:
        float64 ``[2**P, 3]``: row ``s`` is the colour where exactly the histograms of bit
        mask ``s`` (bit ``p`` = histogram ``p``) cover the pixel.
    """
    rgb = np.asarray(rgb, np.float64)
    out = np.empty((2 ** len(rgb), 3))
    for subset in range(len(out)):
        colour = np.full(3, 255.0)
        for p in range(len(rgb)):
            if subset >> p & 1:
                colour = (1.0 - alpha) * colour + alpha * rgb[p]
        out[subset] = colour
    return out


def classify(rgb: np.ndarray, colours: np.ndarray, tolerance: float = COLOUR_TOLERANCE):
    """Index of the colour each pixel matches within ``tolerance`` per channel, else -1."""
    diff = np.abs(np.asarray(rgb)[..., None, :] - np.asarray(colours)[None, None]).max(axis=-1)
    return np.where(diff.min(axis=-1) <= tolerance, diff.argmin(axis=-1), -1)


def find_axes(rgb: np.ndarray, x_ticks: Sequence[float], y_ticks: Sequence[float],
              x_scale: str = "lin", y_scale: str = "lin") -> Axes:
    """Frame and tick calibration of a figure (step 1 of the module docstring).

    Args:
        rgb: ``[H, W, 3]`` the picture.
        x_ticks: values of the labelled major x ticks, left to right.
        y_ticks: values of the labelled major y ticks, bottom to top.
        x_scale, y_scale: ``"lin"`` or ``"log"``.

    Raises:
        DataError: if no frame is found or the major tick count differs from the labels.
    """
    grey = np.asarray(rgb).max(axis=-1)
    dark = grey < _DARK
    height, width = dark.shape
    rows = np.flatnonzero(dark.sum(axis=1) > 0.6 * width)
    cols = np.flatnonzero(dark.sum(axis=0) > 0.6 * height)
    if len(rows) < 2 or len(cols) < 2:
        raise DataError("no axes frame found")
    top, bottom, left, right = rows.min(), rows.max(), cols.min(), cols.max()
    tick = grey < _TICK_GREY
    below = tick[bottom + 1 : bottom + 6, left : right + 1].sum(axis=0)
    x_pixels = np.flatnonzero(below >= _MAJOR_TICK_PX) + left
    beside = tick[top : bottom + 1, max(left - 5, 0) : left].sum(axis=1)
    y_pixels = np.flatnonzero(beside >= _MAJOR_TICK_PX) + top
    if len(x_pixels) != len(x_ticks) or len(y_pixels) != len(y_ticks):
        raise DataError(f"found {len(x_pixels)} x and {len(y_pixels)} y major ticks, labels "
                        f"given for {len(x_ticks)} and {len(y_ticks)}")

    def fit(pixels, values, scale):
        # A snapped 1 px tick at pixel p is centred on the continuous coordinate p + 0.5.
        values = np.log10(values) if scale == "log" else np.asarray(values, np.float64)
        slope, intercept = np.polyfit(pixels + 0.5, values, 1)
        residual = np.abs(intercept + slope * (pixels + 0.5) - values).max() / abs(slope)
        return (float(intercept), float(slope)), float(residual)

    x_fit, _ = fit(x_pixels, x_ticks, x_scale)
    y_fit, y_residual = fit(y_pixels[::-1], y_ticks, y_scale)
    return Axes(int(top), int(bottom), int(left), int(right), x_fit, y_fit, x_scale, y_scale,
                y_residual)


def find_legend(rgb: np.ndarray, axes: Axes) -> tuple[int, int, int, int] | None:
    """``(top, bottom, left, right)`` of the legend's light grey frame inside the axes."""
    inner = np.asarray(rgb)[axes.top + 1 : axes.bottom, axes.left + 1 : axes.right]
    grey = ((inner[..., 0] == inner[..., 1]) & (inner[..., 1] == inner[..., 2])
            & (inner[..., 0] > _LEGEND_GREY[0]) & (inner[..., 0] < _LEGEND_GREY[1]))
    rows = np.flatnonzero(grey.sum(axis=1) > _LEGEND_RUN_PX)
    cols = np.flatnonzero(grey.sum(axis=0) > _LEGEND_RUN_PX)
    if not len(rows) or not len(cols):
        return None
    return (int(rows.min() + axes.top + 1), int(rows.max() + axes.top + 1),
            int(cols.min() + axes.left + 1), int(cols.max() + axes.left + 1))


def _column_bracket(column: np.ndarray, bit: int, baseline: int):
    """``(low, high, seen)``: the rows between which one column's fill top lies.

    ``column`` holds the subset index (-1 unknown) of the rows inside the frame, top first;
    ``baseline`` is the index of the frame's bottom row (value 0 of a linear axis at its
    centre). None if a pixel without the fill lies below one with it (a misread column).
    """
    known = column >= 0
    has = known & ((column >> bit) & 1 == 1)
    present = np.flatnonzero(has)
    absent = np.flatnonzero(known & ~has)
    if len(present) and len(absent) and absent.max() > present.min():
        return None
    high = float(present.min() + 1) if len(present) else float(baseline) + 0.5
    low = float(absent.max() + 1) if len(absent) else 0.0
    return low, high, bool(len(present))


def digitise_stepfilled(
    rgb: np.ndarray,
    bin_edges: Sequence[float],
    x_ticks: Sequence[float],
    y_ticks: Sequence[float],
    colours: np.ndarray,
    alpha: float = 0.2,
    x_scale: str = "lin",
    y_scale: str = "lin",
    legend_alpha: float = 0.8,
    max_bracket_px: float = MAX_BRACKET_PX,
) -> DigitisedFigure:
    """Read the filled histograms of one figure (the module docstring's method).

    Args:
        rgb: ``[H, W, 3]`` the picture over white (:func:`composite_over_white`).
        bin_edges: ``[B + 1]`` the histograms' common bin edges.
        x_ticks, y_ticks: labelled major tick values (see :func:`find_axes`).
        colours: ``[P, 3]`` fill colours (0-255) in drawing order.
        alpha: the fills' opacity.
        x_scale, y_scale: ``"lin"`` or ``"log"``.
        legend_alpha: opacity of the legend's white box.
        max_bracket_px: a bin whose top is bracketed less tightly reads NaN.

    Returns:
        The values per histogram and bin, in the y axis's unit (the density for ``normed``
        histograms), with bounds.
    """
    rgb = np.asarray(rgb)
    axes = find_axes(rgb, x_ticks, y_ticks, x_scale, y_scale)
    legend = find_legend(rgb, axes)
    subsets = fill_colours(colours, alpha)
    classes = classify(rgb, subsets)
    if legend is not None:
        top, bottom, left, right = legend
        washed = classify(rgb, legend_alpha * 255.0 + (1.0 - legend_alpha) * subsets,
                          WASHED_TOLERANCE)
        classes[top - 1 : bottom + 2, left - 1 : right + 2] = -1
        classes[top + 2 : bottom - 1, left + 2 : right - 1] = washed[
            top + 2 : bottom - 1, left + 2 : right - 1]
    inner = classes[axes.top + 1 : axes.bottom + 1]  # row 0 is the frame's top + 1
    offset = axes.top + 1
    baseline = axes.bottom - offset
    edges = np.asarray(bin_edges, np.float64)
    edges_px = axes.x_to_px(edges)
    shape = (len(colours), len(edges) - 1)
    density, low, high = (np.full(shape, np.nan) for _ in range(3))
    conflicts = np.zeros(len(colours), np.int64)
    for p in range(len(colours)):
        for b, (x0, x1) in enumerate(zip(edges_px[:-1], edges_px[1:], strict=True)):
            # Columns wholly inside the bin, one pixel clear of its (snapped) edges.
            first = max(int(np.ceil(x0)) + 1, axes.left + 1)
            last = min(int(np.floor(x1)) - 2, axes.right - 1)
            brackets = []
            for col in range(first, last + 1):
                bracket = _column_bracket(inner[:baseline, col], p, baseline)
                if bracket is None:
                    conflicts[p] += 1
                else:
                    brackets.append(bracket)
            if not brackets:
                continue
            edge_low = max(b_[0] for b_ in brackets)
            edge_high = min(b_[1] for b_ in brackets)
            if edge_low > edge_high:  # columns disagree by a snapped pixel: keep the span
                edge_low, edge_high = edge_high, edge_low
                conflicts[p] += 1
            if edge_high - edge_low > max_bracket_px:
                continue
            pad = axes.y_residual_px
            high[p, b] = axes.y_to_value(offset + edge_low - pad)
            if not any(b_[2] for b_ in brackets):
                density[p, b] = low[p, b] = 0.0
                continue
            density[p, b] = axes.y_to_value(offset + 0.5 * (edge_low + edge_high))
            low[p, b] = axes.y_to_value(offset + edge_high + pad)
            if y_scale == "lin":
                density[p, b], low[p, b] = max(density[p, b], 0.0), max(low[p, b], 0.0)
    return DigitisedFigure(axes, legend, edges, density, low, high, conflicts)


def histogram_mean(bin_edges: Sequence[float], density: Sequence[float]) -> float:
    """Mean of a binned density over its finite bins, each bin at its centre (NaN if none)."""
    edges = np.asarray(bin_edges, np.float64)
    values = np.asarray(density, np.float64)
    ok = np.isfinite(values)
    weights = values[ok] * np.diff(edges)[ok]
    if weights.sum() <= 0:
        return float("nan")
    centres = 0.5 * (edges[:-1] + edges[1:])[ok]
    return float((weights * centres).sum() / weights.sum())


def plot_overlay(rgb: np.ndarray, figure: DigitisedFigure, path: str | os.PathLike,
                 panels: Sequence[Sequence[int]] | None = None) -> None:
    """Draw the digitised histograms as step lines over the picture, to check by eye.

    Args:
        rgb: the picture that was digitised.
        figure: what :func:`digitise_stepfilled` read from it.
        path: PNG to write (one original pixel per output pixel, side-by-side panels).
        panels: histogram indices per panel (default: one panel with all). Histograms 0,
            1, 2, 3 are drawn black dashed, green dotted, red solid, magenta dash-dotted; the
            legend box found is outlined in cyan.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = panels or [list(range(len(figure.density)))]
    height, width = rgb.shape[:2]
    fig = plt.figure(figsize=(len(panels) * width / 100, height / 100), dpi=100)
    edges_px = figure.axes.x_to_px(figure.bin_edges)
    styles = (("k", "--"), ("g", ":"), ("r", "-"), ("m", "-."))
    for index, members in enumerate(panels):
        ax = fig.add_axes((index / len(panels), 0, 1 / len(panels), 1))
        ax.imshow(np.asarray(rgb, np.uint8), extent=(0, width, height, 0),
                  interpolation="nearest")
        for p in members:
            values = figure.density[p]
            if figure.axes.y_scale == "log":
                values = np.where(values > 0, values, np.nan)
            colour, style = styles[p % len(styles)]
            ax.stairs(figure.axes.value_to_y(values), edges_px, color=colour,
                      linestyle=style, linewidth=1.0, baseline=None)
        if figure.legend is not None:
            top, bottom, left, right = figure.legend
            ax.add_patch(plt.Rectangle((left, top), right - left, bottom - top, fill=False,
                                       edgecolor="c", linewidth=0.8))
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.axis("off")
    fig.savefig(os.fspath(path))
    plt.close(fig)
