"""Per-layer images on rectangular grids against the exact GFlash rectangle formula."""

import numpy as np
import pytest

from caloml.sim import deposit, gflash, lateral

GRIDS = (deposit.CellGrid(3, 96, 160.0, 5.0), deposit.CellGrid(12, 6, 40.0, 80.0))


def _showers(slice_energy, core_mm, tail_mm, core_fraction, slice_spots=None):
    e = np.asarray(slice_energy, np.float64)
    full = np.broadcast_to
    return gflash.Showers(
        slice_energy_gev=e,
        leakage_gev=np.zeros(len(e)),
        core_radius_mm=full(np.asarray(core_mm, np.float64), e.shape),
        tail_radius_mm=full(np.asarray(tail_mm, np.float64), e.shape),
        core_fraction=full(np.asarray(core_fraction, np.float64), e.shape),
        slice_spots=np.ones(e.shape) if slice_spots is None else np.asarray(slice_spots),
        shower_max_x0=np.zeros(len(e)),
    )


def _exact(grid, x0, y0, slice_energy, core_mm, tail_mm, p):
    image = np.zeros(grid.shape)
    for e, rc, rt, pc in zip(slice_energy, core_mm, tail_mm, p, strict=True):
        for energy, radius in ((e * pc, rc), (e * (1 - pc), rt)):
            image += energy * lateral.student_t_cell_fractions(
                radius, x0, y0, grid.x_edges_mm(), grid.y_edges_mm()
            )
    return image


@pytest.mark.parametrize("impact", [(0.0, 0.0), (13.0, -31.0)])
def test_layer_images_match_the_exact_rectangle_formula(impact):
    """Slices 0-1 go to the 160×5 mm grid, slice 2 to the 40×80 mm grid.

    A fixed impact point uses exact 1D integrals; differing impacts (second event elsewhere)
    use the sub-cell tables. Either way each cell is within 1e-3 of the slice energy.
    """
    energy = np.array([[2.0, 5.0, 1.0], [2.0, 5.0, 1.0]])
    core, tail, p = np.array([2.0, 6.0, 15.0]), np.array([20.0, 45.0, 90.0]), [0.8, 0.6, 0.3]
    showers = _showers(energy, core, tail, p)
    x = np.array([impact[0], 0.0 if impact == (0.0, 0.0) else 100.0])
    y = np.array([impact[1], 0.0])
    images = deposit.expected_images(showers, x, y, GRIDS, slice_group=np.array([0, 0, 1]))
    assert [im.shape for im in images] == [(2, 3, 96), (2, 12, 6)]
    for image, grid, slices in zip(images, GRIDS, (slice(0, 2), slice(2, 3)), strict=True):
        exact = _exact(grid, *impact, energy[0, slices], core[slices], tail[slices], p[slices])
        np.testing.assert_allclose(image[0], exact, atol=1e-3 * energy[0, slices].sum())
        # What the window misses is the heavy tail beyond ±240 mm.
        assert image[0].sum() == pytest.approx(exact.sum(), abs=2e-3)
    groups = deposit.group_energy(showers, np.array([0, 0, 1]), 2)
    np.testing.assert_allclose(groups, [[7.0, 1.0], [7.0, 1.0]])


@pytest.mark.parametrize("x_mm", [(10.0, -50.0), (0.0, 0.0)])
def test_sub_showers_of_an_event_add_up(x_mm):
    """Per-event images are the sums of their sub-showers' (tables, or one fixed kernel)."""
    showers = _showers([[1.0, 2.0], [3.0, 0.5]], [5.0, 8.0], [30.0, 50.0], 0.7)
    grid = deposit.CellGrid(12, 12, 40.0, 40.0)
    x, y = np.array(x_mm), np.array([0.0, 0.0])
    (pair,) = deposit.expected_images(showers, x, y, [grid], per_event=2)
    (single,) = deposit.expected_images(showers, x, y, [grid])
    assert pair.shape == (1, 12, 12) and single.shape == (2, 12, 12)
    np.testing.assert_allclose(pair[0], single[0] + single[1], rtol=1e-5, atol=1e-7)


def test_group_spot_energy_hand_computed():
    # Slices of 4, 2 and 0.5 GeV with 8, 2 and 0 (-> 1) spots in layers 0, 0 and 2; the empty
    # layers 1 and 3 get the placeholder 1 GeV.
    showers = _showers([[4.0, 2.0, 0.5]], 1.0, 1.0, 0.5, slice_spots=[[8.0, 2.0, 0.0]])
    spot = deposit.group_spot_energy(showers, np.array([0, 0, 2]), 4)
    np.testing.assert_allclose(spot, [[(16 / 8 + 4 / 2) / 6, 1.0, 0.25 / 0.5, 1.0]])
    with pytest.raises(ValueError, match="slice_group"):
        deposit.expected_images(showers, np.zeros(1), np.zeros(1), GRIDS, np.array([0, 0, 2]))
