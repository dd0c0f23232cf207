"""Power scaling, measured angle and intensity-bin counts of 3D showers, against numpy."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from caloml.data import threedgan
from caloml.errors import InputError
from caloml.layers import calorimeter, shower3d

DEPTH_MM = [float(z) for z in threedgan.LAYER_DEPTH_MM]


def _angle_layer(**kwargs):
    return shower3d.MeasuredAngle(threedgan.CELL_SIZE_MM, DEPTH_MM, **kwargs)


def _random_showers(n, seed, shape=(51, 51, 25)):
    rng = np.random.default_rng(seed)
    cells = rng.gamma(0.3, 1.0, size=(n, *shape)) * (rng.random((n, *shape)) < 0.2)
    return cells.astype("float32")


def test_power_scale_values_and_gradients_at_zero():
    x = np.array([[0.0, 1.0, 4.0, 0.25]], "float32")
    np.testing.assert_allclose(shower3d.PowerScale(0.5)(x), [[0.0, 1.0, 2.0, 0.5]])
    np.testing.assert_allclose(shower3d.PowerScale(2.0)(np.array([[-3.0, 3.0]], "float32")),
                               [[0.0, 9.0]])  # a negative cell counts as 0, not NaN
    for exponent, expected in ((1 / 0.85, [0.0, 1 / 0.85]), (0.85, [np.inf, 0.85])):
        cells = tf.constant([0.0, 1.0])
        with tf.GradientTape() as tape:
            tape.watch(cells)
            y = shower3d.PowerScale(exponent)(cells)
        # d/dx x^p at 0: 0 above p = 1, infinite below (why 0.85 never follows a generator).
        np.testing.assert_allclose(tape.gradient(y, cells), expected, rtol=1e-6)
    with pytest.raises(InputError, match="exponent must be a positive number"):
        shower3d.PowerScale(0.0)


def test_measured_angle_equals_the_numpy_measurement_on_random_showers():
    cells = _random_showers(5, seed=0)
    cells[1] = 0.0  # empty: 100
    cells[2] = 0.0  # all in one layer: no slope, 100
    cells[2, 10, 20, 5], cells[2, 11, 25, 5] = 3.0, 1.0
    cells[3] = 0.0  # two cells in two layers: the line through them
    cells[3, 25, 25, 3], cells[3, 25, 27, 7] = 1.0, 1e-4
    expected = threedgan.measured_theta(cells)
    assert expected[1] == expected[2] == 100.0 and abs(expected[3] - 1.0456) < 1e-4
    layer = _angle_layer()
    np.testing.assert_allclose(np.asarray(layer(cells))[:, 0], expected, rtol=0, atol=2e-6)
    np.testing.assert_allclose(np.asarray(layer(cells[..., None]))[:, 0], expected, rtol=0,
                               atol=2e-6)
    assert layer.compute_output_shape((None, 51, 51, 25, 1)) == (None, 1)
    assert layer.count_params() == 0
    custom = _angle_layer(undefined_value=-1.0)
    assert float(custom(cells[1:2])[0, 0]) == -1.0


def _straight_track(theta, transverse_slope=0.0, shape=(51, 51, 25)):
    """One shower whose barycentre in layer l moves by (cot θ, slope) · (z_l − z_0) mm.

    Each layer's energy is split between two neighbouring cells so that its barycentre is
    exactly on the line; layer energies vary, which a least-squares fit of a line ignores.
    """
    cells = np.zeros(shape, np.float64)
    depth = np.asarray(DEPTH_MM)
    size = threedgan.CELL_SIZE_MM
    for layer, z in enumerate(depth):
        energy = 1.0 + layer % 3
        b = (shape[1] - 1) / 2 + (z - depth[0]) / math.tan(theta) / size - 5.0
        t = (shape[0] - 1) / 2 + (z - depth[0]) * transverse_slope / size
        (b0, fb), (t0, ft) = ((int(np.floor(v)), v - np.floor(v)) for v in (b, t))
        for ti, wt in ((t0, 1 - ft), (t0 + 1, ft)):
            for bi, wb in ((b0, 1 - fb), (b0 + 1, fb)):
                cells[ti, bi, layer] += energy * wt * wb
    return cells.astype("float32")


@pytest.mark.parametrize("theta_deg", [60.0, 75.0, 90.0, 105.0, 120.0])
def test_measured_angle_of_straight_tracks_is_their_angle(theta_deg):
    theta = math.radians(theta_deg)
    tracks = np.stack([_straight_track(theta), _straight_track(theta, transverse_slope=0.2)])
    slope_b = 1 / math.tan(theta)
    expected = [theta, math.atan2(math.sqrt(1 + 0.2**2), slope_b)]
    measured = np.asarray(_angle_layer()(tracks))[:, 0]
    np.testing.assert_allclose(measured, expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(threedgan.measured_theta(tracks), expected, rtol=0, atol=1e-6)


def test_measured_angle_gradients_are_finite_and_match_numpy_differences():
    cells = _random_showers(2, seed=1)
    cells[0] = 0.0
    x = tf.constant(cells[..., None])
    with tf.GradientTape() as tape:
        tape.watch(x)
        angle = _angle_layer()(x)
    gradient = tape.gradient(angle, x).numpy()[..., 0]
    assert np.all(np.isfinite(gradient))
    assert np.all(gradient[0] == 0.0)  # the empty shower takes 100 whatever its cells
    # A cell's derivative against a central difference of the float64 numpy measurement.
    shower = cells[1].astype(np.float64)
    for cell in ((25, 30, 20), (20, 10, 2), (40, 25, 12)):
        step = np.zeros_like(shower)
        step[cell] = 1e-3
        difference = (threedgan.measured_theta((shower + step)[None])[0]
                      - threedgan.measured_theta((shower - step)[None])[0]) / 2e-3
        assert abs(difference) > 1e-6
        assert gradient[1][cell] == pytest.approx(difference, rel=1e-3, abs=1e-8)


def test_measured_angle_refuses_mismatched_windows():
    with pytest.raises(InputError, match="25 layer depths for showers of 20 layers"):
        _angle_layer()(np.zeros((1, 51, 51, 20), "float32"))
    with pytest.raises(InputError, match=r"expected showers \[batch, x, y, layer\]"):
        _angle_layer()(np.zeros((1, 51, 51, 25, 2), "float32"))
    with pytest.raises(InputError, match="two or more finite depths"):
        shower3d.MeasuredAngle(5.1, [3.0])


# 3DGAN's limits with the power 1: bins (0.05, ∞), (0.03, 0.05), (0.02, 0.03), (0.0125, 0.02),
# (0.008, 0.0125), (0.003, 0.008), (0, 0.003), == 0.
CELLS = [0.1, 0.07, 0.05, 0.04, 0.025, 0.015, 0.01, 0.005, 0.003, 0.001, 0.0, 0.0, -0.01]


def test_bin_counts_are_strict_by_hand():
    x = np.zeros((2, 13), "float32")
    x[0] = CELLS
    x[1, :4] = [0.0125, 0.0124, 0.02, 1.0]  # on a limit, just below it, on one, far above
    counts = shower3d.IntensityBinCounts(1.0)(x)
    # Row 0: 0.05 and 0.003 lie on limits and -0.01 below 0: in no bin.
    # Row 1: 0.0124 in (0.008, 0.0125), 1.0 above 0.05, nine zeros; 0.0125 and 0.02 nowhere.
    np.testing.assert_array_equal(counts, [[2, 1, 1, 1, 1, 1, 1, 2],
                                           [1, 0, 0, 0, 1, 0, 0, 9]])


def test_bin_counts_raise_the_limits_to_the_power():
    power = 0.85
    x = (np.array(CELLS[:-1], np.float64) ** power).astype("float32")[None]
    x[0, 2] = np.float32(0.05**power)  # exactly on the top limit after the power
    layer = shower3d.IntensityBinCounts(power)
    np.testing.assert_array_equal(layer(x), [[2, 1, 1, 1, 1, 1, 1, 2]])
    np.testing.assert_array_equal(layer(x.reshape(1, 3, 2, 2, 1)), [[2, 1, 1, 1, 1, 1, 1, 2]])
    assert layer.compute_output_shape((None, 51, 51, 25, 1)) == (None, 8)
    # With the power 1 the same cells fall differently: 0.1, 0.07, 0.05, 0.04 to the 0.85 > 0.05.
    assert np.asarray(shower3d.IntensityBinCounts(1.0)(x))[0, 0] == 4
    with pytest.raises(InputError, match="strictly decreasing"):
        shower3d.IntensityBinCounts(1.0, limits=(0.01, 0.02))


def test_cell_sum_takes_the_five_dimensional_windows():
    cells = _random_showers(2, seed=2, shape=(3, 4, 5))
    np.testing.assert_allclose(calorimeter.CellSum()(cells[..., None])[:, 0],
                               cells.reshape(2, -1).sum(axis=1), rtol=1e-6)


@pytest.mark.parametrize("layer", [
    shower3d.PowerScale(1 / 0.85),
    shower3d.MeasuredAngle(4.0, [1.0, 2.0, 4.0], undefined_value=-7.0),
    shower3d.IntensityBinCounts(0.5, limits=(0.2, 0.1)),
], ids=lambda layer: type(layer).__name__)
def test_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


def test_keras_file_round_trip(tmp_path):
    image = keras.Input((3, 4, 3, 1))
    cells = shower3d.PowerScale(2.0)(image)
    angle = shower3d.MeasuredAngle(2.0, [0.0, 1.0, 3.0])(cells)
    counts = shower3d.IntensityBinCounts(0.5, limits=(0.5, 0.1))(image)
    model = keras.Model(image, keras.layers.Concatenate()([angle, counts]))
    path = str(tmp_path / "shower3d.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = _random_showers(3, seed=4, shape=(3, 4, 3))[..., None] / 2
    out = np.asarray(model(x))
    assert out.shape == (3, 5)
    np.testing.assert_array_equal(np.asarray(loaded(x)), out)
    assert loaded.layers[2].get_config()["layer_depth_mm"] == [0.0, 1.0, 3.0]
