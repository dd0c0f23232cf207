"""The LCD/CLIC barrel calorimeters of "Calorimetry with deep learning" (paper 003 §2).

Geometry (PHYSICS.md §6; paper 003 §2; Triforce_CaloML ``Convert_to_h5.py``):

=========  ======  =====================================  ==========  =========================
section    layers  layer                                  cells       per layer
=========  ======  =====================================  ==========  =========================
ECAL thin  17      2.4 mm W + 0.5 mm Si                   5.1 mm      0.691 X0, 0.0252 λ_I
ECAL thick 8       4.8 mm W + 0.5 mm Si                   5.1 mm      1.377 X0, 0.0493 λ_I
HCAL       60      19 mm steel + 3 mm scintillator        30 mm       1.087 X0, 0.117 λ_I
=========  ======  =====================================  ==========  =========================

The ECAL face is at 1500 mm from the beam axis, the HCAL face at 1700 mm (the 108 mm between
them hold no material here). The ECAL is 22.8 X0 and 0.82 λ_I deep, the HCAL 7.0 λ_I. The Si
and steel/scintillator thicknesses are not in the paper (PHYSICS.md §9): 0.5 mm Si and the
CLICdet 19/3 mm HCAL layers are assumed.

Particles (``electron``, ``photon``, ``pi0``, ``piplus``, ``piminus``) come from the origin with
energy E, polar angle θ (uniform in [1.047, 2.094] rad by default) and azimuth φ ~ U(−π, π), and
enter the ECAL at that angle; charged ones bend in the 4 T solenoid field on the way. Each shower
is simulated in the plane tangent to the ECAL at its impact point (u along the beam axis, v along
r·φ, depth w perpendicular to the face), with cell boundaries at fixed multiples of the cell size
in z and in r·φ, so the impact's position inside its cell varies naturally. The stored arrays are
[x, y, layer] with x along r·φ and **y along the beam**, as in the Triforce files (svalleco/3Dgan
``measPython`` measures θ from the slope of y with depth): an inclined shower moves along y.

* e±/γ/π⁰: GFlash with the *sampling-calorimeter* parameters of the thin W/Si layers
  (:data:`caloml.sim.materials.W_SI_CLIC`), integrated over the 85 layers along the inclined
  path (photons convert at Exp(9/7 X0)); the radial profile is scaled by each section's
  Molière radius. π⁰ decay exactly (:mod:`caloml.sim.kinematics`) into two showers.
* π±: :mod:`caloml.sim.hadron` (first interaction at Exp(1.2 λ_I), MIP track before it with a
  Landau-like spread per layer, Bock profile, e/h = 1.4, lateral width growing with depth).

Readout: the visible energy of each layer, calibrated per section to the electromagnetic scale
(1/f_e), so that an electron's ECAL + HCAL sum averages its energy. Sampling fluctuations are a
compound Poisson process per cell: hits of the calibrated energy ``q`` of one MIP crossing, each
with a Gamma spread whose shape makes the section's stochastic term ``a`` (``σ/E = a/√E``) come
out: per cell ``Var = a²·μ``. ``a`` is 15.3% (thin) and 21.6% (thick) — CALICE's measured
16.5%/√E for its 2.8 mm mean W thickness scaled as √d_W — and 22% for the HCAL (CALICE AHCAL's
electromagnetic 21.9%/√E); hadronic energy (the non-EM part of pion showers) has the larger
:attr:`ClicGeometry.hadronic_stochastic_term`, set so that pions reach the ≈ 50–60%/√E of
steel/scintillator calorimeters (PHYSICS.md §4).

Windows: 51 × 51 × 25 ECAL cells and 11 × 11 × 60 HCAL cells centred on the cell containing the
energy barycentre (ECAL + HCAL, projected on the face), as ``Convert_to_h5.py`` does. ``recoTheta``
and ``recoPhi`` are the angles of the energy barycentre of the two (noisy) windows seen from the
origin, ``recoEta = −ln tan(recoTheta/2)``.

Deviations from the Geant4 samples (also in the README): the barrel's 12-fold facets are replaced
by the plane tangent at the impact (no azimuthal incidence from the facet tilt; the magnetic
bending still inclines charged particles in y); no tracker material (no conversions before the
ECAL); the inclined shower's elliptical cut through a layer is drawn circular (stretch ≤ 1/sin θ
= 1.15); the ECAL is calibrated per section, where the Triforce files scale every layer's raw Si
energy by the same factor 50, which leaves the thick layers at about half the EM scale.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from caloml.errors import InputError
from caloml.sim import deposit, gflash, hadron, kinematics, lateral, noise
from caloml.sim.materials import W_SI_CLIC, Material

PDG = {"electron": 11, "photon": 22, "pi0": 111, "piplus": 211, "piminus": -211}
CHARGE = {"electron": -1, "photon": 0, "pi0": 0, "piplus": 1, "piminus": -1}
MASS_GEV = {"electron": 0.000511, "photon": 0.0, "pi0": kinematics.PI0_MASS_GEV,
            "piplus": 0.13957, "piminus": 0.13957}
PARTICLES = tuple(PDG)
# Paper 003 §2: polar angles uniform in [1.047, 2.094] rad (|η| < 0.549).
THETA_RANGE_RAD = (1.047, 2.094)
# Landau-like spread of the energy one MIP leaves crossing one layer: a Gamma of shape 4
# (relative spread 0.5; assumed, a truncated Landau in thin Si is about this wide).
MIP_GAMMA_SHAPE = 4.0
# Momentum of a particle of charge ±1 bending with radius 1 m in 1 T (GeV).
_GEV_PER_TESLA_METRE = 0.299792458


@dataclasses.dataclass(frozen=True)
class Section:
    """Layers of one kind: absorber + active plate, their depth and their readout.

    Attributes:
        name: human-readable name.
        num_layers: number of layers.
        absorber_mm, active_mm: plate thicknesses (the active plate behind the absorber).
        x0_per_layer, lambda_per_layer: one layer's depth in X0 and nuclear interaction lengths.
        mip_mev: energy a MIP loses crossing one layer at normal incidence (absorber + active).
        e_over_mip: ê, the electron-to-MIP response ratio, 1/(1 + 0.007 (Z_abs − Z_act)).
        stochastic_term: a of σ/E = a/√E for electromagnetic showers in this section.
        moliere_radius_mm: Molière radius of the section's effective medium.
    """

    name: str
    num_layers: int
    absorber_mm: float
    active_mm: float
    x0_per_layer: float
    lambda_per_layer: float
    mip_mev: float
    e_over_mip: float
    stochastic_term: float
    moliere_radius_mm: float

    def __post_init__(self):
        if self.stochastic_term**2 <= self.hit_gev:
            raise InputError(
                f"{self.name}: stochastic term {self.stochastic_term} must exceed "
                f"sqrt(hit energy) = {math.sqrt(self.hit_gev):.3g} (Poisson limit)"
            )

    @property
    def pitch_mm(self) -> float:
        return self.absorber_mm + self.active_mm

    @property
    def mm_per_lambda(self) -> float:
        """λ_I of the section's effective medium, mm."""
        return self.pitch_mm / self.lambda_per_layer

    @property
    def hit_gev(self) -> float:
        """Calibrated (EM-scale) energy of one MIP crossing a layer: the sampling quantum."""
        return 1e-3 * self.mip_mev / self.e_over_mip

    @property
    def hit_shape(self) -> float:
        """Gamma shape k of one hit's energy: Var = a²μ = q(1 + 1/k)μ per cell."""
        return 1.0 / (self.stochastic_term**2 / self.hit_gev - 1.0)


# MIP losses: W 22.1, Si 3.88, Fe 11.4, scintillator 2.0 MeV/cm; X0 W 3.50, Si 93.7, Fe 17.6,
# scintillator 413 mm; λ_I W 99.5, Si 465, Fe 168, scintillator 770 mm (PHYSICS.md §2).
ECAL_THIN = Section("ECAL 2.4 mm W + 0.5 mm Si", 17, 2.4, 0.5, 0.691, 0.0252, 5.50, 0.704,
                    0.153, 10.8)
ECAL_THICK = Section("ECAL 4.8 mm W + 0.5 mm Si", 8, 4.8, 0.5, 1.377, 0.0493, 10.80, 0.704,
                     0.216, 10.1)
HCAL_STEEL = Section("HCAL 19 mm steel + 3 mm scintillator", 60, 19.0, 3.0, 1.087, 0.117, 22.26,
                     0.876, 0.22, 19.3)


@dataclasses.dataclass(frozen=True)
class ClicGeometry:
    """Geometry, beam and sample selection of the CLIC samples (defaults: paper 003 §2).

    Attributes:
        ecal: ECAL sections, front to back.
        hcal: the HCAL section.
        ecal_front_mm, hcal_front_mm: distances of the two faces from the beam axis.
        ecal_cell_mm, hcal_cell_mm: square cell sizes.
        ecal_window, hcal_window: cells of the stored windows (x, y).
        em_material: effective medium of the electromagnetic GFlash parameters.
        theta_rad: polar angle range (low, high) drawn uniformly, or (θ,) for a fixed angle.
        magnetic_field_t: solenoid field bending charged particles before the ECAL (CLIC: 4 T).
        hadronic_stochastic_term: a of the hadronic (non-EM) part of pion showers.
        select_hcal_ecal_ratio: keep only events with HCAL/ECAL below this (the paper's π±
            selection: 0.1); None keeps all.
        select_opening_angle_rad: keep only π⁰ with a γγ opening angle below this (the paper:
            0.01 rad); None keeps all.
    """

    ecal: tuple[Section, ...] = (ECAL_THIN, ECAL_THICK)
    hcal: Section = HCAL_STEEL
    ecal_front_mm: float = 1500.0
    hcal_front_mm: float = 1700.0
    ecal_cell_mm: float = 5.1
    hcal_cell_mm: float = 30.0
    ecal_window: tuple[int, int] = (51, 51)
    hcal_window: tuple[int, int] = (11, 11)
    em_material: Material = W_SI_CLIC
    theta_rad: tuple[float, ...] = THETA_RANGE_RAD
    magnetic_field_t: float = 4.0
    hadronic_stochastic_term: float = 0.65
    select_hcal_ecal_ratio: float | None = None
    select_opening_angle_rad: float | None = None

    def __post_init__(self):
        theta = self.theta_rad
        if len(theta) not in (1, 2) or not all(0.1 < t < math.pi - 0.1 for t in theta) or (
            theta[0] > theta[-1]
        ):
            raise InputError(
                f"theta_rad must be one angle or a (low, high) range inside (0.1, pi - 0.1) "
                f"rad, got {theta}"
            )
        ecal_depth = sum(s.num_layers * s.pitch_mm for s in self.ecal)
        if self.hcal_front_mm < self.ecal_front_mm + ecal_depth:
            raise InputError(
                f"hcal_front_mm={self.hcal_front_mm} lies inside the ECAL, which ends at "
                f"{self.ecal_front_mm + ecal_depth:g} mm"
            )
        # A negative field would be read as none (``B > 0`` enables the bending), not reversed.
        if not self.magnetic_field_t >= 0:
            raise InputError(
                f"magnetic_field_t must be non-negative (0: no field), got {self.magnetic_field_t}"
            )
        for name in ("select_hcal_ecal_ratio", "select_opening_angle_rad"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise InputError(f"{name} must be positive or None, got {value}")

    @property
    def num_ecal_layers(self) -> int:
        return sum(s.num_layers for s in self.ecal)

    @property
    def sections(self) -> tuple[Section, ...]:
        return (*self.ecal, self.hcal)

    @functools.cached_property
    def layers(self) -> dict[str, np.ndarray]:
        """Per-layer tables of the 25 + 60 layers (normal incidence).

        ``edges_x0``/``edges_lambda`` [L + 1] depth boundaries (the air gap adds nothing);
        ``depth_mm`` [L] depth of each active plate's middle from the ECAL face; ``mip_gev``,
        ``calibration`` (1/ê: calibrated MIP = loss/ê), ``hit_gev``, ``hit_shape``,
        ``stochastic_term``, ``moliere_mm``, ``mm_per_lambda`` [L] per layer.
        """
        rows = []
        front = 0.0
        for section in self.sections:
            if section is self.hcal:
                front = self.hcal_front_mm - self.ecal_front_mm
            for _ in range(section.num_layers):
                rows.append((section, front + section.absorber_mm + 0.5 * section.active_mm))
                front += section.pitch_mm
        table = {
            "edges_x0": np.concatenate([[0.0], np.cumsum([s.x0_per_layer for s, _ in rows])]),
            "edges_lambda": np.concatenate(
                [[0.0], np.cumsum([s.lambda_per_layer for s, _ in rows])]),
            "depth_mm": np.array([d for _, d in rows]),
        }
        for key, value in (("mip_gev", lambda s: 1e-3 * s.mip_mev),
                           ("calibration", lambda s: 1.0 / s.e_over_mip),
                           ("hit_gev", lambda s: s.hit_gev),
                           ("hit_shape", lambda s: s.hit_shape),
                           ("stochastic_term", lambda s: s.stochastic_term),
                           ("moliere_mm", lambda s: s.moliere_radius_mm),
                           ("mm_per_lambda", lambda s: s.mm_per_lambda)):
            table[key] = np.array([value(s) for s, _ in rows])
        return table


def make_geometry(
    theta_rad: float | tuple[float, float] | None = None,
    fixed_angle: bool = False,
    magnetic_field_t: float | None = None,
    select_hcal_ecal_ratio: float | None = None,
    select_opening_angle_rad: float | None = None,
) -> ClicGeometry:
    """The geometry from the simulator's options (``fixed_angle``: θ = 90°, the 3DGAN's
    fixed-angle samples)."""
    if fixed_angle and theta_rad is not None:
        raise InputError("give either fixed_angle or theta_rad, not both")
    theta = (math.pi / 2,) if fixed_angle else THETA_RANGE_RAD if theta_rad is None else tuple(
        float(t) for t in np.atleast_1d(theta_rad))
    base = ClicGeometry()
    return dataclasses.replace(
        base,
        theta_rad=theta,
        magnetic_field_t=base.magnetic_field_t if magnetic_field_t is None
        else float(magnetic_field_t),
        select_hcal_ecal_ratio=select_hcal_ecal_ratio,
        select_opening_angle_rad=select_opening_angle_rad,
    )


@dataclasses.dataclass(frozen=True)
class Tracks:
    """Where and how N particles enter the ECAL, in the frame tangent at the impact.

    Attributes:
        theta, phi: [N] truth direction at the origin.
        impact_u_mm: [N] impact's global z (cells are bounded at multiples of the cell size).
        impact_v_mm: [N] impact's arc length r·φ on the ECAL face.
        impact_phi: [N] azimuth of the impact point (φ minus the magnetic bending).
        slope_u, slope_v: [N] du/dw and dv/dw of the direction (w = depth).
    """

    theta: np.ndarray
    phi: np.ndarray
    impact_u_mm: np.ndarray
    impact_v_mm: np.ndarray
    impact_phi: np.ndarray
    slope_u: np.ndarray
    slope_v: np.ndarray

    @property
    def path_factor(self) -> np.ndarray:
        """[N] path length per unit depth, 1/cos(incidence)."""
        return np.sqrt(1.0 + self.slope_u**2 + self.slope_v**2)


def draw_tracks(particle: str, energy_gev: np.ndarray, rng: np.random.Generator,
                geometry: ClicGeometry) -> Tracks:
    """Draws directions and propagates the particles to the ECAL face.

    A particle of charge q and transverse momentum p_T moves on a circle of radius
    ``r_c = p_T/(0.3 B)``; it reaches the face (radius R) at azimuth ``φ − q·asin(R/2r_c)``,
    its direction turned by twice that, i.e. inclined by ``−q·asin(R/2r_c)`` along r·φ (v, the
    stored x); its path to the face, ``2 r_c asin(R/2r_c)`` in the transverse plane, sets the
    impact's z.
    """
    num = len(energy_gev)
    theta_range = geometry.theta_rad
    theta = (np.full(num, theta_range[0]) if len(theta_range) == 1
             else rng.uniform(theta_range[0], theta_range[1], num))
    phi = rng.uniform(-math.pi, math.pi, num)
    radius_m = 1e-3 * geometry.ecal_front_mm
    charge = CHARGE[particle]
    momentum = np.sqrt(np.maximum(energy_gev**2 - MASS_GEV[particle] ** 2, 1e-12))
    if charge and geometry.magnetic_field_t > 0:
        curvature_m = momentum * np.sin(theta) / (_GEV_PER_TESLA_METRE
                                                  * geometry.magnetic_field_t)
        half_turn = np.arcsin(np.minimum(radius_m / (2.0 * curvature_m), 1.0))
        transverse_path_m = 2.0 * curvature_m * half_turn
    else:
        half_turn = np.zeros(num)
        transverse_path_m = np.full(num, radius_m)
    bend = charge * half_turn
    impact_phi = phi - bend
    cot = 1.0 / np.tan(theta)
    return Tracks(
        theta=theta,
        phi=phi,
        impact_u_mm=1e3 * transverse_path_m * cot,
        impact_v_mm=geometry.ecal_front_mm * impact_phi,
        impact_phi=impact_phi,
        slope_u=cot / np.cos(bend),
        slope_v=np.tan(-bend),
    )


@dataclasses.dataclass
class _Deposits:
    """Expected (noise-free) calibrated deposits of M = N·per_event sub-showers per layer."""

    core: np.ndarray  # [M, L] GeV in the core component
    tail: np.ndarray  # [M, L] GeV in the tail component
    core_radius_mm: np.ndarray  # [M, L]
    tail_radius_mm: np.ndarray  # [M, L]
    u_mm: np.ndarray  # [M, L] axis position at each layer's active plate
    v_mm: np.ndarray
    per_event: int
    hadronic_gev: np.ndarray  # [N, L] hadronic (non-EM) share of the calibrated deposits
    mip_gev: np.ndarray  # [N, L] calibrated MIP-track deposits (placed separately)
    mip_u_mm: np.ndarray  # [N, L] track position at each layer
    mip_v_mm: np.ndarray
    leakage_gev: np.ndarray  # [N] energy deposited nowhere
    opening_angle: np.ndarray  # [N]

    @property
    def shower_gev(self) -> np.ndarray:
        """[N, L] expected calibrated shower (non-MIP) energy per layer."""
        total = self.core + self.tail
        return total.reshape(-1, self.per_event, total.shape[1]).sum(axis=1)


def _axis(u0, v0, slope_u, slope_v, depth_mm):
    return (u0[:, None] + slope_u[:, None] * depth_mm[None, :],
            v0[:, None] + slope_v[:, None] * depth_mm[None, :])


def _scale_radii(showers: gflash.Showers, geometry: ClicGeometry):
    """GFlash radii (in R_M of the ECAL medium) rescaled to each layer's Molière radius."""
    scale = geometry.layers["moliere_mm"] / geometry.em_material.moliere_radius_mm
    return showers.core_radius_mm * scale, showers.tail_radius_mm * scale


def electromagnetic_deposits(particle, energy, tracks, rng, geometry) -> _Deposits:
    """e±, γ or π⁰ (two photons) showers along the particle's inclined path."""
    num = len(energy)
    layers = geometry.layers
    u0, v0 = tracks.impact_u_mm, tracks.impact_v_mm
    opening = np.zeros(num)
    if particle == "pi0":
        decay = kinematics.decay_pi0(energy, rng)
        opening = decay.opening_angle_rad
        distance = geometry.ecal_front_mm / np.sin(tracks.theta)
        # A displacement d across the pi0 axis lands d/sin θ along the beam and d across it.
        offsets = []
        for angle, azimuth in ((decay.theta1_rad, decay.azimuth_rad),
                               (decay.theta2_rad, decay.azimuth_rad + np.pi)):
            d = distance * angle
            offsets.append((d * np.cos(azimuth) / np.sin(tracks.theta), d * np.sin(azimuth)))
        sub_energy = np.stack([decay.energy1_gev, decay.energy2_gev], axis=1).ravel()
        u0 = np.stack([u0 + offsets[0][0], u0 + offsets[1][0]], axis=1).ravel()
        v0 = np.stack([v0 + offsets[0][1], v0 + offsets[1][1]], axis=1).ravel()
        per_event = 2
    else:
        sub_energy, per_event = energy, 1
    repeat = functools.partial(np.repeat, repeats=per_event)
    if particle in ("photon", "pi0"):
        start = rng.exponential(gflash.PHOTON_CONVERSION_X0, size=sub_energy.shape)
    else:
        start = np.zeros(sub_energy.shape)
    path = repeat(tracks.path_factor)
    showers = gflash.simulate_longitudinal(
        sub_energy, start, layers["edges_x0"][None, :] * path[:, None],
        geometry.em_material, rng,
    )
    core_radius, tail_radius = _scale_radii(showers, geometry)
    u, v = _axis(u0, v0, repeat(tracks.slope_u), repeat(tracks.slope_v), layers["depth_mm"])
    p = showers.core_fraction
    zeros = np.zeros((num, len(layers["depth_mm"])))
    return _Deposits(
        core=showers.slice_energy_gev * p, tail=showers.slice_energy_gev * (1 - p),
        core_radius_mm=core_radius, tail_radius_mm=tail_radius, u_mm=u, v_mm=v,
        per_event=per_event, hadronic_gev=zeros, mip_gev=zeros, mip_u_mm=zeros,
        mip_v_mm=zeros,
        leakage_gev=showers.leakage_gev.reshape(num, per_event).sum(axis=1),
        opening_angle=opening,
    )


def pion_deposits(particle, energy, tracks, rng, geometry) -> _Deposits:
    """π± (:mod:`caloml.sim.hadron`): MIP track, then an EM + hadronic shower."""
    del particle
    num = len(energy)
    layers = geometry.layers
    path = tracks.path_factor[:, None]
    pions = hadron.simulate_pions(
        energy, layers["edges_x0"][None, :] * path, layers["edges_lambda"][None, :] * path,
        layers["mm_per_lambda"], layers["mip_gev"][None, :] * path, geometry.em_material, rng,
    )
    showers = pions.showers
    # CMS HDShower lateral kernel for both parts, R growing in λ of each layer (already mm).
    depth = layers["depth_mm"]
    u, v = _axis(tracks.impact_u_mm, tracks.impact_v_mm, tracks.slope_u, tracks.slope_v, depth)
    p = showers.core_fraction
    slices = showers.slice_energy_gev
    visible = slices.reshape(num, -1).sum(axis=1) + pions.mip_slice_gev.sum(axis=1)
    return _Deposits(
        core=slices * p, tail=slices * (1 - p), core_radius_mm=showers.core_radius_mm,
        tail_radius_mm=showers.tail_radius_mm, u_mm=np.repeat(u, 2, axis=0),
        v_mm=np.repeat(v, 2, axis=0),
        per_event=2, hadronic_gev=slices[1::2],
        mip_gev=pions.mip_slice_gev * layers["calibration"], mip_u_mm=u, mip_v_mm=v,
        leakage_gev=np.maximum(energy - visible, 0.0), opening_angle=np.zeros(num),
    )


DEPOSITS = {
    "electron": electromagnetic_deposits,
    "photon": electromagnetic_deposits,
    "pi0": electromagnetic_deposits,
    "piplus": pion_deposits,
    "piminus": pion_deposits,
}


def _window_low(position_mm: np.ndarray, cell_mm: float, num_cells: int) -> np.ndarray:
    """[N] lower edge of the window of ``num_cells`` centred on the cell holding the position."""
    return (np.floor(position_mm / cell_mm) - num_cells // 2) * cell_mm


def _images(dep: _Deposits, layer_index: np.ndarray, low_u, low_v, cell_mm, window):
    """[N, len(layer_index), nx, ny] expected images of the selected layers on the windows."""
    edges, widths = lateral.width_grid()
    widths = tuple(float(w) for w in widths)
    grid = deposit.CellGrid(*window, cell_mm, cell_mm)
    # Positions in the frame of each event's window (the grid is centred on its origin).
    centre_u = np.repeat(low_u - grid.low_x_mm, dep.per_event)
    centre_v = np.repeat(low_v - grid.low_y_mm, dep.per_event)
    out = np.zeros((len(low_u), len(layer_index), *grid.shape), np.float32)
    for i, layer in enumerate(layer_index):
        energy = np.stack([dep.core[:, layer], dep.tail[:, layer]], axis=1)
        if not energy.any():
            continue
        radius = np.stack([dep.core_radius_mm[:, layer], dep.tail_radius_mm[:, layer]], axis=1)
        out[:, i] = deposit.mixture_images(
            lateral.mixture_weights(energy, radius, edges), dep.u_mm[:, layer] - centre_u,
            dep.v_mm[:, layer] - centre_v, grid, widths, dep.per_event)
    return out


def _add_track(images, dep: _Deposits, layer_index, low_u, low_v, cell_mm, rng):
    """Adds the MIP track: each layer's cell on the axis gets a Landau-like deposit.

    Returns the expected (mean) track energy inside the window, [N].
    """
    mip = dep.mip_gev[:, layer_index]
    hit = np.nonzero(mip > 0)
    if not hit[0].size:
        return np.zeros(len(images))
    event, i = hit
    layer = layer_index[i]
    cu = np.floor((dep.mip_u_mm[event, layer] - low_u[event]) / cell_mm).astype(np.int64)
    cv = np.floor((dep.mip_v_mm[event, layer] - low_v[event]) / cell_mm).astype(np.int64)
    inside = (cu >= 0) & (cu < images.shape[2]) & (cv >= 0) & (cv < images.shape[3])
    energy = mip[hit] * rng.gamma(MIP_GAMMA_SHAPE, 1.0 / MIP_GAMMA_SHAPE, size=len(event))
    np.add.at(images, (event[inside], i[inside], cu[inside], cv[inside]), energy[inside])
    return np.bincount(event[inside], weights=mip[hit][inside], minlength=len(images))


# Events per block of the sampling noise: bounds the float64 temporaries (≈ 60 MB per block).
_NOISE_BLOCK = 32


def sampling_noise(images: np.ndarray, quantum_gev: np.ndarray, shape: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
    """Compound-Poisson sampling fluctuations of expected images, in place and returned.

    Each cell of expected energy μ holds ``Poisson(μ/q)`` hits whose energies are
    Gamma(k, q/k): the sum is ``Gamma(n·k, q/k)``, with mean μ and variance ``q(1 + 1/k)μ``.

    Args:
        images: [N, L, nx, ny] float32 expected energies (GeV).
        quantum_gev: [N, L] hit energy q per event and layer.
        shape: [L] Gamma shape k of one hit per layer.
    """
    num = images.shape[0]
    for start in range(0, num, _NOISE_BLOCK):
        block = images[start:start + _NOISE_BLOCK]
        q = quantum_gev[start:start + _NOISE_BLOCK]
        expected = block / q[:, :, None, None]
        counts = noise.poisson_counts(expected.reshape(len(block), -1), rng).reshape(block.shape)
        hit = np.nonzero(counts)
        block[...] = 0.0
        block[hit] = rng.gamma(counts[hit] * shape[hit[1]], q[hit[0], hit[1]] / shape[hit[1]])
    return images


def _quantum(dep: _Deposits, layer_index: np.ndarray, geometry: ClicGeometry) -> np.ndarray:
    """[N, L'] hit energy per event and layer: the section's, larger for hadronic energy.

    With a² the energy-weighted mean of the section's a² (EM part) and the hadronic stochastic
    term's (hadronic part), q = a²/(1 + 1/k) keeps Var = a²·μ.
    """
    layers = geometry.layers
    a_em2 = layers["stochastic_term"][layer_index] ** 2
    total = dep.shower_gev[:, layer_index]
    hadronic = np.divide(dep.hadronic_gev[:, layer_index], total,
                         out=np.zeros_like(total), where=total > 0)
    a2 = (1 - hadronic) * a_em2 + hadronic * geometry.hadronic_stochastic_term**2
    return a2 / (1.0 + 1.0 / layers["hit_shape"][layer_index])


def _barycentre(ecal, hcal, low, geometry: ClicGeometry):
    """(u, v, w) energy barycentre of the two windows in mm ([N] each) and the total energy."""
    layers = geometry.layers
    n_ecal = geometry.num_ecal_layers
    sums = []
    for image, cell, (lu, lv), depth in (
        (ecal, geometry.ecal_cell_mm, low["ecal"], layers["depth_mm"][:n_ecal]),
        (hcal, geometry.hcal_cell_mm, low["hcal"], layers["depth_mm"][n_ecal:]),
    ):
        e = image.astype(np.float64)
        centres_u = (np.arange(image.shape[2]) + 0.5) * cell
        centres_v = (np.arange(image.shape[3]) + 0.5) * cell
        total = e.sum(axis=(1, 2, 3))
        sums.append((total,
                     np.einsum("nlxy,x->n", e, centres_u) + total * lu,
                     np.einsum("nlxy,y->n", e, centres_v) + total * lv,
                     np.einsum("nlxy,l->n", e, depth)))
    total, u, v, w = (a + b for a, b in zip(*sums, strict=True))
    safe = np.maximum(total, 1e-30)
    return u / safe, v / safe, w / safe, total


def _reco_angles(u, v, w, tracks: Tracks, geometry: ClicGeometry):
    """θ, η, φ of the barycentre point (u, v, w) of the tangent frame, seen from the origin."""
    radial = geometry.ecal_front_mm + w
    across = v - tracks.impact_v_mm
    theta = np.arctan2(np.hypot(radial, across), u)
    phi = np.angle(np.exp(1j * (tracks.impact_phi + np.arctan2(across, radial))))
    return theta, -np.log(np.tan(theta / 2)), phi


def simulate_chunk(
    particle: str,
    energy_gev: np.ndarray,
    rng: np.random.Generator,
    geometry: ClicGeometry = ClicGeometry(),
    add_noise: bool = True,
) -> dict[str, np.ndarray]:
    """Simulates one chunk of N events in the CLIC ECAL + HCAL.

    Args:
        particle: one of :data:`PARTICLES`.
        energy_gev: [N] incident energies.
        rng: random generator of this chunk.
        geometry: detector, beam and selections (the selections are applied by
            :func:`select`, not here).
        add_noise: add the sampling fluctuations; off gives expected images (with the MIP
            track's Landau spread).

    Returns:
        The arrays of the ``clic`` layout (``ECAL`` [N, 51, 51, 25], ``HCAL`` [N, 11, 11, 60],
        ``energy``, ``pdgID``, ``theta``, ``eta``, ``phi``, ``recoTheta``, ``recoEta``,
        ``recoPhi``, ``openingAngle``), the truth ``leakage_gev`` (energy deposited nowhere)
        and ``out_of_window_gev`` (expected calibrated energy outside both windows), and the
        count ``num_drawn`` (= N).
    """
    if particle not in DEPOSITS:
        raise InputError(f"unknown particle {particle!r}; expected one of {list(PARTICLES)}")
    energy = np.asarray(energy_gev, np.float64)
    num = len(energy)
    tracks = draw_tracks(particle, energy, rng, geometry)
    dep = DEPOSITS[particle](particle, energy, tracks, rng, geometry)
    layers = geometry.layers
    n_ecal = geometry.num_ecal_layers

    # Window centre: the expected energy barycentre along the axes, projected on the face.
    per_layer = dep.shower_gev + dep.mip_gev
    shower_total = (dep.core + dep.tail)
    u_sum = np.sum(shower_total * dep.u_mm, axis=1).reshape(num, -1).sum(1)
    v_sum = np.sum(shower_total * dep.v_mm, axis=1).reshape(num, -1).sum(1)
    u_sum += np.sum(dep.mip_gev * dep.mip_u_mm, axis=1)
    v_sum += np.sum(dep.mip_gev * dep.mip_v_mm, axis=1)
    expected_total = per_layer.sum(axis=1)
    safe = np.maximum(expected_total, 1e-30)
    centre_u, centre_v = u_sum / safe, v_sum / safe
    low = {
        "ecal": (_window_low(centre_u, geometry.ecal_cell_mm, geometry.ecal_window[0]),
                 _window_low(centre_v, geometry.ecal_cell_mm, geometry.ecal_window[1])),
        "hcal": (_window_low(centre_u, geometry.hcal_cell_mm, geometry.hcal_window[0]),
                 _window_low(centre_v, geometry.hcal_cell_mm, geometry.hcal_window[1])),
    }
    images = {}
    expected_in_window = np.zeros(num)
    for name, index, cell, window in (
        ("ecal", np.arange(n_ecal), geometry.ecal_cell_mm, geometry.ecal_window),
        ("hcal", np.arange(n_ecal, len(layers["depth_mm"])), geometry.hcal_cell_mm,
         geometry.hcal_window),
    ):
        image = _images(dep, index, *low[name], cell, window)
        expected_in_window += image.sum(axis=(1, 2, 3), dtype=np.float64)
        if add_noise:
            sampling_noise(image, _quantum(dep, index, geometry), layers["hit_shape"][index],
                           rng)
        expected_in_window += _add_track(image, dep, index, *low[name], cell, rng)
        images[name] = image

    u, v, w, total = _barycentre(images["ecal"], images["hcal"], low, geometry)
    empty = total <= 0
    reco_theta, reco_eta, reco_phi = _reco_angles(
        np.where(empty, centre_u, u), np.where(empty, centre_v, v), w, tracks, geometry)
    return {
        # [N, L, u (beam), v (r·φ)] -> [N, x = r·φ, y = beam, L] as in the Triforce files,
        # where the beam runs along the second axis (3DGAN's measPython measures θ along y).
        "ECAL": np.ascontiguousarray(images["ecal"].transpose(0, 3, 2, 1)),
        "HCAL": np.ascontiguousarray(images["hcal"].transpose(0, 3, 2, 1)),
        "energy": energy.astype(np.float32),
        "pdgID": np.full(num, PDG[particle], np.int32),
        "theta": tracks.theta.astype(np.float32),
        "eta": (-np.log(np.tan(tracks.theta / 2))).astype(np.float32),
        "phi": tracks.phi.astype(np.float32),
        "recoTheta": reco_theta.astype(np.float32),
        "recoEta": reco_eta.astype(np.float32),
        "recoPhi": reco_phi.astype(np.float32),
        "openingAngle": dep.opening_angle.astype(np.float32),
        "leakage_gev": dep.leakage_gev.astype(np.float32),
        "out_of_window_gev": (expected_total - expected_in_window).astype(np.float32),
        "num_drawn": np.int64(num),
    }


def select(arrays: dict[str, np.ndarray], geometry: ClicGeometry) -> np.ndarray | None:
    """[N] events passing the geometry's sample selections (paper 003 §2), or None (no cut).

    ``select_hcal_ecal_ratio``: HCAL/ECAL window sums below it (the π± selection; an event
    with an empty ECAL window fails). ``select_opening_angle_rad``: π⁰ opening angle below it
    (other particles have 0 and pass).
    """
    keep = None
    if geometry.select_hcal_ecal_ratio is not None:
        ecal = arrays["ECAL"].sum(axis=(1, 2, 3), dtype=np.float64)
        hcal = arrays["HCAL"].sum(axis=(1, 2, 3), dtype=np.float64)
        keep = hcal < geometry.select_hcal_ecal_ratio * ecal
    if geometry.select_opening_angle_rad is not None:
        angle = arrays["openingAngle"] < geometry.select_opening_angle_rad
        keep = angle if keep is None else keep & angle
    return keep


def check_request(particle: str, energy_bounds: np.ndarray, geometry: ClicGeometry) -> None:
    """Refuses a π⁰ opening-angle selection that no π⁰ of the requested energies passes."""
    cut = geometry.select_opening_angle_rad
    if particle == "pi0" and cut is not None:
        highest = float(np.max(energy_bounds))
        if kinematics.min_opening_angle(highest) >= cut:
            raise InputError(
                f"select_opening_angle_rad={cut:g} is below the smallest opening angle "
                f"2 arcsin(m/E) = {float(kinematics.min_opening_angle(highest)):.3g} rad of a "
                f"{highest:g} GeV pi0: no event would pass; raise the energy or the cut"
            )
