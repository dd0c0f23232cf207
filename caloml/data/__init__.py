"""Dataset layouts, HDF5 readers/writers, preprocessing and tf.data pipelines.

Importing :mod:`caloml.data` does not import TensorFlow; :mod:`caloml.data.pipeline` does.
"""

from caloml.data.hdf5 import (
    DataError,
    H5Writer,
    read_arrays,
    read_attrs,
    validate_file,
    write_arrays,
)
from caloml.data.schema import LAYOUTS, Field, Layout, get_layout

__all__ = [
    "DataError",
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
