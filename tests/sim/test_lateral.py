"""Gaussian-mixture lateral profiles against the exact rectangle formula (PHYSICS.md §1.4)."""

import numpy as np
import pytest
from scipy import stats

from caloml.sim import lateral

CELL, NUM = 5.5, 96
LOW = -CELL * NUM / 2
EDGES = LOW + CELL * np.arange(NUM + 1)


def _quantised(x):
    """The impact position the tables resolve (1/SUBCELL of a cell)."""
    c = (x - LOW) / CELL
    cell = np.floor(c)
    q = np.floor((c - cell) * lateral.SUBCELL)
    return LOW + (cell + (q + 0.5) / lateral.SUBCELL) * CELL


def _mixture_image(radius, x0, y0):
    edges, widths = lateral.width_grid()
    w = lateral.mixture_weights(np.ones((1, 1)), np.array([[radius]]), edges)[0]
    gx = lateral.profiles_1d(np.array([x0]), LOW, CELL, NUM, tuple(widths))[0]
    gy = lateral.profiles_1d(np.array([y0]), LOW, CELL, NUM, tuple(widths))[0]
    return (gx * w[:, None]).T @ gy


def test_rectangle_formula_integrates_to_known_fractions():
    far = np.array([-1e7, 0.0, 1e7])
    quadrants = lateral.student_t_cell_fractions(10.0, 0.0, 0.0, far, far)
    np.testing.assert_allclose(quadrants, 0.25, atol=1e-6)
    # Radial CDF r²/(r²+R²) bounds the energy in a square: inscribed and circumscribed circles.
    square = lateral.student_t_cell_fractions(10.0, 0.0, 0.0, [-10, 10], [-10, 10]).item()
    assert 0.5 < square < 2 / 3


@pytest.mark.parametrize("radius", [0.5, 2.0, 8.0, 22.0, 60.0, 200.0])
@pytest.mark.parametrize("impact", [(0.3, 0.1), (11.0, 11.0), (-101.2, 37.9), (250.0, -3.0)])
def test_mixture_matches_exact_cell_integrals(radius, impact):
    x0, y0 = impact
    image = _mixture_image(radius, x0, y0)
    exact = lateral.student_t_cell_fractions(radius, _quantised(x0), _quantised(y0), EDGES, EDGES)
    assert np.abs(image - exact).max() < 1e-3
    assert image.sum() == pytest.approx(exact.sum(), abs=2e-3)


def test_mixture_weights_conserve_energy():
    rng = np.random.default_rng(0)
    energy = rng.exponential(1.0, (50, 20))
    radius = rng.uniform(0.1, 5000.0, (50, 20))
    edges, widths = lateral.width_grid()
    w = lateral.mixture_weights(energy, radius, edges)
    assert w.shape == (50, len(widths))
    assert (w >= -1e-6).all()
    np.testing.assert_allclose(w.sum(axis=1), energy.sum(axis=1), rtol=1e-5)


def test_far_away_shower_lands_outside_the_window():
    image = _mixture_image(5.0, 3 * NUM * CELL, 0.0)
    assert image.sum() < 1e-4


def test_grouped_mixture_weights_are_the_weights_of_each_group():
    rng = np.random.default_rng(1)
    energy = rng.exponential(1.0, (30, 12))
    radius = rng.uniform(0.5, 500.0, (30, 12))
    group = np.array([0, 0, 1, 2, 2, 2, 0, 0, 1, 2, 2, 2])
    edges, _ = lateral.width_grid()
    grouped = lateral.mixture_weights_by_group(energy, radius, edges, group, 4)
    assert grouped.shape == (30, 4, len(edges) + 1)
    for g in range(3):
        alone = lateral.mixture_weights(energy[:, group == g], radius[:, group == g], edges)
        np.testing.assert_allclose(grouped[:, g], alone, rtol=1e-4, atol=1e-6)
    assert not grouped[:, 3].any()


def test_exact_gaussian_cell_integrals_on_uneven_cells():
    widths = (0.5, 4.0, 40.0)
    edges = np.array([-100.0, -3.0, 0.0, 1.0, 7.5, 200.0])
    integrals = lateral.gaussian_cell_integrals(0.0, edges, widths)
    assert integrals.shape == (3, 5)
    for k, sigma in enumerate(widths):
        np.testing.assert_allclose(integrals[k], np.diff(stats.norm.cdf(edges, scale=sigma)),
                                   atol=1e-15)
