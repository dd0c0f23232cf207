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

π⁺ (``piplus``, :mod:`caloml.sim.hadron`) ionise (Bethe mean with relativistic rise, ≥ 0.567
MeV/mm; Landau-distributed, with explicit δ-rays) along a multiply-scattered track up to their
first interaction at Exp(1.2 λ_I), λ_I = 374 mm, so ≈ 34% cross the 1.28 λ_I stack without
interacting; then a shower with a leading-π⁰ tail of its EM fraction, an EM part of a few π⁰
showers, hadron ionisation and a neutron halo reaching back to the face (e/h = 1.47). For them
``leakage_gev`` also holds the invisible nuclear binding energy.

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
from caloml.sim import cells, deposit, gflash, hadron, lateral, noise
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


Component = cells.Component


@dataclasses.dataclass(frozen=True)
class LayerDeposits:
    """Noise-free energy deposits of N events, per readout layer.

    Attributes:
        components: kinds of deposits (:class:`caloml.sim.cells.Component`: expected in-window
            images per layer and the statistics of one deposit), fluctuated separately.
        layer_energy_gev: [N, L] energy deposited in each layer, inside and outside the window.
        leakage_gev: [N] energy leaving through the back (or never deposited).
        fixed_images_gev: None, or L arrays [N, num_x, num_y] of in-window deposits that are
            already fluctuated (a MIP track), added after the noise; included in
            ``layer_energy_gev``.
    """

    components: tuple[Component, ...]
    layer_energy_gev: np.ndarray
    leakage_gev: np.ndarray
    fixed_images_gev: list[np.ndarray] | None = None


def electromagnetic_deposits(
    particle: str, energy_gev: np.ndarray, rng: np.random.Generator, geometry: CaloGANGeometry,
    fluctuate: bool = True,
) -> LayerDeposits:
    """GFlash showers of e± (starting at the face) or photons (converting at Exp(9/7 X0))."""
    num = len(energy_gev)
    if particle == "photon":
        start = rng.exponential(gflash.PHOTON_CONVERSION_X0, size=num)
    else:
        start = np.zeros(num)
    showers = gflash.simulate_longitudinal(
        energy_gev, start, geometry.slice_edges_x0(), geometry.material, rng,
        start_particles=2 if particle == "photon" else 1,
    )
    layer = geometry.slice_layer()
    x = np.full(num, geometry.gun_xy_mm[0])
    y = np.full(num, geometry.gun_xy_mm[1])
    return LayerDeposits(
        components=cells.electromagnetic_components(
            showers, x, y, geometry.grids, layer, rng, wander=fluctuate),
        layer_energy_gev=deposit.group_energy(showers, layer, geometry.num_layers),
        leakage_gev=showers.leakage_gev,
    )


# Width (mm) of the Gaussian standing for the zero-width MIP track in the expected images
# (``fluctuate=False``): on a cell edge it splits the track exactly in half (Φ(0) = 1/2), as the
# mean over the track's scattering does.
_TRACK_WIDTH_MM = 1e-6


def _track_images(event, step, energy_gev, x_mm, y_mm, step_layer, num, geometry):
    """L arrays [N, num_x, num_y]: point deposits of a track in the cells holding them.

    ``event``, ``step``, ``energy_gev``, ``x_mm``, ``y_mm``: [P] deposits (``step`` indexes
    ``step_layer``, the layer of each step). Deposits outside the window are left out (the caller
    counts them in the layer energy, hence as overflow).
    """
    images = []
    layer_of = step_layer[step]
    for i, grid in enumerate(geometry.grids):
        mine = layer_of == i
        ix = np.floor((x_mm[mine] - grid.low_x_mm) / grid.cell_x_mm).astype(np.int64)
        iy = np.floor((y_mm[mine] - grid.low_y_mm) / grid.cell_y_mm).astype(np.int64)
        inside = (ix >= 0) & (ix < grid.num_x) & (iy >= 0) & (iy < grid.num_y)
        flat = (event[mine] * grid.num_x + ix) * grid.num_y + iy
        image = np.bincount(flat[inside], weights=energy_gev[mine][inside],
                            minlength=num * grid.num_x * grid.num_y)
        images.append(image.astype(np.float32).reshape(num, *grid.shape))
    return images


def _layer_centres(slice_energy, depth_mm, slice_layer, num_layers, default_mm):
    """[N, L] energy-weighted mean depth of each layer's slices (``default_mm`` where empty)."""
    one_hot = (slice_layer[:, None] == np.arange(num_layers)).astype(np.float64)
    energy = slice_energy @ one_hot
    moment = (slice_energy * depth_mm) @ one_hot
    return np.where(energy > 0, moment / np.maximum(energy, 1e-300), default_mm)


def _profiles(position_mm, low_mm, cell_mm, num_cells, widths_mm, active):
    """[M, A, num_cells]: :func:`caloml.sim.lateral.profiles_1d` for the widths ``active``."""
    table = lateral.cell_table(float(cell_mm), int(num_cells), widths_mm)
    subcell = table.shape[0]
    c = (np.asarray(position_mm, np.float64) - low_mm) / cell_mm
    cell = np.floor(c)
    q = np.minimum(((c - cell) * subcell).astype(np.int64), subcell - 1)
    start = np.clip(2 * num_cells - cell.astype(np.int64), 0, 3 * num_cells)
    return table[q[:, None], active[None, :], start[:, None]]


def _subshower_images(energies, radii, share, x_mm, y_mm, geometry, slice_layer):
    """Images of sub-showers that split their events' components in fixed shares.

    Event i's sub-shower k holds ``share[i, k]`` of each of its components (e.g. the core and
    the tail of its EM part: (energy [N, S], radius [N, S]) pairs), centred at
    ``x_mm[i·K + k]``, ``y_mm[...]`` ([N·K, L]: the axis in each layer). Like
    :func:`caloml.sim.deposit.component_images` per component, with the mixture weights of an
    event computed once for its K sub-showers and the cell integrals along each axis computed
    once for all components, for the Gaussian widths that carry energy only.

    Returns:
        one list of L arrays [N, num_x, num_y] per component.
    """
    edges, widths = lateral.width_grid()
    widths = tuple(float(w) for w in widths)
    num, count = share.shape
    num_layers = geometry.num_layers
    share = share.astype(np.float32)[:, :, None, None]
    weights = []
    for e, r in zip(energies, radii, strict=True):
        w = lateral.mixture_weights_by_group(e, r, edges, slice_layer, num_layers)
        weights.append((share * w.astype(np.float32)[:, None]).reshape(num * count,
                                                                       *w.shape[1:]))
    out = [[] for _ in weights]
    for g, grid in enumerate(geometry.grids):
        mass = sum(np.abs(w[:, g]).sum(axis=0) for w in weights)
        active = np.flatnonzero(mass > 1e-7 * max(mass.sum(), 1e-30))
        if not active.size:
            active = np.array([0])
        gx = _profiles(x_mm[:, g], grid.low_x_mm, grid.cell_x_mm, grid.num_x, widths, active)
        gy = _profiles(y_mm[:, g], grid.low_y_mm, grid.cell_y_mm, grid.num_y, widths, active)
        gy = gy.reshape(num, count * active.size, grid.num_y)
        for i, w in enumerate(weights):
            wx = (gx * w[:, g, active, None]).reshape(num, count * active.size, grid.num_x)
            out[i].append(np.matmul(wx.transpose(0, 2, 1), gy))
    return out


def _merge_quanta(a: Component, b: Component) -> Component:
    """One component for two of equal shape, with the energy-weighted mean of their quanta."""
    images = [x + y for x, y in zip(a.images_gev, b.images_gev, strict=True)]
    wa = np.stack([x.reshape(len(x), -1).sum(axis=1, dtype=np.float64) for x in a.images_gev], 1)
    wb = np.stack([x.reshape(len(x), -1).sum(axis=1, dtype=np.float64) for x in b.images_gev], 1)
    quantum = np.divide(wa * a.quantum_gev + wb * b.quantum_gev, wa + wb,
                        out=np.array(a.quantum_gev, np.float64), where=wa + wb > 0)
    return Component(images, quantum, a.shape)


def _merge_same_statistics(components) -> tuple[Component, ...]:
    """Adds up components whose deposits have the same law (a sum of compound Poissons)."""
    merged: list[Component] = []
    for c in components:
        for j, m in enumerate(merged):
            if m.shape == c.shape and np.array_equal(m.quantum_gev, c.quantum_gev):
                merged[j] = Component([a + b for a, b in zip(m.images_gev, c.images_gev,
                                                              strict=True)],
                                      m.quantum_gev, m.shape)
                break
        else:
            merged.append(c)
    return tuple(merged)


def pion_deposits(
    particle: str, energy_gev: np.ndarray, rng: np.random.Generator, geometry: CaloGANGeometry,
    fluctuate: bool = True,
) -> LayerDeposits:
    """Charged pions (:mod:`caloml.sim.hadron`): an ionising, scattering track, then a shower.

    *Track* (up to the first interaction; the whole 480 mm for the ≈ 34% that never interact),
    in steps of one 2 mm Pb + 4 mm LAr period (:data:`caloml.sim.hadron.CALOGAN_STACK`, both
    read out): the soft collisions go to the cell holding the track in the middle of the step,
    each δ-ray above 0.1 MeV to the cell where it stops (:func:`caloml.sim.hadron.
    sample_track_steps`: over a layer, Landau's distribution with the relativistic rise of its
    most probable value). The track starts at the gun (``run2.mac`` has no beam spread) and
    scatters (Highland); a beam on a cell edge stays within µm–mm of it, and its δ-rays share
    its loss between the cells on either side.

    *Shower* (:func:`caloml.sim.hadron.simulate_pions`), as components fluctuated separately
    (:class:`caloml.sim.cells.Component`), the cascade starting from the track's position at the
    interaction, along its direction:

    * the leading π⁰ (charge exchange or leading-particle production): a photon shower with the
      core and halo of :func:`caloml.sim.cells.electromagnetic_components`, along an axis
      tilted by the π⁰'s transverse momentum;
    * the EM part of the cascade: :data:`caloml.sim.hadron.EM_SUBSHOWERS` π⁰ showers with flat
      Dirichlet shares of its energy, their axes at angles drawn from the cascade kernel
      (Student-t, ν = 2, cut at 4 R as in CMS HDShower), each with a GFlash core (spots, merged
      with the leading π⁰'s) and photon tail (the soft deposits of the EM halo);
    * ionisation by the cascade's charged hadrons: the cascade kernel, in deposits of one
      hadron's ionisation over the mean chord of a cell (:func:`caloml.sim.hadron.
      hadron_deposit_gev`: 16 / 65 / 56 MeV in layers 0 / 1 / 2);
    * the neutron halo (backsplash into the layers in front of the interaction included):
      ``K0(ρ/L)`` around the beam, L = 150 mm, in nuclear recoils and MeV photons.

    ``fluctuate=False`` gives mean track losses on the beam axis (split equally among the cells
    whose edge or corner it runs along), one EM shower with the mean lateral profile and no core
    wandering. ``leakage_gev`` holds all energy not deposited: energy behind the back face
    (punch-through of non-interacting pions included), the halo leaving the stack and the
    invisible nuclear binding energy, so that Σ cells + Σ overflow + leakage = E holds as for
    e±/γ.
    """
    del particle
    energy = np.asarray(energy_gev, np.float64)
    num = len(energy)
    material = geometry.material
    edges_x0 = geometry.slice_edges_x0()
    edges_mm = edges_x0 * material.x0_mm
    edges_lambda = np.broadcast_to(edges_mm / geometry.lambda_i_mm, (num, len(edges_mm)))
    middle_mm = 0.5 * (edges_mm[:-1] + edges_mm[1:])
    layer = geometry.slice_layer()
    num_layers = geometry.num_layers
    one_hot = (layer[:, None] == np.arange(num_layers)).astype(np.float64)  # [S, L]

    # Track, in steps of one period of the stack (2 mm Pb + 4 mm LAr; cut at the layer
    # boundaries) up to the interaction: soft collisions in the cell holding the track at the
    # middle of the step, δ-rays where they stop.
    t_int = hadron.sample_first_interaction(num, rng)
    z_int = np.minimum(t_int * geometry.lambda_i_mm, edges_mm[-1])
    steps_mm = np.union1d(np.arange(0.0, edges_mm[-1], sum(hadron.CALOGAN_STACK.thickness_mm)),
                          geometry.layer_boundaries_mm)
    step_mid = 0.5 * (steps_mm[:-1] + steps_mm[1:])
    step_slice = np.clip(np.searchsorted(edges_mm, step_mid) - 1, 0, len(middle_mm) - 1)
    step_to_slice = (step_slice[:, None] == np.arange(len(middle_mm))).astype(np.float64)
    path = np.clip(z_int[:, None] - steps_mm[:-1], 0.0, np.diff(steps_mm))  # [N, steps]
    losses = hadron.sample_track_steps(hadron.CALOGAN_STACK, hadron.beta_gamma(energy), path,
                                       rng, fluctuate)
    mip = losses.total_gev @ step_to_slice  # [N, S]
    pions = hadron.simulate_pions(
        energy, edges_x0, edges_lambda, np.full(len(middle_mm), geometry.lambda_i_mm),
        geometry.mip_gev_per_mm * np.diff(edges_mm), material, rng, t_int_lambda=t_int,
        mip_loss_gev=mip,
    )
    gun_x, gun_y = geometry.gun_xy_mm
    if fluctuate:
        walk_x, angle_x = hadron.scattered_track(energy, steps_mm, material.x0_mm, rng)
        walk_y, angle_y = hadron.scattered_track(energy, steps_mm, material.x0_mm, rng)
        # A δ-ray's energy lands around the track within its range (capped at the Molière
        # radius, where it showers), in a random direction.
        event, step = losses.delta_event, losses.delta_step
        u = rng.random((2, event.size))
        reach = np.minimum(hadron.electron_range_mm(1e3 * losses.delta_gev,
                                                    hadron.CALOGAN_STACK.density_g_cm3),
                           material.moliere_radius_mm) * np.sqrt(u[0])
        steps = np.arange(path.shape[1])
        track = _track_images(
            np.concatenate([np.repeat(np.arange(num), len(steps)), event]),
            np.concatenate([np.tile(steps, num), step]),
            np.concatenate([losses.local_gev.ravel(), losses.delta_gev]),
            np.concatenate([(gun_x + walk_x).ravel(),
                            gun_x + walk_x[event, step] + reach * np.cos(2 * np.pi * u[1])]),
            np.concatenate([(gun_y + walk_y).ravel(),
                            gun_y + walk_y[event, step] + reach * np.sin(2 * np.pi * u[1])]),
            layer[step_slice], num, geometry)
    else:
        walk_x = walk_y = angle_x = angle_y = np.zeros(path.shape)
        track = []
        for i, grid in enumerate(geometry.grids):
            kernel = deposit.fixed_kernel(grid, gun_x, gun_y, (_TRACK_WIDTH_MM,))
            track.append(((mip @ one_hot[:, i])[:, None].astype(np.float32) * kernel).reshape(
                num, *grid.shape))

    # The cascade starts where the track ends, along its direction.
    rows = np.arange(num)
    at = np.clip(np.searchsorted(steps_mm, z_int) - 1, 0, len(step_mid) - 1)
    start_x, start_y = gun_x + walk_x[rows, at], gun_y + walk_y[rows, at]
    slope_x, slope_y = angle_x[rows, at], angle_y[rows, at]

    def axis(depth_mm, extra_x=0.0, extra_y=0.0):
        """Cascade (or π⁰) axis at [N] or [N, L] depths: straight from the interaction point."""
        expand = (slice(None),) + (None,) * (np.ndim(depth_mm) - 1)
        run = np.maximum(depth_mm - z_int[expand], 0.0)
        return (start_x[expand] + np.asarray(slope_x + extra_x)[expand] * run,
                start_y[expand] + np.asarray(slope_y + extra_y)[expand] * run)

    layer_mid = 0.5 * (np.asarray(geometry.layer_boundaries_mm[:-1])
                       + np.asarray(geometry.layer_boundaries_mm[1:]))
    components = []
    layer_energy = mip @ one_hot

    # Leading π⁰: photon-like GFlash showers, only for the events that have one.
    pi0 = pions.pi0
    pi0_components: list[Component] = []
    has_pi0 = np.flatnonzero(pions.leading_fraction > 0)
    if has_pi0.size:
        sub = dataclasses.replace(
            pi0, **{f.name: getattr(pi0, f.name)[has_pi0]
                    for f in dataclasses.fields(pi0)
                    if isinstance(getattr(pi0, f.name), np.ndarray)})
        depth = np.minimum(pi0.shower_max_x0 * material.x0_mm, edges_mm[-1])
        px, py = axis(depth, pions.pi0_slope[:, 0], pions.pi0_slope[:, 1])
        for c in cells.electromagnetic_components(
                sub, px[has_pi0], py[has_pi0], geometry.grids, layer, rng, wander=fluctuate):
            images = []
            for image in c.images_gev:
                full = np.zeros((num,) + image.shape[1:], np.float32)
                full[has_pi0] = image
                images.append(full)
            # Rows without a π⁰ have empty images: any quantum will do, a common one lets
            # components of equal statistics merge.
            quantum = np.full((num, num_layers), np.max(c.quantum_gev))
            quantum[has_pi0] = c.quantum_gev
            pi0_components.append(Component(images, quantum, c.shape))
        layer_energy = layer_energy + deposit.group_energy(pi0, layer, num_layers)

    # Cascade. Its EM part is a few π⁰ showers: each gets a share of the energy (flat
    # Dirichlet) and an axis from the interaction point at an angle drawn from the cascade
    # kernel (Student-t, ν = 2, cut at 4 R as CMS HDShower does), with its GFlash core (spots)
    # and photon tail (the soft deposits of the EM halo) around it, at each layer's mean depth of
    # the energy. The ionisation follows the cascade kernel around the axis, one hadron's
    # ionisation per deposit.
    em, ion = pions.em, pions.ionisation
    spot = deposit.group_spot_energy(em, layer, num_layers)
    em_depth = _layer_centres(em.slice_energy_gev, middle_mm, layer, num_layers, layer_mid)
    if fluctuate:
        count = hadron.EM_SUBSHOWERS
        share = rng.dirichlet(np.ones(count), size=num)  # [N, K]
        u = rng.random((2, num, count))
        theta = pions.cascade_angle_rad[:, None] * np.sqrt(u[0] * 16 / (17 - 16 * u[0]))
        tilt_x, tilt_y = theta * np.cos(2 * np.pi * u[1]), theta * np.sin(2 * np.pi * u[1])
        em_core_radius, em_tail_radius = em.core_radius_mm, em.tail_radius_mm
    else:
        count, share = 1, np.ones((num, 1))
        tilt_x = tilt_y = np.zeros((num, 1))
        em_core_radius = np.hypot(em.core_radius_mm, pions.cascade_radius_mm)
        em_tail_radius = np.hypot(em.tail_radius_mm, pions.cascade_radius_mm)
    # Only the events with an EM part (those that interact) are imaged.
    em_rows = np.flatnonzero(em.slice_energy_gev.sum(axis=1) > 0)
    r = em_rows
    run = np.maximum(em_depth[r] - z_int[r, None], 0.0)[:, None, :]  # [n, 1, L]
    sub_x = (start_x[r, None, None] + (slope_x[r, None, None] + tilt_x[r, :, None]) * run).reshape(
        -1, num_layers)
    sub_y = (start_y[r, None, None] + (slope_y[r, None, None] + tilt_y[r, :, None]) * run).reshape(
        -1, num_layers)
    em_slices, p = em.slice_energy_gev[r], em.core_fraction[r]
    core, tail = _subshower_images((em_slices * p, em_slices * (1.0 - p)),
                                   (em_core_radius[r], em_tail_radius[r]), share[r], sub_x, sub_y,
                                   geometry, layer)
    for images, quantum, shape in (
        (core, spot * (cells.CORE_SPOT_SHAPE / (cells.CORE_SPOT_SHAPE + 1.0)),
         cells.CORE_SPOT_SHAPE),
        (tail, np.full((num, num_layers), cells.HALO_DEPOSIT_GEV), cells.HALO_SHAPE),
    ):
        full = [np.zeros((num, *grid.shape), np.float32) for grid in geometry.grids]
        for f, image in zip(full, images, strict=True):
            f[em_rows] = image
        component = Component(full, quantum, shape)
        # The leading π⁰'s spots join the cascade's (their GFlash spot energies differ by the
        # ratio of the showers' energies to the power 0.124), with the energy-weighted mean.
        for j, c in enumerate(pi0_components):
            if c.shape == shape and shape == cells.CORE_SPOT_SHAPE:
                component = _merge_quanta(component, c)
                del pi0_components[j]
                break
        components.append(component)
    components.extend(pi0_components)
    layer_energy = layer_energy + em.slice_energy_gev @ one_hot

    hadron_quantum = np.broadcast_to(
        [hadron.hadron_deposit_gev((grid.cell_x_mm, grid.cell_y_mm, high - low),
                                   geometry.mip_gev_per_mm)
         for grid, low, high in zip(geometry.grids, geometry.layer_boundaries_mm[:-1],
                                    geometry.layer_boundaries_mm[1:], strict=True)],
        (num, num_layers))
    ion_x, ion_y = axis(_layer_centres(ion.slice_energy_gev, middle_mm, layer, num_layers,
                                       layer_mid))
    images = deposit.component_images(ion.slice_energy_gev, ion.core_radius_mm, ion_x, ion_y,
                                      geometry.grids, layer)
    components.append(Component(images, np.array(hadron_quantum), 1.0))
    layer_energy = layer_energy + ion.slice_energy_gev @ one_hot

    # Neutron halo: one transverse profile per layer around the beam.
    halo_energy = pions.halo_slice_gev @ one_hot
    edges, widths = lateral.width_grid()
    weights = hadron.neutron_halo_profile(float(pions.halo_length_mm[0]), edges)
    halo_images = [
        (halo_energy[:, i : i + 1] * (weights @ deposit.fixed_kernel(
            grid, gun_x, gun_y, tuple(float(w) for w in widths)))).astype(np.float32).reshape(
                num, *grid.shape)
        for i, grid in enumerate(geometry.grids)]
    components.append(Component(halo_images,
                                np.full((num, num_layers), hadron.NEUTRON_DEPOSIT_GEV),
                                hadron.NEUTRON_DEPOSIT_SHAPE))
    layer_energy = layer_energy + halo_energy

    return LayerDeposits(
        components=_merge_same_statistics(components),
        layer_energy_gev=layer_energy,
        leakage_gev=np.maximum(energy - layer_energy.sum(axis=1), 0.0),
        fixed_images_gev=track,
    )


# Deposit functions per particle: f(particle, energy_gev[N], rng, geometry, fluctuate) ->
# LayerDeposits; ``fluctuate=False`` asks for the expected (mean) deposits where the model has a
# choice (e.g. no wandering of the shower core).
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
    deposits = DEPOSITS[particle](particle, energy, rng, geometry, add_noise)
    out = {}
    overflow = np.empty((num, geometry.num_layers))
    leakage = np.asarray(deposits.leakage_gev, np.float64).copy()
    for i, grid in enumerate(geometry.grids):
        expected = [c.images_gev[i].reshape(num, -1) for c in deposits.components]
        in_window = sum(e.sum(axis=1, dtype=np.float64) for e in expected)
        fixed = None
        if deposits.fixed_images_gev is not None:
            fixed = deposits.fixed_images_gev[i].reshape(num, -1)
            in_window = in_window + fixed.sum(axis=1, dtype=np.float64)
        # Rounding of the float32 images may exceed a layer's energy by ~1e-7 of it.
        overflow[:, i] = np.maximum(deposits.layer_energy_gev[:, i] - in_window, 0.0)
        if add_noise:
            image = noise.mixed_compound_gamma(
                expected, [c.quantum_gev[:, i] for c in deposits.components],
                [c.shape for c in deposits.components], rng)
            image, empty = noise.keep_sums(image, sum(e.sum(axis=1, dtype=np.float64)
                                                      for e in expected))
            leakage += empty
        else:
            image = sum(expected)
        if fixed is not None:
            image = image + fixed
        image = np.maximum(image, 0.0).astype(np.float32, copy=False)
        out[f"layer_{i}"] = (image * np.float32(1000.0)).reshape(num, *grid.shape)
    out["energy"] = energy.astype(np.float32)[:, None]
    out["overflow"] = (1000.0 * overflow).astype(np.float32)
    out["leakage_gev"] = leakage.astype(np.float32)
    out["num_drawn"] = np.int64(num)
    return out
