"""Files of the variable-angle 3DGAN (svalleco/3Dgan, branch ``Anglegan``) from CLIC files.

3DGAN trains on "processed" files made by ``misc/GetProcessedData.py`` from the LCD/CLIC
samples: the 51 x 51 x 25 ECAL window, the incident energy, the truth angles ``theta`` and
``eta``, the ECAL sum ``sum`` and the polar angle ``mtheta`` measured from the shower itself
(layout :data:`caloml.io.schema.THREEDGAN`). This module makes such files from files in the
CLIC layout (:data:`caloml.io.schema.CLIC`: the Triforce_CaloML files or the embedded
simulator's), so that any CLIC dataset can train the 3DGAN models. In both, the ECAL window is
``[x, y, layer]`` with x along r phi and y along the beam, and ``mtheta`` is measured along y.

GetProcessedData does not rescale anything: ``ECAL`` and ``energy`` are cast to float32 and
written as they are (the x-scaling, the 0.85 power and the energy / 100 of 3DGAN are applied
at training time), so ``ECAL`` is copied bit for bit here. It sums ``sum`` in float32; here
the sum is accumulated in float64 and rounded once. It writes 5,000 events per file; here one
output file holds the events of one input file.

The training and test events of the 3DGAN study come from here too: :func:`dataset_files`
simulates CLIC electrons with the embedded simulator and converts them (both files cached), or
checks the user's 3DGAN-layout files (:func:`check_file`); :func:`read_events` reads test events
into memory and :func:`training_dataset` streams shuffled training batches block by block.
Pure numpy and h5py; only :func:`training_dataset` imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping, Sequence

import h5py
import numpy as np

from caloml import outputs, seeding
from caloml.data import blocks, cache
from caloml.errors import DataError, InputError, MissingFileError
from caloml.io import hdf5, schema
from caloml.sim import clic

# The CLIC ECAL barrel as the embedded simulator builds it (paper 003 §2, caloml.sim.clic, after
# lcgeo's CLIC_o2_v04): 17 layers of 2.4 mm W then 8 of 4.8 mm W, each with 0.5 mm of Si, copper
# and air, so consecutive sensitive planes are 4.4 mm, then 6.8 mm apart; 5.1 mm square cells.
_ECAL = clic.ClicGeometry()
LAYER_PITCH_MM = np.array([s.pitch_mm for s in _ECAL.ecal for _ in range(s.num_layers)])
# Depth of the middle of each layer's silicon below the ECAL front face, [25] (mm). Only
# differences of depths enter the measured angle, so the choice of origin does not matter.
LAYER_DEPTH_MM = _ECAL.layers["depth_mm"][: _ECAL.num_ecal_layers]
CELL_SIZE_MM = _ECAL.ecal_cell_mm

# Convention (caloml.io.schema.CLIC, as the Triforce_CaloML files): the ECAL window is
# [x, y, layer] with x along r phi and y along the beam. The beam axis is always y, the axis
# svalleco/3Dgan ``measPython`` takes theta from (the slope of y with depth).

# 3DGAN writes 100 (far outside [0, pi]) as the measured angle of an event without energy
# (GANutils.measPython, AngleArch3dGAN.ecal_angle); kept so that its cuts still apply.
UNDEFINED_THETA = 100.0

# Depth variances (mm^2) below this mean all the energy is in one layer: no slope to measure.
_MIN_DEPTH_VARIANCE_MM2 = 1e-12

# The CLIC arrays a 3DGAN file is made from.
_CLIC_KEYS = ("ECAL", "energy", "theta", "eta")


def measured_theta(
    ecal: np.ndarray,
    *,
    cell_size_mm: float = CELL_SIZE_MM,
    layer_depth_mm: np.ndarray | None = None,
    undefined_value: float = UNDEFINED_THETA,
) -> np.ndarray:
    """Polar angle of the shower axis measured from the ECAL window ("mtheta" of 3DGAN).

    The shower axis is the energy-weighted least-squares straight line through the cells:
    with cell energies ``E``, cell centres ``b`` along the beam (y) and ``t`` across it (x,
    along r phi) and layer depths ``z`` in mm,

        slope_b = sum E (b - <b>) (z - <z>) / sum E (z - <z>)^2,   likewise slope_t,

    which equals the fit of the per-layer barycentres against depth weighted by the layer
    energies. The axis direction (beam, across, depth) is proportional to
    ``(slope_b, slope_t, 1)``, and its angle to the beam axis is

        mtheta = atan2(sqrt(1 + slope_t^2), slope_b)   in (0, pi).

    So a straight shower whose barycentre moves by ``dz * cot(theta)`` along the beam per
    ``dz`` of depth gives ``theta``; normal incidence gives pi / 2, and the beam coordinate
    grows with depth when theta < pi / 2. The transverse slope enters at second order only
    (in the Triforce files the transverse window is re-centred and rescaled per layer).

    Differences from 3DGAN (svalleco/3Dgan, ``analysis/utils/GANutils.py`` ``measPython``,
    used by ``misc/GetProcessedData.py``; the same formula is the ``ecal_angle`` Lambda of
    ``keras/AngleArch3dGAN.py``): 3DGAN takes, in every non-empty layer, the angle
    ``pi/2 - atan(dy / sqrt(dx^2 + dz^2))`` of the vector from the event barycentre to the
    layer barycentre (negated in front of the barycentre) and averages these angles weighted
    by layer index; it measures all distances in cell indices, i.e. it takes the layer pitch
    equal to the 5.1 mm cell, so for a straight shower its mtheta is
    ``acot(cot(theta) * pitch / 5.1)``, pulled towards pi / 2. Here depths are the real
    non-uniform layer depths (17 x 4.4 mm, then 8 x 6.8 mm) and the slope is fitted, so the
    measurement is unbiased for straight showers. The sign convention (theta < pi / 2 when the
    beam coordinate grows with depth) is 3DGAN's.

    Args:
        ecal: cell energies ``[events, x, y, layer]`` with y along the beam (any
            non-negative unit; only ratios matter), e.g. ``[N, 51, 51, 25]``.
        cell_size_mm: transverse cell size.
        layer_depth_mm: depth of each layer ``[layer]`` in mm; default :data:`LAYER_DEPTH_MM`
            (the 25 CLIC ECAL layers).
        undefined_value: returned for events without energy or with all their energy in one
            layer, whose slope is undefined (3DGAN: 100 for events without energy).

    Returns:
        float64 ``[events]``: the measured polar angle in radians, or ``undefined_value``.
    """
    ecal = np.asarray(ecal)
    if ecal.ndim != 4:
        raise ValueError(f"ecal must have shape [events, x, y, layer], got shape {ecal.shape}")
    depth = LAYER_DEPTH_MM if layer_depth_mm is None else np.asarray(layer_depth_mm, np.float64)
    if depth.shape != (ecal.shape[3],):
        raise ValueError(
            f"layer_depth_mm has shape {depth.shape}, expected ({ecal.shape[3]},) for ecal of "
            f"shape {ecal.shape}"
        )
    # Projections [events, cell, layer] along the beam (y) and across it (x), in float64.
    along = ecal.sum(axis=1, dtype=np.float64)
    across = ecal.sum(axis=2, dtype=np.float64)
    layer_sum = along.sum(axis=1)  # [events, layer]
    total = layer_sum.sum(axis=1)  # [events]

    def centred(num_cells: int) -> np.ndarray:
        # Cell centres relative to the window centre (smaller sums, less cancellation).
        return (np.arange(num_cells) - (num_cells - 1) / 2) * cell_size_mm

    with np.errstate(divide="ignore", invalid="ignore"):
        mean_depth = layer_sum @ depth / total
        dz = depth[None, :] - mean_depth[:, None]  # [events, layer]
        var_z = np.einsum("nl,nl->n", layer_sum, dz**2) / total
        # sum E (b - <b>)(z - <z>) = sum E b (z - <z>), since sum E (z - <z>) = 0.
        cov_bz = np.einsum("nbl,b,nl->n", along, centred(along.shape[1]), dz) / total
        cov_tz = np.einsum("ntl,t,nl->n", across, centred(across.shape[1]), dz) / total
        slope_b = cov_bz / var_z
        slope_t = cov_tz / var_z
        theta = np.arctan2(np.hypot(1.0, slope_t), slope_b)
    defined = (total > 0) & (var_z > _MIN_DEPTH_VARIANCE_MM2)
    return np.where(defined, theta, undefined_value)


def from_clic(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """CLIC-layout arrays (as from :func:`caloml.io.hdf5.read_arrays`) in the 3DGAN layout.

    Args:
        arrays: at least ``ECAL`` [N, 51, 51, 25] (GeV), ``energy``, ``theta`` and ``eta``
            [N] (a column [N, 1] is accepted); other keys (``HCAL``, ``pdgID``, ...) are
            ignored, since 3DGAN files hold the ECAL only.

    Returns:
        The arrays of :data:`caloml.io.schema.THREEDGAN`: ``ECAL``, ``energy``, ``theta``
        and ``eta`` unchanged (as float32), ``mtheta`` = :func:`measured_theta` of ``ECAL``
        and ``sum`` = ``ECAL`` summed over its cells (accumulated in float64), float32 [N].
    """
    missing = [key for key in _CLIC_KEYS if key not in arrays]
    if missing:
        raise KeyError(f"CLIC arrays lack {missing}; got keys {sorted(arrays)}")
    out = {
        key: hdf5.to_layout_shape(arrays[key], schema.THREEDGAN.field(key)) for key in _CLIC_KEYS
    }
    ecal = out["ECAL"]
    expected = schema.CLIC.field("ECAL").shape
    if ecal.ndim != 4 or ecal.shape[1:] != expected:
        raise ValueError(
            f"ECAL has shape {ecal.shape}, expected [N, {', '.join(map(str, expected))}]"
        )
    for key in _CLIC_KEYS[1:]:
        if out[key].shape != (len(ecal),):
            raise ValueError(
                f"{key!r} has shape {out[key].shape}, expected [{len(ecal)}] (as ECAL)"
            )
    out["mtheta"] = measured_theta(ecal).astype(np.float32)
    out["sum"] = ecal.sum(axis=(1, 2, 3), dtype=np.float64).astype(np.float32)
    return out


def convert_file(
    clic_path: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    chunk_size: int = 500,
    compression: str | None = "gzip",
    progress: bool = False,
) -> int:
    """Writes the 3DGAN-layout file of a CLIC-layout file, atomically and in chunks.

    The input (a caloml file or a Triforce_CaloML file) is validated against
    :data:`caloml.io.schema.CLIC` first; extra datasets in it are ignored. The output holds
    :func:`from_clic` of every event, the input's file attributes and ``source_file`` (the
    input's absolute path). It is written under a temporary name and renamed at the end
    (:class:`caloml.io.hdf5.H5Writer`). Memory use is a few ``chunk_size`` events (260 kB of
    ECAL each) whatever the file size.

    Args:
        clic_path: input file in the CLIC layout.
        out_path: output file; replaced if it exists.
        chunk_size: events read, converted and written at a time.
        compression: ``"gzip"``, ``"lzf"`` or ``None`` (see ``H5Writer``).
        progress: show a progress bar.

    Returns:
        The number of events written.

    Raises:
        caloml.errors.MissingFileError: if ``clic_path`` does not exist.
        caloml.errors.DataError: if it does not match the CLIC layout (the message names
            the file, the key and what was expected).
        caloml.errors.OutputError: if ``out_path`` cannot be written.
        caloml.errors.InputError: for ``out_path == clic_path``.
        ValueError: for a bad ``chunk_size``.
    """
    clic_path, out_path = os.fspath(clic_path), os.fspath(out_path)
    if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if os.path.abspath(clic_path) == os.path.abspath(out_path):
        raise InputError(f"output {out_path!r} is the input file; choose another name")
    # Fail on an unwritable output before the (long) validation of the input.
    outputs.check_writable(out_path)
    num_events = hdf5.validate_file(clic_path, schema.CLIC, block_size=chunk_size)
    # The writer sets "layout" itself; the input's would claim the wrong one.
    attrs = {k: v for k, v in hdf5.read_attrs(clic_path).items() if k != "layout"}
    attrs["source_file"] = os.path.abspath(clic_path)
    with hdf5.H5Writer(out_path, schema.THREEDGAN, num_events, attrs=attrs,
                       compression=compression) as writer:
        for start in blocks.block_starts(num_events, chunk_size, progress):
            block = hdf5.read_arrays(clic_path, schema.CLIC, keys=_CLIC_KEYS, start=start,
                                     stop=start + chunk_size, validate=False)
            writer.write(start, from_clic(block))
    return num_events


def read_3dgan(
    path: str | os.PathLike, start: int = 0, stop: int | None = None
) -> dict[str, np.ndarray]:
    """Validates a 3DGAN-layout file and reads events ``[start, stop)`` of all its arrays.

    Works for caloml-written files and for the files of 3DGAN's ``GetProcessedData.py``.

    Returns:
        ``ECAL`` float32 [N, 51, 51, 25] and ``energy``, ``theta``, ``mtheta``, ``eta``,
        ``sum`` float32 [N].

    Raises:
        caloml.errors.MissingFileError, caloml.errors.DataError: as
            :func:`caloml.io.hdf5.validate_file`.
    """
    return hdf5.read_arrays(path, schema.THREEDGAN, start=start, stop=stop)


# --- the 3DGAN study's files ------------------------------------------------------------------

# Paper 003 §2: the GEN dataset, electrons of 100-200 GeV at theta in [1.047, 2.094] rad.
GEN_ENERGY_GEV = (100.0, 200.0)
GEN_THETA_RAD = (1.047, 2.094)
# The ECAL window of a 3DGAN file [x, y, layer] and the HCAL window of the CLIC files
# (paper 003 §2: 11 x 11 x 60 cells), as :func:`read_events` returns them.
WINDOW = tuple(schema.THREEDGAN.field("ECAL").shape)
HCAL_WINDOW = (11, 11, 60)
# Angles beyond pi by more than this (rad) cannot be radians; rounding may put a measured angle
# of a radians file a hair above pi, never by this much.
DEGREES_MARGIN_RAD = 0.05
# Rows read from HDF5 at a time by read_events and steps_per_epoch (260 kB of ECAL each).
BLOCK_ROWS = 256
# The arrays read from a 3DGAN file, besides ECAL.
_SCALAR_KEYS = ("energy", "theta", "mtheta", "sum")
_CONTENTS = ("a 3DGAN file holds ECAL [N, 51, 51, 25], energy [N] (GeV), theta and mtheta [N] "
             "(rad) and sum [N]")
_SCRIPT = "python train/prepare_3dgan_data.py"


@dataclasses.dataclass(frozen=True)
class Gan3DFiles:
    """The files of one 3DGAN study, whose events are the rows of their concatenation.

    Attributes:
        threedgan: files in the 3DGAN layout (:data:`caloml.io.schema.THREEDGAN`), in order.
        clic: the CLIC-layout files the simulator wrote, one per 3DGAN file with the same rows
            (their HCAL and reconstructed angles feed paper 003's Appendix B); None for the
            user's files (``--data``).
    """

    threedgan: tuple[str, ...]
    clic: tuple[str, ...] | None = None

    def __post_init__(self):
        object.__setattr__(self, "threedgan", tuple(os.fspath(p) for p in self.threedgan))
        if not self.threedgan:
            raise InputError("Gan3DFiles needs at least one 3DGAN file")
        if self.clic is not None:
            object.__setattr__(self, "clic", tuple(os.fspath(p) for p in self.clic))
            if len(self.clic) != len(self.threedgan):
                raise InputError(f"Gan3DFiles: {len(self.clic)} CLIC files for "
                                 f"{len(self.threedgan)} 3DGAN files; expected one each")


def data_seed(seed: int) -> int:
    """The simulation seed of the electrons of a run of seed ``seed``, in [0, 2³¹)."""
    return seeding.derive(seed, "threedgan_data/electron")


def _name_number(value: float) -> str:
    # No dots in cached file names: a name's stem ends at its first dot (outputs.temporary_name).
    return f"{float(value):g}".replace(".", "p")


def file_stem(num_events: int, energy_gev: Sequence[float] = GEN_ENERGY_GEV,
              theta_rad: Sequence[float] = GEN_THETA_RAD, fixed_angle: bool = False,
              seed: int = 1) -> str:
    """The name of the simulated files of these settings, without ``_clic.h5``/``_3dgan.h5``.

    For example ``electron_1000ev_100-200GeV_1p047-2p094rad_seed1`` (``90deg`` for the
    fixed angle): runs with other settings simulate into other files, and a directory can hold
    the events of several settings at once.
    """
    low, high = energy_gev
    angle = "90deg" if fixed_angle else "-".join(_name_number(t) for t in theta_rad) + "rad"
    return (f"electron_{int(num_events)}ev_{_name_number(low)}-{_name_number(high)}GeV_"
            f"{angle}_seed{int(seed)}")


def dataset_files(
    directory: str | os.PathLike,
    *,
    num_events: int,
    energy_gev: tuple[float, float] = GEN_ENERGY_GEV,
    theta_rad: tuple[float, float] = GEN_THETA_RAD,
    fixed_angle: bool = False,
    seed: int,
    data: str | os.PathLike | None = None,
    workers: int = 2,
    progress: bool = False,
) -> Gan3DFiles:
    """The 3DGAN-layout files of a study: simulated and cached in ``directory``, or ``data``.

    Without ``data``, ``num_events`` CLIC electrons (:mod:`caloml.sim`, geometry ``clic``,
    readout ``files`` as the Triforce files, energies U(``energy_gev``), θ U(``theta_rad``) or
    90° with ``fixed_angle``, seed :func:`data_seed`) are simulated into
    ``directory/<stem>_clic.h5`` and converted with :func:`convert_file` into
    ``directory/<stem>_3dgan.h5`` (stem :func:`file_stem`). Both are reused when they are
    there, complete and made with the same settings (:func:`caloml.data.cache
    .cached_simulation`; the converted file when it names the CLIC file as its source and
    carries its attributes); both are written atomically.

    With ``data`` (``--data``: a 3DGAN-layout file, or a directory whose ``*.h5`` and ``*.hdf5``
    files are taken in sorted order), every file is checked with :func:`check_file` and
    nothing is written.

    Args:
        directory: where simulated files are cached (created if needed; unused with ``data``).
        num_events: rows the files must hold (``--num_train`` + ``--num_test``).
        energy_gev: (low, high) incident energies of the simulation.
        theta_rad: (low, high) polar angles of the simulation (ignored with ``fixed_angle``).
        fixed_angle: simulate at θ = 90° (the fixed-angle 25³ model).
        seed: the run's seed.
        data: the user's files, or None to simulate.
        workers: simulator processes.
        progress: progress bars of the simulation and the conversion.

    Returns:
        The files; ``clic`` is None with ``data``.

    Raises:
        MissingFileError: ``data`` does not exist or holds no HDF5 file.
        DataError: a file fails :func:`check_file`, or the files hold fewer than
            ``num_events`` events.
        InputError: settings the simulator refuses.
    """
    if not isinstance(num_events, (int, np.integer)) or num_events < 1:
        raise InputError(f"num_events must be a positive integer, got {num_events!r}")
    if data is not None:
        paths = _user_files(os.fspath(data))
        total = sum(check_file(path) for path in paths)
        if total < num_events:
            raise DataError(
                f"--data={os.fspath(data)}: {', '.join(map(repr, paths))} hold {total} events, "
                f"fewer than the {num_events} that --num_train and --num_test ask for")
        return Gan3DFiles(tuple(paths), None)
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    stem = file_stem(num_events, energy_gev, theta_rad, fixed_angle, seed)
    clic_path = os.path.join(directory, f"{stem}_clic.h5")
    out_path = os.path.join(directory, f"{stem}_3dgan.h5")
    angle = {"fixed_angle": True} if fixed_angle else {
        "theta_rad": tuple(float(t) for t in theta_rad)}
    reused = cache.cached_simulation(
        clic_path, "clic", "electron", int(num_events), tuple(float(e) for e in energy_gev),
        seed=data_seed(seed), workers=workers, progress=progress, readout="files", **angle)
    if not (reused and _converted_from(out_path, clic_path)):
        convert_file(clic_path, out_path, progress=progress)
    return Gan3DFiles((out_path,), (clic_path,))


def _converted_from(path: str, clic_path: str) -> bool:
    """Whether ``path`` is a complete conversion of the CLIC file ``clic_path`` as it is now."""
    if not os.path.exists(path):
        return False
    try:
        hdf5.validate_file(path, schema.THREEDGAN, check_values=False)
        attrs = hdf5.read_attrs(path)
        source = hdf5.read_attrs(clic_path)
    except (OSError, ValueError):
        return False
    if attrs.get("source_file") != os.path.abspath(clic_path):
        return False
    return all(key in attrs and np.array_equal(np.asarray(attrs[key]), np.asarray(value))
               for key, value in source.items() if key != "layout")


def _user_files(data: str) -> list[str]:
    if os.path.isdir(data):
        paths = sorted(
            os.path.join(data, name) for name in os.listdir(data)
            if name.lower().endswith((".h5", ".hdf5")) and outputs.TMP_MARKER not in name
            and os.path.isfile(os.path.join(data, name)))
        if not paths:
            raise MissingFileError(f"--data={data} holds no .h5 or .hdf5 file; expected "
                                   f"3DGAN-layout files ({_CONTENTS})")
        return paths
    if not os.path.exists(data):
        raise MissingFileError(f"--data={data} does not exist; expected a 3DGAN-layout file "
                               "or a directory of them")
    return [data]


def check_file(path: str | os.PathLike) -> int:
    """Checks that ``path`` is a 3DGAN-layout file and returns its number of events.

    Checks the keys ``ECAL`` ([N, 51, 51, 25]), ``energy``, ``theta``, ``mtheta`` and ``sum``
    ([N] or [N, 1]): presence, shapes, float dtypes (float32 or float64) and equal row counts,
    and the angles: ``theta`` and ``mtheta`` (but for its :data:`UNDEFINED_THETA` marker) must
    be finite radians in [0, pi]; angles above pi that fit 0-180 are taken for degrees. Cell
    values are checked as they are read.

    Raises:
        MissingFileError: ``path`` does not exist.
        DataError: one line naming the file, the key and what was expected; a file without
            ``mtheta`` (a CLIC file) is told how to make a 3DGAN file of it.
    """
    path = os.fspath(path)
    with hdf5.open_for_reading(path) as h5:
        for key in ("ECAL", "energy"):
            if key not in h5:
                raise DataError(f"{path!r} has no {key!r}; {_CONTENTS}")
        for key in ("mtheta", "theta"):
            if key not in h5:
                raise DataError(f"{path!r} has no {key!r}: not a 3DGAN file; {_remedy(h5, path)}")
        if "sum" not in h5:
            raise DataError(f"{path!r} has no 'sum'; {_CONTENTS}")
        num = None
        for key in ("ECAL", *_SCALAR_KEYS):
            ds = h5[key]
            if not isinstance(ds, h5py.Dataset):
                raise DataError(f"{path!r}: {key!r} is a group, expected a dataset; {_CONTENTS}")
            if key == "ECAL":
                good, expected = ds.shape[1:] == WINDOW, "[N, 51, 51, 25] (x, y, layer)"
            else:
                good, expected = ds.ndim in (1, 2) and ds.shape[1:] in ((), (1,)), "[N]"
            if ds.ndim == 0 or not good:
                raise DataError(f"{path!r}: {key!r} has shape {list(ds.shape)}, expected "
                                f"{expected}")
            if ds.dtype.kind != "f":
                raise DataError(f"{path!r}: {key!r} has dtype {ds.dtype}, expected float32 or "
                                "float64")
            if num is None:
                num = ds.shape[0]
            elif ds.shape[0] != num:
                raise DataError(f"{path!r}: {key!r} has {ds.shape[0]} rows, but 'ECAL' has "
                                f"{num}")
        for key in ("theta", "mtheta"):
            _check_angles(np.asarray(h5[key][()], np.float64).reshape(-1), path, key)
    return int(num)


def _remedy(h5: h5py.File, path: str) -> str:
    if all(key in h5 for key in _CLIC_KEYS):
        stem, _ = os.path.splitext(path)
        return f"make one from this CLIC file with {_SCRIPT} --input={path} " \
               f"--output={stem}_3dgan.h5"
    return (f"make one from a CLIC file (ECAL, energy, theta, eta) with {_SCRIPT} "
            "--input=<CLIC file> --output=<new file>")


def _check_angles(values: np.ndarray, path: str, key: str) -> None:
    """Finite radians in [0, pi], or (mtheta) the undefined marker; degrees are named."""
    if key == "mtheta":
        values = values[values != UNDEFINED_THETA]
    bad = ~np.isfinite(values)
    if bad.any():
        raise DataError(f"{path!r}: {key!r} holds {values[bad][0]} (row "
                        f"{int(np.argmax(bad))} of the angles); expected finite angles in rad")
    if not len(values):
        return
    low, high = float(values.min()), float(values.max())
    if high > np.pi + DEGREES_MARGIN_RAD and low >= 0 and high <= 180:
        raise DataError(f"{path!r}: {key!r} holds angles from {low:.4g} to {high:.4g}, which "
                        "look like degrees where radians are expected; convert the file's theta "
                        "and mtheta with numpy.radians")
    if low < -DEGREES_MARGIN_RAD or high > np.pi + DEGREES_MARGIN_RAD:
        raise DataError(f"{path!r}: {key!r} holds angles from {low:.4g} to {high:.4g}; expected "
                        "polar angles in [0, pi] rad")


def _row_counts(paths: Sequence[str], key: str = "energy") -> list[int]:
    counts = []
    for path in paths:
        with hdf5.open_for_reading(path) as h5:
            if key not in h5:
                raise DataError(f"{path!r} has no {key!r}")
            counts.append(int(h5[key].shape[0]))
    return counts


def _segments(paths: Sequence[str], start: int, stop: int) -> list[tuple[int, int, int, int]]:
    """``(file index, first row, end row, offset in [start, stop))`` of the rows of every file
    that ``[start, stop)`` of the concatenation covers."""
    if not (isinstance(start, (int, np.integer)) and isinstance(stop, (int, np.integer))
            and 0 <= start <= stop):
        raise InputError(f"rows [{start}, {stop}) are not a range of rows")
    counts = _row_counts(paths)
    if stop > sum(counts):
        raise DataError(f"{', '.join(map(repr, paths))} hold {sum(counts)} events; rows "
                        f"[{start}, {stop}) were asked for")
    out, first = [], 0
    for index, count in enumerate(counts):
        low, high = max(start, first), min(stop, first + count)
        if low < high:
            out.append((index, low - first, high - first, low - start))
        first += count
    return out


def _crop_slices(shape: Sequence[int], window: Sequence[int], path: str, key: str,
                 ) -> tuple[slice, ...]:
    """The central ``window`` of per-event arrays of ``shape``."""
    if len(window) != len(shape) or any(
            not 0 < w <= s or (s - w) % 2 for w, s in zip(window, shape, strict=True)):
        raise DataError(f"{path!r}: {key!r} of {list(shape)} cells per event has no central "
                        f"{' x '.join(map(str, window))} window")
    return tuple(slice((s - w) // 2, (s - w) // 2 + w)
                 for w, s in zip(window, shape, strict=True))


def _check_window(window: Sequence[int]) -> tuple[int, int, int]:
    window = tuple(int(w) for w in window)
    if len(window) != 3 or any(not 0 < w <= s or (s - w) % 2
                               for w, s in zip(window, WINDOW, strict=True)):
        raise InputError(f"window {window} is not a central crop of the {WINDOW} ECAL window "
                         "(three sizes, each at most the file's and of the same parity)")
    return window


def _check_cells(ecal: np.ndarray, path: str, first_row: int) -> None:
    # min and max make no temporary arrays; a NaN makes the minimum NaN.
    if not ecal.size or (ecal.min() >= 0 and ecal.max() < np.inf):
        return
    bad = ~((ecal >= 0) & (ecal < np.inf))
    if bad.any():
        where = np.argwhere(bad)[0]
        raise DataError(f"{path!r}: 'ECAL' row {first_row + int(where[0])} holds "
                        f"{ecal[tuple(where)].item()!r}; expected finite, non-negative cell "
                        "energies")


def read_events(files: Gan3DFiles, start: int, stop: int, *,
                window: Sequence[int] = WINDOW) -> dict[str, np.ndarray]:
    """Rows ``[start, stop)`` of the concatenated files in memory: the test events.

    ``window`` (X, Y, Z) is the central crop of the 51 × 51 × 25 window: all of it for the
    variable-angle models; 25 × 25 × 25 for the fixed-angle model, the cells 13-37 in x and y
    around the window centre in all 25 layers (at θ = 90° the shower axis runs through the
    window centre, so the crop holds the core of the shower, as the first 3DGAN's
    25 × 25 × 25 windows). Files are read :data:`BLOCK_ROWS` rows at a time into preallocated
    float32 arrays, each block's cells checked to be finite and non-negative.

    Args:
        files: the files (:func:`dataset_files`).
        start, stop: rows of the concatenation of ``files.threedgan``.
        window: the ECAL window returned.

    Returns:
        ``ECAL`` [N, X, Y, Z] float32 (the files' units), float32 [N] ``energy`` (GeV),
        ``theta`` and ``mtheta`` (rad) and ``sum`` (of the returned window, accumulated in
        float64); with ``files.clic``, also ``HCAL`` [N, 11, 11, 60] (the central 11 × 11
        cells of a larger HCAL), ``recoEta`` and ``recoPhi`` [N] of the same rows of the
        CLIC files. N = stop − start.

    Raises:
        InputError: a window that is not a central crop, or a bad row range.
        DataError: the files hold fewer than ``stop`` rows, a CLIC file has another number of
            rows than its 3DGAN file, or a cell is negative or not finite.
    """
    window = _check_window(window)
    segments = _segments(files.threedgan, start, stop)
    num = stop - start
    out = {"ECAL": np.empty((num, *window), np.float32)}
    out.update({key: np.empty(num, np.float32) for key in _SCALAR_KEYS})
    if files.clic is not None:
        for path, clic_path, count, clic_count in zip(
                files.threedgan, files.clic, _row_counts(files.threedgan),
                _row_counts(files.clic, "HCAL"), strict=True):
            if count != clic_count:
                raise DataError(f"the CLIC file {clic_path!r} holds {clic_count} events, its "
                                f"3DGAN file {path!r} {count}; expected the same rows")
        out["HCAL"] = np.empty((num, *HCAL_WINDOW), np.float32)
        out["recoEta"] = np.empty(num, np.float32)
        out["recoPhi"] = np.empty(num, np.float32)
    for index, low, high, offset in segments:
        path = files.threedgan[index]
        with h5py.File(path, "r") as h5:
            crop = _crop_slices(h5["ECAL"].shape[1:], window, path, "ECAL")
            for first in range(low, high, BLOCK_ROWS):
                last = min(first + BLOCK_ROWS, high)
                into = slice(offset + first - low, offset + last - low)
                ecal = np.asarray(h5["ECAL"][(slice(first, last), *crop)], np.float32)
                _check_cells(ecal, path, first)
                out["ECAL"][into] = ecal
                out["sum"][into] = ecal.sum(axis=(1, 2, 3), dtype=np.float64)
                for key in _SCALAR_KEYS[:-1]:
                    out[key][into] = np.reshape(h5[key][first:last], -1)
        if files.clic is not None:
            _read_clic_rows(files.clic[index], low, high, offset, out)
    return out


def _read_clic_rows(path: str, low: int, high: int, offset: int,
                    out: dict[str, np.ndarray]) -> None:
    with hdf5.open_for_reading(path) as h5:
        for key in ("HCAL", "recoEta", "recoPhi"):
            if key not in h5:
                raise DataError(f"{path!r} has no {key!r}; expected a CLIC-layout file")
        crop = _crop_slices(h5["HCAL"].shape[1:], HCAL_WINDOW, path, "HCAL")
        for first in range(low, high, BLOCK_ROWS):
            last = min(first + BLOCK_ROWS, high)
            into = slice(offset + first - low, offset + last - low)
            out["HCAL"][into] = h5["HCAL"][(slice(first, last), *crop)]
            for key in ("recoEta", "recoPhi"):
                out[key][into] = np.reshape(h5[key][first:last], -1)


# --- the streamed training set ----------------------------------------------------------------


def _kept_rows(files: Gan3DFiles, start: int, stop: int, min_ecal_sum: float) -> int:
    kept = 0
    for index, low, high, _ in _segments(files.threedgan, start, stop):
        with h5py.File(files.threedgan[index], "r") as h5:
            for first in range(low, high, 64 * BLOCK_ROWS):
                sums = np.reshape(h5["sum"][first:min(first + 64 * BLOCK_ROWS, high)], -1)
                kept += int(np.count_nonzero(sums > min_ecal_sum))
    return kept


def steps_per_epoch(files: Gan3DFiles, start: int, stop: int, batch_size: int,
                    min_ecal_sum: float) -> int:
    """Batches of one epoch of :func:`training_dataset`: the events of rows ``[start, stop)``
    whose ``sum`` exceeds ``min_ecal_sum``, divided by ``batch_size``, the remainder dropped.

    Reads the ``sum`` arrays only.

    Raises:
        InputError: fewer such events than one batch.
    """
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    kept = _kept_rows(files, start, stop, min_ecal_sum)
    if kept < batch_size:
        raise InputError(
            f"{kept} of the {stop - start} training events (rows [{start}, {stop})) have an "
            f"ECAL sum above {min_ecal_sum:g}, fewer than one batch of {batch_size}; lower "
            "--batch_size or raise --num_train")
    return kept // batch_size


class _ShuffleBuffer:
    """A shuffle buffer of events, filled and emptied a block at a time.

    While it is not full, events enter it; once full, every incoming event takes the place of
    an event drawn uniformly from it, which leaves. At the end of an epoch what is left leaves
    in a random order. The same draws as ``tf.data``'s shuffle, in numpy, so the order depends
    on the generator given to :meth:`start` alone.
    """

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.arrays: dict[str, np.ndarray] | None = None
        self.size = 0
        self.rng = np.random.default_rng(0)

    def start(self, rng: np.random.Generator) -> None:
        self.rng, self.size = rng, 0

    def push(self, events: dict[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
        num = len(events["energy"])
        if self.arrays is None:
            self.arrays = {key: np.empty((self.capacity, *value.shape[1:]), value.dtype)
                           for key, value in events.items()}
        free = min(self.capacity - self.size, num)
        for key, value in events.items():
            self.arrays[key][self.size:self.size + free] = value[:free]
        self.size += free
        emitted = []
        for first in range(free, num, self.capacity):
            last = min(first + self.capacity, num)
            slots = self.rng.choice(self.capacity, last - first, replace=False)
            emitted.append({key: value[slots] for key, value in self.arrays.items()})
            for key, value in events.items():
                self.arrays[key][slots] = value[first:last]
        return emitted

    def drain(self) -> dict[str, np.ndarray] | None:
        if self.arrays is None or not self.size:
            return None
        order = self.rng.permutation(self.size)
        out = {key: value[:self.size][order] for key, value in self.arrays.items()}
        self.size = 0
        return out


def _batches(parts: list[dict[str, np.ndarray]], batch_size: int,
             ) -> tuple[list[dict[str, np.ndarray]], list[dict[str, np.ndarray]]]:
    """The full batches of the concatenated ``parts``, and the rest as the new parts."""
    count = sum(len(part["energy"]) for part in parts)
    if count < batch_size:
        return [], parts
    merged = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    full = count // batch_size * batch_size
    batches = [{key: value[first:first + batch_size] for key, value in merged.items()}
               for first in range(0, full, batch_size)]
    rest = [{key: value[full:] for key, value in merged.items()}] if full < count else []
    return batches, rest


def _training_block(h5: h5py.File, path: str, first: int, last: int,
                    crop: tuple[slice, ...], min_ecal_sum: float) -> dict[str, np.ndarray]:
    """The events of rows ``[first, last)`` with ``sum > min_ecal_sum``, cropped, float32."""
    keep = np.reshape(h5["sum"][first:last], -1) > min_ecal_sum
    ecal = np.asarray(h5["ECAL"][(slice(first, last), *crop)], np.float32)
    _check_cells(ecal, path, first)
    if not keep.all():  # most blocks keep every event: no copy then
        ecal = ecal[keep]
    return {
        "ecal": ecal,
        "energy": np.reshape(h5["energy"][first:last], -1)[keep].astype(np.float32),
        "angle": np.reshape(h5["mtheta"][first:last], -1)[keep].astype(np.float32),
        "ecal_sum": ecal.sum(axis=(1, 2, 3), dtype=np.float64).astype(np.float32),
    }


def _epoch_batches(files: Gan3DFiles, h5s: Sequence[h5py.File], blocks_: Sequence[tuple],
                   crops: Sequence[tuple[slice, ...]], shuffler: _ShuffleBuffer,
                   batch_size: int, min_ecal_sum: float, seed: int, epoch: int,
                   ) -> Iterator[dict[str, np.ndarray]]:
    """The batches of one epoch: blocks in a random order through the shuffle buffer."""
    rng = np.random.default_rng([seed, epoch])
    shuffler.start(rng)
    parts: list[dict[str, np.ndarray]] = []
    for block in rng.permutation(len(blocks_)):
        index, first, last = blocks_[block]
        events = _training_block(h5s[index], files.threedgan[index], first, last, crops[index],
                                 min_ecal_sum)
        for emitted in shuffler.push(events):
            batches, parts = _batches([*parts, emitted], batch_size)
            yield from batches
    rest = shuffler.drain()
    if rest is not None:
        batches, _ = _batches([*parts, rest], batch_size)
        yield from batches  # the last incomplete batch of the epoch is dropped


def step_draws(seed: int, step, *, batch_size: int, noise_dim: int, generator_steps: int,
               label_flip: float) -> dict:
    """The random draws of training step ``step``, from stateless seeds of ``(seed, step)``.

    Args:
        seed: the seed of the run's draws.
        step: the step, counted from 0 at epoch 0 (an int or an int64 tensor).

    Returns:
        float32 tensors: ``noise`` [batch_size, 1 + generator_steps, noise_dim] N(0, 1), and
        ``real_label`` and ``fake_label`` [batch_size], 1 and 0 each flipped with probability
        ``label_flip`` (3DGAN's ``BitFlip``), drawn independently.
    """
    import tensorflow as tf

    seeds = tf.random.experimental.stateless_split(
        tf.stack([tf.constant(int(seed), tf.int64), tf.cast(step, tf.int64)]), 2)
    flip = tf.cast(tf.random.stateless_uniform([2, batch_size], seed=seeds[0]) < label_flip,
                   tf.float32)
    noise = tf.random.stateless_normal([batch_size, 1 + int(generator_steps), int(noise_dim)],
                                       seed=seeds[1])
    return {"noise": noise, "real_label": 1.0 - flip[0], "fake_label": flip[1]}


def training_dataset(
    files: Gan3DFiles,
    start: int,
    stop: int,
    *,
    window: Sequence[int],
    batch_size: int,
    power: float,
    min_ecal_sum: float,
    shuffle_buffer: int,
    seed: int,
    first_epoch: int,
    noise_dim: int,
    generator_steps: int,
    label_flip: float,
    block_size: int = 256,
):
    """Endless shuffled training batches streamed from rows ``[start, stop)`` of ``files``.

    Events with a ``sum`` at or below ``min_ecal_sum`` are dropped (the original's cut, on the
    files' 51 × 51 × 25 sum). An epoch reads the rows in blocks of ``block_size`` in an order
    drawn from ``(seed, epoch)``, passes their events through a shuffle buffer of
    ``shuffle_buffer`` events (its draws from the same generator) and yields
    :func:`steps_per_epoch` full batches; the remainder is dropped and the buffer is emptied
    at the end of each epoch. Memory holds the buffer, one block and a few batches, whatever
    the file sizes. The random draws of step ``s`` (counted from 0 at epoch 0) are
    :func:`step_draws` of ``(seed, s)``, so a run started at ``first_epoch`` (a resumed run)
    sees exactly the batches a run from epoch 0 sees from that epoch on.

    Args:
        files: the files (:func:`dataset_files`).
        start, stop: the training rows of their concatenation.
        window: (X, Y, Z), a central crop of the ECAL window (see :func:`read_events`).
        batch_size: events per batch.
        power: the cell energies are raised to it (paper §4: 0.85).
        min_ecal_sum: the cut on ``sum`` (files' units; the original: 10).
        shuffle_buffer: events held by the shuffle buffer.
        seed: seed of the order and the draws (a non-negative integer).
        first_epoch: the epoch to start at (completed epochs on resume).
        noise_dim: Gaussian numbers per generated shower.
        generator_steps: generator updates per step; each gets its own noise.
        label_flip: probability of flipping each real and each fake label
            (``BitFlip(prob=0.05)``).
        block_size: rows read from HDF5 at a time.

    Returns:
        A ``tf.data.Dataset`` of dicts: ``ecal_power`` [B, X, Y, Z, 1] float32 (cells ^
        power), ``energy`` [B, 1] (GeV), ``angle`` [B, 1] (``mtheta``, rad), ``ecal_sum``
        [B, 1] (sum of the window before the power), ``noise`` [B, 1 + generator_steps,
        noise_dim] N(0, 1) (index 0 for the discriminator's fake batch, then one per
        generator update), ``real_label`` and ``fake_label`` [B] float32 (1 real, 0 fake,
        each flipped with probability ``label_flip``). Static batch shapes.

    Raises:
        InputError: bad arguments, or fewer events after the cut than one batch.
        DataError: the files hold fewer than ``stop`` rows. A negative or non-finite cell
            met while streaming stops the iteration with an error naming the file and row.
    """
    import tensorflow as tf

    window = _check_window(window)
    for name, value, minimum in (("shuffle_buffer", shuffle_buffer, 1),
                                 ("block_size", block_size, 1), ("noise_dim", noise_dim, 1),
                                 ("generator_steps", generator_steps, 0), ("seed", seed, 0),
                                 ("first_epoch", first_epoch, 0)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or \
                value < minimum:
            raise InputError(f"{name} must be an integer of at least {minimum}, got {value!r}")
    if not 0 < power <= 1:
        raise InputError(f"power must be in (0, 1], got {power!r}")
    if not 0 <= label_flip <= 1:
        raise InputError(f"label_flip must be a probability in [0, 1], got {label_flip!r}")
    steps = steps_per_epoch(files, start, stop, batch_size, min_ecal_sum)
    segments = _segments(files.threedgan, start, stop)
    blocks_ = [(index, first, min(first + block_size, high))
               for index, low, high, _ in segments for first in range(low, high, block_size)]
    crops = []
    for path in files.threedgan:
        with h5py.File(path, "r") as h5:
            crops.append(_crop_slices(h5["ECAL"].shape[1:], window, path, "ECAL"))

    def generate():
        h5s = [h5py.File(path, "r") for path in files.threedgan]
        try:
            shuffler = _ShuffleBuffer(int(shuffle_buffer))
            epoch = int(first_epoch)
            while True:
                count = 0
                for batch in _epoch_batches(files, h5s, blocks_, crops, shuffler, batch_size,
                                            min_ecal_sum, int(seed), epoch):
                    count += 1
                    yield batch
                if count != steps:
                    raise RuntimeError(f"epoch {epoch} gave {count} batches, not {steps}; "
                                       "were the files changed while training?")
                epoch += 1
        finally:
            for h5 in h5s:
                h5.close()

    signature = {
        "ecal": tf.TensorSpec((batch_size, *window), tf.float32),
        **{key: tf.TensorSpec((batch_size,), tf.float32)
           for key in ("energy", "angle", "ecal_sum")},
    }
    def finish(step, batch):
        return {
            "ecal_power": tf.pow(batch["ecal"], power)[..., None],
            "energy": batch["energy"][:, None],
            "angle": batch["angle"][:, None],
            "ecal_sum": batch["ecal_sum"][:, None],
            **step_draws(seed, step, batch_size=batch_size, noise_dim=noise_dim,
                         generator_steps=generator_steps, label_flip=label_flip),
        }

    ds = tf.data.Dataset.from_generator(generate, output_signature=signature)
    ds = ds.enumerate(start=int(first_epoch) * steps)
    return ds.map(finish, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(
        tf.data.AUTOTUNE)
