"""The CLIC samples of the reconstruction study: files, splits, selections, network inputs."""

import dataclasses
import os
import shutil

import h5py
import numpy as np
import pytest

from caloml.data import reco
from caloml.errors import DataError, MissingFileError, UsageError

SMALL = reco.DataConfig(num_train=24, num_validation=8, num_test=8, seed=3, workers=1,
                        block_size=16)


@pytest.fixture(scope="module")
def gamma_pi0(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("data"))
    return reco.dataset_files(SMALL, reco.TASKS["gamma_pi0"], directory)


def test_simulated_files_carry_the_paper_selection_and_are_cached(gamma_pi0):
    with h5py.File(gamma_pi0["pi0"]) as h5:
        assert h5.attrs["select_opening_angle_rad"] == pytest.approx(0.01)
        assert np.all(h5["openingAngle"][:] < 0.01)
        assert len(h5["energy"]) == SMALL.num_rows
    with h5py.File(gamma_pi0["photon"]) as h5:
        assert "select_opening_angle_rad" not in h5.attrs
    # Seeds follow the particle's place in reco.PARTICLES, whatever the task.
    seeds = {p: h5py.File(path).attrs["seed"] for p, path in gamma_pi0.items()}
    assert seeds == {"photon": SMALL.seed + 1, "pi0": SMALL.seed + 2}
    mtime = os.path.getmtime(gamma_pi0["pi0"])
    again = reco.dataset_files(SMALL, ("pi0",), os.path.dirname(gamma_pi0["pi0"]))
    assert again == {"pi0": gamma_pi0["pi0"]} and os.path.getmtime(again["pi0"]) == mtime


def test_splits_are_disjoint_row_ranges():
    assert SMALL.rows("train") == (0, 24)
    assert SMALL.rows("validation") == (24, 32)
    assert SMALL.rows("test") == (32, 40)
    with pytest.raises(UsageError, match="unknown split 'tests'"):
        SMALL.rows("tests")


def test_iter_blocks_labels_particles_in_order(gamma_pi0):
    blocks = list(reco.iter_blocks(gamma_pi0, "test", SMALL, keys=("energy", "pdgID")))
    labels = np.concatenate([b["label"] for b in blocks])
    pdg = np.concatenate([b["pdgID"] for b in blocks])
    assert np.array_equal(labels, np.repeat([0, 1], 8))
    assert np.array_equal(pdg, np.repeat([22, 111], 8))
    with h5py.File(gamma_pi0["photon"]) as h5:
        expected = h5["energy"][32:40]
    assert np.array_equal(np.concatenate([b["energy"] for b in blocks])[:8], expected)


def test_crop_follows_the_barycentre_and_stays_inside():
    ecal = np.zeros((3, 51, 51, 25), np.float32)
    ecal[0, 25, 25, 3] = 1.0          # centred
    ecal[1, 30, 20, 0] = 2.0          # off centre: window around (30, 20)
    ecal[1, 40, 10, 0] = 0.0
    ecal[2, 50, 0, 0] = 1.0           # at the corner: window clipped to the edge
    crop = reco.crop_ecal(ecal)
    assert crop.shape == (3, 25, 25, 25)
    assert crop[0, 12, 12, 3] == 1.0
    assert crop[1, 12, 12, 0] == 2.0
    # (40, 10) would put the window outside: it stops at the edges 51 - 25 and 0.
    ecal[1, 30, 20, 0], ecal[1, 40, 10, 0] = 0.0, 2.0
    assert reco.crop_ecal(ecal)[1, 14, 10, 0] == 2.0
    assert crop[2, 24, 0, 0] == 1.0
    assert np.array_equal(crop.sum(axis=(1, 2, 3)), ecal.sum(axis=(1, 2, 3)))


def test_network_arrays_scale_sums_energy_and_direction():
    n = 2
    block = {"ECAL": np.zeros((n, 51, 51, 25), np.float32),
             "HCAL": np.zeros((n, 11, 11, 60), np.float32),
             "energy": np.array([50.0, 200.0], np.float32),
             "eta": np.array([0.1, -0.2], np.float32), "phi": np.array([0.3, 0.0], np.float32),
             "recoEta": np.array([0.05, -0.2], np.float32),
             "recoPhi": np.array([0.3, 0.01], np.float32),
             "label": np.array([0, 1], np.int8)}
    block["ECAL"][:, 25, 25, 5] = [30.0, 150.0]
    block["HCAL"][:, 5, 5, 0] = [1.0, 20.0]
    block["HCAL"][:, 0, 0, 0] = 7.0   # outside the central 5 x 5
    out = reco.network_arrays(block, hcal_window=5)
    assert out["ecal"].shape == (n, 25, 25, 25, 1) and out["hcal"].shape == (n, 5, 5, 60, 1)
    np.testing.assert_allclose(out["scalars"], [[3.0, 0.5, 0.30, 0.01],
                                                [0.1, -2.0, 1.50, 0.20]], rtol=1e-6)
    np.testing.assert_allclose(out["energy"][:, 0], [0.5, 2.0])
    np.testing.assert_allclose(out["direction"], [[0.5, 0.0], [0.0, -0.1]], atol=1e-6)
    assert out["label"].tolist() == [0, 1]


def test_tf_dataset_streams_balanced_shuffled_batches(gamma_pi0):
    ds = reco.tf_dataset(gamma_pi0, "train", SMALL, batch_size=8, hcal_window=11,
                         shuffle_buffer=16, seed=1)
    labels = []
    for inputs, targets in ds:
        assert set(inputs) == {"ecal", "hcal", "scalars"}
        assert inputs["ecal"].shape[1:] == (25, 25, 25, 1)
        labels.append(targets["label"].numpy())
    labels = np.concatenate(labels)
    assert len(labels) == 48 and labels.sum() == 24
    assert not np.array_equal(labels, np.sort(labels))   # interleaved, not file order


def test_user_data_errors_name_the_file(tmp_path, gamma_pi0):
    config = dataclasses.replace(SMALL, data=str(tmp_path))
    with pytest.raises(MissingFileError, match="no file 'photon.h5' for the photons"):
        reco.dataset_files(config, ("photon",), str(tmp_path))
    with h5py.File(tmp_path / "photon.h5", "w") as h5:
        h5["ECAL"] = np.zeros((2, 51, 51, 25), np.float32)
    with pytest.raises(DataError, match="missing key 'HCAL'"):
        reco.dataset_files(config, ("photon",), str(tmp_path))
    data = os.path.dirname(gamma_pi0["photon"])
    small = dataclasses.replace(SMALL, data=data, num_train=1000)
    with pytest.raises(DataError, match="holds 40 events; --num_train=1000"):
        reco.dataset_files(small, ("photon",), str(tmp_path))


def test_unknown_task_and_regression_without_particle():
    assert reco.task_particles("e_pi") == ("electron", "piplus")
    assert reco.task_particles("regression", "pi0") == ("pi0",)
    with pytest.raises(UsageError, match="unknown task 'gamma'"):
        reco.task_particles("gamma")
    with pytest.raises(UsageError, match="needs a particle"):
        reco.task_particles("regression")


def test_selection_leaving_no_event_is_an_error(tmp_path, gamma_pi0):
    path = str(tmp_path / "pi0.h5")
    shutil.copy(gamma_pi0["pi0"], path)
    with h5py.File(path, "r+") as h5:
        h5["openingAngle"][...] = 0.5
    with pytest.raises(DataError, match="no pi0 event of the test rows"):
        list(reco.iter_blocks({"pi0": path}, "test", SMALL))


def test_geometry_of_resampled_files_and_mixed_ones(tmp_path, gamma_pi0):
    assert reco.geometry_of(gamma_pi0) == "clic"
    resampled = {}
    for particle, path in gamma_pi0.items():
        resampled[particle] = str(tmp_path / f"{particle}.h5")
        shutil.copy(path, resampled[particle])
        with h5py.File(resampled[particle], "r+") as h5:
            h5.attrs["resampled_to"] = "cms"
    assert reco.geometry_of(resampled) == "cms"
    with pytest.raises(DataError, match="different geometries"):
        reco.geometry_of({"photon": gamma_pi0["photon"], "pi0": resampled["pi0"]})
