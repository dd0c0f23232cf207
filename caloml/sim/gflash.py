"""Grindhammer–Peters (GFlash) parameterisation of electromagnetic showers, vectorised.

Formulas and constants: ``shared/PHYSICS.md`` §1 (homogeneous media). Every function works on
N sub-showers at once; energies in GeV, depths in radiation lengths X0 measured from the face
of the calorimeter, radii in mm.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import special

from caloml.sim.materials import Material

# GFlash parametrises e± of 0.1 GeV–10 TeV (PHYSICS.md §1.5); softer photons of asymmetric pi0
# decays are simulated with the 0.1 GeV parameters (their energy is still their own).
MIN_PARAMETRISED_GEV = 0.1
# Mean photon conversion depth 9/7 X0 (PHYSICS.md §1.5, GFlash GenerateExponential).
PHOTON_CONVERSION_X0 = 9.0 / 7.0
# Geant4 clamps (PHYSICS.md §1.3): sigma of the log-normal fluctuations and the minimum alpha.
MAX_LOG_SIGMA = 0.5
MIN_ALPHA = 1.1
# Share of the shower energy carried to its deposit by photons near the Compton minimum of the
# attenuation, which travel Exp(attenuation_x0) (≈ 3.4 X0 in lead) before they deposit it. A Gamma
# profile falls off as exp(−βt) with 1/β ≈ 2 X0, so behind ~3 T the tail of a real shower is these
# photons' (PDG "Passage of particles through matter", §34.5: the deep tail is set by photons at
# the minimum of the attenuation). The Gamma fits of GFlash describe the bulk and miss that tail;
# 3% of the energy brings the energy behind 28 X0 of the CaloGAN stack (its layer 2) towards
# Geant4's: 1.3e-3 of E for e⁺ at 1–100 GeV against Geant4's 1.5e-3 (the histograms of
# caloml/simreport/reference/calogan_geant4.json; at 50 GeV 1.4e-3 with the tail, 1.2e-3 without),
# and shifts the mean depth by 0.1 X0, within the GFlash fits' spread.
PENETRATING_FRACTION = 0.03


@dataclasses.dataclass(frozen=True)
class Showers:
    """Longitudinal shape and radial profile of M sub-showers, per depth slice.

    Shapes: ``[M]`` per shower, ``[M, S]`` per shower and slice.

    Attributes:
        slice_energy_gev: energy deposited in each depth slice.
        leakage_gev: energy behind the back face (longitudinal leakage).
        core_radius_mm, tail_radius_mm: R_C·R_M and R_T·R_M at the slice centre.
        core_fraction: p(τ), the share of the slice energy in the core.
        slice_spots: mean number of GFlash spots in each slice (from the spot profile), for
            spot energies of groups of slices (:func:`caloml.sim.deposit.group_spot_energy`).
        shower_max_x0: depth of the individual shower maximum, start + T, from the face.
        slice_depth_x0: depth of the middle of each slice behind the shower start (0 for
            slices in front of it), X0.
        particles_max: E/E_c, the number of shower particles at the maximum (Heitler).
        moliere_radius_mm: R_M of the medium.
        start_particles: particles the shower starts with (e±: 1; a converted photon: 2).
        (The last three but one are None for showers that are not GFlash electron showers.)
    """

    slice_energy_gev: np.ndarray
    leakage_gev: np.ndarray
    core_radius_mm: np.ndarray
    tail_radius_mm: np.ndarray
    core_fraction: np.ndarray
    slice_spots: np.ndarray
    shower_max_x0: np.ndarray
    slice_depth_x0: np.ndarray | None = None
    particles_max: np.ndarray | None = None
    moliere_radius_mm: float | None = None
    start_particles: float = 1.0


def _inverse_sigma(denominator: np.ndarray) -> np.ndarray:
    """1/denominator clamped to MAX_LOG_SIGMA (also where the fitted line turns negative)."""
    return 1.0 / np.maximum(denominator, 1.0 / MAX_LOG_SIGMA)


def mean_log_parameters(energy_gev: np.ndarray, material: Material):
    """<ln T>, <ln α>, σ(ln T), σ(ln α), ρ of individual showers (PHYSICS.md §1.2).

    For a sampling calorimeter (``material.is_sampling``) the sampling forms of PHYSICS.md §1.3:
    ``<ln T> = ln(exp<ln T_hom> − 0.55/F_s − 0.69(1−ê))``, ``<ln α> = ln(exp<ln α_hom> −
    0.476/F_s)`` (not CMS's division by Z, quirk 5), their own σ and ρ, and the Geant4 clamps.
    """
    e = np.maximum(np.asarray(energy_gev, np.float64), MIN_PARAMETRISED_GEV)
    ln_y = np.log(e * 1000.0 / material.critical_energy_mev)
    z = material.z_eff
    t_hom = ln_y - 0.812
    alpha_hom = 0.81 + (0.458 + 2.26 / z) * ln_y
    if not material.is_sampling:
        return (np.log(t_hom), np.log(alpha_hom), _inverse_sigma(-1.4 + 1.26 * ln_y),
                _inverse_sigma(-0.58 + 0.86 * ln_y), 0.705 - 0.023 * ln_y)
    f_s, e_hat = material.sampling_frequency, material.e_over_mip
    # Geant4 keeps the logs at >= 0.1 (PHYSICS.md §1.3, clamps).
    mean_ln_t = np.maximum(np.log(np.maximum(t_hom - 0.55 / f_s - 0.69 * (1 - e_hat), 1e-3)),
                           0.1)
    mean_ln_alpha = np.maximum(np.log(np.maximum(alpha_hom - 0.476 / f_s, 1e-3)), 0.1)
    return (mean_ln_t, mean_ln_alpha, _inverse_sigma(-2.5 + 1.25 * ln_y),
            _inverse_sigma(-0.82 + 0.79 * ln_y), 0.784 - 0.023 * ln_y)


def sample_profiles(energy_gev: np.ndarray, material: Material, rng: np.random.Generator):
    """Draws correlated (T, α) of individual showers (GFlash ``GenerateEnergyProfile``).

    Returns:
        t_max [M] (depth of maximum in X0 from the shower start), alpha [M], and
        mean_alpha [M] = exp<ln α>, needed by the radial profile's τ.
    """
    mean_ln_t, mean_ln_alpha, s_t, s_a, rho = mean_log_parameters(energy_gev, material)
    z1, z2 = rng.standard_normal((2, np.size(energy_gev)))
    common = np.sqrt((1.0 + rho) / 2.0) * z1
    differential = np.sqrt((1.0 - rho) / 2.0) * z2
    t_max = np.exp(mean_ln_t + s_t * (common + differential))
    if material.is_sampling:
        t_max = np.maximum(t_max, 1.0)  # Geant4's sampling clamp T >= 1
    alpha = np.maximum(np.exp(mean_ln_alpha + s_a * (common - differential)), MIN_ALPHA)
    return t_max, alpha, np.exp(mean_ln_alpha)


def radial_parameters(energy_gev: np.ndarray, tau: np.ndarray, material: Material):
    """R_C(τ), R_T(τ) in Molière radii and p(τ) (PHYSICS.md §1.4, Geant4 k4).

    Args:
        energy_gev: [M, 1] (or broadcastable) shower energies.
        tau: [M, S] reduced depths.
    """
    ln_e = np.log(np.maximum(energy_gev, MIN_PARAMETRISED_GEV))
    z = material.z_eff
    r_core = (0.0251 + 0.00319 * ln_e) + (0.1162 - 0.000381 * z) * tau
    k1, k2, k3, k4 = 0.659 - 0.00309 * z, 0.645, -2.59, 0.3585 + 0.0412 * ln_e
    r_tail = k1 * (np.exp(k3 * (tau - k2)) + np.exp(k4 * (tau - k2)))
    p1, p2, p3 = 2.632 - 0.00094 * z, 0.401 + 0.00187 * z, 1.313 - 0.0686 * ln_e
    arg = (p2 - tau) / p3
    p = p1 * np.exp(arg - np.exp(arg))
    if material.is_sampling:
        # Sampling corrections (PHYSICS.md §1.3).
        inv_fs, one_minus_e = 1.0 / material.sampling_frequency, 1.0 - material.e_over_mip
        r_core = r_core - 0.0203 * one_minus_e + 0.0397 * inv_fs * np.exp(-tau)
        r_tail = r_tail - 0.14 * one_minus_e - 0.495 * inv_fs * np.exp(-tau)
        p = p + one_minus_e * (0.348 - 0.642 * inv_fs * np.exp(-((tau - 1.0) ** 2)))
    return r_core, r_tail, np.clip(p, 0.0, 1.0)


def num_spots(energy_gev: np.ndarray, material: Material) -> np.ndarray:
    """Mean number of GFlash spots in a homogeneous medium, 93 ln(Z) E^0.876 (§1.5)."""
    return 93.0 * material.ln_z * np.maximum(energy_gev, MIN_PARAMETRISED_GEV) ** 0.876


def profile_cdf(alpha, beta, depth_x0, attenuation_x0: float | None):
    """CDF of the deposited energy at ``depth_x0`` behind the start ([M, S+1]).

    ``(1 − f)·P(α, βt) + f·F(t)``: the Gamma profile, with the share f =
    :data:`PENETRATING_FRACTION` deposited one Exp(λ) photon flight later, λ = ``attenuation_x0``.
    F, the CDF of Gamma(α, β) + Exp(1/λ), is ``P(α, βt) − e^{−t/λ} (β/(β−1/λ))^α P(α, (β−1/λ)t)``;
    showers whose own fall-off is slower than the photons' (β ≤ 1.25/λ, very long profiles) use
    the rate β/1.25 instead, for which the formula stays finite and the convolution changes little.
    """
    gamma = special.gammainc(alpha[:, None], beta[:, None] * depth_x0)
    if attenuation_x0 is None:
        return gamma
    mu = np.minimum(1.0 / attenuation_x0, beta / 1.25)[:, None]
    b = beta[:, None]
    a = alpha[:, None]
    delayed = gamma - np.exp(-mu * depth_x0 + a * np.log(b / (b - mu))) * special.gammainc(
        a, (b - mu) * depth_x0)
    return (1.0 - PENETRATING_FRACTION) * gamma + PENETRATING_FRACTION * np.maximum(delayed, 0.0)


def simulate_longitudinal(
    energy_gev: np.ndarray,
    start_x0: np.ndarray,
    slice_edges_x0: np.ndarray,
    material: Material,
    rng: np.random.Generator,
    start_particles: float = 1.0,
) -> Showers:
    """Samples M individual showers and integrates them over depth slices.

    The energy of slice [t_a, t_b] is E·[P(α, β(t_b − t0)) − P(α, β(t_a − t0))] with P the
    regularised lower incomplete gamma function, so slice energies plus ``leakage_gev`` add
    up to E exactly. Radial parameters are taken at the reduced depth τ of the middle of the
    part of each slice that lies behind the shower start.

    Args:
        energy_gev: [M] sub-shower energies.
        start_x0: [M] depth of the shower start (photon conversion) from the face, in X0.
        slice_edges_x0: [S + 1] increasing slice boundaries from 0 to the calorimeter depth,
            or [M, S + 1] per sub-shower (depths along an inclined path).
        material: the medium.
        rng: random generator.
        start_particles: 1 for e±, 2 for photons (the pair they convert into).
    """
    energy = np.asarray(energy_gev, np.float64)
    t_max, alpha, mean_alpha = sample_profiles(energy, material, rng)
    beta = (alpha - 1.0) / t_max
    local = np.maximum(np.atleast_2d(slice_edges_x0) - start_x0[:, None], 0.0)  # [M, S+1]
    cdf = profile_cdf(alpha, beta, local, material.attenuation_x0)
    slice_energy = energy[:, None] * np.maximum(np.diff(cdf, axis=1), 0.0)
    leakage = energy * (1.0 - cdf[:, -1])

    middle = 0.5 * (local[:, :-1] + local[:, 1:])
    tau = (middle / t_max[:, None]) * ((alpha - 1.0) / alpha * mean_alpha / (mean_alpha - 1.0))[
        :, None
    ]
    r_core, r_tail, p = radial_parameters(energy[:, None], tau, material)

    # Spots follow their own, earlier profile (T_s, α_s); a slice's spots share its energy
    # (:func:`caloml.sim.deposit.group_spot_energy` turns them into each layer's spot energy).
    z = material.z_eff
    t_spot = t_max * (0.698 + 0.00212 * z)
    alpha_spot = np.maximum(alpha * (0.639 + 0.00334 * z), MIN_ALPHA)
    beta_spot = (alpha_spot - 1.0) / t_spot
    spot_share = np.diff(special.gammainc(alpha_spot[:, None], beta_spot[:, None] * local), axis=1)
    spots = num_spots(energy, material)[:, None] * spot_share

    rm = material.moliere_radius_mm
    return Showers(
        slice_energy_gev=slice_energy,
        leakage_gev=leakage,
        core_radius_mm=r_core * rm,
        tail_radius_mm=r_tail * rm,
        core_fraction=p,
        slice_spots=spots,
        shower_max_x0=start_x0 + t_max,
        slice_depth_x0=middle,
        particles_max=np.maximum(energy, MIN_PARAMETRISED_GEV) * 1000.0
        / material.critical_energy_mev,
        moliere_radius_mm=rm,
        start_particles=float(start_particles),
    )
