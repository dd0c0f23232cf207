"""CLIC ECAL windows resampled to ATLAS-like and CMS-like cells (paper 003 §5.4, Table 1).

Paper 003 emulates coarser calorimeters on the CLIC data by "resampling": every ECAL window is
redistributed onto the cells of a target geometry by the fraction of each CLIC cell's area that
overlaps each target cell, and then back onto the CLIC grid by the same rule, so the networks
built for CLIC windows read the coarser showers unchanged (Fig. 16). Cell sizes are compared in
Molière radii across the shower (x, y) and by blocks of whole CLIC layers in depth:

* A target cell of ``Δ`` (in η or φ) spans ``(Δ / R_M) / (Δ_CLIC / R_M,CLIC)`` CLIC cells
  (Table 1: CLIC Δη = Δφ = 0.003, R_M = 0.9327 cm). In the CLIC layout
  (:data:`caloml.io.schema.CLIC`) x runs along r φ and y along the beam, so Δφ sets the x size
  and Δη the y size.
* Each target layer covers a block of whole CLIC layers (:attr:`TargetLayer.clic_layers`):
  ATLAS's three layers take 5, 17 and 3 of the 25 (their depths of 4.3, 16 and 2 X0, rounded,
  as in Triforce_CaloML); CMS, a homogeneous crystal calorimeter, has one layer covering all 25.
  Going back, a block's energy is spread evenly over its layers.
* In each direction the target grid is the smallest one of whole target cells that covers the
  51-cell window, centred on it; target cells at the window's edge overhang it.

The forward map ``F`` (CLIC cells → target cells), the back map ``B`` (target → CLIC) and the
resampling ``R = B F`` are :mod:`scipy.sparse` matrices (:class:`Resampler`), all built from the
1-D overlap of two interval grids (:func:`interval_overlap`) with Kronecker products over x, y
and the layer blocks. ``F`` conserves energy; ``B`` loses the share of an edge target cell that
overhangs the window ("some information is lost at the edges", Fig. 16). Applying ``R`` sums each
block over its layers first and applies the 2-D transverse part of ``R`` to the sums, which is the
same product at a fraction of the cost: 3,000 to 6,000 windows per second on one core (CMS to
ATLAS, measured on a busy machine), faster than gzip-compressed HDF5 files are read.

Is ``R`` idempotent, i.e. is a resampled window already "on the target grid"? ``R² = R`` holds
when ``F B`` is the identity on the target cells a window reaches. With area overlaps both ways,
``(F B)[t, t'] = Σ_c |t ∩ c| |c ∩ t'| / (|c| |t'|)``, which is the identity exactly when every
target cell is a union of whole CLIC cells lying inside the window: target boundaries on CLIC
boundaries and no overhang. Then ``R`` is the projection onto windows that are flat inside each
target cell (it also holds trivially when target cells split CLIC cells exactly: then
``R = I``). The layer blocks always satisfy it, so the depth part of ``R`` is exactly idempotent
(ATLAS 5:17:3; CMS's collapse of all 25 layers). The transverse cells of Table 1 do not: a CMS
crystal spans 2.777 CLIC cells, an ATLAS middle-layer cell 0.86, so CLIC cells straddle target
boundaries, ``F B`` mixes neighbouring target cells, and each further pass blurs a little more and
loses a little more at the edges. :meth:`Resampler.idempotency_defect` measures the worst case
(the largest share of a single-cell deposit that a second pass moves; 0 for an exact projection).

Alternatives that are exactly idempotent were rejected as less faithful to the paper:

* the oblique projection ``B (F B)⁻¹ F`` keeps every target cell's reading (``F R = F``), but
  ``(F B)⁻¹`` has negative entries, so it creates negative energies;
* a non-negative ``R`` with ``F R = F`` must give each target cell's energy back only to the
  CLIC cells lying wholly inside it: CLIC cells straddling a target boundary would come back
  empty (stripes of zeros every two to three cells for CMS), and it does not exist where
  target cells hold no whole CLIC cell (the ATLAS middle layer's 0.86-cell cells never do, the
  back layer's 1.72-cell ones along η often not);
* moving target boundaries onto CLIC boundaries (whole numbers of CLIC cells per target cell)
  changes the target cell sizes by up to a CLIC cell (36% of a CMS crystal).

So ``R`` is the paper's area-overlap operator, non-negative and energy-conserving away from the
edges, exactly idempotent in depth and for aligned grids, and not idempotent across the shower
for ATLAS and CMS (the defect is reported by ``eval/resample.py``).

ATLAS's third layer: Table 1 prints Δη = 0.5, a typo for the physical 0.025 × 2 = 0.05 of the
ATLAS back layer (Triforce_CaloML used the printed 0.5). :data:`ATLAS` uses 0.05;
:data:`ATLAS_PRINTED` (target name ``"atlas_printed"``) is the same geometry with 0.5.

Pure numpy, scipy and h5py: no TensorFlow. The work directory of the resampling study and its
figure are in :mod:`caloml.reco.resampling` and :mod:`caloml.reco.figures`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import time
from collections.abc import Sequence
from typing import Any

import h5py
import numpy as np
import threadpoolctl
from scipy import sparse

from caloml import outputs
from caloml.data import blocks
from caloml.errors import InputError
from caloml.io import hdf5, schema

# The CLIC ECAL window [x (r phi), y (beam), layer] of caloml.io.schema.CLIC.
ECAL_SHAPE: tuple[int, int, int] = schema.CLIC.field("ECAL").shape

# Paper 003 Table 1, CLIC column (cell sizes are dimensionless η and radians of φ).
CLIC_CELL_ETA = 0.003
CLIC_CELL_PHI_RAD = 0.003
CLIC_MOLIERE_RADIUS_CM = 0.9327
CLIC_RADIATION_LENGTH_CM = 0.3504

# What resample_file does with the HCAL window: zero it (paper 003 §5.4 discards the HCAL for
# this study) or copy it unchanged.
HCAL_OPTIONS = ("drop", "keep")

# Grid sizes are rounded up; a ratio this close below a whole number is that number (float
# rounding of the table's cell sizes must not add a target cell).
_SIZE_TOLERANCE = 1e-9


@dataclasses.dataclass(frozen=True)
class TargetLayer:
    """One longitudinal layer of a target calorimeter.

    Attributes:
        cell_eta: cell size in pseudorapidity Δη (along the beam, CLIC y).
        cell_phi_rad: cell size in azimuth Δφ in radians (along r φ, CLIC x).
        clic_layers: ``(first, stop)``: the CLIC ECAL layers ``first ... stop - 1`` the layer
            covers.
    """

    cell_eta: float
    cell_phi_rad: float
    clic_layers: tuple[int, int]

    def __post_init__(self) -> None:
        # A list from JSON becomes the hashable tuple the resampler cache needs.
        object.__setattr__(self, "clic_layers", tuple(int(i) for i in self.clic_layers))
        if len(self.clic_layers) != 2:
            raise InputError(f"clic_layers must be (first, stop), got {self.clic_layers}")

    @property
    def num_clic_layers(self) -> int:
        return self.clic_layers[1] - self.clic_layers[0]


@dataclasses.dataclass(frozen=True)
class TargetGeometry:
    """A calorimeter that CLIC ECAL windows are resampled to (paper 003 Table 1).

    Attributes:
        name: target name (a key of :data:`TARGETS` for the built-in ones).
        layers: the longitudinal layers, front to back; their ``clic_layers`` blocks are
            contiguous, start at CLIC layer 0 and must end at the window's last layer.
        moliere_radius_cm: Molière radius, the unit transverse cell sizes are compared in.
        radiation_length_cm: radiation length X0 as Table 1 prints it (recorded only: the
            depth blocks are given as whole CLIC layers in ``layers``).
        description: one line for file attributes and reports.
    """

    name: str
    layers: tuple[TargetLayer, ...]
    moliere_radius_cm: float
    radiation_length_cm: float
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        if not isinstance(self.name, str) or not self.name:
            raise InputError(f"target geometry name must be a non-empty string, got "
                             f"{self.name!r}")
        if not self.layers:
            raise InputError(f"target geometry {self.name!r} has no layers")
        for what, value in (("moliere_radius_cm", self.moliere_radius_cm),
                            ("radiation_length_cm", self.radiation_length_cm)):
            if not (math.isfinite(value) and value > 0):
                raise InputError(f"target geometry {self.name!r}: {what} must be a positive "
                                 f"number, got {value!r}")
        stop = 0
        for i, layer in enumerate(self.layers):
            for what, value in (("cell_eta", layer.cell_eta),
                                ("cell_phi_rad", layer.cell_phi_rad)):
                if not (math.isfinite(value) and value > 0):
                    raise InputError(f"target geometry {self.name!r} layer {i}: {what} must "
                                     f"be a positive number, got {value!r}")
            first, last = layer.clic_layers
            if first != stop or last <= first:
                raise InputError(
                    f"target geometry {self.name!r} layer {i}: clic_layers {layer.clic_layers} "
                    f"must be a non-empty block starting at CLIC layer {stop} (blocks are "
                    "contiguous from layer 0)")
            stop = last

    @property
    def num_clic_layers(self) -> int:
        """CLIC layers the target layers cover (the window depth it applies to)."""
        return self.layers[-1].clic_layers[1]

    def cells_per_target_cell(self, layer: int) -> tuple[float, float]:
        """Size of a cell of target ``layer`` in CLIC cells, (x, y) = (r φ, beam).

        A target cell of Δ spans ``(Δ / R_M) / (Δ_CLIC / R_M,CLIC)`` CLIC cells (paper 003
        §5.4: cell sizes normalised by the Molière radius).
        """
        spec = self.layers[layer]
        scale = CLIC_MOLIERE_RADIUS_CM / self.moliere_radius_cm
        return (spec.cell_phi_rad / CLIC_CELL_PHI_RAD * scale,
                spec.cell_eta / CLIC_CELL_ETA * scale)


# Paper 003 Table 1 (ATLAS R_M 9.043 cm, X0 "14 cm" as printed) with Triforce_CaloML's depth
# split of the 25 CLIC layers 5:17:3 (ATLAS layers of 4.3, 16 and 2 X0, rounded).
ATLAS = TargetGeometry(
    name="atlas",
    layers=(
        TargetLayer(cell_eta=0.025 / 8, cell_phi_rad=0.1, clic_layers=(0, 5)),
        TargetLayer(cell_eta=0.025, cell_phi_rad=0.025, clic_layers=(5, 22)),
        # Table 1 prints 0.5; the ATLAS back layer has Δη = 0.05 (see ATLAS_PRINTED).
        TargetLayer(cell_eta=0.05, cell_phi_rad=0.025, clic_layers=(22, 25)),
    ),
    moliere_radius_cm=9.043,
    radiation_length_cm=14.0,
    description="ATLAS-like LAr ECAL: strips, middle and back layers (Table 1, back Δη 0.05)",
)
# The same with the third layer's Δη = 0.5 as printed in Table 1 (and used by Triforce_CaloML).
ATLAS_PRINTED = dataclasses.replace(
    ATLAS,
    name="atlas_printed",
    layers=(*ATLAS.layers[:2], dataclasses.replace(ATLAS.layers[2], cell_eta=0.5)),
    description="ATLAS-like LAr ECAL as printed in Table 1 (back layer Δη 0.5)",
)
# Paper 003 Table 1: PbWO4 crystals of 0.0175 x 0.0175, R_M 1.959 cm, X0 0.8903 cm; no
# segmentation in depth.
CMS = TargetGeometry(
    name="cms",
    layers=(TargetLayer(cell_eta=0.0175, cell_phi_rad=0.0175, clic_layers=(0, 25)),),
    moliere_radius_cm=1.959,
    radiation_length_cm=0.8903,
    description="CMS-like PbWO4 crystal ECAL, one layer in depth (Table 1)",
)
TARGETS: dict[str, TargetGeometry] = {g.name: g for g in (ATLAS, ATLAS_PRINTED, CMS)}


def get_target(target: str | TargetGeometry) -> TargetGeometry:
    """``target`` itself, or the built-in geometry of that name.

    Raises:
        InputError: for an unknown name.
    """
    if isinstance(target, TargetGeometry):
        return target
    if target not in TARGETS:
        raise InputError(f"unknown resampling target {target!r}; expected one of "
                         f"{sorted(TARGETS)}")
    return TARGETS[target]


def target_edges(num_cells: int, cells_per_target_cell: float) -> np.ndarray:
    """Cell edges of the smallest grid of whole target cells covering ``num_cells`` cells.

    Args:
        num_cells: CLIC cells along the axis (the window spans ``[0, num_cells]``).
        cells_per_target_cell: target cell size in CLIC cells (> 0).

    Returns:
        float64 ``[num_target + 1]``: edges in CLIC cells, the grid centred on the window (it
        overhangs ``(num_target * size - num_cells) / 2`` cells on each side).
    """
    size = float(cells_per_target_cell)
    num_target = math.ceil(num_cells / size - _SIZE_TOLERANCE)
    overhang = (num_target * size - num_cells) / 2
    return np.arange(num_target + 1) * size - overhang


def interval_overlap(source_edges: np.ndarray, target_edges: np.ndarray) -> np.ndarray:
    """Lengths of the overlaps of two grids of intervals on a line.

    Args:
        source_edges: increasing edges ``[S + 1]`` of the source cells.
        target_edges: increasing edges ``[T + 1]`` of the target cells (same unit).

    Returns:
        float64 ``[T, S]``: entry ``[t, s]`` is the length of target cell t ∩ source cell s.
    """
    s = np.asarray(source_edges, np.float64)
    t = np.asarray(target_edges, np.float64)
    low = np.maximum(t[:-1, None], s[None, :-1])
    high = np.minimum(t[1:, None], s[None, 1:])
    return np.clip(high - low, 0.0, None)


def _csr(matrix: Any, dtype: Any = np.float64) -> sparse.csr_matrix:
    out = sparse.csr_matrix(matrix, dtype=dtype)
    out.eliminate_zeros()
    return out


class Resampler:
    """The resampling of CLIC windows of one shape to one target geometry, as sparse matrices.

    Cells are numbered as ``ecal.reshape(N, -1)`` numbers them (x, then y, then layer, C
    order); target cells layer by layer, each layer's grid ``[num_x, num_y]`` in C order.

    Attributes:
        target: the target geometry.
        shape: the CLIC window ``(x, y, layer)``, e.g. ``(51, 51, 25)``.
        x_edges, y_edges: per target layer, its cell edges in CLIC cells along x and y
            (:func:`target_edges`).
        target_shapes: per target layer, its grid ``(num_x, num_y)``.
        forward: ``F``, float64 CSR ``[num_target_cells, num_clic_cells]``: the share of each
            CLIC cell's energy that goes to each target cell (columns sum to 1).
        back: ``B``, float64 CSR ``[num_clic_cells, num_target_cells]``: the share of each
            target cell's energy that goes back to each CLIC cell (columns sum to the share of
            the target cell inside the window).
    """

    def __init__(self, target: TargetGeometry, shape: Sequence[int] = ECAL_SHAPE):
        shape = tuple(int(n) for n in shape)
        if len(shape) != 3 or min(shape) < 1:
            raise InputError(f"window shape must be (x, y, layer) of positive sizes, got {shape}")
        if target.num_clic_layers != shape[2]:
            raise InputError(
                f"target geometry {target.name!r} covers {target.num_clic_layers} CLIC layers, "
                f"the window has {shape[2]}")
        self.target = target
        self.shape = shape
        num_x, num_y, num_layers = shape
        clic_x = np.arange(num_x + 1, dtype=np.float64)
        clic_y = np.arange(num_y + 1, dtype=np.float64)
        self.x_edges, self.y_edges, self.target_shapes = [], [], []
        forward_blocks, back_blocks, self._transverse = [], [], []
        for i, layer in enumerate(target.layers):
            size_x, size_y = target.cells_per_target_cell(i)
            x_edges, y_edges = target_edges(num_x, size_x), target_edges(num_y, size_y)
            self.x_edges.append(x_edges)
            self.y_edges.append(y_edges)
            self.target_shapes.append((len(x_edges) - 1, len(y_edges) - 1))
            overlap_x = interval_overlap(clic_x, x_edges)  # [target x, CLIC x]
            overlap_y = interval_overlap(clic_y, y_edges)
            # CLIC cells are 1 wide: the forward shares are the overlaps themselves.
            forward_x, forward_y = overlap_x, overlap_y
            back_x = overlap_x.T / np.diff(x_edges)[None, :]
            back_y = overlap_y.T / np.diff(y_edges)[None, :]
            first, stop = layer.clic_layers
            forward_z = np.zeros((1, num_layers))
            forward_z[0, first:stop] = 1.0  # a block sums its layers ...
            back_z = forward_z.T / layer.num_clic_layers  # ... and spreads back evenly
            forward_blocks.append(sparse.kron(_csr(forward_x), sparse.kron(
                _csr(forward_y), _csr(forward_z))))
            back_blocks.append(sparse.kron(_csr(back_x), sparse.kron(_csr(back_y),
                                                                     _csr(back_z))))
            # R restricted to the block's layer sums: kron(B_x F_x, B_y F_y), [x y, x y].
            self._transverse.append(_csr(sparse.kron(_csr(back_x @ forward_x),
                                                     _csr(back_y @ forward_y))))
        self.forward = _csr(sparse.vstack(forward_blocks))
        self.back = _csr(sparse.hstack(back_blocks))
        # float32 copies for applying: float32 windows, float32 products.
        self._transverse32 = [m.astype(np.float32) for m in self._transverse]
        # Depth: [layer, block] sums a block's layers, [block, layer] spreads it back evenly.
        self._layer_sum = np.zeros((num_layers, len(target.layers)), np.float32)
        for b, layer in enumerate(target.layers):
            self._layer_sum[layer.clic_layers[0]:layer.clic_layers[1], b] = 1.0
        self._layer_spread = np.ascontiguousarray(
            (self._layer_sum / self._layer_sum.sum(axis=0)).T)

    @property
    def num_clic_cells(self) -> int:
        return int(np.prod(self.shape))

    @property
    def num_target_cells(self) -> int:
        return sum(nx * ny for nx, ny in self.target_shapes)

    def matrix(self) -> sparse.csr_matrix:
        """``R = B F``, float64 CSR ``[num_clic_cells, num_clic_cells]``.

        Built on each call and large for the full window (36 million entries for CMS, whose
        single layer mixes all 25 CLIC layers; 8 million for ATLAS): :meth:`apply` never
        forms it.
        """
        return _csr(self.back @ self.forward)

    def to_target(self, ecal: np.ndarray) -> list[np.ndarray]:
        """The windows read out by the target calorimeter (``F`` applied).

        Args:
            ecal: CLIC windows ``[N, x, y, layer]`` (GeV); a few at a time (they are
                converted to float64 whole).

        Returns:
            Per target layer, float64 ``[N, num_x, num_y]`` (GeV per target cell).
        """
        ecal = self._check(ecal)
        flat = self.forward @ ecal.reshape(len(ecal), -1).T.astype(np.float64)
        out, start = [], 0
        for nx, ny in self.target_shapes:
            out.append(flat[start:start + nx * ny].T.reshape(len(ecal), nx, ny))
            start += nx * ny
        return out

    def from_target(self, layers: Sequence[np.ndarray]) -> np.ndarray:
        """Target-cell energies back on the CLIC grid (``B`` applied).

        Args:
            layers: per target layer ``[N, num_x, num_y]`` (GeV), as from :meth:`to_target`.

        Returns:
            float64 ``[N, x, y, layer]`` (GeV).
        """
        if len(layers) != len(self.target_shapes):
            raise InputError(f"expected {len(self.target_shapes)} target layers, got "
                             f"{len(layers)}")
        flat = []
        for i, (array, (nx, ny)) in enumerate(zip(layers, self.target_shapes, strict=True)):
            array = np.asarray(array, np.float64)
            if array.ndim != 3 or array.shape[1:] != (nx, ny):
                raise InputError(f"target layer {i} has shape {array.shape}, expected "
                                 f"[N, {nx}, {ny}]")
            flat.append(array.reshape(len(array), -1))
        values = np.concatenate(flat, axis=1)
        return (self.back @ values.T).T.reshape(len(values), *self.shape)

    def apply(self, ecal: np.ndarray, chunk_size: int = 256) -> np.ndarray:
        """``R`` applied to CLIC windows: forward to the target cells and back.

        Equals ``(R @ ecal.reshape(N, -1).T).T`` to float32 rounding, computed in the
        factorised form: each layer block's CLIC layers are summed (a product with a
        ``[layer, block]`` indicator), the block's transverse matrix ``kron(B_x F_x, B_y F_y)``
        is applied to the sums, and the result is spread evenly over the block's layers.

        Args:
            ecal: CLIC windows ``[N, x, y, layer]`` (GeV), any float dtype.
            chunk_size: windows processed at a time (bounds the temporary memory to a few
                ``chunk_size`` windows).

        Returns:
            float32 ``[N, x, y, layer]`` (GeV).
        """
        ecal = self._check(ecal)
        if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
            raise InputError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        num_layers = self.shape[2]
        num_blocks = len(self.target.layers)
        out = np.empty((len(ecal), *self.shape), np.float32)
        # The skinny products gain nothing from BLAS threads and lose when the cores are busy.
        with threadpoolctl.threadpool_limits(1, user_api="blas"):
            for start in range(0, len(ecal), chunk_size):
                block = ecal[start:start + chunk_size].astype(np.float32, copy=False)
                n = len(block)
                # [N x y, layer] @ [layer, block]: a reduction over the short last axis is
                # several times slower in numpy than this product.
                sums = (block.reshape(-1, num_layers) @ self._layer_sum).reshape(n, -1,
                                                                                 num_blocks)
                spread = np.empty_like(sums)
                for b, transverse in enumerate(self._transverse32):
                    spread[:, :, b] = (transverse @ np.ascontiguousarray(sums[:, :, b].T)).T
                np.matmul(spread.reshape(-1, num_blocks), self._layer_spread,
                          out=out[start:start + n].reshape(-1, num_layers))
        return out

    def idempotency_defect(self) -> float:
        """The largest share of a single-cell deposit that a second resampling moves.

        ``max_c Σ_c' |(R² − R)[c', c]|`` (the 1-norm of ``R² − R``): 0 for an exact
        projection, up to 2. The depth part of ``R`` is an exact projection, so this is the
        largest defect of the layers' transverse matrices. It includes the further loss at
        the window's edges.
        """
        worst = 0.0
        for transverse in self._transverse:
            defect = abs(transverse @ transverse - transverse)
            worst = max(worst, float(np.asarray(defect.sum(axis=0)).max(initial=0.0)))
        return worst

    def _check(self, ecal: np.ndarray) -> np.ndarray:
        ecal = np.asarray(ecal)
        if ecal.ndim != 4 or ecal.shape[1:] != self.shape:
            raise InputError(
                f"ECAL windows have shape {ecal.shape}, expected [N, "
                f"{', '.join(map(str, self.shape))}] for target {self.target.name!r}")
        return ecal


@functools.lru_cache(maxsize=8)
def _cached_resampler(target: TargetGeometry, shape: tuple[int, int, int]) -> Resampler:
    return Resampler(target, shape)


def resampler(target: str | TargetGeometry,
              shape: Sequence[int] = ECAL_SHAPE) -> Resampler:
    """The (cached) :class:`Resampler` of ``target`` for windows of ``shape``."""
    return _cached_resampler(get_target(target), tuple(int(n) for n in shape))


def resample_ecal(ecal: np.ndarray, target: str | TargetGeometry,
                  chunk_size: int = 256) -> np.ndarray:
    """CLIC ECAL windows resampled to ``target`` and back (paper 003 §5.4).

    Args:
        ecal: float ``[N, 51, 51, 25]`` (GeV; any window whose depth the target's layers
            cover).
        target: a :data:`TARGETS` name (``"atlas"``, ``"atlas_printed"``, ``"cms"``) or a
            :class:`TargetGeometry`.
        chunk_size: windows processed at a time.

    Returns:
        float32 ``[N, 51, 51, 25]`` (GeV): non-negative for non-negative input, with the same
        total energy except what target cells overhanging the window lose.

    Raises:
        InputError: for an unknown target or a window of another shape.
    """
    ecal = np.asarray(ecal)
    if ecal.ndim != 4:
        raise InputError(f"ECAL windows have shape {ecal.shape}, expected [N, x, y, layer]")
    return resampler(target, ecal.shape[1:]).apply(ecal, chunk_size=chunk_size)


def throughput(target: str | TargetGeometry, num_showers: int = 2000, seed: int = 0,
               chunk_size: int = 256) -> float:
    """Showers per second of :func:`resample_ecal` on ``[51, 51, 25]`` windows.

    Times ``num_showers`` windows of random energies (the cost does not depend on the values),
    processed ``chunk_size`` at a time after the resampler is built. scipy's sparse products
    run on one thread.

    Returns:
        Windows resampled per second of wall time.
    """
    if num_showers < 1:
        raise InputError(f"num_showers must be at least 1, got {num_showers}")
    apply = resampler(target).apply
    rng = np.random.default_rng(seed)
    windows = rng.random((min(num_showers, chunk_size), *ECAL_SHAPE), dtype=np.float32)
    apply(windows[:1])  # first-call costs (allocations) out of the timing
    done = 0
    start = time.perf_counter()
    while done < num_showers:
        count = min(len(windows), num_showers - done)
        apply(windows[:count], chunk_size=chunk_size)
        done += count
    return num_showers / (time.perf_counter() - start)


def resample_file(
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    target: str | TargetGeometry,
    *,
    hcal: str = "drop",
    block_size: int = 500,
    compression: str | None = "gzip",
    progress: bool = False,
) -> int:
    """Writes a CLIC-layout file whose ECAL windows are resampled to ``target``.

    The input is validated against :data:`caloml.io.schema.CLIC` and streamed ``block_size``
    events at a time into the output, written under a temporary name and renamed at the end
    (:class:`caloml.io.hdf5.H5Writer`). ``ECAL`` is :func:`resample_ecal` of the input's; the
    per-event scalars (and the optional truth arrays the input has) are copied unchanged, so
    ``recoTheta``, ``recoEta`` and ``recoPhi`` stay those of the original showers, as in
    Triforce_CaloML. The file attributes are the input's plus ``resampled_to`` (the target
    name), ``resample_hcal``, ``resample_target_geometry`` (JSON) and
    ``resample_source_file`` (the input's absolute path).

    Args:
        input_path: a file in the CLIC layout, not itself resampled.
        output_path: the file to write; replaced if it exists.
        target: a :data:`TARGETS` name or a :class:`TargetGeometry`.
        hcal: ``"drop"`` writes a zero HCAL window (paper 003 §5.4 discards the HCAL for this
            study; the layout keeps the array), ``"keep"`` copies it.
        block_size: events read, resampled and written at a time (260 kB of ECAL each).
        compression: ``"gzip"``, ``"lzf"`` or ``None`` (see ``H5Writer``).
        progress: show a progress bar.

    Returns:
        The number of events written.

    Raises:
        caloml.errors.MissingFileError: if ``input_path`` does not exist.
        caloml.errors.DataError: if it is not a CLIC-layout file (no ``ECAL`` or ``HCAL``, a
            wrong shape, negative energies: the message names the file and key).
        caloml.errors.OutputError: if ``output_path`` cannot be written.
        caloml.errors.InputError: for an unknown target or ``hcal`` option, a bad
            ``block_size``, an already resampled input or ``output_path == input_path``.
    """
    geometry = get_target(target)
    input_path, output_path = os.fspath(input_path), os.fspath(output_path)
    if hcal not in HCAL_OPTIONS:
        raise InputError(f"hcal must be one of {list(HCAL_OPTIONS)}, got {hcal!r}")
    if not isinstance(block_size, (int, np.integer)) or block_size < 1:
        raise InputError(f"block_size must be a positive integer, got {block_size!r}")
    if os.path.abspath(input_path) == os.path.abspath(output_path):
        raise InputError(f"output {output_path!r} is the input file; choose another name")
    outputs.check_writable(output_path)
    num_events = hdf5.validate_file(input_path, schema.CLIC, block_size=block_size)
    attrs = {k: v for k, v in hdf5.read_attrs(input_path).items() if k != "layout"}
    if "resampled_to" in attrs:
        raise InputError(
            f"{input_path!r} is already resampled to {attrs['resampled_to']!r} (file attribute "
            "resampled_to): resample the original CLIC file, since a second pass blurs further")
    optional = [f.key for f in schema.CLIC.fields if f.optional]
    with h5py.File(input_path, "r") as h5:
        extra_keys = [key for key in optional if key in h5]
    read_keys = [key for key in schema.CLIC.keys() if key in extra_keys or
                 not schema.CLIC.field(key).optional]
    if hcal == "drop":
        read_keys.remove("HCAL")
    attrs.update(resampled_to=geometry.name, resample_hcal=hcal,
                 resample_target_geometry=json.dumps(dataclasses.asdict(geometry)),
                 resample_source_file=os.path.abspath(input_path))
    hcal_shape = schema.CLIC.field("HCAL").shape
    with hdf5.H5Writer(output_path, schema.CLIC, num_events, attrs=attrs, extra_keys=extra_keys,
                       compression=compression) as writer:
        for start in blocks.block_starts(num_events, block_size, progress):
            arrays = hdf5.read_arrays(input_path, schema.CLIC, keys=read_keys, start=start,
                                      stop=start + block_size, validate=False)
            arrays["ECAL"] = resample_ecal(arrays["ECAL"], geometry)
            if hcal == "drop":
                arrays["HCAL"] = np.zeros((len(arrays["ECAL"]), *hcal_shape), np.float32)
            writer.write(start, arrays)
    return num_events


def read_ecal(path: str, start: int, stop: int) -> np.ndarray:
    """``ECAL`` [n, 51, 51, 25] of events ``[start, stop)`` of a CLIC-layout file."""
    return hdf5.read_arrays(path, schema.CLIC, keys=["ECAL"], start=start, stop=stop,
                            validate=False)["ECAL"]


def energy_metrics(before_gev: np.ndarray, after_gev: np.ndarray) -> dict[str, Any]:
    """How well resampling keeps each event's ECAL energy.

    Args:
        before_gev: ECAL sums ``[N]`` of the original windows.
        after_gev: ECAL sums ``[N]`` of the resampled windows.

    Returns:
        ``num_events``, ``num_empty`` (events without ECAL energy, left out of the ratios), and
        over the others the ratio after / before: ``energy_ratio_mean``, ``energy_ratio_std``
        (population), ``energy_ratio_min`` and ``fraction_within_1_percent``
        (``|ratio - 1| <= 0.01``); the ratios are None when no event has energy.
    """
    before = np.asarray(before_gev, np.float64)
    after = np.asarray(after_gev, np.float64)
    filled = before > 0
    ratio = after[filled] / before[filled]
    out: dict[str, Any] = {"num_events": int(len(before)), "num_empty": int((~filled).sum())}
    if ratio.size:
        out.update(energy_ratio_mean=float(ratio.mean()), energy_ratio_std=float(ratio.std()),
                   energy_ratio_min=float(ratio.min()),
                   fraction_within_1_percent=float(np.mean(np.abs(ratio - 1.0) <= 0.01)))
    else:
        out.update(energy_ratio_mean=None, energy_ratio_std=None, energy_ratio_min=None,
                   fraction_within_1_percent=None)
    return out


def second_pass_change(resampled: np.ndarray, target: str | TargetGeometry) -> np.ndarray:
    """Share of each resampled window's energy that a second resampling moves.

    ``Σ |R(y) - y| / Σ y`` per window (0 if ``R`` were a projection; NaN for empty windows):
    the idempotency defect of :class:`Resampler` seen on showers.

    Args:
        resampled: resampled windows ``[N, x, y, layer]`` (GeV).

    Returns:
        float64 ``[N]``.
    """
    again = resample_ecal(resampled, target)
    moved = np.abs(again.astype(np.float64) - resampled).sum(axis=(1, 2, 3))
    total = np.asarray(resampled, np.float64).sum(axis=(1, 2, 3))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, moved / total, np.nan)
