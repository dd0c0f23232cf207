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
from caloml.data.threedgan import measured_theta, read_3dgan

__all__ = [
    "DataError",
    "Field",
    "H5Writer",
    "LAYOUTS",
    "Layout",
    "get_layout",
    "measured_theta",
    "read_3dgan",
    "read_arrays",
    "read_attrs",
    "validate_file",
    "write_arrays",
]
