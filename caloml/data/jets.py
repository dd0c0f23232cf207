"""Files of paired jet images (layout ``"jets"``): checking, reading and cached generation.

The jet super-resolution study ("How to GAN Higher Jet Resolution", Baldi et al. 2021) trains
on HR jet images and their LR_f partners. :mod:`caloml.jets` generates them with Pythia 8, the
Delphes-ATLAS-card detector model and FastJet into HDF5 files of the layout
:data:`caloml.io.schema.JETS`; this module checks such files (:func:`check_file`), reads one
pooling factor's pairs into memory (:func:`read_jets`) and generates and caches a file in a
work directory (:func:`dataset_file`). numpy and h5py; generation imports Pythia on use.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from absl import logging

import caloml
from caloml.data import cache
from caloml.errors import DataError, InputError, UsageError
from caloml.io import hdf5, schema
from caloml.jets import detector, generation, images

FACTORS = (2, 4, 8)
_CONTENTS = ("a jets file (python -m caloml.jets) holds hr [N, 160, 160], lr2 [N, 80, 80], "
             "lr4 [N, 40, 40], lr8 [N, 20, 20], constituents [N, 200, 4], num_constituents, "
             "jet, jet_lr2, jet_lr4, jet_lr8 [N, 4], image_centre [N, 2] and is_top [N]")


def check_file(path: str | os.PathLike) -> int:
    """Checks that ``path`` is a jets-layout file and returns its number of jets.

    Checks every key of :data:`caloml.io.schema.JETS` for presence, shape, dtype kind and
    equal row counts, and that the images hold finite, non-negative pT.

    Raises:
        MissingFileError: ``path`` does not exist.
        DataError: one line naming the file and what is wrong; a file of another layout (a
            CaloGAN or SR-γ file, ...) is told what a jets file holds.
    """
    path = os.fspath(path)
    with hdf5.open_for_reading(path) as h5:
        missing = [key for key in schema.JETS.keys() if key not in h5]
        layout = h5.attrs.get("layout")
        keys = sorted(h5)
    if missing:
        what = f"a {layout!r}-layout file" if layout is not None and layout != "jets" \
            else "not a jets file"
        raise DataError(f"{path!r} is {what} (keys {keys}, no {missing[0]!r}); {_CONTENTS}")
    return hdf5.validate_file(path, schema.JETS)


def read_jets(path: str | os.PathLike, factor: int, start: int = 0,
              stop: int | None = None) -> dict[str, np.ndarray]:
    """Reads the HR/LR_f pairs of jets ``[start, stop)``.

    Args:
        path: a jets-layout file.
        factor: the pooling factor, 2, 4 or 8.
        start, stop: the rows to read.

    Returns:
        ``hr`` float32 [n, 160, 160], ``lr`` [n, 160 / f, 160 / f] (the ``lr{f}`` images),
        ``jet`` and ``jet_lr`` float32 [n, 4] (pt GeV, eta, phi, mass GeV), ``is_top`` int8
        [n], ``image_centre`` float32 [n, 2].

    Raises:
        UsageError: ``factor`` not in {2, 4, 8}.
        DataError: ``path`` is not a jets file.
    """
    if factor not in FACTORS or isinstance(factor, bool):
        raise UsageError(f"factor must be one of {list(FACTORS)}, got {factor!r}")
    check_file(path)
    keys = ["hr", f"lr{factor}", "jet", f"jet_lr{factor}", "is_top", "image_centre"]
    arrays = hdf5.read_arrays(path, schema.JETS, keys=keys, start=start, stop=stop,
                              validate=False)
    return {
        "hr": arrays["hr"],
        "lr": arrays[f"lr{factor}"],
        "jet": arrays["jet"],
        "jet_lr": arrays[f"jet_lr{factor}"],
        "is_top": arrays["is_top"],
        "image_centre": arrays["image_centre"],
    }


def file_name(process: str, num_jets: int, seed: int) -> str:
    """Name of the cached file of a generation: ``jets_<process>_<num_jets>_seed<seed>.h5``."""
    return f"jets_{process}_{int(num_jets)}_seed{int(seed)}.h5"


def _why_not_reusable(path: str, expected: dict[str, Any]) -> str | None:
    if not os.path.exists(path):
        return "not there"
    try:
        check_file(path)
        attrs = hdf5.read_attrs(path)
    except (OSError, ValueError, DataError) as e:
        return f"unreadable ({e})"
    return cache.attribute_mismatch(attrs, expected)


def dataset_file(workdir: str | os.PathLike, process: str, num_jets: int, seed: int,
                 workers: int = 1, progress: bool = False) -> str:
    """A jets file of ``num_jets`` ``process`` jets in ``workdir``, generated unless cached.

    The file ``workdir/jets/<file_name>`` is reused when it is a valid jets file made with
    the same process, number of jets, seed, default selection (550-650 GeV, |eta| < 2),
    detector model and caloml version; otherwise it is generated with
    :func:`caloml.jets.generation.generate_to_file` (atomically).

    Returns:
        The file's path.

    Raises:
        InputError: bad arguments (see :func:`caloml.jets.generation.generate`).
    """
    if process not in generation.PROCESSES:
        raise InputError(f"unknown process {process!r}; expected one of "
                         f"{list(generation.PROCESSES)}")
    directory = os.path.join(os.fspath(workdir), "jets")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, file_name(process, num_jets, seed))
    expected = {
        "process": process, "num_jets": int(num_jets), "seed": int(seed),
        "pt_min_gev": float(images.PT_RANGE_GEV[0]), "pt_max_gev": float(images.PT_RANGE_GEV[1]),
        "eta_max": float(images.ETA_MAX),
        "pt_hat_min_gev": generation.pt_hat_min(images.PT_RANGE_GEV, None),
        "detector_version": detector.MODEL_VERSION,
        "caloml_version": caloml.__version__,
    }
    why = _why_not_reusable(path, expected)
    if why is None:
        logging.info("reusing %s", path)
        return path
    logging.info("generating %d %s jets into %s (cache: %s)", num_jets, process, path, why)
    generation.generate_to_file(path, process, int(num_jets), seed=int(seed),
                                workers=int(workers), progress=progress)
    return path
