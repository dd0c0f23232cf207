"""Atomic HDF5 writing and validating reading of caloml dataset files.

Writers stream examples into a temporary file beside the target and rename it on success,
so an interrupted run never leaves a file that looks complete. Readers check keys, shapes,
dtypes and values against a :class:`~caloml.io.schema.Layout` and fail with a
:class:`~caloml.errors.DataError` that names the file, the key and what was expected.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import h5py
import numpy as np

from caloml import outputs
from caloml.errors import DataError, MissingFileError
from caloml.io import schema as schema_lib


class H5Writer:
    """Streams a dataset of known size into ``path`` atomically.

    Usage::

        with H5Writer("out.h5", layout, num_examples=n, attrs={...}) as w:
            w.write(0, {"hr": hr_chunk, ...})

    Every non-optional field of the layout must be written; optional fields are written if
    listed in ``extra_keys``. On an exception the temporary file is removed and ``path`` is
    left as it was.

    Args:
        path: final file name.
        layout: the file's layout.
        num_examples: number of examples (first dimension of every dataset).
        attrs: file attributes (geometry, particle, seed, caloml version, ...).
        extra_keys: optional fields of the layout to create as well.
        compression: ``"gzip"`` (portable, default), ``"lzf"`` (fast, h5py only) or ``None``.
        chunk_examples: examples per HDF5 chunk.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        layout: schema_lib.Layout,
        num_examples: int,
        attrs: Mapping[str, Any] | None = None,
        extra_keys: Sequence[str] = (),
        compression: str | None = "gzip",
        chunk_examples: int = 64,
    ):
        self.path = os.fspath(path)
        self.layout = layout
        self.num_examples = int(num_examples)
        self.attrs = dict(attrs or {})
        self.fields = [f for f in layout.fields if not f.optional or f.key in extra_keys]
        unknown = set(extra_keys) - {f.key for f in layout.fields}
        if unknown:
            raise ValueError(f"keys {sorted(unknown)} are not in layout {layout.name!r}")
        self.compression = compression
        self.chunk_examples = max(1, min(chunk_examples, self.num_examples))
        self._tmp_path = outputs.temporary_name(self.path, f"-{uuid.uuid4().hex[:8]}")
        self._file: h5py.File | None = None
        self._written = 0

    def __enter__(self) -> H5Writer:
        outputs.check_writable(self.path)
        # The leftovers of an earlier, killed writer of the same file (only those: the
        # directory may be the user's).
        outputs.remove_stale_temporaries(os.path.dirname(os.path.abspath(self.path)),
                                         recursive=False,
                                         stem=os.path.basename(self.path).partition(".")[0])
        self._file = h5py.File(self._tmp_path, "w")
        try:
            self._create_datasets()
        except BaseException:
            # __exit__ is not called when __enter__ raises: clean up the temporary file here.
            self._file.close()
            self._file = None
            os.remove(self._tmp_path)
            raise
        return self

    def _create_datasets(self) -> None:
        assert self._file is not None
        # HDF5 chunks may not exceed the dataset shape, so an empty file is written contiguous.
        chunked = self.num_examples > 0
        for f in self.fields:
            opts = {}
            if self.compression and f.shape and chunked:
                opts = {"compression": self.compression, "shuffle": True}
                if self.compression == "gzip":
                    opts["compression_opts"] = 1
            ds = self._file.create_dataset(
                f.key,
                shape=(self.num_examples, *f.shape),
                dtype=f.dtype,
                chunks=(self.chunk_examples, *f.shape) if f.shape and chunked else None,
                **opts,
            )
            ds.attrs["unit"] = f.unit
            ds.attrs["description"] = f.description
        self._file.attrs["layout"] = self.layout.name
        for key, value in self.attrs.items():
            self._file.attrs[key] = value

    def write(self, start: int, arrays: Mapping[str, np.ndarray]) -> None:
        """Writes examples ``[start, start + len)`` of every field; blocks come in order."""
        assert self._file is not None, "use H5Writer as a context manager"
        if start != self._written:
            raise ValueError(
                f"writing {self.path!r}: blocks must be written in order; next example is "
                f"{self._written}, got start={start}"
            )
        sizes = set()
        for f in self.fields:
            if f.key not in arrays:
                raise KeyError(f"writing {self.path!r}: missing array {f.key!r}")
            value = np.asarray(arrays[f.key])
            if value.shape[1:] != f.shape:
                raise ValueError(
                    f"writing {self.path!r}: key {f.key!r} has per-example shape "
                    f"{value.shape[1:]}, expected {f.shape}"
                )
            sizes.add(len(value))
            self._file[f.key][start : start + len(value)] = value
        if len(sizes) != 1:
            raise ValueError(f"writing {self.path!r}: arrays have different lengths {sizes}")
        self._written += sizes.pop()

    def set_attrs(self, **attrs: Any) -> None:
        assert self._file is not None
        for key, value in attrs.items():
            self._file.attrs[key] = value

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self._file is not None
        self._file.close()
        self._file = None
        if exc_type is None and self._written != self.num_examples:
            os.remove(self._tmp_path)
            raise RuntimeError(
                f"writing {self.path!r}: {self._written} of {self.num_examples} examples written"
            )
        if exc_type is not None:
            if os.path.exists(self._tmp_path):
                os.remove(self._tmp_path)
            return
        os.replace(self._tmp_path, self.path)


def write_arrays(
    path: str | os.PathLike,
    layout: schema_lib.Layout,
    arrays: Mapping[str, np.ndarray],
    attrs: Mapping[str, Any] | None = None,
    compression: str | None = "gzip",
) -> None:
    """Writes complete in-memory arrays to ``path`` atomically (see :class:`H5Writer`)."""
    extra = [k for k in arrays if k in layout.keys() and layout.field(k).optional]
    if not arrays:
        raise ValueError(f"writing {os.fspath(path)!r}: no arrays given")
    n = len(next(iter(arrays.values())))
    with H5Writer(path, layout, n, attrs, extra_keys=extra, compression=compression) as w:
        w.write(0, arrays)


_KINDS = {"float32": "f", "float64": "f", "int8": "iu", "int32": "iu", "int64": "iu"}


def _scalar(shape: tuple[int, ...]) -> bool:
    # Files store a scalar per example either as [N] or as a column [N, 1]; both are accepted
    # for a layout field of either shape.
    return shape in ((), (1,))


def to_layout_shape(value: np.ndarray, field: schema_lib.Field) -> np.ndarray:
    """Examples ``[n, ...]`` read from a file, in ``field``'s per-example shape and dtype.

    A per-example scalar stored as ``[n]`` or ``[n, 1]`` comes back as the layout declares it
    (``[n]`` for shape ``()``, ``[n, 1]`` for ``(1,)``).
    """
    value = np.asarray(value)
    if value.shape[1:] != field.shape and _scalar(value.shape[1:]) and _scalar(field.shape):
        value = value.reshape(len(value), *field.shape)
    return value.astype(field.dtype, copy=False)


def open_for_reading(path: str | os.PathLike) -> h5py.File:
    """``path`` opened read-only as HDF5.

    Raises:
        MissingFileError: if ``path`` does not exist.
        DataError: if it is not a readable HDF5 file (the file and h5py's reason named).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise MissingFileError(f"data file {path!r} does not exist")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise DataError(f"{path!r} is not a readable HDF5 file ({e})") from None


def validate_file(
    path: str | os.PathLike,
    layout: schema_lib.Layout,
    check_values: bool = True,
    keys: Sequence[str] | None = None,
    block_size: int = 4096,
) -> int:
    """Checks ``path`` against ``layout`` and returns the number of examples.

    Checks every required key (or only ``keys``) for presence, shape, dtype kind and, if
    ``check_values``, that energies are finite and non-negative, streaming in blocks so
    large files are never loaded whole.

    Raises:
        DataError: naming the file, the key and what was expected.
        MissingFileError: if ``path`` does not exist.
    """
    path = os.fspath(path)
    with open_for_reading(path) as h5:
        wanted = [layout.field(k) for k in keys] if keys else [
            f for f in layout.fields if not f.optional or f.key in h5
        ]
        num = None
        for f in wanted:
            if f.key not in h5:
                raise DataError(
                    f"{path!r}: missing key {f.key!r} (layout {layout.name!r} expects "
                    f"{[g.key for g in layout.fields if not g.optional]}; file has {sorted(h5)})"
                )
            ds = h5[f.key]
            if not isinstance(ds, h5py.Dataset):
                raise DataError(f"{path!r}: key {f.key!r} is a group, expected a dataset")
            per_example = ds.shape[1:]
            if per_example != f.shape and not (_scalar(per_example) and _scalar(f.shape)):
                raise DataError(
                    f"{path!r}: key {f.key!r} has shape {ds.shape}, expected "
                    f"[N, {', '.join(map(str, f.shape))}]".replace(", ]", "]")
                )
            if ds.dtype.kind not in _KINDS[f.dtype]:
                raise DataError(
                    f"{path!r}: key {f.key!r} has dtype {ds.dtype}, expected {f.dtype}"
                )
            if num is None:
                num = ds.shape[0]
            elif ds.shape[0] != num:
                raise DataError(
                    f"{path!r}: key {f.key!r} has {ds.shape[0]} examples, other keys have {num}"
                )
            if check_values and f.check in (schema_lib.ENERGY, schema_lib.FINITE):
                for start in range(0, ds.shape[0], block_size):
                    block = ds[start : start + block_size]
                    bad = ~np.isfinite(block)
                    if f.check == schema_lib.ENERGY:
                        bad |= block < 0
                    if bad.any():
                        index = start + int(np.argwhere(bad)[0][0])
                        what = "finite, non-negative" if f.check == schema_lib.ENERGY else "finite"
                        raise DataError(
                            f"{path!r}: key {f.key!r} example {index} holds "
                            f"{block[bad].ravel()[0].item()!r}; expected {what} values in {f.unit}"
                        )
        return int(num or 0)


def read_arrays(
    path: str | os.PathLike,
    layout: schema_lib.Layout,
    keys: Sequence[str] | None = None,
    start: int = 0,
    stop: int | None = None,
    validate: bool = True,
) -> dict[str, np.ndarray]:
    """Reads examples ``[start, stop)`` of ``keys`` (default: required keys) into memory.

    Arrays come back in the layout's per-example shape and dtype: a per-example scalar stored
    as ``[N]`` or ``[N, 1]`` (as in public files) has the shape the layout declares (see
    :func:`to_layout_shape`). The file is validated first unless ``validate=False``.
    """
    keys = list(keys) if keys else layout.keys(include_optional=False)
    if validate:
        validate_file(path, layout, keys=keys)
    out = {}
    with h5py.File(path, "r") as h5:
        for key in keys:
            out[key] = to_layout_shape(h5[key][start:stop], layout.field(key))
    return out


def read_attrs(path: str | os.PathLike) -> dict[str, Any]:
    """Returns the file attributes of ``path`` as plain Python values."""
    with h5py.File(path, "r") as h5:
        return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in h5.attrs.items()}
