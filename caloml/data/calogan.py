"""The showers of the CaloGAN study (paper 004): files, units, splits and reference showers.

One file per particle in the layout of the public files (Mendeley DOI 10.17632/pvn3xc3wy5.1;
:data:`caloml.io.schema.CALOGAN`, REFERENCES.md §1.1): ``eplus.hdf5``, ``gamma.hdf5`` and
``piplus.hdf5`` with the cell energies ``layer_0`` [N, 3, 96], ``layer_1`` [N, 12, 12] and
``layer_2`` [N, 12, 6] in **MeV** and the incident energy ``energy`` [N, 1] in **GeV**. The files
are the user's (``--data``: one file for one particle, or a directory holding the public file
names) or simulated by the embedded simulator on first use and cached in the work directory.

The networks see GeV: as the original ``train.py``, :func:`read_showers` divides the images by
1000 and keeps the energies. A file whose images are already in GeV would train a generator
1000× off, so :func:`check_file` refuses it, and energies in MeV likewise.

The original trained on whole files; caloml trains on the first ``num_train`` rows of each file
and holds out the ``num_test`` rows after them for the assessment (:func:`train_rows`,
:func:`test_rows`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import h5py
import numpy as np

from caloml import seeding
from caloml.data import cache
from caloml.errors import DataError, InputError, MissingFileError, UsageError
from caloml.io import hdf5
from caloml.sim import calogan as calogan_sim
from caloml.sim import core

PARTICLES = ("positron", "photon", "piplus")
LAYER_KEYS = ("layer_0", "layer_1", "layer_2")
# [rows (x), columns (y)] cells of each layer (REFERENCES.md §1.1).
LAYER_SHAPES = ((3, 96), (12, 12), (12, 6))
# The beam of the public files: uniform 1-100 GeV (cfg/run2.mac, REFERENCES.md §1.1).
ENERGY_RANGE_GEV = (1.0, 100.0)
# train.py divides the MeV images by 1000: the networks see GeV.
MEV_PER_GEV = 1000.0
# Rows :func:`check_file` reads to tell the units apart.
UNIT_CHECK_ROWS = 2000
# In MeV the cells of a shower sum to O(0.1-1) of 1000 x its energy in GeV (π⁺: ~0.3, e± and γ:
# ~1); images in GeV sum to 1000x less. The threshold lies a decade below the π⁺ value.
MIN_MEDIAN_CELL_FRACTION = 0.01
# A median incident energy above this (GeV) means the energies are in MeV (the beam: 1-100 GeV).
MAX_MEDIAN_ENERGY_GEV = 1000.0
# Rows read from HDF5 at a time.
BLOCK_ROWS = 4096

_CONTENTS = ("a CaloGAN file holds layer_0 [N,3,96], layer_1 [N,12,12], layer_2 [N,12,6] (MeV) "
             "and energy [N,1] (GeV)")


def public_file_name(particle: str) -> str:
    """The public file name of ``particle`` (``positron`` -> ``eplus.hdf5``)."""
    return calogan_sim.public_file_name(particle)


def particle_seed(seed: int, particle: str) -> int:
    """The simulation seed of ``particle``'s file in a run of seed ``seed``, in [0, 2³¹).

    Every particle and every run seed gets its own stream, so the positrons of ``--seed=2`` do
    not share their energies with the photons of ``--seed=1``, as ``seed + index`` would make
    them.
    """
    return seeding.derive(seed, f"calogan_data/{particle}")


def _checked_particles(particles: Sequence[str]) -> tuple[str, ...]:
    particles = tuple(particles)
    if not particles:
        raise InputError(f"no particle given; expected some of {', '.join(PARTICLES)}")
    for particle in particles:
        if particle not in PARTICLES:
            raise InputError(f"unknown particle {particle!r}; expected one of "
                             f"{', '.join(PARTICLES)}")
    if len(set(particles)) != len(particles):
        raise InputError(f"particles are repeated: {', '.join(particles)}")
    return particles


def dataset_files(
    directory: str,
    particles: Sequence[str],
    num_showers: int,
    seed: int,
    data: str | None = None,
    workers: int = 1,
    progress: bool = False,
) -> dict[str, str]:
    """The validated file of each particle: the user's, or simulated into ``directory``.

    Without ``data`` each particle's file is simulated into ``directory/<public file name>``
    (energies U(1, 100) GeV, seed :func:`particle_seed`) unless a matching file is there
    (:func:`caloml.data.cache.cached_simulation`). With ``data`` nothing is written: a file is
    the showers of the one particle trained, a directory holds the public file names.

    Args:
        directory: where simulated files are cached (created if needed; unused with ``data``).
        particles: some of :data:`PARTICLES`.
        num_showers: rows every file must hold (``--num_train`` + ``--num_test``).
        seed: the run's seed.
        data: ``--data``: None, a CaloGAN file (one particle) or a directory.
        workers: simulator processes.
        progress: show the simulator's progress bar.

    Returns:
        ``{particle: path}`` in the order of ``particles``.

    Raises:
        InputError: unknown or repeated particles; a ``data`` file for several particles.
        MissingFileError: ``data`` or one of its files does not exist.
        DataError: a file fails :func:`check_file`.
    """
    particles = _checked_particles(particles)
    if data is None:
        os.makedirs(directory, exist_ok=True)
        paths = {}
        for particle in particles:
            path = os.path.join(directory, public_file_name(particle))
            cache.cached_simulation(path, "calogan", particle, num_showers, ENERGY_RANGE_GEV,
                                    seed=particle_seed(seed, particle), workers=workers,
                                    progress=progress)
            paths[particle] = path
    else:
        paths = _user_files(data, particles)
    for particle, path in paths.items():
        check_file(path, particle, num_showers)
    return paths


def _user_files(data: str, particles: tuple[str, ...]) -> dict[str, str]:
    names = ", ".join(public_file_name(p) for p in particles)
    if os.path.isdir(data):
        paths = {}
        for particle in particles:
            path = os.path.join(data, public_file_name(particle))
            if not os.path.exists(path):
                raise MissingFileError(
                    f"--data={data}: no file {public_file_name(particle)!r} for the {particle} "
                    f"showers (expected the public CaloGAN file names: {names})")
            paths[particle] = path
        return paths
    if not os.path.exists(data):
        raise MissingFileError(f"--data={data} does not exist; expected a CaloGAN file (one "
                               f"particle) or a directory holding {names}")
    if len(particles) > 1:
        raise UsageError(
            f"--data={data} is one file, but {len(particles)} particles are trained "
            f"({', '.join(particles)}); pass a directory holding {names}")
    return {particles[0]: data}


def check_file(path: str, particle: str, num_showers: int) -> None:
    """Checks that ``path`` holds at least ``num_showers`` CaloGAN showers, in MeV and GeV.

    Checks the keys ``layer_0``, ``layer_1``, ``layer_2`` and ``energy`` (shapes, float dtypes
    of any precision, equal row counts), the ``particle`` attribute of caloml-written files,
    and the units on the first :data:`UNIT_CHECK_ROWS` rows: a median energy above
    :data:`MAX_MEDIAN_ENERGY_GEV` is MeV, and images whose cells sum to a median below
    :data:`MIN_MEDIAN_CELL_FRACTION` of 1000 × energy are GeV. Cell values are checked as
    they are read (:func:`read_showers`).

    Raises:
        MissingFileError: ``path`` does not exist.
        DataError: one line naming the file, the key and what was expected.
    """
    with hdf5.open_for_reading(path) as h5:
        num = _check_keys(h5, path)
        stored = h5.attrs.get("particle")
        if isinstance(stored, bytes):
            stored = stored.decode()
        if stored is not None and str(stored) != particle:
            raise DataError(f"{path!r} holds {stored} showers (its 'particle' attribute), "
                            f"not {particle}")
        if num < num_showers:
            raise DataError(f"{path!r} holds {num} {particle} showers, fewer than the "
                            f"{num_showers} that --num_train and --num_test ask for")
        rows = min(num, UNIT_CHECK_ROWS)
        if rows:
            _check_units(h5, path, rows)


def _check_keys(h5: h5py.File, path: str) -> int:
    """The row count of the file's arrays after checking their presence, shapes and dtypes."""
    shapes = dict(zip(LAYER_KEYS, LAYER_SHAPES, strict=True))
    num, first = None, None
    for key in (*LAYER_KEYS, "energy"):
        if key not in h5:
            raise DataError(f"{path!r} has no {key!r}; {_CONTENTS}")
        ds = h5[key]
        if not isinstance(ds, h5py.Dataset):
            raise DataError(f"{path!r}: {key!r} is a group, expected a dataset; {_CONTENTS}")
        if key == "energy":
            good, expected = ds.ndim in (1, 2) and ds.shape[1:] in ((), (1,)), "[N, 1] (GeV)"
        else:
            good = ds.shape[1:] == shapes[key]
            expected = f"[N, {shapes[key][0]}, {shapes[key][1]}] (MeV)"
        if ds.ndim == 0 or not good:
            raise DataError(f"{path!r}: {key!r} has shape {list(ds.shape)}, expected {expected}")
        if ds.dtype.kind != "f":
            raise DataError(f"{path!r}: {key!r} has dtype {ds.dtype}, expected float32 or "
                            "float64")
        if num is None:
            num, first = ds.shape[0], key
        elif ds.shape[0] != num:
            raise DataError(f"{path!r}: {key!r} has {ds.shape[0]} rows, but {first!r} has "
                            f"{num}")
    return int(num)


def _check_units(h5: h5py.File, path: str, rows: int) -> None:
    energy = np.asarray(h5["energy"][:rows], np.float64).reshape(rows)
    positive = np.isfinite(energy) & (energy > 0)
    if not positive.any():
        raise DataError(f"{path!r}: 'energy' holds no positive incident energy in its first "
                        f"{rows} rows; expected energies in GeV ({ENERGY_RANGE_GEV[0]:g}-"
                        f"{ENERGY_RANGE_GEV[1]:g} in the public files)")
    median_energy = float(np.median(energy[positive]))
    if median_energy > MAX_MEDIAN_ENERGY_GEV:
        raise DataError(f"the energies of {path!r} have a median of {median_energy:.0f}: they "
                        "look like MeV; CaloGAN files hold 'energy' in GeV (divide by 1000)")
    cell_sum = sum(np.asarray(h5[key][:rows], np.float64).reshape(rows, -1).sum(axis=1)
                   for key in LAYER_KEYS)
    fraction = float(np.median(cell_sum[positive] / (MEV_PER_GEV * energy[positive])))
    if fraction < MIN_MEDIAN_CELL_FRACTION:
        raise DataError(f"the images of {path!r} sum to a median of {fraction:.3g} of 1000 x "
                        "energy: they look like GeV; CaloGAN files hold MeV (multiply by 1000)")


def _check_values(block: np.ndarray, path: str, key: str, first_row: int, unit: str) -> None:
    bad = ~np.isfinite(block) | (block < 0)
    if bad.any():
        where = np.argwhere(bad)[0]
        raise DataError(f"{path!r}: {key!r} row {first_row + int(where[0])} holds "
                        f"{block[tuple(where)].item()!r}; expected finite, non-negative "
                        f"energies in {unit}")


def _network_arrays(layers: Sequence[np.ndarray], energy: np.ndarray, index: int,
                    ) -> dict[str, np.ndarray]:
    """GeV float32 arrays of showers given in file units (images MeV, energy GeV)."""
    out = {key: np.asarray(np.divide(layer, np.asarray(MEV_PER_GEV, layer.dtype)), np.float32)
           for key, layer in zip(LAYER_KEYS, layers, strict=True)}
    out["energy"] = np.asarray(energy, np.float32).reshape(len(energy), 1)
    out["particle"] = np.full(len(energy), index, np.int32)
    return out


def read_showers(
    paths: dict[str, str],
    particles: Sequence[str],
    start: int,
    stop: int,
    block_size: int = BLOCK_ROWS,
) -> dict[str, np.ndarray]:
    """Rows ``[start, stop)`` of each particle's file, in the units the networks see.

    The particles' rows are concatenated in the order of ``particles``. Files are read
    ``block_size`` rows at a time into preallocated float32 arrays, so a float64 file of 100k
    rows never sits in memory whole; each block's values are checked to be finite and
    non-negative.

    Args:
        paths: ``{particle: path}`` (:func:`dataset_files`).
        particles: the particles to read; a particle's index in it is its class.
        start, stop: the rows of every file, e.g. :func:`train_rows`.
        block_size: rows read at a time.

    Returns:
        float32 ``layer_0`` [N, 3, 96], ``layer_1`` [N, 12, 12], ``layer_2`` [N, 12, 6] in GeV
        (the file's MeV / 1000, as ``train.py``), ``energy`` [N, 1] in GeV, and int32
        ``particle`` [N], with N = len(particles) × (stop − start).

    Raises:
        DataError: a file holds fewer than ``stop`` rows, or a non-finite or negative value.
    """
    particles = _checked_particles(particles)
    if not 0 <= start <= stop:
        raise InputError(f"rows [{start}, {stop}) are not a range of rows")
    if block_size < 1:
        raise InputError(f"block_size must be a positive integer, got {block_size}")
    missing = [p for p in particles if p not in paths]
    if missing:
        raise InputError(f"no file given for {', '.join(missing)}; files: {paths}")
    rows = stop - start
    total = rows * len(particles)
    out = {key: np.empty((total, *shape), np.float32)
           for key, shape in zip(LAYER_KEYS, LAYER_SHAPES, strict=True)}
    out["energy"] = np.empty((total, 1), np.float32)
    out["particle"] = np.repeat(np.arange(len(particles), dtype=np.int32), rows)
    for index, particle in enumerate(particles):
        path = paths[particle]
        with h5py.File(path, "r") as h5:
            num = h5["energy"].shape[0]
            if stop > num:
                raise DataError(f"{path!r} holds {num} {particle} showers; rows [{start}, "
                                f"{stop}) were asked for")
            for first in range(start, stop, block_size):
                last = min(first + block_size, stop)
                layers = [h5[key][first:last] for key in LAYER_KEYS]
                energy = h5["energy"][first:last]
                for key, layer in zip(LAYER_KEYS, layers, strict=True):
                    _check_values(layer, path, key, first, "MeV")
                _check_values(energy, path, "energy", first, "GeV")
                block = _network_arrays(layers, energy, index)
                into = slice(index * rows + first - start, index * rows + last - start)
                for key in (*LAYER_KEYS, "energy"):
                    out[key][into] = block[key]
    return out


def train_rows(num_train: int) -> tuple[int, int]:
    """``[start, stop)`` of the training showers in every file: the first ``num_train`` rows."""
    return 0, int(num_train)


def test_rows(num_train: int, num_test: int) -> tuple[int, int]:
    """``[start, stop)`` of the held-out showers: the ``num_test`` rows after the training rows.

    The original trained on whole files and had no split; caloml holds these rows out for the
    assessment (generated vs. held-out showers, with held-out vs. training as the reference).
    """
    return int(num_train), int(num_train) + int(num_test)


# Not a test, whatever its name: pytest skips it where a test module imports it by name.
test_rows.__test__ = False


def simulate_reference(
    particle: str,
    energy_gev: float,
    num: int,
    seed: int,
    workers: int = 1,
    particle_index: int = 0,
) -> dict[str, np.ndarray]:
    """``num`` simulated showers of ``particle`` at one energy, in memory, as :func:`read_showers`.

    The reference of the energy-response assessment, also at energies outside the training
    range (the simulator covers 1-500 GeV).

    Args:
        particle: one of :data:`PARTICLES`.
        energy_gev: the incident energy.
        num: showers to simulate.
        seed: simulation seed (derive it per use, e.g. with :func:`particle_seed`).
        workers: simulator processes.
        particle_index: the class written to ``particle``.

    Returns:
        float32 ``layer_0``, ``layer_1``, ``layer_2`` in GeV, ``energy`` [num, 1] (all equal to
        ``energy_gev``) and int32 ``particle`` [num] (= ``particle_index``).

    Raises:
        InputError: an unknown particle, or an energy outside the simulator's range.
    """
    _checked_particles([particle])
    arrays = core.simulate("calogan", particle, int(num), float(energy_gev), seed=seed,
                           workers=workers)
    return _network_arrays([arrays[key] for key in LAYER_KEYS], arrays["energy"],
                           particle_index)
