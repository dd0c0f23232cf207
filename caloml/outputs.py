"""Atomic writing of work-directory outputs (``config.json``, ``metrics.json``, plots).

Every output is written under a temporary name beside its target and renamed with
``os.replace``, so an interrupted run never leaves a truncated file that looks complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Iterator
from typing import Any

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yields a temporary file name beside ``path``; renames it to ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left as it was.
    """
    path = os.fspath(path)
    directory, name = os.path.split(path)
    stem, dot, suffixes = name.partition(".")
    # Keep every suffix: writers pick the format from it (matplotlib ".pdf", Keras insists on
    # ".weights.h5" and ".keras").
    tmp_path = os.path.join(directory, f"{stem}.tmp-{os.getpid()}{dot}{suffixes}")
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)


def json_default(value: Any) -> Any:
    """``json.dump``'s ``default``: numpy scalars and arrays, dataclasses and paths."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON: {value!r}")


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Writes ``obj`` as indented JSON to ``path`` atomically; numpy values become numbers."""
    with atomic_path(path) as tmp_path, open(tmp_path, "w") as f:
        json.dump(obj, f, indent=2, default=json_default, allow_nan=True)
        f.write("\n")
