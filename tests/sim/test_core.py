"""Seeding, sharding, validation and file output of the simulator."""

import os

import numpy as np
import pytest

import caloml
from caloml import errors
from caloml.io import hdf5, schema
from caloml.sim import CHUNK_SIZE, simulate, simulate_to_file


def test_same_seed_gives_identical_arrays_whatever_the_number_of_workers():
    n = 2 * CHUNK_SIZE + 37  # chunks of unequal size
    one = simulate("srgamma", "pi0", n, 50.0, seed=12, workers=1, truth=True)
    two = simulate("srgamma", "pi0", n, 50.0, seed=12, workers=2, truth=True)
    assert set(one) == set(two)
    for key in one:
        np.testing.assert_array_equal(one[key], two[key], err_msg=key)
    assert one.attrs == two.attrs
    other = simulate("srgamma", "pi0", n, 50.0, seed=13)
    assert not np.array_equal(one["hr"], other["hr"])


def test_a_prefix_of_the_events_does_not_depend_on_the_total():
    small = simulate("srgamma", "photon", CHUNK_SIZE, 20.0, seed=1)
    large = simulate("srgamma", "photon", 2 * CHUNK_SIZE, 20.0, seed=1)
    np.testing.assert_array_equal(small["hr"], large["hr"][:CHUNK_SIZE])


def test_energy_range_is_uniform():
    data = simulate("srgamma", "photon", 2000, (10.0, 100.0), seed=2)
    assert data["energy"].min() >= 10 and data["energy"].max() <= 100
    assert data["energy"].mean() == pytest.approx(55.0, abs=1.5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(geometry="atlas"), "unknown geometry 'atlas'"),
        (dict(particle="kaon"), "unknown particle 'kaon'"),
        (dict(energy_gev=-5.0), "outside the 'srgamma' range"),
        (dict(energy_gev=800.0), "outside the 'srgamma' range"),
        (dict(energy_gev=(50.0, 20.0)), "outside the 'srgamma' range"),
        (dict(num_showers=0), "num_showers must be at least 1"),
        (dict(seed=-1), "seed must be non-negative"),
        (dict(particle="pi0", energy_gev=5.0), "smallest opening angle"),
        (dict(gun_sigma=3.0), "unexpected keyword argument 'gun_sigma'"),
    ],
)
def test_bad_requests_fail_before_any_work(kwargs, match):
    args = dict(geometry="srgamma", particle="photon", num_showers=10, energy_gev=50.0)
    args.update(kwargs)
    with pytest.raises((errors.InputError, TypeError), match=match):
        simulate(**args)


def test_file_matches_in_memory_arrays_and_carries_attributes(tmp_path):
    path = tmp_path / "pi0.h5"
    attrs = simulate_to_file(path, "srgamma", "pi0", 300, 20.0, seed=3, workers=2, truth=True)
    memory = simulate("srgamma", "pi0", 300, 20.0, seed=3, truth=True)
    assert hdf5.validate_file(path, schema.SRGAMMA) == 300
    read = hdf5.read_arrays(path, schema.SRGAMMA, keys=list(memory))
    for key in memory:
        np.testing.assert_array_equal(read[key], memory[key], err_msg=key)
    file_attrs = hdf5.read_attrs(path)
    assert file_attrs["geometry"] == "srgamma" and file_attrs["particle"] == "pi0"
    assert file_attrs["seed"] == 3 and file_attrs["caloml_version"] == caloml.__version__
    assert file_attrs["pi0_fraction_kept"] == pytest.approx(attrs["pi0_fraction_kept"])
    assert os.listdir(tmp_path) == ["pi0.h5"]  # no temporary file left


def test_failed_run_leaves_an_existing_file_untouched(tmp_path, monkeypatch):
    path = tmp_path / "photon.h5"
    path.write_bytes(b"previous result")
    from caloml.sim import core

    calls = {"n": 0}
    original = core._run_chunk

    def failing(task):
        calls["n"] += 1
        if calls["n"] > 1:
            raise KeyboardInterrupt
        return original(task)

    monkeypatch.setattr(core, "_run_chunk", failing)
    with pytest.raises(KeyboardInterrupt):
        simulate_to_file(path, "srgamma", "photon", 3 * CHUNK_SIZE, 20.0, seed=0)
    assert path.read_bytes() == b"previous result"
    assert os.listdir(tmp_path) == ["photon.h5"]
