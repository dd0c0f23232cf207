"""The in-painting attention: its starting point, its blend, its weights and its reload."""

import keras
import numpy as np
import pytest

from caloml.layers.attention import InpaintingAttention
from caloml.layers.locally_connected import LocallyConnected2D


def images(seed=0, shape=(2, 4, 5, 1), carryover_scale=10.0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape).astype("float32"),
            carryover_scale * rng.normal(size=shape).astype("float32")]


def test_at_initialisation_the_output_is_the_primary_image():
    keras.utils.set_random_seed(0)
    primary, carryover = images(carryover_scale=1.0)
    layer = InpaintingAttention()
    out = np.asarray(layer([primary, carryover]))
    # out = primary + w·(carryover - primary), w = e^-10 ≈ 4.5e-5 moved by the Glorot kernel's
    # scores (±0.1 weights on unit images: a factor e^±1 or so).
    leak = np.abs(out - primary) / np.abs(carryover - primary)
    assert leak.max() < 2e-4
    assert leak.min() > 1e-5  # the carry-over does leak, a little


def test_zero_kernel_blend_is_exact():
    primary, carryover = images(1)
    layer = InpaintingAttention()
    layer([primary, carryover])
    layer.scores.kernel.assign(np.zeros(layer.scores.kernel.shape))
    leak = np.exp(-10.0)
    np.testing.assert_allclose(layer([primary, carryover]),
                               (primary + leak * carryover) / (1 + leak), rtol=1e-6, atol=1e-7)
    # With no bias either, both scores are 0: the mean of the two images.
    layer.scores.bias.assign(np.zeros(layer.scores.bias.shape))
    np.testing.assert_allclose(layer([primary, carryover]), (primary + carryover) / 2,
                               rtol=1e-6, atol=1e-6)


def test_scores_see_the_zero_padded_neighbourhood():
    primary, carryover = images(2, (1, 3, 3, 1))
    layer = InpaintingAttention(carryover_bias=0.0)
    layer([primary, carryover])
    # Only the primary channel's score reads one pixel: the centre of the window, kernel row 1,
    # column 1, channel 1 (the carry-over) of every position, with weight 1.
    kernel = np.zeros(layer.scores.kernel.shape, "float32")
    kernel[:, (1 * 3 + 1) * 2 + 1, 0] = 1.0
    layer.scores.kernel.assign(kernel)
    weight_primary = 1 / (1 + np.exp(-carryover))
    expected = weight_primary * primary + (1 - weight_primary) * carryover
    np.testing.assert_allclose(layer([primary, carryover]), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kernel_size, rows, cols", [(3, 12, 12), (3, 12, 6), (5, 4, 3)])
def test_weights_and_parameter_count(kernel_size, rows, cols):
    layer = InpaintingAttention(kernel_size=kernel_size, carryover_bias=-7.0)
    layer.build([(None, rows, cols, 1)] * 2)
    assert isinstance(layer.scores, LocallyConnected2D)
    assert layer.count_params() == rows * cols * (kernel_size ** 2 * 2 * 2 + 2)
    bias = layer.scores.bias.numpy()
    assert bias.shape == (rows, cols, 2)
    np.testing.assert_array_equal(bias[..., 0], 0.0)
    np.testing.assert_array_equal(bias[..., 1], -7.0)
    assert layer.compute_output_shape([(None, rows, cols, 1)] * 2) == (None, rows, cols, 1)


def test_config_round_trip():
    layer = InpaintingAttention(kernel_size=5, carryover_bias=-3.0,
                                kernel_initializer="zeros", name="attention_1")
    config = layer.get_config()
    clone = InpaintingAttention.from_config(config)
    assert clone.get_config() == config
    assert (clone.kernel_size, clone.carryover_bias) == (5, -3.0)


def test_keras_file_round_trip(tmp_path):
    keras.utils.set_random_seed(1)
    primary = keras.Input((4, 5, 1))
    carryover = keras.Input((4, 5, 1))
    model = keras.Model([primary, carryover], InpaintingAttention()([primary, carryover]))
    # Move the weights away from their initial values, so that a reload that re-initialises
    # them (instead of reading the file) would show.
    model.set_weights([w + np.random.default_rng(2).normal(size=w.shape)
                       for w in model.get_weights()])
    path = str(tmp_path / "attention.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = images(3)
    np.testing.assert_array_equal(loaded(x), model(x))
    assert len(loaded.weights) == 2


@pytest.mark.parametrize("shapes", [
    [(None, 4, 5, 1), (None, 4, 6, 1)],
    [(None, 4, 5, 2), (None, 4, 5, 2)],
    [(None, 4, 5, 1)],
])
def test_mismatched_inputs(shapes):
    with pytest.raises(ValueError, match=r"\[primary, carryover\], both \[batch, H, W, 1\]"):
        InpaintingAttention().build(shapes)


@pytest.mark.parametrize("kernel_size", [2, 0])
def test_even_or_empty_kernel(kernel_size):
    with pytest.raises(ValueError, match="kernel_size must be an odd positive integer"):
        InpaintingAttention(kernel_size=kernel_size)
