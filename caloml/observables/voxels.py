"""Observables of 3D calorimeter showers on a voxel grid ``[N, X, Y, Z]`` (pure numpy).

A shower is an array of cell energies ``[X, Y, Z]`` with ``Z`` the depth (layer 0 first), in
any linear unit; a sample is ``[N, X, Y, Z]``. Positions are cell indices ``0 … n − 1`` along
each axis (cell ``i``'s centre at ``i``), so the barycentre of a 51-cell axis lies near 25.

* :func:`projections` — the energy per cell index along x, y and z (the shower "profiles").
* :func:`moments` — per axis, the barycentre (moment 1) and the central moments of order
  ``k ≥ 2`` about it, ``Σ E_i (i − m1)^k / Σ E_i`` in cells^k
  (:func:`caloml.observables.expert.axis_moments`); moment 2 is the squared width.
* :func:`longitudinal_fractions` — the energy in consecutive parts along the depth over the
  total (three thirds of 25 layers: layers 0–7, 8–15 and 16–24).
* :func:`num_hits`, :func:`sampling_fraction` — cells above a threshold; total over the
  primary energy.
* :func:`moment_relative_errors`, :func:`projection_relative_errors`,
  :func:`binned_relative_errors` — how far the mean moments and mean profiles of one sample
  are from a reference sample's, relative to the reference, averaged over the axes.

The relative errors follow the figures of merit of the 3DGAN analysis (svalleco/3Dgan,
``analysis/utils/GANutils.py``: ``get_sums``, ``get_moments``, ``metric``): for moment order
``k`` and axis ``a``, ``e_ak = (⟨m_ak⟩_ref − ⟨m_ak⟩_other) / ⟨m_ak⟩_ref`` with ``⟨·⟩`` the
sample mean; the moment error of order ``k`` is ``(|e_xk| + |e_yk| + |e_zk|) / 3`` and the
total the mean over the orders. For the profiles, per cell ``c`` of axis ``a``,
``e_ac = (⟨P_ac⟩_ref − ⟨P_ac⟩_other) / ⟨P_ac⟩_ref``; the axis error is the mean of ``|e_ac|``
over its cells and the total the mean over the three axes. Cells whose reference mean is 0
(nothing ever deposited there) have no relative error and are left out of the means (the
original divides by zero there). Empty showers have zero projections, moments and fractions
(as :func:`caloml.observables.expert.safe_divide` makes them), never NaN.

Sums accumulate in float64 over chunks of showers, so float32 inputs are not copied whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from caloml.errors import InputError
from caloml.observables import expert

AXES = ("x", "y", "z")
# Moments of the 3DGAN figures of merit (GANutils: m = 2, the barycentre and the width²).
DEFAULT_MAX_ORDER = 2
# Parts of the depth in the longitudinal energy fractions (paper 003 §4.2, Fig. 10).
DEFAULT_PARTS = 3
# Showers per chunk: a float32 chunk of 256 windows of 51 × 51 × 25 cells is 67 MB.
_CHUNK = 256


def _as_showers(showers: np.ndarray) -> np.ndarray:
    showers = np.asarray(showers)
    if showers.ndim != 4:
        raise InputError(f"showers must have shape [N, X, Y, Z], got shape {showers.shape}")
    return showers


def projections(showers: np.ndarray, normalise: bool = False
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Energy per cell index along each axis: the shower profiles.

    Args:
        showers: ``[N, X, Y, Z]`` cell energies.
        normalise: divide each shower's profiles by its total energy (an empty shower's
            profiles stay 0).

    Returns:
        float64 ``(x [N, X], y [N, Y], z [N, Z])``: the sums over the two other axes.
    """
    showers = _as_showers(showers)
    n, nx, ny, nz = showers.shape
    out = (np.zeros((n, nx)), np.zeros((n, ny)), np.zeros((n, nz)))
    for start in range(0, n, _CHUNK):
        chunk = showers[start:start + _CHUNK]
        stop = start + len(chunk)
        out[0][start:stop] = chunk.sum(axis=(2, 3), dtype=np.float64)
        out[1][start:stop] = chunk.sum(axis=(1, 3), dtype=np.float64)
        out[2][start:stop] = chunk.sum(axis=(1, 2), dtype=np.float64)
    if normalise:
        total = out[0].sum(axis=1, keepdims=True)
        out = tuple(expert.safe_divide(p, total) for p in out)
    return out


def total_energy(showers: np.ndarray) -> np.ndarray:
    """float64 ``[N]``: the sum of each shower's cells."""
    return projections(showers)[2].sum(axis=1)


def moments_of_projections(profiles: Sequence[np.ndarray],
                           max_order: int = DEFAULT_MAX_ORDER) -> np.ndarray:
    """:func:`moments` from already computed :func:`projections` (unnormalised or normalised).

    Returns:
        float64 ``[N, 3, max_order]``.
    """
    if len(profiles) != 3:
        raise InputError(f"moments need the three projections (x, y, z), got {len(profiles)}")
    if max_order < 1:
        raise InputError(f"max_order must be at least 1, got {max_order}")
    return np.stack([expert.axis_moments(p, max_order) for p in profiles], axis=1)


def moments(showers: np.ndarray, max_order: int = DEFAULT_MAX_ORDER) -> np.ndarray:
    """Moments of each shower along x, y and z, in cells.

    Args:
        showers: ``[N, X, Y, Z]`` cell energies.
        max_order: highest order.

    Returns:
        float64 ``[N, 3, max_order]``: ``[:, a, 0]`` the barycentre along axis ``a`` (cell
        index), ``[:, a, k − 1]`` the central moment of order ``k`` about it (cells^k; order 2
        is the variance, the squared width). 0 for an empty shower.
    """
    return moments_of_projections(projections(showers), max_order)


def barycentre(showers: np.ndarray) -> np.ndarray:
    """float64 ``[N, 3]``: the energy-weighted mean cell index along x, y, z (0 if empty)."""
    return moments(showers, 1)[:, :, 0]


def longitudinal_fractions(showers: np.ndarray, parts: int = DEFAULT_PARTS) -> np.ndarray:
    """Fractions of each shower's energy in ``parts`` consecutive slices of the depth.

    The slices are ``n = Z // parts`` layers each, the last one taking the rest, as the 3DGAN
    analysis splits its 25 layers (``int(25 / 3) = 8``): layers 0–7, 8–15 and 16–24.

    Args:
        showers: ``[N, X, Y, Z]`` cell energies.
        parts: number of slices (at most ``Z``).

    Returns:
        float64 ``[N, parts]`` summing to 1 per non-empty shower (0 for an empty one).
    """
    return fractions_of_profile(projections(showers)[2], parts)


def fractions_of_profile(profile_z: np.ndarray, parts: int = DEFAULT_PARTS) -> np.ndarray:
    """:func:`longitudinal_fractions` from the z projection ``[N, Z]``."""
    profile_z = np.asarray(profile_z, np.float64)
    depth = profile_z.shape[-1]
    sums = np.stack([profile_z[:, first:last + 1].sum(axis=1)
                     for first, last in longitudinal_parts(depth, parts)], axis=1)
    return expert.safe_divide(sums, sums.sum(axis=1, keepdims=True))


def longitudinal_parts(depth: int, parts: int = DEFAULT_PARTS) -> list[tuple[int, int]]:
    """``[(first, last)]`` layers (inclusive) of each slice of :func:`longitudinal_fractions`."""
    if not 1 <= parts <= depth:
        raise InputError(f"parts must be between 1 and the {depth} layers, got {parts}")
    size = depth // parts
    edges = [k * size for k in range(parts)] + [depth]
    return [(a, b - 1) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def num_hits(showers: np.ndarray, threshold: float) -> np.ndarray:
    """int64 ``[N]``: cells with an energy strictly above ``threshold``."""
    showers = _as_showers(showers)
    out = np.zeros(len(showers), np.int64)
    for start in range(0, len(showers), _CHUNK):
        chunk = showers[start:start + _CHUNK]
        out[start:start + len(chunk)] = np.count_nonzero(
            chunk.reshape(len(chunk), -1) > threshold, axis=1)
    return out


def sampling_fraction(showers: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """float64 ``[N]``: each shower's total over its primary energy ``[N]`` (same unit)."""
    energy = np.asarray(energy, np.float64).reshape(-1)
    showers = _as_showers(showers)
    if energy.shape != (len(showers),):
        raise InputError(f"energy must have shape [{len(showers)}], got {energy.shape}")
    if np.any(energy <= 0):
        raise InputError("sampling_fraction needs positive primary energies")
    return total_energy(showers) / energy


def _relative(reference_mean: np.ndarray, other_mean: np.ndarray) -> np.ndarray:
    """``(ref − other) / ref`` elementwise; NaN where the reference is 0."""
    reference_mean = np.asarray(reference_mean, np.float64)
    other_mean = np.asarray(other_mean, np.float64)
    out = np.full(np.broadcast_shapes(reference_mean.shape, other_mean.shape), np.nan)
    np.divide(reference_mean - other_mean, reference_mean, out=out, where=reference_mean != 0)
    return out


def _nanmean(values: np.ndarray) -> float:
    values = np.asarray(values, np.float64)
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def _check_samples(reference: np.ndarray, other: np.ndarray, what: str) -> None:
    if len(reference) == 0 or len(other) == 0:
        raise InputError(f"{what} need at least one shower in each sample, got "
                         f"{len(reference)} and {len(other)}")


def moment_relative_errors(reference: np.ndarray, other: np.ndarray) -> dict[str, Any]:
    """Relative errors of the mean moments of ``other`` against ``reference`` (GANutils).

    Args:
        reference: ``[N, 3, m]`` moments (:func:`moments`) of the reference sample.
        other: ``[M, 3, m]`` moments of the other sample.

    Returns:
        ``{"per_axis": [3, m] signed (ref − other) / ref of the means, "per_order": [m]
        mean over the axes of their absolute values, "total": mean of per_order}`` (NaN
        where a reference mean is 0).
    """
    reference, other = np.asarray(reference, np.float64), np.asarray(other, np.float64)
    if reference.ndim != 3 or reference.shape[1:] != other.shape[1:] or other.ndim != 3:
        raise InputError(f"moments must be [N, 3, m] and [M, 3, m], got {reference.shape} "
                         f"and {other.shape}")
    _check_samples(reference, other, "moment_relative_errors")
    per_axis = _relative(reference.mean(axis=0), other.mean(axis=0))  # [3, m]
    per_order = np.abs(per_axis).mean(axis=0)
    return {"per_axis": per_axis, "per_order": per_order, "total": float(per_order.mean())}


def projection_relative_errors(reference: Sequence[np.ndarray], other: Sequence[np.ndarray]
                               ) -> dict[str, Any]:
    """Relative errors of the mean profiles of ``other`` against ``reference`` (GANutils).

    Args:
        reference: ``(x [N, X], y [N, Y], z [N, Z])`` projections (:func:`projections`).
        other: the same for the other sample ``[M, …]``.

    Returns:
        ``{"per_cell": ([X], [Y], [Z]) signed (ref − other) / ref of the mean profiles (NaN
        where the reference mean is 0), "per_axis": [3] mean |error| over the cells with a
        defined error, "total": mean of per_axis}``.
    """
    if len(reference) != 3 or len(other) != 3:
        raise InputError("projection_relative_errors needs the x, y and z projections")
    per_cell = []
    for ref, oth in zip(reference, other, strict=True):
        ref, oth = np.asarray(ref, np.float64), np.asarray(oth, np.float64)
        if ref.ndim != 2 or oth.ndim != 2 or ref.shape[1] != oth.shape[1]:
            raise InputError(f"projections must be [N, n] and [M, n], got {ref.shape} and "
                             f"{oth.shape}")
        _check_samples(ref, oth, "projection_relative_errors")
        per_cell.append(_relative(ref.mean(axis=0), oth.mean(axis=0)))
    per_axis = np.array([_nanmean(np.abs(e)) for e in per_cell])
    return {"per_cell": tuple(per_cell), "per_axis": per_axis, "total": _nanmean(per_axis)}


def energy_bin_masks(energy: np.ndarray, centres: Sequence[float], half_width: float
                     ) -> dict[str, np.ndarray]:
    """Showers per energy bin, as GANutils sorts them: ``"all"`` and ``|E − c| < half_width``.

    Returns:
        ``{"all": [N] bool, f"{c:g}": [N] bool, …}``.
    """
    energy = np.asarray(energy, np.float64).reshape(-1)
    masks = {"all": np.ones(energy.shape, bool)}
    for centre in centres:
        masks[f"{centre:g}"] = np.abs(energy - centre) < half_width
    return masks


def binned_relative_errors(
    reference_moments: np.ndarray,
    other_moments: np.ndarray,
    reference_projections: Sequence[np.ndarray],
    other_projections: Sequence[np.ndarray],
    reference_masks: dict[str, np.ndarray],
    other_masks: dict[str, np.ndarray],
) -> dict[str, dict[str, Any]]:
    """:func:`moment_relative_errors` and :func:`projection_relative_errors` per bin.

    Args:
        reference_moments, other_moments: ``[N, 3, m]`` and ``[M, 3, m]``.
        reference_projections, other_projections: ``(x, y, z)`` of ``[N, …]`` and ``[M, …]``.
        reference_masks, other_masks: ``{bin: [N] bool}`` and ``{bin: [M] bool}`` with the
            same bins (:func:`energy_bin_masks`).

    Returns:
        ``{bin: {"num_reference", "num_other", "moments": …, "projections": …}}``; a bin with
        no shower in either sample has ``"moments"`` and ``"projections"`` None.
    """
    if set(reference_masks) != set(other_masks):
        raise InputError(f"the samples' bins differ: {sorted(reference_masks)} and "
                         f"{sorted(other_masks)}")
    out = {}
    for name, ref_mask in reference_masks.items():
        oth_mask = other_masks[name]
        entry: dict[str, Any] = {"num_reference": int(ref_mask.sum()),
                                 "num_other": int(oth_mask.sum()),
                                 "moments": None, "projections": None}
        if entry["num_reference"] and entry["num_other"]:
            entry["moments"] = moment_relative_errors(reference_moments[ref_mask],
                                                      other_moments[oth_mask])
            entry["projections"] = projection_relative_errors(
                [p[ref_mask] for p in reference_projections],
                [p[oth_mask] for p in other_projections])
        out[name] = entry
    return out
