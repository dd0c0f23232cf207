"""A CMS-like calorimeter behind the 72 x 72 tower grid: depths, faces, materials, readout.

The constants of :mod:`caloml.events.detailed`, each with its source. ``shared/PHYSICS.md``
is cited as PHYSICS; CMS numbers not read from a primary document are marked [mem].

**ECAL** (PbWO4 crystals, PHYSICS §2 "PbWO4 (CMS FastSim)" row, as
:data:`caloml.sim.materials.PBWO4`): X0 = 8.9 mm, R_M = 21.9 mm, 23 cm = 25.8 X0 deep
(PHYSICS §6, CMS). Its nuclear interaction length is the PDG 20.3 cm (PHYSICS §2), so the
crystals are 1.13 λ_I deep. The barrel face is the cylinder of :mod:`caloml.events.towers`
(R = 1.29 m, the Delphes CMS card's ``ParticlePropagator``), barrel up to |eta| = 1.479 (CMS
ECAL TDR [mem]); its end caps start at the cylinder's flat ends, |z| = 3.0 m (the EE crystals
start at 3.15 m behind the 3 X0 preshower, which is not simulated: the 15 cm only shift the
lateral scale). The crystals point at the vertex, so a particle crosses 25.8 X0 at any eta.

**HCAL** (brass absorber, C26000 70/30 Cu/Zn, with plastic scintillator; CMS HCAL TDR,
CERN/LHCC 97-31 [mem]): λ_I = 16.42 cm, X0 = 1.49 cm. HB starts at a radius of 1.777 m and is
5.82 λ_I deep at eta = 0, growing as 1/sin theta = cosh(eta) (10.6 λ_I at |eta| = 1.3); HE
starts at |z| = 3.88 m and is ≈ 10 λ_I deep (with the EE in front). caloml takes the depth
``min(5.82 cosh(eta), 10) λ_I`` everywhere and ignores the outer HCAL (HO) behind the coil.
HF (|eta| > 3, towers 3.000-4.191 of the grid) is really iron with quartz fibres starting at
|z| = 11.15 m, read out as long and short fibres; caloml approximates it by the same
PbWO4 + brass longitudinal model (25.8 X0 "EM part" then 10 λ_I) placed at |z| = 11.15 m,
which sets its lateral scale, and calls its front part "ECAL". The images of the CALPAGAN study
sum ECAL and HCAL, so only the sum and the lateral shape of HF showers matter.

**Lateral scale.** A transverse distance r from a shower axis that points (nearly) at the
vertex is ``Δeta ≈ Δphi ≈ r / rho`` with rho the distance of the shower point from the beam
(Δtheta = r / (rho cosh eta), Δeta = cosh(eta) Δtheta). :func:`shower_points` places each
shower at its depth along its (straight, beyond the ECAL face) path and returns its eta, phi
and rho.

**MIP losses.** PbWO4 10.2 MeV/cm at the minimum (PHYSICS §2) and brass 1.403 MeV cm²/g x 8.53
g/cm³ = 11.97 MeV/cm (copper's PDG minimum [mem]); the mean loss of the 2-100 GeV muons and
pions of jets is 1.3 times the minimum (relativistic rise and δ-rays; PDG muon tables for Cu and
Pb [mem]): 0.305 GeV in the 23 cm of crystal and 0.255 GeV per λ_I of brass (1.49 GeV in HB at
eta = 0, ≈ 1.8 GeV on the pion-calibrated HCAL scale).

**Readout** (CMSSW ``RecoLocalCalo/CaloTowersCreator/python/calotowermaker_cfi.py``, the Run 2
``CaloTowersCreator`` defaults, read): a tower's ECAL sum enters only above 0.2 GeV (EB,
``EBSumThreshold``) or 0.45 GeV (EE, ``EESumThreshold``), its HCAL energy above 0.7 GeV
(``HBThreshold``) or 0.8 GeV (``HESThreshold``/``HEDThreshold``); HF long fibres above 0.5 GeV
(``HF1Threshold``, used for the "ECAL" part of HF towers) and short fibres above 0.85 GeV
(``HF2Threshold``, its "HCAL" part). Electronic noise, Gaussian per tower and channel, is
added before the thresholds. The ECAL crystals' noise is ≈ 40 MeV in EB and ≈ 150 MeV (in
energy) in EE (CMS ECAL TDR [mem]); CMS sums only crystals above 0.07 / 0.3 GeV
(``EBThreshold``/``EEThreshold``) into a tower, so the noise of a tower sum comes from the ≈ 2
crystals of a small deposit that pass: σ ≈ √2 x 40 MeV ≈ 0.06 GeV (EB) and ≈ 0.15 GeV (EE,
where the crystal threshold is 2σ). HB/HE: ≈ 0.2 GeV per tower (CMS HCAL TDR [mem]); HF:
0.15 GeV (assumed). The thresholds then sit 3-4σ above the noise, so a few noise towers
survive per event, as in CMS.
"""

from __future__ import annotations

import numpy as np

from caloml.events import towers

# --- ECAL (PbWO4) ---
ECAL_DEPTH_X0 = 25.8
ECAL_DEPTH_MM = 230.0
ECAL_X0_MM = 8.9
ECAL_LAMBDA_MM = 203.0
ECAL_DEPTH_LAMBDA = ECAL_DEPTH_MM / ECAL_LAMBDA_MM
ECAL_BARREL_ETA_MAX = 1.479
# The face of the ECAL: the cylinder of the towers' propagator.
ECAL_BARREL_RADIUS_M = towers.BARREL_RADIUS_M
ECAL_ENDCAP_Z_M = towers.HALF_LENGTH_M

# --- HCAL (brass + scintillator) ---
HCAL_LAMBDA_MM = 164.2
HCAL_X0_MM = 14.9
HCAL_X0_PER_LAMBDA = HCAL_LAMBDA_MM / HCAL_X0_MM
HB_DEPTH_LAMBDA_AT_ETA0 = 5.82
HCAL_MAX_DEPTH_LAMBDA = 10.0
HB_ETA_MAX = 1.305
HB_INNER_RADIUS_M = 1.777
HE_FACE_Z_M = 3.88

# --- HF (approximated by the same model, at its own distance) ---
HF_ETA_MIN = 3.0
HF_FACE_Z_M = 11.15

# --- MIP losses (mean, 1.3 x minimum) ---
MIP_ECAL_GEV = 1.3 * 10.2e-3 * ECAL_DEPTH_MM / 10.0
MIP_HCAL_GEV_PER_LAMBDA = 1.3 * 11.97e-3 * HCAL_LAMBDA_MM / 10.0

# --- Readout: regions of a tower row by |eta| of its centre ---
EB, EE, HF = 0, 1, 2
HB, HE = 0, 1
# Thresholds on the tower's channel (GeV) and Gaussian noise per tower (GeV), by region.
ECAL_THRESHOLD_GEV = {EB: 0.2, EE: 0.45, HF: 0.5}
ECAL_NOISE_GEV = {EB: 0.06, EE: 0.15, HF: 0.15}
HCAL_THRESHOLD_GEV = {HB: 0.7, HE: 0.8, HF: 0.85}
HCAL_NOISE_GEV = {HB: 0.2, HE: 0.2, HF: 0.15}


def hcal_depth_lambda(eta: np.ndarray) -> np.ndarray:
    """HCAL depth in λ_I along a path at ``eta`` ``[n]``: ``min(5.82 cosh eta, 10)``."""
    return np.minimum(HB_DEPTH_LAMBDA_AT_ETA0 * np.cosh(np.asarray(eta, np.float64)),
                      HCAL_MAX_DEPTH_LAMBDA)


def ecal_region(eta: np.ndarray) -> np.ndarray:
    """EB / EE / HF (0, 1, 2) of directions ``eta`` ``[n]``."""
    abs_eta = np.abs(np.asarray(eta, np.float64))
    return np.where(abs_eta < ECAL_BARREL_ETA_MAX, EB, np.where(abs_eta < HF_ETA_MIN, EE, HF))


def hcal_region(eta: np.ndarray) -> np.ndarray:
    """HB / HE / HF (0, 1, 2) of directions ``eta`` ``[n]``."""
    abs_eta = np.abs(np.asarray(eta, np.float64))
    return np.where(abs_eta < HB_ETA_MAX, HB, np.where(abs_eta < HF_ETA_MIN, HE, HF))


def _row_values(region: np.ndarray, table: dict[int, float]) -> np.ndarray:
    return np.array([table[int(r)] for r in region], np.float64)


def readout_rows() -> dict[str, np.ndarray]:
    """Thresholds and noise of each eta row of the grid, from the region of its centre.

    Returns:
        ``ecal_threshold_gev``, ``ecal_noise_gev``, ``hcal_threshold_gev``, ``hcal_noise_gev``,
        each float64 ``[72]``.
    """
    ecal = ecal_region(towers.ETA_CENTRES)
    hcal = hcal_region(towers.ETA_CENTRES)
    return {
        "ecal_threshold_gev": _row_values(ecal, ECAL_THRESHOLD_GEV),
        "ecal_noise_gev": _row_values(ecal, ECAL_NOISE_GEV),
        "hcal_threshold_gev": _row_values(hcal, HCAL_THRESHOLD_GEV),
        "hcal_noise_gev": _row_values(hcal, HCAL_NOISE_GEV),
    }


def _path_to_cylinder(x, y, ux, uy, radius_m):
    """Transverse path length from (x, y) inside a cylinder to it, along (ux, uy)."""
    along = x * ux + y * uy
    return -along + np.sqrt(np.maximum(along**2 - (x**2 + y**2) + radius_m**2, 0.0))


def shower_points(hit_eta: np.ndarray, hit_phi: np.ndarray, barrel: np.ndarray,
                  direction_phi: np.ndarray, direction_eta: np.ndarray, hcal: np.ndarray,
                  depth_mm: np.ndarray) -> dict[str, np.ndarray]:
    """Where parts of showers lie: eta, phi and distance rho from the beam.

    A particle crosses the ECAL face at (``hit_eta``, ``hit_phi``) (the cylinder R = 1.29 m,
    ``barrel``, or its flat end at |z| = 3.0 m) moving in azimuth ``direction_phi`` (bent by
    the field up to there) with the longitudinal slope ``sinh(direction_eta)`` of its vertex
    direction (the solenoid keeps pz/pT). Beyond the face the shower axis is a straight line
    (the further bending of a charged particle inside the coil is neglected). An ECAL part lies
    ``depth_mm`` along it behind the ECAL face, an HCAL part ``depth_mm`` behind the HCAL face
    (the HB cylinder R = 1.777 m or the HE plane |z| = 3.88 m). For |hit_eta| > 3 the "ECAL"
    face is the HF face |z| = 11.15 m and the "HCAL" face lies 23 cm behind it.

    Args:
        hit_eta, hit_phi, barrel: the ECAL-face crossing ``[m]`` (from
            :func:`caloml.events.towers.propagate`).
        direction_phi, direction_eta: the direction of the path there ``[m]``.
        hcal: bool ``[m]``, True for HCAL parts.
        depth_mm: depth of each part along the path behind its face ``[m]``.

    Returns:
        ``eta``, ``phi`` and ``rho_m`` of each part, float64 ``[m]``.
    """
    hit_eta = np.asarray(hit_eta, np.float64)
    sinh_hit = np.sinh(hit_eta)
    rho_hit = np.where(barrel, ECAL_BARREL_RADIUS_M,
                       ECAL_ENDCAP_Z_M / np.maximum(np.abs(sinh_hit), 1e-12))
    z_hit = rho_hit * sinh_hit
    x, y = rho_hit * np.cos(hit_phi), rho_hit * np.sin(hit_phi)
    ux, uy = np.cos(direction_phi), np.sin(direction_phi)
    slope = np.sinh(np.asarray(direction_eta, np.float64))  # dz per unit transverse path
    cosh = np.sqrt(1.0 + slope**2)  # 3D path per unit transverse path
    abs_slope = np.maximum(np.abs(slope), 1e-12)
    forward = np.abs(hit_eta) >= HF_ETA_MIN
    to_hf = np.maximum(HF_FACE_Z_M - np.abs(z_hit), 0.0) / abs_slope
    to_hb = _path_to_cylinder(x, y, ux, uy, HB_INNER_RADIUS_M)
    in_hb = np.abs(z_hit + slope * to_hb) <= HE_FACE_Z_M
    to_he = np.maximum(HE_FACE_Z_M - np.abs(z_hit), 0.0) / abs_slope
    hcal_face = np.where(forward, to_hf + ECAL_DEPTH_MM * 1e-3 / cosh,
                         np.where(in_hb, to_hb, to_he))
    face = np.where(hcal, hcal_face, np.where(forward, to_hf, 0.0))
    transverse = face + 1e-3 * np.asarray(depth_mm, np.float64) / cosh
    px, py = x + transverse * ux, y + transverse * uy
    rho = np.hypot(px, py)
    return {"eta": np.arcsinh((z_hit + slope * transverse) / rho), "phi": np.arctan2(py, px),
            "rho_m": rho}
