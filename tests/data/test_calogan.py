"""The CaloGAN showers: cached simulation, --data files, unit checks and GeV reading."""

import os

import h5py
import numpy as np
import pytest

from caloml import errors, sim
from caloml.data import calogan
from caloml.io import hdf5, schema
from caloml.sim import calogan as calogan_sim

NUM = 40
SEED = 5
KEYS = (*calogan.LAYER_KEYS, "energy")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("calogan")
    return calogan.dataset_files(str(directory), calogan.PARTICLES, NUM, seed=SEED)


@pytest.fixture(scope="module")
def raw(files):
    """The positron file's arrays as stored (MeV images, GeV energies)."""
    with h5py.File(files["positron"], "r") as h5:
        return {key: h5[key][:] for key in KEYS}


def write(path, arrays, dtype=np.float32, attrs=None):
    with h5py.File(path, "w") as h5:
        for key, value in arrays.items():
            h5[key] = np.asarray(value).astype(dtype) if dtype is not None else value
        for key, value in (attrs or {}).items():
            h5.attrs[key] = value
    return str(path)


def test_the_layout_is_the_simulators_and_the_schemas():
    assert set(calogan.PARTICLES) == set(calogan_sim.PARTICLES)
    for key, shape in zip(calogan.LAYER_KEYS, calogan.LAYER_SHAPES, strict=True):
        assert schema.CALOGAN.field(key).shape == shape
    assert [calogan.public_file_name(p) for p in calogan.PARTICLES] == [
        "eplus.hdf5", "gamma.hdf5", "piplus.hdf5"]


def test_files_are_simulated_under_the_public_names_with_per_particle_seeds(files):
    assert list(files) == list(calogan.PARTICLES)
    seeds = []
    for particle, path in files.items():
        assert os.path.basename(path) == calogan.public_file_name(particle)
        attrs = hdf5.read_attrs(path)
        assert (attrs["particle"], attrs["num_showers"]) == (particle, NUM)
        assert attrs["seed"] == calogan.particle_seed(SEED, particle)
        np.testing.assert_allclose(attrs["energy_gev"], calogan.ENERGY_RANGE_GEV)
        seeds.append(attrs["seed"])
    assert len(set(seeds)) == 3
    assert calogan.particle_seed(SEED, "photon") != calogan.particle_seed(SEED + 1, "photon")


def test_the_same_seed_gives_the_same_showers_and_the_cache_is_reused(files, tmp_path):
    again = calogan.dataset_files(str(tmp_path / "a"), ["photon"], NUM, seed=SEED)
    other = calogan.dataset_files(str(tmp_path / "b"), ["photon"], NUM, seed=SEED + 1)
    first = calogan.read_showers(files, ["photon"], 0, NUM)
    same = calogan.read_showers(again, ["photon"], 0, NUM)
    different = calogan.read_showers(other, ["photon"], 0, NUM)
    for key in KEYS:
        np.testing.assert_array_equal(same[key], first[key])
    assert not np.array_equal(different["energy"], first["energy"])
    stamp = os.stat(again["photon"]).st_mtime_ns
    calogan.dataset_files(str(tmp_path / "a"), ["photon"], NUM, seed=SEED)
    assert os.stat(again["photon"]).st_mtime_ns == stamp


def test_read_showers_gives_gev_images_in_the_order_of_the_particles(files, raw):
    out = calogan.read_showers(files, ["photon", "positron"], 5, 25, block_size=7)
    assert out["layer_0"].shape == (40, 3, 96) and out["layer_2"].shape == (40, 12, 6)
    assert all(out[key].dtype == np.float32 for key in KEYS)
    np.testing.assert_array_equal(out["particle"], [0] * 20 + [1] * 20)
    assert out["particle"].dtype == np.int32
    for key in calogan.LAYER_KEYS:
        np.testing.assert_array_equal(out[key][20:], raw[key][5:25] / np.float32(1000))
    np.testing.assert_array_equal(out["energy"][20:], raw["energy"][5:25])
    with h5py.File(files["photon"], "r") as h5:
        np.testing.assert_array_equal(out["layer_1"][:20], h5["layer_1"][5:25] / np.float32(1000))
    # A positron's cells hold nearly all its energy: the images are GeV like the energy.
    total = sum(out[key][20:].reshape(20, -1).sum(axis=1) for key in calogan.LAYER_KEYS)
    np.testing.assert_allclose(total, out["energy"][20:, 0], rtol=0.1)


def test_float64_files_are_accepted_and_cast(raw, tmp_path):
    directory = tmp_path / "data"
    directory.mkdir()
    arrays = {key: raw[key].astype(np.float64) * 1.0000001 for key in KEYS}
    arrays["energy"] = arrays["energy"][:, 0]  # [N] instead of [N, 1]: also accepted
    path = write(directory / "eplus.hdf5", arrays, dtype=None)
    paths = calogan.dataset_files(str(tmp_path / "unused"), ["positron"], NUM, seed=1,
                                  data=str(directory))
    assert paths == {"positron": path}
    out = calogan.read_showers(paths, ["positron"], 0, NUM, block_size=16)
    for key in calogan.LAYER_KEYS:
        assert out[key].dtype == np.float32
        np.testing.assert_array_equal(out[key], (arrays[key] / 1000).astype(np.float32))
    np.testing.assert_array_equal(out["energy"], arrays["energy"].astype(np.float32)[:, None])


def test_the_test_rows_follow_the_training_rows(files):
    assert calogan.train_rows(30) == (0, 30)
    assert calogan.test_rows(30, 10) == (30, 40)
    train = calogan.read_showers(files, ["piplus"], *calogan.train_rows(30))
    test = calogan.read_showers(files, ["piplus"], *calogan.test_rows(30, 10))
    whole = calogan.read_showers(files, ["piplus"], 0, 40)
    np.testing.assert_array_equal(np.concatenate([train["layer_1"], test["layer_1"]]),
                                  whole["layer_1"])


def test_one_data_file_serves_one_particle_and_nothing_is_written(files, tmp_path):
    directory = tmp_path / "workdir_data"
    paths = calogan.dataset_files(str(directory), ["photon"], NUM, seed=1, data=files["photon"])
    assert paths == {"photon": files["photon"]}
    assert not directory.exists()
    with pytest.raises(errors.InputError, match=r"--data=.*gamma\.hdf5 is one file, but 2 "
                       r"particles are trained \(photon, positron\); pass a directory"):
        calogan.dataset_files(str(directory), ["photon", "positron"], NUM, seed=1,
                              data=files["photon"])


def test_a_data_directory_must_hold_every_particles_file(files, tmp_path):
    (tmp_path / "eplus.hdf5").write_bytes(open(files["positron"], "rb").read())
    paths = calogan.dataset_files("unused", ["positron"], NUM, seed=1, data=str(tmp_path))
    assert paths == {"positron": str(tmp_path / "eplus.hdf5")}
    with pytest.raises(errors.MissingFileError,
                       match="no file 'gamma.hdf5' for the photon showers"):
        calogan.dataset_files("unused", ["positron", "photon"], NUM, seed=1,
                              data=str(tmp_path))
    with pytest.raises(errors.MissingFileError, match="--data=.*nowhere does not exist"):
        calogan.dataset_files("unused", ["positron"], NUM, seed=1, data=str(tmp_path / "nowhere"))
    with pytest.raises(errors.InputError, match="unknown particle 'electron'"):
        calogan.dataset_files("unused", ["electron"], NUM, seed=1, data=str(tmp_path))
    assert not os.path.exists("unused")


def test_a_missing_key_names_the_file_and_the_layout(raw, tmp_path):
    arrays = {key: raw[key] for key in ("layer_0", "layer_1", "energy")}
    path = write(tmp_path / "eplus.hdf5", arrays)
    expected = (f"{path!r} has no 'layer_2'; a CaloGAN file holds layer_0 [N,3,96], layer_1 "
                "[N,12,12], layer_2 [N,12,6] (MeV) and energy [N,1] (GeV)")
    with pytest.raises(errors.DataError) as caught:
        calogan.check_file(path, "positron", NUM)
    assert str(caught.value) == expected


@pytest.mark.parametrize("change, message", [
    (lambda a: a.update(layer_1=a["layer_1"][:, :, :6]),
     r"'layer_1' has shape \[40, 12, 6\], expected \[N, 12, 12\] \(MeV\)"),
    (lambda a: a.update(energy=np.repeat(a["energy"], 2, axis=1)),
     r"'energy' has shape \[40, 2\], expected \[N, 1\] \(GeV\)"),
    (lambda a: a.update(layer_2=a["layer_2"][:30]),
     "'layer_2' has 30 rows, but 'layer_0' has 40"),
    (lambda a: a.update(layer_0=a["layer_0"].astype(np.int64)),
     "'layer_0' has dtype int64, expected float32 or float64"),
])
def test_malformed_arrays_are_named(raw, tmp_path, change, message):
    arrays = {key: raw[key] for key in KEYS}
    change(arrays)
    path = write(tmp_path / "eplus.hdf5", arrays, dtype=None)
    with pytest.raises(errors.DataError, match=message):
        calogan.check_file(path, "positron", NUM)


def test_too_few_rows_name_the_flags(raw, tmp_path):
    path = write(tmp_path / "eplus.hdf5", raw)
    with pytest.raises(errors.DataError, match="holds 40 positron showers, fewer than the 41 "
                       "that --num_train and --num_test ask for"):
        calogan.check_file(path, "positron", NUM + 1)
    calogan.check_file(path, "positron", NUM)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_images_in_gev_are_refused(files, tmp_path, dtype):
    with h5py.File(files["piplus"], "r") as h5:
        arrays = {key: h5[key][:] for key in KEYS}
    # π⁺ showers in MeV sum to a fraction ~0.3 of 1000 x energy: accepted.
    calogan.check_file(write(tmp_path / "mev.hdf5", arrays, dtype), "piplus", NUM)
    for key in calogan.LAYER_KEYS:
        arrays[key] = arrays[key] / 1000
    path = write(tmp_path / "gev.hdf5", arrays, dtype)
    with pytest.raises(errors.DataError, match=r"the images of .*gev\.hdf5' sum to a median of "
                       r"0\.000[0-9]+ of 1000 x energy: they look like GeV; CaloGAN files hold "
                       r"MeV \(multiply by 1000\)"):
        calogan.check_file(path, "piplus", NUM)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_energies_in_mev_are_refused(raw, tmp_path, dtype):
    arrays = dict(raw, energy=raw["energy"] * 1000)
    path = write(tmp_path / "eplus.hdf5", arrays, dtype)
    median = np.median(raw["energy"].astype(np.float64) * 1000)
    with pytest.raises(errors.DataError, match=f"the energies of .*eplus.hdf5' have a median of "
                       f"{median:.0f}: they look like MeV; CaloGAN files hold 'energy' in GeV "
                       r"\(divide by 1000\)"):
        calogan.check_file(path, "positron", NUM)


def test_a_caloml_file_of_another_particle_is_refused(files):
    with pytest.raises(errors.DataError, match="holds piplus showers .*, not positron"):
        calogan.check_file(files["piplus"], "positron", NUM)


def test_bad_values_are_found_while_reading(raw, tmp_path):
    arrays = {key: raw[key].copy() for key in KEYS}
    arrays["layer_1"][33, 4, 5] = np.nan
    path = write(tmp_path / "eplus.hdf5", arrays)
    paths = {"positron": path}
    calogan.read_showers(paths, ["positron"], 0, 33)
    with pytest.raises(errors.DataError, match="'layer_1' row 33 holds nan; expected finite, "
                       "non-negative energies in MeV"):
        calogan.read_showers(paths, ["positron"], 0, 40, block_size=16)
    with pytest.raises(errors.DataError, match=r"holds 40 positron showers; rows \[0, 41\)"):
        calogan.read_showers(paths, ["positron"], 0, 41)


def test_simulate_reference_gives_gev_showers_at_one_energy():
    out = calogan.simulate_reference("positron", 150.0, 12, seed=3)
    expected = sim.simulate("calogan", "positron", 12, 150.0, seed=3)
    assert out["layer_0"].shape == (12, 3, 96) and out["layer_0"].dtype == np.float32
    for key in calogan.LAYER_KEYS:
        np.testing.assert_array_equal(out[key], expected[key] / np.float32(1000))
    np.testing.assert_array_equal(out["energy"], np.full((12, 1), 150.0, np.float32))
    np.testing.assert_array_equal(out["particle"], np.zeros(12, np.int32))
    total = sum(out[key].reshape(12, -1).sum(axis=1) for key in calogan.LAYER_KEYS)
    np.testing.assert_allclose(total, 150.0, rtol=0.1)
    assert calogan.simulate_reference("photon", 20.0, 3, seed=3, particle_index=2)[
        "particle"].tolist() == [2, 2, 2]
    with pytest.raises(errors.InputError, match="outside the 'calogan' range"):
        calogan.simulate_reference("positron", 900.0, 2, seed=3)
