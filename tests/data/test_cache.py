"""Reuse of cached simulated files."""

import caloml
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
