"""ESRGAN's residual-in-residual dense blocks."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from caloml.layers import rrdb


def test_scaled_residual_and_its_config():
    layer = rrdb.ScaledResidual(0.2)
    out = layer([tf.ones((2, 3)), tf.fill((2, 3), 5.0)])
    np.testing.assert_allclose(out, np.full((2, 3), 2.0), rtol=1e-6)
    assert rrdb.ScaledResidual.from_config(layer.get_config()).scale == pytest.approx(0.2)


def _block_model(filters=4, dense_blocks=2, convs=3, beta=0.3):
    inputs = keras.Input((5, 5, filters))
    outputs = rrdb.apply_rrdb(inputs, filters, 3, dense_blocks, convs, beta, "silu", "block")
    return keras.Model(inputs, outputs)


def test_rrdb_parameter_count_and_shape():
    model = _block_model()
    # Conv k of a dense block sees k·filters channels; 3×3 kernels with biases.
    per_dense_block = sum(9 * k * 4 * 4 + 4 for k in range(1, 4))
    assert model.count_params() == 2 * per_dense_block
    assert model(np.ones((2, 5, 5, 4), np.float32)).shape == (2, 5, 5, 4)


def test_zero_convolutions_make_the_rrdb_x_plus_beta_x():
    model = _block_model(beta=0.3)
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    x = np.random.default_rng(0).random((2, 5, 5, 4), dtype=np.float32)
    # Each dense block returns x + β·0 = x; the RRDB adds β·x.
    np.testing.assert_allclose(model(x), 1.3 * x, rtol=1e-6)


def test_the_last_convolution_of_a_dense_block_is_linear():
    model = _block_model()
    convs = {layer.name: layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)}
    assert convs["block_dense_1_conv_3"].activation.__name__ == "linear"
    assert convs["block_dense_1_conv_1"].activation.__name__ == "silu"
