"""Pythia 8 events rendered twice into 72 x 72 tower images: CALPAGAN's paired data.

CALPAGAN (paper 002, §2) pairs Delphes calorimeter images with Geant4/CMSSW images of the same
Pythia 8 events: 10,000 W+jets ("with up to 3 jets") and 10,000 dijet events, half for
training and half for testing, ECAL + HCAL energy summed into a 72 x 72 eta-phi image of CMS
calorimeter towers. caloml's analogue: proton collisions at sqrt(s) = 13 TeV (CMS Run 2, the
energy of the paper's CMSSW samples) from Pythia 8 (``pythia8mc``), with Pythia's default
tune, multiparton interactions, hadronisation and decays (pi0 -> gamma gamma included), no
pile-up, and no event selection (every generated event is kept):

* ``dijet``: QCD 2 -> 2 (``HardQCD:all = on``);
* ``wjets``: a W with one hard parton (``WeakBosonAndParton:qqbar2Wg`` and ``qg2Wq``), the W
  decaying to quarks only (``24:onMode = off``, ``24:onIfAny = 1 2 3 4 5``). caloml's choice:
  the paper's MadGraph W + 0-3 partons cannot be reproduced with Pythia alone, and its
  W+jets events are studied as jets in the calorimeter; W + 1 parton with W -> q q' gives up
  to 3 hard jets, and the parton shower adds more.

Both with ``PhaseSpace:pTHatMin`` = :data:`DEFAULT_PT_HAT_MIN_GEV` (50 GeV) unless asked
otherwise. Each event's final-state particles are rendered twice on the grid of
:mod:`caloml.events.towers`: by :mod:`caloml.events.fast` (the Delphes CMS card's towers, the
paper's Delphes images) and by :mod:`caloml.events.detailed` (every particle showered by
caloml's simulator, in place of the paper's Geant4 images). The truth jets are clustered
with FastJet, as the original validation does (anti-kT, R = 0.5, pT > 20 GeV; REFERENCES §6).

Reproducibility: events are made in chunks of :data:`CHUNK_EVENTS`; chunk k is generated with
a fresh Pythia seeded from the k-th child of ``SeedSequence(seed)``, whose own children seed
the fast smearing and the detailed showers, so the same seed gives bit-identical arrays for
any number of worker processes.

The arrays (and the file layout ``"events"``, :data:`caloml.io.schema.EVENTS`):

* ``fast`` float32 [N, 72, 72]: fast ECAL + HCAL energy per tower in GeV (axis 1 eta, axis 2
  phi, increasing).
* ``detailed`` float32 [N, 72, 72]: detailed ECAL + HCAL energy per tower in GeV.
* ``truth_jets`` float32 [N, 10, 4]: (pt GeV, eta, phi rad, mass GeV) of the particle-level
  anti-kT R = 0.5 jets with pT > 20 GeV (final-state particles but neutrinos, |eta| < 4.191),
  pT-ordered, zero-padded; ``num_truth_jets`` int32 [N]: all such jets, also beyond 10.
* ``process`` int8 [N]: :data:`PROCESS_LABELS` (0 dijet, 1 W+jets).
* ``calo_truth_gev`` float32 [N]: energy of the final-state particles, neutrinos and muons
  excepted, that reach the calorimeter face inside the grid (the bookkeeping reference of
  both renderings).
"""

from __future__ import annotations

import collections
import math
import os
from typing import Any

import numpy as np

import caloml
from caloml.errors import InputError
from caloml.events import detailed, fast, towers
from caloml.io import hdf5, schema
from caloml.jets import generation as jet_generation
from caloml.jets import images
from caloml.sim import core

PROCESSES = ("wjets", "dijet")
PROCESS_LABELS = {"dijet": 0, "wjets": 1}
# CMS Run 2, the paper's CMSSW samples.
CENTRE_OF_MASS_ENERGY_GEV = 13000.0
DEFAULT_PT_HAT_MIN_GEV = 50.0
_PROCESS_SETTINGS = {
    "dijet": ("HardQCD:all = on",),
    "wjets": ("WeakBosonAndParton:qqbar2Wg = on", "WeakBosonAndParton:qg2Wq = on",
              "24:onMode = off", "24:onIfAny = 1 2 3 4 5"),
}
# Events per chunk; chunk k always uses the k-th child seed. Changing it changes the events.
CHUNK_EVENTS = 128
# The original validation's jets (REFERENCES §6: pyjet anti-kT, R = 0.5, pT > 20 GeV).
JET_RADIUS = 0.5
JET_PT_MIN_GEV = 20.0
# Rows of truth_jets.
MAX_TRUTH_JETS = 10
_NEUTRINOS = (12, 14, 16)
_MUON = 13
# nextBatch calls a chunk may make before it gives up (Pythia skips events it fails on).
_MAX_BATCH_CALLS = 100


def pythia_settings(process: str, seed: int, pt_hat_min_gev: float) -> list[str]:
    """The Pythia settings (``readString`` lines) of one chunk.

    Args:
        process: ``"wjets"`` or ``"dijet"``.
        seed: ``Random:seed``, in [1, 900000000].
        pt_hat_min_gev: ``PhaseSpace:pTHatMin``.
    """
    if process not in _PROCESS_SETTINGS:
        raise InputError(f"unknown process {process!r}; expected one of {list(PROCESSES)}")
    return jet_generation.chunk_settings(_PROCESS_SETTINGS[process], CENTRE_OF_MASS_ENERGY_GEV,
                                         seed, pt_hat_min_gev)


def make_pythia(process: str, seed: int, pt_hat_min_gev: float):
    """An initialised ``pythia8mc.Pythia`` for one chunk (about 0.5 s)."""
    return jet_generation.start_pythia(
        pythia_settings(process, seed, pt_hat_min_gev),
        f"Pythia could not initialise {process!r} at sqrt(s) = "
        f"{CENTRE_OF_MASS_ENERGY_GEV:g} GeV with pTHatMin = {pt_hat_min_gev:g} GeV; lower "
        "--pt_hat_min")


def truth_jets(event: np.ndarray, pdg_id: np.ndarray, momentum_gev: np.ndarray,
               num_events: int) -> tuple[np.ndarray, np.ndarray]:
    """Particle-level anti-kT jets (FastJet, E-scheme) of each event.

    Inputs: the final-state particles but neutrinos, with |eta| < :data:`towers.ETA_MAX` at
    the vertex.

    Args:
        event: event index of each particle ``[n]``, sorted (non-decreasing).
        pdg_id: PDG ids ``[n]``.
        momentum_gev: (px, py, pz, E) ``[n, 4]``.
        num_events: events of the batch.

    Returns:
        ``(jets, counts)``: float32 ``[num_events, 10, 4]`` (pt GeV, eta, phi rad, mass GeV)
        of the jets with pT > :data:`JET_PT_MIN_GEV`, pT-ordered and zero-padded, and int32
        ``[num_events]``, the number of such jets (also beyond 10).
    """
    import awkward as ak
    import fastjet

    images._silence_fastjet_banner()
    event = np.asarray(event, np.int64)
    momentum = np.asarray(momentum_gev, np.float64).reshape(-1, 4)
    px, py, pz, energy = momentum.T
    pt = np.hypot(px, py)
    eta = np.arcsinh(pz / np.where(pt > 0, pt, 1.0))
    keep = ~np.isin(np.abs(np.asarray(pdg_id)), _NEUTRINOS) & (pt > 0) & (
        np.abs(eta) < towers.ETA_MAX)
    jets = np.zeros((num_events, MAX_TRUTH_JETS, 4), np.float32)
    counts = np.zeros(num_events, np.int32)
    if not keep.any():
        return jets, counts
    records = ak.zip({"px": px[keep], "py": py[keep], "pz": pz[keep], "E": energy[keep]},
                     with_name="Momentum4D")
    per_event = np.bincount(event[keep], minlength=num_events)
    sequence = fastjet.ClusterSequence(
        ak.unflatten(records, per_event),
        fastjet.JetDefinition(fastjet.antikt_algorithm, JET_RADIUS))
    found = sequence.inclusive_jets(JET_PT_MIN_GEV)
    jet_counts = ak.to_numpy(ak.num(found, axis=1)).astype(np.int64)
    flat = np.stack([ak.to_numpy(ak.flatten(getattr(found, k))) for k in ("E", "px", "py", "pz")],
                    axis=-1)
    kinematics = images.jet_kinematics(flat)
    jet_event = np.repeat(np.arange(num_events), jet_counts)
    order = np.lexsort((-kinematics[:, 0], jet_event))
    kinematics, jet_event = kinematics[order], jet_event[order]
    starts = np.concatenate([[0], np.cumsum(jet_counts)[:-1]])
    rank = np.arange(len(jet_event)) - starts[jet_event]
    fits = rank < MAX_TRUTH_JETS
    jets[jet_event[fits], rank[fits]] = kinematics[fits]
    counts[:] = jet_counts
    return jets, counts


def calo_truth_gev(event: np.ndarray, pdg_id: np.ndarray, charge: np.ndarray,
                   momentum_gev: np.ndarray, num_events: int) -> np.ndarray:
    """Energy reaching the calorimeters per event: the bookkeeping reference.

    The summed energy of the final-state particles, neutrinos and muons excepted, whose
    propagated impact on the calorimeter face (:func:`caloml.events.towers.propagate`) lies
    inside the grid (|eta| < 4.191); loopers are left out.

    Returns:
        float64 ``[num_events]`` in GeV.
    """
    hit = fast.impacts(pdg_id, charge, momentum_gev)
    visible = ~np.isin(np.abs(np.asarray(pdg_id)), (*_NEUTRINOS, _MUON)) & (hit["tower"] >= 0)
    return np.bincount(np.asarray(event, np.int64)[visible],
                       weights=hit["energy_gev"][visible], minlength=num_events)


def render_events(particles: dict[str, np.ndarray], charges: np.ndarray, num_events: int,
                  rngs: tuple[np.random.Generator, np.random.Generator]
                  ) -> dict[str, np.ndarray]:
    """Both renderings and the truth of a batch of events.

    Args:
        particles: ``event`` int64 ``[n]`` (sorted), ``pdg_id`` int32 ``[n]`` and
            ``momentum_gev`` ``[n, 4]`` (px, py, pz, E) of the final-state particles
            (:func:`caloml.jets.generation.final_state`).
        charges: electric charge of each particle in e ``[n]``.
        num_events: events of the batch.
        rngs: generators of the fast smearing and of the detailed showers.

    Returns:
        The layout's arrays but ``process``: ``fast``, ``detailed`` float32
        ``[num_events, 72, 72]``, ``truth_jets`` float32 ``[num_events, 10, 4]``,
        ``num_truth_jets`` int32 and ``calo_truth_gev`` float32 ``[num_events]``.
    """
    fast_rng, detailed_rng = rngs
    event = np.asarray(particles["event"], np.int64)
    pdg_id = np.asarray(particles["pdg_id"], np.int32)
    momentum = np.asarray(particles["momentum_gev"], np.float64)
    charges = np.asarray(charges, np.float64)
    fast_images = fast.render(event, pdg_id, charges, momentum, num_events, fast_rng)
    detailed_images = detailed.render(event, pdg_id, charges, momentum, num_events,
                                      detailed_rng)
    jets, counts = truth_jets(event, pdg_id, momentum, num_events)
    return {
        "fast": fast_images["ecal"] + fast_images["hcal"],
        "detailed": detailed_images["ecal"] + detailed_images["hcal"],
        "truth_jets": jets,
        "num_truth_jets": counts,
        "calo_truth_gev": calo_truth_gev(event, pdg_id, charges, momentum,
                                         num_events).astype(np.float32),
    }


def _generate_particles(pythia, size: int) -> dict[str, np.ndarray]:
    """``size`` events from ``pythia`` as :func:`final_state` arrays (retrying skipped ones)."""
    parts, have = [], 0
    for _ in range(_MAX_BATCH_CALLS):
        if have == size:
            break
        batch = jet_generation.final_state(pythia.nextBatch(size - have))
        parts.append({**batch, "event": batch["event"] + have})
        have += int(batch["num_events"])
    if have != size:
        raise RuntimeError(f"Pythia made {have} of {size} events in {_MAX_BATCH_CALLS} batches")
    return {
        "event": np.concatenate([p["event"] for p in parts]),
        "pdg_id": np.concatenate([p["pdg_id"] for p in parts]),
        "momentum_gev": np.concatenate([p["momentum_gev"] for p in parts]),
        "num_events": size,
    }


def _run_chunk(task) -> dict[str, np.ndarray]:
    """Generates and renders one chunk of ``size`` events (see :func:`_chunks`)."""
    process, seed_seq, size, pt_hat_min_gev = task
    pythia_seq, fast_seq, detailed_seq = seed_seq.spawn(3)
    pythia = make_pythia(process, jet_generation._pythia_seed(pythia_seq), pt_hat_min_gev)
    charges = jet_generation._Charges(pythia)
    particles = _generate_particles(pythia, size)
    out = render_events(particles, charges(particles["pdg_id"]), size,
                        (np.random.default_rng(fast_seq), np.random.default_rng(detailed_seq)))
    out["process"] = np.full(size, PROCESS_LABELS[process], np.int8)
    return out


def _check_request(process, num_events, seed, workers, pt_hat_min_gev) -> float:
    """Validates a request and returns the p̂T cut; fails before any work starts."""
    if process not in PROCESSES:
        raise InputError(f"unknown process {process!r}; expected one of {list(PROCESSES)}")
    for name, value, least in (("num_events", num_events, 1), ("seed", seed, 0),
                               ("workers", workers, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            what = "a positive" if least else "a non-negative"
            raise InputError(f"{name} must be {what} integer, got {value!r}")
    pt_hat = DEFAULT_PT_HAT_MIN_GEV if pt_hat_min_gev is None else pt_hat_min_gev
    try:
        pt_hat = float(pt_hat)
    except (TypeError, ValueError):
        pt_hat = math.nan
    if not (math.isfinite(pt_hat) and 0 < pt_hat < 0.5 * CENTRE_OF_MASS_ENERGY_GEV):
        raise InputError(f"pt_hat_min_gev must be a positive number of GeV below "
                         f"{0.5 * CENTRE_OF_MASS_ENERGY_GEV:g}, got {pt_hat_min_gev!r}")
    return pt_hat


def _chunks(process, num_events, seed, pt_hat_min_gev):
    num_chunks = math.ceil(num_events / CHUNK_EVENTS)
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(num_chunks)):
        size = min(CHUNK_EVENTS, num_events - i * CHUNK_EVENTS)
        yield (process, child, size, pt_hat_min_gev)


def _attrs(process, num_events, seed, pt_hat_min_gev) -> dict[str, Any]:
    return {
        "process": process,
        "process_label": PROCESS_LABELS[process],
        "num_events": int(num_events),
        "seed": int(seed),
        "sqrt_s_gev": CENTRE_OF_MASS_ENERGY_GEV,
        "pt_hat_min_gev": float(pt_hat_min_gev),
        "eta_edges": np.asarray(towers.ETA_EDGES, np.float64),
        "phi_edges": np.asarray(towers.PHI_EDGES, np.float64),
        "grid": towers.EDGES_NAME,
        "jet_radius": JET_RADIUS,
        "jet_pt_min_gev": JET_PT_MIN_GEV,
        "chunk_events": CHUNK_EVENTS,
        "fast_model": fast.MODEL_NAME,
        "fast_model_version": fast.MODEL_VERSION,
        "fast_card": fast.CARD,
        "detailed_model": detailed.MODEL_NAME,
        "detailed_model_version": detailed.MODEL_VERSION,
        "caloml_version": caloml.__version__,
        "pythia_version": jet_generation.pythia_version(),
    }


def generate(
    process: str,
    num_events: int,
    seed: int = 0,
    workers: int = 1,
    progress: bool = False,
    pt_hat_min_gev: float | None = None,
) -> core.SimulatedData:
    """Generates and renders ``num_events`` events of ``process``.

    Args:
        process: ``"wjets"`` (W -> q q' + jet) or ``"dijet"`` (QCD).
        num_events: events (all kept, no selection).
        seed: seed of ``numpy.random.SeedSequence``; the same seed gives bit-identical arrays
            whatever ``workers`` is.
        workers: processes to shard the chunks over.
        progress: show a progress bar.
        pt_hat_min_gev: Pythia's ``PhaseSpace:pTHatMin``; None: 50 GeV.

    Returns:
        A dict of arrays ``[num_events, ...]`` (the module docstring's layout) with the file
        attributes in ``.attrs``.

    Raises:
        InputError: bad arguments, named in one line.
    """
    pt_hat = _check_request(process, num_events, seed, workers, pt_hat_min_gev)
    parts = collections.defaultdict(list)
    results = core._results(_chunks(process, num_events, seed, pt_hat), workers,
                            run_chunk=_run_chunk)
    for out in core._progress(results, num_events, progress, unit="event", key="process"):
        for key, value in out.items():
            parts[key].append(value)
    arrays = {key: np.concatenate(values) for key, values in parts.items()}
    return core.SimulatedData(arrays, _attrs(process, num_events, seed, pt_hat))


def generate_to_file(
    path: str | os.PathLike,
    process: str,
    num_events: int,
    seed: int = 0,
    workers: int = 1,
    progress: bool = False,
    compression: str | None = "gzip",
    pt_hat_min_gev: float | None = None,
) -> dict[str, Any]:
    """Like :func:`generate` but streams the chunks into an HDF5 file written atomically.

    The file (layout ``"events"``, with ``calo_truth_gev``) appears under ``path`` only when
    complete; on any error the temporary file is removed and an existing ``path`` is left as
    it was. Memory holds a few chunks whatever ``num_events`` is. Returns the file attributes.
    """
    pt_hat = _check_request(process, num_events, seed, workers, pt_hat_min_gev)
    attrs = _attrs(process, num_events, seed, pt_hat)
    with hdf5.H5Writer(path, schema.EVENTS, num_events, compression=compression,
                       extra_keys=("calo_truth_gev",)) as writer:
        start = 0
        results = core._results(_chunks(process, num_events, seed, pt_hat), workers,
                                run_chunk=_run_chunk)
        for out in core._progress(results, num_events, progress, unit="event", key="process"):
            writer.write(start, out)
            start += len(out["process"])
        writer.set_attrs(**attrs)
    return attrs
