"""A toy for charged-pion showers (PHYSICS.md §4): MIP track, Bock profile, wide lateral spread.

A charged pion enters at the face and travels as a minimum-ionising particle (MIP) until its
first inelastic interaction at ``t_int ~ Exp(λ_π)``; pions with ``t_int`` behind the back face
cross the whole stack as MIPs. After ``t_int`` the shower follows the Bock et al. (1981)
parameterisation as used by CMS FastSim ``HDShower`` (PHYSICS.md §4): an electromagnetic part,
Gamma-distributed in radiation lengths, with fraction ``c``, and a hadronic part,
Gamma-distributed in nuclear interaction lengths. Both are integrated over the depth slices of
a geometry with the regularised incomplete gamma function, so every slice's energy is exact.

Per shower:

* the EM fraction fluctuates as a Beta variable of mean ``c`` and standard deviation
  :data:`EM_FRACTION_SIGMA`;
* non-compensation: only ``1/(e/h)`` of the hadronic part is deposited (:data:`E_OVER_H`); the
  rest (nuclear binding, neutrinos, slow neutrons) is invisible and never deposited;
* lateral width: the ``2rR²/(r²+R²)²`` kernel with ``R = s·(0.0124 + 0.359 − 0.0511 ln E)·d_λ``
  λ, growing linearly with the depth ``d_λ`` behind ``t_int`` (taken at the slice centre), and
  ``s = 1 + U(0, 1)`` per shower. As in CMS FastSim ``HDShower::makeSteps`` (``rlamStep`` is
  applied to each step's whole energy ``eStep``), the EM part gets this kernel too: the π⁰s of
  a hadronic shower are produced all over its width. ``gflash_em_lateral=True`` gives the EM
  part the (narrow) GFlash profile of an electron shower instead; then a π⁺ in the CaloGAN
  stack is only slightly wider than a positron (layer-1 RMS radius 44 vs 40 mm at 50 GeV).
  CMS truncates the kernel at 4R; caloml does not (the truncation would move ≈ 6% of each
  slice's energy from beyond 4R to inside it).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import special

from caloml.sim import gflash
from caloml.sim.materials import Material

# λ_π ≈ 1.2 λ_I in heavy absorbers (PHYSICS.md §2 notes and §4, [mem]). With the CaloGAN
# stack's λ_I = 374 mm this gives λ_π = 449 mm, and exp(−480/449) = 0.34 of the pions cross the
# 480 mm stack without interacting (PHYSICS.md §5: "about 30–35%").
PION_LAMBDA_OVER_LAMBDA_I = 1.2
# e/h of Pb/LAr: 1.3–1.6 (PHYSICS.md §4, [mem]); the middle of the range.
E_OVER_H = 1.4
# Standard deviation of the per-shower EM fraction around Bock's c (PHYSICS.md §4: "Beta spread
# (σ ≈ 0.1)").
EM_FRACTION_SIGMA = 0.1
# Energy of the hadronic spots whose count fluctuates per cell (CMS FastSim eSpotSize,
# PHYSICS.md §4 HSParameters).
HADRONIC_SPOT_GEV = 0.2
# Bock's parameters are clamped to this energy range (CMSJET/HDShower, PHYSICS.md §4).
BOCK_ENERGY_RANGE_GEV = (2.0, 500.0)


def bock_parameters(energy_gev: np.ndarray):
    """α_e, β_e, α_h, β_h, c of the Bock longitudinal profile (PHYSICS.md §4).

    Args:
        energy_gev: [M] shower energies (clamped to :data:`BOCK_ENERGY_RANGE_GEV`).

    Returns:
        five [M] arrays: EM part Gamma(α_e, rate β_e) in X0, hadronic part Gamma(α_h, rate β_h)
        in λ, and the EM fraction c.
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


def sample_em_fraction(mean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Beta draws with the given means and standard deviation :data:`EM_FRACTION_SIGMA`."""
    m = np.clip(np.asarray(mean, np.float64), 0.02, 0.98)
    nu = np.maximum(m * (1.0 - m) / EM_FRACTION_SIGMA**2 - 1.0, 1.0)
    return rng.beta(m * nu, (1.0 - m) * nu)


@dataclasses.dataclass(frozen=True)
class PionShowers:
    """Pion showers of N events after their first interaction, as two sub-showers each.

    Attributes:
        showers: 2N sub-showers (event i: EM part 2i, hadronic part 2i + 1) of visible
            energy, for :mod:`caloml.sim.deposit` with ``per_event=2``.
        t_int_lambda: [N] path length to the first interaction, in λ_I (may lie behind the
            back).
        mip_slice_gev: [N, S] energy lost by the pion as a MIP in each slice before it.
        invisible_gev: [N] energy lost to non-compensation (deposited nowhere).
    """

    showers: gflash.Showers
    t_int_lambda: np.ndarray
    mip_slice_gev: np.ndarray
    invisible_gev: np.ndarray


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


def simulate_pions(
    energy_gev: np.ndarray,
    edges_x0: np.ndarray,
    edges_lambda: np.ndarray,
    mm_per_lambda: np.ndarray,
    mip_gev: np.ndarray,
    material: Material,
    rng: np.random.Generator,
    gflash_em_lateral: bool = False,
) -> PionShowers:
    """Samples N charged-pion showers and integrates them over depth slices.

    Depths are measured along the pion's path from the calorimeter face. The pion loses
    ``mip_gev`` in each slice it crosses before ``t_int ~ Exp(1.2 λ_I)``
    (:data:`PION_LAMBDA_OVER_LAMBDA_I`; the caller places the track); the shower starts at
    ``t_int`` with the rest of the energy, ``E − MIP loss``. Per event, visible slice energies
    + MIP loss + invisible energy + energy behind the back = E.

    Args:
        energy_gev: [N] incident energies.
        edges_x0: [S + 1] or [N, S + 1] slice boundaries in X0 from 0 to the back.
        edges_lambda: the same boundaries in nuclear interaction lengths λ_I.
        mm_per_lambda: [S] λ_I (mm) of the material of each slice, converting the hadronic
            radius from λ to mm.
        mip_gev: [S] or [N, S] energy a MIP loses crossing each whole slice.
        material: the (effective) medium of the EM part's GFlash parameters.
        rng: random generator.
        gflash_em_lateral: give the EM part the (narrow) GFlash radial profile of an electron
            shower instead of the hadronic kernel.
    """
    energy = np.asarray(energy_gev, np.float64)
    num = len(energy)
    edges_x0 = np.broadcast_to(np.asarray(edges_x0, np.float64), (num, np.shape(edges_x0)[-1]))
    edges_lambda = np.broadcast_to(np.asarray(edges_lambda, np.float64), edges_x0.shape)
    t_int = rng.exponential(PION_LAMBDA_OVER_LAMBDA_I, size=num)
    interacts = t_int < edges_lambda[:, -1]
    thickness = np.diff(edges_lambda, axis=1)
    crossed = np.clip(np.divide(t_int[:, None] - edges_lambda[:, :-1], thickness,
                                out=(t_int[:, None] > edges_lambda[:, :-1]).astype(np.float64),
                                where=thickness > 0), 0.0, 1.0)
    mip = np.asarray(mip_gev, np.float64) * crossed  # [N, S]
    shower_energy = np.where(interacts, np.maximum(energy - mip.sum(axis=1), 0.0), 0.0)

    alpha_e, beta_e, alpha_h, beta_h, c = bock_parameters(shower_energy)
    em_fraction = sample_em_fraction(c, rng)
    scale = 1.0 + rng.random(num)
    em_energy = em_fraction * shower_energy
    had_energy = (1.0 - em_fraction) * shower_energy

    t_int_x0 = _depth_at(edges_lambda, edges_x0, np.minimum(t_int, edges_lambda[:, -1]))
    local_x0 = np.maximum(edges_x0 - t_int_x0[:, None], 0.0)  # [N, S+1]
    em_cdf = special.gammainc(alpha_e[:, None], beta_e[:, None] * local_x0)
    local_lambda = np.maximum(edges_lambda - t_int[:, None], 0.0)
    had_cdf = special.gammainc(alpha_h[:, None], beta_h[:, None] * local_lambda)
    # Only the hadronic energy released inside the stack counts as invisible; what is behind
    # the back is leakage, visible or not.
    invisible = had_energy * (1.0 - 1.0 / E_OVER_H) * had_cdf[:, -1]
    em_slices = em_energy[:, None] * np.diff(em_cdf, axis=1)
    had_slices = (had_energy / E_OVER_H)[:, None] * np.diff(had_cdf, axis=1)

    # Hadronic kernel: radius R(d_λ) at the slice centre behind t_int; spots of
    # HADRONIC_SPOT_GEV.
    middle_lambda = 0.5 * (local_lambda[:, :-1] + local_lambda[:, 1:])
    r_had = (scale * hadronic_radius_per_lambda(shower_energy))[:, None] * middle_lambda
    r_had = r_had * np.asarray(mm_per_lambda, np.float64)
    had_spots = had_slices / HADRONIC_SPOT_GEV
    # EM spots follow the energy profile (Bock gives no separate spot profile).
    em_spots = gflash.num_spots(em_energy, material)[:, None] * np.diff(em_cdf, axis=1)
    if gflash_em_lateral:
        # GFlash radial profile at the reduced depth of an electron shower of the EM energy.
        mean_ln_t, *_ = gflash.mean_log_parameters(em_energy, material)
        middle_x0 = 0.5 * (local_x0[:, :-1] + local_x0[:, 1:])
        tau = middle_x0 / np.exp(mean_ln_t)[:, None]
        r_core, r_tail, p = gflash.radial_parameters(em_energy[:, None], tau, material)
        r_core = r_core * material.moliere_radius_mm
        r_tail = r_tail * material.moliere_radius_mm
    else:
        # CMS HDShower: each depth step's whole energy (EM + hadronic) gets the R(d_λ) kernel.
        r_core, r_tail, p = r_had, r_had, np.ones_like(r_had)

    em_deposit = em_slices.sum(axis=1)
    had_deposit = had_slices.sum(axis=1)
    showers = gflash.Showers(
        slice_energy_gev=_interleave(em_slices, had_slices),
        leakage_gev=_interleave(em_energy - em_deposit,
                                had_energy - had_deposit - invisible),
        core_radius_mm=_interleave(r_core, r_had),
        tail_radius_mm=_interleave(r_tail, r_had),
        core_fraction=_interleave(p, np.ones_like(r_had)),
        spot_energy_gev=np.full(2 * num, HADRONIC_SPOT_GEV),  # unused: per layer instead
        slice_spots=_interleave(em_spots, had_spots),
        shower_max_x0=_interleave(t_int_x0 + (alpha_e - 1.0) / beta_e,
                                  _depth_at(edges_lambda, edges_x0,
                                            t_int + (alpha_h - 1.0) / beta_h)),
    )
    return PionShowers(showers=showers, t_int_lambda=t_int, mip_slice_gev=mip,
                       invisible_gev=invisible)
