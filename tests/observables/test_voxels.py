"""3D voxel-shower observables against hand-computed answers."""

import math

import numpy as np
import pytest

from caloml.errors import InputError
from caloml.observables import voxels


def single_cell(shape=(5, 6, 25), cell=(2, 3, 4), energy=5.0):
    showers = np.zeros((1, *shape), np.float32)
    showers[(0, *cell)] = energy
    return showers


def two_cells():
    """1 at (0, 0, 0) and 3 at (2, 0, 10): x̄ = 1.5, z̄ = 7.5."""
    showers = np.zeros((1, 3, 2, 25), np.float32)
    showers[0, 0, 0, 0] = 1.0
    showers[0, 2, 0, 10] = 3.0
    return showers


def test_projections_of_a_single_cell_shower():
    x, y, z = voxels.projections(single_cell())
    assert (x.shape, y.shape, z.shape) == ((1, 5), (1, 6), (1, 25))
    np.testing.assert_array_equal(x[0], [0, 0, 5, 0, 0])
    np.testing.assert_array_equal(y[0], [0, 0, 0, 5, 0, 0])
    assert z[0, 4] == 5 and z.sum() == 5
    normalised = voxels.projections(single_cell(), normalise=True)
    np.testing.assert_array_equal(normalised[1][0], [0, 0, 0, 1, 0, 0])
    assert voxels.total_energy(single_cell())[0] == 5.0


def test_barycentre_and_moments_of_a_single_cell_are_its_index_and_zero_width():
    np.testing.assert_array_equal(voxels.barycentre(single_cell()), [[2, 3, 4]])
    m = voxels.moments(single_cell(), max_order=3)
    assert m.shape == (1, 3, 3)
    np.testing.assert_array_equal(m[0, :, 0], [2, 3, 4])
    np.testing.assert_array_equal(m[0, :, 1:], 0)


def test_moments_of_a_two_cell_shower():
    m = voxels.moments(two_cells(), max_order=3)
    # x: mean (0·1 + 2·3) / 4 = 1.5; variance (1·1.5² + 3·0.5²) / 4 = 0.75;
    # third (1·(−1.5)³ + 3·0.5³) / 4 = −0.75.
    np.testing.assert_allclose(m[0, 0], [1.5, 0.75, -0.75])
    np.testing.assert_allclose(m[0, 1], [0.0, 0.0, 0.0])  # both cells in y row 0
    # z: mean 30 / 4 = 7.5; variance (7.5² + 3·2.5²) / 4 = 18.75.
    np.testing.assert_allclose(m[0, 2, :2], [7.5, 18.75])


def test_empty_showers_give_zeros_not_nan():
    empty = np.zeros((2, 3, 3, 25), np.float32)
    assert not np.isnan(voxels.moments(empty)).any()
    np.testing.assert_array_equal(voxels.longitudinal_fractions(empty), 0)
    np.testing.assert_array_equal(voxels.projections(empty, normalise=True)[2], 0)


def test_longitudinal_thirds_of_25_layers_are_8_8_9():
    assert voxels.longitudinal_parts(25) == [(0, 7), (8, 15), (16, 24)]
    np.testing.assert_allclose(voxels.longitudinal_fractions(two_cells()), [[0.25, 0.75, 0]])
    showers = np.zeros((3, 1, 1, 25))
    showers[0, 0, 0, 7] = showers[1, 0, 0, 8] = showers[2, 0, 0, 24] = 2.0
    showers[2, 0, 0, 16] = 6.0
    np.testing.assert_array_equal(voxels.longitudinal_fractions(showers),
                                  [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert voxels.longitudinal_parts(10, 4) == [(0, 1), (2, 3), (4, 5), (6, 9)]
    with pytest.raises(InputError, match="parts must be between 1 and the 25 layers"):
        voxels.longitudinal_fractions(showers, parts=26)


def test_hits_are_strictly_above_the_threshold_and_sampling_fraction():
    showers = two_cells()
    np.testing.assert_array_equal(voxels.num_hits(showers, 0.5), [2])
    np.testing.assert_array_equal(voxels.num_hits(showers, 1.0), [1])  # 1.0 is not above
    np.testing.assert_array_equal(voxels.num_hits(showers, 3.0), [0])
    np.testing.assert_allclose(voxels.sampling_fraction(showers, np.array([8.0])), [0.5])
    with pytest.raises(InputError, match="positive primary energies"):
        voxels.sampling_fraction(showers, np.array([0.0]))
    with pytest.raises(InputError, match=r"\[N, X, Y, Z\]"):
        voxels.num_hits(np.zeros((3, 3, 3)), 0.1)


def test_chunked_sums_equal_whole_sums(monkeypatch):
    rng = np.random.default_rng(0)
    showers = (rng.exponential(size=(7, 4, 5, 6)) * (rng.random((7, 4, 5, 6)) < 0.3)
               ).astype(np.float32)
    whole = voxels.projections(showers), voxels.num_hits(showers, 0.5)
    monkeypatch.setattr(voxels, "_CHUNK", 2)
    for a, b in zip(voxels.projections(showers), whole[0], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_array_equal(voxels.num_hits(showers, 0.5), whole[1])
    np.testing.assert_allclose(whole[0][0], showers.sum(axis=(2, 3)), rtol=1e-6)


def test_moment_relative_errors_as_ganutils():
    # Reference means: x (3, 2), y (1, 4), z (10, 8); other means: x (1.5, 2), y (1, 5),
    # z (11, 8) → signed errors x (0.5, 0), y (0, −0.25), z (−0.1, 0).
    reference = np.array([[[2, 1], [1, 4], [10, 8]], [[4, 3], [1, 4], [10, 8]]], float)
    other = np.array([[[1.5, 2], [1, 5], [11, 8]]], float)
    errors = voxels.moment_relative_errors(reference, other)
    np.testing.assert_allclose(errors["per_axis"], [[0.5, 0], [0, -0.25], [-0.1, 0]])
    np.testing.assert_allclose(errors["per_order"], [0.6 / 3, 0.25 / 3])
    assert errors["total"] == pytest.approx((0.2 + 0.25 / 3) / 2)
    with pytest.raises(InputError, match="at least one shower in each"):
        voxels.moment_relative_errors(reference, other[:0])


def test_projection_relative_errors_skip_cells_the_reference_never_fills():
    reference = (np.array([[2.0, 0.0, 4.0]]), np.array([[1.0, 1.0]]), np.array([[4.0]]))
    other = (np.array([[1.0, 5.0, 4.0]]), np.array([[1.5, 0.5]]), np.array([[4.0]]))
    errors = voxels.projection_relative_errors(reference, other)
    np.testing.assert_allclose(errors["per_cell"][0], [0.5, np.nan, 0.0])
    np.testing.assert_allclose(errors["per_axis"], [0.25, 0.5, 0.0])
    assert errors["total"] == pytest.approx(0.25)


def test_energy_bins_and_binned_errors():
    masks = voxels.energy_bin_masks(np.array([104.0, 110.0, 114.9, 116.0, 190.0]),
                                    (110.0, 150.0), 5.0)
    assert list(masks) == ["all", "110", "150"]
    np.testing.assert_array_equal(masks["110"], [False, True, True, False, False])
    assert not masks["150"].any() and masks["all"].all()
    showers = np.random.default_rng(1).exponential(size=(5, 3, 3, 25))
    m, p = voxels.moments(showers), voxels.projections(showers)
    binned = voxels.binned_relative_errors(m, m, p, p, masks, masks)
    assert binned["110"]["num_reference"] == 2 and binned["150"]["moments"] is None
    assert binned["all"]["moments"]["total"] == 0.0  # a sample against itself
    assert binned["all"]["projections"]["total"] == 0.0
    other = voxels.moments(2 * showers)  # moments do not change with the scale
    assert voxels.binned_relative_errors(m, other, p, p, masks, masks)["all"]["moments"][
        "total"] == pytest.approx(0.0, abs=1e-12)
    doubled = tuple(2 * q for q in p)
    assert voxels.binned_relative_errors(m, m, p, doubled, masks, masks)["all"][
        "projections"]["total"] == pytest.approx(1.0)  # |(1 − 2) / 1| in every cell
    assert math.isnan(voxels.projection_relative_errors(
        (np.zeros((1, 2)),) * 3, (np.ones((1, 2)),) * 3)["total"])
