"""1D shower-shape observables of a longitudinally segmented calorimeter, one image per layer.

A shower is a list of per-layer images ``[layer_0, layer_1, ...]``, each ``[N, H_l, W_l]``
energies per cell (any linear unit; the CaloGAN files use MeV), layer 0 first along the beam.
The observables and their exact definitions are those of Paganini, de Oliveira and Nachman,
"CaloGAN" (PRD 97, 014021, 2018), as coded in hep-lbdl/CaloGAN ``analysis/feats1d.py`` and
``analysis/analysis.ipynb``; only ``depth``, ``lateral_depth`` and ``lateral_depth2`` of
feats1d are written for three layers there, and are generalised here to any number
(layer index ``l`` = 0, 1, 2, ... as depth coordinate).

Divisions by a total energy give NaN for a shower without energy (as feats1d's 0/0 does).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from caloml.observables.showers import energy_ratio, ratio, sparsity

# feats1d's ``myepsilon``: protects the lateral width's division by the layer energy.
LATERAL_WIDTH_EPSILON = 1e-6


def _layers(layers: Sequence[np.ndarray]) -> list[np.ndarray]:
    layers = [np.asarray(layer) for layer in layers]
    if not layers:
        raise ValueError("need at least one layer")
    n = len(layers[0])
    for index, layer in enumerate(layers):
        if layer.ndim < 2 or len(layer) != n:
            raise ValueError(f"layer {index} must have shape [N, ...] with N = {n}, got "
                             f"{layer.shape}")
    return layers


def layer_energies(layers: Sequence[np.ndarray]) -> np.ndarray:
    """Energy of each layer (feats1d ``energy``).

    Args:
        layers: ``L`` arrays ``[N, H_l, W_l]`` (or any ``[N, ...]``) of cell energies.

    Returns:
        float64 ``[N, L]`` sums over each layer's cells.
    """
    layers = _layers(layers)
    return np.stack([layer.reshape(len(layer), -1).sum(axis=1, dtype=np.float64)
                     for layer in layers], axis=1)


def total_energy(layers: Sequence[np.ndarray]) -> np.ndarray:
    """Energy of the whole shower, ``Σ_l E_l`` (feats1d ``total_energy``): float64 ``[N]``."""
    return layer_energies(layers).sum(axis=1)


def energy_fractions(layers: Sequence[np.ndarray]) -> np.ndarray:
    """``E_l / E_tot`` per layer (feats1d ``efrac``): float64 ``[N, L]``, NaN without energy."""
    energies = layer_energies(layers)
    return ratio(energies, energies.sum(axis=1, keepdims=True))


def layer_sparsity(layers: Sequence[np.ndarray]) -> np.ndarray:
    """Fraction of each layer's cells with energy > 0 (the notebook's sparsity): ``[N, L]``."""
    return np.stack([sparsity(layer) for layer in _layers(layers)], axis=1)


def depth(layers: Sequence[np.ndarray]) -> np.ndarray:
    """Index of the deepest layer holding energy (feats1d ``depth``).

    A layer "holds energy" when its sum is non-zero; a shower with energy in layer 0 only, or
    none at all, has depth 0 (feats1d tests layers 2 and 1 only).

    Returns:
        int64 ``[N]`` in ``[0, L - 1]``.
    """
    nonzero = layer_energies(layers) != 0  # [N, L]
    n_layers = nonzero.shape[1]
    deepest = n_layers - 1 - np.argmax(nonzero[:, ::-1], axis=1)
    return np.where(nonzero.any(axis=1), deepest, 0).astype(np.int64)


def lateral_depth(layers: Sequence[np.ndarray]) -> np.ndarray:
    """``Σ_l l · E_l`` (feats1d ``lateral_depth``; ``E_1 + 2 E_2`` for three layers): ``[N]``."""
    energies = layer_energies(layers)
    return energies @ np.arange(energies.shape[1], dtype=np.float64)


def lateral_depth2(layers: Sequence[np.ndarray]) -> np.ndarray:
    """``Σ_l l² · E_l`` (feats1d ``lateral_depth2``; ``E_1 + 4 E_2`` for three layers)."""
    energies = layer_energies(layers)
    return energies @ np.arange(energies.shape[1], dtype=np.float64) ** 2


def shower_depth(layers: Sequence[np.ndarray]) -> np.ndarray:
    """Energy-weighted mean layer index ``s_d = Σ_l l E_l / E_tot`` (feats1d ``shower_depth``).

    Returns:
        float64 ``[N]``; NaN for a shower without energy.
    """
    return ratio(lateral_depth(layers), total_energy(layers))


def shower_depth_width(layers: Sequence[np.ndarray]) -> np.ndarray:
    """Energy-weighted spread of the layer index, ``sqrt(Σ l² E_l / E_tot - s_d²)``.

    feats1d ``shower_depth_width``. A shower in one layer has width 0 (a negative round-off
    variance is taken as 0 where feats1d would give NaN).

    Returns:
        float64 ``[N]``; NaN for a shower without energy.
    """
    total = total_energy(layers)
    mean = ratio(lateral_depth(layers), total)
    variance = ratio(lateral_depth2(layers), total) - mean**2
    return np.sqrt(np.where(variance < 0, 0.0, variance))


def lateral_width(images: np.ndarray, extent: float = 480.0,
                  epsilon: float = LATERAL_WIDTH_EPSILON) -> np.ndarray:
    """Energy-weighted spread along the first image axis (feats1d ``layer_lateral_width``).

    Row ``i`` of ``H`` rows sits at the centre of the ``i``-th of ``H`` equal bins spanning
    ``[-extent / 2, extent / 2]`` (CaloGAN: 480 mm, so 160 mm rows in its 3×96 layer 0 and
    40 mm rows in its 12×12 and 12×6 layers 1 and 2). With ``x`` and ``x2`` the first and
    second moments of that coordinate weighted by cell energy and ``E`` the layer energy, the
    width is ``sqrt(x2 / (E + ε) - (x / (E + ε))²)``: ``ε`` is feats1d's guard, in the
    images' energy unit, so an empty layer gets width 0.

    Args:
        images: ``[N, H, W]`` (or ``[N, H, ...]``) energies per cell.
        extent: size of the layer along the first image axis, in the unit wanted.
        epsilon: added to the layer energy in both denominators (feats1d: 1e-6 MeV).

    Returns:
        float64 ``[N]`` widths in the unit of ``extent``; NaN where the expression under
        the square root is negative (round-off; the notebook drops those showers) and, with
        ``epsilon=0``, for an empty layer.
    """
    images = np.asarray(images)
    if images.ndim < 2:
        raise ValueError(f"images must have shape [N, H, ...], got {images.shape}")
    n, rows = images.shape[:2]
    edges = np.linspace(-0.5 * extent, 0.5 * extent, rows + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    row_energy = images.reshape(n, rows, -1).sum(axis=2, dtype=np.float64)  # [N, H]
    energy = row_energy.sum(axis=1) + epsilon
    with np.errstate(invalid="ignore", divide="ignore"):  # ε = 0 and an empty layer: NaN
        first = row_energy @ centres / energy
        second = row_energy @ centres**2 / energy
        return np.sqrt(second - first**2)


def shower_shapes(layers: Sequence[np.ndarray], extent: float = 480.0) -> dict[str, np.ndarray]:
    """All the 1D observables of a layered shower, named by layer.

    Args:
        layers: ``L`` arrays ``[N, H_l, W_l]`` of cell energies (one energy unit for all).
        extent: size of every layer along its first image axis (see :func:`lateral_width`).

    Returns:
        ``{"total_energy", "depth", "lateral_depth", "shower_depth", "shower_depth_width"}``
        ``[N]`` arrays and, for each layer ``l``, ``"energy_layer{l}"``,
        ``"energy_fraction_layer{l}"``, ``"sparsity_layer{l}"``, ``"lateral_width_layer{l}"``
        and ``"energy_ratio_layer{l}"`` (two hottest cells, :func:`caloml.observables.showers.
        energy_ratio`; NaN for an empty layer). Energies are in the input's unit.
    """
    layers = _layers(layers)
    energies = layer_energies(layers)
    total = energies.sum(axis=1)
    out = {
        "total_energy": total,
        "depth": depth(layers),
        "lateral_depth": lateral_depth(layers),
        "shower_depth": shower_depth(layers),
        "shower_depth_width": shower_depth_width(layers),
    }
    fractions = ratio(energies, total[:, None])
    for index, layer in enumerate(layers):
        out[f"energy_layer{index}"] = energies[:, index]
        out[f"energy_fraction_layer{index}"] = fractions[:, index]
        out[f"sparsity_layer{index}"] = sparsity(layer)
        out[f"lateral_width_layer{index}"] = lateral_width(layer, extent)
        out[f"energy_ratio_layer{index}"] = energy_ratio(layer)
    return out
