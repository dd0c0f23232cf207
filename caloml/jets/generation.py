"""Pythia 8 + detector model + FastJet generation of paired HR/LR jet images.

caloml's analogue of the public top-tagging sample behind "How to GAN Higher Jet Resolution"
(Baldi et al. 2021, §2): √s = 14 TeV proton collisions from Pythia 8 (``pythia8mc``),

* ``top``: all-hadronic tt̄ (``Top:gg2ttbar``, ``Top:qqbar2ttbar``; W± → hadrons only via
  ``24:onMode = off``, ``24:onIfAny = 1 2 3 4 5``),
* ``qcd``: QCD dijets (``HardQCD:all``),

with Pythia's default tune, multiparton interactions and hadronisation, and no pile-up. The
final-state particles go through :mod:`caloml.jets.detector` (the Delphes ATLAS card's
parametrisation) and :mod:`caloml.jets.images` (global pixel grid, sum pooling, anti-kT
R = 0.8 on HR and LR constituents, the paper's selection, 160 x 160 windows).

Top jets are truth-matched as in the public sample (Kasieczka et al., SciPost Phys. 7 (2019)
014, §2): the HR jet must have a top quark of the event record and its three decay quarks
(b, and the W's q q') within Delta R < 0.8 of its axis; otherwise a hard initial-state gluon
jet of a tt̄ event could enter the top sample.

Generator-level cut: ``PhaseSpace:pTHatMin`` = ``pt_hat_min_gev``, by default
:data:`PT_HAT_MIN_FRACTION` x the lower edge of the jet pT window (495 GeV for 550-650 GeV,
close to the 500 GeV of the issue's timing), no upper cut. Detector-level jets in the window
also come from softer hard processes (initial-state radiation, and the steep p̂T spectrum
feeding upward fluctuations): generated down to p̂T = 200-300 GeV, the selected jets had p̂T
below 440 GeV for 12-23 % (QCD) and 10 % (matched top) of them, below 350 GeV for 3 % of
each, and below 330 GeV for 0-2 % (samples of 33-118 selected jets per process and run,
seeds 7, 11, 12345). The default cut therefore leaves out the 10-25 % of window jets that
come from p̂T < 495 GeV, in exchange for an acceptance (selected jets per generated event)
of about 24 % instead of 5 % at 330 GeV: 100k jets per class take about 50 instead of 250
minutes on 2 cores (:data:`MEASURED_ACCEPTANCE`). ``--pt_hat_min=330`` gives the nearly
unbiased sample (README, deviations).

Events are extracted in batches with Pythia's vectorised ``Pythia.nextBatch`` (an Awkward
array of the event records), so no Python loop runs over particles; detector,
pixelisation and clustering are vectorised over the batch.

Reproducibility: the jets are made in chunks of :data:`CHUNK_JETS` selected jets; chunk k is
generated with a fresh Pythia seeded from the k-th child of ``SeedSequence(seed)`` (and the
detector smearing from that child too), so the same seed gives bit-identical jets for any
number of worker processes.

The arrays (and the file layout ``"jets"``, :data:`caloml.io.schema.JETS`):

* ``hr`` float32 [N, 160, 160]; ``lr2`` [N, 80, 80]; ``lr4`` [N, 40, 40]; ``lr8``
  [N, 20, 20]: pT in GeV per pixel of the HR jet's and the LR_f jets' constituents in the
  window (axis 1 eta, axis 2 phi, both increasing).
* ``constituents`` float32 [N, 200, 4]: (E, px, py, pz) in GeV of the HR jet's detector-level
  constituents (before pixelisation), pT-ordered, zero-padded (the public top-tagging
  dataset's convention); ``num_constituents`` int32 [N]: the rows filled (<= 200).
* ``jet`` float32 [N, 4]: HR jet (pt GeV, eta, phi rad, mass GeV); ``jet_lr2``, ``jet_lr4``,
  ``jet_lr8`` likewise for the LR_f jets.
* ``image_centre`` float32 [N, 2]: (eta, phi) of the window centre.
* ``is_top`` int8 [N]: 1 for ``top``, 0 for ``qcd``.
"""

from __future__ import annotations

import collections
import importlib.metadata
import math
import os
from typing import Any

import numpy as np

import caloml
from caloml.errors import InputError
from caloml.io import hdf5, schema
from caloml.jets import detector, images
from caloml.sim import core

PROCESSES = ("top", "qcd")
# Paper §2: √s = 14 TeV.
CENTRE_OF_MASS_ENERGY_GEV = 14000.0
_PROCESS_SETTINGS = {
    "top": ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on", "24:onMode = off",
            "24:onIfAny = 1 2 3 4 5"),
    "qcd": ("HardQCD:all = on",),
}
# PhaseSpace:pTHatMin as a fraction of the lower edge of the jet pT window (see module doc).
PT_HAT_MIN_FRACTION = 0.9
# Selected jets per chunk; chunk k always uses the k-th child seed. Changing it changes the jets.
CHUNK_JETS = 64
# Events a chunk may generate without filling up before it gives up (default of max_tries).
DEFAULT_MAX_TRIES = 20000
# Rows of the constituent array (the public top-tagging dataset keeps 200).
MAX_CONSTITUENTS = 200
# Pythia's Random:seed range (0 would mean a time-dependent seed).
_PYTHIA_SEED_MAX = 900_000_000
# Events per nextBatch call: bounds of the adaptive batch size.
_MIN_BATCH, _MAX_BATCH = 16, 512

# Selected jets per generated event (p̂T > 0.9 x 550 GeV, 550-650 GeV window, |eta| < 2, all
# three factors paired, top jets matched), measured with seed 3 on 64 jets each (268 and 278
# events; at 0.6 x 550 GeV it was 0.047 and 0.049). Time per event on one core: Pythia
# 9-10 ms, extraction 0.1 ms, detector, pixels, clustering and selection 1 ms, Pythia's
# initialisation 0.5 s per chunk.
MEASURED_ACCEPTANCE = {"top": 0.24, "qcd": 0.23}


def pythia_version() -> str:
    """Version of the installed ``pythia8mc`` (e.g. ``"8.317.2"``)."""
    return importlib.metadata.version("pythia8mc")


def chunk_settings(process_lines: tuple[str, ...] | list[str], sqrt_s_gev: float, seed: int,
                   pt_hat_min_gev: float) -> list[str]:
    """The Pythia settings (``readString`` lines) of one chunk of any process.

    Args:
        process_lines: the process's own lines (e.g. ``"HardQCD:all = on"``).
        sqrt_s_gev: ``Beams:eCM``.
        seed: ``Random:seed``, in [1, 900000000].
        pt_hat_min_gev: ``PhaseSpace:pTHatMin``.
    """
    return [
        f"Beams:eCM = {sqrt_s_gev:g}",
        *process_lines,
        f"PhaseSpace:pTHatMin = {pt_hat_min_gev:g}",
        "Random:setSeed = on",
        f"Random:seed = {int(seed)}",
        "Print:quiet = on",
        "Next:numberCount = 0",
    ]


def start_pythia(lines: list[str], failure: str):
    """An initialised ``pythia8mc.Pythia`` with ``lines`` read (about 0.5 s).

    Raises:
        InputError: ``failure`` (what to say when Pythia cannot initialise).
    """
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in lines:
        if not pythia.readString(line):
            raise RuntimeError(f"Pythia refused the setting {line!r}")
    if not pythia.init():
        raise InputError(failure)
    return pythia


def pythia_settings(process: str, seed: int, pt_hat_min_gev: float) -> list[str]:
    """The Pythia settings (``readString`` lines) of one chunk.

    Args:
        process: ``"top"`` or ``"qcd"``.
        seed: ``Random:seed``, in [1, 900000000].
        pt_hat_min_gev: ``PhaseSpace:pTHatMin``.
    """
    if process not in _PROCESS_SETTINGS:
        raise InputError(f"unknown process {process!r}; expected one of {list(PROCESSES)}")
    return chunk_settings(_PROCESS_SETTINGS[process], CENTRE_OF_MASS_ENERGY_GEV, seed,
                          pt_hat_min_gev)


def make_pythia(process: str, seed: int, pt_hat_min_gev: float):
    """An initialised ``pythia8mc.Pythia`` for one chunk (about 0.5 s)."""
    return start_pythia(pythia_settings(process, seed, pt_hat_min_gev),
                        f"Pythia could not initialise {process!r} at sqrt(s) = "
                        f"{CENTRE_OF_MASS_ENERGY_GEV:g} GeV with pTHatMin = "
                        f"{pt_hat_min_gev:g} GeV; lower the jet pT window")


class _Charges:
    """PDG id -> electric charge, from Pythia's particle table, cached per id."""

    def __init__(self, pythia):
        self._data = pythia.particleData
        self._table: dict[int, float] = {}

    def __call__(self, pdg_id: np.ndarray) -> np.ndarray:
        ids, inverse = np.unique(pdg_id, return_inverse=True)
        values = []
        for pid in ids.tolist():
            if pid not in self._table:
                self._table[pid] = float(self._data.charge(pid))
            values.append(self._table[pid])
        return np.asarray(values, np.float64)[inverse]


def final_state(batch) -> dict[str, np.ndarray]:
    """Final-state particles of an Awkward batch from ``Pythia.nextBatch``, as flat arrays.

    Returns:
        ``event`` int64 ``[n]``, ``pdg_id`` int32 ``[n]`` and ``momentum_gev`` ``[n, 4]``
        (px, py, pz, E), sorted by event; ``num_events``.
    """
    import awkward as ak

    particles = batch.prt
    final = particles[particles.status > 0]
    counts = ak.to_numpy(ak.num(final, axis=1))
    momentum = final.p
    columns = [ak.to_numpy(ak.flatten(getattr(momentum, name))) for name in ("px", "py", "pz",
                                                                             "e")]
    return {
        "event": np.repeat(np.arange(len(counts), dtype=np.int64), counts),
        "pdg_id": ak.to_numpy(ak.flatten(final.id)).astype(np.int32),
        "momentum_gev": np.stack(columns, axis=-1).astype(np.float64),
        "num_events": len(counts),
    }


def top_partons(batch) -> dict[str, np.ndarray]:
    """Directions of the top quarks and their decay quarks (t -> b W, W -> q q'), per top.

    The last copy of each top in the event record decays to W b; the W is followed to its
    last copy, whose daughters are the quarks.

    Returns:
        ``event`` int64 ``[t]`` and ``eta``, ``phi`` ``[t, 4]`` of (top, b, q, q') for every
        top whose decay was found.
    """
    import awkward as ak

    particles = batch.prt
    counts = ak.to_numpy(ak.num(particles, axis=1))
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    event = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    start = offsets[event]
    pdg = np.abs(ak.to_numpy(ak.flatten(particles.id)))
    first = ak.to_numpy(ak.flatten(particles.daughter1)).astype(np.int64) + start
    last = ak.to_numpy(ak.flatten(particles.daughter2)).astype(np.int64) + start
    momentum = particles.p
    px, py, pz = (ak.to_numpy(ak.flatten(getattr(momentum, k))) for k in ("px", "py", "pz"))
    num = len(pdg)
    first_ok = np.clip(first, 0, num - 1)
    tops = np.flatnonzero((pdg == 6) & (pdg[first_ok] != 6) & (first > start))
    out_event, out_index = [], []
    for top in tops:
        daughters = np.arange(first[top], max(last[top], first[top]) + 1)
        b = daughters[pdg[daughters] == 5]
        w = daughters[pdg[daughters] == 24]
        if not (len(b) and len(w)):
            continue
        w = int(w[0])
        while first[w] - start[w] > 0 and pdg[first[w]] == 24:  # follow the W's copies
            w = int(first[w])
        quarks = np.arange(first[w], max(last[w], first[w]) + 1)
        quarks = quarks[(pdg[quarks] >= 1) & (pdg[quarks] <= 5)]
        if len(quarks) != 2:
            continue
        out_event.append(event[top])
        out_index.append([top, b[0], *quarks])
    index = np.asarray(out_index, np.int64).reshape(-1, 4)
    pt = np.hypot(px[index], py[index])
    return {
        "event": np.asarray(out_event, np.int64),
        "eta": np.arcsinh(pz[index] / np.maximum(pt, 1e-12)),
        "phi": np.arctan2(py[index], px[index]),
    }


def top_matched(jet: np.ndarray, event: np.ndarray, partons: dict[str, np.ndarray],
                radius: float = images.JET_RADIUS) -> np.ndarray:
    """Whether a top and all its decay quarks lie within ``radius`` of each jet axis.

    The truth matching of the public top-tagging sample (Kasieczka et al., SciPost Phys. 7
    (2019) 014, §2): a parton-level top within Delta R = 0.8 of the jet, and all its decay
    quarks too.

    Args:
        jet: (pt, eta, phi, mass) ``[n, 4]``.
        event: the batch event of each jet ``[n]``.
        partons: :func:`top_partons` of the batch.

    Returns:
        bool ``[n]``.
    """
    matched = np.zeros(len(event), bool)
    for i, (eta, phi) in enumerate(np.asarray(jet)[:, 1:3]):
        mine = partons["event"] == event[i]
        if not mine.any():
            continue
        distance = images.delta_r(partons["eta"][mine], partons["phi"][mine], eta, phi)
        matched[i] = bool(np.any(np.all(distance < radius, axis=1)))
    return matched


def _subset(pixels: images.Pixels, events: np.ndarray) -> images.Pixels:
    """The pixels of ``events`` (sorted indices), renumbered 0 ... len(events) - 1."""
    position = np.full(int(pixels.event.max(initial=-1)) + 1, -1, np.int64)
    position[events] = np.arange(len(events))
    new_event = position[pixels.event] if len(pixels.event) else pixels.event
    keep = new_event >= 0
    return images.Pixels(new_event[keep], pixels.i_eta[keep], pixels.i_phi[keep],
                         pixels.pt_gev[keep], pixels.factor)


def process_events(
    particles: dict[str, np.ndarray],
    charge: np.ndarray,
    rng: np.random.Generator,
    pt_range_gev: tuple[float, float] = images.PT_RANGE_GEV,
    eta_max: float = images.ETA_MAX,
    factors: tuple[int, ...] = images.FACTORS,
    partons: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Detector, pixelisation, jet finding, selection and images of a batch of events.

    Args:
        particles: :func:`final_state` of a batch.
        charge: electric charge of each particle ``[n]``.
        rng: generator of the detector's draws.
        pt_range_gev: HR jet pT window.
        eta_max: HR jet |eta| bound.
        factors: pooling factors.
        partons: for top jets, :func:`top_partons` of the batch: the HR jet must then contain
            a top and its decay quarks (:func:`top_matched`).

    Returns:
        The layout's arrays for the selected events (in event order) but ``is_top``, and
        ``event`` (their index in the batch).
    """
    num_events = int(particles["num_events"])
    reco = detector.respond(particles["event"], particles["pdg_id"], charge,
                            particles["momentum_gev"], rng)
    i_eta, i_phi = images.pixel_index(reco["eta"], reco["phi"])
    hr_all = images.pixelise(reco["event"], reco["eta"], reco["phi"], reco["pt_gev"])
    hr_jets = images.cluster_hardest(hr_all.event, hr_all.momenta(), num_events)
    hr_kin = hr_jets.kinematics()
    low, high = pt_range_gev
    # The HR cuts first, so that the LR grids are clustered for candidates only.
    candidates = np.flatnonzero(
        (hr_kin[:, 0] >= low) & (hr_kin[:, 0] <= high) & (np.abs(hr_kin[:, 1]) < eta_max)
        & (hr_jets.num_constituents >= images.MIN_CONSTITUENTS))
    hr_member = hr_jets.member[np.isin(hr_all.event, candidates)]
    hr = _subset(hr_all, candidates)
    num = len(candidates)
    lr_pixels, lr_jets = {}, {}
    for factor in factors:
        lr_pixels[factor] = images.pool(hr, factor)
        lr_jets[factor] = images.cluster_hardest(lr_pixels[factor].event,
                                                 lr_pixels[factor].momenta(), num)
    keep = images.selection(
        hr_kin[candidates], hr_jets.num_constituents[candidates],
        {f: j.kinematics() for f, j in lr_jets.items()},
        {f: j.num_constituents for f, j in lr_jets.items()}, pt_range_gev, eta_max)
    if partons is not None:
        keep &= top_matched(hr_kin[candidates], candidates, partons)
    selected = candidates[keep]
    local = np.flatnonzero(keep)
    start_eta, start_phi, centre = images.window_start(hr_kin[selected, 1], hr_kin[selected, 2])
    out = {"event": selected}
    # Images: renumber the kept candidates 0 ... len(selected) - 1.
    hr_sel_member = hr_member[np.isin(hr.event, local)]
    hr_sel = _subset(hr, local)
    out["hr"] = images.window_images(hr_sel, start_eta, start_phi, keep=hr_sel_member)
    for factor in factors:
        pixels = lr_pixels[factor]
        member = lr_jets[factor].member[np.isin(pixels.event, local)]
        out[f"lr{factor}"] = images.window_images(_subset(pixels, local), start_eta, start_phi,
                                                  keep=member)
        out[f"jet_lr{factor}"] = lr_jets[factor].kinematics()[local].astype(np.float32)
    out["jet"] = hr_kin[selected].astype(np.float32)
    out["image_centre"] = centre.astype(np.float32)
    out["constituents"], out["num_constituents"] = _jet_constituents(
        reco, i_eta, i_phi, hr_all, hr_jets.member, selected)
    return out


def _jet_constituents(reco, i_eta, i_phi, hr_all: images.Pixels, member: np.ndarray,
                      selected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(E, px, py, pz) [len(selected), 200, 4] of the detector constituents in the HR jets."""
    num = len(selected)
    out = np.zeros((num, MAX_CONSTITUENTS, 4), np.float32)
    counts = np.zeros(num, np.int32)
    if not num:
        return out, counts
    # The HR pixel of every detector constituent, found among the jet's pixels by key.
    num_phi = images.NUM_PHI_PIXELS
    offset = min(int(i_eta.min()), int(hr_all.i_eta.min()))
    span = max(int(i_eta.max()), int(hr_all.i_eta.max())) - offset + 1

    def key(event, row, column):
        return (event * span + (row - offset)) * num_phi + column

    jet_keys = key(hr_all.event[member], hr_all.i_eta[member], hr_all.i_phi[member])
    jet_keys.sort()
    position = np.full(int(reco["event"].max(initial=-1)) + 1, -1, np.int64)
    position[selected] = np.arange(num)
    constituent_keys = key(reco["event"], i_eta, i_phi)
    found = np.searchsorted(jet_keys, constituent_keys)
    found = np.minimum(found, len(jet_keys) - 1)
    in_jet = (jet_keys[found] == constituent_keys) & (position[reco["event"]] >= 0)
    event = position[reco["event"][in_jet]]
    pt = reco["pt_gev"][in_jet]
    momenta = detector.four_momenta(pt, reco["eta"][in_jet], reco["phi"][in_jet],
                                    reco["energy_gev"][in_jet])
    order = np.lexsort((-pt, event))
    event, momenta = event[order], momenta[order]
    per_event = np.bincount(event, minlength=num)
    starts = np.concatenate([[0], np.cumsum(per_event)[:-1]])
    rank = np.arange(len(event)) - starts[event]
    fits = rank < MAX_CONSTITUENTS
    out[event[fits], rank[fits]] = momenta[fits]
    counts[:] = np.minimum(per_event, MAX_CONSTITUENTS)
    return out, counts


def _pythia_seed(seed_seq: np.random.SeedSequence) -> int:
    return int(seed_seq.generate_state(1, np.uint32)[0]) % _PYTHIA_SEED_MAX + 1


def _run_chunk(task) -> dict[str, Any]:
    """Generates one chunk: ``size`` selected jets (see :func:`_chunks`)."""
    process, seed_seq, size, pt_range, eta_max, max_tries, pt_hat_min = task
    pythia_seq, detector_seq = seed_seq.spawn(2)
    pythia = make_pythia(process, _pythia_seed(pythia_seq), pt_hat_min)
    charges = _Charges(pythia)
    rng = np.random.default_rng(detector_seq)
    parts, kept, tries = [], 0, 0
    batch = max(_MIN_BATCH, min(_MAX_BATCH, 4 * size))
    while kept < size:
        if tries >= max_tries:
            raise InputError(
                f"{process}: {kept} of {size} jets of a chunk had pT in "
                f"{pt_range[0]:g}-{pt_range[1]:g} GeV and |eta| < {eta_max:g} and passed the "
                f"pairing after {tries} events; widen the pT window (--pt_min/--pt_max) or "
                "the |eta| bound (--eta_max), or raise --max_tries")
        request = min(batch, max_tries - tries)
        batch_events = pythia.nextBatch(request)
        particles = final_state(batch_events)
        partons = top_partons(batch_events) if process == "top" else None
        out = process_events(particles, charges(particles["pdg_id"]), rng, pt_range, eta_max,
                             partons=partons)
        take = min(len(out["event"]), size - kept)
        if kept + take == size:
            tries += int(out["event"][take - 1]) + 1
        else:
            tries += request
        kept += take
        if take:
            parts.append({k: v[:take] for k, v in out.items() if k != "event"})
        # Next batch: enough for the missing jets at the acceptance seen so far.
        acceptance = max(kept / tries, 1e-3)
        batch = int(min(max(math.ceil(1.2 * (size - kept) / acceptance), _MIN_BATCH),
                        _MAX_BATCH))
    arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    arrays["is_top"] = np.full(size, process == "top", np.int8)
    arrays["num_events_generated"] = np.int64(tries)
    return arrays


def _check_request(process, num_jets, seed, workers, pt_range_gev, eta_max, max_tries):
    if process not in PROCESSES:
        raise InputError(f"unknown process {process!r}; expected one of {list(PROCESSES)}")
    if not isinstance(num_jets, (int, np.integer)) or num_jets < 1:
        raise InputError(f"num_jets must be a positive integer, got {num_jets!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(workers, (int, np.integer)) or workers < 1:
        raise InputError(f"workers must be a positive integer, got {workers!r}")
    low, high = (float(v) for v in pt_range_gev)
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
        raise InputError(f"the jet pT window must be 0 < low < high GeV, got {pt_range_gev!r}")
    if not (math.isfinite(eta_max) and eta_max > 0):
        raise InputError(f"eta_max must be a positive number, got {eta_max!r}")
    if not isinstance(max_tries, (int, np.integer)) or max_tries < 1:
        raise InputError(f"max_tries must be a positive integer, got {max_tries!r}")
    return (low, high)


def pt_hat_min(pt_range_gev: tuple[float, float], pt_hat_min_gev: float | None) -> float:
    """``PhaseSpace:pTHatMin``: ``pt_hat_min_gev`` or the default fraction of the window."""
    if pt_hat_min_gev is None:
        return PT_HAT_MIN_FRACTION * float(pt_range_gev[0])
    value = float(pt_hat_min_gev)
    if not (math.isfinite(value) and 0 < value <= pt_range_gev[0]):
        raise InputError(f"the p̂T cut must be positive and at most the jet pT window's lower "
                         f"edge {pt_range_gev[0]:g} GeV, got {pt_hat_min_gev!r}")
    return value


def _chunks(process, num_jets, seed, pt_range, eta_max, max_tries, pt_hat_min_gev=None):
    num_chunks = math.ceil(num_jets / CHUNK_JETS)
    pt_hat = pt_hat_min(pt_range, pt_hat_min_gev)
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(num_chunks)):
        size = min(CHUNK_JETS, num_jets - i * CHUNK_JETS)
        yield (process, child, size, pt_range, float(eta_max), int(max_tries), pt_hat)


def _attrs(process, num_jets, seed, pt_range, eta_max, num_generated,
           pt_hat_min_gev=None) -> dict[str, Any]:
    return {
        "process": process,
        "num_jets": int(num_jets),
        "seed": int(seed),
        "num_events_generated": int(num_generated),
        "acceptance": num_jets / num_generated,
        "pixel_size_rad": images.PIXEL_SIZE_RAD,
        "image_size": images.IMAGE_SIZE,
        "factors": np.asarray(images.FACTORS, np.int64),
        "pt_min_gev": float(pt_range[0]),
        "pt_max_gev": float(pt_range[1]),
        "eta_max": float(eta_max),
        "jet_radius": images.JET_RADIUS,
        "min_constituents": images.MIN_CONSTITUENTS,
        "max_delta_r": images.MAX_DELTA_R,
        # Top jets contain a top and its decay quarks within Delta R < 0.8 (module docstring).
        "top_truth_matching": process == "top",
        "pt_hat_min_gev": pt_hat_min(pt_range, pt_hat_min_gev),
        "sqrt_s_gev": CENTRE_OF_MASS_ENERGY_GEV,
        "chunk_jets": CHUNK_JETS,
        "detector": detector.MODEL_NAME,
        "detector_version": detector.MODEL_VERSION,
        "detector_card": detector.CARD,
        "caloml_version": caloml.__version__,
        "pythia_version": pythia_version(),
    }


def generate(
    process: str,
    num_jets: int,
    seed: int = 0,
    workers: int = 1,
    pt_range_gev: tuple[float, float] = images.PT_RANGE_GEV,
    eta_max: float = images.ETA_MAX,
    max_tries: int = DEFAULT_MAX_TRIES,
    progress: bool = False,
    pt_hat_min_gev: float | None = None,
) -> core.SimulatedData:
    """Generates ``num_jets`` selected jets of ``process`` and returns the layout's arrays.

    Args:
        process: ``"top"`` (all-hadronic tt̄) or ``"qcd"`` (dijets).
        num_jets: selected jets.
        seed: seed of ``numpy.random.SeedSequence``; the same seed gives bit-identical arrays
            whatever ``workers`` is.
        workers: processes to shard the chunks over.
        pt_range_gev: HR jet pT window (paper: 550-650 GeV).
        eta_max: HR jet |eta| bound (paper: 2).
        max_tries: events a chunk of :data:`CHUNK_JETS` jets may generate before giving up.
        progress: show a progress bar.
        pt_hat_min_gev: Pythia's ``PhaseSpace:pTHatMin``; None: :data:`PT_HAT_MIN_FRACTION`
            x the window's lower edge (module docstring).

    Returns:
        A dict of arrays ``[num_jets, ...]`` (the module docstring's layout) with the file
        attributes in ``.attrs``.

    Raises:
        InputError: bad arguments, or a chunk found too few jets in ``max_tries`` events.
    """
    pt_range = _check_request(process, num_jets, seed, workers, pt_range_gev, eta_max,
                              max_tries)
    pt_hat_min(pt_range, pt_hat_min_gev)  # checked before any work
    tasks = _chunks(process, num_jets, seed, pt_range, eta_max, max_tries, pt_hat_min_gev)
    parts = collections.defaultdict(list)
    num_generated = 0
    results = core._results(tasks, workers, run_chunk=_run_chunk)
    for out in core._progress(results, num_jets, progress, unit="jet", key="is_top"):
        num_generated += int(out.pop("num_events_generated"))
        for key, value in out.items():
            parts[key].append(value)
    arrays = {key: np.concatenate(values) for key, values in parts.items()}
    return core.SimulatedData(
        arrays, _attrs(process, num_jets, seed, pt_range, eta_max, num_generated,
                       pt_hat_min_gev))


def generate_to_file(
    path: str | os.PathLike,
    process: str,
    num_jets: int,
    seed: int = 0,
    workers: int = 1,
    pt_range_gev: tuple[float, float] = images.PT_RANGE_GEV,
    eta_max: float = images.ETA_MAX,
    max_tries: int = DEFAULT_MAX_TRIES,
    progress: bool = False,
    compression: str | None = "gzip",
    pt_hat_min_gev: float | None = None,
) -> dict[str, Any]:
    """Like :func:`generate` but streams the chunks into an HDF5 file written atomically.

    The file (layout ``"jets"``) appears under ``path`` only when complete; on any error the
    temporary file is removed and an existing ``path`` is left as it was. Memory holds a few
    chunks whatever ``num_jets`` is. Returns the file attributes.
    """
    pt_range = _check_request(process, num_jets, seed, workers, pt_range_gev, eta_max,
                              max_tries)
    pt_hat_min(pt_range, pt_hat_min_gev)  # checked before any work
    tasks = _chunks(process, num_jets, seed, pt_range, eta_max, max_tries, pt_hat_min_gev)
    num_generated = 0
    with hdf5.H5Writer(path, schema.JETS, num_jets, compression=compression) as writer:
        start = 0
        results = core._results(tasks, workers, run_chunk=_run_chunk)
        for out in core._progress(results, num_jets, progress, unit="jet", key="is_top"):
            num_generated += int(out.pop("num_events_generated"))
            writer.write(start, out)
            start += len(out["is_top"])
        attrs = _attrs(process, num_jets, seed, pt_range, eta_max, num_generated, pt_hat_min_gev)
        writer.set_attrs(**attrs)
    return attrs
