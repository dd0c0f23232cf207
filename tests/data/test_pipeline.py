"""Tests of caloml.data.pipeline: block-wise HDF5 streaming into tf.data."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import tensorflow as tf

from caloml import errors
from caloml.data import pipeline
from caloml.data import preprocessing as pp
from caloml.io import hdf5, schema

LAYOUT = schema.SRGAMMA


def make_arrays(n: int, pdg: int, seed: int, num_zero: int = 0) -> dict[str, np.ndarray]:
    """Srgamma arrays whose window sums identify each example; the last ``num_zero`` are 0."""
    rng = np.random.default_rng(seed)
    hr = np.zeros((n, 96, 96), dtype=np.float32)
    for i in range(n - num_zero):
        row, col = rng.integers(0, 80, size=2)
        hr[i, row : row + 16, col : col + 16] = rng.uniform(0.0, 1.0, size=(16, 16))
    lr = hr.reshape(n, 24, 4, 24, 4).sum(axis=(2, 4)).astype(np.float32)
    return {
        "hr": hr,
        "lr": lr,
        "energy": np.full(n, 20.0, dtype=np.float32),
        "pdg": np.full(n, pdg, dtype=np.int32),
        "opening_angle_rad": np.zeros(n, dtype=np.float32),
        "impact_xy_mm": rng.uniform(-5.0, 5.0, size=(n, 2)).astype(np.float32),
    }


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("srgamma")
    paths = {}
    for name, pdg, seed in (("photon", 22, 1), ("pi0", 111, 2)):
        paths[name] = directory / f"{name}.h5"
        hdf5.write_arrays(
            paths[name], LAYOUT, make_arrays(10, pdg, seed, num_zero=2), compression=None
        )
    return paths


def collect(dataset: tf.data.Dataset) -> dict[str, np.ndarray]:
    """Stacks every element of ``dataset`` (examples or batches) into numpy arrays."""
    parts = list(dataset.as_numpy_iterator())
    return {key: np.concatenate([np.atleast_1d(p[key]) for p in parts]) for key in parts[0]}


def examples(dataset: tf.data.Dataset) -> dict[str, np.ndarray]:
    parts = list(dataset.as_numpy_iterator())
    return {key: np.stack([p[key] for p in parts]) for key in parts[0]}


def test_hdf5_dataset_matches_read_arrays(files):
    keys = ["lr", "hr", "energy", "pdg", "impact_xy_mm"]
    dataset = pipeline.hdf5_dataset(files["photon"], LAYOUT, keys, block_size=4)
    spec = dataset.element_spec
    assert spec["hr"].shape == (96, 96) and spec["hr"].dtype == tf.float32
    assert spec["energy"].shape == () and spec["pdg"].dtype == tf.int32
    got = examples(dataset)
    expected = hdf5.read_arrays(files["photon"], LAYOUT, keys)
    assert sorted(got) == sorted(keys)
    for key in keys:
        assert got[key].dtype == expected[key].dtype
        np.testing.assert_array_equal(got[key], expected[key])


def test_hdf5_dataset_range_and_scalar_columns(tmp_path):
    # Public files store per-example scalars as [N, 1] and possibly as float64 / int64.
    path = tmp_path / "public.h5"
    arrays = make_arrays(10, 22, seed=3)
    with h5py.File(path, "w") as h5:
        for key, value in arrays.items():
            if value.ndim == 1:
                value = value[:, None].astype(np.int64 if key == "pdg" else np.float64)
            h5.create_dataset(key, data=value)
    keys = ["lr", "energy", "pdg"]
    dataset = pipeline.hdf5_dataset(path, LAYOUT, keys, block_size=4, start=3, stop=9)
    assert dataset.element_spec["energy"].shape == ()
    got = examples(dataset)
    expected = hdf5.read_arrays(path, LAYOUT, keys, start=3, stop=9)
    for key in keys:
        assert got[key].shape[0] == 6
        assert got[key].dtype == expected[key].dtype
        np.testing.assert_array_equal(got[key], expected[key])


@pytest.mark.parametrize("energy_shape", [(10, 1), (10,)])
def test_hdf5_dataset_reads_calogan_files_like_the_public_ones(tmp_path, energy_shape):
    # The CaloGAN layout declares energy as the public files' [N, 1] column; [N] is accepted.
    path = tmp_path / "eplus.hdf5"
    rng = np.random.default_rng(4)
    with h5py.File(path, "w") as h5:
        for field in schema.CALOGAN.fields:
            if not field.optional:
                shape = energy_shape if field.key == "energy" else (10, *field.shape)
                h5[field.key] = rng.uniform(1.0, 100.0, shape)  # float64
    keys = ["layer_0", "layer_1", "layer_2", "energy", "overflow"]
    dataset = pipeline.hdf5_dataset(path, schema.CALOGAN, keys, block_size=4)
    assert dataset.element_spec["energy"].shape == (1,)
    assert dataset.element_spec["layer_0"].shape == (3, 96)
    got = examples(dataset)
    expected = hdf5.read_arrays(path, schema.CALOGAN, keys)
    for key in keys:
        assert got[key].dtype == np.float32
        np.testing.assert_array_equal(got[key], expected[key])


def test_hdf5_dataset_transform_runs_per_block(files):
    block_sizes = []

    def transform(block):
        block_sizes.append(len(block["lr"]))
        return {"lr_sum": block["lr"].sum(axis=(1, 2)).astype(np.float64)}

    dataset = pipeline.hdf5_dataset(files["pi0"], LAYOUT, ["lr"], block_size=4, transform=transform)
    assert dataset.element_spec == {"lr_sum": tf.TensorSpec((), tf.float64)}
    block_sizes.clear()  # the signature probe ran the transform once
    got = examples(dataset)["lr_sum"]
    assert block_sizes == [4, 4, 2]
    lr = hdf5.read_arrays(files["pi0"], LAYOUT, ["lr"])["lr"]
    np.testing.assert_allclose(got, lr.astype(np.float64).sum(axis=(1, 2)))


def test_hdf5_dataset_bad_transform_output(files):
    def empty(block):
        return {"a": block["lr"], "b": block["lr"][:0]}

    with pytest.raises(ValueError, match="common leading"):
        pipeline.hdf5_dataset(files["pi0"], LAYOUT, ["lr"], block_size=4, transform=empty)

    def first(block):
        return {"a": block["lr"], "b": block["lr"][:1]}

    # Passes the one-example signature probe, fails on the first full block.
    dataset = pipeline.hdf5_dataset(files["pi0"], LAYOUT, ["lr"], block_size=4, transform=first)
    with pytest.raises(tf.errors.InvalidArgumentError, match="common leading"):
        list(dataset.as_numpy_iterator())


def test_hdf5_dataset_validates_at_construction(tmp_path, files):
    path = tmp_path / "nan.h5"
    arrays = make_arrays(5, 22, seed=4)
    arrays["hr"][4, 0, 0] = np.nan
    hdf5.write_arrays(path, LAYOUT, arrays, compression=None)
    with pytest.raises(errors.DataError, match="'hr' example 4"):
        pipeline.hdf5_dataset(path, LAYOUT, ["hr"])
    with pytest.raises(ValueError, match="stop=11"):
        pipeline.hdf5_dataset(files["pi0"], LAYOUT, ["lr"], stop=11)
    with pytest.raises(ValueError, match="block_size"):
        pipeline.hdf5_dataset(files["pi0"], LAYOUT, ["lr"], block_size=0)


def test_srgamma_dataset_batches(files):
    dataset = pipeline.srgamma_dataset(files["photon"], files["pi0"], batch_size=4, seed=1)
    spec = dataset.element_spec
    assert spec["lr"].shape.as_list() == [None, 6, 6, 1]
    assert spec["hr"].shape.as_list() == [None, 24, 24, 1]
    batches = list(dataset.as_numpy_iterator())
    assert [len(b["label"]) for b in batches] == [4, 4, 4, 4, 4]
    for batch in batches:
        assert sorted(batch) == ["hr", "label", "lr", "window_sum_gev"]
        assert batch["lr"].shape == (4, 6, 6, 1) and batch["hr"].shape == (4, 24, 24, 1)
        for key in batch:
            assert batch[key].dtype == np.float32, key
            assert np.all(np.isfinite(batch[key])), key
    got = collect(dataset)
    assert sorted(got["label"].tolist()) == [0.0] * 10 + [1.0] * 10
    # Each file holds two all-zero images: zero inputs, sum 0, no NaN.
    zero = got["window_sum_gev"] == 0
    assert zero.sum() == 4
    assert np.all(got["lr"][zero] == 0) and np.all(got["hr"][zero] == 0)
    assert np.all(got["lr"][~zero].sum(axis=(1, 2, 3)) > 0)


def test_srgamma_dataset_unshuffled_matches_preprocessing(files):
    dataset = pipeline.srgamma_dataset(
        files["photon"], files["pi0"], batch_size=3, shuffle=False, num_examples=4
    )
    got = collect(dataset)
    np.testing.assert_array_equal(got["label"], [0, 1] * 4)
    photon = hdf5.read_arrays(files["photon"], LAYOUT, ["lr", "hr"], stop=4)
    pi0 = hdf5.read_arrays(files["pi0"], LAYOUT, ["lr", "hr"], stop=4)
    for source, arrays in ((0, photon), (1, pi0)):
        expected = pp.preprocess_srgamma(arrays["lr"], arrays["hr"])
        np.testing.assert_array_equal(got["lr"][source::2, ..., 0], expected["lr"])
        np.testing.assert_array_equal(got["hr"][source::2, ..., 0], expected["hr"])
        np.testing.assert_array_equal(got["window_sum_gev"][source::2], expected["window_sum_gev"])


def test_srgamma_dataset_order_depends_only_on_seed(files):
    def order(seed):
        dataset = pipeline.srgamma_dataset(
            files["photon"], files["pi0"], batch_size=5, seed=seed, block_size=3
        )
        got = collect(dataset)
        # Window sums and labels identify the examples.
        return np.stack([got["label"], got["window_sum_gev"]], axis=1)

    first = order(seed=7)
    np.testing.assert_array_equal(order(seed=7), first)
    assert not np.array_equal(order(seed=8), first)
    # A shuffled pass holds the same examples as an unshuffled one.
    unshuffled = collect(
        pipeline.srgamma_dataset(files["photon"], files["pi0"], batch_size=5, shuffle=False)
    )
    np.testing.assert_array_equal(np.sort(first[:, 1]), np.sort(unshuffled["window_sum_gev"]))


def test_srgamma_dataset_argument_checks(files):
    with pytest.raises(errors.DataError, match="has only 10 examples"):
        pipeline.srgamma_dataset(files["photon"], files["pi0"], batch_size=2, num_examples=11)
    with pytest.raises(errors.DataError, match="swapped"):
        pipeline.srgamma_dataset(files["pi0"], files["photon"], batch_size=2)
    with pytest.raises(ValueError, match="power"):
        pipeline.srgamma_dataset(files["photon"], files["pi0"], batch_size=2, power=0.0)
    with pytest.raises(ValueError, match="batch_size"):
        pipeline.srgamma_dataset(files["photon"], files["pi0"], batch_size=0)
