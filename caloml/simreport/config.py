"""Settings of the simulator's validation reports, and the reference numbers they quote.

One report per geometry of the embedded simulator (``python eval/sim_report.py
--geometry=...``): ``srgamma`` (paper 000's PbWO4 toy), ``clic`` (paper 003's W/Si ECAL and
steel HCAL) and ``calogan`` (paper 004's Pb/LAr stack). This module imports nothing heavy.
"""

from __future__ import annotations

import dataclasses

from caloml.errors import InputError

GEOMETRIES = ("srgamma", "clic", "calogan")
# Showers per particle (srgamma), per energy point (clic, calogan).
DEFAULT_NUM_SHOWERS = {"srgamma": 10_000, "clic": 512, "calogan": 10_000}

# Paper 000 §2: the 6×6 window "keeps on average approximately 99 % of the total simulated
# energy"; the 2° opening-angle cut "retains around 94 % and 99 % of the simulated pions with
# an energy of 20 GeV and 50 GeV".
SRGAMMA_PAPER = {"window_6x6_fraction": 0.99, "pi0_fraction_kept": {"20": 0.94, "50": 0.99}}

# CLIC electron energies of the calibration and resolution scan (GeV), and CALICE's measured
# Si-W resolution (16.5 %/√E ⊕ 1.1 %) for comparison.
CLIC_ENERGIES_GEV = (5.0, 10.0, 25.0, 50.0, 100.0, 200.0, 400.0)
CALICE_SIW_RESOLUTION = {"stochastic": 0.165, "constant": 0.011}
# Paper 003 §2 selections: π± with HCAL/ECAL below 0.1, π⁰ with an opening angle below 0.01.
CLIC_SELECTIONS = {"hcal_ecal_ratio": 0.1, "opening_angle_rad": 0.01}
CLIC_THETAS_RAD = (1.047, 1.5707963267948966, 2.094)

# CaloGAN: energies of the layer-fraction check and PHYSICS.md §5's expectation for positrons
# (the average homogeneous Gamma profile of the effective medium), layers 0/1/2.
CALOGAN_ENERGIES_GEV = (1.0, 10.0, 100.0)
CALOGAN_EXPECTED_FRACTIONS = {"1": (0.55, 0.45, 0.0), "10": (0.31, 0.69, 0.0),
                              "100": (0.14, 0.86, 0.002)}
# Geant4 e⁺ 1-100 GeV, read off the figures of hep-lbdl/CaloGAN analysis/analysis.ipynb by eye
# (issue 10's table): mean sparsity per layer and mean E_ratio of layers 0 and 1. The report
# compares with the digitised histograms (caloml/simreport/reference/calogan_geant4.json);
# these rounded numbers only cross-check the digitisation (tests/simreport/test_geant4.py).
CALOGAN_GEANT4_POSITRON = {"sparsity": (0.48, 0.85, 0.25), "energy_ratio": (0.08, 0.035, None)}
CALOGAN_PARTICLES = ("positron", "photon", "piplus")


@dataclasses.dataclass(frozen=True)
class ReportConfig:
    """Settings of one simulator report.

    Attributes:
        workdir: output directory (``config.json``, ``metrics.json``, ``plots/``; ``data/``
            for srgamma's cached files).
        geometry: ``srgamma``, ``clic`` or ``calogan``.
        energy_gev: srgamma only: the fixed particle energy, 1-500 GeV (π⁰ with the 2°
            opening-angle cut needs at least about 7.8 GeV).
        num_showers: showers per particle (srgamma) or per energy point (clic, calogan);
            None takes :data:`DEFAULT_NUM_SHOWERS`.
        seed: simulator seed (srgamma's π⁰ file uses ``seed + 1``: independent gun positions).
        workers: simulator worker processes.
        data: srgamma only: a directory with ``photon.h5`` and ``pi0.h5`` in the srgamma
            layout, read instead of simulating (at most ``num_showers`` of each).
        num_examples: example events per particle in ``plots/examples`` (srgamma).
        progress: show progress bars while simulating.
    """

    workdir: str = "runs/sim_report"
    geometry: str = "srgamma"
    energy_gev: float = 50.0
    num_showers: int | None = None
    seed: int = 1
    workers: int = 2
    data: str | None = None
    num_examples: int = 3
    progress: bool = True

    def __post_init__(self):
        if self.geometry not in GEOMETRIES:
            raise InputError(f"unknown geometry {self.geometry!r}; expected one of {GEOMETRIES}")
        if self.data and self.geometry != "srgamma":
            raise InputError(f"data files are read for the srgamma report only, not "
                             f"{self.geometry!r}")

    @property
    def showers(self) -> int:
        """Showers per particle or energy point: ``num_showers`` or the geometry's default."""
        return DEFAULT_NUM_SHOWERS[self.geometry] if self.num_showers is None else self.num_showers
