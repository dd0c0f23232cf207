"""Ionisation energy loss of charged particles in a material (PDG "Passage of particles through
matter", §34.2): Bethe's constants, Sternheimer's density effect and Landau's most probable loss.

A particle crossing x of a material loses a Landau-distributed energy (:mod:`caloml.sim.landau`)
of width ``ξ = (K/2)(Z/A)ρx/β²`` and most probable value
``Δ_p = ξ[ln(2mc²β²γ²/I) + ln(ξ/I) + j − β² − δ(βγ)]`` (PDG eq. 34.12). Δ_p/x rises with ln βγ
until the density effect δ ≈ 2 ln βγ − C̄ cancels the rise (the Fermi plateau). Material
constants: PDG "Atomic and nuclear properties of materials" [mem, PHYSICS.md §2].
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

# K = 4π N_A r_e² m_e c² (PDG Table 34.1), MeV cm²/mol; m_e c² in MeV; j of Δ_p (eq. 34.12).
BETHE_K_MEV_CM2 = 0.307075
ELECTRON_MASS_MEV = 0.51099895
LANDAU_J = 0.200


@dataclasses.dataclass(frozen=True)
class Medium:
    """A material's constants for the ionisation loss.

    Attributes:
        name: material.
        z_over_a: ⟨Z/A⟩ (mol/g).
        density_g_cm3: density as built.
        mean_excitation_ev: I.
        sternheimer: (C̄, x0, x1, a, k, δ0) of δ(x = log10 βγ) (PDG eq. 34.7).
        dedx_mip_mev_cm2_g: mean loss at minimum ionisation, if needed (MIP sampling fractions).
    """

    name: str
    z_over_a: float
    density_g_cm3: float
    mean_excitation_ev: float
    sternheimer: tuple[float, float, float, float, float, float]
    dedx_mip_mev_cm2_g: float | None = None

    def density_effect(self, beta_gamma: np.ndarray) -> np.ndarray:
        """Sternheimer's δ(βγ)."""
        c_bar, x0, x1, a, k, delta0 = self.sternheimer
        x = np.log10(np.asarray(beta_gamma, np.float64))
        high = 2.0 * math.log(10.0) * x - c_bar
        middle = high + a * np.maximum(x1 - x, 0.0) ** k
        return np.where(x >= x1, high, np.where(x >= x0, middle, delta0 * 10.0 ** (2 * (x - x0))))

    def mean_mip_loss_mev(self, thickness_mm: float) -> float:
        """Mean loss of a minimum-ionising particle crossing ``thickness_mm`` (MeV)."""
        return 0.1 * thickness_mm * self.density_g_cm3 * self.dedx_mip_mev_cm2_g

    def landau(self, thickness_mm, beta_gamma) -> tuple[np.ndarray, np.ndarray]:
        """(Δ_p, ξ) in MeV of a particle of ``beta_gamma`` crossing ``thickness_mm`` (broadcast)."""
        bg2 = np.asarray(beta_gamma, np.float64) ** 2
        beta2 = bg2 / (1.0 + bg2)
        excitation_mev = 1e-6 * self.mean_excitation_ev
        xi = (0.5 * BETHE_K_MEV_CM2 * self.z_over_a * self.density_g_cm3 * 0.1
              * np.asarray(thickness_mm, np.float64) / beta2)
        mpv = xi * (np.log(2.0 * ELECTRON_MASS_MEV * bg2 / excitation_mev)
                    + np.log(xi / excitation_mev) + LANDAU_J - beta2
                    - self.density_effect(np.sqrt(bg2)))
        return mpv, xi


# Active and absorber media of caloml's geometries.
SILICON = Medium("Si", 0.49848, 2.329, 173.0, (4.4355, 0.2015, 2.8716, 0.1492, 3.2546, 0.14),
                 1.664)
POLYSTYRENE = Medium("polystyrene", 0.53768, 1.032, 68.7,
                     (3.2999, 0.1647, 2.5031, 0.1645, 3.2224, 0.0), 1.936)
LEAD = Medium("Pb", 82 / 207.2, 11.35, 823.0, (6.2018, 0.3776, 3.8073, 0.09359, 3.1608, 0.14))
# Argon at CaloGAN's 1.390 g/cm³.
LIQUID_ARGON = Medium("LAr", 18 / 39.948, 1.390, 188.0, (5.2146, 0.2, 3.0, 0.19559, 3.0, 0.0))
