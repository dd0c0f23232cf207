"""Reuse of cached simulated files."""

import h5py
import pytest

import caloml
from caloml import errors
from caloml.data import cache


def test_cached_simulation_reuses_only_matching_files(tmp_path):
    path = str(tmp_path / "photon.h5")
    args = dict(geometry="srgamma", particle="photon", num_showers=40, energy_gev=50.0, seed=5)
    assert cache.cached_simulation(path, **args, truth=True) is False
    mtime = (tmp_path / "photon.h5").stat().st_mtime_ns
    assert cache.cached_simulation(path, **args, truth=True) is True
    assert (tmp_path / "photon.h5").stat().st_mtime_ns == mtime

    expected = {"geometry": "srgamma", "particle": "photon", "energy_gev": 50.0, "seed": 5,
                "num_showers": 40, "caloml_version": caloml.__version__}
    why = cache.why_not_reusable
    assert why(path, "srgamma", expected, truth=True) is None
    assert why(path, "srgamma", {**expected, "seed": 7}, truth=True) == "seed=5, wanted 7"
    assert "energy_gev" in why(path, "srgamma", {**expected, "energy_gev": 20.0}, truth=True)
    assert why(path + ".missing", "srgamma", expected, truth=False) == "not there"
    (tmp_path / "broken.h5").write_bytes(b"not hdf5")
    assert why(str(tmp_path / "broken.h5"), "srgamma", expected, False).startswith("unreadable")

    # A file without truth arrays is not reused where truth is needed, and is regenerated.
    bare = str(tmp_path / "bare.h5")
    cache.cached_simulation(bare, **args, truth=False)
    assert "no truth" in why(bare, "srgamma", expected, truth=True)
    assert cache.cached_simulation(bare, **args, truth=True) is False
    assert why(bare, "srgamma", expected, truth=True) is None


def test_files_made_with_options_are_not_reused(tmp_path):
    path = str(tmp_path / "photon.h5")
    caloml.sim.simulate_to_file(path, "srgamma", "photon", 10, 50.0, seed=1, gun_sigma_mm=0.0)
    expected = {"geometry": "srgamma", "particle": "photon", "seed": 1}
    assert "other options ['gun_sigma_mm']" in cache.why_not_reusable(
        path, "srgamma", expected, False)


def test_files_made_with_the_requested_options_are_reused(tmp_path):
    path = str(tmp_path / "pi0.h5")
    args = dict(geometry="clic", particle="pi0", num_showers=4, energy_gev=(50.0, 100.0),
                seed=3)
    assert cache.cached_simulation(path, **args, select_opening_angle_rad=0.01) is False
    assert cache.cached_simulation(path, **args, select_opening_angle_rad=0.01) is True
    # Another value of the option, or no option, is another sample.
    assert cache.cached_simulation(path, **args, select_opening_angle_rad=0.02) is False
    assert cache.cached_simulation(path, **args) is False


def test_files_of_an_energy_range_are_reused(tmp_path):
    path = str(tmp_path / "eplus.hdf5")
    args = dict(geometry="calogan", particle="positron", num_showers=20, seed=2)
    assert cache.cached_simulation(path, **args, energy_gev=(1.0, 100.0)) is False
    assert cache.cached_simulation(path, **args, energy_gev=(1, 100)) is True
    assert cache.cached_simulation(path, **args, energy_gev=(1.0, 50.0)) is False
    expected = {"geometry": "calogan", "energy_gev": 50.0}
    assert "energy_gev" in cache.why_not_reusable(path, "calogan", expected, truth=False)


def test_user_process_file_names_the_flag_the_file_and_the_fault(tmp_path):
    path = tmp_path / "events.h5"
    with h5py.File(path, "w") as f:
        f.attrs["process"] = "dijet"

    def rows(name):
        assert name == str(path)
        return 10

    def check(needed, process):
        return cache.user_process_file(str(path), needed, "--data", process, rows, "events",
                                       "--num_train")

    assert check(10, "dijet") == str(path)
    with pytest.raises(errors.DataError, match=r"--data=.* holds 10 events, fewer than the 11 "
                                               r"needed \(lower --num_train\)"):
        check(11, "dijet")
    with pytest.raises(errors.DataError, match="holds 'dijet' events, expected 'wjets' events"):
        check(5, "wjets")
    with pytest.raises(errors.MissingFileError, match="--other_data=.*missing.h5: no such file"):
        cache.user_process_file(str(tmp_path / "missing.h5"), 1, "--other_data", "dijet", rows,
                                "events", "--num_eval")
