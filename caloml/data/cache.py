"""Reuse of simulated files: simulate only what is not already on disk.

Training and report scripts simulate their datasets on first use and cache them in the work
directory. A cached file is reused only if it is a complete, valid file of the requested
geometry, particle, energy, seed, size and caloml version, made with the default options.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import h5py
import numpy as np
from absl import logging

import caloml
from caloml.errors import DataError, MissingFileError
from caloml.io import hdf5
from caloml.sim import core


def _same(stored: Any, wanted: Any) -> bool:
    """Whether a file attribute equals the wanted value (floats and float ranges to rounding)."""
    if isinstance(wanted, tuple):
        return np.shape(stored) == (len(wanted),) and bool(
            np.issubdtype(np.asarray(stored).dtype, np.number) and np.allclose(stored, wanted)
        )
    if np.ndim(stored) != 0:
        return False
    if isinstance(wanted, float):
        return isinstance(stored, (int, float, np.floating, np.integer)) and bool(
            np.isclose(stored, wanted)
        )
    return bool(stored == wanted)


def attribute_mismatch(attrs: dict[str, Any], expected: dict[str, Any]) -> str | None:
    """None if every ``expected`` attribute is in ``attrs`` with its value, else the first
    missing or different one, said as a reason a cached file cannot be reused."""
    for key, value in expected.items():
        if key not in attrs:
            return f"no attribute {key!r}"
        if not _same(attrs[key], value):
            return f"{key}={attrs[key]!r}, wanted {value!r}"
    return None


def why_not_reusable(
    path: str | os.PathLike, geometry: str, expected: dict[str, Any], truth: bool
) -> str | None:
    """Returns None if the file at ``path`` can be reused, else the reason it cannot."""
    spec = core.GEOMETRIES[geometry]
    if not os.path.exists(path):
        return "not there"
    try:
        hdf5.validate_file(path, spec.layout, check_values=False)
        attrs = hdf5.read_attrs(path)
        with h5py.File(path, "r") as h5:
            missing = [k for k in spec.truth_keys if truth and k not in h5]
    except (OSError, ValueError) as e:
        return f"unreadable ({e})"
    if missing:
        return f"no truth arrays {missing}"
    mismatch = attribute_mismatch(attrs, expected)
    if mismatch is not None:
        return mismatch
    options = [k for k in spec.option_keys if k in attrs and k not in expected]
    if options:
        return f"made with other options {options}"
    return None


def cached_simulation(
    path: str | os.PathLike,
    geometry: str,
    particle: str,
    num_showers: int,
    energy_gev: float | tuple[float, float],
    seed: int,
    workers: int = 1,
    truth: bool = False,
    progress: bool = False,
    **options: Any,
) -> bool:
    """Simulates ``path`` with :func:`caloml.sim.simulate_to_file` unless a valid copy exists.

    Args:
        energy_gev: fixed energy or ``(low, high)`` range, as for ``simulate_to_file``.
        **options: geometry options (``GeometrySpec.option_keys``; None values are left out). A
            cached file is reused only if it was made with exactly these options.

    Returns:
        True if an existing file was reused.
    """
    if np.ndim(energy_gev) == 0:
        energy_gev = float(energy_gev)
        energy_text = f"{energy_gev:g} GeV"
    else:
        energy_gev = tuple(float(e) for e in energy_gev)
        energy_text = f"{energy_gev[0]:g}-{energy_gev[1]:g} GeV"
    expected = {"geometry": geometry, "particle": particle, "energy_gev": energy_gev,
                "seed": seed, "num_showers": num_showers,
                "caloml_version": caloml.__version__}
    options = {key: value for key, value in options.items() if value is not None}
    expected.update(options)
    why = why_not_reusable(path, geometry, expected, truth)
    if why is None:
        logging.info("reusing %s", path)
        return True
    logging.info("simulating %d %s showers at %s into %s (cache: %s)", num_showers,
                 particle, energy_text, path, why)
    core.simulate_to_file(path, geometry, particle, num_showers, energy_gev, seed=seed,
                          workers=workers, truth=truth, progress=progress, **options)
    return False


def user_process_file(path: str, needed: int, flag: str, process: str,
                      check_file: Callable[[str], int], unit: str, remedy: str) -> str:
    """Validates a file a user names with ``flag`` (``--data``, ``--other_data``).

    Args:
        path: the file.
        needed: the rows the run reads.
        flag: the flag that named it, for the messages.
        process: the process its ``process`` attribute must name (if it has one).
        check_file: the layout's check, ``path -> rows`` (raises DataError).
        unit: what a row is (``"jets"``, ``"events"``).
        remedy: the flags that lower ``needed``, for the message.

    Returns:
        ``path``.

    Raises:
        MissingFileError, DataError: one line naming the flag, the file and what is wrong.
    """
    if not os.path.exists(path):
        raise MissingFileError(f"{flag}={path}: no such file")
    rows = check_file(path)
    if rows < needed:
        raise DataError(f"{flag}={path} holds {rows} {unit}, fewer than the {needed} needed "
                        f"(lower {remedy})")
    stored = hdf5.read_attrs(path).get("process")
    if stored is not None and stored != process:
        raise DataError(f"{flag}={path} holds {stored!r} {unit}, expected {process!r} {unit}")
    return path
