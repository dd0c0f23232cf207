"""Datasets of the SR-GAN for SR-γ study (paper 000): files, splits and prepared windows.

One photon file and one π⁰ file (simulated on first use and cached, or given by the user in
the ``srgamma`` layout) are cut into independent, contiguous splits per particle: the GAN
training set, the classifier training set, a validation set (per-epoch monitoring) and a test
set (paper §4–5 and footnote 3), whose size may differ between the particles. Each split is
pre-processed into the 6×6 LR and 24×24 HR windows the networks see
(:mod:`caloml.data.preprocessing`), in memory (:func:`load_split`) or block by block
(:func:`iter_split`, for test sets of a million events).

This module is the one home of the study's conventions: the particles and their classifier
labels, the paper's energies (:func:`paper_energy`) and its test-set sizes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

import numpy as np

from caloml.data import cache, preprocessing
from caloml.errors import DataError, InputError, MissingFileError
from caloml.io import hdf5, schema

PARTICLES = ("photon", "pi0")
# Classifier target (paper §5): 1 for π⁰ (the background to photon identification), 0 for photons.
LABELS = {"photon": 0.0, "pi0": 1.0}
SPLITS = ("gan_train", "classifier_train", "validation", "test")
# Paper §2: the two setups, 20 and 50 GeV photons and π⁰.
PAPER_ENERGIES_GEV = (20.0, 50.0)
# Paper footnote 3: 50,000 test events at 50 GeV, half each; at 20 GeV 100,000 photons and
# 1,000,000 π⁰, "because otherwise the statistical uncertainty in the pion rejections is large".
PAPER_TEST_EVENTS = {"20": {"photon": 100_000, "pi0": 1_000_000},
                     "50": {"photon": 25_000, "pi0": 25_000}}
# Test events per particle at energies the paper did not use.
DEFAULT_TEST_EVENTS = 25_000


def paper_energy(energy_gev: float) -> str | None:
    """``"20"`` or ``"50"`` if ``energy_gev`` is one of the paper's energies, else None.

    The key under which caloml stores the paper's numbers per energy (λ_per, test sizes, the
    figures' reference values); energies within 1e-6 GeV of 20 or 50 count as the paper's.
    """
    for energy in PAPER_ENERGIES_GEV:
        if abs(float(energy_gev) - energy) < 1e-6:
            return f"{energy:g}"
    return None


def paper_test_events(energy_gev: float) -> dict[str, int]:
    """Test events per particle at ``energy_gev``: the paper's (footnote 3) or 25,000 each."""
    key = paper_energy(energy_gev)
    if key is None:
        return {p: DEFAULT_TEST_EVENTS for p in PARTICLES}
    return dict(PAPER_TEST_EVENTS[key])


@dataclasses.dataclass(frozen=True)
class Splits:
    """Events of each split, per particle (defaults: paper 000 at 50 GeV).

    Attributes:
        gan_train: 100,000 photons and 100,000 π⁰ train the GAN (§4).
        classifier_train: the classifiers are trained on 100,000 independent events, half
            photons and half π⁰ (§5).
        validation: events per particle for the per-epoch shower-width KS tests (§4).
        test_photon, test_pi0: the independent test set (footnote 3; 100,000 and 1,000,000 at
            20 GeV, see :func:`paper_test_events`).
    """

    gan_train: int = 100_000
    classifier_train: int = 50_000
    validation: int = 5_000
    test_photon: int = 25_000
    test_pi0: int = 25_000

    def __post_init__(self):
        for field in dataclasses.fields(self):
            if getattr(self, field.name) < 0:
                raise InputError(f"split {field.name!r} must not be negative, "
                                 f"got {getattr(self, field.name)}")

    def size(self, split: str, particle: str) -> int:
        """Events of ``particle`` in ``split``."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        if particle not in PARTICLES:
            raise ValueError(f"unknown particle {particle!r}; expected one of {PARTICLES}")
        return getattr(self, f"test_{particle}" if split == "test" else split)

    def ranges(self, particle: str) -> dict[str, tuple[int, int]]:
        """``[start, stop)`` of every split inside ``particle``'s file."""
        out, start = {}, 0
        for split in SPLITS:
            size = self.size(split, particle)
            out[split] = (start, start + size)
            start += size
        return out

    def total(self, particle: str) -> int:
        """Events of ``particle`` all splits need: the size of its file."""
        return sum(self.size(split, particle) for split in SPLITS)


def dataset_files(
    directory: str,
    energy_gev: float,
    splits: Splits,
    seed: int,
    data: str | None = None,
    workers: int = 1,
    progress: bool = False,
) -> dict[str, str]:
    """Returns ``{particle: path}`` of the photon and π⁰ files holding all splits.

    Without ``data`` the files are simulated into ``directory/{photon,pi0}.h5`` (seeds ``seed``
    and ``seed + 1``: independent gun positions) unless matching files are there. With ``data``
    (a directory holding ``photon.h5`` and ``pi0.h5`` in the ``srgamma`` layout) those are
    validated and used.

    Raises:
        MissingFileError, DataError: for a missing or malformed ``data`` file, or one with
            fewer events than the splits need.
    """
    if data:
        return user_files(data, splits)
    return simulated_files(directory, energy_gev, {p: splits.total(p) for p in PARTICLES},
                           seed, workers=workers, progress=progress)


def user_files(data: str, splits: Splits | None = None) -> dict[str, str]:
    """``{particle: path}`` of ``data/photon.h5`` and ``data/pi0.h5``, validated.

    Every required key of the ``srgamma`` layout is checked (shapes, dtypes, finite
    non-negative energies), and the files must hold the events the ``splits`` need (if given).

    Raises:
        MissingFileError, DataError: naming the file, the key and what was expected.
    """
    if not os.path.isdir(data):
        raise MissingFileError(
            f"--data={data!r} is not a directory; expected one with photon.h5 and pi0.h5"
        )
    paths = {p: os.path.join(data, f"{p}.h5") for p in PARTICLES}
    for particle, path in paths.items():
        num = hdf5.validate_file(path, schema.SRGAMMA)
        if splits is not None and num < splits.total(particle):
            raise DataError(
                f"{path!r} holds {num} events; the splits need {splits.total(particle)} "
                f"{particle} events ({splits.ranges(particle)})"
            )
    return paths


def simulated_files(
    directory: str,
    energy_gev: float,
    num_events: dict[str, int],
    seed: int,
    workers: int = 1,
    truth: bool = False,
    progress: bool = False,
) -> dict[str, str]:
    """Simulates ``directory/{photon,pi0}.h5`` unless matching files are there (the cache).

    The photon file uses ``seed``, the π⁰ file ``seed + 1``: independent gun positions.

    Args:
        num_events: events per particle.
        truth: also write the simulator-truth arrays.

    Returns:
        ``{particle: path}``.
    """
    os.makedirs(directory, exist_ok=True)
    paths = {p: os.path.join(directory, f"{p}.h5") for p in PARTICLES}
    for i, (particle, path) in enumerate(paths.items()):
        cache.cached_simulation(path, "srgamma", particle, num_events[particle], energy_gev,
                                seed=seed + i, workers=workers, truth=truth, progress=progress)
    return paths


def iter_split(
    paths: dict[str, str],
    splits: Splits,
    split: str,
    power: float = preprocessing.POWER,
    limit: int | None = None,
    block_size: int = 4096,
) -> Iterator[dict[str, np.ndarray]]:
    """Yields one split, pre-processed, block by block: photons first, then π⁰.

    Memory holds one block of full images at a time, so test sets of any size stream through.

    Args:
        paths: ``{particle: path}`` from :func:`dataset_files`.
        splits: the split sizes.
        split: one of ``gan_train``, ``classifier_train``, ``validation``, ``test``.
        power: exponent of the power scaling.
        limit: at most this many events per particle.
        block_size: events read from HDF5 at a time.

    Yields:
        ``lr`` [n, 6, 6, 1] and ``hr`` [n, 24, 24, 1] (normalised, power-scaled, float32),
        ``window_sum_gev`` [n], ``label`` [n] (0 photon, 1 π⁰), ``origin`` [n, 2].
    """
    for particle, path in paths.items():
        start, stop = splits.ranges(particle)[split]
        if limit is not None:
            stop = min(stop, start + limit)
        for first in range(start, stop, block_size):
            block = hdf5.read_arrays(path, schema.SRGAMMA, keys=["lr", "hr"], start=first,
                                     stop=min(first + block_size, stop), validate=False)
            yield prepare(block["lr"], block["hr"], LABELS[particle], power)


def prepare(lr: np.ndarray, hr: np.ndarray, label: float,
            power: float = preprocessing.POWER) -> dict[str, np.ndarray]:
    """Network inputs of one particle's events: the pre-processed windows with a channel axis.

    Args:
        lr: LR images [n, 24, 24] in GeV.
        hr: HR images [n, 96, 96] in GeV.
        label: the particle's classifier label (:data:`LABELS`).
        power: exponent of the power scaling.

    Returns:
        ``lr`` [n, 6, 6, 1], ``hr`` [n, 24, 24, 1], ``window_sum_gev`` [n], ``origin`` [n, 2]
        (:func:`caloml.data.preprocessing.preprocess_srgamma`) and ``label`` [n].
    """
    out = preprocessing.preprocess_srgamma(lr, hr, p=power)
    out["lr"] = out["lr"][..., None]
    out["hr"] = out["hr"][..., None]
    out["label"] = np.full(len(lr), label, np.float32)
    return out


def load_split(
    paths: dict[str, str],
    splits: Splits,
    split: str,
    power: float = preprocessing.POWER,
    limit: int | None = None,
    block_size: int = 4096,
) -> dict[str, np.ndarray]:
    """The whole split of :func:`iter_split` in memory (photons first, then π⁰)."""
    parts: dict[str, list[np.ndarray]] = {}
    for block in iter_split(paths, splits, split, power, limit, block_size):
        for key, value in block.items():
            parts.setdefault(key, []).append(value)
    return {key: np.concatenate(values) for key, values in parts.items()}
