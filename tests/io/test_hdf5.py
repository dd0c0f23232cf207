"""Tests of caloml.io.hdf5: atomic writing and validating reading."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

from caloml import errors, outputs
from caloml.io import hdf5, schema

LAYOUT = schema.SRGAMMA
N = 5


def make_arrays(n: int = N, seed: int = 0) -> dict[str, np.ndarray]:
    """Small hand-made srgamma arrays: sparse HR images and their exact 4x4 LR sums."""
    rng = np.random.default_rng(seed)
    hr = np.zeros((n, 96, 96), dtype=np.float32)
    for i in range(n):
        hr[i, 40 + i : 48 + i, 44:52] = rng.uniform(0.0, 2.0, size=(8, 8))
    lr = hr.reshape(n, 24, 4, 24, 4).sum(axis=(2, 4))
    return {
        "hr": hr,
        "lr": lr.astype(np.float32),
        "energy": np.full(n, 20.0, dtype=np.float32),
        "pdg": np.where(np.arange(n) % 2 == 0, 22, 111).astype(np.int32),
        "opening_angle_rad": np.linspace(0.0, 0.01, n).astype(np.float32),
        "impact_xy_mm": rng.uniform(-5.0, 5.0, size=(n, 2)).astype(np.float32),
    }


def write_raw(path, arrays: dict[str, np.ndarray]) -> None:
    """Writes datasets with plain h5py, bypassing the layout checks of H5Writer."""
    with h5py.File(path, "w") as h5:
        for key, value in arrays.items():
            h5.create_dataset(key, data=value)


def assert_names(message: str, path, key: str | None = None) -> None:
    assert str(path) in message
    if key is not None:
        assert repr(key) in message


def test_round_trip_values_and_attrs(tmp_path):
    path = tmp_path / "photon.h5"
    arrays = make_arrays()
    arrays["leakage_gev"] = np.arange(N, dtype=np.float32)
    attrs = {"geometry": "srgamma", "particle": "photon", "seed": 7, "energy_gev": 20.0}
    hdf5.write_arrays(path, LAYOUT, arrays, attrs=attrs)

    assert hdf5.validate_file(path, LAYOUT) == N
    out = hdf5.read_arrays(path, LAYOUT, keys=LAYOUT.keys(include_optional=False))
    assert sorted(out) == sorted(LAYOUT.keys(include_optional=False))
    for key, value in out.items():
        assert value.dtype == np.dtype(LAYOUT.field(key).dtype)
        np.testing.assert_array_equal(value, arrays[key])
    leakage = hdf5.read_arrays(path, LAYOUT, keys=["leakage_gev"], start=1, stop=4)
    np.testing.assert_array_equal(leakage["leakage_gev"], [1.0, 2.0, 3.0])

    read = hdf5.read_attrs(path)
    assert read["layout"] == "srgamma"
    assert read["geometry"] == "srgamma"
    assert read["particle"] == "photon"
    assert read["seed"] == 7
    assert read["energy_gev"] == 20.0
    with h5py.File(path, "r") as h5:
        assert h5["hr"].attrs["unit"] == "GeV"
    assert os.listdir(tmp_path) == ["photon.h5"]


def test_streaming_writer_in_chunks(tmp_path):
    path = tmp_path / "streamed.h5"
    arrays = make_arrays(n=7)
    with hdf5.H5Writer(path, LAYOUT, num_examples=7, chunk_examples=3) as writer:
        for start in range(0, 7, 3):
            writer.write(start, {k: v[start : start + 3] for k, v in arrays.items()})
        writer.set_attrs(seed=3)
    out = hdf5.read_arrays(path, LAYOUT)
    np.testing.assert_array_equal(out["hr"], arrays["hr"])
    np.testing.assert_array_equal(out["pdg"], arrays["pdg"])
    assert hdf5.read_attrs(path)["seed"] == 3


def test_empty_file_round_trip(tmp_path):
    path = tmp_path / "empty.h5"
    with hdf5.H5Writer(path, LAYOUT, num_examples=0):
        pass
    assert hdf5.validate_file(path, LAYOUT) == 0
    assert hdf5.read_arrays(path, LAYOUT)["hr"].shape == (0, 96, 96)


def _missing_key(arrays):
    del arrays["lr"]
    return "lr", "missing key"


def _wrong_shape(arrays):
    arrays["hr"] = arrays["hr"][:, :95]
    return "hr", "[N, 96, 96]"


def _int_hr(arrays):
    arrays["hr"] = arrays["hr"].astype(np.int32)
    return "hr", "expected float32"


def _string_hr(arrays):
    arrays["hr"] = np.full((N, 96, 96), b"x", dtype="S1")
    return "hr", "expected float32"


def _float_pdg(arrays):
    arrays["pdg"] = arrays["pdg"].astype(np.float32)
    return "pdg", "expected int32"


def _nan_hr(arrays):
    arrays["hr"][3, 50, 50] = np.nan
    return "hr", "example 3"


def _inf_impact(arrays):
    arrays["impact_xy_mm"][1, 0] = np.inf
    return "impact_xy_mm", "finite"


def _negative_energy(arrays):
    arrays["lr"][2, 11, 12] = -0.5
    return "lr", "non-negative"


def _mismatched_counts(arrays):
    arrays["energy"] = np.full(N + 1, 20.0, dtype=np.float32)
    return "energy", f"has {N + 1} examples"


@pytest.mark.parametrize(
    "corrupt",
    [
        _missing_key,
        _wrong_shape,
        _int_hr,
        _string_hr,
        _float_pdg,
        _nan_hr,
        _inf_impact,
        _negative_energy,
        _mismatched_counts,
    ],
)
def test_validate_file_errors_name_file_key_and_expectation(tmp_path, corrupt):
    path = tmp_path / "bad.h5"
    arrays = make_arrays()
    key, expected = corrupt(arrays)
    write_raw(path, arrays)
    with pytest.raises(errors.DataError) as info:
        hdf5.validate_file(path, LAYOUT)
    message = str(info.value)
    assert_names(message, path, key)
    assert expected in message
    # read_arrays validates first, so the same error reaches every reader.
    with pytest.raises(errors.DataError):
        hdf5.read_arrays(path, LAYOUT)


def test_validate_file_checks_only_requested_keys(tmp_path):
    path = tmp_path / "partial.h5"
    arrays = make_arrays()
    arrays["hr"][0, 0, 0] = np.nan
    write_raw(path, arrays)
    assert hdf5.validate_file(path, LAYOUT, keys=["lr", "pdg"]) == N
    assert hdf5.validate_file(path, LAYOUT, check_values=False) == N


def test_not_an_hdf5_file(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("this is not HDF5\n")
    with pytest.raises(errors.DataError, match="not a readable HDF5 file") as info:
        hdf5.validate_file(path, LAYOUT)
    assert_names(str(info.value), path)


def test_missing_file(tmp_path):
    path = tmp_path / "absent.h5"
    with pytest.raises(errors.MissingFileError) as info:
        hdf5.validate_file(path, LAYOUT)
    assert_names(str(info.value), path)


def test_scalar_stored_as_column_is_read_as_scalar(tmp_path):
    path = tmp_path / "public.h5"
    arrays = make_arrays()
    arrays["energy"] = arrays["energy"][:, None].astype(np.float64)
    arrays["pdg"] = arrays["pdg"][:, None].astype(np.int64)
    write_raw(path, arrays)
    assert hdf5.validate_file(path, LAYOUT) == N
    out = hdf5.read_arrays(path, LAYOUT)
    assert out["energy"].shape == (N,) and out["energy"].dtype == np.float32
    assert out["pdg"].shape == (N,) and out["pdg"].dtype == np.int32
    np.testing.assert_array_equal(out["pdg"], make_arrays()["pdg"])


def test_exception_inside_writer_keeps_existing_file(tmp_path):
    path = tmp_path / "data.h5"
    hdf5.write_arrays(path, LAYOUT, make_arrays(seed=1))
    before = path.read_bytes()
    arrays = make_arrays(seed=2)
    with pytest.raises(RuntimeError, match="simulated crash"):
        with hdf5.H5Writer(path, LAYOUT, num_examples=N) as writer:
            writer.write(0, {k: v[:2] for k, v in arrays.items()})
            raise RuntimeError("simulated crash")
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["data.h5"]


def test_too_few_examples_raises_and_leaves_no_file(tmp_path):
    path = tmp_path / "short.h5"
    arrays = make_arrays()
    with pytest.raises(RuntimeError, match=f"2 of {N} examples"):
        with hdf5.H5Writer(path, LAYOUT, num_examples=N) as writer:
            writer.write(0, {k: v[:2] for k, v in arrays.items()})
    assert os.listdir(tmp_path) == []


def test_failure_while_opening_leaves_no_temp_file(tmp_path):
    path = tmp_path / "attrs.h5"
    with pytest.raises(TypeError):
        with hdf5.H5Writer(path, LAYOUT, num_examples=N, attrs={"unstorable": None}):
            pass
    assert os.listdir(tmp_path) == []


def test_wrong_array_shape_on_write(tmp_path):
    path = tmp_path / "shape.h5"
    arrays = make_arrays()
    arrays["lr"] = arrays["lr"][:, :, :23]
    with pytest.raises(ValueError, match="'lr'") as info:
        hdf5.write_arrays(path, LAYOUT, arrays)
    assert_names(str(info.value), path)
    assert os.listdir(tmp_path) == []


def test_missing_directory_raises_oserror_naming_path(tmp_path):
    path = tmp_path / "no_such_dir" / "out.h5"
    with pytest.raises(errors.OutputError, match="does not exist") as info:
        hdf5.write_arrays(path, LAYOUT, make_arrays())
    assert_names(str(info.value), path)


def test_directory_as_output_path(tmp_path):
    with pytest.raises(errors.OutputError, match="is a directory") as info:
        hdf5.write_arrays(tmp_path, LAYOUT, make_arrays())
    assert_names(str(info.value), tmp_path)


def test_unwritable_directory_raises_oserror_naming_path(tmp_path, monkeypatch):
    # Permissions are simulated: chmod does not stop root, who may run the tests.
    monkeypatch.setattr(outputs.os, "access", lambda path, mode: False)
    path = tmp_path / "out.h5"
    with pytest.raises(errors.OutputError, match="not writable") as info:
        hdf5.write_arrays(path, LAYOUT, make_arrays())
    assert_names(str(info.value), path)
    assert os.listdir(tmp_path) == []
