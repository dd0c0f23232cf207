"""Atomic writing of outputs, and strict JSON with a note for infinite and NaN values.

Every output (``config.json``, ``metrics.json``, plots, weights, exports) is written under a
temporary name beside its target and renamed with ``os.replace``, so an interrupted run never
leaves a truncated file under a final name.

JSON has no infinity or NaN. caloml's JSON files stay strict JSON: such a value is written as
``null`` and listed in the top-level object under ``"non_finite"`` by its JSON Pointer
(RFC 6901), e.g. ``{"rejection": {"0.95": null}, "non_finite": {"/rejection/0.95": "inf"}}``
(a pion rejection is infinite when no π⁰ passes). :func:`read_json` restores the values.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import re
import shutil
from collections.abc import Iterator
from typing import Any

import numpy as np
from absl import logging

from caloml.errors import OutputError

# Top-level key listing the values written as null because they are infinite or NaN.
NON_FINITE_KEY = "non_finite"
# Every temporary name caloml writes contains this marker followed by the writer's process id
# (see temporary_name), so that the leftovers of a killed process can be told apart.
TMP_MARKER = ".tmp-"
_TEMPORARY = re.compile(re.escape(TMP_MARKER) + r"(\d+)")


def temporary_name(path: str | os.PathLike, tag: str = "") -> str:
    """A temporary file name beside ``path`` that keeps all of its suffixes.

    Writers pick the format from the suffix (matplotlib ``.pdf``, Keras insists on
    ``.weights.h5`` and ``.keras``), so ``plots/a.png`` becomes ``plots/a.tmp-<pid><tag>.png``.
    """
    directory, name = os.path.split(os.fspath(path))
    stem, dot, suffixes = name.partition(".")
    return os.path.join(directory, f"{stem}{TMP_MARKER}{os.getpid()}{tag}{dot}{suffixes}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yields a temporary file name beside ``path``; renames it to ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left as it was.
    """
    path = os.fspath(path)
    tmp_path = temporary_name(path)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[str]:
    """Like :func:`atomic_path` for a directory: yields a temporary directory beside ``path``.

    On success it replaces ``path`` (an existing directory is renamed aside first, since
    ``os.replace`` cannot replace a non-empty directory, and deleted afterwards; it comes back
    if the second rename fails). On an exception the temporary directory is removed.
    """
    path = os.fspath(path)
    tmp_path = temporary_name(path)
    os.makedirs(tmp_path)
    try:
        yield tmp_path
        if not os.path.exists(path):
            os.replace(tmp_path, path)
        else:
            old = temporary_name(path, "-old")
            os.replace(path, old)
            try:
                os.replace(tmp_path, path)
            except BaseException:
                os.replace(old, path)
                raise
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if os.path.exists(tmp_path):
            shutil.rmtree(tmp_path)


def _running(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True  # no /proc (macOS): the process exists


def remove_stale_temporaries(directory: str | os.PathLike, recursive: bool = True,
                             stem: str | None = None) -> list[str]:
    """Removes the temporary files and directories of caloml processes that no longer run.

    A killed run leaves its temporaries (:func:`temporary_name`) behind; the process id in
    their names tells whether their writer is gone. Runs call this on start for their work
    directory; a writer of a single file in a user's directory passes ``recursive=False`` and
    the target's ``stem``, so that only its own leftovers are touched.

    Returns:
        The paths removed.
    """
    removed = []
    for root, dirs, files in os.walk(os.fspath(directory)):
        for name in [*dirs, *files]:
            match = _TEMPORARY.search(name)
            if not match or (stem is not None and not name.startswith(stem + TMP_MARKER)):
                continue
            pid = int(match.group(1))
            if pid == os.getpid() or _running(pid):
                continue
            path = os.path.join(root, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
                dirs.remove(name)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
            removed.append(path)
        if not recursive:
            break
    if removed:
        logging.info("removed %d temporary files of killed runs: %s", len(removed),
                     ", ".join(sorted(removed)))
    return removed


def check_writable(path: str | os.PathLike) -> None:
    """Raises :class:`~caloml.errors.OutputError` if the file ``path`` cannot be created."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.isdir(path):
        raise OutputError(f"output path {path!r} is a directory; expected a file name")
    if not os.path.isdir(directory):
        raise OutputError(f"cannot write {path!r}: directory {directory!r} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {path!r}: directory {directory!r} is not writable")


def _pointer_token(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _plain(value: Any, pointer: str, non_finite: dict[str, str]) -> Any:
    """``value`` as plain JSON types; non-finite floats become None and are noted by pointer."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    elif isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, dict):
        return {str(k): _plain(v, f"{pointer}/{_pointer_token(str(k))}", non_finite)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{pointer}/{i}", non_finite) for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        non_finite[pointer] = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return None
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise TypeError(f"cannot write {type(value).__name__} to JSON: {value!r}")


def to_json(obj: Any) -> Any:
    """``obj`` in plain JSON types, with infinite and NaN values replaced as the module says.

    numpy scalars and arrays, dataclasses and paths are converted. A document holding
    non-finite values must be a dict (the note goes into it).

    Raises:
        TypeError: for a value JSON cannot hold.
        ValueError: for non-finite values in a document that is not a dict.
    """
    non_finite: dict[str, str] = {}
    plain = _plain(obj, "", non_finite)
    if non_finite:
        if not isinstance(plain, dict):
            raise ValueError(f"a JSON document with non-finite values {sorted(non_finite)} must "
                             "be an object, so that they can be noted in it")
        plain[NON_FINITE_KEY] = non_finite
    return plain


def from_json(obj: Any) -> Any:
    """Inverse of :func:`to_json`: puts the noted infinite and NaN values back."""
    if not isinstance(obj, dict) or NON_FINITE_KEY not in obj:
        return obj
    obj = dict(obj)
    for pointer, text in obj.pop(NON_FINITE_KEY).items():
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
        parent = obj
        for token in tokens[:-1]:
            parent = parent[int(token) if isinstance(parent, list) else token]
        last = tokens[-1]
        parent[int(last) if isinstance(parent, list) else last] = float(text)
    return obj


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Writes ``obj`` as indented, strict JSON (:func:`to_json`) to ``path`` atomically."""
    document = to_json(obj)
    with atomic_path(path) as tmp_path, open(tmp_path, "w") as f:
        json.dump(document, f, indent=2, allow_nan=False)
        f.write("\n")


def read_json(path: str | os.PathLike) -> Any:
    """Reads a JSON file written by :func:`write_json`, restoring infinite and NaN values."""
    with open(path) as f:
        return from_json(json.load(f))
