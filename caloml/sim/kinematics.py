"""Particle-gun kinematics: gun smearing and exact pi0 -> gamma gamma decays.

Formulas: ``shared/PHYSICS.md`` §3. All functions are vectorised over N particles.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from caloml.errors import InputError

PI0_MASS_GEV = 0.1349768  # PDG 2024


@dataclasses.dataclass(frozen=True)
class Pi0Decays:
    """Two-photon decays of N neutral pions, all arrays of shape [N].

    Attributes:
        energy1_gev, energy2_gev: lab energies of the two photons.
        opening_angle_rad: angle between the photons.
        theta1_rad, theta2_rad: angle of each photon to the pi0 direction
            (``theta1 + theta2 = opening_angle``).
        azimuth_rad: azimuth of photon 1 around the pi0 direction; photon 2 is at +pi.
        num_drawn: decays drawn in total, including those rejected by ``max_opening_angle``.
    """

    energy1_gev: np.ndarray
    energy2_gev: np.ndarray
    opening_angle_rad: np.ndarray
    theta1_rad: np.ndarray
    theta2_rad: np.ndarray
    azimuth_rad: np.ndarray
    num_drawn: int


def min_opening_angle(energy_gev: np.ndarray | float) -> np.ndarray:
    """Smallest gamma-gamma opening angle of a pi0 of ``energy_gev``: 2 arcsin(m/E)."""
    return 2.0 * np.arcsin(np.minimum(PI0_MASS_GEV / np.asarray(energy_gev, np.float64), 1.0))


def opening_angle_cdf(theta_rad: np.ndarray, energy_gev: float) -> np.ndarray:
    """Small-angle CDF of the opening angle, P(theta12 < x) = sqrt(1 - (theta_min/x)^2)."""
    theta_min = min_opening_angle(energy_gev)
    x = np.maximum(np.asarray(theta_rad, np.float64), theta_min)
    return np.sqrt(1.0 - (theta_min / x) ** 2)


def _draw_pi0(energy: np.ndarray, rng: np.random.Generator):
    beta = np.sqrt(np.maximum(1.0 - (PI0_MASS_GEV / energy) ** 2, 0.0))
    # Isotropic decay in the rest frame: cos(theta*) ~ U(-1, 1) gives a flat lab energy sharing.
    cos_star = rng.uniform(-1.0, 1.0, size=energy.shape)
    e1 = 0.5 * energy * (1.0 + beta * cos_star)
    e2 = energy - e1
    cos12 = np.clip(1.0 - PI0_MASS_GEV**2 / (2.0 * e1 * e2), -1.0, 1.0)
    return e1, e2, np.arccos(cos12)


def decay_pi0(
    energy_gev: np.ndarray,
    rng: np.random.Generator,
    max_opening_angle_rad: float | None = None,
) -> Pi0Decays:
    """Decays N neutral pions flying along +z into two photons.

    Decays with an opening angle above ``max_opening_angle_rad`` are rejected and redrawn
    (the SR-GAN paper removes pions with photons more than 2 degrees apart).

    Args:
        energy_gev: [N] pi0 energies.
        rng: random generator.
        max_opening_angle_rad: optional upper cut on the opening angle.

    Returns:
        The decays; ``num_drawn / N`` is the inverse of the fraction kept by the cut.
    """
    energy = np.asarray(energy_gev, np.float64)
    if max_opening_angle_rad is not None and np.any(
        min_opening_angle(energy) >= max_opening_angle_rad
    ):
        raise InputError(
            f"the pi0 opening-angle cut of {np.degrees(max_opening_angle_rad):.3g} deg is below "
            f"the smallest opening angle 2 arcsin(m/E) = "
            f"{np.degrees(min_opening_angle(energy.min())):.3g} deg of a {energy.min():g} GeV "
            "pi0: raise the energy or max_opening_angle_deg"
        )
    e1, e2, angle = _draw_pi0(energy, rng)
    num_drawn = len(energy)
    if max_opening_angle_rad is not None:
        redo = np.flatnonzero(angle > max_opening_angle_rad)
        while redo.size:
            num_drawn += redo.size
            e1[redo], e2[redo], angle[redo] = _draw_pi0(energy[redo], rng)
            redo = redo[angle[redo] > max_opening_angle_rad]
    # Transverse-momentum balance, E1 sin(theta1) = E2 sin(theta2), theta1 + theta2 = theta12.
    theta1 = np.arctan2(e2 * np.sin(angle), e1 + e2 * np.cos(angle))
    azimuth = rng.uniform(0.0, 2.0 * np.pi, size=energy.shape)
    return Pi0Decays(e1, e2, angle, theta1, angle - theta1, azimuth, num_drawn)
