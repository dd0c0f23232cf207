"""Global pixel grid, sum pooling, windows, jet finding and the paired selection."""

import math

import numpy as np
import pytest

from caloml.jets import images

DELTA = images.PIXEL_SIZE_RAD


def test_the_phi_grid_closes_and_the_pooled_grids_nest():
    assert DELTA == pytest.approx(2 * math.pi / 640) and DELTA == pytest.approx(0.009817, 1e-4)
    rng = np.random.default_rng(0)
    eta = rng.uniform(-3, 3, 5000)
    phi = rng.uniform(-math.pi, math.pi, 5000)
    i_eta, i_phi = images.pixel_index(eta, phi)
    assert i_phi.min() >= 0 and i_phi.max() <= 639
    for factor in images.FACTORS:
        f_eta, f_phi = images.pixel_index(eta, phi, factor)
        np.testing.assert_array_equal(f_eta, i_eta // factor)
        np.testing.assert_array_equal(f_phi, i_phi // factor)
        assert f_phi.max() < 640 // factor
    # -pi and pi are the same pixel; just below pi is the last one.
    assert images.pixel_index([0.0], [-math.pi])[1][0] == 0
    assert images.pixel_index([0.0], [math.pi])[1][0] == 0
    assert images.pixel_index([0.0], [math.pi - 1e-9])[1][0] == 639
    # Pixel centres are inside their pixels.
    c_eta, c_phi = images.pixel_centre(i_eta, i_phi)
    back = images.pixel_index(c_eta, c_phi)
    np.testing.assert_array_equal(back[0], i_eta)
    np.testing.assert_array_equal(back[1], i_phi)


def test_pooling_sums_pixels_on_the_global_grid():
    rng = np.random.default_rng(1)
    event = np.sort(rng.integers(0, 5, 2000))
    eta, phi = rng.normal(0.3, 0.4, 2000), rng.normal(3.0, 0.4, 2000)
    pt = rng.exponential(5.0, 2000)
    hr = images.pixelise(event, eta, phi, pt)
    for factor in images.FACTORS:
        pooled = images.pool(hr, factor)
        direct = images.pixelise(event, eta, phi, pt, factor)
        np.testing.assert_array_equal(pooled.event, direct.event)
        np.testing.assert_array_equal(pooled.i_eta, direct.i_eta)
        np.testing.assert_array_equal(pooled.i_phi, direct.i_phi)
        np.testing.assert_allclose(pooled.pt_gev, direct.pt_gev, rtol=1e-12)
        np.testing.assert_allclose(np.bincount(pooled.event, pooled.pt_gev),
                                   np.bincount(event, pt), rtol=1e-12)


def test_window_edges_lie_on_every_coarse_grid():
    rng = np.random.default_rng(2)
    eta, phi = rng.uniform(-2, 2, 1000), rng.uniform(-math.pi, math.pi, 1000)
    start_eta, start_phi, centre = images.window_start(eta, phi)
    assert (start_eta % 8 == 0).all() and (start_phi % 8 == 0).all()
    assert ((start_phi >= 0) & (start_phi < 640)).all()
    # The centre is the axis snapped to the nearest multiple of 8 pixels.
    assert np.abs(centre[:, 0] - eta).max() <= 4 * DELTA + 1e-12
    assert np.abs(np.mod(centre[:, 1] - phi + math.pi, 2 * math.pi) - math.pi).max() <= \
        4 * DELTA + 1e-12
    np.testing.assert_allclose(np.round(centre / (8 * DELTA)), centre / (8 * DELTA), atol=1e-9)
    # The window's first HR row starts 80 pixels below the centre.
    np.testing.assert_allclose(start_eta * DELTA, centre[:, 0] - 80 * DELTA, atol=1e-9)


def _in_window(eta, phi, centre):
    d_eta = eta - centre[0]
    d_phi = np.mod(phi - centre[1] + math.pi, 2 * math.pi) - math.pi
    half = 80 * DELTA
    return (d_eta >= -half) & (d_eta < half) & (d_phi >= -half) & (d_phi < half)


@pytest.mark.parametrize("axis_phi", [0.7, math.pi - 0.05, -math.pi + 0.02])
def test_image_pt_equals_the_in_window_constituent_pt(axis_phi):
    rng = np.random.default_rng(3)
    num = 3000
    eta = rng.normal(1.1, 0.5, num)
    phi = np.mod(axis_phi + rng.normal(0, 0.5, num) + math.pi, 2 * math.pi) - math.pi
    pt = rng.exponential(3.0, num)
    event = np.zeros(num, np.int64)
    pixels = images.pixelise(event, eta, phi, pt)
    start_eta, start_phi, centre = images.window_start([1.1], [axis_phi])
    hr = images.window_images(pixels, start_eta, start_phi)
    assert hr.shape == (1, 160, 160) and hr.dtype == np.float32
    inside = _in_window(eta, phi, centre[0])
    assert 0 < inside.sum() < num  # some constituents fall outside
    assert hr.sum() == pytest.approx(pt[inside].sum(), rel=1e-5)
    for factor in images.FACTORS:
        lr = images.window_images(images.pool(pixels, factor), start_eta, start_phi)
        assert lr.shape == (1, 160 // factor, 160 // factor)
        n = 160 // factor
        np.testing.assert_allclose(hr.reshape(1, n, factor, n, factor).sum((2, 4)), lr,
                                   rtol=1e-5, atol=1e-4)


def test_phi_wraps_around_inside_the_window():
    # Two particles just either side of phi = +-pi, in a window centred at pi.
    eta = np.array([0.0, 0.0])
    phi = np.array([math.pi - 0.5 * DELTA, -math.pi + 0.5 * DELTA])
    pixels = images.pixelise(np.zeros(2, np.int64), eta, phi, np.array([10.0, 20.0]))
    start_eta, start_phi, centre = images.window_start([0.0], [math.pi - 0.001])
    assert centre[0, 1] == pytest.approx(-math.pi)
    image = images.window_images(pixels, start_eta, start_phi)[0]
    # Axis 2 increases in phi: pi - delta/2 is the last pixel before the centre, -pi + delta/2
    # the first after it.
    assert image[80, 79] == pytest.approx(10.0) and image[80, 80] == pytest.approx(20.0)
    assert image.sum() == pytest.approx(30.0)


def test_eta_is_axis_one_and_increasing():
    pixels = images.pixelise(np.zeros(2, np.int64), np.array([0.2, 0.3]), np.array([0.0, 0.0]),
                             np.array([1.0, 2.0]))
    start_eta, start_phi, _ = images.window_start([0.25], [0.0])
    image = images.window_images(pixels, start_eta, start_phi)[0]
    rows, columns = np.nonzero(image)
    assert len(set(columns)) == 1 and rows[0] < rows[1]
    assert image[rows[1], columns[1]] == pytest.approx(2.0)


def _momenta(pt, eta, phi):
    pt, eta, phi = map(np.asarray, (pt, eta, phi))
    return np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)],
                    axis=-1)


def test_cluster_hardest_finds_the_hardest_jet_and_its_members():
    # Event 0: a 300 GeV and a 100 GeV cluster far apart; event 1: nothing; event 2: one jet.
    pt = [200.0, 100.0, 60.0, 40.0, 50.0, 30.0]
    eta = [0.0, 0.1, 2.0, 2.1, -1.0, -1.05]
    phi = [0.0, 0.1, 2.0, 2.1, 0.5, 0.6]
    event = np.array([0, 0, 0, 0, 2, 2])
    jets = images.cluster_hardest(event, _momenta(pt, eta, phi), 3)
    np.testing.assert_array_equal(jets.member, [True, True, False, False, True, True])
    np.testing.assert_array_equal(jets.num_constituents, [2, 0, 2])
    kinematics = jets.kinematics()
    assert kinematics[0, 0] == pytest.approx(299.5, abs=0.5)
    np.testing.assert_array_equal(kinematics[1], 0.0)
    assert kinematics[2, 1] == pytest.approx(-1.02, abs=0.01)


def _selection_inputs(num):
    jet = np.tile([600.0, 0.5, 3.1, 170.0], (num, 1))
    lr = {f: jet.copy() for f in images.FACTORS}
    counts = np.full(num, 30)
    return jet, counts, lr, {f: counts.copy() for f in images.FACTORS}


def test_selection_rules():
    jet, counts, lr, lr_counts = _selection_inputs(9)
    jet[1, 0] = 549.0  # below the pT window
    jet[2, 1] = -2.0  # |eta| not below 2
    counts[3] = 14  # HR jet with 14 constituents
    lr_counts[4][4] = 14  # LR_4 jet with 14 constituents
    lr[8][5, 1] += 0.1001  # Delta R just above 0.1 for f = 8
    lr[2][6, 1] += 0.0999  # Delta R just below 0.1
    lr[2][7, 2] = -3.13  # across phi = pi: Delta R = 2 pi - 6.23 = 0.053
    counts[8] = 15  # exactly 15 passes
    jet[8, 0] = 650.0  # the window is inclusive
    keep = images.selection(jet, counts, lr, lr_counts)
    np.testing.assert_array_equal(keep, [True, False, False, False, False, False, True, True,
                                         True])
