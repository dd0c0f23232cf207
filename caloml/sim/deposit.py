"""From longitudinal showers to cell images on rectangular readout grids.

A readout layer is a grid of rectangular cells; a geometry maps each depth slice of
:func:`caloml.sim.gflash.simulate_longitudinal` onto one layer (a *group* of slices). The
expected image of a layer is the sum, over its slices, of the Gaussian-mixture lateral profile
(:mod:`caloml.sim.lateral`) integrated over the layer's cells; cells may be rectangular because
the 1D cell integrals along x and y are separate. :func:`group_spot_energy` gives the GFlash
spot energy of each layer, which sets its compound-Poisson fluctuations
(:func:`caloml.sim.noise.add_shower_noise`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import numpy as np

from caloml.sim import gflash, lateral


@dataclasses.dataclass(frozen=True)
class CellGrid:
    """``num_x × num_y`` cells of ``cell_x_mm × cell_y_mm``, centred on the beam axis (0, 0).

    Images on the grid have shape ``[num_x, num_y]``: rows along x, columns along y.
    """

    num_x: int
    num_y: int
    cell_x_mm: float
    cell_y_mm: float

    @property
    def shape(self) -> tuple[int, int]:
        return (self.num_x, self.num_y)

    @property
    def low_x_mm(self) -> float:
        return -0.5 * self.num_x * self.cell_x_mm

    @property
    def low_y_mm(self) -> float:
        return -0.5 * self.num_y * self.cell_y_mm

    def x_edges_mm(self) -> np.ndarray:
        return self.low_x_mm + self.cell_x_mm * np.arange(self.num_x + 1)

    def y_edges_mm(self) -> np.ndarray:
        return self.low_y_mm + self.cell_y_mm * np.arange(self.num_y + 1)


@functools.lru_cache(maxsize=32)
def fixed_kernel(grid: CellGrid, x_mm: float, y_mm: float, widths_mm: tuple[float, ...]):
    """[K, num_x·num_y] float32 (cached, read-only): cell integrals of K Gaussians at (x, y)."""
    gx = lateral.gaussian_cell_integrals(x_mm, grid.x_edges_mm(), widths_mm)
    gy = lateral.gaussian_cell_integrals(y_mm, grid.y_edges_mm(), widths_mm)
    kernel = (gx[:, :, None] * gy[:, None, :]).reshape(len(widths_mm), -1).astype(np.float32)
    kernel.flags.writeable = False
    return kernel


def _components(showers: gflash.Showers) -> tuple[np.ndarray, np.ndarray]:
    """[M, 2S] energies and radii of the core and tail components of every slice."""
    p = showers.core_fraction
    energy = np.concatenate([showers.slice_energy_gev * p,
                             showers.slice_energy_gev * (1.0 - p)], axis=1)
    radius = np.concatenate([showers.core_radius_mm, showers.tail_radius_mm], axis=1)
    return energy, radius


def expected_images(
    showers: gflash.Showers,
    x_mm: np.ndarray,
    y_mm: np.ndarray,
    grids: Sequence[CellGrid],
    slice_group: np.ndarray | None = None,
    per_event: int = 1,
) -> list[np.ndarray]:
    """Noise-free images of N events made of ``per_event`` sub-showers each, one per grid.

    Args:
        showers: M = N·per_event sub-showers with S depth slices (events' sub-showers adjacent).
        x_mm, y_mm: [M] shower axis positions (normal incidence: the same at every depth).
        grids: G cell grids, one per readout layer.
        slice_group: [S] layer index in ``[0, G)`` of each depth slice; default all 0 (G = 1).
        per_event: sub-showers per event.

    Returns:
        G arrays [N, num_x, num_y] float32, GeV. Energy outside a grid's window is not in its
        image (``layer energy − image sum`` is the out-of-window energy).
    """
    num_slices = showers.slice_energy_gev.shape[1]
    group = np.zeros(num_slices, np.int64) if slice_group is None else np.asarray(slice_group)
    energy, radius = _components(showers)
    x = np.repeat(np.asarray(x_mm, np.float64)[:, None], len(grids), axis=1)
    y = np.repeat(np.asarray(y_mm, np.float64)[:, None], len(grids), axis=1)
    return component_images(energy, radius, x, y, grids, np.concatenate([group, group]),
                            per_event)


def component_images(
    energy_gev: np.ndarray,
    radius_mm: np.ndarray,
    x_mm: np.ndarray,
    y_mm: np.ndarray,
    grids: Sequence[CellGrid],
    component_group: np.ndarray,
    per_event: int = 1,
) -> list[np.ndarray]:
    """Noise-free images of components of GFlash radial kernels, one image per grid.

    Args:
        energy_gev: [M, C] energies of C components (e.g. the core of every depth slice) of
            M = N·per_event sub-showers (events' sub-showers adjacent).
        radius_mm: [M, C] their radial scales R.
        x_mm, y_mm: [M, G] centre of each sub-shower's components in each layer.
        grids: G cell grids, one per readout layer.
        component_group: [C] layer index of each component.
        per_event: sub-showers per event.

    Returns:
        G arrays [N, num_x, num_y] float32 (GeV).
    """
    num_groups = len(grids)
    group = np.asarray(component_group)
    num_components = np.shape(energy_gev)[1]
    if group.shape != (num_components,) or group.min() < 0 or group.max() >= num_groups:
        raise ValueError(f"slice_group must be [{num_components}] indices into {num_groups} "
                         f"grids")
    edges, widths = lateral.width_grid()
    widths = tuple(float(w) for w in widths)
    if num_groups == 1:
        weights = lateral.mixture_weights(energy_gev, radius_mm, edges)[:, None, :]  # [M, 1, K]
    else:
        weights = lateral.mixture_weights_by_group(energy_gev, radius_mm, edges, group,
                                                   num_groups)
    num_widths = weights.shape[2]
    images = []
    for g, grid in enumerate(grids):
        x, y = x_mm[:, g], y_mm[:, g]
        if x.size and np.all(x == x[0]) and np.all(y == y[0]):
            # One impact point (a fixed beam): every sub-shower of an event shares the kernel,
            # and the layer's images are one [N, K] × [K, cells] product with exact integrals.
            event_weights = weights[:, g].reshape(-1, per_event, num_widths).sum(axis=1)
            images.append((event_weights @ fixed_kernel(grid, x[0], y[0], widths)).reshape(
                -1, *grid.shape))
        else:
            images.append(mixture_images(weights[:, g], x, y, grid, widths, per_event))
    return images


# Widths holding less than this share of every sub-shower's energy are folded into a neighbour.
_NEGLIGIBLE_SHARE = 1e-9
# Gaussians wider than this many window sizes are flat over the window: one of them stands for
# all (they differ only in the share of their energy inside the window, ~1e-6 of a shower).
_FLAT_WINDOWS = 2.0


def _fold_widths(weights: np.ndarray, widths_mm: tuple[float, ...], grid: CellGrid):
    """Folds the weights of negligible narrow and of flat wide Gaussians into their neighbours.

    Returns:
        ([M, K] weights with the same sums, indices of the contiguous widths to compute).
    """
    widths = np.asarray(widths_mm)
    share = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-30)
    used = np.flatnonzero(share.max(axis=0) > _NEGLIGIBLE_SHARE)
    if not used.size:
        return weights, used
    flat = np.searchsorted(widths, _FLAT_WINDOWS * max(grid.num_x * grid.cell_x_mm,
                                                       grid.num_y * grid.cell_y_mm))
    low, high = used[0], max(min(used[-1], flat), used[0])
    folded = np.array(weights[:, low:high + 1], copy=True)
    folded[:, 0] += weights[:, :low].sum(axis=1)
    folded[:, -1] += weights[:, high + 1:].sum(axis=1)
    out = np.zeros_like(weights)
    out[:, low:high + 1] = folded
    return out, np.arange(low, high + 1)


def mixture_images(
    weights: np.ndarray, x_mm: np.ndarray, y_mm: np.ndarray, grid: CellGrid,
    widths_mm: tuple[float, ...], per_event: int = 1,
) -> np.ndarray:
    """Images of N events from the Gaussian-mixture weights of their sub-showers.

    Args:
        weights: [M, K] energy per Gaussian width (:func:`caloml.sim.lateral.mixture_weights`)
            of M = N·per_event sub-showers (events' sub-showers adjacent).
        x_mm, y_mm: [M] sub-shower centres in the grid's frame.
        grid: the cells.
        widths_mm: the K widths.

    Returns:
        [N, num_x, num_y] float32: ``Σ_k w_k Gx[k, i] Gy[k, j]``, summed over each event's
        sub-showers, with the 1D cell integrals from the tables of :mod:`caloml.sim.lateral`.
        Only the widths that matter are computed (:func:`_fold_widths`).
    """
    weights, which = _fold_widths(weights, widths_mm, grid)
    if not which.size:
        return np.zeros((len(weights) // per_event, grid.num_x, grid.num_y), np.float32)
    k = len(which) * per_event
    gx = lateral.profiles_1d(x_mm, grid.low_x_mm, grid.cell_x_mm, grid.num_x, widths_mm, which)
    gy = lateral.profiles_1d(y_mm, grid.low_y_mm, grid.cell_y_mm, grid.num_y, widths_mm, which)
    gx = (gx * weights[:, which, None]).reshape(-1, k, grid.num_x)
    gy = gy.reshape(-1, k, grid.num_y)
    return np.matmul(gx.transpose(0, 2, 1), gy)


def group_energy(
    showers: gflash.Showers, slice_group: np.ndarray, num_groups: int, per_event: int = 1
) -> np.ndarray:
    """[N, G] energy (GeV) deposited in each group of slices (layer), summed per event."""
    one_hot = np.asarray(slice_group)[:, None] == np.arange(num_groups)[None, :]
    energy = showers.slice_energy_gev @ one_hot
    return energy.reshape(-1, per_event, num_groups).sum(axis=1)


def group_spot_energy(
    showers: gflash.Showers, slice_group: np.ndarray, num_groups: int, per_event: int = 1
) -> np.ndarray:
    """[N, G] energy-weighted mean GFlash spot energy (GeV) of each layer of each event.

    A slice of energy E_s holds n_s spots of E_s/n_s (at least one spot per slice, as in
    GFlash); the spot energy of a layer, ``Σ E_s²/n_s / Σ E_s`` over its slices, gives the
    compound-Poisson variance ``e·μ`` per cell. Layers without energy get 1 GeV (their images
    are empty, so the value is never used).
    """
    one_hot = np.asarray(slice_group)[:, None] == np.arange(num_groups)[None, :]
    e = showers.slice_energy_gev
    squares = (e**2 / np.maximum(showers.slice_spots, 1.0)) @ one_hot
    energy = e @ one_hot
    squares = squares.reshape(-1, per_event, num_groups).sum(axis=1)
    energy = energy.reshape(-1, per_event, num_groups).sum(axis=1)
    spot = np.divide(squares, energy, out=np.ones_like(energy), where=energy > 0)
    return np.where(energy > 0, np.minimum(spot, energy), 1.0)
