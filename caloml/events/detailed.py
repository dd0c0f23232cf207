"""The "detailed" rendering: every final-state particle showered in a CMS-like calorimeter.

CALPAGAN (paper 002, §2) learns to turn Delphes tower images of Pythia 8 events into the
images of the same events after Geant4/CMSSW simulation. caloml has no Geant4; this module is
its stand-in, built on caloml's parametrised shower simulator (:mod:`caloml.sim.gflash`,
:mod:`caloml.sim.hadron`) and vectorised over all particles of all events of a batch (no Python
loop over particles or events). Detector constants and their sources:
:mod:`caloml.events.geometry`; shower physics: ``shared/PHYSICS.md`` (PHYSICS below).

Per particle (``momentum_gev`` at the vertex; energies in GeV):

* **Path.** Neutrinos leave nothing. Charged particles bend in the 3.8 T field up to the ECAL
  face (:func:`caloml.events.towers.propagate`, the Delphes CMS card's propagator); loopers
  that never reach it, and particles outside |eta| < 4.191, are lost. Beyond the face each
  shower part sits on the straight continuation of the path, at its own depth and distance rho
  from the beam (:func:`caloml.events.geometry.shower_points`).
* **Energy available to the calorimeters** (Wigmans, *Calorimetry*, §2: baryons deposit their
  kinetic energy, antibaryons annihilate): E for mesons, leptons and photons, E − m_p for
  baryons, E + m_p for antibaryons (m_p = 0.938 GeV).
* **e± and photons**: GFlash showers in PbWO4 (PHYSICS §1: the individual-shower profile
  at its mean parameters, with the penetrating photon tail; photons convert after
  Exp(9/7 X0)), integrated over 8 depth slices of the 25.8 X0 crystals; the energy behind
  them deposits in the HCAL. The radial profile (PHYSICS §1.4) is a core and a tail of
  ``2rR²/(r²+R²)²`` kernels, each with the energy-weighted R² of its slices (this keeps the
  kernel's 1/r⁴ far tail, the part that spills into the next tower, exact). Resolution: the
  deposit is scaled by a Gamma factor of mean 1 and relative variance ``a²/E + c²``,
  a = 2.8 %·√GeV, c = 0.3 % (CMS test beam, PHYSICS §2), which already holds the containment
  fluctuations (so GFlash's per-shower (T, α) fluctuations are not drawn on top); the
  0.12 GeV noise term comes from the towers' noise.
* **Hadrons** (π±, K±, K0_L, p, n and antiparticles; all other visible particles): the toy of
  PHYSICS §4, :func:`caloml.sim.hadron.simulate_pions`, over one ECAL slice (1.13 λ_I) and 4
  HCAL slices (``min(5.82 cosh eta, 10)`` λ_I): a MIP track up to the first interaction at
  Exp(1.2 λ_I) (:data:`geometry.MIP_ECAL_GEV`, :data:`geometry.MIP_HCAL_GEV_PER_LAMBDA`;
  slow hadrons range out), then Bock's longitudinal profile, the EM fraction with its
  Beta/leading-π⁰/charge-exchange fluctuations, e/h = 1.47 (32 % of the non-EM energy is
  invisible nuclear binding), the neutron halo, and longitudinal leakage (punch-through) behind
  the HCAL. Laterally, every slice's deposits are ``2rR²/(r²+R²)²`` kernels: the cascade
  (EM part and ionisation) with the radius ``(0.371 − 0.0511 ln E)·d_λ·(1 + U)`` growing with
  the depth d_λ behind the first interaction (CMS HDShower, PHYSICS §4; at 50 GeV 4, 8, 11 and
  15 cm in the four HCAL slices, 7 cm energy-weighted), the π⁰ showers' own GFlash radii added
  in quadrature; the MIP track and the leading π⁰ (~1 mm and their GFlash radii); the neutron
  halo (median 1.26 x 0.4 λ_I). Per calorimeter the narrow parts and the halos are merged with
  their energy-weighted R² (exact in the 1/r⁴ tail); the cascade keeps one part per slice
  (merging its slices would move a quarter of the central tower's HCAL energy into the
  neighbours).
* **Muons**: MIP losses, 0.305 GeV in the ECAL and 0.255 GeV per λ_I of HCAL (1.49 GeV at
  eta = 0, growing with the path), at most their energy; the rest leaves.
* **Response and calibration.** ECAL towers are on the EM scale (deposit x resolution factor).
  The HCAL deposit is multiplied by :data:`HCAL_CALIBRATION` and by a Gamma sampling factor of
  relative variance ``a_h²/E_h`` (:data:`HCAL_HADRON_SAMPLING_SQRT_GEV` for hadron showers,
  :data:`HCAL_EM_SAMPLING_SQRT_GEV` for the leakage of EM showers and muons). The calibration
  makes the mean ECAL + HCAL signal of 50 GeV π± at eta = 0 equal to 50 GeV (as CMS
  calibrates towers and jets; without it the fast and detailed totals would differ by the e/h
  factor); softer hadrons keep the non-compensation non-linearity (response 0.87 at 2 GeV,
  0.95 at 10 GeV), harder ones a little more (1.01 at 100-300 GeV, where leakage grows).
* **Lateral spread over towers.** The 2D kernel integrates over a rectangle in closed form
  (PHYSICS §1.4, ``(1/2π)[a/A·atan(b/A) + b/B·atan(a/B)]``), in eta-phi with the scale R/rho;
  each part is integrated over the 5 x 5 (e±, γ) or 7 x 7 (hadrons, muons) towers around its
  centre and renormalised to that window (CMS HDShower truncates hadronic spots at 4 R, PHYSICS
  §4; the EM tail kernel, R_T ≈ 1-2 R_M, has 0.4-1.5 % beyond the 5 x 5 towers). Energy of
  windows reaching beyond |eta| = 4.191 is lost ("outside"). Parts with a signal below
  :data:`POINT_GEV` go whole into the tower of their centre.
* **Readout**: Gaussian noise per tower and channel, then the CaloTower thresholds (zero
  suppression): :func:`caloml.events.geometry.readout_rows`.

Bookkeeping (:class:`ParticleTruth`): per particle, ECAL deposit + HCAL deposit + invisible +
leakage + lost = available energy exactly; the noise-free images hold the ECAL and HCAL signals
of all particles less what fell outside the grid.

Deviations from CMS/Geant4, by design: no tracker material (no conversions or
bremsstrahlung in front of the ECAL), no preshower, no HO, no bending between the ECAL and
HCAL, no pile-up, one depth-integrated readout per tower and channel, tower-level (not crystal
level) noise and zero suppression, HF modelled as PbWO4 + brass at HF's distance, muon
losses at their mean.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from caloml.errors import InputError
from caloml.events import geometry, towers
from caloml.sim import gflash, hadron
from caloml.sim.materials import PBWO4

MODEL_NAME = "caloml.events.detailed (CMS-like PbWO4 + brass/scintillator showers)"
MODEL_VERSION = "1"

PROTON_MASS_GEV = 0.938272
MUON_MASS_GEV = 0.105658
_NEUTRINOS = (12, 14, 16)
_EM = (11, 22)
_MUON = 13

# Depth slices of the EM showers in the crystals (X0): finer around the maximum (T ≈ 4-9 X0).
EM_SLICE_EDGES_X0 = (0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 13.0, 17.0, geometry.ECAL_DEPTH_X0)
# Depth (X0 of brass) of the HCAL part of an EM shower's leakage behind the crystals.
EM_LEAKAGE_DEPTH_X0 = 5.0
# HCAL depth slices of the hadron showers.
HCAL_SLICES = 4
# CMS PbWO4 test beam (PHYSICS §2): 2.8 %/√E ⊕ 0.3 %.
ECAL_STOCHASTIC_SQRT_GEV = 0.028
ECAL_CONSTANT = 0.003
# Sampling fluctuations of the brass/scintillator HCAL, σ/E = a/√E of its signal. For the
# energy of EM showers (and muons) the PDG rule a ≈ 2.7 % √(d_active[mm] / f_mip) (PHYSICS §2)
# with HB's 3.7 mm scintillator behind 50 mm brass plates (f_mip = 0.74 / 60.7 MeV = 1.2 %,
# CMS HCAL TDR [mem]) gives 0.47. Hadron showers sample worse (fewer, slower charged
# particles): 0.8, which with the intrinsic fluctuations of the hadron toy gives σ/E = 14 % for
# 50 GeV π± at eta = 0 (CMS EB+HB test beam 2006: 85 %/√E ⊕ 7.4 % = 14 % [mem]; the Delphes CMS
# card's HCAL, 150 %/√E ⊕ 5 %, 22 %).
HCAL_EM_SAMPLING_SQRT_GEV = 0.47
HCAL_HADRON_SAMPLING_SQRT_GEV = 0.8
# HCAL signal per GeV deposited: makes the mean ECAL + HCAL signal of 50 GeV π± at eta = 0
# 50 GeV: (50 − <ECAL signal>) / <HCAL deposit> = (50 − 11.76) / 28.93 with 40000 pions
# (seed 0; statistical error 0.1 %; tests/events/test_detailed.py checks it). It puts the HCAL
# signal of a muon crossing HB at eta = 0 at 1.322 x 1.49 = 1.97 GeV.
HCAL_CALIBRATION = 1.322
# Lateral: half-sizes of the tower windows, the minimum kernel radius (a MIP track and its
# δ-rays) and the signal below which a part goes whole into one tower.
EM_HALF_WINDOW = 2
HADRON_HALF_WINDOW = 3
MIN_RADIUS_MM = 1.0
POINT_GEV = 0.25

_ECAL, _HCAL = 0, 1
_PARTS_PER_CHUNK = 8192
_NUM_TOWERS = towers.NUM_ETA * towers.NUM_PHI
_PHI_STEP = 2.0 * np.pi / towers.NUM_PHI


@dataclasses.dataclass(frozen=True)
class ParticleTruth:
    """Where each particle's energy went (all float64 ``[n]``, GeV).

    ``ecal_deposit_gev + hcal_deposit_gev + invisible_gev + leakage_gev + lost_gev ==
    available_gev``; ``ecal_gev`` and ``hcal_gev`` are the signals (after resolution, sampling
    and calibration) put into the noise-free images, of which ``outside_gev`` fell outside the
    grid.

    Attributes:
        available_gev: energy available to the calorimeters (module docstring).
        ecal_deposit_gev, hcal_deposit_gev: energy deposited in each calorimeter.
        invisible_gev: nuclear binding energy of hadron showers.
        leakage_gev: energy leaving the back (punch-through, muons) of reached calorimeters.
        lost_gev: energy of particles that never reach the calorimeters inside the grid
            (neutrinos, loopers, |eta| > 4.191).
        ecal_gev, hcal_gev: signals.
        outside_gev: part of the signals outside the 72 x 72 grid.
    """

    available_gev: np.ndarray
    ecal_deposit_gev: np.ndarray
    hcal_deposit_gev: np.ndarray
    invisible_gev: np.ndarray
    leakage_gev: np.ndarray
    lost_gev: np.ndarray
    ecal_gev: np.ndarray
    hcal_gev: np.ndarray
    outside_gev: np.ndarray


@dataclasses.dataclass(frozen=True)
class DetailedEvents:
    """Images of N events (float32 ``[N, 72, 72]``, GeV) and the particles' truth.

    Attributes:
        ecal_gev, hcal_gev: tower images after noise and thresholds (what :func:`render`
            returns).
        ecal_clean_gev, hcal_clean_gev: the same before noise and thresholds.
        particles: per-particle bookkeeping.
    """

    ecal_gev: np.ndarray
    hcal_gev: np.ndarray
    ecal_clean_gev: np.ndarray
    hcal_clean_gev: np.ndarray
    particles: ParticleTruth


# --------------------------------------------------------------------------------------------
# Inputs


def _check_inputs(event, pdg_id, charge, momentum_gev, num_events):
    event = np.asarray(event)
    pdg_id = np.asarray(pdg_id)
    charge = np.asarray(charge, np.float64)
    momentum = np.asarray(momentum_gev, np.float64)
    if event.ndim != 1:
        raise InputError(f"event must be a 1D array of event indices; got shape {event.shape}")
    n = len(event)
    if pdg_id.shape != (n,) or charge.shape != (n,):
        raise InputError(f"pdg_id and charge must have shape [{n}] like event; got "
                         f"{pdg_id.shape} and {charge.shape}")
    if momentum.shape != (n, 4):
        raise InputError(f"momentum_gev must have shape [{n}, 4] (px, py, pz, E); got "
                         f"{momentum.shape}")
    if isinstance(num_events, bool) or int(num_events) != num_events or num_events < 0:
        raise InputError(f"num_events must be a non-negative integer; got {num_events!r}")
    if n and (not np.issubdtype(event.dtype, np.integer) or event.min() < 0
              or event.max() >= num_events):
        raise InputError(f"event must hold integer indices in [0, {num_events}); got values in "
                         f"[{event.min()}, {event.max()}]")
    if not (np.all(np.isfinite(momentum)) and np.all(np.isfinite(charge))):
        raise InputError("momentum_gev and charge must be finite")
    return event.astype(np.int64), pdg_id.astype(np.int64), charge, momentum


def available_energy(pdg_id: np.ndarray, energy_gev: np.ndarray) -> np.ndarray:
    """Energy a particle can deposit ``[n]``: E − m_p for baryons, E + m_p for antibaryons.

    Args:
        pdg_id: PDG ids ``[n]``.
        energy_gev: total energies ``[n]``.
    """
    pdg = np.asarray(pdg_id, np.int64)
    magnitude = np.abs(pdg)
    baryon = (magnitude < 1_000_000) & ((magnitude % 10_000) // 1000 > 0)
    energy = np.asarray(energy_gev, np.float64)
    shifted = energy - np.sign(pdg) * PROTON_MASS_GEV
    return np.where(baryon, np.maximum(shifted, 0.0), energy)


# --------------------------------------------------------------------------------------------
# Longitudinal development: deposits, radii and depths of the parts of each shower


@dataclasses.dataclass(frozen=True)
class _Parts:
    """Lateral parts of M particles' showers.

    Attributes:
        deposit_gev: [M, P] energy of each part.
        radius_mm: [M, P] its kernel radius R.
        depth_mm: [M, P] its depth along the path behind its calorimeter's face.
        calorimeter: [P] ECAL or HCAL of each part.
        invisible_gev, leakage_gev: [M].
    """

    deposit_gev: np.ndarray
    radius_mm: np.ndarray
    depth_mm: np.ndarray
    calorimeter: tuple[int, ...]
    invisible_gev: np.ndarray
    leakage_gev: np.ndarray


def _weighted_radius(energy: np.ndarray, radius_sq: np.ndarray) -> np.ndarray:
    """Sqrt of the energy-weighted R² over the last axis (MIN_RADIUS_MM without energy)."""
    total = energy.sum(axis=-1)
    mean_sq = np.divide((energy * radius_sq).sum(axis=-1), total, out=np.zeros_like(total),
                        where=total > 0)
    return np.maximum(np.sqrt(mean_sq), MIN_RADIUS_MM)


def _weighted_depth(energy: np.ndarray, middle: np.ndarray, default: float) -> np.ndarray:
    total = energy.sum(axis=-1)
    return np.divide((energy * middle).sum(axis=-1), total, out=np.full_like(total, default),
                     where=total > 0)


def _em_showers(energy: np.ndarray, photon: np.ndarray, rng: np.random.Generator) -> _Parts:
    """GFlash showers of e± and photons in the crystals; the leakage goes into the HCAL.

    The longitudinal profile is GFlash's individual-shower profile at its mean parameters
    (T = exp<ln T>, α = exp<ln α>, PHYSICS §1.2, with the penetrating photon tail of
    :func:`caloml.sim.gflash.profile_cdf`), started at the photon's conversion depth. The
    per-shower (T, α) fluctuations are not drawn: the CMS test-beam resolution applied to the
    deposit already contains the containment fluctuations they cause (drawing both gives
    σ/E = 0.69 % at 100 GeV instead of the measured 0.41 %).

    Parts: the ECAL core and tail (each with the energy-weighted R² of its slices: within
    0.1 % of the slice-by-slice tower shares) and the HCAL leakage.
    """
    num = len(energy)
    start = np.where(photon, rng.exponential(gflash.PHOTON_CONVERSION_X0, size=num), 0.0)
    edges = np.asarray(EM_SLICE_EDGES_X0)
    mean_ln_t, mean_ln_alpha, *_ = gflash.mean_log_parameters(energy, PBWO4)
    t_max = np.exp(mean_ln_t)
    alpha = np.maximum(np.exp(mean_ln_alpha), gflash.MIN_ALPHA)
    beta = (alpha - 1.0) / t_max
    local = np.maximum(edges[None, :] - start[:, None], 0.0)  # [M, S + 1]
    cdf = gflash.profile_cdf(alpha, beta, local, PBWO4.attenuation_x0)
    slices = energy[:, None] * np.maximum(np.diff(cdf, axis=1), 0.0)
    leakage = energy - slices.sum(axis=1)
    middle = 0.5 * (local[:, :-1] + local[:, 1:])
    # Reduced depth τ = t/T at the slice middles (the mean shower: α = ᾱ, GFlash ComputeTau).
    r_core, r_tail, p = gflash.radial_parameters(energy[:, None], middle / t_max[:, None],
                                                 PBWO4)
    core = slices * p
    tail = slices * (1.0 - p)
    middle_mm = 0.5 * (edges[1:] + edges[:-1]) * geometry.ECAL_X0_MM
    ecal_depth = _weighted_depth(slices, middle_mm, 0.5 * geometry.ECAL_DEPTH_MM)
    moliere = PBWO4.moliere_radius_mm
    deposit = np.stack([core.sum(axis=1), tail.sum(axis=1), leakage], axis=1)
    radius = np.stack([
        _weighted_radius(core, (moliere * r_core) ** 2),
        _weighted_radius(tail, (moliere * r_tail) ** 2),
        np.maximum(moliere * r_tail[:, -1], MIN_RADIUS_MM),
    ], axis=1)
    depth = np.stack([ecal_depth, ecal_depth,
                      np.full(num, EM_LEAKAGE_DEPTH_X0 * geometry.HCAL_X0_MM)], axis=1)
    zero = np.zeros(num)
    return _Parts(deposit, radius, depth, (_ECAL, _ECAL, _HCAL), zero, zero)


def _hadron_showers(energy: np.ndarray, eta: np.ndarray, rng: np.random.Generator) -> _Parts:
    """Hadron showers (PHYSICS §4 toy) over one ECAL slice and HCAL_SLICES HCAL slices.

    Parts per slice: the narrow one (MIP track and leading π⁰, energy-weighted R²), the
    cascade (EM part and ionisation, energy-weighted R²) and the neutron halo; in the HCAL the
    narrow parts and the halo of all slices are merged, the cascade keeps one part per slice
    (its radius grows ~7-fold over the HCAL, and merging slices would put 1/4 of the central
    tower's energy into its neighbours).
    """
    num = len(energy)
    hcal_lambda = geometry.hcal_depth_lambda(eta)
    steps = np.arange(1, HCAL_SLICES + 1) / HCAL_SLICES
    edges_lambda = np.concatenate([
        np.zeros((num, 1)), np.full((num, 1), geometry.ECAL_DEPTH_LAMBDA),
        geometry.ECAL_DEPTH_LAMBDA + hcal_lambda[:, None] * steps], axis=1)
    edges_x0 = np.concatenate([
        np.zeros((num, 1)), np.full((num, 1), geometry.ECAL_DEPTH_X0),
        geometry.ECAL_DEPTH_X0 + geometry.HCAL_X0_PER_LAMBDA * hcal_lambda[:, None] * steps],
        axis=1)
    mm_per_lambda = np.array([geometry.ECAL_LAMBDA_MM] + [geometry.HCAL_LAMBDA_MM] * HCAL_SLICES)
    mip_slice = np.concatenate([
        np.full((num, 1), geometry.MIP_ECAL_GEV),
        np.repeat((geometry.MIP_HCAL_GEV_PER_LAMBDA * hcal_lambda / HCAL_SLICES)[:, None],
                  HCAL_SLICES, axis=1)], axis=1)
    # A hadron whose track loses all its energy before its first interaction ranges out.
    t_int = hadron.sample_first_interaction(num, rng)
    loss = mip_slice * hadron.crossed_fraction(edges_lambda, t_int)
    stops = loss.sum(axis=1) >= energy
    t_int = np.where(stops, np.inf, t_int)
    loss = mip_slice * hadron.crossed_fraction(edges_lambda, t_int)
    loss = np.diff(np.minimum(np.cumsum(loss, axis=1), energy[:, None]), axis=1, prepend=0.0)
    pions = hadron.simulate_pions(energy, edges_x0, edges_lambda, mm_per_lambda, mip_slice,
                                  PBWO4, rng, t_int_lambda=t_int, mip_loss_gev=loss)

    em, pi0, ion = pions.em, pions.pi0, pions.ionisation
    cascade_sq = pions.cascade_radius_mm**2
    narrow = pions.mip_slice_gev + pi0.slice_energy_gev  # [M, S]
    narrow_sq = (pi0.slice_energy_gev * (pi0.core_fraction * pi0.core_radius_mm**2 + (
        1 - pi0.core_fraction) * pi0.tail_radius_mm**2)
        + pions.mip_slice_gev * MIN_RADIUS_MM**2)
    cascade = em.slice_energy_gev + ion.slice_energy_gev
    cascade_sq = (em.slice_energy_gev * (em.core_fraction * em.core_radius_mm**2 + (
        1 - em.core_fraction) * em.tail_radius_mm**2 + cascade_sq)
        + ion.slice_energy_gev * cascade_sq)
    halo = pions.halo_slice_gev
    halo_radius = hadron.HALO_MEDIAN_OVER_LENGTH * pions.halo_length_mm  # [S]

    def radius(energy_sum, weighted_sq):
        return np.maximum(np.sqrt(np.divide(weighted_sq, energy_sum,
                                            out=np.zeros_like(energy_sum),
                                            where=energy_sum > 0)), MIN_RADIUS_MM)

    ecal_depth = np.full(num, 0.5 * geometry.ECAL_DEPTH_MM)
    hcal_middle_mm = (steps - 0.5 / HCAL_SLICES) * hcal_lambda[:, None] * geometry.HCAL_LAMBDA_MM
    per_slice = narrow + cascade + halo
    hcal_depth = _weighted_depth(per_slice[:, 1:], hcal_middle_mm, geometry.HCAL_LAMBDA_MM)
    hcal_narrow = narrow[:, 1:].sum(axis=1)
    deposit = np.concatenate([
        np.stack([narrow[:, 0], cascade[:, 0], halo[:, 0], hcal_narrow, halo[:, 1:].sum(axis=1)],
                 axis=1), cascade[:, 1:]], axis=1)
    radii = np.concatenate([
        np.stack([radius(narrow[:, 0], narrow_sq[:, 0]), radius(cascade[:, 0], cascade_sq[:, 0]),
                  np.full(num, halo_radius[0]),
                  radius(hcal_narrow, narrow_sq[:, 1:].sum(axis=1)),
                  np.full(num, halo_radius[1])], axis=1),
        radius(cascade[:, 1:], cascade_sq[:, 1:])], axis=1)
    depth = np.concatenate([
        np.stack([ecal_depth, ecal_depth, ecal_depth, hcal_depth, hcal_depth], axis=1),
        hcal_middle_mm], axis=1)
    calorimeter = (_ECAL, _ECAL, _ECAL, _HCAL, _HCAL) + (_HCAL,) * HCAL_SLICES
    invisible = pions.invisible_gev
    leakage = np.maximum(energy - deposit.sum(axis=1) - invisible, 0.0)
    return _Parts(deposit, radii, depth, calorimeter, invisible, leakage)


def _muons(energy: np.ndarray, eta: np.ndarray) -> _Parts:
    """Mean MIP losses of muons, at most their kinetic energy; the rest leaves."""
    num = len(energy)
    kinetic = np.maximum(energy - MUON_MASS_GEV, 0.0)
    ecal = np.minimum(geometry.MIP_ECAL_GEV, kinetic)
    hcal_lambda = geometry.hcal_depth_lambda(eta)
    hcal = np.minimum(geometry.MIP_HCAL_GEV_PER_LAMBDA * hcal_lambda, kinetic - ecal)
    depth = np.stack([np.full(num, 0.5 * geometry.ECAL_DEPTH_MM),
                      0.5 * hcal_lambda * geometry.HCAL_LAMBDA_MM], axis=1)
    return _Parts(np.stack([ecal, hcal], axis=1), np.full((num, 2), MIN_RADIUS_MM), depth,
                  (_ECAL, _HCAL), np.zeros(num), energy - ecal - hcal)


# --------------------------------------------------------------------------------------------
# Lateral: the closed-form integral of 2rR²/(r²+R²)² over the towers of a window


def _extended_eta_edges(pad: int) -> np.ndarray:
    """ETA_EDGES with ``pad`` more towers of the outermost width on each side."""
    edges = towers.ETA_EDGES
    width = edges[-1] - edges[-2]
    extra = width * np.arange(1, pad + 1)
    return np.concatenate([edges[0] - extra[::-1], edges, edges[-1] + extra])


_PAD = max(EM_HALF_WINDOW, HADRON_HALF_WINDOW)
_EXTENDED_EDGES = _extended_eta_edges(_PAD)


def _corner(a: np.ndarray, b: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Mass of the 2D kernel of scale R in the quadrant below (a, b) minus half planes.

    ``(1/2π)[a/A·atan(b/A) + b/B·atan(a/B)]``, A = √(a² + R²), B = √(b² + R²) (PHYSICS §1.4).
    ``a`` [M, I], ``b`` [M, J], ``radius`` [M] -> [M, I, J].
    """
    r2 = (radius**2)[:, None]
    big_a = np.sqrt(a**2 + r2)[:, :, None]
    big_b = np.sqrt(b**2 + r2)[:, None, :]
    a3, b3 = a[:, :, None], b[:, None, :]
    return (a3 / big_a * np.arctan(b3 / big_a) + b3 / big_b * np.arctan(a3 / big_b)) / (
        2.0 * np.pi)


def tower_fractions(eta: np.ndarray, phi: np.ndarray, radius_eta: np.ndarray, half: int):
    """Shares of kernels ``2rR²/(r²+R²)²`` (centres eta, phi; scale R in eta units) per tower.

    The kernel is integrated exactly over each tower of the (2 half + 1)² window around the
    tower of its centre and renormalised to the window.

    Args:
        eta, phi: kernel centres ``[M]`` (eta may lie up to ``half`` towers beyond the grid).
        radius_eta: R in units of eta (``R_mm / (1000 rho_m)``) ``[M]``.
        half: window half-size in towers (at most 3).

    Returns:
        ``(fractions [M, W, W], rows [M, W], columns [M, W])`` with W = 2 half + 1; rows are
        grid eta indices (outside [0, 72) for window towers beyond the grid), columns are phi
        indices (wrapped). Kernels centred more than 3 towers beyond the grid get no fractions
        (rows -1).
    """
    centre = np.searchsorted(_EXTENDED_EDGES, eta, side="right") - 1
    # Centres further out than the padding: the whole window lies beyond the grid.
    beyond = (centre < half) | (centre > len(_EXTENDED_EDGES) - 2 - half)
    centre = np.clip(centre, half, len(_EXTENDED_EDGES) - 2 - half)
    offsets = np.arange(-half, half + 2)
    a = _EXTENDED_EDGES[centre[:, None] + offsets] - eta[:, None]
    column = np.minimum(np.floor((phi + np.pi) / _PHI_STEP).astype(np.int64),
                        towers.NUM_PHI - 1)
    b = (column[:, None] + offsets) * _PHI_STEP - np.pi - phi[:, None]
    corner = _corner(a, b, radius_eta)
    fractions = np.diff(np.diff(corner, axis=1), axis=2)
    fractions /= np.maximum(fractions.sum(axis=(1, 2), keepdims=True), 1e-300)
    fractions[beyond] = 0.0
    rows = np.where(beyond[:, None], -1, centre[:, None] + offsets[:-1] - _PAD)
    columns = (column[:, None] + offsets[:-1]) % towers.NUM_PHI
    return fractions, rows, columns


def _deposit_parts(image_slot, energy, eta, phi, radius_eta, half):
    """Flat image indices and weights of parts; [M] signal that fell outside the grid.

    Parts are taken :data:`_PARTS_PER_CHUNK` at a time, which bounds the memory of the
    [parts, W + 1, W + 1] corner arrays (about 40 MB per chunk) for batches of any size.
    """
    indices, weights, beyond = [np.zeros(0, np.int64)], [np.zeros(0)], [np.zeros(0)]
    for start in range(0, len(energy), _PARTS_PER_CHUNK):
        part = slice(start, start + _PARTS_PER_CHUNK)
        fractions, rows, columns = tower_fractions(eta[part], phi[part], radius_eta[part], half)
        inside = (rows >= 0) & (rows < towers.NUM_ETA)
        index = (image_slot[part, None, None] * _NUM_TOWERS
                 + np.clip(rows, 0, towers.NUM_ETA - 1)[:, :, None] * towers.NUM_PHI
                 + columns[:, None, :])
        e = energy[part, None, None]
        indices.append(index.ravel())
        weights.append((e * fractions * inside[:, :, None]).ravel())
        beyond.append((e * fractions * ~inside[:, :, None]).sum(axis=(1, 2)))
    return np.concatenate(indices), np.concatenate(weights), np.concatenate(beyond)


def _deposit_points(image_slot, energy, eta, phi):
    """Parts put whole into the tower of their centre; [M] signal outside the grid."""
    i_eta, i_phi = towers.tower_index(eta, phi)
    inside = i_eta >= 0
    index = image_slot * _NUM_TOWERS + np.maximum(i_eta, 0) * towers.NUM_PHI + np.maximum(i_phi,
                                                                                          0)
    return index, np.where(inside, energy, 0.0), np.where(inside, 0.0, energy)


# --------------------------------------------------------------------------------------------
# Rendering


def _gamma_factor(variance: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gamma draws of mean 1 and the given relative variance ([M] > 0)."""
    shape = 1.0 / variance
    return rng.standard_gamma(shape) / shape


def simulate(event: np.ndarray, pdg_id: np.ndarray, charge: np.ndarray,
             momentum_gev: np.ndarray, num_events: int,
             rng: np.random.Generator) -> DetailedEvents:
    """Showers every particle of N events in the CMS-like calorimeter (module docstring).

    Args:
        event: int64 ``[n]`` event index of each particle, in ``[0, num_events)``.
        pdg_id: int ``[n]`` PDG ids.
        charge: ``[n]`` electric charges in e.
        momentum_gev: ``[n, 4]`` (px, py, pz, E) at the vertex (the origin).
        num_events: N.
        rng: random generator (the same state gives the same images).

    Returns:
        The images with and without noise and thresholds, and the per-particle truth.

    Raises:
        InputError: arrays of the wrong shape, event indices out of range, non-finite values.
    """
    event, pdg_id, charge, momentum = _check_inputs(event, pdg_id, charge, momentum_gev,
                                                    num_events)
    n = len(event)
    px, py, pz, energy = momentum.T
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore"):
        eta = np.arcsinh(np.divide(pz, pt, out=np.copysign(np.inf, pz), where=pt > 0))
    phi = np.arctan2(py, px)
    magnitude = np.abs(pdg_id)
    available = available_energy(pdg_id, energy)
    hit = towers.propagate(pt, np.nan_to_num(eta, posinf=50.0, neginf=-50.0), phi, charge)
    accepted = (hit["reaches"] & (np.abs(hit["eta"]) < towers.ETA_MAX)
                & ~np.isin(magnitude, _NEUTRINOS) & (pt > 0) & (available > 0))
    em = accepted & np.isin(magnitude, _EM)
    muon = accepted & (magnitude == _MUON)
    hadronic = accepted & ~em & ~muon

    # Longitudinal development of each kind; parts are gathered into flat lists.
    gathered = {"particle": [], "calo": [], "deposit": [], "radius": [], "depth": [],
                "half": []}
    invisible = np.zeros(n)
    leakage = np.zeros(n)
    sampling = np.where(hadronic, HCAL_HADRON_SAMPLING_SQRT_GEV, HCAL_EM_SAMPLING_SQRT_GEV)
    for rows, parts, half in (
        (np.flatnonzero(em), _em_showers(available[em], magnitude[em] == 22, rng),
         EM_HALF_WINDOW),
        (np.flatnonzero(hadronic), _hadron_showers(available[hadronic], eta[hadronic], rng),
         HADRON_HALF_WINDOW),
        (np.flatnonzero(muon), _muons(available[muon], eta[muon]), HADRON_HALF_WINDOW),
    ):
        invisible[rows] = parts.invisible_gev
        leakage[rows] = parts.leakage_gev
        for k, calo in enumerate(parts.calorimeter):
            gathered["particle"].append(rows)
            gathered["calo"].append(np.full(len(rows), calo))
            gathered["deposit"].append(parts.deposit_gev[:, k])
            gathered["radius"].append(parts.radius_mm[:, k])
            gathered["depth"].append(parts.depth_mm[:, k])
            gathered["half"].append(np.full(len(rows), half))
    flat = {key: np.concatenate(value) for key, value in gathered.items()}
    part_particle, part_calo = flat["particle"], flat["calo"]
    part_deposit = flat["deposit"]
    deposit = np.zeros((n, 2))
    np.add.at(deposit, (part_particle, part_calo), part_deposit)

    # Response: ECAL resolution, HCAL calibration and sampling, one factor per calorimeter.
    ecal_dep, hcal_dep = deposit.T
    factor = np.zeros((n, 2))
    has_ecal = np.flatnonzero(ecal_dep > 0)
    factor[has_ecal, _ECAL] = _gamma_factor(
        ECAL_STOCHASTIC_SQRT_GEV**2 / ecal_dep[has_ecal] + ECAL_CONSTANT**2, rng)
    has_hcal = np.flatnonzero(hcal_dep > 0)
    hcal_signal = HCAL_CALIBRATION * hcal_dep[has_hcal]
    factor[has_hcal, _HCAL] = HCAL_CALIBRATION * _gamma_factor(
        sampling[has_hcal] ** 2 / hcal_signal, rng)
    part_signal = part_deposit * factor[part_particle, part_calo]

    # Lateral: each part at its shower point, integrated over the towers around it.
    direction_phi = towers.wrap_phi(phi + 2.0 * towers.wrap_phi(hit["phi"] - phi))
    points = geometry.shower_points(
        hit["eta"][part_particle], hit["phi"][part_particle], hit["barrel"][part_particle],
        direction_phi[part_particle], eta[part_particle], part_calo == _HCAL, flat["depth"])
    part_eta, part_phi = points["eta"], points["phi"]
    part_scale = flat["radius"] / (1000.0 * points["rho_m"])
    part_half = flat["half"]
    slot = part_calo * num_events + event[part_particle]
    indices, weights = [], []
    outside = np.zeros(len(part_signal))
    point = np.flatnonzero((part_signal > 0) & (part_signal < POINT_GEV))
    index, weight, out = _deposit_points(slot[point], part_signal[point], part_eta[point],
                                         part_phi[point])
    indices.append(index)
    weights.append(weight)
    outside[point] = out
    for half in (EM_HALF_WINDOW, HADRON_HALF_WINDOW):
        rows = np.flatnonzero((part_signal >= POINT_GEV) & (part_half == half))
        index, weight, out = _deposit_parts(slot[rows], part_signal[rows], part_eta[rows],
                                            part_phi[rows], part_scale[rows], half)
        indices.append(index)
        weights.append(weight)
        outside[rows] = out
    clean = np.bincount(np.concatenate(indices), weights=np.concatenate(weights),
                        minlength=2 * num_events * _NUM_TOWERS)
    clean = clean.reshape(2, num_events, towers.NUM_ETA, towers.NUM_PHI)

    # Readout: noise per tower and channel, then the CaloTower thresholds.
    readout = geometry.readout_rows()
    sigma = np.stack([readout["ecal_noise_gev"], readout["hcal_noise_gev"]])[:, None, :, None]
    threshold = np.stack([readout["ecal_threshold_gev"],
                          readout["hcal_threshold_gev"]])[:, None, :, None]
    measured = clean + sigma * rng.standard_normal(clean.shape)
    measured = np.where(measured > threshold, measured, 0.0)

    signal = np.zeros((n, 2))
    np.add.at(signal, (part_particle, part_calo), part_signal)
    part_outside = np.zeros(n)
    np.add.at(part_outside, part_particle, outside)
    lost = np.where(accepted, 0.0, available)
    truth = ParticleTruth(
        available_gev=available, ecal_deposit_gev=ecal_dep, hcal_deposit_gev=hcal_dep,
        invisible_gev=invisible, leakage_gev=np.where(accepted, leakage, 0.0), lost_gev=lost,
        ecal_gev=signal[:, _ECAL], hcal_gev=signal[:, _HCAL], outside_gev=part_outside)
    return DetailedEvents(
        ecal_gev=measured[_ECAL].astype(np.float32), hcal_gev=measured[_HCAL].astype(np.float32),
        ecal_clean_gev=clean[_ECAL].astype(np.float32),
        hcal_clean_gev=clean[_HCAL].astype(np.float32), particles=truth)


def render(event: np.ndarray, pdg_id: np.ndarray, charge: np.ndarray, momentum_gev: np.ndarray,
           num_events: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """ECAL and HCAL tower images of N events (the detailed rendering).

    Args:
        event: int64 ``[n]`` event index of each particle, in ``[0, num_events)``.
        pdg_id: int32 ``[n]`` PDG ids.
        charge: ``[n]`` electric charges in e.
        momentum_gev: ``[n, 4]`` (px, py, pz, E) at the vertex.
        num_events: N.
        rng: random generator.

    Returns:
        ``{"ecal": float32 [N, 72, 72], "hcal": float32 [N, 72, 72]}`` in GeV, after noise and
        thresholds (axis 1 eta, axis 2 phi, :mod:`caloml.events.towers`).
    """
    result = simulate(event, pdg_id, charge, momentum_gev, num_events, rng)
    return {"ecal": result.ecal_gev, "hcal": result.hcal_gev}
