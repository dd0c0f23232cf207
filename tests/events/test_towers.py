"""The CALPAGAN tower grid and the propagation of particles to the calorimeter face."""

import numpy as np
import pytest

from caloml.events import towers


def test_grid_is_the_cms_tower_edges():
    assert towers.ETA_EDGES.shape == (73,) and towers.PHI_EDGES.shape == (73,)
    np.testing.assert_allclose(towers.ETA_EDGES, -towers.ETA_EDGES[::-1])
    # Barrel towers are 0.087 wide up to |eta| = 1.74, HF ends at ieta 36 (4.191).
    np.testing.assert_allclose(np.diff(towers.ETA_EDGES[36:57]), 0.087, atol=1e-9)
    assert towers.ETA_EDGES[-1] == 4.191 and towers.ETA_EDGES[36 + 29] == 3.0
    assert np.all(np.diff(towers.ETA_EDGES) > 0)
    np.testing.assert_allclose(np.diff(towers.PHI_EDGES), np.deg2rad(5.0))


def test_tower_index_and_outside():
    i_eta, i_phi = towers.tower_index(np.array([0.0, 0.0869, -0.001, 4.19, 4.2, -4.192]),
                                      np.array([0.0, -np.pi, np.pi, 0.01, 0.0, 0.0]))
    np.testing.assert_array_equal(i_eta, [36, 36, 35, 71, -1, -1])
    # phi = pi wraps to the first bin (phi = -pi).
    np.testing.assert_array_equal(i_phi, [36, 0, 0, 36, -1, -1])


def test_neutral_particles_fly_straight():
    out = towers.propagate(np.array([5.0, 5.0]), np.array([0.4, 2.5]), np.array([1.0, -2.0]),
                           np.zeros(2))
    np.testing.assert_allclose(out["eta"], [0.4, 2.5])
    np.testing.assert_allclose(out["phi"], [1.0, -2.0])
    np.testing.assert_array_equal(out["barrel"], [True, False])
    assert out["reaches"].all()


def test_charged_particles_bend_by_the_helix_angle():
    # 10 GeV at eta 0 in 3.8 T: the chord to R = 1.29 m turns by 2 asin(0.3 B R / 2 pT).
    pt = 10.0
    alpha = 2 * np.arcsin(towers.GEV_PER_TESLA_METRE * 3.8 * 1.29 / (2 * pt))
    out = towers.propagate(np.array([pt, pt]), np.zeros(2), np.zeros(2), np.array([1.0, -1.0]))
    np.testing.assert_allclose(out["phi"], [-alpha / 2, alpha / 2])
    np.testing.assert_allclose(out["eta"], 0.0, atol=1e-12)
    # No field: no bending.
    straight = towers.propagate(np.array([pt]), np.zeros(1), np.zeros(1), np.ones(1),
                                field_t=0.0)
    np.testing.assert_allclose(straight["phi"], 0.0)


def test_loopers_never_reach_and_forward_loopers_hit_the_end_cap():
    # pT < 0.3 B R / 2 = 0.735 GeV at eta 0: loops inside the tracker.
    out = towers.propagate(np.array([0.5, 0.5]), np.array([0.0, 3.0]), np.zeros(2),
                           np.array([1.0, 1.0]))
    assert not out["reaches"][0]
    assert out["reaches"][1] and not out["barrel"][1]
    # The end-cap impact: z = 3 m at the transverse chord of the helix.
    rho = 0.5 / (towers.GEV_PER_TESLA_METRE * 3.8)
    arc = 3.0 / np.sinh(3.0)
    chord = 2 * rho * abs(np.sin(arc / rho / 2))
    assert out["eta"][1] == pytest.approx(np.arcsinh(3.0 / chord))
