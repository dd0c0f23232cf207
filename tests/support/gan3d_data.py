"""Small synthetic 3DGAN-layout files for the 3DGAN data and training tests.

Every event is told apart by its energy (``100 + row``) and holds two cells: ``inside`` at the
window centre (x = y = 25, layer row % 25), in the central 25 x 25 x 25 crop, and ``outside``
at (x, y, layer) = (2, 40, 3), outside that crop. So the sum of the 51 x 51 x 25 window is
``inside + outside`` and the sum of the crop is ``inside``, both known by hand.
"""

from __future__ import annotations

import h5py
import numpy as np

from caloml.io import hdf5, schema

OUTSIDE_CELL = (2, 40, 3)
CENTRE = 25


def events(num: int, first_row: int = 0, seed: int = 0,
           sums: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """``num`` events of the 3DGAN layout (float32), rows ``first_row ...``.

    Args:
        sums: the window sums ``[num]``; default: uniform 20-200 (all above the cut of 10).
            The inside cell holds 3/4 of the sum, the outside cell 1/4.
    """
    rng = np.random.default_rng(seed)
    rows = np.arange(first_row, first_row + num)
    total = rng.uniform(20.0, 200.0, num) if sums is None else np.asarray(sums, np.float64)
    inside = (0.75 * total).astype(np.float32)
    outside = (total.astype(np.float32) - inside).astype(np.float32)
    ecal = np.zeros((num, 51, 51, 25), np.float32)
    ecal[np.arange(num), CENTRE, CENTRE, rows % 25] = inside
    ecal[(np.arange(num), *OUTSIDE_CELL)] = outside
    theta = rng.uniform(1.047, 2.094, num)
    return {
        "ECAL": ecal,
        "energy": (100.0 + rows).astype(np.float32),
        "theta": theta.astype(np.float32),
        "mtheta": (theta + rng.normal(0, 0.01, num)).astype(np.float32),
        "eta": (-np.log(np.tan(theta / 2))).astype(np.float32),
        "sum": ecal.sum(axis=(1, 2, 3), dtype=np.float64).astype(np.float32),
    }


def write(path, arrays: dict[str, np.ndarray], compression: str | None = "gzip") -> None:
    """Writes ``arrays`` as a caloml 3DGAN-layout file (gzip: a few kB for sparse events;
    None: 260 kB an event, but read several times faster when streamed over many epochs)."""
    hdf5.write_arrays(path, schema.THREEDGAN, arrays, compression=compression)


def write_plain(path, arrays: dict[str, np.ndarray], dtype=None) -> None:
    """Writes ``arrays`` with plain h5py as GetProcessedData.py would: no caloml attributes,
    any keys, optionally every float array cast to ``dtype`` (e.g. float64)."""
    with h5py.File(path, "w") as h5:
        for key, value in arrays.items():
            if dtype is not None and value.dtype.kind == "f":
                value = value.astype(dtype)
            if value.ndim > 1:
                h5.create_dataset(key, data=value, compression="gzip",
                                  chunks=(1, *value.shape[1:]))
            else:
                h5.create_dataset(key, data=value)
