"""Material constants of the calorimeter media used by caloml's geometries.

Values come from ``shared/PHYSICS.md`` §2. Lengths are in mm, energies in MeV, as GFlash
writes them; the critical energy is the one computed with X0 in g/cm² (PHYSICS.md §1.3,
quirk 1), not Geant4's mm-based value.
"""

from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class Material:
    """A homogeneous (or effective homogeneous) calorimeter medium.

    Attributes:
        name: human-readable name.
        x0_mm: radiation length.
        moliere_radius_mm: Molière radius R_M.
        critical_energy_mev: critical energy E_c.
        z_eff: effective atomic number (enters the GFlash parameters).
        sampling_frequency: for a sampling calorimeter, F_s = X0_eff / (d_absorber + d_active)
            of its layers; None for a homogeneous (or total-deposit) medium.
        e_over_mip: for a sampling calorimeter, ê = 1/(1 + 0.007 (Z_absorber − Z_active)).
        attenuation_x0: the longest photon attenuation length of the medium, 1/(μ/ρ)_min at the
            Compton minimum (3–5 MeV), in X0; the depth scale of the shower's deep tail
            (:func:`caloml.sim.gflash.simulate_longitudinal`). None: no penetrating tail.
    """

    name: str
    x0_mm: float
    moliere_radius_mm: float
    critical_energy_mev: float
    z_eff: float
    sampling_frequency: float | None = None
    e_over_mip: float | None = None
    attenuation_x0: float | None = None

    @property
    def is_sampling(self) -> bool:
        """Whether the GFlash sampling-calorimeter corrections apply (PHYSICS.md §1.3)."""
        return self.sampling_frequency is not None

    @property
    def ln_z(self) -> float:
        return math.log(self.z_eff)


# Minimum mass attenuation coefficients (cm²/g, at 3.5–5 MeV; NIST XCOM values [mem]): Pb 0.0418,
# W 0.0407, O 0.0307, Si 0.0307, Ar 0.0303. Mixed by mass fraction and divided by X0 in g/cm²:
# PbWO4 (Pb 0.455, W 0.404, O 0.141; X0 = 7.39 g/cm²) 0.0398 -> 3.40 X0; the CaloGAN stack (Pb
# 0.80, Ar 0.20; X0 = 7.35 g/cm²) 0.0395 -> 3.44 X0; W/Si (W 0.975; X0 = 6.8 g/cm²) 0.0404 ->
# 3.64 X0.

# CMS ECAL crystals as in CMS FastSim (PHYSICS.md §2, "PbWO4 (CMS FastSim)" row): the SR-GAN
# paper's toy calorimeter quotes R_M ≈ 2.2 cm ("approximately one Molière radius" = 2.2 cm).
PBWO4 = Material(
    name="PbWO4", x0_mm=8.9, moliere_radius_mm=21.9, critical_energy_mev=8.74, z_eff=68.36,
    attenuation_x0=3.40,
)

# The CaloGAN stack, 80 × (2 mm Pb + 4 mm LAr), as one effective homogeneous medium (PHYSICS.md
# §2, g/cm² mixing rules; ρ = 4.71 g/cm³, λ_I = 37.4 cm). Treated as homogeneous because the 2017
# CaloGAN readout sums the deposits of every volume, absorber included (PHYSICS.md §5).
PB_LAR_CALOGAN = Material(
    name="Pb/LAr 2/4 mm (effective)", x0_mm=15.6, moliere_radius_mm=35.5,
    critical_energy_mev=9.3, z_eff=69.4, attenuation_x0=3.44,
)

# The thin layers of the LCD/CLIC ECAL, 2.4 mm W + 0.5 mm Si (PHYSICS.md §2 and §6; the Si
# thickness is assumed): X0 = 4.2 mm, R_M = 10.8 mm, E_c = 8.2 MeV, F_s = 1.45; mass fractions
# W 0.975 / Si 0.025 give Z_eff = 72.5; ê = 1/(1 + 0.007 (74 − 14)) = 0.704. The whole ECAL's
# electromagnetic profile uses these parameters: the shower maximum lies in the thin layers
# (T ≈ 10 X0 at 500 GeV, while the 17 thin layers are 11.7 X0 deep).
W_SI_CLIC = Material(
    name="W/Si 2.4/0.5 mm (effective)", x0_mm=4.2, moliere_radius_mm=10.8,
    critical_energy_mev=8.2, z_eff=72.5, sampling_frequency=1.45, e_over_mip=0.704,
    attenuation_x0=3.64,
)
