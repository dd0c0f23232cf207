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
output file holds the events of one input file. Pure numpy and h5py, no TensorFlow.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from caloml import outputs
from caloml.data import blocks
from caloml.errors import InputError
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
