"""A parametrised detector in place of Delphes with its ATLAS card.

The public top-tagging sample that "How to GAN Higher Jet Resolution" (Baldi et al. 2021, §2)
starts from was simulated with Delphes and its ATLAS card. caloml does not run Delphes; this
module applies the card's parametrisations to Pythia's final-state particles, vectorised over
all particles of a batch of events, and returns the energy-flow objects jets are made of.

Source of every number: ``cards/delphes_card_ATLAS.tcl`` of delphes/delphes at commit
0ee14ba7 (tag 3.5.1-16; the card was last changed in d2cf547, 2017-05-12, so it is the card of
every Delphes 3.4 and 3.5 release), and the modules it runs (``MomentumSmearing.cc``,
``SimpleCalorimeter.cc``). The model, particle by particle (pT in GeV, E in GeV):

* Neutrinos (|PDG| 12, 14, 16) and the neutralinos the card lists leave nothing.
* Charged particles are tracked with the card's efficiencies
  (``ChargedHadron/Electron/MuonTrackingEfficiency``): 0 for pT <= 0.1 GeV or |eta| > 2.5;
  for 0.1 < pT <= 1 GeV and pT > 1 GeV (electrons: 1-100 and > 100 GeV), at |eta| <= 1.5
  and 1.5 < |eta| <= 2.5:

  ======================  ============  =====================  ==========
  particle                0.1-1 GeV     > 1 GeV                > 100 GeV
  ======================  ============  =====================  ==========
  hadrons |eta| <= 1.5    0.70          0.95
  hadrons 1.5-2.5         0.60          0.85
  electrons |eta| <= 1.5  0.73          0.95 (1-100 GeV)       0.99
  electrons 1.5-2.5       0.50          0.83 (1-100 GeV)       0.90
  muons |eta| <= 1.5      0.75          0.99
  muons 1.5-2.5           0.70          0.98
  ======================  ============  =====================  ==========

  A track keeps the particle's direction and mass; its pT is drawn from a log-normal
  distribution of mean pT and width ``res * pT`` (``MomentumSmearing.cc``, res capped at 1),
  with the card's relative resolutions ``res = sqrt(a^2 + pT^2 b^2)``:

  ===========  ==============  ==============  ==============
  (a, b)       |eta| <= 0.5    0.5-1.5         1.5-2.5
  ===========  ==============  ==============  ==============
  hadrons      0.06, 1.3e-3    0.10, 1.7e-3    0.25, 3.1e-3
  electrons    0.03, 1.3e-3    0.05, 1.7e-3    0.15, 3.1e-3
  muons        0.01, 1.0e-4    0.015, 1.5e-4   0.025, 3.5e-4
  ===========  ==============  ==============  ==============

* Every visible particle (tracked or not) deposits its energy in the calorimeters, split by
  the card's ``EnergyFraction`` tables: e±, photons (so the photons of pi0 decays) and pi0
  all in the ECAL; muons, neutrinos and neutralinos nowhere; K0S and Lambda 30 % ECAL, 70 %
  HCAL (they decay in Pythia by default, so this rarely applies); any other particle
  (charged and neutral hadrons) all in the HCAL.
* ECAL towers (``module SimpleCalorimeter ECal``): eta edges k * 0.0174 for k = -169 ... 170
  (|eta| < 2.958) with 360 phi bins of 1 degree, then the forward towers with edges
  -5, -4.7, -4.525, ..., -3.125, -2.958 and 3.125, ..., 5 and 36 phi bins of 10 degrees.
  HCAL towers (``module SimpleCalorimeter HCal``): eta edges -3.2, -2.5, -2.4, ..., 2.5, 2.6,
  3.3 with 36 phi bins of 10 degrees, and -4.9, ..., -3.3, -3, -2.8, -2.6 and 2.8 ... 4.9
  edges with 18 phi bins of 20 degrees. As in Delphes, a tower between two eta edges takes
  the phi segmentation listed with its upper edge, and particles outside the outer edges
  are lost.
* The energy E in each tower is summed and smeared with a Gaussian of the card's
  resolution, truncated at 0 (negative draws become 0):

  ECAL: sigma(E) = sqrt(E^2 0.0017^2 + E 0.101^2) for |eta| <= 3.2,
  sqrt(E^2 0.035^2 + E 0.285^2) for 3.2 < |eta| <= 4.9;

  HCAL: sigma(E) = sqrt(E^2 0.0302^2 + E 0.5205^2 + 1.59^2) for |eta| <= 1.7,
  sqrt(E^2 0.05^2 + E 0.706^2) for 1.7 < |eta| <= 3.2,
  sqrt(E^2 0.0942^2 + E 1.0^2) for 3.2 < |eta| <= 4.9

  (eta of the tower centre; 0 beyond). The smeared energy E' is set to 0 unless it is at
  least ``EnergyMin`` (ECAL 0.5 GeV, HCAL 1.0 GeV) and at least ``EnergySignificanceMin``
  = 2 times sigma(E').
* Energy flow (``SimpleCalorimeter::FinalizeTower``), per tower, with T the summed energy
  of the tracks pointing at it whose particles deposit in this calorimeter (electrons in the
  ECAL, charged hadrons in the HCAL) and sigma_T^2 the sum of their (res * E)^2: the neutral
  excess N = max(E' - T, 0) becomes a massless energy-flow object at the tower centre with
  pT = N / cosh(eta) if N > ``EnergyMin`` and N / sqrt(sigma_T^2 + sigma(E')^2) > 2;
  otherwise, if T > 0, the tower's tracks are scaled in pT by E_best / T, E_best being the
  inverse-variance mean of T (variance sigma_T^2) and E' (variance sigma(E')^2). So at high
  pT, where the card's tracking is poorer than the calorimeters, charged hadrons are
  measured by the calorimeter. Tracks keep their direction and mass.

Deviations from Delphes, by design: no propagation in the 2 T field (tracks and deposits take
the particle's direction at the vertex, as if the field were off; looping low-pT particles
still reach the calorimeters); towers sit at their centre (the card's ``SmearTowerCenter``
spreads them uniformly over the tower); the tower energy is smeared with a truncated
Gaussian instead of Delphes' log-normal of the same mean and width; no pile-up; no electron,
photon or muon identification or isolation (jets are clustered from every energy-flow object,
as in the top-tagging sample).
"""

from __future__ import annotations

import dataclasses

import numpy as np

# Recorded in the files that use this model.
MODEL_NAME = "caloml.jets.detector (Delphes ATLAS card parametrisation)"
MODEL_VERSION = "1"
CARD = "delphes/delphes cards/delphes_card_ATLAS.tcl @ 0ee14ba7 (3.5.1-16)"

# Kinds of the detector-level constituents.
TRACK, ECAL, HCAL = 0, 1, 2

_NEUTRINOS = (12, 14, 16)
# The invisible particles of the card's EnergyFraction tables (neutrinos, neutralinos).
_INVISIBLE = (*_NEUTRINOS, 1000022, 1000023, 1000025, 1000035, 1000045)
# |PDG| -> fraction of the energy in the ECAL; the rest (1 - f) goes to the HCAL, except for
# muons and invisibles (nothing). Default (any other particle): 0, all in the HCAL.
_ECAL_FRACTION = {11: 1.0, 22: 1.0, 111: 1.0, 310: 0.3, 3122: 0.3}
_NO_DEPOSIT = (13, *_INVISIBLE)

# Tracking acceptance of the card's efficiency formulas.
TRACK_PT_MIN_GEV = 0.1
TRACK_ETA_MAX = 2.5
# Significance cut of both calorimeters (EnergySignificanceMin).
ENERGY_SIGNIFICANCE_MIN = 2.0


@dataclasses.dataclass(frozen=True)
class TowerGrid:
    """The towers of one calorimeter: eta edges, and the phi bins of each eta row.

    Attributes:
        eta_edges: sorted eta edges ``[rows + 1]``; particles outside them are lost.
        phi_bins: number of equal phi bins over (-pi, pi] of each row ``[rows]`` (the
            segmentation Delphes lists with the row's upper edge).
    """

    eta_edges: tuple[float, ...]
    phi_bins: tuple[int, ...]

    def __post_init__(self):
        if len(self.phi_bins) != len(self.eta_edges) - 1:
            raise ValueError(f"{len(self.eta_edges)} eta edges need {len(self.eta_edges) - 1} "
                             f"phi segmentations, got {len(self.phi_bins)}")

    @property
    def num_towers(self) -> int:
        return int(sum(self.phi_bins))

    def _arrays(self):
        edges = np.asarray(self.eta_edges, np.float64)
        bins = np.asarray(self.phi_bins, np.int64)
        offsets = np.concatenate([[0], np.cumsum(bins)[:-1]])
        return edges, bins, offsets

    def tower_index(self, eta: np.ndarray, phi: np.ndarray) -> np.ndarray:
        """Tower of each direction, or -1 outside the grid.

        Args:
            eta: pseudorapidities ``[n]``.
            phi: azimuths ``[n]`` in rad (any range; taken modulo 2 pi).

        Returns:
            int64 ``[n]``: tower ids in ``[0, num_towers)``, -1 outside the eta edges.
        """
        edges, bins, offsets = self._arrays()
        eta = np.asarray(eta, np.float64)
        row = np.searchsorted(edges, eta, side="right") - 1
        inside = (row >= 0) & (row < len(bins))
        row = np.clip(row, 0, len(bins) - 1)
        # Phi bins start at -pi, as the card's edges i * pi / 180 for i = -180 ... 180.
        width = 2.0 * np.pi / bins[row]
        column = np.floor((np.mod(np.asarray(phi, np.float64) + np.pi, 2.0 * np.pi)) / width)
        column = np.minimum(column.astype(np.int64), bins[row] - 1)
        return np.where(inside, offsets[row] + column, -1)

    def tower_centre(self, tower: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Centre ``(eta, phi)`` of each tower id ``[n]``; phi in (-pi, pi)."""
        edges, bins, offsets = self._arrays()
        tower = np.asarray(tower, np.int64)
        row = np.searchsorted(offsets, tower, side="right") - 1
        column = tower - offsets[row]
        eta = 0.5 * (edges[row] + edges[row + 1])
        phi = -np.pi + (column + 0.5) * 2.0 * np.pi / bins[row]
        return eta, phi


def _ecal_grid() -> TowerGrid:
    step = 0.0174
    # Barrel (k = -85 ... 86) and endcaps (k = -169 ... -86, 87 ... 170): edges k * 0.0174.
    fine = [k * step for k in range(-169, 171)]
    forward_low = [-5.0, -4.7, -4.525, -4.35, -4.175, -4.0, -3.825, -3.65, -3.475, -3.3,
                   -3.125, -2.958]
    forward_high = [3.125, 3.3, 3.475, 3.65, 3.825, 4.0, 4.175, 4.35, 4.525, 4.7, 5.0]
    edges = forward_low + fine + forward_high
    # Row i lies between edges i and i + 1 and takes the segmentation of edge i + 1.
    bins = [36 if e in forward_low or e in forward_high else 360 for e in edges[1:]]
    return TowerGrid(tuple(edges), tuple(bins))


def _hcal_grid() -> TowerGrid:
    ten_degrees = [-3.2, *[round(0.1 * k, 10) for k in range(-25, 27)], 3.3]
    twenty_degrees = [-4.9, -4.7, -4.5, -4.3, -4.1, -3.9, -3.7, -3.5, -3.3, -3.0, -2.8, -2.6,
                      2.8, 3.0, 3.2, 3.5, 3.7, 3.9, 4.1, 4.3, 4.5, 4.7, 4.9]
    edges = sorted(ten_degrees + twenty_degrees)
    bins = [36 if e in ten_degrees else 18 for e in edges[1:]]
    return TowerGrid(tuple(edges), tuple(bins))


ECAL_GRID = _ecal_grid()
HCAL_GRID = _hcal_grid()
ENERGY_MIN_GEV = {ECAL: 0.5, HCAL: 1.0}


def ecal_resolution_gev(energy_gev: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """The card's ECAL energy resolution sigma(E) in GeV, ``[n]`` for ``[n]`` inputs."""
    energy = np.maximum(np.asarray(energy_gev, np.float64), 0.0)
    abs_eta = np.abs(np.asarray(eta, np.float64))
    central = np.sqrt(energy**2 * 0.0017**2 + energy * 0.101**2)
    forward = np.sqrt(energy**2 * 0.0350**2 + energy * 0.285**2)
    return np.where(abs_eta <= 3.2, central, np.where(abs_eta <= 4.9, forward, 0.0))


def hcal_resolution_gev(energy_gev: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """The card's HCAL energy resolution sigma(E) in GeV, ``[n]`` for ``[n]`` inputs."""
    energy = np.maximum(np.asarray(energy_gev, np.float64), 0.0)
    abs_eta = np.abs(np.asarray(eta, np.float64))
    central = np.sqrt(energy**2 * 0.0302**2 + energy * 0.5205**2 + 1.59**2)
    endcap = np.sqrt(energy**2 * 0.0500**2 + energy * 0.706**2)
    forward = np.sqrt(energy**2 * 0.09420**2 + energy * 1.00**2)
    return np.where(abs_eta <= 1.7, central,
                    np.where(abs_eta <= 3.2, endcap, np.where(abs_eta <= 4.9, forward, 0.0)))


def tracking_efficiency(pt_gev: np.ndarray, eta: np.ndarray, abs_pdg: np.ndarray) -> np.ndarray:
    """The card's tracking efficiency of charged particles ``[n]`` (electrons, muons, hadrons)."""
    pt = np.asarray(pt_gev, np.float64)
    abs_eta = np.abs(np.asarray(eta, np.float64))
    abs_pdg = np.asarray(abs_pdg)
    central = abs_eta <= 1.5
    soft = (pt > TRACK_PT_MIN_GEV) & (pt <= 1.0)
    hard = pt > 1.0
    hadron = np.where(soft, np.where(central, 0.70, 0.60), np.where(central, 0.95, 0.85))
    muon = np.where(soft, np.where(central, 0.75, 0.70), np.where(central, 0.99, 0.98))
    electron = np.where(
        soft, np.where(central, 0.73, 0.50),
        np.where(pt <= 100.0, np.where(central, 0.95, 0.83), np.where(central, 0.99, 0.90)))
    efficiency = np.where(abs_pdg == 11, electron, np.where(abs_pdg == 13, muon, hadron))
    accepted = (soft | hard) & (abs_eta <= TRACK_ETA_MAX)
    return np.where(accepted, efficiency, 0.0)


def track_resolution(pt_gev: np.ndarray, eta: np.ndarray, abs_pdg: np.ndarray) -> np.ndarray:
    """The card's relative track pT resolution sigma(pT) / pT ``[n]``, capped at 1 as Delphes."""
    pt = np.asarray(pt_gev, np.float64)
    abs_eta = np.abs(np.asarray(eta, np.float64))
    abs_pdg = np.asarray(abs_pdg)
    # (a, b) per |eta| region: |eta| <= 0.5, 0.5-1.5, 1.5-2.5.
    table = {
        "hadron": ((0.06, 1.3e-3), (0.10, 1.7e-3), (0.25, 3.1e-3)),
        "electron": ((0.03, 1.3e-3), (0.05, 1.7e-3), (0.15, 3.1e-3)),
        "muon": ((0.01, 1.0e-4), (0.015, 1.5e-4), (0.025, 3.5e-4)),
    }
    region = np.where(abs_eta <= 0.5, 0, np.where(abs_eta <= 1.5, 1, 2))
    kind = np.where(abs_pdg == 11, 1, np.where(abs_pdg == 13, 2, 0))
    params = np.array([table[k] for k in ("hadron", "electron", "muon")])  # [kind, region, 2]
    a, b = params[kind, region, 0], params[kind, region, 1]
    resolution = np.sqrt(a**2 + pt**2 * b**2)
    return np.where((pt > TRACK_PT_MIN_GEV) & (abs_eta <= TRACK_ETA_MAX),
                    np.minimum(resolution, 1.0), 0.0)


def ecal_fraction(abs_pdg: np.ndarray) -> np.ndarray:
    """Fraction of a non-tracked particle's energy deposited in the ECAL ``[n]``."""
    abs_pdg = np.asarray(abs_pdg)
    out = np.zeros(abs_pdg.shape)
    for pdg, fraction in _ECAL_FRACTION.items():
        out[abs_pdg == pdg] = fraction
    return out


def hcal_fraction(abs_pdg: np.ndarray) -> np.ndarray:
    """Fraction of a non-tracked particle's energy deposited in the HCAL ``[n]``."""
    abs_pdg = np.asarray(abs_pdg)
    out = 1.0 - ecal_fraction(abs_pdg)
    out[np.isin(abs_pdg, _NO_DEPOSIT)] = 0.0
    return out


def _log_normal(mean: np.ndarray, sigma: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Log-normal draws of the given means and widths (``MomentumSmearing::LogNormal``)."""
    b = np.sqrt(np.log1p((sigma / mean) ** 2))
    a = np.log(mean) - 0.5 * b**2
    return np.exp(a + b * rng.standard_normal(mean.shape))


def _calorimeter(grid: TowerGrid, kind: int, deposits: dict[str, np.ndarray],
                 tracks: dict[str, np.ndarray], rng: np.random.Generator
                 ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One ``SimpleCalorimeter`` module: towers, smearing, thresholds and energy flow.

    Args:
        grid: the towers.
        kind: :data:`ECAL` or :data:`HCAL` (resolution and ``EnergyMin``).
        deposits: ``event``, ``eta``, ``phi``, ``energy_gev`` (energy x fraction) ``[n]`` of
            the particles reaching this calorimeter.
        tracks: ``event``, ``eta``, ``phi``, ``energy_gev`` (energy x fraction) and
            ``sigma_gev`` (track resolution x track energy) ``[k]`` of the tracks whose
            particles deposit here.

    Returns:
        The neutral energy-flow objects (``event``, ``pt_gev``, ``eta``, ``phi``,
        ``energy_gev``, ``kind``) and the factor ``[k]`` each track's pT is scaled by.
    """
    num_deposits = len(deposits["event"])
    tower = grid.tower_index(np.concatenate([deposits["eta"], tracks["eta"]]),
                             np.concatenate([deposits["phi"], tracks["phi"]]))
    event = np.concatenate([deposits["event"], tracks["event"]]).astype(np.int64)
    inside = tower >= 0
    inside[:num_deposits] &= deposits["energy_gev"] > 0
    keys, inverse = np.unique(event[inside] * grid.num_towers + tower[inside],
                              return_inverse=True)
    index = np.full(len(tower), -1, np.int64)
    index[inside] = inverse
    d_index, t_index = index[:num_deposits], index[num_deposits:]
    d_ok, t_ok = d_index >= 0, t_index >= 0
    num = len(keys)
    energy = np.bincount(d_index[d_ok], weights=deposits["energy_gev"][d_ok], minlength=num)
    track_energy = np.bincount(t_index[t_ok], weights=tracks["energy_gev"][t_ok], minlength=num)
    track_var = np.bincount(t_index[t_ok], weights=tracks["sigma_gev"][t_ok] ** 2, minlength=num)
    tower_eta, tower_phi = grid.tower_centre(keys % grid.num_towers)
    resolution = ecal_resolution_gev if kind == ECAL else hcal_resolution_gev
    smeared = np.maximum(energy + resolution(energy, tower_eta) * rng.standard_normal(num), 0.0)
    # SimpleCalorimeter::FinalizeTower: sigma at the smeared energy, then the thresholds.
    sigma = resolution(smeared, tower_eta)
    smeared[(smeared < ENERGY_MIN_GEV[kind]) | (smeared < ENERGY_SIGNIFICANCE_MIN * sigma)] = 0.0
    neutral = np.maximum(smeared - track_energy, 0.0)
    total_sigma = np.sqrt(track_var + sigma**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        significance = np.where(total_sigma > 0, neutral / total_sigma, 0.0)
        emit = (neutral > ENERGY_MIN_GEV[kind]) & (significance > ENERGY_SIGNIFICANCE_MIN)
        # No significant neutral excess: the tracks of the tower are scaled to the
        # inverse-variance mean of their summed energy and the tower energy.
        weight_track = np.where(track_var > 0, 1.0 / track_var, 0.0)
        weight_calo = np.where(sigma > 0, 1.0 / sigma**2, 0.0)
        best = (weight_track * track_energy + weight_calo * smeared) / (weight_track
                                                                        + weight_calo)
        scale = np.where(~emit & (track_energy > 0), best / track_energy, 1.0)
    track_scale = np.ones(len(t_index))
    track_scale[t_ok] = scale[t_index[t_ok]]
    neutrals = {
        "event": (keys // grid.num_towers)[emit],
        "pt_gev": neutral[emit] / np.cosh(tower_eta[emit]),
        "eta": tower_eta[emit],
        "phi": tower_phi[emit],
        "energy_gev": neutral[emit],
        "kind": np.full(int(emit.sum()), kind, np.int8),
    }
    return neutrals, track_scale


def respond(
    event: np.ndarray,
    pdg_id: np.ndarray,
    charge: np.ndarray,
    momentum_gev: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Detector-level constituents (energy-flow objects) of final-state particles.

    Args:
        event: event index of each particle ``[n]`` (non-negative).
        pdg_id: PDG id ``[n]``.
        charge: electric charge ``[n]`` (units of e); non-zero means charged.
        momentum_gev: four-momenta ``[n, 4]`` as (px, py, pz, E) in GeV.
        rng: random generator of the efficiencies and smearing.

    Returns:
        Flat arrays ``[m]`` sorted by event (tracks, then ECAL, then HCAL objects within an
        event): ``event`` int64, ``pt_gev``, ``eta``, ``phi`` (rad, in [-pi, pi]),
        ``energy_gev`` float64 and ``kind`` int8 (:data:`TRACK`, :data:`ECAL`, :data:`HCAL`).
    """
    event = np.asarray(event, np.int64)
    momentum = np.asarray(momentum_gev, np.float64).reshape(-1, 4)
    px, py, pz, energy = momentum.T
    pt = np.hypot(px, py)
    # Particles along the beam (pT = 0) have no pseudorapidity and reach no detector.
    visible = pt > 0
    event, px, py, pz, energy, pt = (a[visible] for a in (event, px, py, pz, energy, pt))
    abs_pdg = np.abs(np.asarray(pdg_id)[visible])
    charged = np.asarray(charge)[visible] != 0
    eta = np.arcsinh(pz / pt)
    phi = np.arctan2(py, px)
    ecal_f, hcal_f = ecal_fraction(abs_pdg), hcal_fraction(abs_pdg)

    # Tracking: efficiency, then log-normal pT smearing (direction and mass kept).
    tracked = charged & (rng.random(len(pt)) < tracking_efficiency(pt, eta, abs_pdg))
    t_pt = pt[tracked]
    t_res = track_resolution(t_pt, eta[tracked], abs_pdg[tracked])
    t_pt = _log_normal(t_pt, t_res * t_pt, rng)
    t_eta, t_phi, t_event = eta[tracked], phi[tracked], event[tracked]
    t_mass2 = np.maximum(energy**2 - (pt * np.cosh(eta)) ** 2, 0.0)[tracked]

    def track_energy():
        return np.sqrt((t_pt * np.cosh(t_eta)) ** 2 + t_mass2)

    # Every particle deposits in the calorimeters (tracked ones too); the energy flow then
    # compares the tracks pointing at a tower with its energy.
    neutrals = []
    for grid, kind, fraction in ((ECAL_GRID, ECAL, ecal_f), (HCAL_GRID, HCAL, hcal_f)):
        deposits = {"event": event, "eta": eta, "phi": phi, "energy_gev": energy * fraction}
        here = fraction[tracked] > 0
        t_energy = track_energy()
        tower_tracks = {
            "event": t_event[here], "eta": t_eta[here], "phi": t_phi[here],
            "energy_gev": t_energy[here] * fraction[tracked][here],
            "sigma_gev": t_res[here] * t_energy[here],
        }
        objects, scale = _calorimeter(grid, kind, deposits, tower_tracks, rng)
        neutrals.append(objects)
        t_pt = t_pt.copy()
        t_pt[here] *= scale
    tracks = {
        "event": t_event,
        "pt_gev": t_pt,
        "eta": t_eta,
        "phi": t_phi,
        "energy_gev": track_energy(),
        "kind": np.full(len(t_pt), TRACK, np.int8),
    }
    parts = (tracks, *neutrals)
    out = {key: np.concatenate([p[key] for p in parts]) for key in tracks}
    keep = out["pt_gev"] > 0
    out = {key: value[keep] for key, value in out.items()}
    order = np.argsort(out["event"], kind="stable")
    return {key: value[order] for key, value in out.items()}


def four_momenta(pt_gev: np.ndarray, eta: np.ndarray, phi: np.ndarray,
                 energy_gev: np.ndarray | None = None) -> np.ndarray:
    """(E, px, py, pz) ``[n, 4]`` of (pT, eta, phi[, E]); massless when E is not given."""
    pt = np.asarray(pt_gev, np.float64)
    pz = pt * np.sinh(eta)
    energy = pt * np.cosh(eta) if energy_gev is None else np.asarray(energy_gev, np.float64)
    return np.stack([energy, pt * np.cos(phi), pt * np.sin(phi), pz], axis=-1)

