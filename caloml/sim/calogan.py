"""The Pb/LAr sampling calorimeter of CaloGAN (paper 004; hep-lbdl/CaloGAN ``generation/``).

80 × (2 mm Pb + 4 mm LAr), 480 mm deep, read out in three layers 90 / 347 / 43 mm deep over a
480 × 480 mm window centred on the beam (PHYSICS.md §5):

=====  ==========  ===============  ===========  ==================
layer  depth (mm)  cells (x × y)    cell (mm)    depth (X0_eff)
=====  ==========  ===============  ===========  ==================
0      0–90        3 × 96           160 × 5      5.8
1      90–437      12 × 12          40 × 40      22.2
2      437–480     12 × 6           40 × 80      2.8
=====  ==========  ===============  ===========  ==================

The gun shoots at normal incidence at (0, 0), which is a cell edge or corner in every layer
except along x in layer 0, so the core of layer 1 is shared by four cells, as in the original.
The 2017 readout summed the deposits of every volume, absorber included, so the stack is
simulated as the effective homogeneous medium of PHYSICS.md §2 with the homogeneous GFlash
parameters: electromagnetic showers have no sampling noise in their sum.

Files are laid out like the public ones (:data:`caloml.io.schema.CALOGAN`): ``layer_i`` in
MeV, ``energy`` [N, 1] in GeV, ``overflow`` [N, 3] in MeV holding each layer's energy outside
the window. Energy leaking out of the back is simulator truth (``leakage_gev``), so that
``Σ cells + Σ overflow + leakage = energy`` per event.

π⁺ (``piplus``, :mod:`caloml.sim.hadron`) travel as MIPs (0.567 MeV/mm, noise-free, in the
cells along the beam axis) up to their first interaction at Exp(1.2 λ_I), λ_I = 374 mm, so ≈ 34%
cross the 1.28 λ_I stack without interacting; then a Bock/CMS-FastSim shower with e/h = 1.4.
For them ``leakage_gev`` also holds the invisible energy of non-compensation.

Particles are simulated by functions returning :class:`LayerDeposits` (expected images per
layer, their spot energies and the leakage), registered in :data:`DEPOSITS`; noise, overflow and
units are applied in :func:`simulate_chunk` for all of them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from caloml.errors import InputError
from caloml.sim import deposit, gflash, hadron, noise
from caloml.sim.materials import PB_LAR_CALOGAN, Material

# Names of the public files per particle (Mendeley DOI 10.17632/pvn3xc3wy5.1; CaloGAN's
# ``models/particles.yaml``), the default file names of scripts.
PUBLIC_FILE_NAMES = {"positron": "eplus.hdf5", "photon": "gamma.hdf5", "piplus": "piplus.hdf5"}


def public_file_name(particle: str) -> str:
    """The public CaloGAN file name of ``particle`` (``positron`` -> ``eplus.hdf5``)."""
    try:
        return PUBLIC_FILE_NAMES[particle]
    except KeyError:
        raise InputError(
            f"no public CaloGAN file for particle {particle!r}; expected one of "
            f"{sorted(PUBLIC_FILE_NAMES)}"
        ) from None


@dataclasses.dataclass(frozen=True)
class CaloGANGeometry:
    """Geometry and beam of the CaloGAN calorimeter (defaults: PHYSICS.md §5).

    Attributes:
        material: effective homogeneous medium of the Pb/LAr stack.
        layer_boundaries_mm: depths of the layer boundaries from the face, 0/90/437/480 mm
            (``SteppingAction.cc``: z = −240/−150/197/240 mm).
        grids: cells of each layer, 3×96 of 160×5, 12×12 of 40×40 and 12×6 of 40×80 mm (x × y).
        gun_xy_mm: impact point of the beam on the face (normal incidence).
        slice_x0: largest depth slice, in X0, for the radial parameters; each layer is cut into
            equal slices no thicker than this.
        lambda_i_mm: nuclear interaction length of the effective medium, 37.4 cm (PHYSICS.md
            §2); the stack is 1.28 λ_I deep.
        mip_total_mev: total (absorber + LAr) deposit of a MIP crossing the whole stack,
            272 MeV (PHYSICS.md §4), i.e. 0.567 MeV/mm in the effective medium.
    """

    material: Material = PB_LAR_CALOGAN
    layer_boundaries_mm: tuple[float, ...] = (0.0, 90.0, 437.0, 480.0)
    grids: tuple[deposit.CellGrid, ...] = (
        deposit.CellGrid(3, 96, 160.0, 5.0),
        deposit.CellGrid(12, 12, 40.0, 40.0),
        deposit.CellGrid(12, 6, 40.0, 80.0),
    )
    gun_xy_mm: tuple[float, float] = (0.0, 0.0)
    slice_x0: float = 0.5
    lambda_i_mm: float = 374.0
    mip_total_mev: float = 272.0

    @property
    def depth_mm(self) -> float:
        return self.layer_boundaries_mm[-1] - self.layer_boundaries_mm[0]

    @property
    def mip_gev_per_mm(self) -> float:
        """Effective-medium MIP energy loss: the whole stack's 272 MeV over its 480 mm."""
        return 1e-3 * self.mip_total_mev / self.depth_mm

    @property
    def num_layers(self) -> int:
        return len(self.grids)

    def slice_edges_x0(self) -> np.ndarray:
        """[S + 1] depth-slice boundaries in X0, containing every layer boundary."""
        bounds = np.asarray(self.layer_boundaries_mm, np.float64) / self.material.x0_mm
        edges = [bounds[:1]]
        for low, high in zip(bounds[:-1], bounds[1:], strict=True):
            num = math.ceil((high - low) / self.slice_x0 - 1e-9)
            edges.append(np.linspace(low, high, num + 1)[1:])
        return np.concatenate(edges)

    def slice_layer(self) -> np.ndarray:
        """[S] readout layer of each depth slice."""
        bounds = np.asarray(self.layer_boundaries_mm, np.float64) / self.material.x0_mm
        edges = self.slice_edges_x0()
        middle = 0.5 * (edges[:-1] + edges[1:])
        return np.searchsorted(bounds, middle) - 1


@dataclasses.dataclass(frozen=True)
class LayerDeposits:
    """Noise-free energy deposits of N events, per readout layer.

    Attributes:
        images_gev: L arrays [N, num_x, num_y], the expected in-window cell energies.
        layer_energy_gev: [N, L] energy deposited in each layer, inside and outside the window.
        spot_energy_gev: [N, L] energy of the GFlash spots whose count fluctuates per cell.
        leakage_gev: [N] energy leaving through the back (or never deposited).
        fixed_images_gev: None, or L arrays [N, num_x, num_y] of deterministic in-window
            deposits (a MIP track) added after the spot noise; included in
            ``layer_energy_gev``.
    """

    images_gev: list[np.ndarray]
    layer_energy_gev: np.ndarray
    spot_energy_gev: np.ndarray
    leakage_gev: np.ndarray
    fixed_images_gev: list[np.ndarray] | None = None


def electromagnetic_deposits(
    particle: str, energy_gev: np.ndarray, rng: np.random.Generator, geometry: CaloGANGeometry
) -> LayerDeposits:
    """GFlash showers of e± (starting at the face) or photons (converting at Exp(9/7 X0))."""
    num = len(energy_gev)
    if particle == "photon":
        start = rng.exponential(gflash.PHOTON_CONVERSION_X0, size=num)
    else:
        start = np.zeros(num)
    showers = gflash.simulate_longitudinal(
        energy_gev, start, geometry.slice_edges_x0(), geometry.material, rng
    )
    layer = geometry.slice_layer()
    x = np.full(num, geometry.gun_xy_mm[0])
    y = np.full(num, geometry.gun_xy_mm[1])
    return LayerDeposits(
        images_gev=deposit.expected_images(showers, x, y, geometry.grids, layer),
        layer_energy_gev=deposit.group_energy(showers, layer, geometry.num_layers),
        spot_energy_gev=deposit.group_spot_energy(showers, layer, geometry.num_layers),
        leakage_gev=showers.leakage_gev,
    )


# Width (mm) of the Gaussian standing for the zero-width MIP track: on a cell edge it splits
# the track exactly in half (Φ(0) = 1/2), on a corner in quarters.
_TRACK_WIDTH_MM = 1e-6


def pion_deposits(
    particle: str, energy_gev: np.ndarray, rng: np.random.Generator, geometry: CaloGANGeometry
) -> LayerDeposits:
    """Charged pions (:mod:`caloml.sim.hadron`): a MIP track, then a hadronic shower.

    The MIP deposits ``dE/dx × path`` in each layer up to the first interaction (the whole
    480 mm for the ≈ 34% that never interact), noise-free (Landau fluctuations are omitted), in
    the cells containing the beam axis; the axis lies on cell edges or corners, where the
    deposit is split equally among the touching cells, as a zero-width track on the boundary
    would be. ``leakage_gev`` holds all energy not deposited: the shower's energy behind the
    back face (punch-through of non-interacting pions included) plus the invisible energy of
    non-compensation (e/h), so that Σ cells + Σ overflow + leakage = E holds as for e±/γ.
    """
    del particle
    num = len(energy_gev)
    edges_x0 = geometry.slice_edges_x0()
    edges_mm = edges_x0 * geometry.material.x0_mm
    pions = hadron.simulate_pions(
        energy_gev, edges_x0, edges_mm / geometry.lambda_i_mm,
        np.full(len(edges_x0) - 1, geometry.lambda_i_mm),
        geometry.mip_gev_per_mm * np.diff(edges_mm), geometry.material, rng,
    )
    showers = pions.showers
    layer = geometry.slice_layer()
    x = np.full(2 * num, geometry.gun_xy_mm[0])
    y = np.full(2 * num, geometry.gun_xy_mm[1])
    images = deposit.expected_images(showers, x, y, geometry.grids, layer, per_event=2)
    mip = pions.mip_slice_gev @ (layer[:, None] == np.arange(geometry.num_layers))  # [N, L]
    track = []
    for i, grid in enumerate(geometry.grids):
        kernel = deposit.fixed_kernel(grid, *geometry.gun_xy_mm, (_TRACK_WIDTH_MM,))
        track.append((mip[:, i : i + 1].astype(np.float32) * kernel).reshape(num, *grid.shape))
    shower_energy = deposit.group_energy(showers, layer, geometry.num_layers, per_event=2)
    visible = shower_energy.sum(axis=1) + mip.sum(axis=1)
    return LayerDeposits(
        images_gev=images,
        layer_energy_gev=shower_energy + mip,
        spot_energy_gev=deposit.group_spot_energy(showers, layer, geometry.num_layers,
                                                  per_event=2),
        leakage_gev=np.maximum(np.asarray(energy_gev, np.float64) - visible, 0.0),
        fixed_images_gev=track,
    )


# Deposit functions per particle: f(particle, energy_gev[N], rng, geometry) -> LayerDeposits.
DEPOSITS: dict[str, Callable[..., LayerDeposits]] = {
    "positron": electromagnetic_deposits,
    "photon": electromagnetic_deposits,
    "piplus": pion_deposits,
}
PARTICLES = tuple(DEPOSITS)


def simulate_chunk(
    particle: str,
    energy_gev: np.ndarray,
    rng: np.random.Generator,
    geometry: CaloGANGeometry = CaloGANGeometry(),
    add_noise: bool = True,
) -> dict[str, np.ndarray]:
    """Simulates one chunk of N events in the CaloGAN calorimeter.

    Args:
        particle: one of :data:`PARTICLES`.
        energy_gev: [N] incident energies.
        rng: random generator of this chunk.
        geometry: detector and beam.
        add_noise: add the shower (spot) fluctuations; off gives expected images.

    Returns:
        The arrays of the ``calogan`` layout: ``layer_0`` [N, 3, 96], ``layer_1`` [N, 12, 12],
        ``layer_2`` [N, 12, 6] and ``overflow`` [N, 3] float32 MeV, ``energy`` [N, 1] float32
        GeV; the truth ``leakage_gev`` [N] and the count ``num_drawn`` (= N).
        ``Σ layers + Σ overflow`` (MeV) ``+ 1000·leakage_gev = 1000·energy`` per event, to
        float32 rounding. The spot fluctuations keep each layer's in-window sum.
    """
    if particle not in DEPOSITS:
        raise InputError(f"unknown particle {particle!r}; expected one of {list(PARTICLES)}")
    energy = np.asarray(energy_gev, np.float64)
    num = len(energy)
    deposits = DEPOSITS[particle](particle, energy, rng, geometry)
    out = {}
    overflow = np.empty((num, geometry.num_layers))
    for i, (image, grid) in enumerate(zip(deposits.images_gev, geometry.grids, strict=True)):
        image = image.reshape(num, -1)
        in_window = image.sum(axis=1, dtype=np.float64)
        fixed = None
        if deposits.fixed_images_gev is not None:
            fixed = deposits.fixed_images_gev[i].reshape(num, -1)
            in_window += fixed.sum(axis=1, dtype=np.float64)
        # Rounding of the float32 images may exceed a layer's energy by ~1e-7 of it.
        overflow[:, i] = np.maximum(deposits.layer_energy_gev[:, i] - in_window, 0.0)
        if add_noise:
            image = noise.add_shower_noise(image, deposits.spot_energy_gev[:, i], rng)
        if fixed is not None:
            image = image + fixed
        image = np.maximum(image, 0.0).astype(np.float32, copy=False)
        out[f"layer_{i}"] = (image * np.float32(1000.0)).reshape(num, *grid.shape)
    out["energy"] = energy.astype(np.float32)[:, None]
    out["overflow"] = (1000.0 * overflow).astype(np.float32)
    out["leakage_gev"] = deposits.leakage_gev.astype(np.float32)
    out["num_drawn"] = np.int64(num)
    return out
