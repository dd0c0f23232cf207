"""The SR-γ study's files and splits: per-particle sizes, streaming, given data."""

import numpy as np
import pytest

from caloml import errors, sim
from caloml.data import preprocessing, srgamma
from caloml.io import hdf5, schema

SPLITS = srgamma.Splits(gan_train=30, classifier_train=20, validation=10, test_photon=25,
                        test_pi0=45)


def test_splits_are_contiguous_per_particle():
    assert SPLITS.ranges("photon") == {"gan_train": (0, 30), "classifier_train": (30, 50),
                                       "validation": (50, 60), "test": (60, 85)}
    assert SPLITS.ranges("pi0")["test"] == (60, 105)
    assert (SPLITS.total("photon"), SPLITS.total("pi0")) == (85, 105)
    with pytest.raises(errors.InputError, match="'validation' must not be negative"):
        srgamma.Splits(validation=-1)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("srgamma")
    return srgamma.dataset_files(str(directory), 50.0, SPLITS, seed=3)


def test_simulated_files_hold_each_particles_splits(files):
    assert hdf5.validate_file(files["photon"], schema.SRGAMMA) == 85
    assert hdf5.validate_file(files["pi0"], schema.SRGAMMA) == 105
    assert hdf5.read_attrs(files["pi0"])["seed"] == 4  # independent gun positions


def test_iter_split_streams_blocks_of_one_particle_at_a_time(files):
    blocks = list(srgamma.iter_split(files, SPLITS, "test", block_size=20))
    assert [len(b["label"]) for b in blocks] == [20, 5, 20, 20, 5]
    assert [float(b["label"][0]) for b in blocks] == [0.0, 0.0, 1.0, 1.0, 1.0]
    whole = srgamma.load_split(files, SPLITS, "test")
    for key in ("lr", "hr", "window_sum_gev", "label"):
        np.testing.assert_array_equal(np.concatenate([b[key] for b in blocks]), whole[key])
    # The blocks are the pre-processed test events of the file, in order.
    raw = hdf5.read_arrays(files["pi0"], schema.SRGAMMA, keys=["lr", "hr"], start=60, stop=105)
    expected = preprocessing.preprocess_srgamma(raw["lr"], raw["hr"])
    np.testing.assert_array_equal(whole["hr"][25:, ..., 0], expected["hr"])
    assert whole["lr"].shape == (70, 6, 6, 1) and whole["hr"].shape == (70, 24, 24, 1)


def test_given_data_must_hold_enough_events(files, tmp_path):
    (tmp_path / "photon.h5").write_bytes(open(files["photon"], "rb").read())
    short = sim.simulate("srgamma", "pi0", 50, 50.0, seed=1)
    hdf5.write_arrays(tmp_path / "pi0.h5", schema.SRGAMMA, dict(short))
    with pytest.raises(errors.DataError, match="holds 50 events; the splits need 105 pi0"):
        srgamma.dataset_files("unused", 50.0, SPLITS, seed=1, data=str(tmp_path))
    with pytest.raises(errors.MissingFileError, match="is not a directory"):
        srgamma.dataset_files("unused", 50.0, SPLITS, seed=1, data=str(tmp_path / "none"))
