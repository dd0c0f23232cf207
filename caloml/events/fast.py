"""The "fast" rendering of an event: Delphes-style CMS calorimeter towers on the 72 x 72 grid.

CALPAGAN (paper 002, §2) conditions its generator on calorimeter images made by Delphes with
the CMS card from the same Pythia 8 events as the Geant4 images. caloml does not run Delphes;
this module applies the card's calorimeter parametrisation to Pythia's final-state particles,
vectorised over all particles of a batch of events, and sums the towers into the
:mod:`caloml.events.towers` grid (72 eta x 72 phi CMS towers, |eta| < 4.191).

Source of every number: ``cards/delphes_card_CMS.tcl`` of delphes/delphes at commit 0ee14ba7
(tag 3.5.1-16; the calorimeter part was last changed in d901674, 2016-11-10, so it is the card
of every Delphes 3.4 and 3.5 release), and ``modules/SimpleCalorimeter.cc`` and
``modules/ParticlePropagator.cc`` that it runs. The model, particle by particle:

* Propagation (``module ParticlePropagator``: Radius 1.29 m, HalfLength 3.00 m, Bz 3.8 T):
  every final-state particle moves from the origin to the cylinder of the calorimeter face
  (:func:`caloml.events.towers.propagate`); charged particles on a helix, so their impact
  phi is turned by the field; loopers that never reach the cylinder deposit nothing. Both
  calorimeters take the impact point.
* Energy fractions (``EnergyFraction`` of ``module SimpleCalorimeter ECal`` and ``HCal``):
  e±, photons (so the photons of pi0 decays) and pi0: all in the ECAL; muons, neutrinos
  (|PDG| 12, 14, 16) and the neutralinos the card lists: nothing; K0S and Lambda: 0.3 ECAL,
  0.7 HCAL (they decay in Pythia by default, so this rarely applies); any other particle
  (charged and neutral hadrons): all in the HCAL.
* Towers: energy x fraction is summed per tower of the 72 x 72 grid, separately for the
  ECAL and the HCAL, in the tower of the impact point (no lateral spread); impacts outside
  |eta| < 4.191 are lost.
* Smearing (``SimpleCalorimeter::FinalizeTower``): each tower holding energy E > 0 is
  smeared with the card's resolution sigma(E, eta), eta the tower centre:

  ECAL ``ResolutionFormula`` (eta shape from arXiv:1306.2016, energy shape from
  arXiv:1502.02701, as the card says):

  * |eta| <= 1.5: (1 + 0.64 eta^2) sqrt(E^2 0.008^2 + E 0.11^2 + 0.40^2)
  * 1.5 < |eta| <= 2.5: (2.16 + 5.6 (|eta| - 2)^2) sqrt(E^2 0.008^2 + E 0.11^2 + 0.40^2)
  * 2.5 < |eta| <= 5.0: sqrt(E^2 0.107^2 + E 2.08^2)

  HCAL ``ResolutionFormula``:

  * |eta| <= 3.0: sqrt(E^2 0.050^2 + E 1.50^2)
  * 3.0 < |eta| <= 5.0: sqrt(E^2 0.130^2 + E 2.70^2)

* Thresholds: the smeared energy E' is set to 0 unless E' >= ``EnergyMin`` and
  E' >= ``EnergySignificanceMin`` x sigma(E', eta) (ECAL: 0.5 GeV and 2.0; HCAL: 1.0 GeV and
  1.0). So a tower is kept when E' is at least (GeV):

  ====  =======  ==========  ==========  ==========  ==========
        eta = 0  |eta| 1.5   |eta| 2.0   |eta| 2.5   |eta| > 3
  ====  =======  ==========  ==========  ==========  ==========
  ECAL  0.83     2.10        1.85        3.18        18.1
  HCAL  2.26     2.26        2.26        2.26        7.42
  ====  =======  ==========  ==========  ==========  ==========

  In 13 TeV events with p̂T > 50 GeV this removes about 15 % of the energy reaching the
  calorimeters (mean ratio of the image sum to ``calo_truth_gev`` 0.85 for dijet and W+jets
  events: soft towers everywhere, and half the forward ECAL energy).

The image is the sum of the two calorimeters (paper §2: "summing the hadronic and
electromagnetic energy in the calorimeter towers"), in GeV (energy, not E_T).

Deviations from Delphes, by design (README, deviations): the towers of both calorimeters
are the 72 x 72 grid of :mod:`caloml.events.towers` (the card's ECAL has 0.0174 x 1 degree
towers and its HCAL 5-20 degree towers; CALPAGAN sums them into its 72 x 72
image afterwards, so caloml thresholds coarser towers); the tower energy is smeared with a
Gaussian of the card's width, negative draws set to 0 (they fail the thresholds anyway),
instead of Delphes' log-normal of the same mean and width (as :mod:`caloml.jets.detector`);
deposits sit in their tower (the card's ``SmearTowerCenter`` moves a tower's reconstructed
direction within that tower only); no tracking and energy flow (the images are calorimeter
towers only); no pile-up.
"""

from __future__ import annotations

import numpy as np

from caloml.events import towers

# Recorded in the files that use this model.
MODEL_NAME = "caloml.events.fast (Delphes CMS card calorimeter towers)"
MODEL_VERSION = "1"
CARD = "delphes/delphes cards/delphes_card_CMS.tcl @ 0ee14ba7 (3.5.1-16)"

# |PDG| -> fraction of the energy in the ECAL; the rest (1 - f) goes to the HCAL, except for
# the particles of _NO_DEPOSIT (nothing). Default (any other particle): 0, all in the HCAL.
_ECAL_FRACTION = {11: 1.0, 22: 1.0, 111: 1.0, 310: 0.3, 3122: 0.3}
# Muons, neutrinos and the card's neutralinos.
_NO_DEPOSIT = (12, 13, 14, 16, 1000022, 1000023, 1000025, 1000035, 1000045)

# EnergyMin in GeV and EnergySignificanceMin of the card's ECal and HCal modules.
ECAL_ENERGY_MIN_GEV = 0.5
ECAL_SIGNIFICANCE_MIN = 2.0
HCAL_ENERGY_MIN_GEV = 1.0
HCAL_SIGNIFICANCE_MIN = 1.0

_NUM_TOWERS = towers.NUM_ETA * towers.NUM_PHI


def ecal_resolution_gev(energy_gev: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """The card's ECAL resolution sigma(E) in GeV ``[n]`` for energies and tower eta ``[n]``."""
    energy = np.maximum(np.asarray(energy_gev, np.float64), 0.0)
    abs_eta = np.abs(np.asarray(eta, np.float64))
    core = np.sqrt(energy**2 * 0.008**2 + energy * 0.11**2 + 0.40**2)
    barrel = (1.0 + 0.64 * abs_eta**2) * core
    endcap = (2.16 + 5.6 * (abs_eta - 2.0) ** 2) * core
    forward = np.sqrt(energy**2 * 0.107**2 + energy * 2.08**2)
    return np.where(abs_eta <= 1.5, barrel,
                    np.where(abs_eta <= 2.5, endcap, np.where(abs_eta <= 5.0, forward, 0.0)))


def hcal_resolution_gev(energy_gev: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """The card's HCAL resolution sigma(E) in GeV ``[n]`` for energies and tower eta ``[n]``."""
    energy = np.maximum(np.asarray(energy_gev, np.float64), 0.0)
    abs_eta = np.abs(np.asarray(eta, np.float64))
    central = np.sqrt(energy**2 * 0.050**2 + energy * 1.50**2)
    forward = np.sqrt(energy**2 * 0.130**2 + energy * 2.70**2)
    return np.where(abs_eta <= 3.0, central, np.where(abs_eta <= 5.0, forward, 0.0))


def ecal_fraction(abs_pdg: np.ndarray) -> np.ndarray:
    """Fraction of a particle's energy deposited in the ECAL ``[n]`` (card's EnergyFraction)."""
    abs_pdg = np.asarray(abs_pdg)
    out = np.zeros(abs_pdg.shape)
    for pdg, fraction in _ECAL_FRACTION.items():
        out[abs_pdg == pdg] = fraction
    return out


def hcal_fraction(abs_pdg: np.ndarray) -> np.ndarray:
    """Fraction of a particle's energy deposited in the HCAL ``[n]`` (card's EnergyFraction)."""
    abs_pdg = np.asarray(abs_pdg)
    out = 1.0 - ecal_fraction(abs_pdg)
    out[np.isin(abs_pdg, _NO_DEPOSIT)] = 0.0
    return out


def impacts(pdg_id: np.ndarray, charge: np.ndarray, momentum_gev: np.ndarray
            ) -> dict[str, np.ndarray]:
    """Where particles from the origin reach the calorimeter face, and in which tower.

    Args:
        pdg_id: PDG ids ``[n]``.
        charge: electric charges in e ``[n]``.
        momentum_gev: (px, py, pz, E) in GeV ``[n, 4]``.

    Returns:
        ``eta``, ``phi`` of the impact ``[n]``, ``tower`` int64 ``[n]`` (flat index
        ``i_eta * 72 + i_phi`` of the tower hit, -1 for particles that never reach the face,
        leave the grid's |eta| range or travel along the beam) and ``energy_gev`` ``[n]``.
    """
    momentum = np.asarray(momentum_gev, np.float64).reshape(-1, 4)
    px, py, pz, energy = momentum.T
    pt = np.hypot(px, py)
    moving = pt > 0  # particles along the beam have no pseudorapidity and reach no tower
    safe_pt = np.where(moving, pt, 1.0)
    eta = np.arcsinh(pz / safe_pt)
    phi = np.arctan2(py, px)
    hit = towers.propagate(safe_pt, eta, phi, np.asarray(charge, np.float64))
    i_eta, i_phi = towers.tower_index(hit["eta"], hit["phi"])
    ok = moving & hit["reaches"] & (i_eta >= 0)
    tower = np.where(ok, i_eta * towers.NUM_PHI + i_phi, -1)
    return {"eta": hit["eta"], "phi": hit["phi"], "tower": tower, "energy_gev": energy}


def _tower_sums(event: np.ndarray, tower: np.ndarray, energy_gev: np.ndarray,
                num_events: int) -> np.ndarray:
    keep = (tower >= 0) & (energy_gev > 0)
    flat = event[keep] * _NUM_TOWERS + tower[keep]
    sums = np.bincount(flat, weights=energy_gev[keep], minlength=num_events * _NUM_TOWERS)
    return sums.reshape(num_events, towers.NUM_ETA, towers.NUM_PHI)


def smear(energy_gev: np.ndarray, resolution, energy_min_gev: float, significance_min: float,
          rng: np.random.Generator) -> np.ndarray:
    """Smears tower energies and applies the card's thresholds.

    Args:
        energy_gev: tower energies ``[num_events, 72, 72]`` (0 where no particle arrived).
        resolution: ``ecal_resolution_gev`` or ``hcal_resolution_gev``.
        energy_min_gev: ``EnergyMin``.
        significance_min: ``EnergySignificanceMin``.
        rng: generator of the Gaussian draws (one per tower holding energy).

    Returns:
        float64 ``[num_events, 72, 72]``: E' = max(E + sigma(E) z, 0), set to 0 unless
        E' >= ``energy_min_gev`` and E' >= ``significance_min`` x sigma(E').
    """
    energy = np.asarray(energy_gev, np.float64)
    out = np.zeros_like(energy)
    index = np.flatnonzero(energy > 0)
    value = energy.ravel()[index]
    eta = towers.ETA_CENTRES[(index // towers.NUM_PHI) % towers.NUM_ETA]
    smeared = np.maximum(value + resolution(value, eta) * rng.standard_normal(len(value)), 0.0)
    passed = (smeared >= energy_min_gev) & (smeared >= significance_min
                                            * resolution(smeared, eta))
    out.ravel()[index] = np.where(passed, smeared, 0.0)
    return out


def deposits(event: np.ndarray, pdg_id: np.ndarray, charge: np.ndarray,
             momentum_gev: np.ndarray, num_events: int) -> dict[str, np.ndarray]:
    """The true ECAL and HCAL tower energies, before smearing and thresholds.

    Args:
        event: event index of each particle ``[n]``, in ``[0, num_events)``.
        pdg_id: PDG ids ``[n]``.
        charge: electric charges in e ``[n]``.
        momentum_gev: (px, py, pz, E) in GeV at the vertex (the origin) ``[n, 4]``.
        num_events: events of the batch.

    Returns:
        ``ecal`` and ``hcal``: float64 ``[num_events, 72, 72]`` in GeV, energy x the card's
        fraction summed per tower of the impact.
    """
    event = np.asarray(event, np.int64)
    abs_pdg = np.abs(np.asarray(pdg_id, np.int64))
    hit = impacts(pdg_id, charge, momentum_gev)
    energy = hit["energy_gev"]
    return {
        "ecal": _tower_sums(event, hit["tower"], energy * ecal_fraction(abs_pdg), num_events),
        "hcal": _tower_sums(event, hit["tower"], energy * hcal_fraction(abs_pdg), num_events),
    }


def render(event: np.ndarray, pdg_id: np.ndarray, charge: np.ndarray,
           momentum_gev: np.ndarray, num_events: int,
           rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Delphes-CMS-card ECAL and HCAL tower images of a batch of events.

    Args:
        event: event index of each particle ``[n]``, in ``[0, num_events)``.
        pdg_id: PDG ids ``[n]``.
        charge: electric charges in e ``[n]``.
        momentum_gev: (px, py, pz, E) in GeV at the vertex (the origin) ``[n, 4]``.
        num_events: events of the batch.
        rng: generator of the tower smearing.

    Returns:
        ``ecal`` and ``hcal``: float32 ``[num_events, 72, 72]`` in GeV (axis 1 eta, axis 2
        phi): :func:`deposits` smeared and thresholded as the module docstring says.
    """
    true = deposits(event, pdg_id, charge, momentum_gev, num_events)
    ecal = smear(true["ecal"], ecal_resolution_gev, ECAL_ENERGY_MIN_GEV, ECAL_SIGNIFICANCE_MIN,
                 rng)
    hcal = smear(true["hcal"], hcal_resolution_gev, HCAL_ENERGY_MIN_GEV, HCAL_SIGNIFICANCE_MIN,
                 rng)
    return {"ecal": ecal.astype(np.float32), "hcal": hcal.astype(np.float32)}
