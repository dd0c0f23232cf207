"""Charged-pion showers (PHYSICS.md §4): ionising track, first interaction, cascade.

**Track.** A π± enters at the face and ionises until its first inelastic interaction at
``t_int ~ Exp(λ_π)``, λ_π = 1.2 λ_I (:data:`PION_LAMBDA_OVER_LAMBDA_I`); ≈ 1/3 of them cross a
1.3 λ_I stack without one. Its losses follow PDG's "Passage of particles through matter"
(§34.2) for a stack of absorbers (CaloGAN: 2 mm Pb + 4 mm LAr, both read out in 2017,
:data:`CALOGAN_STACK`):

* the mean is Bethe's formula with the Sternheimer density effect δ(βγ) of each absorber
  (:func:`mean_loss_mev`). Summed over Pb and LAr its minimum, 0.565 MeV/mm at βγ ≈ 3, is the
  0.567 MeV/mm of PHYSICS.md §4; at CaloGAN's 1–100 GeV (βγ = 7–700) it is 7–57% higher (the
  relativistic rise, and δ-rays up to an ever larger T_max, which a total-absorption readout
  keeps);
* the collision spectrum ``ξ/T² (1 − β²T/T_max)`` (ξ = (K/2)(Z/A)ρx/β², summed over the
  absorbers) is sampled in two parts (:func:`sample_track_steps`): knock-on electrons (δ-rays)
  above T_c = 0.1 MeV one by one, a Poisson number with T from 1/T² up to T_max, and the many
  softer collisions as a Gaussian of the restricted mean (PDG eq. 34.9) and variance ``ξT_c``.
  Over a layer the sum has Landau's shape, with the most probable value of PDG eq. 34.12,
  ``Δ_p = Σ_i ξ_i [ln(2mc²β²γ²/I_i) + ln(ξ/I_i) + j − β² − δ_i]`` (:func:`landau_parameters`;
  for a layered absorber ξ adds up and ln I, δ are ξ-weighted), within 2%: Δ_p rises by ≈ 10%
  from βγ = 7 to 700 and saturates (the density effect: the Fermi plateau). For the 90 / 347 /
  43 mm CaloGAN layers ξ = 2.6 / 10.2 / 1.3 MeV. Radiative losses of the pion (≈ 0.4 of the
  ionisation of a 100 GeV pion in lead, in rare hard photons) are left out.

The soft losses stay on the track; a δ-ray deposits its energy within its range (Katz–Penfold,
:func:`electron_range_mm`; above ≈ 20 MeV it showers, within a Molière radius) around it.
The track's transverse position performs the multiple-scattering walk of the Highland formula
(:func:`scattered_track`): θ0² of the path so far, ``(13.6 MeV/βcp)²(x/X0)(1 + 0.038
ln(x/X0))²``, grows step by step; the angle changes by a Gaussian of the increment and the
position by ``x·θ + x·Δθ0 (z1/√12 + z2/2)`` (PDG eq. 34.20–22). A 1 GeV pion drifts 2 mm (rms)
in CaloGAN's layer 0, a 100 GeV one 20 µm: a beam on a cell edge stays on it, and the δ-rays
share the loss between the two cells (roughly half of the loss is in δ-rays above 0.1 MeV).

**First interaction: the leading particle.** Of the energy of the first inelastic interaction,
the π⁰s take a share that starts the EM part of the shower. The mean EM fraction of the whole
shower is ``f̄_em = 1 − (E/E0)^{k−1}``, E0 = 1 GeV, k = 0.82 (Gabriel et al., NIM A 338 (1994)
336; PHYSICS.md §4): a third of the produced pions are neutral (isospin) in every generation of
the cascade, and Groom's power law compounds that over the generations. So the first
interaction gives a share ``f1 ~ Beta`` of mean min(f̄_em, 1/3) and σ = 0.1 (it dominates the
fluctuations), deposited with Bock's EM profile from t_int; the later generations give the rest,
(f̄_em − f̄1)/(1 − f̄1) of what is left, deposited along the cascade (Bock's hadronic profile).
The distribution of f_em has a tail to 1 made by the first interaction alone (Groom, NIM A 572
(2007) 633; Akchurin et al., NIM A 537 (2005) 537: f_em of 200 GeV π⁻ reaches 0.9–1):

* *charge exchange* π⁺n → π⁰p (quasi-elastic, on a neutron of the nucleus): the π⁰ carries
  the whole energy. σ(π⁻p → π⁰n) ≈ 60 µb at 20 GeV/c and falls as p^−1.2 (ρ-Regge exchange;
  Barnes et al. PRL 37 (1976) 76, Apel et al. NPB 152 (1979) 1 [mem]); in Pb the 126 neutrons
  act as A^0.72·N/A ≈ 28 free ones and σ_inel(π Pb) ≈ 1.7 b, so ``P_cex = 0.4% (p/6 GeV)^−1.2``
  per interaction (3.4% at 1 GeV, 0.02% at 100 GeV: :func:`charge_exchange_probability`);
* *leading π⁰*: in any interaction the most energetic secondary takes a share x distributed as
  ``(n+1)(1 − x)^n``, n = 1 (quark counting: one spectator quark), independent of energy
  (Feynman scaling), and it is a π⁰ with probability 0.11: the beam's valence quark picks a sea
  antiquark making a neutral meson with probability ≈ 0.43 (ū : d̄ : s̄ = 1 : 1 : 0.3), a
  pseudoscalar half of the time, and a neutral light pseudoscalar is a π⁰ half of the time.
  This does not vanish with energy: P(f_em > 0.95) ≈ 0.2% at all energies, as the CMS ECAL
  test beam found for pions faking electrons (E/p > 0.95 for ≈ 0.1% of 10–100 GeV π⁻; Dittmar &
  Zürcher, CMS Note 1999, cds 687144), and P(f_em > 0.9) ≈ 0.4–1.1% from 10 to 500 GeV.

The leading π⁰ (energy x·E_sh) showers like a photon converting Exp(9/14 X0) behind t_int (the
first of its two photons; their opening angle, ≲ 2 m_π/E, keeps them within a few mm), along
an axis tilted by its transverse momentum (⟨p_T⟩ = 0.35 GeV, Rayleigh): a GFlash shower. The
first interaction's other π⁰s get f1 of the rest.

**Cascade.** Depths follow Bock et al. (1981) as in CMS FastSim ``HDShower`` (PHYSICS.md §4):
Gamma in X0 from t_int for the first interaction's EM part, Gamma in λ_I for the rest. The EM
part is a handful of π⁰ showers (:data:`EM_SUBSHOWERS`), each with GFlash's core and photon
tail around an axis whose spread is the cascade kernel ``2rR²/(r²+R²)²``,
``R = s·(0.0124 + 0.359 − 0.0511 ln E)·d_λ`` λ, growing with the depth behind t_int, s ~ 1 +
U(0, 1) per shower (CMS HDShower). The non-EM energy goes, in lead (Wigmans, *Calorimetry*,
Table 2.5 [mem]):

* 56% into ionisation by charged hadrons (protons 37%, charged pions 19%) and 2% into nuclear
  recoils (:data:`IONISATION_SHARE`): deposited around the axis with the cascade kernel, one
  hadron's ionisation over a cell's mean chord per deposit (:func:`hadron_deposit_gev`);
* 32% into nuclear binding energy: invisible (:data:`INVISIBLE_SHARE`);
* 10% into the kinetic energy of evaporation neutrons (:data:`NEUTRON_SHARE`), deposited far
  away: an MeV neutron scatters off Pb (σ_tot ≈ 6 b) until an inelastic collision (n,n'γ,
  σ ≈ 1.3 b above 0.6 MeV) or a capture turns it into MeV photons. One-group diffusion from a
  point source, with ``D = 1/(3Σ_tr) ≈ 3.3 cm`` and ``Σ_r ≈ 0.014/cm`` in the Pb/LAr stack,
  puts the deposits at a density ``∝ e^{−r/L}/r``, ``L = √(D/Σ_r) ≈ 15 cm = 0.4 λ_I``
  (:data:`NEUTRON_DIFFUSION_LAMBDA`; both cross-sections scale with the nuclear size, so
  L ∝ λ_I), vanishing 0.71 λ_tr outside the faces of the stack. Its projection on the axis is
  a two-sided exponential of scale L (:func:`diffuse`, with image sources for the faces), on
  the transverse plane ``K0(ρ/L)/(2πL²)`` (:func:`neutron_halo_profile`). This *halo* reaches
  back towards the face, into the layers in front of t_int (backsplash), and partly leaves.
  Its deposits are nuclear recoils of 10–100 keV and MeV photons (:data:`NEUTRON_DEPOSIT_GEV`).

So a hadronic shower deposits 68% of its non-EM energy: ``e/h = 1/0.68 = 1.47``
(:data:`E_OVER_H`), within the 1.3–1.6 of Pb/LAr (PHYSICS.md §4). The non-EM energy released
behind the back face and the halo leaving the stack are leakage.

Per event: Σ slices (EM, leading π⁰, ionisation, halo) + track loss + invisible + leakage = E.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import special

from caloml.sim import gflash, ionisation
from caloml.sim.materials import Material

PION_MASS_GEV = 0.13957039
ELECTRON_MASS_MEV = ionisation.ELECTRON_MASS_MEV
BETHE_K_MEV_CM2 = ionisation.BETHE_K_MEV_CM2
LANDAU_J = ionisation.LANDAU_J
# Highland constant (PDG eq. 34.15), MeV.
HIGHLAND_MEV = 13.6
# Knock-on electrons above this kinetic energy (MeV) are drawn one by one and deposited where
# they stop (range ≳ 0.04 mm); the softer collisions stay on the track.
DELTA_RAY_CUT_MEV = 0.1

# λ_π ≈ 1.2 λ_I in heavy absorbers (PHYSICS.md §2 notes and §4, [mem]). With the CaloGAN
# stack's λ_I = 374 mm this gives λ_π = 449 mm, and exp(−480/449) = 0.34 of the pions cross the
# 480 mm stack without interacting (PHYSICS.md §5: "about 30–35%").
PION_LAMBDA_OVER_LAMBDA_I = 1.2

# Mean EM fraction 1 − (E/E0)^(k−1) (Gabriel et al. 1994; PHYSICS.md §4 [mem]); below
# EM_FRACTION_MIN_GEV the value there (0.12).
EM_FRACTION_E0_GEV = 1.0
EM_FRACTION_K = 0.82
EM_FRACTION_MIN_GEV = 2.0
# Standard deviation of the per-shower EM fraction of the first interaction (PHYSICS.md §4:
# "Beta spread (σ ≈ 0.1)"; the first interaction dominates the fluctuations of f_em).
EM_FRACTION_SIGMA = 0.1
# Share of the first interaction's energy that goes into π⁰s: a third of the pions it produces
# are neutral (isospin), and for a pion beam nearly all of the energy goes into pions. Groom's
# power law is this share compounded over the cascade's generations.
FIRST_GENERATION_PI0_SHARE = 1.0 / 3.0
# First interaction: leading π⁰ (module docstring).
LEADING_PI0_PROBABILITY = 0.11
LEADING_SPECTRUM_POWER = 1.0
LEADING_MEAN_PT_GEV = 0.35
CHARGE_EXCHANGE_AT_6_GEV = 0.004
CHARGE_EXCHANGE_POWER = 1.2
# The π⁰'s shower starts at the first of two photon conversions: Exp(9/7 X0)/2.
PI0_CONVERSION_X0 = gflash.PHOTON_CONVERSION_X0 / 2.0

# Non-EM energy in lead (Wigmans, Calorimetry, Table 2.5 [mem]).
IONISATION_SHARE = 0.58
NEUTRON_SHARE = 0.10
INVISIBLE_SHARE = 0.32
E_OVER_H = 1.0 / (IONISATION_SHARE + NEUTRON_SHARE)
# Diffusion length of evaporation neutrons, in λ_I (module docstring: 15 cm in Pb/LAr), and the
# extrapolation distance of a vacuum boundary, 0.71 λ_tr = 2.13 D ≈ 7 cm (λ_tr = 3D).
NEUTRON_DIFFUSION_LAMBDA = 0.4
NEUTRON_EXTRAPOLATION_LAMBDA = 0.19
# Mean energy of one deposit of the neutron halo and the Gamma shape of their spectrum: an MeV
# neutron loses ≈ 2A/(A+1)² of its energy per elastic collision (1% on Pb, 5% on Ar: recoils of
# 10–100 keV, one deposit each) until an inelastic collision or capture releases MeV photons;
# about half of the energy goes each way, so deposits number ≈ 1/(0.5/50 keV + 0.5/1 MeV) ≈ 0.1
# MeV on average, with a very broad spectrum.
NEUTRON_DEPOSIT_GEV = 1e-4
NEUTRON_DEPOSIT_SHAPE = 0.3
# Median radius of K0(ρ/L)/(2πL²) in units of L (solves x·K1(x) = 1/2): the radius R of the
# ``2rR²/(r²+R²)²`` kernel with the same median, for callers that only know that kernel.
HALO_MEDIAN_OVER_LENGTH = 1.2572
# π⁰ showers making up the EM part of the cascade: its energy is dominated by the few most
# energetic π⁰s (for the Feynman-scaling spectrum (1 − x)³/x of each interaction, Σx²/(Σx)²
# is ≈ 1/2–1/3 per generation), so a handful of showers with flat-Dirichlet shares.
EM_SUBSHOWERS = 4
# Mean ionisation of shower hadrons relative to a MIP: protons (37% of the non-EM energy) lose
# on average ≈ 4× the minimum over their range of a few cm (100 MeV in 19 g/cm² of Pb), charged
# pions (19%) ≈ 1.1×: (0.37·4 + 0.19·1.1)/0.56 = 3.0.
HADRON_IONISATION_OVER_MIP = 3.0

# Energy of the hadronic spots whose count fluctuates per cell (CMS FastSim eSpotSize,
# PHYSICS.md §4 HSParameters); only for callers of the two-sub-shower view.
HADRONIC_SPOT_GEV = 0.2
# Bock's parameters are clamped to this energy range (CMSJET/HDShower, PHYSICS.md §4).
BOCK_ENERGY_RANGE_GEV = (2.0, 500.0)


# --------------------------------------------------------------------------------------------
# Ionisation of the track


# An element of a stack (caloml.sim.ionisation: PDG's constants and Sternheimer's δ).
Absorber = ionisation.Medium
LEAD = ionisation.LEAD
LIQUID_ARGON = ionisation.LIQUID_ARGON


@dataclasses.dataclass(frozen=True)
class Stack:
    """A periodic stack of absorbers, e.g. CaloGAN's 2 mm Pb + 4 mm LAr.

    Attributes:
        absorbers: the absorbers of one period.
        thickness_mm: their thicknesses.
    """

    absorbers: tuple[Absorber, ...]
    thickness_mm: tuple[float, ...]

    @property
    def density_g_cm3(self) -> float:
        """Mean density of the stack."""
        return float(self.grams_per_mm().sum() * 10.0)

    def grams_per_mm(self) -> np.ndarray:
        """[A] g/cm² of each absorber per mm of stack."""
        period = sum(self.thickness_mm)
        return np.array([a.density_g_cm3 * t / 10.0 / period
                         for a, t in zip(self.absorbers, self.thickness_mm, strict=True)])


CALOGAN_STACK = Stack((LEAD, LIQUID_ARGON), (2.0, 4.0))


def beta_gamma(energy_gev: np.ndarray, mass_gev: float = PION_MASS_GEV) -> np.ndarray:
    """βγ = p/m of particles of total energy E."""
    e = np.maximum(np.asarray(energy_gev, np.float64), mass_gev * (1 + 1e-9))
    return np.sqrt(e**2 - mass_gev**2) / mass_gev


def _kinematics(bg: np.ndarray, mass_gev: float):
    gamma = np.sqrt(1.0 + bg**2)
    beta2 = (bg / gamma) ** 2
    ratio = ELECTRON_MASS_MEV / (1e3 * mass_gev)
    t_max = 2 * ELECTRON_MASS_MEV * bg**2 / (1 + 2 * gamma * ratio + ratio**2)  # MeV
    return beta2, t_max


def _per_mm(stack: Stack, bg: np.ndarray, mass_gev: float):
    """Per mm of stack: Bethe mean loss (MeV), ξ (MeV) and the ξ-weighted bracket of Δ_p."""
    bg = np.asarray(bg, np.float64)
    beta2, t_max = _kinematics(bg, mass_gev)
    mean = xi = bracket = 0.0
    for absorber, grams in zip(stack.absorbers, stack.grams_per_mm(), strict=True):
        i_mev = absorber.mean_excitation_ev * 1e-6
        delta = absorber.density_effect(bg)
        xi_i = 0.5 * BETHE_K_MEV_CM2 * absorber.z_over_a * grams / beta2
        mean = mean + 2.0 * xi_i * (
            0.5 * np.log(2 * ELECTRON_MASS_MEV * bg**2 * t_max / i_mev**2) - beta2 - 0.5 * delta)
        xi = xi + xi_i
        bracket = bracket + xi_i * (np.log(2 * ELECTRON_MASS_MEV * bg**2 / i_mev) - np.log(i_mev)
                                    + LANDAU_J - beta2 - delta)
    return mean, xi, bracket / xi


def mean_loss_mev(stack: Stack, bg: np.ndarray, path_mm: np.ndarray,
                  mass_gev: float = PION_MASS_GEV) -> np.ndarray:
    """Bethe mean energy loss (MeV) over ``path_mm`` of the stack (PDG eq. 34.5)."""
    return _per_mm(stack, bg, mass_gev)[0] * np.asarray(path_mm, np.float64)


def landau_parameters(stack: Stack, bg: np.ndarray, path_mm: np.ndarray,
                      mass_gev: float = PION_MASS_GEV):
    """Most probable loss Δ_p and width ξ (MeV) over ``path_mm`` of the stack (PDG eq. 34.12).

    Returns:
        (Δ_p, ξ), broadcast over ``bg`` and ``path_mm``; Δ_p = 0 where the path is 0.
    """
    _, xi_per_mm, bracket = _per_mm(stack, bg, mass_gev)
    path = np.asarray(path_mm, np.float64)
    xi = xi_per_mm * path
    mpv = xi * (bracket + np.log(np.maximum(xi, 1e-30)))
    return np.where(path > 0, mpv, 0.0), xi


def restricted_loss_mev(stack: Stack, bg: np.ndarray, path_mm: np.ndarray, cut_mev: float,
                        mass_gev: float = PION_MASS_GEV) -> np.ndarray:
    """Mean loss (MeV) in collisions transferring less than ``cut_mev`` (PDG eq. 34.9)."""
    bg = np.asarray(bg, np.float64)
    beta2, t_max = _kinematics(bg, mass_gev)
    upper = np.minimum(cut_mev, t_max)
    per_mm = 0.0
    for absorber, grams in zip(stack.absorbers, stack.grams_per_mm(), strict=True):
        i_mev = absorber.mean_excitation_ev * 1e-6
        bracket = (0.5 * np.log(2 * ELECTRON_MASS_MEV * bg**2 * upper / i_mev**2)
                   - 0.5 * beta2 * (1 + upper / t_max) - 0.5 * absorber.density_effect(bg))
        per_mm = per_mm + BETHE_K_MEV_CM2 * absorber.z_over_a * grams / beta2 * bracket
    return per_mm * np.asarray(path_mm, np.float64)


def electron_range_mm(kinetic_mev: np.ndarray, density_g_cm3: float) -> np.ndarray:
    """Practical range of electrons, Katz–Penfold (1952) [mem], in mm of a medium.

    ``R = 0.412 T^(1.265 − 0.0954 ln T)`` g/cm² below 2.5 MeV, ``0.530 T − 0.106`` above.
    """
    t = np.maximum(np.asarray(kinetic_mev, np.float64), 1e-3)
    grams = np.where(t < 2.5, 0.412 * t ** (1.265 - 0.0954 * np.log(t)), 0.530 * t - 0.106)
    return 10.0 * grams / density_g_cm3


@dataclasses.dataclass(frozen=True)
class TrackLoss:
    """Energy lost by N tracks in M steps: a local part and explicit δ-rays.

    Attributes:
        local_gev: [N, M] energy of the collisions below :data:`DELTA_RAY_CUT_MEV`, deposited
            on the track.
        delta_event, delta_step: [D] event and step of each δ-ray.
        delta_gev: [D] its kinetic energy.
    """

    local_gev: np.ndarray
    delta_event: np.ndarray
    delta_step: np.ndarray
    delta_gev: np.ndarray

    @property
    def total_gev(self) -> np.ndarray:
        """[N, M] all the energy lost in each step."""
        num, steps = self.local_gev.shape
        flat = np.bincount(self.delta_event * steps + self.delta_step, weights=self.delta_gev,
                           minlength=num * steps)
        return self.local_gev + flat.reshape(num, steps)


def sample_track_steps(stack: Stack, bg: np.ndarray, path_mm: np.ndarray,
                       rng: np.random.Generator, fluctuate: bool = True,
                       mass_gev: float = PION_MASS_GEV) -> TrackLoss:
    """Ionisation losses of N tracks (βγ [N]) over M steps (``path_mm`` [N, M]).

    The collision spectrum ``ξ/T² (1 − β² T/T_max)`` per unit ξ (PDG §34.2.9, the spectrum
    from which Landau's distribution follows) is split at T_c = :data:`DELTA_RAY_CUT_MEV`.
    Collisions above it are drawn one by one: a Poisson number with mean
    ``ξ(1/T_c − 1/T_max)`` per step, T from 1/T² by inversion, thinned by the spin factor, so
    that their energy is exact up to T_max. Those below it are many (κ = ξ/T_c > 1 per
    step of ≥ 3 mm): a Gaussian of the restricted mean (PDG eq. 34.9) and variance
    ``ξ T_c (1 − β²/2)``. The sum has Bethe's mean and, over a layer, Landau's most probable
    value (tested). ``fluctuate=False``: the Bethe mean, all local.
    """
    bg = np.asarray(bg, np.float64)
    path = np.asarray(path_mm, np.float64)
    num, steps = path.shape
    if not fluctuate:
        empty = np.zeros(0, np.int64)
        return TrackLoss(1e-3 * mean_loss_mev(stack, bg[:, None], path, mass_gev), empty, empty,
                         np.zeros(0))
    beta2, t_max = _kinematics(bg, mass_gev)
    _, xi_per_mm, _ = _per_mm(stack, bg, mass_gev)
    cut = DELTA_RAY_CUT_MEV
    xi = xi_per_mm[:, None] * path
    local = restricted_loss_mev(stack, bg[:, None], path, cut, mass_gev)
    spread = np.sqrt(xi * np.minimum(cut, t_max)[:, None] * (1.0 - 0.5 * beta2[:, None]))
    local = np.maximum(local + spread * rng.standard_normal(path.shape), 0.0)
    rate = xi * np.maximum(1.0 / cut - 1.0 / t_max, 0.0)[:, None]
    counts = rng.poisson(rate).ravel()
    where = np.repeat(np.arange(num * steps), counts)
    event, step = where // steps, where % steps
    u = rng.random((2, where.size))
    kinetic = 1.0 / (1.0 / cut - u[0] * (1.0 / cut - 1.0 / t_max[event]))
    keep = u[1] < 1.0 - beta2[event] * kinetic / t_max[event]
    return TrackLoss(1e-3 * local, event[keep], step[keep], 1e-3 * kinetic[keep])


def highland_variance(momentum_gev: np.ndarray, path_x0: np.ndarray) -> np.ndarray:
    """θ0² (rad²) of the plane-projected scattering angle after ``path_x0`` (PDG eq. 34.15)."""
    p = np.asarray(momentum_gev, np.float64)
    e = np.sqrt(p**2 + PION_MASS_GEV**2)
    x = np.maximum(np.asarray(path_x0, np.float64), 1e-12)
    theta = 1e-3 * HIGHLAND_MEV / (p * p / e) * np.sqrt(x) * (1.0 + 0.038 * np.log(x))
    return np.where(np.asarray(path_x0) > 0, theta**2, 0.0)


def scattered_track(energy_gev: np.ndarray, edges_mm: np.ndarray, x0_mm: float,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Multiple-scattering walk of a track through depth slices (one transverse coordinate).

    The θ0² of the Highland formula for the path up to each slice edge sets the variance added
    in each slice; within a slice of thickness s the angle changes by Δθ = σ z2 and the
    position by ``s·θ + s·σ (z1/√12 + z2/2)`` (PDG eq. 34.22), z1, z2 ~ N(0, 1).

    Args:
        energy_gev: [N] track energies (no energy loss along the path).
        edges_mm: [S + 1] slice boundaries along the track from its start.
        x0_mm: radiation length of the medium.
        rng: random generator.

    Returns:
        ([N, S] displacement at the middle of each slice, [N, S] angle at its exit), mm and rad.
    """
    p = np.sqrt(np.maximum(np.asarray(energy_gev, np.float64) ** 2 - PION_MASS_GEV**2, 1e-12))
    edges = np.asarray(edges_mm, np.float64)
    step = np.diff(edges)
    variance = highland_variance(p[:, None], (edges[1:] - edges[0])[None, :] / x0_mm)
    sigma = np.sqrt(np.maximum(np.diff(variance, axis=1, prepend=0.0), 0.0))  # [N, S]
    z = rng.standard_normal((2,) + sigma.shape)
    kick = sigma * z[1]
    angle = np.cumsum(kick, axis=1)
    before = angle - kick
    offset = step * sigma * (z[0] / math.sqrt(12.0) + 0.5 * z[1])
    exit_position = np.cumsum(step * before + offset, axis=1)
    entry_position = exit_position - step * before - offset
    return 0.5 * (entry_position + exit_position), angle


# --------------------------------------------------------------------------------------------
# First interaction and cascade


def bock_parameters(energy_gev: np.ndarray):
    """α_e, β_e, α_h, β_h, c of the Bock longitudinal profile (PHYSICS.md §4).

    Args:
        energy_gev: [M] shower energies (clamped to :data:`BOCK_ENERGY_RANGE_GEV`).

    Returns:
        five [M] arrays: EM part Gamma(α_e, rate β_e) in X0, hadronic part Gamma(α_h, rate β_h)
        in λ, and Bock's weight c of the EM part.
    """
    e = np.clip(np.asarray(energy_gev, np.float64), *BOCK_ENERGY_RANGE_GEV)
    a = np.log((0.35 + 0.09 * np.log(e)) * e)
    low = e < 10.0
    alpha_e = np.where(low, 1.08 + 0.24 * a, 1.30 + 0.255 * a)
    beta_e = np.where(low, 0.478 - 0.135 * a, 0.289 - 0.010 * a)
    alpha_h = np.where(low, 1.17 + 0.21 * a, 0.38 + 0.23 * a)
    beta_h = np.where(low, 2.10 - 0.72 * a, 0.83 - 0.049 * a)
    c = np.where(low, 0.751 - 0.177 * a, 0.509 - 0.021 * a)
    return alpha_e, beta_e, alpha_h, beta_h, c


def hadronic_radius_per_lambda(energy_gev: np.ndarray) -> np.ndarray:
    """``0.0124 + 0.359 − 0.0511 ln E`` (E clamped like Bock's): R per λ of depth, in λ."""
    e = np.clip(np.asarray(energy_gev, np.float64), *BOCK_ENERGY_RANGE_GEV)
    return 0.0124 + 0.359 - 0.0511 * np.log(e)


def mean_em_fraction(energy_gev: np.ndarray) -> np.ndarray:
    """f̄_em = 1 − (E/E0)^(k−1) of pion showers (E below 2 GeV: the 2 GeV value)."""
    e = np.maximum(np.asarray(energy_gev, np.float64), EM_FRACTION_MIN_GEV)
    return 1.0 - (e / EM_FRACTION_E0_GEV) ** (EM_FRACTION_K - 1.0)


def charge_exchange_probability(energy_gev: np.ndarray) -> np.ndarray:
    """P(π⁺n → π⁰p) per first interaction in lead: 0.4% (p/6 GeV)^−1.2, at most 5%."""
    p = np.maximum(np.asarray(energy_gev, np.float64), 0.3)
    return np.minimum(CHARGE_EXCHANGE_AT_6_GEV * (p / 6.0) ** -CHARGE_EXCHANGE_POWER, 0.05)


def mean_leading_fraction(energy_gev: np.ndarray) -> np.ndarray:
    """⟨x⟩: mean share of the first interaction's energy taken by a leading π⁰."""
    cex = charge_exchange_probability(energy_gev)
    return cex + (1.0 - cex) * LEADING_PI0_PROBABILITY / (LEADING_SPECTRUM_POWER + 2.0)


def sample_leading_pi0(energy_gev: np.ndarray, rng: np.random.Generator):
    """Leading-π⁰ share x of N first interactions (0: none) and whether it was charge exchange.

    Returns:
        ([N] x in [0, 1], [N] bool charge exchange (x = 1)).
    """
    energy = np.asarray(energy_gev, np.float64)
    u = rng.random((2, len(energy)))
    cex = u[0] < charge_exchange_probability(energy)
    lead = ~cex & (u[0] < charge_exchange_probability(energy) + LEADING_PI0_PROBABILITY)
    # (n+1)(1 − x)^n: x = 1 − U^{1/(n+1)}.
    x = np.where(lead, 1.0 - u[1] ** (1.0 / (LEADING_SPECTRUM_POWER + 1.0)), 0.0)
    return np.where(cex, 1.0, x), cex


def sample_beta(mean: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Beta draws with the given means (clipped to [0.02, 0.98]) and standard deviation."""
    m = np.clip(np.asarray(mean, np.float64), 0.02, 0.98)
    nu = np.maximum(m * (1.0 - m) / sigma**2 - 1.0, 1.0)
    return rng.beta(m * nu, (1.0 - m) * nu)


def sample_em_fraction(mean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Beta draws with the given means and standard deviation :data:`EM_FRACTION_SIGMA`."""
    return sample_beta(mean, EM_FRACTION_SIGMA, rng)


def diffuse(source: np.ndarray, edges: np.ndarray, length: float,
            extrapolation: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Spreads energy released in depth slices with a two-sided exponential kernel.

    A source at the middle c of its slice puts ``e^{−|z − c|/L}/(2L)`` at depth z: the slice
    keeps ``1 − e^{−w/2L}``, a slice i in front (or behind) gets ``½e^{−d/L}(1 − e^{−w_i/L})``
    with d the distance from c to its near edge; what crosses the first or last edge leaves.
    Computed by one recursive pass each way (exact for these kernels).

    The medium ends at the first and last edge. With ``extrapolation`` = d_e, the density
    vanishes d_e outside each face, as diffusion theory has it at a vacuum boundary: each source
    gets a negative image mirrored at that plane (first images only), which takes away the
    particles that would have come back from material that is not there.

    Args:
        source: [N, S] energy released per slice.
        edges: [N, S + 1] slice boundaries, in the units of ``length``.
        length: L.
        extrapolation: d_e (same units), or None for an infinite medium.

    Returns:
        ([N, S] energy per slice, [N] energy that left the stack).
    """
    width = np.diff(edges, axis=1)
    decay = np.exp(-width / length)
    half = np.exp(-0.5 * width / length)
    out = source * (1.0 - half)
    outgoing = 0.5 * source * half
    forward = np.zeros(len(source))
    for i in range(source.shape[1]):
        out[:, i] += forward * (1.0 - decay[:, i])
        forward = forward * decay[:, i] + outgoing[:, i]
    backward = np.zeros(len(source))
    for i in range(source.shape[1] - 1, -1, -1):
        out[:, i] += backward * (1.0 - decay[:, i])
        backward = backward * decay[:, i] + outgoing[:, i]
    if extrapolation is not None:
        # backward (forward) now holds Σ_j ½ q_j e^{−(distance of c_j to the front (back))/L}:
        # the image of source j lies 2 d_e further out than the face's mirror image of c_j.
        mirror = np.exp(-2.0 * extrapolation / length)
        from_front = np.exp(-(edges[:, :-1] - edges[:, :1]) / length)
        from_back = np.exp(-(edges[:, -1:] - edges[:, 1:]) / length)
        image = mirror * (backward[:, None] * from_front + forward[:, None] * from_back)
        out = np.maximum(out - image * (1.0 - decay), 0.0)
    return out, source.sum(axis=1) - out.sum(axis=1)


def neutron_halo_profile(length_mm: float, edges_mm: np.ndarray) -> np.ndarray:
    """Weights of the transverse neutron-halo density ``K0(ρ/L)/(2πL²)`` on a width grid.

    That density is the mixture of isotropic Gaussians of per-axis variance ``σ² = 2tL²``,
    t ~ Exp(1), so the mass of widths below σ is ``1 − exp(−σ²/2L²)``.

    Args:
        length_mm: L.
        edges_mm: [K − 1] inner width-bin edges (:func:`caloml.sim.lateral.width_grid`).

    Returns:
        [K] weights summing to 1.
    """
    below = 1.0 - np.exp(-np.asarray(edges_mm, np.float64) ** 2 / (2.0 * length_mm**2))
    return np.diff(below, prepend=0.0, append=1.0)


def mean_chord_mm(cell_mm: tuple[float, float, float]) -> float:
    """Cauchy's mean chord 4V/S of a box: mean path of isotropic tracks crossing it."""
    a, b, c = cell_mm
    return 4.0 * a * b * c / (2.0 * (a * b + b * c + c * a))


def hadron_deposit_gev(cell_mm: tuple[float, float, float], mip_gev_per_mm: float) -> float:
    """Mean energy one shower hadron leaves in a cell: its ionisation over the mean chord."""
    return HADRON_IONISATION_OVER_MIP * mip_gev_per_mm * mean_chord_mm(cell_mm)


@dataclasses.dataclass(frozen=True)
class PionShowers:
    """Pion showers of N events after their first interaction, by kind of deposit.

    All sub-shower collections hold N sub-showers (event i is row i) over the S depth slices.

    Attributes:
        em: EM part of the cascade (its many π⁰s), Bock EM profile, cascade kernel radius (or
            GFlash radii with ``gflash_em_lateral``).
        pi0: the leading π⁰ (zero energy without one): photon-like GFlash showers.
        ionisation: local non-EM deposits (charged hadrons, nuclear recoils), cascade kernel.
        halo_slice_gev: [N, S] deposits of the neutron halo (diffused, backsplash included);
            transverse profile :func:`neutron_halo_profile` of length ``halo_length_mm``.
        halo_length_mm: [S] diffusion length L of the halo in each slice's material.
        t_int_lambda: [N] path length to the first interaction, in λ_I (may lie behind the
            back).
        t_int_x0: [N] the same in X0 (``inf`` for pions that do not interact).
        mip_slice_gev: [N, S] energy lost by the pion as a track in each slice before it.
        invisible_gev: [N] nuclear binding energy (deposited nowhere).
        em_fraction: [N] EM share of the shower energy (leading π⁰ included).
        leading_fraction: [N] share of the leading π⁰ (1: charge exchange; 0: none).
        pi0_slope: [N, 2] dx/dz, dy/dz of the leading π⁰'s axis relative to the pion's.
        cascade_radius_mm: [N, S] R of the cascade kernel ``2rR²/(r²+R²)²`` at each slice:
            the lateral spread of the ionisation and of the axes of the EM part's π⁰ showers
            (whose own radii are ``em.core_radius_mm`` and ``em.tail_radius_mm``).
        cascade_angle_rad: [N] R per unit depth behind t_int: the scale of the (Student-t,
            ν = 2) angles of the cascade's secondaries to its axis.
        gflash_em_lateral: the :attr:`showers` view gives the EM part its GFlash radii alone
            (True) or spreads them over the cascade kernel (False).
    """

    em: gflash.Showers
    pi0: gflash.Showers
    ionisation: gflash.Showers
    halo_slice_gev: np.ndarray
    halo_length_mm: np.ndarray
    t_int_lambda: np.ndarray
    t_int_x0: np.ndarray
    mip_slice_gev: np.ndarray
    invisible_gev: np.ndarray
    em_fraction: np.ndarray
    leading_fraction: np.ndarray
    pi0_slope: np.ndarray
    cascade_radius_mm: np.ndarray
    cascade_angle_rad: np.ndarray
    gflash_em_lateral: bool = False

    @property
    def interacts(self) -> np.ndarray:
        return self.t_int_x0 < np.inf

    @property
    def showers(self) -> gflash.Showers:
        """The 2N-sub-shower view (event i: EM part 2i, hadronic part 2i + 1).

        For callers with one lateral kernel per component: the EM part's core holds the
        leading π⁰ (at its energy-weighted GFlash radius, ``p R_C + (1 − p) R_T``) and its
        tail the cascade's EM part; the hadronic part's core holds the ionisation and its
        tail the neutron halo, as the ``2rR²/(r²+R²)²`` kernel of the halo's median radius.
        """
        pi0, em, ion = self.pi0, self.em, self.ionisation
        p = pi0.core_fraction
        pi0_radius = p * pi0.core_radius_mm + (1 - p) * pi0.tail_radius_mm
        em_energy = em.slice_energy_gev + pi0.slice_energy_gev
        # With GFlash EM radii the cascade's EM part has its own core; it is given the tail.
        em_core_radius, em_tail_radius = em.core_radius_mm, em.tail_radius_mm
        if not self.gflash_em_lateral:
            # Widths of the π⁰ showers and of their axes' spread add in quadrature (exactly for
            # Gaussians).
            em_core_radius = np.hypot(em_core_radius, self.cascade_radius_mm)
            em_tail_radius = np.hypot(em_tail_radius, self.cascade_radius_mm)
        em_radius = em.core_fraction * em_core_radius + (1 - em.core_fraction) * em_tail_radius
        em_core = np.divide(pi0.slice_energy_gev, em_energy, out=np.zeros_like(em_energy),
                            where=em_energy > 0)
        had_energy = ion.slice_energy_gev + self.halo_slice_gev
        had_core = np.divide(ion.slice_energy_gev, had_energy, out=np.ones_like(had_energy),
                             where=had_energy > 0)
        halo_radius = np.broadcast_to(HALO_MEDIAN_OVER_LENGTH * self.halo_length_mm,
                                      had_energy.shape)
        return gflash.Showers(
            slice_energy_gev=_interleave(em_energy, had_energy),
            leakage_gev=_interleave(em.leakage_gev + pi0.leakage_gev, ion.leakage_gev),
            core_radius_mm=_interleave(pi0_radius, ion.core_radius_mm),
            tail_radius_mm=_interleave(em_radius, halo_radius),
            core_fraction=_interleave(em_core, had_core),
            slice_spots=_interleave(em.slice_spots + pi0.slice_spots, ion.slice_spots),
            shower_max_x0=_interleave(em.shower_max_x0, ion.shower_max_x0),
        )


def _interleave(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.stack([a, b], axis=1).reshape(2 * len(a), *a.shape[1:])


def _depth_at(edges_from: np.ndarray, edges_to: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """[N] depth in the units of ``edges_to`` of [N] ``depth`` in those of ``edges_from``.

    Both edge arrays are [N, S + 1] boundaries of the same slices; the map is linear inside a
    slice (a slice of zero thickness in ``edges_from``, an air gap in λ, is skipped).
    """
    num_slices = edges_from.shape[1] - 1
    index = np.clip((edges_from[:, 1:-1] <= depth[:, None]).sum(axis=1), 0, num_slices - 1)
    rows = np.arange(len(depth))
    low, high = edges_from[rows, index], edges_from[rows, index + 1]
    frac = np.clip(np.divide(depth - low, high - low, out=np.ones_like(depth),
                             where=high > low), 0.0, 1.0)
    return edges_to[rows, index] + frac * (edges_to[rows, index + 1] - edges_to[rows, index])


def crossed_fraction(edges_lambda: np.ndarray, t_int_lambda: np.ndarray) -> np.ndarray:
    """[N, S] share of each slice the pion crosses before its first interaction."""
    thickness = np.diff(edges_lambda, axis=1)
    before = (t_int_lambda[:, None] > edges_lambda[:, :-1]).astype(np.float64)
    return np.clip(np.divide(t_int_lambda[:, None] - edges_lambda[:, :-1], thickness,
                             out=before, where=thickness > 0), 0.0, 1.0)


def sample_first_interaction(num: int, rng: np.random.Generator) -> np.ndarray:
    """[N] depth of the first inelastic interaction, Exp(λ_π) in λ_I."""
    return rng.exponential(PION_LAMBDA_OVER_LAMBDA_I, size=num)


def _subset_showers(full_size: int, rows: np.ndarray, showers: gflash.Showers,
                    num_slices: int) -> gflash.Showers:
    """Showers of ``rows`` scattered into ``full_size`` rows of empty showers."""
    def spread(values, fill, per_slice):
        shape = (full_size, num_slices) if per_slice else (full_size,)
        out = np.full(shape, fill, np.float64)
        out[rows] = values
        return out

    return gflash.Showers(
        slice_energy_gev=spread(showers.slice_energy_gev, 0.0, True),
        leakage_gev=spread(showers.leakage_gev, 0.0, False),
        core_radius_mm=spread(showers.core_radius_mm, 1.0, True),
        tail_radius_mm=spread(showers.tail_radius_mm, 1.0, True),
        core_fraction=spread(showers.core_fraction, 1.0, True),
        slice_spots=spread(showers.slice_spots, 0.0, True),
        shower_max_x0=spread(showers.shower_max_x0, np.inf, False),
        slice_depth_x0=spread(showers.slice_depth_x0, 0.0, True),
        particles_max=spread(showers.particles_max, 1.0, False),
        moliere_radius_mm=showers.moliere_radius_mm,
    )


def simulate_pions(
    energy_gev: np.ndarray,
    edges_x0: np.ndarray,
    edges_lambda: np.ndarray,
    mm_per_lambda: np.ndarray,
    mip_gev: np.ndarray,
    material: Material,
    rng: np.random.Generator,
    gflash_em_lateral: bool = False,
    *,
    t_int_lambda: np.ndarray | None = None,
    mip_loss_gev: np.ndarray | None = None,
) -> PionShowers:
    """Samples N charged-pion showers and integrates them over depth slices.

    Depths are measured along the pion's path from the calorimeter face. The pion loses
    ``mip_gev`` in each slice it crosses before ``t_int ~ Exp(1.2 λ_I)``
    (:data:`PION_LAMBDA_OVER_LAMBDA_I`; the caller places the track); the shower starts at
    ``t_int`` with the rest of the energy, ``E − track loss``. Per event, visible slice energies
    + track loss + invisible energy + leakage = E.

    Args:
        energy_gev: [N] incident energies.
        edges_x0: [S + 1] or [N, S + 1] slice boundaries in X0 from 0 to the back.
        edges_lambda: the same boundaries in nuclear interaction lengths λ_I.
        mm_per_lambda: [S] λ_I (mm) of the material of each slice, converting the hadronic
            radius and the halo's diffusion length from λ to mm.
        mip_gev: [S] or [N, S] mean energy a MIP loses crossing each whole slice (scaled by the
            share of a slice crossed); ignored if ``mip_loss_gev`` is given.
        material: the (effective) medium of the EM showers' GFlash parameters.
        rng: random generator.
        gflash_em_lateral: in the :attr:`PionShowers.showers` view, give the cascade's EM part
            the (narrow) GFlash radial profile of its π⁰ showers alone, without the spread of
            their axes over the cascade kernel.
        t_int_lambda: [N] first-interaction depths (default: drawn here).
        mip_loss_gev: [N, S] the track's actual loss in each slice (e.g. Landau-fluctuated;
            zero behind ``t_int_lambda``, which must then be given).
    """
    energy = np.asarray(energy_gev, np.float64)
    num = len(energy)
    edges_x0 = np.broadcast_to(np.asarray(edges_x0, np.float64), (num, np.shape(edges_x0)[-1]))
    edges_lambda = np.broadcast_to(np.asarray(edges_lambda, np.float64), edges_x0.shape)
    num_slices = edges_x0.shape[1] - 1
    mm_per_lambda = np.broadcast_to(np.asarray(mm_per_lambda, np.float64), (num_slices,))
    if t_int_lambda is None:
        if mip_loss_gev is not None:
            raise ValueError("mip_loss_gev needs the t_int_lambda it was drawn for")
        t_int_lambda = sample_first_interaction(num, rng)
    t_int = np.asarray(t_int_lambda, np.float64)
    interacts = t_int < edges_lambda[:, -1]
    if mip_loss_gev is None:
        mip = np.asarray(mip_gev, np.float64) * crossed_fraction(edges_lambda, t_int)
    else:
        mip = np.asarray(mip_loss_gev, np.float64)
    shower_energy = np.where(interacts, np.maximum(energy - mip.sum(axis=1), 0.0), 0.0)

    # First interaction: a leading π⁰ takes x of the energy, its other π⁰s a share f1 of the
    # rest; the later generations of the cascade turn (f̄ − f̄1)/(1 − f̄1) of what is left into
    # π⁰s, so that the mean EM fraction is f̄.
    leading, _ = sample_leading_pi0(shower_energy, rng)
    leading = np.where(interacts, leading, 0.0)
    pi0_energy = leading * shower_energy
    rest_energy = shower_energy - pi0_energy
    mean_em = mean_em_fraction(shower_energy)
    mean_first = np.minimum(mean_em, FIRST_GENERATION_PI0_SHARE)
    mean_x = mean_leading_fraction(shower_energy)
    first = sample_em_fraction((mean_first - mean_x) / (1.0 - mean_x), rng)
    early_em = first * rest_energy
    cascade = rest_energy - early_em
    late_em = cascade * (mean_em - mean_first) / (1.0 - mean_first)
    em_energy = early_em + late_em
    non_em_energy = cascade - late_em
    pt = LEADING_MEAN_PT_GEV / math.sqrt(0.5 * np.pi) * rng.standard_normal((num, 2))
    pi0_slope = np.clip(pt / np.maximum(pi0_energy, 1e-3)[:, None], -0.5, 0.5)

    t_int_x0 = _depth_at(edges_lambda, edges_x0, np.minimum(t_int, edges_lambda[:, -1]))
    alpha_e, beta_e, alpha_h, beta_h, _ = bock_parameters(rest_energy)
    scale = 1.0 + rng.random(num)
    local_x0 = np.maximum(edges_x0 - t_int_x0[:, None], 0.0)  # [N, S+1]
    em_cdf = special.gammainc(alpha_e[:, None], beta_e[:, None] * local_x0)
    local_lambda = np.maximum(edges_lambda - t_int[:, None], 0.0)
    had_cdf = special.gammainc(alpha_h[:, None], beta_h[:, None] * local_lambda)
    had_share = np.diff(had_cdf, axis=1)
    em_slices = early_em[:, None] * np.diff(em_cdf, axis=1) + late_em[:, None] * had_share
    released = non_em_energy[:, None] * had_share  # non-EM energy per slice
    ionisation = IONISATION_SHARE * released
    invisible = INVISIBLE_SHARE * released.sum(axis=1)
    halo_length_lambda = NEUTRON_DIFFUSION_LAMBDA
    halo, escaped = diffuse(NEUTRON_SHARE * released, edges_lambda, halo_length_lambda,
                            NEUTRON_EXTRAPOLATION_LAMBDA)

    # Cascade kernel: radius R(d_λ) at the slice centre behind t_int.
    middle_lambda = 0.5 * (local_lambda[:, :-1] + local_lambda[:, 1:])
    r_had = (scale * hadronic_radius_per_lambda(rest_energy))[:, None] * middle_lambda
    r_had = np.maximum(r_had * mm_per_lambda, 1e-3)
    # The EM part is made of π⁰ showers, each with the core and photon tail of GFlash (at the
    # reduced depth of a shower of the EM energy) around its own axis; the axes are spread over
    # the cascade kernel.
    mean_ln_t, *_ = gflash.mean_log_parameters(em_energy, material)
    middle_x0 = 0.5 * (local_x0[:, :-1] + local_x0[:, 1:])
    tau = middle_x0 / np.exp(mean_ln_t)[:, None]
    r_core, r_tail, p = gflash.radial_parameters(em_energy[:, None], tau, material)
    r_core = r_core * material.moliere_radius_mm
    r_tail = r_tail * material.moliere_radius_mm
    em_spots = (gflash.num_spots(em_energy, material) / np.maximum(em_energy, 1e-12))[:, None] * (
        em_slices)
    em_deposit = em_slices.sum(axis=1)
    em = gflash.Showers(
        slice_energy_gev=em_slices, leakage_gev=em_energy - em_deposit, core_radius_mm=r_core,
        tail_radius_mm=r_tail, core_fraction=p, slice_spots=em_spots,
        shower_max_x0=t_int_x0 + (alpha_e - 1.0) / beta_e,
    )
    ion = gflash.Showers(
        slice_energy_gev=ionisation,
        # Non-EM energy released behind the back (all of it) and the halo that left.
        leakage_gev=non_em_energy * (1.0 - had_cdf[:, -1]) + escaped,
        core_radius_mm=r_had, tail_radius_mm=r_had, core_fraction=np.ones_like(r_had),
        slice_spots=ionisation / HADRONIC_SPOT_GEV,
        shower_max_x0=_depth_at(edges_lambda, edges_x0, t_int + (alpha_h - 1.0) / beta_h),
    )

    has_pi0 = np.flatnonzero(pi0_energy > 0)
    start = t_int_x0[has_pi0] + rng.exponential(PI0_CONVERSION_X0, size=has_pi0.size)
    pi0 = _subset_showers(num, has_pi0, gflash.simulate_longitudinal(
        pi0_energy[has_pi0], start, edges_x0[has_pi0], material, rng), num_slices)

    em_total = em_energy + pi0_energy
    em_fraction = np.divide(em_total, shower_energy, out=np.zeros(num), where=shower_energy > 0)
    return PionShowers(
        em=em, pi0=pi0, ionisation=ion, halo_slice_gev=halo,
        halo_length_mm=halo_length_lambda * mm_per_lambda,
        t_int_lambda=t_int, t_int_x0=np.where(interacts, t_int_x0, np.inf),
        mip_slice_gev=mip, invisible_gev=invisible, em_fraction=em_fraction,
        leading_fraction=leading, pi0_slope=pi0_slope, cascade_radius_mm=r_had,
        cascade_angle_rad=scale * hadronic_radius_per_lambda(rest_energy),
        gflash_em_lateral=gflash_em_lateral,
    )
