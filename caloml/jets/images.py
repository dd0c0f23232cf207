"""Jet images on a global eta-phi pixel grid, sum pooling, jet finding and the paired selection.

"How to GAN Higher Jet Resolution" (Baldi et al. 2021, §2) pairs a high-resolution (HR) jet
image with low-resolution (LR) images made by sum pooling "the jet constituents ... before we
perform jet finding", so that the LR jet is found on the coarse constituents, not cut out of
the HR image. caloml does this on one global grid:

* HR pixels are squares of ``PIXEL_SIZE_RAD`` = 2 pi / 640 ~ 0.00982 in eta and phi, with
  edges at integer multiples of it (eta pixel ``i`` covers ``[i, i + 1) * delta``, phi pixel
  ``j`` covers ``-pi + [j, j + 1) * delta``, ``0 <= j < 640``). The paper's 160 x 160 images
  suggest 0.01; 2 pi / 640 closes the phi grid on itself and makes the grids pooled by 2, 4
  and 8 nest (pooled pixel ``i // f``). That is a documented deviation of < 2 %.
* HR constituents: the detector-level constituents' pT summed per HR pixel, each pixel a
  massless pseudo-particle at the pixel centre. LR_f constituents: the HR pixels summed over
  f x f blocks of the global grid, as pseudo-particles at the coarse pixel centres.
* Jets: anti-kT (FastJet) separately on the HR and on every LR_f constituent set; the hardest
  jet of each is kept.
* Selection (paper §2): HR jet pT in [550, 650] GeV and |eta| < 2; for every f, both jets have
  at least 15 constituents and Delta R(HR jet, LR_f jet) < 0.1; an event is kept only if all
  factors pass.
* Images: a 160 x 160 HR window centred on the HR jet axis snapped to the nearest multiple of
  8 delta in eta and phi, so that its edges lie on every coarse grid; the HR image holds the
  HR jet's pixels inside the window, the LR_f image ((160 / f)^2) the LR_f jet's pixels in the
  same window. Axis 1 is eta, axis 2 is phi, both increasing; phi wraps around. Values are
  pT in GeV.
"""

from __future__ import annotations

import dataclasses
import math

import awkward as ak
import fastjet
import numpy as np

# Number of HR pixels around the phi circle, and their size (eta and phi).
NUM_PHI_PIXELS = 640
PIXEL_SIZE_RAD = 2.0 * math.pi / NUM_PHI_PIXELS
# HR image side in pixels (paper §3: 160 x 160) and the pooling factors (§3.3: 2, 4, 8).
IMAGE_SIZE = 160
FACTORS = (2, 4, 8)
# Window edges lie on the grid pooled by this (the largest factor).
WINDOW_ALIGNMENT = 8
# Paper §2: anti-kT R = 0.8, pT 550-650 GeV, |eta| < 2, >= 15 constituents, Delta R < 0.1.
JET_RADIUS = 0.8
PT_RANGE_GEV = (550.0, 650.0)
ETA_MAX = 2.0
MIN_CONSTITUENTS = 15
MAX_DELTA_R = 0.1

_quiet = False


def _silence_fastjet_banner() -> None:
    """FastJet prints a banner on stdout at its first clustering; a library must not print."""
    global _quiet
    if _quiet:
        return
    swig = getattr(fastjet, "_swig", None)
    sequence = getattr(swig, "ClusterSequence", None)
    if sequence is not None and hasattr(sequence, "set_fastjet_banner_stream"):
        sequence.set_fastjet_banner_stream(None)
    _quiet = True


def pixel_index(eta: np.ndarray, phi: np.ndarray, factor: int = 1
                ) -> tuple[np.ndarray, np.ndarray]:
    """Global pixel indices of directions on the grid pooled by ``factor``.

    Args:
        eta: pseudorapidities ``[n]``.
        phi: azimuths ``[n]`` in rad (any range).
        factor: 1 for HR pixels, f for the LR_f grid.

    Returns:
        int64 ``(i_eta [n], i_phi [n])``; ``i_phi`` in ``[0, 640 / factor)``.
    """
    size = PIXEL_SIZE_RAD * factor
    i_eta = np.floor(np.asarray(eta, np.float64) / size).astype(np.int64)
    shifted = np.mod(np.asarray(phi, np.float64) + math.pi, 2.0 * math.pi)
    i_phi = np.floor(shifted / size).astype(np.int64) % (NUM_PHI_PIXELS // factor)
    return i_eta, i_phi


def pixel_centre(i_eta: np.ndarray, i_phi: np.ndarray, factor: int = 1
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Centres ``(eta [n], phi [n])`` of global pixels of the grid pooled by ``factor``."""
    size = PIXEL_SIZE_RAD * factor
    eta = (np.asarray(i_eta) + 0.5) * size
    phi = -math.pi + (np.asarray(i_phi) + 0.5) * size
    return eta, phi


@dataclasses.dataclass(frozen=True)
class Pixels:
    """Pixels hit in a batch of events: flat arrays ``[m]``, sorted by event then pixel.

    Attributes:
        event: event index (int64).
        i_eta, i_phi: global pixel indices on the grid pooled by ``factor``.
        pt_gev: summed pT.
        factor: 1 (HR) or the pooling factor.
    """

    event: np.ndarray
    i_eta: np.ndarray
    i_phi: np.ndarray
    pt_gev: np.ndarray
    factor: int = 1

    def momenta(self) -> np.ndarray:
        """Massless pseudo-particles at the pixel centres, (E, px, py, pz) ``[m, 4]``."""
        eta, phi = pixel_centre(self.i_eta, self.i_phi, self.factor)
        pt = self.pt_gev
        return np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi),
                         pt * np.sinh(eta)], axis=-1)


def _sum_per_pixel(event, i_eta, i_phi, pt, factor) -> Pixels:
    event = np.asarray(event, np.int64)
    if not len(event):
        empty = np.zeros(0, np.int64)
        return Pixels(empty, empty, empty, np.zeros(0), factor)
    # One integer key per (event, eta, phi), ordered as the tuple.
    eta_offset = i_eta.min()
    num_eta = int(i_eta.max() - eta_offset + 1)
    num_phi = NUM_PHI_PIXELS // factor
    key = (event * num_eta + (i_eta - eta_offset)) * num_phi + i_phi
    keys, inverse = np.unique(key, return_inverse=True)
    pt_sum = np.bincount(inverse, weights=np.asarray(pt, np.float64), minlength=len(keys))
    return Pixels(
        event=keys // (num_eta * num_phi),
        i_eta=(keys // num_phi) % num_eta + eta_offset,
        i_phi=keys % num_phi,
        pt_gev=pt_sum,
        factor=factor,
    )


def pixelise(event: np.ndarray, eta: np.ndarray, phi: np.ndarray, pt_gev: np.ndarray,
             factor: int = 1) -> Pixels:
    """Sums the pT of constituents per pixel of the grid pooled by ``factor``.

    Args:
        event: event index of each constituent ``[n]``.
        eta, phi, pt_gev: the constituents ``[n]``.
        factor: 1 for the HR grid.
    """
    i_eta, i_phi = pixel_index(eta, phi, factor)
    return _sum_per_pixel(event, i_eta, i_phi, pt_gev, factor)


def pool(pixels: Pixels, factor: int) -> Pixels:
    """Sum pooling of HR ``pixels`` over ``factor`` x ``factor`` blocks of the global grid."""
    if pixels.factor != 1:
        raise ValueError(f"pool expects HR pixels (factor 1), got factor {pixels.factor}")
    return _sum_per_pixel(pixels.event, pixels.i_eta // factor, pixels.i_phi // factor,
                          pixels.pt_gev, factor)


def jet_kinematics(momentum_gev: np.ndarray) -> np.ndarray:
    """(pt GeV, eta, phi rad, mass GeV) ``[n, 4]`` of four-momenta (E, px, py, pz) ``[n, 4]``.

    A zero four-momentum (no jet) gives all zeros.
    """
    momentum = np.asarray(momentum_gev, np.float64).reshape(-1, 4)
    energy, px, py, pz = momentum.T
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.where(pt > 0, np.arcsinh(pz / np.where(pt > 0, pt, 1.0)), 0.0)
    phi = np.arctan2(py, px)
    mass = np.sqrt(np.maximum(energy**2 - px**2 - py**2 - pz**2, 0.0))
    return np.stack([pt, eta, phi, mass], axis=-1)


@dataclasses.dataclass(frozen=True)
class HardestJets:
    """The hardest jet of each event.

    Attributes:
        momentum_gev: (E, px, py, pz) ``[num_events, 4]``; zeros for an event without jets.
        num_constituents: ``[num_events]`` int64.
        member: ``[m]`` bool, whether each input particle belongs to its event's hardest jet.
    """

    momentum_gev: np.ndarray
    num_constituents: np.ndarray
    member: np.ndarray

    def kinematics(self) -> np.ndarray:
        """(pt, eta, phi, mass) ``[num_events, 4]`` (:func:`jet_kinematics`)."""
        return jet_kinematics(self.momentum_gev)


def cluster_hardest(event: np.ndarray, momentum_gev: np.ndarray, num_events: int,
                    radius: float = JET_RADIUS) -> HardestJets:
    """Anti-kT jets of every event (FastJet, E-scheme), the hardest one of each.

    Args:
        event: event index of each particle ``[m]``, sorted (non-decreasing).
        momentum_gev: (E, px, py, pz) ``[m, 4]``.
        num_events: number of events (events without particles get no jet).
        radius: anti-kT R.
    """
    _silence_fastjet_banner()
    event = np.asarray(event, np.int64)
    momentum = np.asarray(momentum_gev, np.float64).reshape(-1, 4)
    if len(event) and np.any(np.diff(event) < 0):
        raise ValueError("particles must be sorted by event")
    counts = np.bincount(event, minlength=num_events)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    jet_momentum = np.zeros((num_events, 4))
    num_constituents = np.zeros(num_events, np.int64)
    member = np.zeros(len(event), bool)
    if not len(event):
        return HardestJets(jet_momentum, num_constituents, member)
    records = ak.zip({"px": momentum[:, 1], "py": momentum[:, 2], "pz": momentum[:, 3],
                      "E": momentum[:, 0]}, with_name="Momentum4D")
    sequence = fastjet.ClusterSequence(ak.unflatten(records, counts),
                                       fastjet.JetDefinition(fastjet.antikt_algorithm, radius))
    jets = sequence.inclusive_jets(0.0)
    jet_counts = ak.to_numpy(ak.num(jets, axis=1))
    jet_px = ak.to_numpy(ak.flatten(jets.px))
    jet_py = ak.to_numpy(ak.flatten(jets.py))
    flat = np.stack([ak.to_numpy(ak.flatten(jets.E)), jet_px, jet_py,
                     ak.to_numpy(ak.flatten(jets.pz))], axis=-1)
    has_jet = jet_counts > 0
    jet_starts = np.concatenate([[0], np.cumsum(jet_counts)[:-1]])
    jet_event = np.repeat(np.arange(num_events), jet_counts)
    # Hardest per event: the largest pT; ties go to the first jet FastJet lists.
    jet_pt2 = jet_px**2 + jet_py**2
    order = np.lexsort((np.arange(len(jet_pt2)), -jet_pt2, jet_event))
    first_of_event = jet_starts[has_jet]
    hardest = order[first_of_event]  # flat jet index of each event's hardest jet
    jet_momentum[has_jet] = flat[hardest]
    # Constituents: indices within the event of each jet's particles.
    index = sequence.constituent_index(0.0)
    per_jet = ak.flatten(index, axis=1)  # [jet][constituent]
    sizes = ak.to_numpy(ak.num(per_jet, axis=1))
    chosen = per_jet[hardest]
    num_constituents[has_jet] = sizes[hardest]
    local = ak.to_numpy(ak.flatten(chosen)).astype(np.int64)
    owner = np.repeat(np.flatnonzero(has_jet), sizes[hardest])
    member[starts[owner] + local] = True
    return HardestJets(jet_momentum, num_constituents, member)


def delta_r(eta_a: np.ndarray, phi_a: np.ndarray, eta_b: np.ndarray, phi_b: np.ndarray
            ) -> np.ndarray:
    """sqrt(d eta^2 + d phi^2) with d phi wrapped into [-pi, pi]."""
    dphi = np.mod(np.asarray(phi_a) - np.asarray(phi_b) + math.pi, 2.0 * math.pi) - math.pi
    return np.hypot(np.asarray(eta_a) - np.asarray(eta_b), dphi)


def window_start(eta: np.ndarray, phi: np.ndarray, size: int = IMAGE_SIZE
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HR pixel indices of the lower edges of the windows centred on jet axes.

    The centre is the axis snapped to the nearest multiple of ``WINDOW_ALIGNMENT`` pixels in
    eta and in phi (phi measured from 0), so the window edges lie on every pooled grid.

    Args:
        eta, phi: jet axes ``[n]``.
        size: window side in HR pixels (a multiple of 2 * ``WINDOW_ALIGNMENT``).

    Returns:
        ``(start_eta [n], start_phi [n], centre [n, 2])``: int64 global HR indices of the
        first row and column (start_phi in [0, 640)), and the window centre (eta, phi) in
        rad with phi in [-pi, pi).
    """
    step = WINDOW_ALIGNMENT * PIXEL_SIZE_RAD
    centre_eta = np.round(np.asarray(eta, np.float64) / step).astype(np.int64)
    centre_phi = np.round(np.asarray(phi, np.float64) / step).astype(np.int64)
    half = size // 2
    start_eta = centre_eta * WINDOW_ALIGNMENT - half
    # HR phi index j covers -pi + [j, j + 1) delta, and pi = 320 delta.
    start_phi = (centre_phi * WINDOW_ALIGNMENT + NUM_PHI_PIXELS // 2 - half) % NUM_PHI_PIXELS
    centre = np.stack([centre_eta * step,
                       np.mod(centre_phi * step + math.pi, 2.0 * math.pi) - math.pi], axis=-1)
    return start_eta, start_phi, centre


def window_images(pixels: Pixels, start_eta: np.ndarray, start_phi: np.ndarray,
                  size: int = IMAGE_SIZE, keep: np.ndarray | None = None) -> np.ndarray:
    """Images of the pixels inside each event's window.

    Args:
        pixels: pixels of a grid pooled by ``pixels.factor`` (1 for HR).
        start_eta, start_phi: HR indices of each event's window edges ``[num_events]``
            (:func:`window_start`); multiples of the factor.
        size: HR window side; the image side is ``size // factor``.
        keep: optional ``[m]`` bool, the pixels to draw (e.g. a jet's constituents).

    Returns:
        float32 ``[num_events, size // f, size // f]`` of pT in GeV, axis 1 eta, axis 2 phi.
    """
    factor = pixels.factor
    side = size // factor
    num_events = len(start_eta)
    images = np.zeros((num_events, side, side), np.float32)
    mask = np.ones(len(pixels.event), bool) if keep is None else np.asarray(keep, bool)
    event = pixels.event[mask]
    row = pixels.i_eta[mask] - np.asarray(start_eta)[event] // factor
    column = (pixels.i_phi[mask] - np.asarray(start_phi)[event] // factor) % (
        NUM_PHI_PIXELS // factor)
    inside = (row >= 0) & (row < side) & (column < side)
    np.add.at(images, (event[inside], row[inside], column[inside]),
              pixels.pt_gev[mask][inside].astype(np.float32))
    return images


def selection(
    hr_jet: np.ndarray,
    hr_num_constituents: np.ndarray,
    lr_jets: dict[int, np.ndarray],
    lr_num_constituents: dict[int, np.ndarray],
    pt_range_gev: tuple[float, float] = PT_RANGE_GEV,
    eta_max: float = ETA_MAX,
    min_constituents: int = MIN_CONSTITUENTS,
    max_delta_r: float = MAX_DELTA_R,
) -> np.ndarray:
    """The paper's paired selection (§2), ``[num_events]`` bool.

    Args:
        hr_jet: (pt, eta, phi, mass) of the HR jets ``[n, 4]``.
        hr_num_constituents: ``[n]``.
        lr_jets: factor -> (pt, eta, phi, mass) ``[n, 4]`` of the LR_f jets.
        lr_num_constituents: factor -> ``[n]``.
        pt_range_gev: HR jet pT window (inclusive).
        eta_max: HR jet |eta| bound (exclusive).
        min_constituents: least constituents of the HR and of every LR jet.
        max_delta_r: Delta R(HR jet, LR_f jet) must be below it for every f.
    """
    hr_jet = np.asarray(hr_jet)
    low, high = pt_range_gev
    keep = (hr_jet[:, 0] >= low) & (hr_jet[:, 0] <= high) & (np.abs(hr_jet[:, 1]) < eta_max)
    keep &= np.asarray(hr_num_constituents) >= min_constituents
    for factor, lr in lr_jets.items():
        lr = np.asarray(lr)
        keep &= np.asarray(lr_num_constituents[factor]) >= min_constituents
        keep &= delta_r(hr_jet[:, 1], hr_jet[:, 2], lr[:, 1], lr[:, 2]) < max_delta_r
    return keep
