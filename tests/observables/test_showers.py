"""Tests of caloml.observables.showers against hand-computed answers."""

import numpy as np
import pytest

from caloml.observables import showers

HR_CELL_MM, LR_CELL_MM = 5.5, 22.0
CELL_RAD = showers.cell_size_rad(HR_CELL_MM, 1290.0)


def test_cell_size_rad():
    assert showers.cell_size_rad(22.0, 1290.0) == pytest.approx(22.0 / 1290.0)
    assert showers.cell_size_rad(5.5, distance_mm=1000.0) == pytest.approx(5.5e-3)
    with pytest.raises(ValueError):
        showers.cell_size_rad(0.0, 1290.0)


def test_single_hot_cell():
    images = np.zeros((2, 24, 24))
    images[0, 3, 17] = 7.0
    images[1, 12, 11] = 0.5
    centre = showers.barycentre(images)
    # Cell centres are at index - 11.5 cells.
    np.testing.assert_allclose(centre, [[3 - 11.5, 17 - 11.5], [0.5, -0.5]])
    np.testing.assert_allclose(showers.barycentre(images, cell_size=5.5), centre * 5.5)
    np.testing.assert_array_equal(showers.shower_width(images, CELL_RAD), [0.0, 0.0])


@pytest.mark.parametrize("d", [1, 2, 5])
def test_two_equal_cells(d):
    images = np.zeros((2, 24, 24))
    images[0, 10, 4] = images[0, 10, 4 + d] = 3.0  # along the second axis
    images[1, 2, 7] = images[1, 2 + d, 7] = 1.0  # along the first axis
    centre = showers.barycentre(images)
    np.testing.assert_allclose(centre[0], [10 - 11.5, 4 + d / 2 - 11.5])
    np.testing.assert_allclose(centre[1], [2 + d / 2 - 11.5, 7 - 11.5])
    np.testing.assert_allclose(showers.shower_width(images, CELL_RAD), d / 2 * CELL_RAD,
                               rtol=1e-12)


def test_diagonal_pair_and_unequal_energies():
    # 3 GeV and 1 GeV a (3, 4) cell vector apart: barycentre 1/4 of the way from the 3 GeV cell,
    # distances 5/4 and 15/4 cells, W = (3 * 5/4 + 1 * 15/4) / 4 = 15/8 cells.
    image = np.zeros((1, 8, 8))
    image[0, 1, 1], image[0, 4, 5] = 3.0, 1.0
    np.testing.assert_allclose(showers.barycentre(image), [[1.75 - 3.5, 2.0 - 3.5]])
    np.testing.assert_allclose(showers.shower_width(image, 2.0), [15 / 8 * 2.0])


def test_zero_images():
    images = np.zeros((3, 6, 6))
    images[1, 0, 0] = 1.0
    with np.errstate(all="raise"):
        centre = showers.barycentre(images, cell_size=22.0)
        width = showers.shower_width(images, CELL_RAD)
    np.testing.assert_array_equal(centre[[0, 2]], 0.0)
    np.testing.assert_allclose(centre[1], [-2.5 * 22.0, -2.5 * 22.0])
    np.testing.assert_array_equal(width, 0.0)
    assert showers.barycentre(np.zeros((0, 6, 6))).shape == (0, 2)
    assert showers.shower_width(np.zeros((0, 6, 6)), CELL_RAD).shape == (0,)


def test_width_is_invariant_to_normalisation_and_float32():
    rng = np.random.default_rng(0)
    images = rng.exponential(size=(5, 24, 24)).astype(np.float32)
    width = showers.shower_width(images, CELL_RAD)
    np.testing.assert_allclose(showers.shower_width(images * 40.0, CELL_RAD), width, rtol=1e-6)
    assert width.dtype == np.float64 and np.all(width > 0)


def test_hr_and_lr_barycentres_agree():
    rng = np.random.default_rng(1)
    hr = rng.exponential(size=(200, 24, 24)) * (rng.random((200, 24, 24)) < 0.2)
    lr = hr.reshape(200, 6, 4, 6, 4).sum(axis=(2, 4))
    hr_mm = showers.barycentre(hr, HR_CELL_MM)
    lr_mm = showers.barycentre(lr, LR_CELL_MM)
    # Within a crystal the LR barycentre puts the energy at the centre, at most 1.5 HR cells
    # from any HR cell centre, so the barycentres differ by less than half a crystal per axis.
    assert np.all(np.abs(hr_mm - lr_mm) <= 1.5 * HR_CELL_MM + 1e-9)
    distance = showers.barycentre_distance(lr, LR_CELL_MM, hr, HR_CELL_MM, unit_mm=22.0)
    np.testing.assert_allclose(distance, np.hypot(*(hr_mm - lr_mm).T) / 22.0)
    assert np.all(distance < np.sqrt(2) * 1.5 / 4 + 1e-9)
    # A single HR cell: LR barycentre at its crystal's centre; exactly known offset.
    one = np.zeros((1, 24, 24))
    one[0, 0, 0] = 1.0
    one_lr = one.reshape(1, 6, 4, 6, 4).sum(axis=(2, 4))
    d = showers.barycentre_distance(one_lr, 22.0, one, 5.5, unit_mm=22.0)
    np.testing.assert_allclose(d, [np.hypot(1.5, 1.5) * 5.5 / 22.0])


def test_barycentre_distance_identical_and_validation():
    rng = np.random.default_rng(2)
    hr = rng.exponential(size=(4, 24, 24))
    np.testing.assert_array_equal(
        showers.barycentre_distance(hr, 5.5, hr.copy(), 5.5, unit_mm=22.0), np.zeros(4)
    )
    with pytest.raises(ValueError, match="different windows"):
        showers.barycentre_distance(hr, 5.5, hr[:, :6, :6], 5.5, unit_mm=22.0)
    with pytest.raises(ValueError, match="numbers of events"):
        showers.barycentre_distance(hr, 5.5, hr[:3], 5.5, unit_mm=22.0)
    with pytest.raises(ValueError, match="shape"):
        showers.barycentre(hr[0])


def test_chunking_matches_single_pass(monkeypatch):
    rng = np.random.default_rng(3)
    images = rng.exponential(size=(10, 6, 6))
    images[4] = 0.0
    expected = showers.shower_width(images, 1.0), showers.barycentre(images)
    monkeypatch.setattr(showers, "_CHUNK", 3)
    np.testing.assert_allclose(showers.shower_width(images, 1.0), expected[0])
    np.testing.assert_allclose(showers.barycentre(images), expected[1])


def test_layer_barycentre_slopes_of_straight_lines():
    depth = np.array([0.0, 10.0, 20.0, 40.0])
    volume = np.zeros((3, 9, 9, 4))
    for layer, d in enumerate(depth):
        volume[0, 4, 2 + int(d // 10), layer] = 1.0  # moves one 5 mm cell per 10 mm along y
        volume[1, 4, 4, layer] = 2.0  # normal incidence
    volume[2, 4, 4, 0] = 1.0  # one layer only: no slope
    slopes = showers.layer_barycentre_slopes(volume, depth, cell_mm=5.0, axis=1)
    assert slopes[0] == pytest.approx(0.5)
    assert slopes[1] == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(slopes[2])
    assert showers.layer_barycentre_slopes(volume, depth, 5.0, axis=0)[0] == pytest.approx(0.0)


def test_core_fractions_hand_computed():
    images = np.zeros((2, 24, 24), np.float32)
    images[0, 10, 10] = 6.0  # hottest
    images[0, 11, 10] = 2.0  # in 3x3
    images[0, 12, 12] = 1.0  # in 5x5
    images[0, 20, 20] = 1.0  # outside 5x5
    images[1, 0, 0] = 3.0  # hottest at a corner: squares are clipped
    images[1, 1, 1] = 1.0
    fractions = showers.core_fractions(images)
    np.testing.assert_allclose(fractions[1], [0.6, 0.75])
    np.testing.assert_allclose(fractions[3], [0.8, 1.0])
    np.testing.assert_allclose(fractions[5], [0.9, 1.0])
    assert np.isnan(showers.core_fractions(np.zeros((1, 24, 24)))[1][0])
    with pytest.raises(ValueError, match="odd"):
        showers.core_fractions(images, sizes=(2,))


def test_sparsity_and_energy_ratio_hand_computed():
    images = np.zeros((3, 2, 3))
    images[0] = [[4.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    images[1] = [[2.0, 2.0, 1.0], [1.0, 0.0, 0.5]]
    np.testing.assert_allclose(showers.sparsity(images), [2 / 6, 5 / 6, 0.0])
    np.testing.assert_allclose(showers.sparsity(images, threshold=1.0), [1 / 6, 2 / 6, 0.0])
    ratio = showers.energy_ratio(images)
    np.testing.assert_allclose(ratio[:2], [3 / 5, 0.0])
    assert np.isnan(ratio[2])


def test_nan_images_have_nan_width_not_zero():
    images = np.zeros((3, 4, 4))
    images[0, 1, 1] = 1.0
    images[1, 2, 2] = np.nan
    width = showers.shower_width(images, 0.01)
    assert width[0] == 0.0 and np.isnan(width[1]) and width[2] == 0.0  # empty: no spread
    assert np.isnan(showers.barycentre(images)[1]).all()
