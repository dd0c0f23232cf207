"""The bottom floor: HDF5 layouts of the datasets and their validated, atomic readers/writers.

* :mod:`caloml.io.schema` — the layout (keys, shapes, dtypes, units) of each geometry's file.
* :mod:`caloml.io.hdf5` — atomic streaming writer, validation, reading in the layout's shapes.

Errors name the file, the key and what was expected (:class:`caloml.errors.DataError`).
"""

from caloml.io.hdf5 import H5Writer, read_arrays, read_attrs, validate_file, write_arrays
from caloml.io.schema import LAYOUTS, Field, Layout, get_layout

__all__ = [
    "Field",
    "H5Writer",
    "LAYOUTS",
    "Layout",
    "get_layout",
    "read_arrays",
    "read_attrs",
    "validate_file",
    "write_arrays",
]
