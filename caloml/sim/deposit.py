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
    num_groups = len(grids)
    num_slices = showers.slice_energy_gev.shape[1]
    group = np.zeros(num_slices, np.int64) if slice_group is None else np.asarray(slice_group)
    if group.shape != (num_slices,) or group.min() < 0 or group.max() >= num_groups:
        raise ValueError(f"slice_group must be [{num_slices}] indices into {num_groups} grids")
    edges, widths = lateral.width_grid()
    widths = tuple(float(w) for w in widths)
    energy, radius = _components(showers)
    if num_groups == 1:
        weights = lateral.mixture_weights(energy, radius, edges)[:, None, :]  # [M, 1, K]
    else:
        weights = lateral.mixture_weights_by_group(
            energy, radius, edges, np.concatenate([group, group]), num_groups
        )
    num_widths = weights.shape[2]
    x_mm = np.asarray(x_mm, np.float64)
    y_mm = np.asarray(y_mm, np.float64)
    if x_mm.size and np.all(x_mm == x_mm[0]) and np.all(y_mm == y_mm[0]):
        # One impact point (a fixed beam): every sub-shower of an event shares the kernel, and
        # a layer's images are one [N, K] × [K, cells] product with exact cell integrals.
        event_weights = weights.reshape(-1, per_event, num_groups, num_widths).sum(axis=1)
        return [
            (event_weights[:, g] @ fixed_kernel(grid, x_mm[0], y_mm[0], widths)).reshape(
                -1, *grid.shape
            )
            for g, grid in enumerate(grids)
        ]
    return [mixture_images(weights[:, g], x_mm, y_mm, grid, widths, per_event)
            for g, grid in enumerate(grids)]


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
    """
    num_widths = len(widths_mm)
    k = num_widths * per_event
    gx = lateral.profiles_1d(x_mm, grid.low_x_mm, grid.cell_x_mm, grid.num_x, widths_mm)
    gy = lateral.profiles_1d(y_mm, grid.low_y_mm, grid.cell_y_mm, grid.num_y, widths_mm)
    gx = (gx * weights[:, :, None]).reshape(-1, k, grid.num_x)
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
