"""The figures of paper 000 (SR-GAN for SR-γ), Figs. 6–13, from plain numpy arrays.

Each function takes arrays and dicts (no networks), saves ``<path_stem>.png`` and ``.pdf``
(:func:`caloml.plotting.core.save_figure`) and returns the paths. Images are the networks'
windows in GeV, indexed ``[x, y]``: 6×6 LR crystals or 24×24 HR/SR cells covering 132 mm.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np

from caloml.data import preprocessing, srgamma
from caloml.observables import statistics
from caloml.plotting import core as plotting

# Image kinds: low resolution (the network input), high resolution (simulated), super-resolved.
KINDS = ("LR", "HR", "SR")
_KIND_COLOURS = {"LR": "tab:blue", "HR": "black", "SR": "tab:red"}
_KIND_LINESTYLES = {"LR": "--", "HR": ":", "SR": "-"}
_PARTICLE_LINESTYLES = {"photon": "-", "pi0": "--"}


def _kind_colour(kind: str, index: int) -> str:
    return _KIND_COLOURS.get(kind.upper(), f"C{index % 10}")


def _ordered_kinds(kinds) -> list[str]:
    """LR, HR, SR first (in that order), then any other kinds as given."""
    kinds = list(kinds)
    known = [k for k in KINDS if k in kinds]
    return known + [k for k in kinds if k not in known]


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
        The paths written (``<path_stem>.png`` and ``.pdf``).
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
        ax.plot(epochs, plotting.moving_mean(values, window), color=colour, linewidth=2.0,
                label=plotting.particle_label(particle))
    if selected_epoch is not None:
        ax.axvline(selected_epoch, color="black", linestyle="--", linewidth=1.2,
                   label=f"selected epoch {selected_epoch:g}")
    plotting.log_y_if_positive(ax, *series.values())
    ax.set_xlabel("epoch")
    ax.set_ylabel("KS statistic, HR vs SR shower width")
    ax.legend()
    if title:
        ax.set_title(title)
    return plotting.save_figure(fig, path_stem)


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
        The paths written (``<path_stem>.png`` and ``.pdf``).
    """
    def epochs_of(values):
        return _epochs(history, len(values))

    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True, layout="constrained")
    (loss_ax, per_ax), (acc_ax, rej_ax) = axes
    if not _plot_history_lines(loss_ax, history,
                               ("critic_loss", "wasserstein", "gradient_penalty"), epochs_of):
        plotting.no_data(loss_ax, "critic loss")
    loss_ax.set_ylabel("critic loss")
    if _plot_history_lines(acc_ax, history, ("critic_accuracy",), epochs_of):
        acc_ax.axhline(0.5, color="0.6", linestyle=":", linewidth=1)
    else:
        plotting.no_data(acc_ax, "critic accuracy")
    acc_ax.set_ylabel("critic accuracy (HR vs SR)")
    if _plot_history_lines(per_ax, history, ("perceptual_loss",), epochs_of):
        perceptual = ("perceptual_loss", "val_perceptual_loss")
        plotting.log_y_if_positive(per_ax, *(history[k] for k in perceptual if k in history))
    else:
        plotting.no_data(per_ax, "perceptual loss")
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
        plotting.no_data(rej_ax, "pion rejection")
    rej_ax.set_ylabel("pion rejection (pre-trained CNN on SR)")
    for ax in axes.flat:
        if ax.lines:
            ax.legend(fontsize="small")
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    if title:
        fig.suptitle(title)
    return plotting.save_figure(fig, path_stem)


def _class_rows(labels: np.ndarray, num_per_class: int) -> list[tuple[str, int]]:
    """(particle, event index) rows: the first ``num_per_class`` photons, then pi0."""
    labels = np.asarray(labels).reshape(-1)
    rows = []
    for particle, value in srgamma.LABELS.items():
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
    extent_mm: float = preprocessing.WINDOW_MM,
    title: str | None = None,
    colorbar_label: str = "energy per cell [GeV]",
) -> str:
    """Example LR, HR and SR images per class, as in paper 000, Figs. 9 and 10.

    Rows: the first ``num_per_class`` photons, then the first ``num_per_class`` pi0 (shuffle
    beforehand for random examples); columns: LR (input), HR (simulated), SR (generated).
    Logarithmic colour scales (:data:`caloml.plotting.core.LOG_DECADES` decades, empty cells
    white); HR and SR of a row share one, LR has its own (its crystals hold 16 HR cells' energy).

    Args:
        lr: ``[N, 6, 6]`` LR windows (indexed [x, y]).
        hr: ``[N, 24, 24]`` HR windows of the same events.
        sr: ``[N, 24, 24]`` SR windows generated from ``lr``.
        labels: ``[N]`` 0 for photons, 1 for pi0 (:data:`caloml.data.srgamma.LABELS`).
        path_stem: where to save (``.png`` and ``.pdf``).
        num_per_class: example rows per particle.
        extent_mm: side of the window all three images cover (132 mm).
        title: optional title, e.g. ``"20 GeV"``.
        colorbar_label: what the cell values are.

    Returns:
        The paths written (``<path_stem>.png`` and ``.pdf``).
    """
    lr, hr, sr = (np.asarray(x, np.float64) for x in (lr, hr, sr))
    if not (lr.ndim == hr.ndim == sr.ndim == 3) or hr.shape != sr.shape:
        raise ValueError(f"need lr [N, h, w], hr and sr [N, H, W]; got {lr.shape}, "
                         f"{hr.shape}, {sr.shape}")
    if not len(lr) == len(hr) == len(sr) == len(labels):
        raise ValueError("lr, hr, sr and labels must hold the same events")
    rows = _class_rows(labels, num_per_class)
    if not rows:
        raise ValueError(f"labels hold no photon or pi0 ({srgamma.LABELS}) events")
    fig, axes = plt.subplots(len(rows), 3, figsize=(12.5, 3.4 * len(rows)), squeeze=False,
                             layout="constrained")
    cmap = plotting.image_cmap()
    for row, (particle, index) in enumerate(rows):
        lr_norm = plotting.log_norm([lr[index]])
        fine_norm = plotting.log_norm([hr[index], sr[index]])
        for col, (kind, image, norm) in enumerate(
            (("lr", lr[index], lr_norm), ("hr", hr[index], fine_norm), ("sr", sr[index], fine_norm))
        ):
            ax = axes[row, col]
            im = plotting.draw_image(ax, image, extent_mm, norm, cmap)
            plotting.mm_and_cell_axes(ax, image.shape[-1], extent_mm)
            ax.set_title(f"{plotting.particle_label(particle)} event {index}, {kind.upper()}",
                         fontsize="medium")
            if col == 0:
                fig.colorbar(im, ax=ax, extend="min", shrink=0.9, label=colorbar_label)
        fig.colorbar(im, ax=axes[row, 1:].tolist(), extend="min", shrink=0.9,
                     label=colorbar_label)
    if title:
        fig.suptitle(title)
    return plotting.save_figure(fig, path_stem)


def plot_training_evolution(
    averages: Mapping[str, np.ndarray],
    hr_average: np.ndarray,
    widths: Mapping[str, Mapping[str, np.ndarray]],
    hr_widths: Mapping[str, np.ndarray],
    path_stem: str | os.PathLike,
    extent_mm: float = preprocessing.WINDOW_MM,
    bins: int = 40,
    title: str | None = None,
) -> list[str]:
    """The course of the training on the validation sample, as paper 000, Fig. 8.

    One column per generator state (the paper: after one epoch, after 100 epochs, at the
    selected epoch), then the simulated HR. Rows: the average image over all photon and π⁰
    windows (one log colour scale for the row); its difference from the HR average (one
    symmetric linear scale); the photon shower widths and the π⁰ shower widths, SR against HR,
    with the KS statistic of each pair.

    Args:
        averages: ``{column title: [24, 24]}`` average SR windows in GeV, e.g.
            ``{"epoch 1": ..., "epoch 100": ..., "epoch 537 (selected)": ...}``.
        hr_average: ``[24, 24]`` average HR window in GeV.
        widths: ``{column title: {"photon": [N], "pi0": [M]}}`` SR shower widths in rad.
        hr_widths: ``{"photon": [N], "pi0": [M]}`` HR shower widths in rad.
        path_stem: where to save (``.png`` and ``.pdf``).
        extent_mm: side of the window the images cover (132 mm).
        bins: number of width bins, common to all panels of a row.
        title: optional title, e.g. ``"50 GeV, validation sample"``.

    Returns:
        The paths written.
    """
    columns = list(averages)
    if not columns or set(columns) != set(widths):
        raise ValueError(f"averages and widths need the same non-empty columns, got "
                         f"{columns} and {list(widths)}")
    hr_average = np.asarray(hr_average, np.float64)
    images = [np.asarray(averages[c], np.float64) for c in columns] + [hr_average]
    fig, axes = plt.subplots(4, len(columns) + 1, figsize=(3.6 * (len(columns) + 1) + 1.2, 13),
                             squeeze=False, layout="constrained")
    norm, cmap = plotting.log_norm(images), plotting.image_cmap()
    deltas = [image - hr_average for image in images[:-1]]
    limit = max(max(float(np.abs(d).max()) for d in deltas), 1e-12)
    for col, (name, image) in enumerate(zip([*columns, "HR"], images, strict=True)):
        ax = axes[0, col]
        im = plotting.draw_image(ax, image, extent_mm, norm, cmap)
        plotting.mm_and_cell_axes(ax, image.shape[-1], extent_mm)
        ax.set_title(f"mean {'SR, ' if name != 'HR' else ''}{name}", fontsize="medium")
        ax = axes[1, col]
        if name == "HR":
            ax.set_axis_off()
            continue
        diff = plotting.draw_image(ax, deltas[col], extent_mm, mcolors.Normalize(-limit, limit),
                                   "RdBu_r")
        plotting.mm_and_cell_axes(ax, image.shape[-1], extent_mm)
        ax.set_title(f"SR $-$ HR, {name}", fontsize="medium")
    fig.colorbar(im, ax=axes[0, :].tolist(), extend="min", shrink=0.9,
                 label="mean energy per cell [GeV]")
    fig.colorbar(diff, ax=axes[1, :-1].tolist(), shrink=0.9, label="difference [GeV]")
    for row, particle in ((2, "photon"), (3, "pi0")):
        samples = [np.asarray(hr_widths[particle], np.float64)]
        samples += [np.asarray(widths[c][particle], np.float64) for c in columns]
        edges_mrad = 1e3 * statistics.default_width_bins(*samples, num=bins)
        hr_fraction, _ = plotting.histogram_fractions(1e3 * samples[0], edges_mrad)
        for col, name in enumerate(columns):
            ax = axes[row, col]
            sr = samples[col + 1]
            ks = statistics.ks_statistic(sr, samples[0])
            ax.stairs(hr_fraction, edges_mrad, color=_KIND_COLOURS["HR"], label="HR")
            ax.stairs(plotting.histogram_fractions(1e3 * sr, edges_mrad)[0], edges_mrad,
                      color=_KIND_COLOURS["SR"], label=f"SR (KS {ks:.3g})")
            ax.set_title(f"{plotting.particle_label(particle)}, {name}", fontsize="medium")
            ax.set_xlabel("shower width W [mrad]")
            ax.legend(fontsize="small")
        axes[row, 0].set_ylabel("fraction of events per bin")
        axes[row, -1].set_axis_off()
    if title:
        fig.suptitle(title)
    return plotting.save_figure(fig, path_stem)


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
        The paths written (``<path_stem>.png`` and ``.pdf``).
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
            frac, counts = plotting.histogram_fractions(values, edges)
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
        handles.append(plt.Line2D([], [], color="0.3", label=plotting.particle_label(particle),
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
            plotting.ratio_points(rax, centres_mrad, ratio, ratio * rel, _KIND_COLOURS["SR"],
                                  "os"[j % 2], 0.0, 2.0, plotting.particle_label(particle))
        rax.set_ylim(0.0, 2.0)
        rax.set_ylabel("SR / HR")
        rax.legend(fontsize="x-small", ncols=2)
    axes[-1, 0].set_xlabel("shower width W [mrad]")
    return plotting.save_figure(fig, path_stem)


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
        The paths written (``<path_stem>.png`` and ``.pdf``).
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
        frac, _ = plotting.histogram_fractions(values, edges)
        ax.stairs(frac, edges, color=_kind_colour(kind, i), linewidth=1.6,
                  label=f"{kind} (mean {values.mean():.3g}, median {np.median(values):.3g})")
    ax.set_xlabel("distance to the HR barycentre [crystal widths, 22 mm]")
    ax.set_ylabel("fraction of events per bin")
    ax.set_xlim(edges[0], edges[-1])
    ax.legend()
    if title:
        ax.set_title(title)
    return plotting.save_figure(fig, path_stem)


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
        The paths written (``<path_stem>.png`` and ``.pdf``).
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
    return plotting.save_figure(fig, path_stem)

