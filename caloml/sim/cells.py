"""What the cells of an electromagnetic shower hold: a fluctuation model with a shower's structure.

GFlash (:mod:`caloml.sim.gflash`) gives each shower its own longitudinal profile and a mean
radial profile per depth slice: a narrow core (R_C) and a wide tail (R_T). Integrated over the
cells (:mod:`caloml.sim.deposit`) this is the *expected* image of one shower. A real shower's
cells differ from it in three ways, each with its own physical cause, and caloml models each:

1. **The core wanders.** At depth t a shower is carried by n(t) particles: Heitler's picture
   doubles them every X0·ln 2, so n(t) = n₀e^t (t in X0 behind the start; n₀ = 1 for an e±,
   2 for a converted photon), until the shower maximum, where n = E/E_c. Two effects move the
   centroid of a slice's core off the axis:

   * *which* particles deposit there: the core of a depth slice is the deposit of n(t)
     particles spread over the core profile, so its centroid lies R_C/√n away from the axis
     (per coordinate); a track keeps its position for one generation, so the offsets of slices
     at depths t, t' are correlated as exp(−|t − t'|/(X0 ln 2));
   * *where* they went: a particle of energy ε scatters by ≈ E_s/ε·X0 per generation, and its
     descendants inherit the displacement. With n particles of E/n, the energy centroid moves
     by R_M·(E_c/E)·√n per generation (R_M = E_s X0/E_c), so it performs a random walk whose
     variance grows as V(t) = (R_M E_c/E)²·n(t), up to R_M²·E_c/E at the maximum (0.5 mm at
     50 GeV in lead), and is kept by every later slice (covariance V(min(t, t'))).

   A readout layer sums its slices, so its core is displaced by the energy-weighted mean of the
   slices' offsets: a Gaussian whose covariance between layers follows from the slices'
   (:func:`core_offsets`). The first effect dominates the first radiation lengths, the second
   the shower maximum. Near a cell edge or corner either makes the cells that share the core
   differ (CaloGAN's E_ratio). GFlash has no such term: it places every spot independently
   around a fixed axis.
2. **The core is made of spots of varying energy.** The core's expected image is replaced by
   ``Σ Gamma(n·k, e/k)`` per cell with n ~ Poisson(μ/e): spots whose energy is exponentially
   distributed (k = :data:`CORE_SPOT_SHAPE`) around the mean e, chosen so that the variance per
   cell, e(1 + 1/k)·μ, is GFlash's (its spot number was tuned to Geant4's cell fluctuations):
   e = e_GFlash·k/(k + 1). Cell energies are continuous; a cell where no spot lands holds
   exactly zero.
3. **The periphery is a halo of soft deposits.** The wide radial component is carried by
   photons of a few hundred keV to a few MeV that leave the core and Compton-scatter and are
   absorbed far from it, each within a centimetre or two, so a cell receives a halo photon's
   energy as one deposit. The tail's expected image is therefore deposited in quanta of mean
   :data:`HALO_DEPOSIT_GEV` with a broad spectrum (Gamma of shape :data:`HALO_SHAPE`: many
   deposits well below the mean, from keV up), so distant cells hold a few small deposits or
   none: this is what sets the occupancy (CaloGAN's sparsity) and the keV–MeV end of the cell
   spectrum. The deep longitudinal tail of the same photons is in
   :func:`caloml.sim.gflash.profile_cdf`.

The kinds are fluctuated together (:func:`caloml.sim.noise.mixed_compound_gamma`): one Poisson
count of all deposits per cell, their energy a Gamma with the mixture's mean and variance.

No image is ever kept smooth: a layer whose fluctuated components hold no deposit at all is
empty, and its expected energy is counted as leakage by the caller.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from caloml.sim import deposit, gflash

# Gamma shape of the energy of one core spot (1: exponential).
CORE_SPOT_SHAPE = 1.0
# Mean energy of one halo deposit (GeV) and the Gamma shape of its spectrum. A halo photon
# Compton-scatters a few times and is absorbed within ~1–2 cm of its first interaction, so a cell
# of ≥ 5 mm receives its whole energy: the deposit spectrum is the spectrum of the photons that
# leave the core, which in lead peaks at 0.5–2 MeV (between photo-absorption below and pair
# production above) with a long tail both ways (shape < 1: a continuum from keV to several MeV).
# Within that estimate, 1 MeV was chosen with the Geant4 occupancy of CaloGAN's layers 1 and 2
# (0.5 MeV makes them too full, 2 MeV too empty; README, deviations).
HALO_DEPOSIT_GEV = 1e-3
HALO_SHAPE = 0.7
# Depth over which a slice's core keeps the position of its tracks: one Heitler generation.
TRACK_PERSISTENCE_X0 = math.log(2.0)


@dataclasses.dataclass(frozen=True)
class Component:
    """Expected deposits of one kind in every layer, and the statistics of a single deposit.

    Attributes:
        images_gev: L arrays [N, num_x, num_y]: the expected in-window energy of this kind.
        quantum_gev: [N, L] mean energy of one deposit.
        shape: Gamma shape of the energy of one deposit (1: exponential; large: all equal).
        layer_energy_gev: None, or [N, L] energy of this kind deposited in each layer, inside
            and outside the window.
    """

    images_gev: list[np.ndarray]
    quantum_gev: np.ndarray
    shape: float
    layer_energy_gev: np.ndarray | None = None


def core_offsets(
    showers: gflash.Showers,
    slice_group: np.ndarray,
    num_groups: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """[M, G, 2] displacement (mm) of each layer's core from the shower axis (model item 1).

    Per coordinate, slices s, s' at depths t, t' have covariance
    ``σ_s σ_s' exp(−|t − t'|/(X0 ln 2)) + V(min(t, t'))`` with σ_s = R_C,s/√n_s,
    n = min(n₀e^t, E/E_c) and V(t) = (R_M E_c/E)²·n(t); layer g's offset is Σ_{s∈g} w_s d_s with
    w_s the slice's share of the layer's core energy.
    """
    core = showers.slice_energy_gev * showers.core_fraction  # [M, S]
    group = np.asarray(slice_group)
    one_hot = (group[:, None] == np.arange(num_groups)[None, :]).astype(np.float64)  # [S, G]
    layer_core = core @ one_hot  # [M, G]
    share = core / np.maximum(layer_core[:, group], 1e-30)  # [M, S] w_s within its layer
    depth = showers.slice_depth_x0
    particles = np.maximum(
        np.minimum(showers.start_particles * np.exp(np.minimum(depth, 50.0)),
                   showers.particles_max[:, None]), 1.0)
    sigma = showers.core_radius_mm / np.sqrt(particles)
    walk = (showers.moliere_radius_mm / showers.particles_max)[:, None] ** 2 * particles
    # Both processes drawn slice by slice (O(S), the same Gaussian law as the covariance
    # above): an AR(1) process of unit variance for the first, a random walk for the second.
    num = len(core)
    normal = rng.standard_normal((depth.shape[1], 2, num, 2))
    ar = normal[0, 0]
    position = np.sqrt(walk[:, 0, None]) * normal[0, 1]
    offsets = share[:, 0, None] * (sigma[:, 0, None] * ar + position)
    slice_offsets = [offsets]
    for s in range(1, depth.shape[1]):
        rho = np.exp(-(depth[:, s] - depth[:, s - 1]) / TRACK_PERSISTENCE_X0)[:, None]
        ar = rho * ar + np.sqrt(1.0 - rho**2) * normal[s, 0]
        position = position + np.sqrt(np.maximum(walk[:, s] - walk[:, s - 1], 0.0))[
            :, None] * normal[s, 1]
        slice_offsets.append(share[:, s, None] * (sigma[:, s, None] * ar + position))
    weighted = np.stack(slice_offsets, axis=1)  # [M, S, 2]
    return np.einsum("msc,sg->mgc", weighted, one_hot)


def electromagnetic_components(
    showers: gflash.Showers,
    x_mm: np.ndarray,
    y_mm: np.ndarray,
    grids: Sequence[deposit.CellGrid],
    slice_group: np.ndarray,
    rng: np.random.Generator,
    per_event: int = 1,
    wander: bool = True,
) -> tuple[Component, Component]:
    """The core (wandering, spots) and halo components of N events' showers on their layers.

    Args:
        showers: M = N·per_event GFlash sub-showers (events' sub-showers adjacent).
        x_mm, y_mm: [M] shower axis positions.
        grids: G cell grids, one per layer.
        slice_group: [S] layer of each depth slice.
        rng: random generator.
        per_event: sub-showers per event.
        wander: displace the cores (model item 1); False keeps them on the axis.

    Returns:
        (core, halo) components; their expected images add up to
        :func:`caloml.sim.deposit.expected_images` of the showers apart from the core offsets,
        their ``layer_energy_gev`` to :func:`caloml.sim.deposit.group_energy`.
    """
    num_groups = len(grids)
    group = np.asarray(slice_group)
    if wander:
        offsets = core_offsets(showers, group, num_groups, rng)
    else:
        offsets = np.zeros((len(showers.slice_energy_gev), num_groups, 2))
    energy = showers.slice_energy_gev
    p = showers.core_fraction
    x = np.asarray(x_mm, np.float64)[:, None]
    y = np.asarray(y_mm, np.float64)[:, None]
    core_images = deposit.component_images(
        energy * p, showers.core_radius_mm, x + offsets[..., 0], y + offsets[..., 1], grids,
        group, per_event)
    halo = energy * (1.0 - p)
    axis_x, axis_y = np.repeat(x, num_groups, 1), np.repeat(y, num_groups, 1)
    halo_images = deposit.component_images(
        halo, showers.tail_radius_mm, axis_x, axis_y, grids, group, per_event)
    spot = deposit.group_spot_energy(showers, group, num_groups, per_event)
    num = len(spot)
    halo_quantum = np.full((num, num_groups), HALO_DEPOSIT_GEV)
    one_hot = group[:, None] == np.arange(num_groups)[None, :]

    def per_layer(slice_energy):
        return (slice_energy @ one_hot).reshape(num, per_event, num_groups).sum(axis=1)

    return (
        Component(core_images, spot * (CORE_SPOT_SHAPE / (CORE_SPOT_SHAPE + 1.0)),
                  CORE_SPOT_SHAPE, layer_energy_gev=per_layer(energy * p)),
        Component(halo_images, halo_quantum, HALO_SHAPE, layer_energy_gev=per_layer(halo)),
    )

