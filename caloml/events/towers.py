"""The 72 x 72 eta-phi tower grid of the CALPAGAN event images, and the way particles reach it.

CALPAGAN (paper 002, §2) sums the ECAL and HCAL energy of an event into "a 72 x 72 image in
eta-phi space" of CMS calorimeter towers. caloml's grid:

* **eta**: the CMS HCAL/CaloTower eta boundaries of |ieta| = 1 ... 36 (CMS HCAL TDR, CERN/LHCC
  97-31; CMSSW ``CaloTowerTopology``): 0.087 x k for k = 0 ... 20 (HB and the first HE towers,
  up to 1.740), then the HE edges 1.830, 1.930, 2.043, 2.172, 2.322, 2.500, 2.650, 2.868,
  3.000 and the HF edges 3.139, 3.314, 3.489, 3.664, 3.839, 4.013, 4.191; mirrored, 73 edges,
  |eta| < 4.191. (The original code's ``eta_bins.npy`` has 73 non-uniform edges to +-4.337,
  REFERENCES §6; its exact values are not public, so caloml takes the towers' own edges and
  stops at ieta 36.)
* **phi**: 72 equal bins of 5 degrees over [-pi, pi) (CMS HB/HE towers; beyond |ieta| = 20 CMS
  towers are 10 degrees wide, the paper's images keep 72 phi bins everywhere and so does caloml).

Image axis 1 is eta, axis 2 is phi, both increasing; pixels are GeV (energy, not E_T).

Charged particles bend in the 3.8 T solenoid before they reach the calorimeters. As Delphes'
``ParticlePropagator`` with the CMS card (radius 1.29 m, half-length 3.0 m, Bz = 3.8 T), a
particle from the origin moves on a helix to the cylinder of the ECAL face; the (eta, phi) of
the point where it crosses the cylinder (barrel) or its end cap is where it deposits. A charged
particle whose helix never reaches the barrel radius (pT < 0.3 B R / 2 = 0.735 GeV) reaches the
end cap if it is fast enough along z, otherwise it loops inside the tracker and deposits nothing.
"""

from __future__ import annotations

import numpy as np

NUM_ETA = 72
NUM_PHI = 72
IMAGE_SHAPE = (NUM_ETA, NUM_PHI)

_POSITIVE_EDGES = (
    *(round(0.087 * k, 3) for k in range(21)),
    1.830, 1.930, 2.043, 2.172, 2.322, 2.500, 2.650, 2.868, 3.000,
    3.139, 3.314, 3.489, 3.664, 3.839, 4.013, 4.191,
)
# [73] eta edges, symmetric about 0.
ETA_EDGES = np.concatenate([-np.asarray(_POSITIVE_EDGES[:0:-1]), np.asarray(_POSITIVE_EDGES)])
# [73] phi edges, 5 degrees each.
PHI_EDGES = np.linspace(-np.pi, np.pi, NUM_PHI + 1)
ETA_CENTRES = 0.5 * (ETA_EDGES[1:] + ETA_EDGES[:-1])
PHI_CENTRES = 0.5 * (PHI_EDGES[1:] + PHI_EDGES[:-1])
ETA_MAX = float(ETA_EDGES[-1])
EDGES_NAME = "CMS HCAL tower edges |ieta| = 1-36 (|eta| < 4.191) x 72 phi bins of 5 degrees"

# Delphes CMS card, ParticlePropagator: the ECAL face cylinder and the field.
BARREL_RADIUS_M = 1.29
HALF_LENGTH_M = 3.0
FIELD_T = 3.8
# p_T [GeV] = 0.299792458 x B [T] x radius [m] x |q| [e].
GEV_PER_TESLA_METRE = 0.299792458


def wrap_phi(phi: np.ndarray) -> np.ndarray:
    """``phi`` wrapped into [-pi, pi)."""
    return (np.asarray(phi, np.float64) + np.pi) % (2.0 * np.pi) - np.pi


def tower_index(eta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tower of each (eta, phi): ``(i_eta, i_phi)`` int64 ``[n]``, -1 for both outside |eta|."""
    eta = np.asarray(eta, np.float64)
    i_eta = np.searchsorted(ETA_EDGES, eta, side="right") - 1
    inside = (eta >= ETA_EDGES[0]) & (eta < ETA_EDGES[-1])
    i_phi = np.floor((wrap_phi(phi) + np.pi) / (2.0 * np.pi) * NUM_PHI).astype(np.int64)
    i_phi = np.minimum(i_phi, NUM_PHI - 1)
    return np.where(inside, i_eta, -1), np.where(inside, i_phi, -1)


def propagate(pt_gev: np.ndarray, eta: np.ndarray, phi: np.ndarray, charge: np.ndarray,
              field_t: float = FIELD_T, radius_m: float = BARREL_RADIUS_M,
              half_length_m: float = HALF_LENGTH_M) -> dict[str, np.ndarray]:
    """Where particles from the origin cross the calorimeter face (Delphes ``ParticlePropagator``).

    Args:
        pt_gev, eta, phi: momentum direction at the vertex ``[n]``.
        charge: electric charge in e ``[n]`` (0: straight line).
        field_t: solenoid field Bz (positive charges bend to decreasing phi).
        radius_m, half_length_m: the cylinder of the calorimeter face.

    Returns:
        ``eta``, ``phi`` of the impact ``[n]`` (the vertex direction where it is not reached),
        ``reaches`` bool ``[n]`` and ``barrel`` bool ``[n]`` (on the cylinder, not an end cap).
    """
    pt = np.asarray(pt_gev, np.float64)
    eta = np.asarray(eta, np.float64)
    phi = np.asarray(phi, np.float64)
    charge = np.asarray(charge, np.float64)
    sinh = np.sinh(eta)
    charged = (charge != 0) & (field_t > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        helix_radius = np.where(charged, pt / (GEV_PER_TESLA_METRE * field_t
                                               * np.abs(np.where(charged, charge, 1.0))), np.inf)
        # Transverse turning angle alpha at the barrel: chord R = 2 rho sin(alpha / 2).
        ratio = radius_m / (2.0 * helix_radius)
        alpha_barrel = np.where(ratio <= 1.0, 2.0 * np.arcsin(np.minimum(ratio, 1.0)), np.inf)
        # Transverse arc length to the barrel; straight lines: R.
        arc_barrel = np.where(charged, helix_radius * alpha_barrel, radius_m)
        z_barrel = sinh * arc_barrel
        barrel = np.isfinite(arc_barrel) & (np.abs(z_barrel) <= half_length_m)
        # End cap: transverse arc length |z| / |sinh eta|.
        arc_endcap = np.where(sinh != 0, half_length_m / np.abs(sinh), np.inf)
        alpha_endcap = np.where(charged, arc_endcap / helix_radius, 0.0)
    # A helix whose transverse circle stays inside R can still reach the end cap.
    endcap = ~barrel & np.isfinite(arc_endcap)
    reaches = barrel | endcap
    alpha = np.where(barrel, np.where(charged, alpha_barrel, 0.0), alpha_endcap)
    alpha = np.where(reaches, alpha, 0.0)
    # Transverse position: chord 2 rho sin(alpha / 2) at azimuth phi - q alpha / 2.
    z_hit = np.where(barrel, z_barrel, np.sign(sinh) * half_length_m)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho_hit = np.where(barrel, radius_m,
                           np.where(charged, 2.0 * helix_radius * np.abs(np.sin(0.5 * alpha)),
                                    np.where(np.isfinite(arc_endcap), arc_endcap, radius_m)))
        eta_hit = np.where(reaches, np.arcsinh(z_hit / rho_hit), eta)
    phi_hit = wrap_phi(phi - np.sign(charge) * 0.5 * alpha)
    return {"eta": eta_hit, "phi": np.where(reaches, phi_hit, wrap_phi(phi)),
            "reaches": reaches, "barrel": barrel}
