"""Files of paired event images (layout ``"events"``): checking, reading and cached generation.

CALPAGAN (paper 002) learns to turn fast (Delphes) calorimeter images of whole events into
detailed (Geant4) ones. :mod:`caloml.events` generates both renderings of the same Pythia 8
events on the 72 x 72 CMS tower grid into HDF5 files of the layout
:data:`caloml.io.schema.EVENTS`; this module checks such files (:func:`check_file`), reads
them into memory (:func:`read_events`) and generates and caches a file in a work directory
(:func:`dataset_file`). numpy and h5py; generation imports Pythia on use.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from absl import logging

import caloml
from caloml.data import cache
from caloml.errors import DataError, InputError
from caloml.events import detailed, fast, generation, towers
from caloml.io import hdf5, schema

IMAGE_KEYS = ("fast", "detailed")
_CONTENTS = ("an events file (python -m caloml.events) holds fast and detailed [N, 72, 72], "
             "truth_jets [N, 10, 4], num_truth_jets [N] and process [N]")
_LABEL_NAMES = {label: name for name, label in generation.PROCESS_LABELS.items()}


def check_file(path: str | os.PathLike) -> int:
    """Checks that ``path`` is an events-layout file and returns its number of events.

    Checks that every key of :data:`caloml.io.schema.EVENTS` is there, that both images are
    72 x 72 tower images of the same number of events, that the process labels (and the
    ``process`` attribute, if any) are known, and every key's shape, dtype kind, row count
    and values (finite, non-negative energies).

    Raises:
        MissingFileError: ``path`` does not exist.
        DataError: one line naming the file and what is wrong; a file of another layout (a
            jets or CaloGAN file, ...) is told what an events file holds.
    """
    path = os.fspath(path)
    with hdf5.open_for_reading(path) as h5:
        missing = [key for key in schema.EVENTS.keys(include_optional=False) if key not in h5]
        layout = h5.attrs.get("layout")
        keys = sorted(h5)
        if missing:
            what = f"a {layout!r}-layout file" if layout is not None and layout != "events" \
                else "not an events file"
            raise DataError(f"{path!r} is {what} (keys {keys}, no {missing[0]!r}); {_CONTENTS}")
        shapes = {key: h5[key].shape for key in IMAGE_KEYS}
        labels = np.asarray(h5["process"][()]).ravel()
        process = h5.attrs.get("process")
    for key, shape in shapes.items():
        if len(shape) != 3 or shape[1:] != towers.IMAGE_SHAPE:
            raise DataError(
                f"{path!r}: images of another grid size: {key!r} has shape {tuple(shape)}, "
                f"expected [N, 72, 72] (CMS towers: {towers.NUM_ETA} eta x {towers.NUM_PHI} phi)")
    if shapes["fast"][0] != shapes["detailed"][0]:
        raise DataError(f"{path!r}: 'fast' holds {shapes['fast'][0]} events and 'detailed' "
                        f"{shapes['detailed'][0]}; both images must be of the same events")
    # Labels of another dtype are left to the layout check below.
    unknown = np.setdiff1d(labels, list(_LABEL_NAMES)) if labels.dtype.kind in "iu" else []
    if len(unknown):
        raise DataError(f"{path!r}: key 'process' holds the unknown label {int(unknown[0])}; "
                        f"expected {generation.PROCESS_LABELS}")
    if process is not None:
        if isinstance(process, bytes):
            process = process.decode()
        if process not in generation.PROCESSES:
            raise DataError(f"{path!r}: unknown process attribute {process!r}; expected one of "
                            f"{list(generation.PROCESSES)}")
        label = generation.PROCESS_LABELS[process]
        if labels.dtype.kind in "iu" and np.any(labels != label):
            other = int(labels[labels != label][0])
            raise DataError(f"{path!r}: attribute process={process!r} but key 'process' holds "
                            f"label {other} ({_LABEL_NAMES[other]}); expected {label} throughout")
    return hdf5.validate_file(path, schema.EVENTS)


def read_events(path: str | os.PathLike, start: int = 0,
                stop: int | None = None) -> dict[str, np.ndarray]:
    """Reads events ``[start, stop)`` of an events file.

    Returns:
        ``fast``, ``detailed`` float32 [n, 72, 72] (GeV per tower, axis 1 eta, axis 2 phi),
        ``truth_jets`` float32 [n, 10, 4] (pt GeV, eta, phi rad, mass GeV),
        ``num_truth_jets`` int32 [n], ``process`` int8 [n] (0 dijet, 1 W+jets) and, when the
        file has it, ``calo_truth_gev`` float32 [n].

    Raises:
        DataError: ``path`` is not a valid events file.
    """
    check_file(path)
    keys = schema.EVENTS.keys(include_optional=False)
    with hdf5.open_for_reading(path) as h5:
        if "calo_truth_gev" in h5:
            keys.append("calo_truth_gev")
    return hdf5.read_arrays(path, schema.EVENTS, keys=keys, start=start, stop=stop,
                            validate=False)


def file_name(process: str, seed: int) -> str:
    """Name of the cached file of a generation: ``events_<process>_seed<seed>.h5``."""
    return f"events_{process}_seed{int(seed)}.h5"


def _why_not_reusable(path: str, num_events: int, expected: dict[str, Any]) -> str | None:
    if not os.path.exists(path):
        return "not there"
    try:
        rows = check_file(path)
        attrs = hdf5.read_attrs(path)
    except (OSError, ValueError, DataError) as e:
        return f"unreadable ({e})"
    if rows < num_events:
        return f"{rows} events, wanted {num_events}"
    return cache.attribute_mismatch(attrs, expected)


def dataset_file(directory: str | os.PathLike, process: str, num_events: int, seed: int,
                 workers: int = 1, progress: bool = False) -> str:
    """An events file holding at least ``num_events`` ``process`` events, generated unless cached.

    The file ``directory/events/<file_name>`` is reused when it is a valid events file with
    at least ``num_events`` events made with the same process, seed, default p̂T cut, fast
    and detailed model versions and caloml version (read its first ``num_events`` rows);
    otherwise it is generated anew with ``num_events`` events by
    :func:`caloml.events.generation.generate_to_file` (atomically).

    Returns:
        The file's path.

    Raises:
        InputError: bad arguments (see :func:`caloml.events.generation.generate`).
    """
    if process not in generation.PROCESSES:
        raise InputError(f"unknown process {process!r}; expected one of "
                         f"{list(generation.PROCESSES)}")
    if isinstance(num_events, bool) or not isinstance(num_events, (int, np.integer)) \
            or num_events < 1:
        raise InputError(f"num_events must be a positive integer, got {num_events!r}")
    folder = os.path.join(os.fspath(directory), "events")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, file_name(process, seed))
    expected = {
        "process": process, "seed": int(seed),
        "pt_hat_min_gev": float(generation.DEFAULT_PT_HAT_MIN_GEV),
        "fast_model_version": fast.MODEL_VERSION,
        "detailed_model_version": detailed.MODEL_VERSION,
        "caloml_version": caloml.__version__,
    }
    why = _why_not_reusable(path, int(num_events), expected)
    if why is None:
        logging.info("reusing %s", path)
        return path
    logging.info("generating %d %s events into %s (cache: %s)", num_events, process, path, why)
    generation.generate_to_file(path, process, int(num_events), seed=int(seed),
                                workers=int(workers), progress=progress)
    return path
