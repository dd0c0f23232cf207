"""The LCD/CLIC barrel calorimeters of "Calorimetry with deep learning" (paper 003 §2).

Geometry: iLCSoft/lcgeo ``CLIC/compact/CLIC_o2_v04`` (``ECalBarrel_o2_v01_01.xml``,
``HCalBarrel_o1_v01_01.xml``, ``CLIC_o2_v04.xml``), the 17 + 8 layer model of paper 003 §2 and
of the Triforce_CaloML samples (its later ``CLIC_o3_v07`` has 40 ECAL layers):

=========  ======  ==========================================  ======  =====================
section    layers  layer (pitch)                               cells   per layer
=========  ======  ==========================================  ======  =====================
ECAL thin  17      2.4 mm W alloy, 0.1 mm Cu mix, 0.5 mm Si,   5.1 mm  0.648 X0, 0.0276 λ_I
                   0.8 mm Cu PCB, 0.6 mm air (4.4 mm)
ECAL thick 8       the same with 4.8 mm W alloy (6.8 mm)       5.1 mm  1.259 X0, 0.0505 λ_I
HCAL       60      20 mm steel, 3 mm polystyrene, 0.1 mm Cu,   30 mm   1.151 X0, 0.125 λ_I
                   0.7 mm PCB, 2.7 mm air (26.5 mm)
=========  ======  ==========================================  ======  =====================

W alloy "TungstenDens24": 17.8 g/cm³, 93% W, 6.1% Ni, 0.9% Fe; X0, λ_I, MIP losses and Molière
radii of the layers are the mass-weighted PDG values of the listed materials. The ECAL face is
at 1500 mm from the beam axis, the HCAL face at 1697 mm. The ECAL is 21.1 X0 and 0.87 λ_I deep
(129.2 mm), the HCAL 7.5 λ_I.

Particles (``electron``, ``photon``, ``pi0``, ``piplus``, ``piminus``) come from the origin with
energy E, polar angle θ (uniform in [1.047, 2.094] rad by default) and azimuth φ ~ U(−π, π), and
enter the ECAL at that angle; charged ones bend in the 4 T solenoid field on the way. Each shower
is simulated in the plane tangent to the ECAL at its impact point (u along the beam axis, v along
r·φ, depth w perpendicular to the face), with cell boundaries at fixed multiples of the cell size
in z and in r·φ, so the impact's position inside its cell varies naturally. The stored arrays are
[x, y, layer] with x along r·φ and **y along the beam**, as in the Triforce files (svalleco/3Dgan
``measPython`` measures θ from the slope of y with depth): an inclined shower moves along y.

* Tracker material (:attr:`ClicGeometry.tracker_x0`, 0.12 X0 at θ = 90°, 1/sin θ along the path):
  a photon converts before the ECAL with probability ``1 − exp(−7/9 · t/X0)``; the e⁺e⁻ pair
  shares its energy by the Bethe–Heitler spectrum, bends in the field from the conversion radius
  to the ECAL and showers as two electrons from displaced impact points. Electrons' and pions'
  interactions in the tracker are not simulated.
* e±/γ/π⁰: GFlash with the *sampling-calorimeter* parameters of the thin W/Si layers
  (:data:`caloml.sim.materials.W_SI_CLIC`), integrated over the 85 sampling cells along the
  inclined path (unconverted photons start at Exp(9/7 X0)); the radial profile is scaled by each
  layer's Molière radius, and each layer's deposit is displaced by the wandering of the shower
  core (:func:`caloml.sim.cells.core_offsets`). π⁰ decay exactly (:mod:`caloml.sim.kinematics`)
  into two showers.
* π±: :mod:`caloml.sim.hadron` (first interaction at Exp(1.2 λ_I), track before it; leading-π⁰
  and charge-exchange tail of the EM fraction, Bock profiles, e/h = 1.47, lateral width growing
  with depth); the track's loss in each active plate is a Landau draw with the relativistic
  rise of the pion's βγ (:class:`ActiveMedium`).

Readout (:attr:`ClicGeometry.readout`). An active plate sees the fraction ê·f_mip of the
electromagnetic energy deposited in its sampling cell, which reaches half-way to the
neighbouring plates (f_mip: the plate's share of a MIP's loss in the cell; ê = e/mip,
:attr:`Section.em_fraction`), i.e. 2.3% in a thin ECAL layer, 1.3% in a thick one, 2.2% in the
HCAL. ``"files"`` (default) stores that raw active energy × 50 in every layer of both
calorimeters, as the Triforce files do (``Convert_to_h5.py``: ``getECALArray(...)/1000.*50`` and
the same for the HCAL, "Geant is in units of 1/50 GeV", on the Geant4 ``energyDeposit`` in MeV
of the sensitive volumes); ``"em_scale"`` calibrates every layer to the electromagnetic scale
(÷ ê·f_mip), so that an electron's window sums add up to its energy. The sampling fraction
(ECAL sum/E) is therefore the physics' own, ≈ 0.02 and falling with E as the showers reach the
thick layers, and the raw energy per layer has no step at layer 17.

Sampling fluctuations: a cell of expected active energy μ holds n ~ Poisson(μ/⟨X⟩) hits, the
crossings of the active plate by charged shower particles, each losing a Landau-distributed X
(:mod:`caloml.sim.landau`; PDG Δ_p and ξ of the plate at βγ = 20, truncated at λ_max). λ_max —
physically the largest energy transfer whose δ-ray stays in the plate — is set per section so
that the compound-Poisson variance, ⟨X²⟩/⟨X⟩·μ, equals ê·f_mip·a²·μ: the section's stochastic
term ``a`` (``σ/E = a/√E`` at the EM scale) comes out, 15.3% (thin) and 21.6% (thick) — CALICE's
measured 16.5%/√E for its 2.8 mm mean W thickness scaled as √d_W — and 22% in the HCAL (CALICE
AHCAL's electromagnetic 21.9%/√E). It gives λ_max ≈ 1300 in Si and ⟨X⟩ = 0.93 of the Bethe mean
loss, so a cell with one hit sits at the MIP peak with the Landau tail. Cells with up to
:data:`EXACT_HITS` hits sum exact Landau draws; busier cells draw a Gamma with the sum's exact
mean and variance. Hadronic energy (the non-EM part of pion
showers) comes as heavily ionising hits, s times a MIP's loss, with s set per cell so that it
fluctuates with :attr:`ClicGeometry.hadronic_stochastic_term` (≈ 50–60%/√E of
steel/scintillator calorimeters, PHYSICS.md §4).

Windows: 51 × 51 × 25 ECAL cells and 11 × 11 × 60 HCAL cells centred on the cell containing the
expected barycentre of the raw energy (ECAL + HCAL, projected on the face), as ``Convert_to_h5.py``
does. ``recoTheta``, ``recoEta``, ``recoPhi`` as ``Convert_to_h5.py`` computes them (lines
409-416, ``findGlobalBarycenter``, ``getTheta``, ``getEta``, ``getPhi``): the raw-energy
weighted mean (x, y, z) of all hit cells of both calorimeters (cell centres, in and outside the
windows; outside them caloml adds the expected energy), then ``θ = acos(z/r)``,
``η = −ln tan(θ/2)`` and ``φ = atan(y/x)`` — an arctangent, not atan2, so recoPhi lies in
(−π/2, π/2) and differs from φ by π for |φ| > π/2 (most Triforce events lie in the barrel
modules 11, 0 and 1 around φ = 0, ``Convert_to_h5.py`` line 127).
``conversion`` (``Convert_to_txt.py`` lines 85-104) counts the γ → e⁺e⁻ pairs of more than 1 GeV
recorded in the event; ``openingAngle`` is −1 when there is no π⁰ → γγ decay (line 28).

Deviations from the Geant4 samples (also in the README): the barrel's 12-fold staves are
replaced by the plane tangent at the impact (no azimuthal incidence from the stave tilt; the
magnetic bending still inclines charged particles in y); the inclined shower's elliptical cut
through a layer is drawn circular (stretch ≤ 1/sin θ = 1.15); ê is the same in every layer
(Geant4's e/mip falls slowly with depth as the showers soften); electrons radiate nothing in
the tracker.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from caloml.errors import InputError
from caloml.sim import (
    cells,
    deposit,
    gflash,
    hadron,
    ionisation,
    kinematics,
    landau,
    lateral,
    noise,
)
from caloml.sim.materials import W_SI_CLIC, Material

PDG = {"electron": 11, "photon": 22, "pi0": 111, "piplus": 211, "piminus": -211}
CHARGE = {"electron": -1, "photon": 0, "pi0": 0, "piplus": 1, "piminus": -1}
MASS_GEV = {"electron": 0.000511, "photon": 0.0, "pi0": kinematics.PI0_MASS_GEV,
            "piplus": 0.13957, "piminus": 0.13957}
PARTICLES = tuple(PDG)
# Paper 003 §2: polar angles uniform in [1.047, 2.094] rad (|η| < 0.549).
THETA_RANGE_RAD = (1.047, 2.094)
# Momentum of a particle of charge ±1 bending with radius 1 m in 1 T (GeV).
_GEV_PER_TESLA_METRE = 0.299792458

# Readouts: "files" stores the raw active energy × FILE_SCALE in every layer, as Triforce_CaloML
# Convert_to_h5.py (lines 402 and 406: ``/1000.*50``, "Geant is in units of 1/50 GeV for some
# reason", applied to the Geant4 energyDeposit in MeV of the Si and scintillator cells) and
# svalleco/3Dgan (``ecalscale=50. # scaling in original data set``) read them; "em_scale"
# calibrates each layer to the electromagnetic scale.
READOUTS = ("files", "em_scale")
FILE_SCALE = 50.0
# Material in front of the barrel ECAL at θ = 90°, in X0: lcgeo CLIC_o2_v04 — vertex (3 double
# layers of Si + carbon fibre, ≈ 1.2%), inner and outer tracker barrels (5 layers of modules of
# 0.3 mm Si with Al/Kapton/carbon-fibre/epoxy, ≈ 1.1% each) and their carbon-fibre supports
# (1.15 + 0.54 + 1.04 + 1.11 + 1.11%), beam pipe (≈ 0.2%): ≈ 0.12 X0.
TRACKER_X0 = 0.12
# Radii between which photons convert (the tracker's material is spread roughly evenly in
# radius, from the first vertex layer at 31 mm to the last outer-tracker layer at 1450 mm).
CONVERSION_RADII_MM = (31.0, 1450.0)
# Convert_to_txt.py (line 103) counts an e+e- pair from one vertex as a conversion if
# E(e+) + E(e-) > 1000 MeV.
CONVERSION_MIN_GEV = 1.0
# Shower particles crossing an active plate: electrons of ~10 MeV (W's critical energy is 8 MeV),
# βγ ≈ 20, on the relativistic rise of the Landau most probable loss.
SHOWER_BETA_GAMMA = 20.0
# Cells with up to this many hits sum exact Landau draws; busier cells a moment-matched Gamma.
EXACT_HITS = 6


# The active media (PDG constants, caloml.sim.ionisation).
ActiveMedium = ionisation.Medium
SILICON = ionisation.SILICON
POLYSTYRENE = ionisation.POLYSTYRENE


@functools.lru_cache(maxsize=1)
def _landau_moment_table() -> tuple[np.ndarray, ...]:
    """λ grid and the cumulative ∫φ, ∫λ·φ, ∫λ²·φ of Landau's density φ (:func:`landau.pdf`)."""
    from scipy import integrate

    grid = np.concatenate([np.linspace(-8.0, 50.0, 20_001), np.geomspace(50.0, 1e8, 40_001)[1:]])
    pdf = landau.pdf(grid)
    return (grid, *(integrate.cumulative_trapezoid(grid**p * pdf, grid, initial=0.0)
                    for p in range(3)))


def truncated_landau_moments(max_lambda: float) -> tuple[float, float]:
    """Mean and variance of Landau's λ (density φ) truncated at ``max_lambda`` (≤ 1e8)."""
    grid, c0, c1, c2 = _landau_moment_table()
    norm, first, second = (float(np.interp(max_lambda, grid, c)) for c in (c0, c1, c2))
    mean = first / norm
    return mean, second / norm - mean**2


@dataclasses.dataclass(frozen=True)
class HitSpectrum:
    """Energy X of one hit (a charged particle crossing an active plate), per layer.

    ``X = Δ_p + ξ(λ + 0.22278)`` with λ of Landau's φ truncated at ``max_lambda`` (its most
    probable value Δ_p); all arrays [L], energies in GeV of active (raw) energy; ``mean_lambda``
    is the mean of the truncated λ, ``mean_gev`` and ``var_gev2`` those of X.
    """

    mpv_gev: np.ndarray
    xi_gev: np.ndarray
    max_lambda: np.ndarray
    mean_lambda: np.ndarray
    mean_gev: np.ndarray
    var_gev2: np.ndarray

    def take(self, index: np.ndarray) -> HitSpectrum:
        return HitSpectrum(*(getattr(self, f.name)[index] for f in dataclasses.fields(self)))


@functools.lru_cache(maxsize=64)
def _solve_max_lambda(mpv_mev: float, xi_mev: float, target_mev: float) -> float:
    """λ_max at which a Landau hit's ⟨X²⟩/⟨X⟩ equals ``target_mev``, or NaN if none does.

    ⟨X²⟩/⟨X⟩ grows monotonically with λ_max (≈ (2/π)ξ²λ_max/⟨X⟩ once the tail dominates):
    bisection in ln λ_max.
    """

    def excess(log_max):
        mean_l, var_l = truncated_landau_moments(math.exp(log_max))
        mean = mpv_mev + xi_mev * (mean_l - landau.MODE)
        return (xi_mev**2 * var_l + mean**2) / mean - target_mev

    low, high = math.log(MIN_MAX_LAMBDA), math.log(1e8)
    if excess(low) > 0 or excess(high) < 0:
        return math.nan
    for _ in range(60):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if excess(middle) < 0 else (low, middle)
    return math.exp(0.5 * (low + high))


# The truncation keeps at least this much of the Landau tail (ten times the width above the peak).
MIN_MAX_LAMBDA = 10.0


@dataclasses.dataclass(frozen=True)
class Section:
    """Layers of one kind: absorber + active plate, their depth and their readout.

    Attributes:
        name: human-readable name.
        num_layers: number of layers.
        absorber_mm, active_mm: absorber and active plate thicknesses.
        pitch_mm: the whole layer (with passive material and gaps) along the depth.
        active_offset_mm: depth of the active plate's middle behind the layer's front.
        x0_per_layer, lambda_per_layer: one layer's depth in X0 and nuclear interaction lengths.
        plate_x0_fraction, plate_lambda_fraction: share of the layer's X0 and λ_I in front of
            the active plate's middle (the absorber is in front: ≈ 0.95 and 0.9).
        mip_mev: mean energy a MIP loses crossing one layer at normal incidence.
        e_over_mip: ê, the electron-to-MIP response ratio, 1/(1 + 0.007 (Z_abs − Z_act)).
        stochastic_term: a of σ/E = a/√E for electromagnetic showers in this section.
        moliere_radius_mm: Molière radius of the layer's effective medium.
        active: material of the active plate.
    """

    name: str
    num_layers: int
    absorber_mm: float
    active_mm: float
    pitch_mm: float
    active_offset_mm: float
    x0_per_layer: float
    lambda_per_layer: float
    plate_x0_fraction: float
    plate_lambda_fraction: float
    mip_mev: float
    e_over_mip: float
    stochastic_term: float
    moliere_radius_mm: float
    active: ActiveMedium

    def __post_init__(self):
        if not 0 < self.active_offset_mm < self.pitch_mm or not (
                0 < self.plate_x0_fraction < 1 and 0 < self.plate_lambda_fraction < 1):
            raise InputError(f"{self.name}: the active plate must lie inside the layer")

    @property
    def mm_per_lambda(self) -> float:
        """λ_I of the section's effective medium, mm."""
        return self.pitch_mm / self.lambda_per_layer

    @property
    def active_mip_mev(self) -> float:
        """Mean loss of a MIP in the active plate."""
        return self.active.mean_mip_loss_mev(self.active_mm)

    @property
    def em_fraction(self) -> float:
        """ê·f_mip: active energy per unit of electromagnetic energy deposited in the layer."""
        return self.e_over_mip * self.active_mip_mev / self.mip_mev

    @property
    def hit_landau_mev(self) -> tuple[float, float]:
        """(Δ_p, ξ) of a shower particle (βγ = :data:`SHOWER_BETA_GAMMA`) crossing the plate."""
        mpv, xi = self.active.landau(self.active_mm, SHOWER_BETA_GAMMA)
        return float(mpv), float(xi)

    @property
    def hit_max_lambda(self) -> float:
        """Truncation of the hits' Landau λ that makes the section's stochastic term.

        A cell of expected active energy μ holds Poisson(μ/⟨X⟩) hits: Var = ⟨X²⟩/⟨X⟩·μ, which
        must be ê·f_mip·a²·μ (a²·μ at the electromagnetic scale).
        """
        target_mev = 1e3 * self.em_fraction * self.stochastic_term**2
        max_lambda = _solve_max_lambda(*self.hit_landau_mev, target_mev)
        if math.isnan(max_lambda):
            raise InputError(
                f"{self.name}: no Landau truncation gives the stochastic term "
                f"{self.stochastic_term} (hits of {self.hit_landau_mev[0]:.3g} MeV most probable "
                f"loss need a ≈ {math.sqrt(self.hit_landau_mev[0] / self.em_fraction / 1e3):.3g} "
                f"or more)"
            )
        return max_lambda

    @property
    def hit_moments_mev(self) -> tuple[float, float]:
        """Mean and variance of one hit's energy (MeV)."""
        mpv, xi = self.hit_landau_mev
        mean_l, var_l = truncated_landau_moments(self.hit_max_lambda)
        return mpv + xi * (mean_l - landau.MODE), xi**2 * var_l


# lcgeo CLIC_o2_v04 layers (module docstring). Per-layer X0, λ_I, MIP loss and R_M from the
# mass-weighted PDG values (X0 / λ_I g/cm², min dE/dx MeV cm²/g: W 6.76/191.9/1.145, Ni
# 12.68/134.6/1.468, Fe 13.84/132.1/1.451, Cu 12.86/137.3/1.403, Si 21.82/108.4/1.664;
# polystyrene 43.8/81.7/1.936; R_M = 21.2 MeV / Σ w E_c/X0). The air gaps add only volume, which
# lowers the density and so widens R_M (15.3 mm in a thin ECAL layer against 9.3 mm in pure W).
ECAL_THIN = Section("ECAL 2.4 mm W + 0.5 mm Si", 17, 2.4, 0.5, 4.4, 3.0, 0.6484, 0.02759,
                    0.952, 0.865, 5.852, 0.704, 0.153, 15.3, SILICON)
ECAL_THICK = Section("ECAL 4.8 mm W + 0.5 mm Si", 8, 4.8, 0.5, 6.8, 5.4, 1.2595, 0.05052,
                     0.975, 0.927, 10.839, 0.704, 0.216, 12.9, SILICON)
HCAL_STEEL = Section("HCAL 20 mm steel + 3 mm polystyrene", 60, 20.0, 3.0, 26.5, 21.0, 1.1509,
                     0.12477, 0.963, 0.945, 23.74, 0.876, 0.22, 21.9, POLYSTYRENE)


@dataclasses.dataclass(frozen=True)
class ClicGeometry:
    """Geometry, beam, readout and sample selection of the CLIC samples (defaults: paper 003 §2).

    Attributes:
        ecal: ECAL sections, front to back.
        hcal: the HCAL section.
        ecal_front_mm, hcal_front_mm: distances of the two faces from the beam axis.
        ecal_cell_mm, hcal_cell_mm: square cell sizes.
        ecal_window, hcal_window: cells of the stored windows (x, y).
        em_material: effective medium of the electromagnetic GFlash parameters.
        theta_rad: polar angle range (low, high) drawn uniformly, or (θ,) for a fixed angle.
        magnetic_field_t: solenoid field bending charged particles before the ECAL (CLIC: 4 T).
        tracker_x0: material in front of the ECAL at θ = 90° in X0 (×1/sin θ along the path);
            photons convert in it. 0 disables it.
        readout: ``"files"``: raw active energy × :data:`FILE_SCALE` in every layer, as the
            Triforce files; ``"em_scale"``: every layer calibrated to the electromagnetic scale.
        hadronic_stochastic_term: a of the hadronic (non-EM) part of pion showers.
        select_hcal_ecal_ratio: keep only events with HCAL/ECAL below this (the paper's π±
            selection: 0.1); None keeps all.
        select_opening_angle_rad: keep only π⁰ with a γγ opening angle below this (the paper:
            0.01 rad); None keeps all.
    """

    ecal: tuple[Section, ...] = (ECAL_THIN, ECAL_THICK)
    hcal: Section = HCAL_STEEL
    ecal_front_mm: float = 1500.0
    hcal_front_mm: float = 1697.0
    ecal_cell_mm: float = 5.1
    hcal_cell_mm: float = 30.0
    ecal_window: tuple[int, int] = (51, 51)
    hcal_window: tuple[int, int] = (11, 11)
    em_material: Material = W_SI_CLIC
    theta_rad: tuple[float, ...] = THETA_RANGE_RAD
    magnetic_field_t: float = 4.0
    tracker_x0: float = TRACKER_X0
    readout: str = "files"
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
        if not 0 <= self.tracker_x0 < 10:
            raise InputError(
                f"tracker_x0 must be in [0, 10) radiation lengths (0: no tracker material), got "
                f"{self.tracker_x0}"
            )
        if self.readout not in READOUTS:
            raise InputError(f"readout must be one of {list(READOUTS)}, got {self.readout!r}")
        for name in ("select_hcal_ecal_ratio", "select_opening_angle_rad"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise InputError(f"{name} must be positive or None, got {value}")
        # Solves the sections' hit spectra now (raising for an impossible stochastic term), so
        # that worker processes forked later inherit them.
        _ = self.hit_spectrum

    @property
    def num_ecal_layers(self) -> int:
        return sum(s.num_layers for s in self.ecal)

    @property
    def sections(self) -> tuple[Section, ...]:
        return (*self.ecal, self.hcal)

    @functools.cached_property
    def layers(self) -> dict[str, np.ndarray]:
        """Per-layer tables of the 25 + 60 layers (normal incidence).

        Each active plate samples the shower where it sits, at the back of its layer: the
        expected energy of plate l is ê·f of the electromagnetic energy deposited in its
        *sampling cell*, which reaches from the middle between the previous plate and it to the
        middle between it and the next (in X0; the first cell starts at the ECAL face, the last
        ends at the back). Cells tile the calorimeters like layers, half a layer deeper.

        Keys: ``edges_x0``/``edges_lambda`` [L + 1] cell boundaries (the gap between ECAL and
        HCAL adds nothing); ``layer_edges_x0``/``layer_edges_lambda`` [L + 1] layer boundaries;
        ``plate_lambda`` [L] depth of each plate in λ_I; ``depth_mm`` [L] depth of each active
        plate's middle from the ECAL face; ``front_mm`` [L] depth of each layer's front; per
        cell [L]: ``mip_gev`` (mean MIP loss in the cell), ``em_fraction`` (ê·f: active energy
        per GeV of electromagnetic deposit in the cell, ``ê·(MIP loss in the plate)/(MIP loss in
        the cell)``), ``readout`` (stored GeV per GeV of active energy); per layer [L]:
        ``active_mm``, ``pitch_mm``, ``stochastic_term``, ``moliere_mm``, ``mm_per_lambda``,
        ``section`` (index into :attr:`sections`).
        """
        rows = []
        front = 0.0
        for index, section in enumerate(self.sections):
            if section is self.hcal:
                front = self.hcal_front_mm - self.ecal_front_mm
            for _ in range(section.num_layers):
                rows.append((index, section, front))
                front += section.pitch_mm
        sections = [s for _, s, _ in rows]
        table = {"front_mm": np.array([f for _, _, f in rows]),
                 "depth_mm": np.array([f + s.active_offset_mm for _, s, f in rows]),
                 "section": np.array([i for i, _, _ in rows])}
        for unit, fraction in (("x0", "plate_x0_fraction"), ("lambda", "plate_lambda_fraction")):
            thickness = np.array([getattr(s, f"{unit}_per_layer") for s in sections])
            edges = np.concatenate([[0.0], np.cumsum(thickness)])
            plate = edges[:-1] + thickness * np.array([getattr(s, fraction) for s in sections])
            table[f"layer_edges_{unit}"] = edges
            table[f"plate_{unit}"] = plate
            table[f"edges_{unit}"] = np.concatenate([[0.0], 0.5 * (plate[1:] + plate[:-1]),
                                                     edges[-1:]])
        # MIP loss spread evenly over each layer's X0: the cells' share of it.
        cumulative_mip = np.concatenate([[0.0], np.cumsum([1e-3 * s.mip_mev for s in sections])])
        table["mip_gev"] = np.diff(np.interp(table["edges_x0"], table["layer_edges_x0"],
                                             cumulative_mip))
        table["em_fraction"] = np.array(
            [s.e_over_mip * 1e-3 * s.active_mip_mev for s in sections]) / table["mip_gev"]
        table["readout"] = (np.full(len(rows), FILE_SCALE) if self.readout == "files"
                            else 1.0 / table["em_fraction"])
        for key, value in (("active_mm", lambda s: s.active_mm),
                           ("pitch_mm", lambda s: s.pitch_mm),
                           ("stochastic_term", lambda s: s.stochastic_term),
                           ("moliere_mm", lambda s: s.moliere_radius_mm),
                           ("mm_per_lambda", lambda s: s.mm_per_lambda)):
            table[key] = np.array([value(s) for s in sections])
        return table

    @functools.cached_property
    def hit_spectrum(self) -> HitSpectrum:
        """[L] energy of one hit of the shower particles in each layer's active plate."""
        values = []
        for section in self.sections:
            mpv, xi = section.hit_landau_mev
            mean, var = section.hit_moments_mev
            values.append((1e-3 * mpv, 1e-3 * xi, section.hit_max_lambda,
                           truncated_landau_moments(section.hit_max_lambda)[0], 1e-3 * mean,
                           1e-6 * var))
        per_layer = np.array(values)[self.layers["section"]]
        return HitSpectrum(*per_layer.T)

    def stored_per_deposit(self) -> np.ndarray:
        """[L] stored GeV per GeV of electromagnetic energy deposited in each layer."""
        return self.layers["em_fraction"] * self.layers["readout"]


def make_geometry(
    theta_rad: float | tuple[float, float] | None = None,
    fixed_angle: bool = False,
    magnetic_field_t: float | None = None,
    select_hcal_ecal_ratio: float | None = None,
    select_opening_angle_rad: float | None = None,
    readout: str | None = None,
    tracker_x0: float | None = None,
) -> ClicGeometry:
    """The geometry from the simulator's options (``fixed_angle``: θ = 90°, the 3DGAN's
    fixed-angle samples; ``readout``: ``"files"`` or ``"em_scale"``; ``tracker_x0``: material in
    front of the ECAL, 0 for none)."""
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
        readout=base.readout if readout is None else readout,
        tracker_x0=base.tracker_x0 if tracker_x0 is None else float(tracker_x0),
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


def helix_to_face(start_radius_mm, transverse_momentum_gev, field_t: float,
                  face_radius_mm: float) -> tuple[np.ndarray, ...]:
    """Where a particle of charge ±1 leaving radius r0 radially outwards crosses the radius R.

    In the solenoid it moves on a circle of radius ``ρ = p_T/(0.3 B)`` tangent to the radial
    direction at r0. Turned by α, it is at ``(r0 + ρ sin α, ρ(1 − cos α))``; the first α at which
    that point lies at R solves ``4ρ²s² + 4r0ρ·s·c = R² − r0²`` (s, c = sin, cos of α/2), a
    quadratic in t = tan(α/2) whose cancellation-free root is ``2Δ/(B + √(B² + 4AΔ))`` with
    Δ = R² − r0², A = 4ρ² − Δ, B = 4r0ρ. For r0 = 0 it is ``sin(α/2) = R/2ρ``.

    Args:
        start_radius_mm: [M] r0.
        transverse_momentum_gev: [M] p_T.
        field_t: B (0: straight lines).
        face_radius_mm: R.

    Returns:
        ``reaches`` [M] bool (a track curling up inside R never does; its values are then those
        of α = π), and, unsigned (a charge q bends by −q times them): ``turn_rad`` α, the turn of
        the direction; ``azimuth_rad``, the impact's azimuth seen from the beam axis; and
        ``path_mm``, the transverse path length ρα.
    """
    r0 = np.asarray(start_radius_mm, np.float64)
    p_t = np.asarray(transverse_momentum_gev, np.float64)
    if field_t <= 0:
        zeros = np.zeros(np.broadcast_shapes(r0.shape, p_t.shape))
        return zeros == 0, zeros, zeros, face_radius_mm - r0 + zeros
    rho = 1e3 * p_t / (_GEV_PER_TESLA_METRE * field_t)
    delta = face_radius_mm**2 - r0**2
    a = 4.0 * rho**2 - delta
    b = 4.0 * r0 * rho
    disc = b**2 + 4.0 * a * delta
    reaches = disc >= 0
    with np.errstate(divide="ignore"):
        half = np.arctan(2.0 * delta / (b + np.sqrt(np.maximum(disc, 0.0))))
    turn = np.where(reaches, 2.0 * half, np.pi)
    azimuth = np.arctan2(2.0 * rho * np.sin(0.5 * turn) ** 2, r0 + rho * np.sin(turn))
    return reaches, turn, azimuth, rho * turn


def draw_tracks(particle: str, energy_gev: np.ndarray, rng: np.random.Generator,
                geometry: ClicGeometry) -> Tracks:
    """Draws directions and propagates the particles to the ECAL face.

    A particle of charge q and transverse momentum p_T moves on a circle of radius
    ``r_c = p_T/(0.3 B)`` (:func:`helix_to_face`); it reaches the face (radius R) at azimuth
    ``φ − q·asin(R/2r_c)``, its direction turned by twice that, i.e. inclined by
    ``−q·asin(R/2r_c)`` along r·φ (v, the stored x); its path to the face, ``2 r_c asin(R/2r_c)``
    in the transverse plane, sets the impact's z.
    """
    num = len(energy_gev)
    theta_range = geometry.theta_rad
    theta = (np.full(num, theta_range[0]) if len(theta_range) == 1
             else rng.uniform(theta_range[0], theta_range[1], num))
    phi = rng.uniform(-math.pi, math.pi, num)
    charge = CHARGE[particle]
    momentum = np.sqrt(np.maximum(energy_gev**2 - MASS_GEV[particle] ** 2, 1e-12))
    field = geometry.magnetic_field_t if charge else 0.0
    _, turn, azimuth, path_mm = helix_to_face(np.zeros(num), momentum * np.sin(theta), field,
                                              geometry.ecal_front_mm)
    bend = charge * azimuth
    impact_phi = phi - bend
    incline = charge * (turn - azimuth)
    cot = 1.0 / np.tan(theta)
    return Tracks(
        theta=theta,
        phi=phi,
        impact_u_mm=path_mm * cot,
        impact_v_mm=geometry.ecal_front_mm * impact_phi,
        impact_phi=impact_phi,
        slope_u=cot / np.cos(incline),
        slope_v=np.tan(-incline),
    )


@dataclasses.dataclass
class _Deposits:
    """Expected (noise-free) deposits of N events, M = N·per_event sub-showers, per layer (GeV).

    Shower energies are electromagnetic-scale deposits in the whole layer (the hadronic part
    already reduced by e/h). A π±'s MIP track is kept apart: its mean loss in each layer (for
    the bookkeeping) and the Landau parameters of its loss in each active plate it reaches.
    """

    core: np.ndarray  # [M, L] GeV in the core component
    tail: np.ndarray  # [M, L] GeV in the tail component
    core_radius_mm: np.ndarray  # [M, L]
    tail_radius_mm: np.ndarray  # [M, L]
    u_mm: np.ndarray  # [M, L] axis position at each layer's active plate
    v_mm: np.ndarray
    per_event: int
    hadronic_gev: np.ndarray  # [N, L] hadronic (non-EM) share of the shower deposits
    track_gev: np.ndarray  # [N, L] mean MIP loss of the track in the whole layer
    track_mpv_gev: np.ndarray  # [N, L] Landau Δ_p of its loss in the active plate (0: none)
    track_xi_gev: np.ndarray  # [N, L] Landau ξ of that loss
    track_u_mm: np.ndarray  # [N, L] track position at each layer
    track_v_mm: np.ndarray
    leakage_gev: np.ndarray  # [N] energy deposited nowhere in the calorimeters
    opening_angle: np.ndarray  # [N] π⁰ → γγ opening angle, −1 for other particles
    conversion: np.ndarray  # [N] photon conversions (pairs above CONVERSION_MIN_GEV)

    @property
    def shower_gev(self) -> np.ndarray:
        """[N, L] expected shower (non-MIP) deposit per layer."""
        total = self.core + self.tail
        return total.reshape(-1, self.per_event, total.shape[1]).sum(axis=1)

    def track_active_gev(self, spectrum: HitSpectrum) -> np.ndarray:
        """[N, L] expected (truncated-Landau mean) active energy of the track."""
        mean = self.track_mpv_gev + self.track_xi_gev * (spectrum.mean_lambda - landau.MODE)
        return np.where(self.track_mpv_gev > 0, mean, 0.0)


def _no_track(num: int, num_layers: int) -> dict[str, np.ndarray]:
    zeros = np.zeros((num, num_layers))
    return dict(track_gev=zeros, track_mpv_gev=zeros, track_xi_gev=zeros, track_u_mm=zeros,
                track_v_mm=zeros)


def _axis(u0, v0, slope_u, slope_v, depth_mm):
    return (u0[:, None] + slope_u[:, None] * depth_mm[None, :],
            v0[:, None] + slope_v[:, None] * depth_mm[None, :])


# GFlash's tail radius grows as exp(0.36 τ): for a soft shower (a conversion leg, a soft π⁰
# photon) the HCAL lies at τ ~ 100 and R_T overflows; the energy there is nil, so capping R at
# 10 m changes nothing but keeps the lateral tables finite.
_MAX_RADIUS_MM = 1e4


def _scale_radii(core_radius_mm, tail_radius_mm, geometry: ClicGeometry):
    """GFlash radii (in R_M of the ECAL medium) rescaled to each layer's Molière radius."""
    scale = geometry.layers["moliere_mm"] / geometry.em_material.moliere_radius_mm
    return (np.minimum(core_radius_mm * scale, _MAX_RADIUS_MM),
            np.minimum(tail_radius_mm * scale, _MAX_RADIUS_MM))


def bethe_heitler_fraction(num: int, rng: np.random.Generator) -> np.ndarray:
    """[num] energy fraction x of the e⁺ of a γ → e⁺e⁻ conversion.

    The complete-screening Bethe–Heitler spectrum (PDG "Passage of particles through matter",
    Eq. 34.31), ``dσ/dx ∝ 1 − (4/3)x(1 − x)`` on [0, 1], exact for photons far above 1 GeV and
    good to a few per cent of the cross section at a few GeV; drawn by rejection from a uniform
    x (acceptance ≥ 2/3).
    """
    out = np.empty(num)
    todo = np.arange(num)
    while todo.size:
        x = rng.random(todo.size)
        keep = rng.random(todo.size) <= 1.0 - (4.0 / 3.0) * x * (1.0 - x)
        out[todo[keep]] = x[keep]
        todo = todo[~keep]
    return out


def conversion_probability(tracker_x0: float, theta_rad: np.ndarray) -> np.ndarray:
    """Probability that a photon at polar angle θ converts in the tracker: 1 − exp(−7/9·t/sin θ).

    The pair-production mean free path of high-energy photons is 9/7 X0 (PDG §34.4.2).
    """
    return -np.expm1(-7.0 / 9.0 * tracker_x0 / np.sin(theta_rad))


def _convert_photons(photon_gev, start_x0, u0, v0, tracks: Tracks, rng, geometry):
    """Photons [N, P] converting in the tracker become e⁺e⁻ pairs: legs [N, 2P].

    A converted photon's legs share its energy by :func:`bethe_heitler_fraction`, start at a
    radius uniform in :data:`CONVERSION_RADII_MM`, follow :func:`helix_to_face` to the ECAL and
    shower as electrons from the face; a leg curling up before the ECAL deposits nothing there.
    An unconverted photon is leg 2p (its own start depth), leg 2p + 1 is empty.

    Returns:
        energy, start, u, v, slope_u, slope_v (all [N, 2P]), the conversions counted as in the
        files [N] and the energy of legs that never reach the ECAL [N].
    """
    shape = photon_gev.shape
    theta = np.broadcast_to(tracks.theta[:, None], shape)
    converts = rng.random(shape) < conversion_probability(geometry.tracker_x0, theta)
    count = int(converts.sum())
    fraction = bethe_heitler_fraction(count, rng)
    radius = rng.uniform(*CONVERSION_RADII_MM, count)
    cot = 1.0 / np.tan(theta[converts])
    legs = []
    lost = np.zeros(shape)
    for charge, share in ((1, fraction), (-1, 1.0 - fraction)):
        energy = np.where(converts, 0.0, photon_gev if charge == 1 else 0.0)
        start = np.where(converts, 0.0, start_x0)
        u, v = u0.copy(), v0.copy()
        slope_u = np.broadcast_to(tracks.slope_u[:, None], shape).copy()
        slope_v = np.broadcast_to(tracks.slope_v[:, None], shape).copy()
        leg_gev = photon_gev[converts] * share
        reaches, turn, azimuth, path_mm = helix_to_face(
            radius, leg_gev * np.sin(theta[converts]), geometry.magnetic_field_t,
            geometry.ecal_front_mm)
        energy[converts] = np.where(reaches, leg_gev, 0.0)
        lost[converts] += np.where(reaches, 0.0, leg_gev)
        u[converts] += (radius + path_mm - geometry.ecal_front_mm) * cot
        v[converts] -= charge * azimuth * geometry.ecal_front_mm
        incline = charge * (turn - azimuth)
        slope_u[converts] = cot / np.cos(incline)
        slope_v[converts] = np.tan(-incline)
        legs.append((energy, start, u, v, slope_u, slope_v))
    stacked = [np.stack([a, b], axis=2).reshape(shape[0], -1) for a, b in zip(*legs, strict=True)]
    recorded = (converts & (photon_gev > CONVERSION_MIN_GEV)).sum(axis=1)
    return (*stacked, recorded, lost.sum(axis=1))


def electromagnetic_deposits(particle, energy, tracks, rng, geometry,
                             fluctuate: bool = True) -> _Deposits:
    """e±, γ or π⁰ (two photons) showers along the particle's inclined path.

    Photons may convert in the tracker first (:func:`_convert_photons`).
    """
    num = len(energy)
    layers = geometry.layers
    u0, v0 = tracks.impact_u_mm[:, None], tracks.impact_v_mm[:, None]
    opening = np.full(num, -1.0)
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
        sub_energy = np.stack([decay.energy1_gev, decay.energy2_gev], axis=1)
        u0 = np.stack([u0[:, 0] + offsets[0][0], u0[:, 0] + offsets[1][0]], axis=1)
        v0 = np.stack([v0[:, 0] + offsets[0][1], v0[:, 0] + offsets[1][1]], axis=1)
    else:
        sub_energy = energy[:, None]
    slope_u = np.broadcast_to(tracks.slope_u[:, None], sub_energy.shape)
    slope_v = np.broadcast_to(tracks.slope_v[:, None], sub_energy.shape)
    conversion = np.zeros(num, np.int64)
    lost = np.zeros(num)
    if particle in ("photon", "pi0"):
        start = rng.exponential(gflash.PHOTON_CONVERSION_X0, size=sub_energy.shape)
        if geometry.tracker_x0 > 0:
            (sub_energy, start, u0, v0, slope_u, slope_v, conversion,
             lost) = _convert_photons(sub_energy, start, u0, v0, tracks, rng, geometry)
    else:
        start = np.zeros(sub_energy.shape)
    per_event = sub_energy.shape[1]
    sub_energy, start, u0, v0, slope_u, slope_v = (
        np.ravel(a) for a in (sub_energy, start, u0, v0, slope_u, slope_v))
    path = np.sqrt(1.0 + slope_u**2 + slope_v**2)
    edges = layers["edges_x0"][None, :] * path[:, None]
    shape = (len(sub_energy), len(layers["depth_mm"]))
    on = sub_energy > 0
    # Empty legs (photons that did not convert) cost nothing.
    showers = gflash.simulate_longitudinal(
        sub_energy[on], start[on], edges[on], geometry.em_material, rng,
        start_particles=2 if particle in ("photon", "pi0") else 1)
    slices, leakage = np.zeros(shape), np.zeros(shape[0])
    core_radius, tail_radius, p = np.ones(shape), np.ones(shape), np.ones(shape)
    slices[on], leakage[on] = showers.slice_energy_gev, showers.leakage_gev
    core_radius[on], tail_radius[on] = showers.core_radius_mm, showers.tail_radius_mm
    p[on] = showers.core_fraction
    core_radius, tail_radius = _scale_radii(core_radius, tail_radius, geometry)
    u, v = _axis(u0, v0, slope_u, slope_v, layers["depth_mm"])
    if fluctuate:
        # The shower core wanders layer by layer (caloml.sim.cells, model item 1); every layer
        # is one depth slice here, and the offset moves the layer's whole deposit.
        offsets = cells.core_offsets(showers, np.arange(shape[1]), shape[1], rng)
        u[on] += offsets[..., 0]
        v[on] += offsets[..., 1]
    return _Deposits(
        core=slices * p, tail=slices * (1 - p),
        core_radius_mm=core_radius, tail_radius_mm=tail_radius, u_mm=u, v_mm=v,
        per_event=per_event, hadronic_gev=np.zeros((num, shape[1])),
        **_no_track(num, shape[1]),
        leakage_gev=leakage.reshape(num, per_event).sum(axis=1) + lost,
        opening_angle=opening, conversion=conversion,
    )


def _pion_track(energy: np.ndarray, tracks: Tracks, pions: hadron.PionShowers,
                geometry: ClicGeometry) -> dict[str, np.ndarray]:
    """The MIP track of π± before their first interaction: loss per layer and in its plate.

    A layer's active plate is crossed when the pion gets to it before interacting. Its loss
    there is Landau
    (:meth:`ActiveMedium.landau`) for the pion's βγ = p/m — on the relativistic rise towards the
    Fermi plateau, 5% above the shower particles' Δ_p at 10 GeV — and its path through the plate.
    """
    layers = geometry.layers
    path = tracks.path_factor[:, None]
    crossed = pions.t_int_lambda[:, None] >= layers["plate_lambda"][None, :] * path
    momentum = np.sqrt(np.maximum(energy**2 - MASS_GEV["piplus"] ** 2, 1e-12))
    beta_gamma = (momentum / MASS_GEV["piplus"])[:, None]
    mpv = np.zeros(crossed.shape)
    xi = np.zeros(crossed.shape)
    for index, section in enumerate(geometry.sections):
        cols = layers["section"] == index
        mpv_mev, xi_mev = section.active.landau(section.active_mm * path, beta_gamma)
        mpv[:, cols], xi[:, cols] = 1e-3 * mpv_mev, 1e-3 * xi_mev
    return dict(track_gev=pions.mip_slice_gev, track_mpv_gev=np.where(crossed, mpv, 0.0),
                track_xi_gev=xi)


def pion_deposits(particle, energy, tracks, rng, geometry, fluctuate: bool = True) -> _Deposits:
    """π± (:mod:`caloml.sim.hadron`): MIP track, then an EM + hadronic shower."""
    del particle, fluctuate  # the hadronic shower's fluctuations are drawn by hadron
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
        **_pion_track(energy, tracks, pions, geometry), track_u_mm=u, track_v_mm=v,
        leakage_gev=np.maximum(energy - visible, 0.0), opening_angle=np.full(num, -1.0),
        conversion=np.zeros(num, np.int64),
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


def _landau_losses(mpv_gev, xi_gev, max_lambda, rng: np.random.Generator) -> np.ndarray:
    """Landau losses ``Δ_p + ξ(λ + 0.22278)``, λ truncated at each draw's ``max_lambda``."""
    out = np.empty(len(mpv_gev))
    for value in np.unique(max_lambda):
        sel = np.flatnonzero(max_lambda == value)
        lam = landau.standard(sel.size, rng, float(value))
        out[sel] = mpv_gev[sel] + xi_gev[sel] * (lam - landau.MODE)
    return np.maximum(out, 0.0)


def _add_track(images, dep: _Deposits, layer_index, low_u, low_v, cell_mm,
               spectrum: HitSpectrum, rng):
    """Adds the π± MIP track: a Landau loss in each active plate it reaches, in its axis cell.

    Args:
        images: [N, L', nx, ny] active-energy images (GeV) of the layers ``layer_index``,
            modified in place.
        spectrum: the hit spectrum of those layers (the Landau truncation of each section).

    Returns:
        [N] mean track loss (whole layers) inside the window, and [N, L'] the expected active
        energy of the track inside the window.
    """
    num = len(images)
    active_in = np.zeros((num, len(layer_index)))
    deposit_gev = dep.track_gev[:, layer_index]
    event, i = np.nonzero(deposit_gev > 0)
    if not event.size:
        return np.zeros(num), active_in
    layer = layer_index[i]
    cu = np.floor((dep.track_u_mm[event, layer] - low_u[event]) / cell_mm).astype(np.int64)
    cv = np.floor((dep.track_v_mm[event, layer] - low_v[event]) / cell_mm).astype(np.int64)
    inside = (cu >= 0) & (cu < images.shape[2]) & (cv >= 0) & (cv < images.shape[3])
    deposit_in = np.bincount(event[inside], weights=deposit_gev[event, i][inside],
                             minlength=num)
    mpv, xi = dep.track_mpv_gev[event, layer], dep.track_xi_gev[event, layer]
    hits = np.flatnonzero(inside & (mpv > 0))
    energy = _landau_losses(mpv[hits], xi[hits], spectrum.max_lambda[i[hits]], rng)
    np.add.at(images, (event[hits], i[hits], cu[hits], cv[hits]), energy)
    active_in[event[hits], i[hits]] = (
        mpv[hits] + xi[hits] * (spectrum.mean_lambda[i[hits]] - landau.MODE))
    return deposit_in, active_in


# Events per block of the sampling noise: bounds the float64 temporaries (≈ 60 MB per block).
_NOISE_BLOCK = 32


def sampling_noise(images: np.ndarray, hit_scale: np.ndarray, spectrum: HitSpectrum,
                   rng: np.random.Generator) -> np.ndarray:
    """Sampling fluctuations of expected active-energy images, in place and returned.

    A cell of layer l with expected active energy μ holds n ~ Poisson(μ/(s⟨X⟩)) hits of
    energy s·X: X a charged particle's Landau loss in the plate (``spectrum``), s =
    ``hit_scale`` ≥ 1 (1 for shower particles, more for the heavily ionising hits of hadronic
    energy). The cell's mean is μ and its variance s⟨X²⟩/⟨X⟩·μ. Cells with n ≤
    :data:`EXACT_HITS` sum n Landau draws (a single hit sits at the most probable loss, with the
    Landau tail); busier cells draw a Gamma with the sum's exact mean n⟨X⟩ and variance
    n·Var X — a sum of more than six truncated Landau losses is already close to it in its
    bulk (the Gamma under-represents the rare far tail of the sum).

    Args:
        images: [N, L, nx, ny] float32 expected active energies (GeV).
        hit_scale: [N, L] s per event and layer.
        spectrum: the hit energy of the L layers.
    """
    num = images.shape[0]
    mean, var = spectrum.mean_gev, spectrum.var_gev2
    for start in range(0, num, _NOISE_BLOCK):
        block = images[start:start + _NOISE_BLOCK]
        scale = hit_scale[start:start + _NOISE_BLOCK]
        quantum = (scale * mean[None, :]).astype(np.float32)
        counts = noise.poisson_counts((block / quantum[:, :, None, None]).reshape(len(block), -1),
                                      rng).reshape(block.shape)
        hit = np.nonzero(counts)
        n = counts[hit].astype(np.int64)
        layer = hit[1]
        values = np.empty(n.size)
        exact = np.flatnonzero(n <= EXACT_HITS)
        owner = np.repeat(np.arange(exact.size), n[exact])
        drawn = layer[exact][owner]
        losses = _landau_losses(spectrum.mpv_gev[drawn], spectrum.xi_gev[drawn],
                                spectrum.max_lambda[drawn], rng)
        values[exact] = np.bincount(owner, weights=losses, minlength=exact.size)
        many = np.flatnonzero(n > EXACT_HITS)
        lm = layer[many]
        values[many] = rng.standard_gamma(n[many] * mean[lm] ** 2 / var[lm]) * (var[lm] / mean[lm])
        block[...] = 0.0
        block[hit] = values * scale[hit[0], hit[1]]
    return images


def _hit_scale(dep: _Deposits, layer_index: np.ndarray, geometry: ClicGeometry) -> np.ndarray:
    """[N, L'] hit energy scale s: 1 for shower particles, larger for hadronic energy.

    With h the hadronic share of a layer's deposit, the variance must be
    ``((1 − h)a² + h·a_had²)·μ`` at the electromagnetic scale, i.e. ``s = 1 + h(a_had²/a² − 1)``
    times that of shower-particle hits.
    """
    a_em2 = geometry.layers["stochastic_term"][layer_index] ** 2
    total = dep.shower_gev[:, layer_index]
    hadronic = np.divide(dep.hadronic_gev[:, layer_index], total,
                         out=np.zeros_like(total), where=total > 0)
    return 1.0 + hadronic * (geometry.hadronic_stochastic_term**2 / a_em2 - 1.0)


def _window_moments(image, low_u, low_v, cell_mm, depth_mm) -> np.ndarray:
    """[4, N] energy and its first moments along u, v and depth (cell centres) of a window."""
    along_u = image.sum(axis=3, dtype=np.float64)  # [N, L, nu]
    along_v = image.sum(axis=2, dtype=np.float64)  # [N, L, nv]
    per_layer = along_u.sum(axis=2)
    total = per_layer.sum(axis=1)
    centres_u = (np.arange(image.shape[2]) + 0.5) * cell_mm
    centres_v = (np.arange(image.shape[3]) + 0.5) * cell_mm
    return np.stack([total,
                     along_u.sum(axis=1) @ centres_u + total * low_u,
                     along_v.sum(axis=1) @ centres_v + total * low_v,
                     per_layer @ depth_mm])


def _reco_angles(u, v, w, tracks: Tracks, geometry: ClicGeometry):
    """recoTheta, recoEta, recoPhi of the barycentre (u, v, w) as Convert_to_h5.py computes them.

    The tangent-frame point is placed in global coordinates (z along the beam, the frame's
    normal at the impact azimuth); then ``getTheta``: θ = acos(z/√(x² + y² + z²)), ``getEta``:
    η = −ln tan(θ/2), ``getPhi``: φ = atan(y/x) — in (−π/2, π/2), φ ± π for |φ| > π/2.
    """
    radial = geometry.ecal_front_mm + w
    across = v - tracks.impact_v_mm
    cos0, sin0 = np.cos(tracks.impact_phi), np.sin(tracks.impact_phi)
    x = radial * cos0 - across * sin0
    y = radial * sin0 + across * cos0
    theta = np.arccos(u / np.sqrt(x**2 + y**2 + u**2))
    with np.errstate(divide="ignore"):
        phi = np.arctan(y / x)
    return theta, -np.log(np.tan(theta / 2)), phi


def simulate_chunk(
    particle: str,
    energy_gev: np.ndarray,
    rng: np.random.Generator,
    geometry: ClicGeometry | None = None,
    add_noise: bool = True,
) -> dict[str, np.ndarray]:
    """Simulates one chunk of N events in the CLIC ECAL + HCAL.

    Args:
        particle: one of :data:`PARTICLES`.
        energy_gev: [N] incident energies.
        rng: random generator of this chunk.
        geometry: detector, beam, readout and selections (the selections are applied by
            :func:`select`, not here); default :class:`ClicGeometry`.
        add_noise: add the sampling fluctuations; off gives expected images (with the MIP
            track's Landau losses).

    Returns:
        The arrays of the ``clic`` layout (``ECAL`` [N, 51, 51, 25], ``HCAL`` [N, 11, 11, 60]
        in the geometry's readout, ``energy``, ``pdgID``, ``theta``, ``eta``, ``phi``,
        ``recoTheta``, ``recoEta``, ``recoPhi``, ``openingAngle``, ``conversion``), the truth
        ``leakage_gev`` (energy deposited nowhere in the calorimeters: behind the HCAL, the
        invisible part of hadronic energy, conversion legs curling up in the tracker) and
        ``out_of_window_gev`` (expected energy deposited in the calorimeters outside both
        windows), in GeV of deposited energy, so that noise-free for e±/γ/π⁰ the windows
        divided by :meth:`ClicGeometry.stored_per_deposit` plus both add up to E, and the count
        ``num_drawn`` (= N).
    """
    if particle not in DEPOSITS:
        raise InputError(f"unknown particle {particle!r}; expected one of {list(PARTICLES)}")
    geometry = ClicGeometry() if geometry is None else geometry
    energy = np.asarray(energy_gev, np.float64)
    num = len(energy)
    tracks = draw_tracks(particle, energy, rng, geometry)
    dep = DEPOSITS[particle](particle, energy, tracks, rng, geometry, add_noise)
    layers = geometry.layers
    spectrum = geometry.hit_spectrum
    n_ecal = geometry.num_ecal_layers

    # Expected active energy per event and layer, and its axis: the windows are centred on the
    # barycentre of the raw energy projected on the face, as Convert_to_h5.py centres them.
    def per_event(values):
        return values.reshape(num, dep.per_event, -1).sum(axis=1)

    shower_active = (dep.core + dep.tail) * layers["em_fraction"]
    track_active = dep.track_active_gev(spectrum)
    active = per_event(shower_active) + track_active
    moment_u = per_event(shower_active * dep.u_mm) + track_active * dep.track_u_mm
    moment_v = per_event(shower_active * dep.v_mm) + track_active * dep.track_v_mm
    safe = np.maximum(active.sum(axis=1), 1e-30)
    centre_u, centre_v = moment_u.sum(axis=1) / safe, moment_v.sum(axis=1) / safe
    low = {
        "ecal": (_window_low(centre_u, geometry.ecal_cell_mm, geometry.ecal_window[0]),
                 _window_low(centre_v, geometry.ecal_cell_mm, geometry.ecal_window[1])),
        "hcal": (_window_low(centre_u, geometry.hcal_cell_mm, geometry.hcal_window[0]),
                 _window_low(centre_v, geometry.hcal_cell_mm, geometry.hcal_window[1])),
    }
    images = {}
    deposit_in_window = np.zeros(num)
    active_in_window = np.zeros(active.shape)
    moments = np.zeros((4, num))
    for name, index, cell, window in (
        ("ecal", np.arange(n_ecal), geometry.ecal_cell_mm, geometry.ecal_window),
        ("hcal", np.arange(n_ecal, len(layers["depth_mm"])), geometry.hcal_cell_mm,
         geometry.hcal_window),
    ):
        image = _images(dep, index, *low[name], cell, window)
        per_layer = image.sum(axis=(2, 3), dtype=np.float64)
        deposit_in_window += per_layer.sum(axis=1)
        image *= layers["em_fraction"][index].astype(np.float32)[None, :, None, None]
        active_in_window[:, index] = per_layer * layers["em_fraction"][index]
        if add_noise:
            sampling_noise(image, _hit_scale(dep, index, geometry), spectrum.take(index), rng)
        track_deposit, track_active_in = _add_track(image, dep, index, *low[name], cell,
                                                    spectrum.take(index), rng)
        deposit_in_window += track_deposit
        active_in_window[:, index] += track_active_in
        moments += _window_moments(image, *low[name], cell, layers["depth_mm"][index])
        image *= layers["readout"][index].astype(np.float32)[None, :, None, None]
        images[name] = image

    # Convert_to_h5.py's barycentre takes every hit cell, also outside the windows: add the
    # expected active energy outside them at each layer's axis.
    outside = np.maximum(active - active_in_window, 0.0)
    safe_layer = np.where(active > 0, active, 1.0)
    total = moments[0] + outside.sum(axis=1)
    empty = total <= 0
    safe_total = np.where(empty, 1.0, total)
    u = (moments[1] + np.sum(outside * moment_u / safe_layer, axis=1)) / safe_total
    v = (moments[2] + np.sum(outside * moment_v / safe_layer, axis=1)) / safe_total
    w = (moments[3] + outside @ layers["depth_mm"]) / safe_total
    reco_theta, reco_eta, reco_phi = _reco_angles(
        np.where(empty, centre_u, u), np.where(empty, centre_v, v), w, tracks, geometry)
    deposit_total = dep.shower_gev.sum(axis=1) + dep.track_gev.sum(axis=1)
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
        "conversion": dep.conversion.astype(np.int32),
        "leakage_gev": dep.leakage_gev.astype(np.float32),
        "out_of_window_gev": (deposit_total - deposit_in_window).astype(np.float32),
        "num_drawn": np.int64(num),
    }


def select(arrays: dict[str, np.ndarray], geometry: ClicGeometry) -> np.ndarray | None:
    """[N] events passing the geometry's sample selections (paper 003 §2), or None (no cut).

    ``select_hcal_ecal_ratio``: HCAL/ECAL window sums below it (the π± selection; an event
    with an empty ECAL window fails). ``select_opening_angle_rad``: π⁰ opening angle below it
    (other particles have −1 and pass).
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
