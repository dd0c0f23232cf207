"""Datasets of the SR-GAN for SR-γ study (paper 000): files, splits and prepared windows.

One photon file and one pi0 file (simulated on first use and cached, or given by the user in
the ``srgamma`` layout) are cut into independent, contiguous splits per particle: the GAN
training set, the classifier training set, a validation set (per-epoch monitoring) and a test
set (paper §4–5 and footnote 3). Each split is pre-processed into the 6×6 LR and 24×24 HR
windows the networks see (:mod:`caloml.data.preprocessing`).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from caloml.data import hdf5, preprocessing, schema
from caloml.sim import cache

PARTICLES = ("photon", "pi0")
# Classifier target: 1 for pi0 (background to photon identification), 0 for photons.
LABELS = {"photon": 0.0, "pi0": 1.0}
SPLITS = ("gan_train", "classifier_train", "validation", "test")


@dataclasses.dataclass(frozen=True)
class Splits:
    """Events per particle in each split (defaults: paper 000).

    Attributes:
        gan_train: 100,000 photons and 100,000 pi0 train the GAN (§4).
        classifier_train: the classifiers are trained on 100,000 independent events, half
            photons and half pi0 (§5).
        validation: events per particle for the per-epoch shower-width KS tests (§4).
        test: the independent test set: 50,000 events, half each, at 50 GeV (footnote 3).
    """

    gan_train: int = 100_000
    classifier_train: int = 50_000
    validation: int = 5_000
    test: int = 25_000

    def ranges(self) -> dict[str, tuple[int, int]]:
        """[start, stop) of every split inside each particle's file."""
        out, start = {}, 0
        for name in SPLITS:
            size = getattr(self, name)
            if size < 0:
                raise ValueError(f"split {name!r} must not be negative, got {size}")
            out[name] = (start, start + size)
            start += size
        return out

    @property
    def total(self) -> int:
        return sum(getattr(self, name) for name in SPLITS)


def dataset_files(
    workdir: str,
    energy_gev: float,
    splits: Splits,
    seed: int,
    data: str | None = None,
    workers: int = 1,
    progress: bool = False,
) -> dict[str, str]:
    """Returns ``{particle: path}`` of the photon and pi0 files holding all splits.

    Without ``data`` the files are simulated into ``workdir/data/{photon,pi0}.h5`` (seeds
    ``seed`` and ``seed + 1``: independent gun positions) unless matching files are there.
    With ``data`` (a directory holding ``photon.h5`` and ``pi0.h5`` in the ``srgamma`` layout)
    those are validated and used.

    Raises:
        FileNotFoundError, caloml.data.DataError: for a missing or malformed ``data`` file,
            or one with fewer events than the splits need.
    """
    if data:
        if not os.path.isdir(data):
            raise FileNotFoundError(
                f"--data={data!r} is not a directory; expected one with photon.h5 and pi0.h5"
            )
        paths = {p: os.path.join(data, f"{p}.h5") for p in PARTICLES}
        for path in paths.values():
            num = hdf5.validate_file(path, schema.SRGAMMA, keys=["lr", "hr", "pdg"])
            if num < splits.total:
                raise hdf5.DataError(
                    f"{path!r} holds {num} events; the splits need {splits.total} per particle "
                    f"({dataclasses.asdict(splits)})"
                )
        return paths
    directory = os.path.join(workdir, "data")
    os.makedirs(directory, exist_ok=True)
    paths = {p: os.path.join(directory, f"{p}.h5") for p in PARTICLES}
    for i, (particle, path) in enumerate(paths.items()):
        cache.cached_simulation(path, "srgamma", particle, splits.total, energy_gev,
                                seed=seed + i, workers=workers, progress=progress)
    return paths


def load_split(
    paths: dict[str, str],
    splits: Splits,
    split: str,
    power: float = preprocessing.POWER,
    limit: int | None = None,
    block_size: int = 4096,
) -> dict[str, np.ndarray]:
    """Reads and pre-processes one split of both particles (photons first, then pi0).

    Args:
        paths: ``{particle: path}`` from :func:`dataset_files`.
        splits: the split sizes.
        split: one of ``gan_train``, ``classifier_train``, ``validation``, ``test``.
        power: exponent of the power scaling.
        limit: at most this many events per particle.
        block_size: events read from HDF5 at a time (bounds the memory of full images).

    Returns:
        ``lr`` [N, 6, 6, 1] and ``hr`` [N, 24, 24, 1] (normalised, power-scaled, float32),
        ``window_sum_gev`` [N], ``label`` [N] (0 photon, 1 pi0), ``origin`` [N, 2].
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    start, stop = splits.ranges()[split]
    if limit is not None:
        stop = min(stop, start + limit)
    parts: dict[str, list[np.ndarray]] = {}
    for particle, path in paths.items():
        for first in range(start, stop, block_size):
            block = hdf5.read_arrays(path, schema.SRGAMMA, keys=["lr", "hr"], start=first,
                                     stop=min(first + block_size, stop), validate=False)
            out = preprocessing.preprocess_srgamma(block["lr"], block["hr"], p=power)
            out["label"] = np.full(len(block["lr"]), LABELS[particle], np.float32)
            for key, value in out.items():
                parts.setdefault(key, []).append(value)
    arrays = {key: np.concatenate(values) for key, values in parts.items()}
    arrays["lr"] = arrays["lr"][..., None]
    arrays["hr"] = arrays["hr"][..., None]
    return arrays
