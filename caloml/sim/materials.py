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
    """

    name: str
    x0_mm: float
    moliere_radius_mm: float
    critical_energy_mev: float
    z_eff: float

    @property
    def ln_z(self) -> float:
        return math.log(self.z_eff)


# CMS ECAL crystals as in CMS FastSim (PHYSICS.md §2, "PbWO4 (CMS FastSim)" row): the SR-GAN
# paper's toy calorimeter quotes R_M ≈ 2.2 cm ("approximately one Molière radius" = 2.2 cm).
PBWO4 = Material(
    name="PbWO4", x0_mm=8.9, moliere_radius_mm=21.9, critical_energy_mev=8.74, z_eff=68.36
)

# The CaloGAN stack, 80 × (2 mm Pb + 4 mm LAr), as one effective homogeneous medium (PHYSICS.md
# §2, g/cm² mixing rules; ρ = 4.71 g/cm³, λ_I = 37.4 cm). Treated as homogeneous because the 2017
# CaloGAN readout sums the deposits of every volume, absorber included (PHYSICS.md §5).
PB_LAR_CALOGAN = Material(
    name="Pb/LAr 2/4 mm (effective)", x0_mm=15.6, moliere_radius_mm=35.5,
    critical_energy_mev=9.3, z_eff=69.4,
)
