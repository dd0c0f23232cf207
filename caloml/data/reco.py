"""The CLIC samples of the end-to-end reconstruction study (paper 003 §2, §5).

One ``clic``-layout HDF5 file per particle (e±, γ, π⁰, π±), simulated on first use and cached,
or the user's files (``--data``: a directory holding ``electron.h5``, ``photon.h5``, ``pi0.h5``,
``piplus.h5``). Each file is split by rows into ``train``, ``validation`` and ``test``; the
paper's sample selections (§2: π⁰ with a γγ opening angle below 0.01 rad, π± with HCAL/ECAL
below 0.1) are made by the simulator and applied again when reading, so that user files get
them too.

Network inputs (Triforce_CaloML, REFERENCES.md §3.2): the ECAL cropped to 25 × 25 × 25 cells
around the barycentre of the z-summed ECAL window, the central ``hcal_window`` × ``hcal_window``
× 60 HCAL cells, and four scalars ``[10 recoPhi, 10 recoEta, ECAL sum / 100, HCAL sum / 100]``
(Triforce's input scales; the sums of the cropped windows in the files' units). Targets: the
class index, the energy in units of 100 GeV and Triforce's direction targets
``10 (truth − reco)`` for η and φ.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Iterator, Sequence

import numpy as np

from caloml import checks
from caloml.data import cache
from caloml.errors import DataError, MissingFileError, UsageError
from caloml.io import hdf5, schema
from caloml.sim import clic

PARTICLES = ("electron", "photon", "pi0", "piplus")
# Paper 003 §3.2: the two classification problems; the first particle is class 0 (signal).
TASKS = {"gamma_pi0": ("photon", "pi0"), "e_pi": ("electron", "piplus")}
SPLITS = ("train", "validation", "test")
# Paper 003 §2 selections, as simulator options (recorded in the cached files).
SELECTIONS = {"pi0": {"select_opening_angle_rad": 0.01},
              "piplus": {"select_hcal_ecal_ratio": 0.1}}
ECAL_CROP = 25
# Paper 003 §2: the REC dataset's HCAL window, 11 × 11 × 60 cells.
HCAL_WINDOW = 11
HCAL_LAYERS = 60
# The energies enter and leave the networks in units of 100 GeV: the energy loss
# 200 × MSE (paper §5) is then of the order of the classification loss.
ENERGY_SCALE_GEV = 100.0
# Triforce scales the angles fed to the networks and the direction targets (truth − reco) by
# 10 (inputScaleEta/Phi), the energy sums by 0.01 (inputScaleSumE, = 1 / ENERGY_SCALE_GEV).
DIRECTION_SCALE = 10.0
RAW_KEYS = ("ECAL", "HCAL", "energy", "pdgID", "eta", "phi", "recoEta", "recoPhi",
            "conversion", "openingAngle")
INPUT_NAMES = ("ecal", "hcal", "scalars")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Which events a reconstruction run reads.

    Attributes:
        data: directory with one ``clic`` file per particle (``<particle>.h5``); None
            simulates them with the embedded simulator into the work directory (cached).
        num_train: training rows per particle. Paper §5.2: DNN and CNN trained on 400,000
            events and tested on another 400,000 (two classes).
        num_validation: validation rows per particle (monitoring, checkpoint selection).
        num_test: test rows per particle.
        fixed_angle: θ = 90° samples (appendix I) instead of θ uniform in [1.047, 2.094].
        seed: seed of the simulation (particle ``i`` of :data:`PARTICLES` uses ``seed + i``).
        workers: simulator processes.
        block_size: rows read from HDF5 at a time.
    """

    data: str | None = None
    num_train: int = 200_000
    num_validation: int = 20_000
    num_test: int = 200_000
    fixed_angle: bool = False
    seed: int = 1
    workers: int = 2
    block_size: int = 1024

    def __post_init__(self):
        checks.positive_int(self, "num_train", "num_validation", "num_test", "workers",
                            "block_size")
        checks.positive_int(self, "seed", minimum=0)

    @property
    def num_rows(self) -> int:
        return self.num_train + self.num_validation + self.num_test

    def rows(self, split: str) -> tuple[int, int]:
        """``[start, stop)`` rows of ``split`` in every particle's file."""
        if split not in SPLITS:
            raise UsageError(f"unknown split {split!r}; expected one of {list(SPLITS)}")
        sizes = {"train": self.num_train, "validation": self.num_validation,
                 "test": self.num_test}
        start = 0
        for name in SPLITS:
            if name == split:
                return start, start + sizes[name]
            start += sizes[name]
        raise AssertionError(split)


def task_particles(task: str, particle: str | None = None) -> tuple[str, ...]:
    """The particles of ``task``: its two classes, or ``(particle,)`` for ``regression``."""
    if task in TASKS:
        return TASKS[task]
    if task != "regression":
        raise UsageError(f"unknown task {task!r}; expected one of "
                         f"{[*TASKS, 'regression']}")
    if particle not in PARTICLES:
        raise UsageError(f"task 'regression' needs a particle, one of {list(PARTICLES)}; "
                         f"got {particle!r}")
    return (particle,)


def _simulation_options(particle: str, fixed_angle: bool) -> dict:
    options = dict(SELECTIONS.get(particle, {}))
    if fixed_angle:
        options["fixed_angle"] = True
    return options


def file_name(particle: str, fixed_angle: bool = False) -> str:
    """Name of a particle's file in a data directory."""
    return f"{particle}{'_fixed_angle' if fixed_angle else ''}.h5"


def dataset_files(config: DataConfig, particles: Sequence[str], directory: str,
                  progress: bool = False) -> dict[str, str]:
    """The files of ``particles``: the user's (validated) or simulated into ``directory``.

    Returns:
        ``{particle: path}`` in the order of ``particles``.

    Raises:
        MissingFileError: a user file is missing.
        DataError: a file is not in the ``clic`` layout or holds too few rows.
    """
    paths = {}
    if config.data is None:
        os.makedirs(directory, exist_ok=True)
    for particle in particles:
        if particle not in PARTICLES:
            raise UsageError(f"unknown particle {particle!r}; expected one of {list(PARTICLES)}")
        if config.data is None:
            path = os.path.join(directory, file_name(particle, config.fixed_angle))
            cache.cached_simulation(
                path, "clic", particle, config.num_rows, (2.0, 500.0),
                seed=config.seed + PARTICLES.index(particle), workers=config.workers,
                progress=progress, **_simulation_options(particle, config.fixed_angle))
        else:
            path = os.path.join(config.data, file_name(particle, config.fixed_angle))
            if not os.path.exists(path):
                raise MissingFileError(
                    f"--data={config.data}: no file {file_name(particle, config.fixed_angle)!r}"
                    f" for the {particle}s (expected one clic-layout file per particle: "
                    f"{', '.join(file_name(p, config.fixed_angle) for p in particles)})")
        num = hdf5.validate_file(path, schema.CLIC, check_values=False,
                                 keys=[k for k in RAW_KEYS if k != "openingAngle"])
        if num < config.num_rows:
            raise DataError(
                f"{path!r} holds {num} events; --num_train={config.num_train}, "
                f"--num_validation={config.num_validation} and --num_test={config.num_test} "
                f"need {config.num_rows}")
        paths[particle] = path
    return paths


def geometry_of(paths: dict[str, str]) -> str:
    """``clic``, or the target the files were resampled to (``resampled_to``, eval/resample.py).

    Raises:
        DataError: the files of one run mix geometries.
    """
    found = {particle: str(hdf5.read_attrs(path).get("resampled_to", "clic"))
             for particle, path in paths.items()}
    if len(set(found.values())) != 1:
        raise DataError(f"the data files are of different geometries {found}; resample every "
                        "particle's file to the same target (eval/resample.py --data=DIR)")
    return next(iter(found.values()))


@functools.cache
def _selection_geometry(particle: str) -> clic.ClicGeometry:
    return clic.make_geometry(**SELECTIONS.get(particle, {}))


def selected(arrays: dict[str, np.ndarray], particle: str) -> np.ndarray:
    """[n] bool: the events of ``arrays`` passing the paper's selection for ``particle``."""
    keep = clic.select(arrays, _selection_geometry(particle))
    return np.ones(len(arrays["energy"]), bool) if keep is None else keep


def iter_blocks(paths: dict[str, str], split: str, config: DataConfig,
                keys: Sequence[str] = RAW_KEYS, block_size: int | None = None,
                ) -> Iterator[dict[str, np.ndarray]]:
    """Yields the raw ``clic`` arrays of one split, particle by particle, block by block.

    Events failing the paper's selection of their particle are dropped.

    Args:
        paths: ``{particle: path}`` (:func:`dataset_files`); the order gives the labels.
        split: ``train``, ``validation`` or ``test``.
        keys: keys to read (the selection's keys are added when needed).

    Yields:
        The arrays of ``keys`` (``ECAL`` [n, 51, 51, 25], ``HCAL`` [n, 11, 11, 60], scalars
        [n]) plus ``label`` [n] int8, the index of the event's particle in ``paths``.

    Raises:
        DataError: if no event of a particle's split passes its selection.
    """
    start, stop = config.rows(split)
    block_size = block_size or config.block_size
    for label, (particle, path) in enumerate(paths.items()):
        needed = list(dict.fromkeys([*keys, *_selection_keys(particle)]))
        kept = 0
        for first in range(start, stop, block_size):
            block = hdf5.read_arrays(path, schema.CLIC, keys=needed, start=first,
                                     stop=min(first + block_size, stop), validate=False)
            keep = selected(block, particle)
            out = {key: block[key][keep] for key in keys}
            out["label"] = np.full(int(keep.sum()), label, np.int8)
            kept += int(keep.sum())
            yield out
        if kept == 0:
            raise DataError(f"{path!r}: no {particle} event of the {split} rows "
                            f"[{start}, {stop}) passes the paper's selection "
                            f"{SELECTIONS[particle]}")


def _selection_keys(particle: str) -> tuple[str, ...]:
    if particle == "piplus":
        return ("ECAL", "HCAL")
    if particle == "pi0":
        return ("openingAngle",)
    return ()


def crop_ecal(ecal: np.ndarray, size: int = ECAL_CROP) -> np.ndarray:
    """Crops ``size`` × ``size`` cells around the barycentre of the z-summed ECAL.

    The window is moved inside the 51 × 51 one where the barycentre is closer to the edge than
    ``size / 2``; an empty event keeps the central crop.

    Args:
        ecal: [n, X, Y, Z] ECAL windows.

    Returns:
        [n, size, size, Z].
    """
    n, nx, ny, _ = ecal.shape
    if size > min(nx, ny):
        raise DataError(f"ECAL windows of {nx} x {ny} cells are smaller than the {size} x "
                        f"{size} crop")
    projection = ecal.sum(axis=3, dtype=np.float64)
    total = projection.sum(axis=(1, 2))
    safe = np.where(total > 0, total, 1.0)
    centre_x = np.where(total > 0, projection.sum(axis=2) @ np.arange(nx) / safe, (nx - 1) / 2)
    centre_y = np.where(total > 0, projection.sum(axis=1) @ np.arange(ny) / safe, (ny - 1) / 2)
    low_x = np.clip(np.rint(centre_x).astype(int) - size // 2, 0, nx - size)
    low_y = np.clip(np.rint(centre_y).astype(int) - size // 2, 0, ny - size)
    offsets = np.arange(size)
    rows = np.arange(n)[:, None, None]
    cols_x = (low_x[:, None] + offsets)[:, :, None]
    cols_y = (low_y[:, None] + offsets)[:, None, :]
    return ecal[rows, cols_x, cols_y]


def crop_hcal(hcal: np.ndarray, size: int) -> np.ndarray:
    """The central ``size`` × ``size`` cells of [n, X, Y, Z] HCAL windows."""
    nx, ny = hcal.shape[1:3]
    if not 0 < size <= min(nx, ny) or (nx - size) % 2:
        raise UsageError(f"hcal_window={size} must be odd and at most the file's {nx} cells")
    low = (nx - size) // 2
    return hcal[:, low:low + size, low:low + size]


def network_arrays(block: dict[str, np.ndarray], hcal_window: int = HCAL_WINDOW,
                   ) -> dict[str, np.ndarray]:
    """Network inputs and targets of a block of raw arrays (:func:`iter_blocks`).

    Returns:
        ``ecal`` [n, 25, 25, 25, 1], ``hcal`` [n, h, h, 60, 1], ``scalars`` [n, 4]
        (10 recoPhi, 10 recoEta, ECAL and HCAL sums / 100), ``label`` [n] int32, ``energy``
        [n, 1] (true energy / 100 GeV), ``direction`` [n, 2] (10 (η − recoη), 10 (φ − recoφ)
        modulo 10π),
        all float32 but ``label``.
    """
    ecal = crop_ecal(block["ECAL"])
    hcal = crop_hcal(block["HCAL"], hcal_window)
    ecal_sum = ecal.sum(axis=(1, 2, 3), dtype=np.float64)
    hcal_sum = hcal.sum(axis=(1, 2, 3), dtype=np.float64)
    scalars = np.stack([DIRECTION_SCALE * block["recoPhi"], DIRECTION_SCALE * block["recoEta"],
                        ecal_sum / ENERGY_SCALE_GEV, hcal_sum / ENERGY_SCALE_GEV], axis=1)
    # recoPhi is atan(y/x) in (−π/2, π/2) as in Convert_to_h5.py, the truth φ in (−π, π]:
    # the φ target is their difference modulo π.
    phi_difference = np.mod(block["phi"] - block["recoPhi"] + np.pi / 2, np.pi) - np.pi / 2
    direction = DIRECTION_SCALE * np.stack(
        [block["eta"] - block["recoEta"], phi_difference], axis=1)
    return {
        "ecal": ecal[..., None].astype(np.float32, copy=False),
        "hcal": hcal[..., None].astype(np.float32, copy=False),
        "scalars": scalars.astype(np.float32),
        "label": block["label"].astype(np.int32),
        "energy": (block["energy"] / ENERGY_SCALE_GEV)[:, None].astype(np.float32),
        "direction": direction.astype(np.float32),
    }


def _network_transform(particle: str, label: int, hcal_window: int,
                       names: Sequence[str]):
    def transform(block: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        keep = selected(block, particle)
        kept = {key: value[keep] for key, value in block.items()}
        kept["label"] = np.full(int(keep.sum()), label, np.int8)
        arrays = network_arrays(kept, hcal_window)
        return {name: arrays[name] for name in names}

    return transform


def tf_dataset(paths: dict[str, str], split: str, config: DataConfig, batch_size: int,
               hcal_window: int = HCAL_WINDOW, input_names: Sequence[str] = INPUT_NAMES,
               shuffle_buffer: int | None = None, seed: int = 0, repeat: bool = False):
    """Streams one split as batches ``(inputs, targets)`` for :class:`RecoTrainer`.

    Each particle's file is read block by block (:func:`caloml.data.pipeline.hdf5_dataset`);
    with ``shuffle_buffer`` the particles are interleaved at random (equal weights) and the
    events shuffled in a buffer of that many events, reshuffled every epoch, so memory holds
    the buffer and a few blocks whatever the file sizes. Without it the events come in file
    order, particle after particle (validation, test). ``repeat`` makes the stream endless
    (training: epochs are then :func:`steps_per_epoch` batches).

    Returns:
        A ``tf.data.Dataset`` of ``({name: [B, ...]} for input_names, {"label": [B],
        "energy": [B, 1], "direction": [B, 2]})``.
    """
    import tensorflow as tf

    from caloml.data import pipeline

    start, stop = config.rows(split)
    names = (*input_names, "label", "energy", "direction")
    datasets = []
    for label, (particle, path) in enumerate(paths.items()):
        keys = list(dict.fromkeys([*RAW_KEYS[:-1], *_selection_keys(particle)]))
        datasets.append(pipeline.hdf5_dataset(
            path, schema.CLIC, keys, block_size=config.block_size, start=start, stop=stop,
            transform=_network_transform(particle, label, hcal_window, names),
            check_values=False))
    if repeat:
        datasets = [ds.repeat() for ds in datasets]
    if shuffle_buffer:
        ds = tf.data.Dataset.sample_from_datasets(datasets, seed=seed)
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    else:
        ds = datasets[0]
        for other in datasets[1:]:
            ds = ds.concatenate(other)

    def split_example(example):
        return ({name: example[name] for name in input_names},
                {name: example[name] for name in ("label", "energy", "direction")})

    return ds.map(split_example).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def steps_per_epoch(paths: dict[str, str], config: DataConfig, batch_size: int) -> int:
    """Batches of one training epoch: every training row of every particle seen about once."""
    return max(1, (config.num_train * len(paths)) // batch_size)
