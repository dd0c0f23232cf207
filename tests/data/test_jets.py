"""Jets-layout files: round trip, atomic writing, layout checks, cached generation."""

import os

import h5py
import numpy as np
import pytest

from caloml.data import jets as jets_data
from caloml.errors import DataError, UsageError
from caloml.io import hdf5, schema
from caloml.jets import generation


def _fake_chunk(task):
    """A chunk of synthetic jets in the layout, made without Pythia (fast file tests)."""
    process, seed_seq, size = task[:3]
    rng = np.random.default_rng(seed_seq)
    out = {}
    for field in schema.JETS.fields:
        shape = (size, *field.shape)
        if field.check == schema.INTEGER:
            out[field.key] = rng.integers(0, 200, shape).astype(field.dtype)
        else:
            out[field.key] = rng.exponential(1.0, shape).astype(field.dtype)
    out["is_top"] = np.full(size, process == "top", np.int8)
    out["num_events_generated"] = np.int64(3 * size)
    return out


@pytest.fixture
def fake_generation(monkeypatch):
    monkeypatch.setattr(generation, "_run_chunk", _fake_chunk)
    monkeypatch.setattr(generation, "CHUNK_JETS", 4)


def test_file_round_trip(tmp_path, fake_generation):
    path = tmp_path / "top.h5"
    attrs = generation.generate_to_file(path, "top", 10, seed=5)
    in_memory = generation.generate("top", 10, seed=5)
    assert jets_data.check_file(path) == 10
    stored = hdf5.read_attrs(path)
    assert stored["layout"] == "jets" and stored["process"] == "top"
    assert stored["num_events_generated"] == 30 == attrs["num_events_generated"]
    np.testing.assert_array_equal(stored["factors"], [2, 4, 8])
    for key in ("pixel_size_rad", "image_size", "pt_min_gev", "pt_max_gev", "eta_max",
                "jet_radius", "detector", "caloml_version", "pythia_version", "seed"):
        assert key in stored, key
    for factor in (2, 4, 8):
        data = jets_data.read_jets(path, factor, start=2, stop=7)
        assert data["lr"].shape == (5, 160 // factor, 160 // factor)
        np.testing.assert_array_equal(data["hr"], in_memory["hr"][2:7])
        np.testing.assert_array_equal(data["lr"], in_memory[f"lr{factor}"][2:7])
        np.testing.assert_array_equal(data["jet_lr"], in_memory[f"jet_lr{factor}"][2:7])
        np.testing.assert_array_equal(data["is_top"], np.ones(5, np.int8))
        assert set(data) == {"hr", "lr", "jet", "jet_lr", "is_top", "image_centre"}


def test_a_failed_generation_leaves_no_file(tmp_path, monkeypatch):
    calls = []

    def failing(task):
        calls.append(task)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return _fake_chunk(task)

    monkeypatch.setattr(generation, "_run_chunk", failing)
    monkeypatch.setattr(generation, "CHUNK_JETS", 4)
    path = tmp_path / "qcd.h5"
    with pytest.raises(RuntimeError, match="boom"):
        generation.generate_to_file(path, "qcd", 10)
    assert os.listdir(tmp_path) == []
    # An existing file is left as it was.
    path.write_bytes(b"old")
    calls.clear()
    with pytest.raises(RuntimeError, match="boom"):
        generation.generate_to_file(path, "qcd", 10)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["qcd.h5"]


def test_a_file_of_another_layout_is_named(tmp_path):
    path = tmp_path / "eplus.hdf5"
    arrays = {f.key: np.zeros((3, *f.shape), f.dtype) for f in schema.CALOGAN.fields
              if not f.optional}
    hdf5.write_arrays(path, schema.CALOGAN, arrays)
    with pytest.raises(DataError) as error:
        jets_data.check_file(path)
    message = str(error.value)
    assert "\n" not in message
    assert str(path) in message and "'calogan'-layout file" in message
    assert "a jets file (python -m caloml.jets) holds hr [N, 160, 160]" in message
    # A file without a layout attribute.
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as h5:
        h5["images"] = np.zeros((2, 3))
    with pytest.raises(DataError, match="is not a jets file"):
        jets_data.check_file(other)


def test_a_damaged_jets_file_is_refused(tmp_path, fake_generation):
    path = tmp_path / "top.h5"
    generation.generate_to_file(path, "top", 4)
    with h5py.File(path, "a") as h5:
        h5["hr"][1, 3, 4] = -1.0
    with pytest.raises(DataError, match=r"key 'hr' example 1 holds -1.0"):
        jets_data.check_file(path)


@pytest.mark.parametrize("factor", [1, 3, 16, True])
def test_read_jets_refuses_other_factors(tmp_path, factor):
    with pytest.raises(UsageError, match="factor must be one of"):
        jets_data.read_jets(tmp_path / "x.h5", factor)


def test_dataset_file_generates_once_and_reuses(tmp_path, fake_generation, monkeypatch):
    made = []
    original = generation.generate_to_file

    def counting(*args, **kwargs):
        made.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(generation, "generate_to_file", counting)
    path = jets_data.dataset_file(tmp_path, "qcd", 6, seed=2)
    assert path == os.path.join(tmp_path, "jets", "jets_qcd_6_seed2.h5")
    assert jets_data.check_file(path) == 6 and len(made) == 1
    assert jets_data.dataset_file(tmp_path, "qcd", 6, seed=2) == path and len(made) == 1
    # Another seed is another file; a damaged cache is regenerated.
    jets_data.dataset_file(tmp_path, "qcd", 6, seed=3)
    assert len(made) == 2
    with h5py.File(path, "a") as h5:
        h5.attrs["caloml_version"] = "0.0.0"
    jets_data.dataset_file(tmp_path, "qcd", 6, seed=2)
    assert len(made) == 3 and hdf5.read_attrs(path)["caloml_version"] != "0.0.0"
