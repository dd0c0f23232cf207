"""Matplotlib figures that mirror the papers' figures (non-interactive "Agg" backend).

Image figures take, per particle, a mapping from image kind to images ``[N, H, W]`` in GeV,
e.g. ``{"photon": {"hr": [N, 96, 96], "lr": [N, 24, 24]}, "pi0": {...}}``; later figures
add super-resolved images as a third kind (``"sr"``). Images are indexed ``[x, y]`` as the
simulator writes them (first axis x) and drawn with x to the right and y up.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # files only; never open windows (works on machines without a display)

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.patches as mpatches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from caloml import outputs  # noqa: E402
from caloml.observables import statistics  # noqa: E402

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


# --- SR-GAN for SR-γ results (paper 000, Figs. 6-13) --------------------------------------
#
# These figures take plain numpy arrays and dicts (no networks) and return the path stem they
# were saved under (``<path_stem>.png`` and ``.pdf``).

# The networks' windows: 6 LR crystals of 22 mm = 24 HR / SR cells of 5.5 mm (paper 000, §2).
SRGAMMA_NETWORK_WINDOW_MM = 132.0
# Classifier labels of paper 000, §5 (pi0 = 1 is the class the CNN's sigmoid scores).
SRGAMMA_CLASS_NAMES = {0: "photon", 1: "pi0"}

_KIND_COLOURS = {"LR": "tab:blue", "HR": "black", "SR": "tab:red"}
_KIND_LINESTYLES = {"LR": "--", "HR": ":", "SR": "-"}
_PARTICLE_LINESTYLES = {"photon": "-", "pi0": "--"}


def _save_stem(fig: matplotlib.figure.Figure, path_stem: str | os.PathLike) -> str:
    save_figure(fig, path_stem)
    return os.fspath(path_stem)


def _kind_colour(kind: str, index: int) -> str:
    return _KIND_COLOURS.get(kind.upper(), f"C{index % 10}")


def _ordered_kinds(kinds) -> list[str]:
    """LR, HR, SR first (in that order), then any other kinds as given."""
    kinds = list(kinds)
    known = [k for k in ("LR", "HR", "SR") if k in kinds]
    return known + [k for k in kinds if k not in known]


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Centred moving mean [E] over the finite entries of ``values`` [E] (shrinks at the ends)."""
    values = np.asarray(values, np.float64)
    finite = np.isfinite(values)
    kernel = np.ones(max(int(window), 1))
    num = np.convolve(np.where(finite, values, 0.0), kernel, mode="same")
    den = np.convolve(finite.astype(np.float64), kernel, mode="same")
    return np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)


def _epochs(history: Mapping[str, Sequence[float]], length: int) -> np.ndarray:
    """Epoch numbers [length]: ``history["epoch"]`` if it fits, else 1, 2, …, length."""
    epochs = history.get("epoch")
    if epochs is not None and len(epochs) == length:
        return np.asarray(epochs, np.float64)
    return np.arange(1, length + 1, dtype=np.float64)


def _history_key(history: Mapping[str, Sequence[float]], name: str) -> str | None:
    """``name`` or its validation twin ``val_<name>``, whichever ``history`` has (name first)."""
    for key in (name, f"val_{name}"):
        if key in history and len(history[key]) > 0:
            return key
    return None


def _no_data(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"{what}: not recorded", transform=ax.transAxes, ha="center",
            va="center", color="0.5")


def _maybe_log_y(ax, *arrays: np.ndarray) -> None:
    values = np.concatenate([np.asarray(a, np.float64).reshape(-1) for a in arrays] or [[]])
    values = values[np.isfinite(values)]
    if values.size and np.all(values > 0):
        ax.set_yscale("log")


def plot_ks_history(
    history: Mapping[str, Sequence[float]],
    selected_epoch: int | None,
    path_stem: str | os.PathLike,
    smoothing: int | None = None,
    title: str | None = None,
) -> str:
    """KS statistic of HR vs SR shower widths per epoch, as in paper 000, Fig. 6.

    Raw values are drawn light, a centred moving mean strong; a black dashed line marks the
    selected epoch (the lowest mean of the photon and pi0 values, unsmoothed).

    Args:
        history: ``{"ks_photon": [E], "ks_pi0": [E]}`` (or the ``val_``-prefixed keys the
            validation callback logs), optionally ``"epoch": [E]`` epoch numbers.
        selected_epoch: epoch to mark, in the units of the x axis (``history["epoch"]``, else
            1-based: entry ``k`` is epoch ``k + 1``); None: the argmin of the mean.
        path_stem: where to save (``.png`` and ``.pdf``).
        smoothing: moving-mean window in epochs; default about 1/25 of the epochs.
        title: optional title, e.g. ``"50 GeV"``.

    Returns:
        ``path_stem`` as a string.
    """
    series = {}
    for particle in ("photon", "pi0"):
        key = _history_key(history, f"ks_{particle}")
        if key is not None:
            series[particle] = np.asarray(history[key], np.float64)
    if not series:
        raise ValueError(f"history has no 'ks_photon' / 'ks_pi0' entries: {sorted(history)}")
    length = min(len(v) for v in series.values())
    series = {p: v[:length] for p, v in series.items()}
    epochs = _epochs(history, length)
    if selected_epoch is None:
        mean = np.mean(np.stack(list(series.values())), axis=0)
        if np.isfinite(mean).any():
            selected_epoch = epochs[int(np.nanargmin(np.where(np.isfinite(mean), mean, np.nan)))]
    window = smoothing if smoothing is not None else max(1, length // 25) | 1
    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    for i, (particle, values) in enumerate(series.items()):
        colour = f"C{i}"
        ax.plot(epochs, values, color=colour, alpha=0.3, linewidth=0.8)
        ax.plot(epochs, _smooth(values, window), color=colour, linewidth=2.0,
                label=_particle_label(particle))
    if selected_epoch is not None:
        ax.axvline(selected_epoch, color="black", linestyle="--", linewidth=1.2,
                   label=f"selected epoch {selected_epoch:g}")
    _maybe_log_y(ax, *series.values())
    ax.set_xlabel("epoch")
    ax.set_ylabel("KS statistic, HR vs SR shower width")
    ax.legend()
    if title:
        ax.set_title(title)
    return _save_stem(fig, path_stem)


def _plot_history_lines(ax, history, names, epochs_of) -> bool:
    """Draws every present ``name`` (solid, "train.") and ``val_name`` (dashed, "val.")."""
    drawn = False
    for i, name in enumerate(names):
        for key, style, suffix in ((name, "-", "train."), (f"val_{name}", "--", "val.")):
            values = np.asarray(history.get(key, []), np.float64)
            if values.size == 0:
                continue
            ax.plot(epochs_of(values), values, color=f"C{i}", linestyle=style,
                    label=f"{name.replace('_', ' ')} ({suffix})")
            drawn = True
    return drawn


def plot_training_history(
    history: Mapping[str, Sequence[float]],
    path_stem: str | os.PathLike,
    title: str | None = None,
) -> str:
    """Losses and metrics during the GAN training, as in paper 000, Fig. 7.

    Left: critic losses (``critic_loss``, and ``wasserstein`` and ``gradient_penalty`` if
    logged) and the critic accuracy. Right: the perceptual loss and the pion rejection of the
    pre-trained CNN on SR images at fixed photon efficiencies (keys ``rejection_at_<eff>``,
    e.g. ``rejection_at_0.9``; log scale, infinite values skipped). Every quantity may also be
    logged as ``val_<key>`` (dashed, "val."); missing quantities leave a "not recorded" panel.

    Args:
        history: Keras-style ``{key: [E] values per epoch}``; ``"epoch": [E]`` optional.
        path_stem: where to save (``.png`` and ``.pdf``).
        title: optional title, e.g. ``"50 GeV"``.

    Returns:
        ``path_stem`` as a string.
    """
    def epochs_of(values):
        return _epochs(history, len(values))

    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True, layout="constrained")
    (loss_ax, per_ax), (acc_ax, rej_ax) = axes
    if not _plot_history_lines(loss_ax, history,
                               ("critic_loss", "wasserstein", "gradient_penalty"), epochs_of):
        _no_data(loss_ax, "critic loss")
    loss_ax.set_ylabel("critic loss")
    if _plot_history_lines(acc_ax, history, ("critic_accuracy",), epochs_of):
        acc_ax.axhline(0.5, color="0.6", linestyle=":", linewidth=1)
    else:
        _no_data(acc_ax, "critic accuracy")
    acc_ax.set_ylabel("critic accuracy (HR vs SR)")
    if _plot_history_lines(per_ax, history, ("perceptual_loss",), epochs_of):
        _maybe_log_y(per_ax, *(history[k] for k in ("perceptual_loss", "val_perceptual_loss")
                               if k in history))
    else:
        _no_data(per_ax, "perceptual loss")
    per_ax.set_ylabel("perceptual loss")

    pattern = re.compile(r"^(val_)?rejection_at_([0-9]*\.?[0-9]+)$")
    matches = sorted(
        ((float(m.group(2)), bool(m.group(1)), key) for key in history
         if (m := pattern.match(key))), key=lambda t: (t[0], t[1]),
    )
    efficiencies = sorted({eff for eff, _, _ in matches})
    drawn = False
    for eff, is_val, key in matches:
        values = np.asarray(history[key], np.float64)
        finite = np.isfinite(values) & (values > 0)
        if not finite.any():
            continue
        label = f"$\\epsilon_\\gamma$ = {eff:g}" + (" (val.)" if is_val else "")
        rej_ax.plot(epochs_of(values)[finite], values[finite],
                    color=f"C{efficiencies.index(eff) % 10}", linestyle="--" if is_val else "-",
                    label=label)
        drawn = True
    if drawn:
        rej_ax.set_yscale("log")
    else:
        _no_data(rej_ax, "pion rejection")
    rej_ax.set_ylabel("pion rejection (pre-trained CNN on SR)")
    for ax in axes.flat:
        if ax.lines:
            ax.legend(fontsize="small")
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    if title:
        fig.suptitle(title)
    return _save_stem(fig, path_stem)


def _class_rows(labels: np.ndarray, num_per_class: int) -> list[tuple[str, int]]:
    """(particle, event index) rows: the first ``num_per_class`` photons, then pi0."""
    labels = np.asarray(labels).reshape(-1)
    rows = []
    for value, particle in SRGAMMA_CLASS_NAMES.items():
        indices = np.flatnonzero(np.isclose(labels, value))[:num_per_class]
        rows += [(particle, int(i)) for i in indices]
    return rows


def plot_sr_examples(
    lr: np.ndarray,
    hr: np.ndarray,
    sr: np.ndarray,
    labels: np.ndarray,
    path_stem: str | os.PathLike,
    num_per_class: int = 2,
    extent_mm: float = SRGAMMA_NETWORK_WINDOW_MM,
    title: str | None = None,
    colorbar_label: str = "energy per cell [GeV]",
) -> str:
    """Example LR, HR and SR images per class, as in paper 000, Figs. 9 and 10.

    Rows: the first ``num_per_class`` photons, then the first ``num_per_class`` pi0 (shuffle
    beforehand for random examples); columns: LR (input), HR (simulated), SR (generated).
    Logarithmic colour scales (:data:`LOG_DECADES` decades, empty cells white); HR and SR of a
    row share one, LR has its own (its crystals hold 16 HR cells' energy).

    Args:
        lr: ``[N, 6, 6]`` LR windows (indexed [x, y]).
        hr: ``[N, 24, 24]`` HR windows of the same events.
        sr: ``[N, 24, 24]`` SR windows generated from ``lr``.
        labels: ``[N]`` 0 for photons, 1 for pi0 (:data:`SRGAMMA_CLASS_NAMES`).
        path_stem: where to save (``.png`` and ``.pdf``).
        num_per_class: example rows per particle.
        extent_mm: side of the window all three images cover (132 mm).
        title: optional title, e.g. ``"20 GeV"``.
        colorbar_label: what the cell values are.

    Returns:
        ``path_stem`` as a string.
    """
    lr, hr, sr = (np.asarray(x, np.float64) for x in (lr, hr, sr))
    if not (lr.ndim == hr.ndim == sr.ndim == 3) or hr.shape != sr.shape:
        raise ValueError(f"need lr [N, h, w], hr and sr [N, H, W]; got {lr.shape}, "
                         f"{hr.shape}, {sr.shape}")
    if not len(lr) == len(hr) == len(sr) == len(labels):
        raise ValueError("lr, hr, sr and labels must hold the same events")
    rows = _class_rows(labels, num_per_class)
    if not rows:
        raise ValueError(f"labels hold no {sorted(SRGAMMA_CLASS_NAMES)} events")
    fig, axes = plt.subplots(len(rows), 3, figsize=(12.5, 3.4 * len(rows)), squeeze=False,
                             layout="constrained")
    cmap = _cmap()
    for row, (particle, index) in enumerate(rows):
        lr_norm = _log_norm([lr[index]])
        fine_norm = _log_norm([hr[index], sr[index]])
        for col, (kind, image, norm) in enumerate(
            (("lr", lr[index], lr_norm), ("hr", hr[index], fine_norm), ("sr", sr[index], fine_norm))
        ):
            ax = axes[row, col]
            im = _draw_image(ax, image, extent_mm, norm, cmap)
            _mm_and_cell_axes(ax, image.shape[-1], extent_mm)
            ax.set_title(f"{_particle_label(particle)} event {index}, {_kind_label(kind)}",
                         fontsize="medium")
            if col == 0:
                fig.colorbar(im, ax=ax, extend="min", shrink=0.9, label=colorbar_label)
        fig.colorbar(im, ax=axes[row, 1:].tolist(), extend="min", shrink=0.9,
                     label=colorbar_label)
    if title:
        fig.suptitle(title)
    return _save_stem(fig, path_stem)


def plot_average_images(
    lr: np.ndarray | None,
    hr: np.ndarray,
    sr: np.ndarray,
    path_stem: str | os.PathLike,
    extent_mm: float = SRGAMMA_NETWORK_WINDOW_MM,
    title: str | None = None,
    colorbar_label: str = "mean energy per cell [GeV]",
) -> str:
    """Average SR and HR windows and their difference, as in paper 000, Fig. 8 (top rows).

    Panels: the average LR window (if given), the average SR and HR windows (one shared log
    colour scale) and ``mean SR - mean HR`` (diverging, symmetric linear scale; red where SR
    puts more energy). Biases of the generator in the spatial distribution of the energy show
    up in the difference.

    Args:
        lr: ``[N, 6, 6]`` LR windows, or None to leave that panel out.
        hr: ``[N, 24, 24]`` HR windows.
        sr: ``[M, 24, 24]`` SR windows (usually the same events as ``hr``).
        path_stem: where to save (``.png`` and ``.pdf``).
        extent_mm: side of the window all images cover (132 mm).
        title: optional title, e.g. ``"50 GeV, selected epoch"``.
        colorbar_label: what the averaged cell values are.

    Returns:
        ``path_stem`` as a string.
    """
    hr, sr = np.asarray(hr, np.float64), np.asarray(sr, np.float64)
    if hr.ndim != 3 or hr.shape[1:] != sr.shape[1:] or not len(hr) or not len(sr):
        raise ValueError(f"need non-empty hr and sr [N, H, W] of equal H, W; got {hr.shape}, "
                         f"{sr.shape}")
    mean_hr, mean_sr = hr.mean(axis=0), sr.mean(axis=0)
    panels = [] if lr is None else [("LR", np.asarray(lr, np.float64).mean(axis=0))]
    panels += [("SR", mean_sr), ("HR", mean_hr)]
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(4.3 * (len(panels) + 1) + 1, 4.0),
                             squeeze=False, layout="constrained")
    axes = axes[0]
    cmap = _cmap()
    fine_norm = _log_norm([mean_sr, mean_hr])
    for ax, (kind, image) in zip(axes, panels, strict=False):
        norm = _log_norm([image]) if kind == "LR" else fine_norm
        im = _draw_image(ax, image, extent_mm, norm, cmap)
        _mm_and_cell_axes(ax, image.shape[-1], extent_mm)
        ax.set_title(f"mean {kind}", fontsize="medium")
        if kind != "SR":
            targets = ax if kind == "LR" else list(axes[len(panels) - 2 : len(panels)])
            fig.colorbar(im, ax=targets, extend="min", shrink=0.9, label=colorbar_label)
    delta = mean_sr - mean_hr
    limit = max(float(np.abs(delta).max()), 1e-12)
    ax = axes[-1]
    im = _draw_image(ax, delta, extent_mm, mcolors.Normalize(-limit, limit), "RdBu_r")
    _mm_and_cell_axes(ax, delta.shape[-1], extent_mm)
    ax.set_title("mean SR $-$ mean HR", fontsize="medium")
    fig.colorbar(im, ax=ax, shrink=0.9, label="difference [GeV]" if "GeV" in colorbar_label
                 else "difference")
    if title:
        fig.suptitle(title)
    return _save_stem(fig, path_stem)


def _fractions(values: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fraction of all entries per bin [K], raw counts [K]); overflow is not drawn."""
    values = np.asarray(values, np.float64).reshape(-1)
    counts = np.histogram(values, edges)[0].astype(np.float64)
    return counts / max(values.size, 1), counts


def _ratio_points(ax, centres, ratio, err, colour, marker, low, high, label) -> None:
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


def plot_width_distributions(
    widths: Mapping[str, Mapping[str, np.ndarray]],
    overlaps: Mapping[str, float] | None,
    path_stem: str | os.PathLike,
    bins: int | np.ndarray = 50,
    title: str | None = None,
) -> str:
    """Normalised shower-width distributions, as in paper 000, Fig. 11.

    Photons solid, pi0 dashed, one colour per image kind; a lower panel shows SR / HR per
    particle with statistical error bars (arrows: outside the panel's range). The legend
    gives the photon / pi0 overlap per kind.

    Args:
        widths: ``{kind: {"photon": [N], "pi0": [M]}}`` widths in rad (Eq. 4), kinds
            ``"LR"``, ``"HR"``, ``"SR"`` (any subset; others are drawn too).
        overlaps: ``{kind: overlap}`` fractions in [0, 1] (shown in %), e.g. from
            :func:`caloml.observables.statistics.histogram_overlap`; kinds missing here (or
            None) are computed with this figure's binning.
        path_stem: where to save (``.png`` and ``.pdf``).
        bins: number of common bins over all samples, or edges in rad.
        title: optional title, e.g. ``"20 GeV"``.

    Returns:
        ``path_stem`` as a string.
    """
    kinds = _ordered_kinds(widths)
    samples = [np.asarray(v, np.float64) for k in kinds for v in widths[k].values()]
    if not samples:
        raise ValueError("widths holds no samples")
    if np.ndim(bins) == 0:
        edges = statistics.default_width_bins(*samples, num=int(bins))
    else:
        edges = np.asarray(bins, np.float64)
    overlaps = dict(overlaps or {})
    for kind in kinds:
        if kind not in overlaps and {"photon", "pi0"} <= set(widths[kind]):
            overlaps[kind] = statistics.histogram_overlap(
                widths[kind]["photon"], widths[kind]["pi0"], edges
            )
    with_ratio = "SR" in widths and "HR" in widths
    fig, axes = plt.subplots(
        2 if with_ratio else 1, 1, figsize=(6.8, 6.2 if with_ratio else 4.6), sharex=True,
        squeeze=False, height_ratios=[3, 1] if with_ratio else [1], layout="constrained",
    )
    ax = axes[0, 0]
    edges_mrad = edges * 1e3
    centres_mrad = 0.5 * (edges_mrad[1:] + edges_mrad[:-1])
    fractions = {}
    for i, kind in enumerate(kinds):
        for particle, values in widths[kind].items():
            frac, counts = _fractions(values, edges)
            fractions[kind, particle] = (frac, counts)
            ax.stairs(frac, edges_mrad, color=_kind_colour(kind, i),
                      linestyle=_PARTICLE_LINESTYLES.get(particle, "-."), linewidth=1.5)
    handles = []
    for i, kind in enumerate(kinds):
        label = kind
        if kind in overlaps:
            label += f" (overlap {100 * overlaps[kind]:.3g} %)"
        handles.append(plt.Line2D([], [], color=_kind_colour(kind, i), label=label))
    particles = list(dict.fromkeys(p for k in kinds for p in widths[k]))
    for particle in particles:
        handles.append(plt.Line2D([], [], color="0.3", label=_particle_label(particle),
                                  linestyle=_PARTICLE_LINESTYLES.get(particle, "-.")))
    ax.legend(handles=handles, fontsize="small")
    ax.set_ylabel("fraction of events per bin")
    if title:
        ax.set_title(title)
    if with_ratio:
        rax = axes[1, 0]
        rax.axhline(1.0, color="0.5", linewidth=0.8)
        for j, particle in enumerate(p for p in particles
                                     if ("SR", p) in fractions and ("HR", p) in fractions):
            (f_sr, n_sr), (f_hr, n_hr) = fractions["SR", particle], fractions["HR", particle]
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(f_hr > 0, f_sr / f_hr, np.nan)
                rel = np.sqrt(np.where(n_sr > 0, 1 / n_sr, 0.0) + np.where(n_hr > 0, 1 / n_hr, 0))
            _ratio_points(rax, centres_mrad, ratio, ratio * rel, _KIND_COLOURS["SR"],
                          "os"[j % 2], 0.0, 2.0, _particle_label(particle))
        rax.set_ylim(0.0, 2.0)
        rax.set_ylabel("SR / HR")
        rax.legend(fontsize="x-small", ncols=2)
    axes[-1, 0].set_xlabel("shower width W [mrad]")
    return _save_stem(fig, path_stem)


def plot_barycentre_distances(
    distances: Mapping[str, np.ndarray],
    path_stem: str | os.PathLike,
    bins: int | np.ndarray = 50,
    title: str | None = None,
) -> str:
    """Distance of the SR and LR barycentres from the HR one, as in paper 000, Fig. 12.

    Args:
        distances: ``{kind: [N]}`` distances in LR crystal widths (22 mm), e.g. from
            :func:`caloml.observables.showers.barycentre_distance`; kinds ``"SR"``, ``"LR"``.
        path_stem: where to save (``.png`` and ``.pdf``).
        bins: number of bins from 0 to the largest 99.5th percentile of the samples (the
            overflow is not drawn), or edges in crystal widths.
        title: optional title, e.g. ``"20 GeV"``.

    Returns:
        ``path_stem`` as a string.
    """
    kinds = _ordered_kinds(distances)
    samples = {k: np.asarray(distances[k], np.float64).reshape(-1) for k in kinds}
    samples = {k: v[np.isfinite(v)] for k, v in samples.items()}
    if not any(v.size for v in samples.values()):
        raise ValueError("distances holds no finite values")
    if np.ndim(bins) == 0:
        upper = max(float(np.quantile(v, 0.995)) for v in samples.values() if v.size)
        edges = np.linspace(0.0, upper if upper > 0 else 1.0, int(bins) + 1)
    else:
        edges = np.asarray(bins, np.float64)
    fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    for i, (kind, values) in enumerate(samples.items()):
        if not values.size:
            continue
        frac, _ = _fractions(values, edges)
        ax.stairs(frac, edges, color=_kind_colour(kind, i), linewidth=1.6,
                  label=f"{kind} (mean {values.mean():.3g}, median {np.median(values):.3g})")
    ax.set_xlabel("distance to the HR barycentre [crystal widths, 22 mm]")
    ax.set_ylabel("fraction of events per bin")
    ax.set_xlim(edges[0], edges[-1])
    ax.legend()
    if title:
        ax.set_title(title)
    return _save_stem(fig, path_stem)


def _size_key(size: str) -> tuple[float, str]:
    """Sorts training-set sizes such as "1k", "10k", "100k", "1M" by their number."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmM]?)\s*", str(size))
    if not match:
        return (np.inf, str(size))
    scale = {"": 1.0, "k": 1e3, "m": 1e6}[match.group(2).lower()]
    return (float(match.group(1)) * scale, str(size))


def plot_rejection_curves(
    curves: Mapping[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]],
    path_stem: str | os.PathLike,
    title: str | None = None,
) -> str:
    """Pion rejection versus photon efficiency of the LR and SR CNNs, as in paper 000, Fig. 13.

    One colour per training-set size, SR solid and LR dashed, with ±1σ bands of the
    statistical uncertainty (log y: a band's lower edge is cut at a tenth of the rejection,
    where fewer than ~2 pi0 pass; points with infinite rejection, i.e. no pi0 selected, are
    skipped). The lower panel shows SR / LR per size, its band from the relative
    uncertainties added in quadrature (SR interpolated onto the LR efficiencies).

    Args:
        curves: ``{(kind, size): (efficiency [K], rejection [K], rejection_err [K])}``, e.g.
            ``{("LR", "1k"): ..., ("SR", "1k"): ...}``, the tuples of
            :func:`caloml.observables.statistics.rejection_curve`.
        path_stem: where to save (``.png`` and ``.pdf``).
        title: optional title, e.g. ``"50 GeV"``.

    Returns:
        ``path_stem`` as a string.
    """
    if not curves:
        raise ValueError("curves is empty")
    sizes = sorted({size for _, size in curves}, key=_size_key)
    data = {}
    for key, (eff, rej, err) in curves.items():
        eff, rej, err = (np.asarray(x, np.float64).reshape(-1) for x in (eff, rej, err))
        order = np.argsort(eff)
        data[key] = (eff[order], rej[order], err[order])
    with_ratio = any(("SR", s) in data and ("LR", s) in data for s in sizes)
    fig, axes = plt.subplots(
        2 if with_ratio else 1, 1, figsize=(6.8, 6.4 if with_ratio else 4.8), sharex=True,
        squeeze=False, height_ratios=[3, 1] if with_ratio else [1], layout="constrained",
    )
    ax = axes[0, 0]
    for (kind, size), (eff, rej, err) in sorted(data.items(),
                                                key=lambda kv: (_size_key(kv[0][1]), kv[0][0])):
        colour = f"C{sizes.index(size) % 10}"
        ok = np.isfinite(rej) & (rej > 0)
        band_err = np.where(np.isfinite(err), err, 0.0)
        ax.plot(eff[ok], rej[ok], color=colour, linestyle=_KIND_LINESTYLES.get(kind, "-."),
                label=f"{kind}, {size}")
        ax.fill_between(eff, np.where(ok, np.maximum(rej - band_err, 0.1 * rej), np.nan),
                        np.where(ok, rej + band_err, np.nan), color=colour, alpha=0.2,
                        linewidth=0)
    ax.set_yscale("log")
    ax.set_ylabel(r"pion rejection $1/\epsilon_{\pi^0}$")
    ax.legend(fontsize="small", ncols=2)
    if title:
        ax.set_title(title)
    if with_ratio:
        rax = axes[1, 0]
        rax.axhline(1.0, color="0.5", linewidth=0.8)
        for size in sizes:
            if ("SR", size) not in data or ("LR", size) not in data:
                continue
            colour = f"C{sizes.index(size) % 10}"
            eff, rej_lr, err_lr = data["LR", size]
            sr_eff, sr_rej, sr_err = data["SR", size]
            with np.errstate(divide="ignore", invalid="ignore"):
                rej_sr = np.interp(eff, sr_eff, sr_rej)
                err_sr = np.interp(eff, sr_eff, sr_err)
                ratio = rej_sr / rej_lr
                rel = np.sqrt((err_sr / rej_sr) ** 2 + (err_lr / rej_lr) ** 2)
            ok = np.isfinite(ratio) & (ratio > 0)
            rax.plot(eff[ok], ratio[ok], color=colour, label=size)
            band = np.where(ok & np.isfinite(rel), ratio * rel, 0.0)
            rax.fill_between(eff, np.where(ok, ratio - band, np.nan),
                             np.where(ok, ratio + band, np.nan), color=colour, alpha=0.2,
                             linewidth=0)
        rax.set_ylabel("SR / LR")
        rax.legend(fontsize="x-small", ncols=len(sizes))
    axes[-1, 0].set_xlabel(r"photon efficiency $\epsilon_\gamma$")
    return _save_stem(fig, path_stem)
