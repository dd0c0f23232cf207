"""Events-layout files: round trip, atomic writing, layout checks, cached generation."""

import os

import h5py
import numpy as np
import pytest

from caloml.data import events as events_data
from caloml.errors import DataError, InputError
from caloml.events import generation
from caloml.io import hdf5, schema


def _fake_chunk(task):
    """A chunk of synthetic events in the layout, made without Pythia (fast file tests)."""
    process, seed_seq, size = task[:3]
    rng = np.random.default_rng(seed_seq)
    out = {}
    for field in schema.EVENTS.fields:
        shape = (size, *field.shape)
        if field.check == schema.INTEGER:
            out[field.key] = rng.integers(0, 10, shape).astype(field.dtype)
        else:
            out[field.key] = rng.exponential(1.0, shape).astype(field.dtype)
    out["process"] = np.full(size, generation.PROCESS_LABELS[process], np.int8)
    return out


@pytest.fixture
def fake_generation(monkeypatch):
    monkeypatch.setattr(generation, "_run_chunk", _fake_chunk)
    monkeypatch.setattr(generation, "CHUNK_EVENTS", 4)


def test_file_round_trip(tmp_path, fake_generation):
    path = tmp_path / "wjets.h5"
    attrs = generation.generate_to_file(path, "wjets", 10, seed=5)
    in_memory = generation.generate("wjets", 10, seed=5)
    assert events_data.check_file(path) == 10
    stored = hdf5.read_attrs(path)
    assert stored["layout"] == "events" and stored["process"] == "wjets"
    assert stored["num_events"] == 10 == attrs["num_events"]
    assert stored["sqrt_s_gev"] == 13000.0 and stored["pt_hat_min_gev"] == 50.0
    assert stored["jet_radius"] == 0.5 and stored["jet_pt_min_gev"] == 20.0
    assert stored["chunk_events"] == 4 and stored["process_label"] == 1
    assert stored["eta_edges"].shape == (73,) and stored["eta_edges"][-1] == 4.191
    np.testing.assert_allclose(stored["phi_edges"][[0, -1]], [-np.pi, np.pi])
    for key in ("grid", "fast_model", "fast_model_version", "fast_card", "detailed_model",
                "detailed_model_version", "caloml_version", "pythia_version", "seed"):
        assert key in stored, key
    data = events_data.read_events(path, start=2, stop=7)
    assert set(data) == {"fast", "detailed", "truth_jets", "num_truth_jets", "process",
                         "calo_truth_gev"}
    assert data["fast"].shape == data["detailed"].shape == (5, 72, 72)
    for key, value in data.items():
        np.testing.assert_array_equal(value, in_memory[key][2:7], err_msg=key)
    np.testing.assert_array_equal(data["process"], np.ones(5, np.int8))


def test_a_failed_generation_leaves_no_file(tmp_path, monkeypatch):
    calls = []

    def failing(task):
        calls.append(task)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return _fake_chunk(task)

    monkeypatch.setattr(generation, "_run_chunk", failing)
    monkeypatch.setattr(generation, "CHUNK_EVENTS", 4)
    path = tmp_path / "dijet.h5"
    with pytest.raises(RuntimeError, match="boom"):
        generation.generate_to_file(path, "dijet", 10)
    assert os.listdir(tmp_path) == []
    # An existing file is left as it was.
    path.write_bytes(b"old")
    calls.clear()
    with pytest.raises(RuntimeError, match="boom"):
        generation.generate_to_file(path, "dijet", 10)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["dijet.h5"]


def _events_file(path, num_fast=3, num_detailed=3, grid=(72, 72), label=0, process="dijet"):
    """An events file written with plain h5py, bypassing the layout checks of H5Writer."""
    with h5py.File(path, "w") as h5:
        h5.attrs["layout"] = "events"
        if process is not None:
            h5.attrs["process"] = process
        h5["fast"] = np.ones((num_fast, *grid), np.float32)
        h5["detailed"] = np.ones((num_detailed, *grid), np.float32)
        h5["truth_jets"] = np.zeros((num_fast, 10, 4), np.float32)
        h5["num_truth_jets"] = np.zeros(num_fast, np.int32)
        h5["process"] = np.full(num_fast, label, np.int8)
    return path


def test_a_valid_hand_written_file_passes(tmp_path):
    path = _events_file(tmp_path / "ok.h5", process=None)
    assert events_data.check_file(path) == 3
    assert "calo_truth_gev" not in events_data.read_events(path)


@pytest.mark.parametrize("kwargs, match", [
    ({"grid": (64, 64)}, r"images of another grid size: 'fast' has shape \(3, 64, 64\), "
                         r"expected \[N, 72, 72\] \(CMS towers"),
    ({"num_detailed": 2}, "'fast' holds 3 events and 'detailed' 2; both images must be of the "
                          "same events"),
    ({"label": 7}, "key 'process' holds the unknown label 7"),
    ({"process": "ttbar"}, "unknown process attribute 'ttbar'; expected one of "
                           r"\['wjets', 'dijet'\]"),
    ({"process": "wjets"}, "attribute process='wjets' but key 'process' holds label 0 "
                           r"\(dijet\); expected 1 throughout"),
])
def test_bad_files_are_refused_in_one_line_naming_the_cause(tmp_path, kwargs, match):
    path = _events_file(tmp_path / "bad.h5", **kwargs)
    with pytest.raises(DataError, match=match) as error:
        events_data.check_file(path)
    assert "\n" not in str(error.value) and str(path) in str(error.value)


def test_a_file_of_another_layout_is_named(tmp_path):
    path = tmp_path / "jets.h5"
    arrays = {f.key: np.zeros((2, *f.shape), f.dtype) for f in schema.JETS.fields}
    hdf5.write_arrays(path, schema.JETS, arrays)
    with pytest.raises(DataError) as error:
        events_data.check_file(path)
    message = str(error.value)
    assert "\n" not in message and "'jets'-layout file" in message
    assert "an events file (python -m caloml.events) holds fast and detailed [N, 72, 72]" in message
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as h5:
        h5["images"] = np.zeros((2, 3))
    with pytest.raises(DataError, match="is not an events file"):
        events_data.check_file(other)


def test_negative_energies_are_refused(tmp_path, fake_generation):
    path = tmp_path / "dijet.h5"
    generation.generate_to_file(path, "dijet", 4)
    with h5py.File(path, "a") as h5:
        h5["detailed"][1, 3, 4] = -1.0
    with pytest.raises(DataError, match=r"key 'detailed' example 1 holds -1.0"):
        events_data.check_file(path)


def test_dataset_file_generates_once_and_reuses(tmp_path, fake_generation, monkeypatch):
    made = []
    original = generation.generate_to_file

    def counting(*args, **kwargs):
        made.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(generation, "generate_to_file", counting)
    path = events_data.dataset_file(tmp_path, "dijet", 6, seed=2)
    assert path == os.path.join(tmp_path, "events", "events_dijet_seed2.h5")
    assert events_data.check_file(path) == 6 and len(made) == 1
    # Fewer events of the same process and seed: the file is reused; more: regenerated.
    assert events_data.dataset_file(tmp_path, "dijet", 4, seed=2) == path and len(made) == 1
    assert events_data.dataset_file(tmp_path, "dijet", 6, seed=2) == path and len(made) == 1
    events_data.dataset_file(tmp_path, "dijet", 8, seed=2)
    assert len(made) == 2 and events_data.check_file(path) == 8
    # Another seed or process is another file; a stale cache is regenerated.
    events_data.dataset_file(tmp_path, "dijet", 6, seed=3)
    events_data.dataset_file(tmp_path, "wjets", 6, seed=2)
    assert len(made) == 4
    with h5py.File(path, "a") as h5:
        h5.attrs["caloml_version"] = "0.0.0"
    events_data.dataset_file(tmp_path, "dijet", 6, seed=2)
    assert len(made) == 5 and hdf5.read_attrs(path)["caloml_version"] != "0.0.0"


def test_dataset_file_refuses_an_unknown_process(tmp_path):
    with pytest.raises(InputError, match=r"unknown process 'zjets'; expected one of "
                                         r"\['wjets', 'dijet'\]"):
        events_data.dataset_file(tmp_path, "zjets", 6, seed=0)
    assert not os.path.exists(tmp_path / "events")
