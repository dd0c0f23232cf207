"""Shower-shape observables of calorimeter images: barycentre, width (paper 000, Eq. 4), cores.

Images are ``[N, H, W]`` energies per cell (GeV, or any linear unit: both observables are
energy-weighted means, so a common normalisation cancels; power-scaled network inputs must be
transformed back first, see :func:`caloml.data.preprocessing.postprocess_srgamma`).
Positions are cell-centre coordinates along the two image axes, ``(i - (H - 1) / 2, j - (W -
1) / 2)`` times the cell size, so the origin is the image centre and images of different
granularity covering the same physical window share one coordinate system.

Angles use the small-angle approximation: a cell of pitch ``p`` on the calorimeter face at a
distance ``d`` from the interaction point subtends ``p / d`` rad (the SR-γ windows are at most
±66 mm off axis at 1290 mm, where ``atan`` differs from its argument by less than 0.1 %).

An image holding a NaN or infinite cell (a diverged network's output) has NaN barycentre and
width: it must never pass for a narrow shower.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Events per chunk: bounds the [chunk, H, W] float64 temporaries (~300 MB for 24×24 images).
_CHUNK = 65_536


def cell_size_rad(cell_mm: float, distance_mm: float) -> float:
    """Angle in rad subtended by a cell of pitch ``cell_mm`` at ``distance_mm`` (small angles).

    Args:
        cell_mm: cell pitch on the calorimeter face in mm.
        distance_mm: distance of the face from the interaction point in mm.

    Returns:
        ``cell_mm / distance_mm``; e.g. 22 mm crystals at 1290 mm: 0.01705 rad.
    """
    if cell_mm <= 0 or distance_mm <= 0:
        raise ValueError(f"cell_mm and distance_mm must be positive, got {cell_mm}, {distance_mm}")
    return float(cell_mm) / float(distance_mm)


def _as_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images must have shape [N, H, W], got shape {images.shape}")
    return images


def _centres(size: int) -> np.ndarray:
    """Cell-centre coordinates [size] in cells, origin at the image centre."""
    return np.arange(size, dtype=np.float64) - 0.5 * (size - 1)


def barycentre(images: np.ndarray, cell_size: float = 1.0) -> np.ndarray:
    """Energy-weighted centre of each image.

    Args:
        images: ``[N, H, W]`` non-negative energies per cell.
        cell_size: length of one cell in the unit wanted for the result (1: cells; e.g.
            ``HR_CELL_MM``: mm; ``cell_size_rad(HR_CELL_MM)``: rad).

    Returns:
        float64 ``[N, 2]`` (row, col) = (first, second image axis) coordinates of the
        barycentre times ``cell_size``, origin at the image centre. Images whose total energy
        is not positive (empty images) give the image centre, ``(0, 0)``; images with a
        non-finite cell give NaN.
    """
    images = _as_images(images)
    n, height, width = images.shape
    rows, cols = _centres(height), _centres(width)
    out = np.zeros((n, 2), np.float64)
    for start in range(0, n, _CHUNK):
        chunk = images[start : start + _CHUNK].astype(np.float64, copy=False)
        total = chunk.sum(axis=(1, 2))
        row_sums = chunk.sum(axis=2)  # [n, H]: energy per row
        col_sums = chunk.sum(axis=1)  # [n, W]: energy per column
        valid = total > 0
        safe = np.where(valid, total, 1.0)
        empty = np.where(np.isfinite(total), 0.0, np.nan)
        out[start : start + _CHUNK, 0] = np.where(valid, row_sums @ rows / safe, empty)
        out[start : start + _CHUNK, 1] = np.where(valid, col_sums @ cols / safe, empty)
    return out * cell_size


def shower_width(images: np.ndarray, cell_size_rad: float) -> np.ndarray:
    """Shower width of paper 000, Eq. 4: ``W = Σ_i ΔR_i E_i / Σ_i E_i``.

    ``ΔR_i`` is the angular distance of cell ``i``'s centre from the image's barycentre
    (:func:`barycentre`), i.e. the distance in cells times ``cell_size_rad``.

    Args:
        images: ``[N, H, W]`` non-negative energies per cell (linear, not power-scaled).
        cell_size_rad: angle subtended by one cell, e.g. ``cell_size_rad(5.5, 1290)``
            (the module function of that name).

    Returns:
        float64 ``[N]`` widths in rad (in the unit of ``cell_size_rad``); 0 for images whose
        total energy is not positive, NaN for images with a non-finite cell.
    """
    images = _as_images(images)
    n, height, width = images.shape
    rows, cols = _centres(height), _centres(width)
    centre = barycentre(images)  # [N, 2] in cells
    out = np.zeros(n, np.float64)
    for start in range(0, n, _CHUNK):
        chunk = images[start : start + _CHUNK].astype(np.float64, copy=False)
        bary = centre[start : start + _CHUNK]
        d_row = rows[None, :, None] - bary[:, 0, None, None]  # [n, H, 1]
        d_col = cols[None, None, :] - bary[:, 1, None, None]  # [n, 1, W]
        distance = np.sqrt(d_row**2 + d_col**2)  # [n, H, W] in cells
        total = chunk.sum(axis=(1, 2))
        valid = total > 0
        weighted = (distance * chunk).sum(axis=(1, 2))
        empty = np.where(np.isfinite(total), 0.0, np.nan)
        out[start : start + _CHUNK] = np.where(valid, weighted / np.where(valid, total, 1.0), empty)
    return out * cell_size_rad


def barycentre_distance(
    a_images: np.ndarray,
    a_cell_mm: float,
    b_images: np.ndarray,
    b_cell_mm: float,
    unit_mm: float,
) -> np.ndarray:
    """Distance between the barycentres of two images of each event (paper 000, Fig. 12).

    Both images must cover the same physical window at different granularity, e.g. the SR
    (or LR) window and the HR window of the same event; both are centred on the window
    centre, so their barycentres are directly comparable.

    Args:
        a_images: ``[N, Ha, Wa]`` energies per cell, e.g. SR ``[N, 24, 24]``.
        a_cell_mm: cell pitch of ``a_images`` in mm, e.g. 5.5.
        b_images: ``[N, Hb, Wb]`` energies per cell of the same events, e.g. HR.
        b_cell_mm: cell pitch of ``b_images`` in mm.
        unit_mm: length unit of the result in mm, e.g. one LR crystal width (22 mm).

    Returns:
        float64 ``[N]`` Euclidean distances in units of ``unit_mm`` (crystal widths).

    Raises:
        ValueError: if the event counts differ or the windows have different physical sizes.
    """
    a_images, b_images = _as_images(a_images), _as_images(b_images)
    if len(a_images) != len(b_images):
        raise ValueError(f"different numbers of events: {len(a_images)} and {len(b_images)}")
    a_mm = np.multiply(a_images.shape[1:], a_cell_mm)
    b_mm = np.multiply(b_images.shape[1:], b_cell_mm)
    if not np.allclose(a_mm, b_mm):
        raise ValueError(
            f"the images cover different windows: {a_mm.tolist()} mm and {b_mm.tolist()} mm"
        )
    delta = barycentre(a_images, a_cell_mm) - barycentre(b_images, b_cell_mm)
    return np.hypot(delta[:, 0], delta[:, 1]) / unit_mm


def layer_barycentre_slopes(
    volume: np.ndarray, layer_depth_mm: np.ndarray, cell_mm: float, axis: int = 1,
    min_layer_fraction: float = 1e-3,
) -> np.ndarray:
    """Per event, the slope d(position)/d(depth) of the layer barycentres of a 3D shower.

    Each layer's energy barycentre along ``axis`` (0: x, 1: y of ``[N, x, y, layer]``) is
    fitted against the layer depth with weights √(layer energy), using the layers holding at
    least ``min_layer_fraction`` of the event's largest layer. For a straight shower inclined
    by θ along that axis the slope is cot θ (the CLIC files: y along the beam).

    Returns:
        [N] slopes (mm per mm); NaN for events with fewer than two such layers.
    """
    volume = np.asarray(volume, np.float64)
    centres = (np.arange(volume.shape[1 + axis]) + 0.5) * cell_mm
    layer_energy = volume.sum(axis=(1, 2))  # [N, L]
    moment = np.einsum("nxyl,x->nl" if axis == 0 else "nxyl,y->nl", volume, centres)
    depth = np.asarray(layer_depth_mm, np.float64)
    slopes = np.full(len(volume), np.nan)
    for i, (energy, first) in enumerate(zip(layer_energy, moment, strict=True)):
        used = energy > min_layer_fraction * energy.max()
        if used.sum() >= 2:
            slopes[i] = np.polyfit(depth[used], first[used] / energy[used], 1,
                                   w=np.sqrt(energy[used]))[0]
    return slopes


def core_fractions(images: np.ndarray, sizes: Sequence[int] = (1, 3, 5)) -> dict[int, np.ndarray]:
    """Fractions of each image's energy in the ``k``×``k`` cells around its hottest cell.

    Squares reaching past the image edge are clipped to it.

    Args:
        images: ``[N, H, W]`` energies per cell.
        sizes: odd square sides in cells.

    Returns:
        ``{k: [N] float64}``; NaN for an image without energy.
    """
    images = np.asarray(images, np.float64)
    n, height, width = images.shape
    total = images.sum(axis=(1, 2))
    row, col = np.unravel_index(images.reshape(n, -1).argmax(axis=1), (height, width))
    rows, cols = np.arange(height), np.arange(width)
    out = {}
    for k in sizes:
        if k < 1 or k % 2 != 1:
            raise ValueError(f"core sizes must be odd positive integers, got {k}")
        half = k // 2
        in_rows = np.abs(rows[None, :] - row[:, None]) <= half  # [N, H]
        in_cols = np.abs(cols[None, :] - col[:, None]) <= half  # [N, W]
        inside = np.einsum("nh,nhw,nw->n", in_rows.astype(np.float64), images, in_cols)
        out[k] = ratio(inside, total)
    return out


def sparsity(images: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Fraction of each image's cells above ``threshold`` (CaloGAN's "sparsity").

    Args:
        images: ``[N, ...]`` energies per cell.
        threshold: cells must exceed this to count.

    Returns:
        float64 ``[N]`` in [0, 1].
    """
    images = np.asarray(images)
    return (images.reshape(len(images), -1) > threshold).mean(axis=1, dtype=np.float64)


def energy_ratio(images: np.ndarray) -> np.ndarray:
    """``(E₁ − E₂) / (E₁ + E₂)`` of the two most energetic cells of each image (CaloGAN).

    Args:
        images: ``[N, ...]`` energies per cell (at least two cells).

    Returns:
        float64 ``[N]`` in [0, 1]; NaN for an image whose two hottest cells are empty.
    """
    flat = np.asarray(images, np.float64).reshape(len(images), -1)
    top = -np.partition(-flat, 1, axis=1)[:, :2]
    return ratio(top[:, 0] - top[:, 1], top[:, 0] + top[:, 1])


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` as float64, NaN where the denominator is not positive."""
    numerator = np.asarray(numerator, np.float64)
    return np.divide(numerator, denominator, out=np.full(numerator.shape, np.nan),
                     where=np.asarray(denominator) > 0)
