"""The 2D locally-connected layer, against loops in numpy, and Keras 3's 2×2 'same' padding."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from caloml.layers.locally_connected import LocallyConnected2D


def reference(x, kernel, bias, kernel_size, strides):
    """Keras 2's LocallyConnected2D, one output position at a time."""
    (kh, kw), (sh, sw) = kernel_size, strides
    batch, rows, cols, _ = x.shape
    out_rows, out_cols = (rows - kh) // sh + 1, (cols - kw) // sw + 1
    out = np.zeros((batch, out_rows, out_cols, kernel.shape[-1]))
    for i in range(out_rows):
        for j in range(out_cols):
            window = x[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :].reshape(batch, -1)
            out[:, i, j] = window @ kernel[i * out_cols + j]
            if bias is not None:
                out[:, i, j] += bias[i, j]
    return out


def random_weights(layer, rng):
    weights = [rng.normal(size=w.shape).astype("float32") for w in layer.weights]
    layer.set_weights(weights)
    return weights


@pytest.mark.parametrize("kernel_size", [2, 3])
@pytest.mark.parametrize("strides", [(1, 1), (1, 2), (2, 1)])
@pytest.mark.parametrize("use_bias", [True, False])
def test_matches_the_loop_reference(kernel_size, strides, use_bias):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 7, 3)).astype("float32")
    layer = LocallyConnected2D(4, kernel_size, strides=strides, use_bias=use_bias)
    layer.build(x.shape)
    weights = random_weights(layer, rng)
    expected = reference(x, weights[0], weights[1] if use_bias else None,
                         (kernel_size, kernel_size), strides)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-5, atol=1e-5)


def test_rectangular_kernel_and_activation():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 5, 8, 2)).astype("float32")
    layer = LocallyConnected2D(3, (2, 3), strides=(2, 1), activation="relu")
    layer.build(x.shape)
    kernel, bias = random_weights(layer, rng)
    expected = np.maximum(reference(x, kernel, bias, (2, 3), (2, 1)), 0.0)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-5, atol=1e-5)
    assert (expected == 0).any() and (expected > 0).any()


def test_weights_have_the_keras_2_layout():
    layer = LocallyConnected2D(5, 3, strides=(1, 2))
    layer.build((None, 6, 9, 4))
    # 4 × 4 output positions, 3·3·4 inputs per window.
    assert tuple(layer.kernel.shape) == (16, 36, 5)
    assert tuple(layer.bias.shape) == (4, 4, 5)


@pytest.mark.parametrize("shape, filters, kernel_size, strides, expected", [
    ((5, 98, 64), 16, 3, (1, 2), (3, 48, 16)),  # CaloGAN discriminator, layer 0, first LC
    ((6, 51, 8), 8, 2, (1, 2), (5, 25, 8)),     # layer 0, third LC
])
def test_calogan_discriminator_shapes_and_parameters(shape, filters, kernel_size, strides,
                                                     expected):
    layer = LocallyConnected2D(filters, kernel_size, strides=strides)
    assert layer.compute_output_shape((None, *shape)) == (None, *expected)
    out = layer(np.zeros((1, *shape), "float32"))
    assert out.shape == (1, *expected)
    positions = expected[0] * expected[1]
    window = kernel_size * kernel_size * shape[2]
    assert layer.count_params() == positions * (window * filters + filters)


def test_no_bias_parameter_count():
    layer = LocallyConnected2D(1, 2, use_bias=False)
    layer.build((None, 5, 98, 6))
    assert layer.count_params() == 4 * 97 * (2 * 2 * 6)
    assert layer.bias is None


def test_config_round_trip():
    layer = LocallyConnected2D(3, (2, 3), strides=2, use_bias=False, activation="tanh",
                               kernel_initializer="he_uniform", bias_initializer="ones",
                               kernel_regularizer=keras.regularizers.L2(0.01),
                               bias_regularizer="l1", name="lc")
    config = layer.get_config()
    assert config["kernel_size"] == (2, 3) and config["strides"] == (2, 2)
    clone = LocallyConnected2D.from_config(config)
    assert clone.get_config() == config
    assert clone.activation is keras.activations.tanh
    assert isinstance(clone.kernel_initializer, keras.initializers.HeUniform)
    assert clone.kernel_regularizer.l2 == pytest.approx(0.01)


def test_keras_file_round_trip(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, 6, 2))
    hidden = LocallyConnected2D(3, 2, strides=(1, 2), activation="relu")(inputs)
    outputs = LocallyConnected2D(1, 2, use_bias=False)(hidden)
    model = keras.Model(inputs, outputs)
    for weight in model.weights:  # non-zero biases, so a lost bias shows
        weight.assign(np.random.default_rng(1).normal(size=weight.shape))
    path = str(tmp_path / "lc.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = np.random.default_rng(2).normal(size=(3, 4, 6, 2)).astype("float32")
    np.testing.assert_array_equal(loaded(x), model(x))


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(3)
    layer = LocallyConnected2D(2, 2, strides=(1, 2), activation="tanh", dtype="float64")
    x = tf.Variable(rng.normal(size=(2, 3, 5, 2)))
    layer.build(x.shape)
    random_weights(layer, rng)
    cotangent = rng.normal(size=(2, 2, 2, 2))

    def loss():
        return tf.reduce_sum(layer(x) * cotangent)

    with tf.GradientTape() as tape:
        value = loss()
    grads = tape.gradient(value, [x, layer.kernel, layer.bias])

    def numeric(variable, eps=1e-6):
        flat = variable.numpy().reshape(-1)
        grad = np.zeros_like(flat)
        for n in range(flat.size):
            for sign in (1, -1):
                shifted = flat.copy()
                shifted[n] += sign * eps
                variable.assign(shifted.reshape(variable.shape))
                grad[n] += sign * float(loss()) / (2 * eps)
            variable.assign(flat.reshape(variable.shape))
        return grad.reshape(variable.shape)

    for grad, variable in zip(grads, [x, layer.kernel, layer.bias], strict=True):
        np.testing.assert_allclose(grad, numeric(variable), rtol=1e-6, atol=1e-9)
    # Windows of width 2 at stride 2 cover columns 0-3: column 4 of the input is never read.
    grad_x = grads[0].numpy()
    assert np.all(grad_x[:, :, 4] == 0) and np.all(grad_x[:, :, :4] != 0)


@pytest.mark.parametrize("padding", ["same", "causal"])
def test_only_valid_padding(padding):
    with pytest.raises(ValueError, match="padding must be 'valid'.*ZeroPadding2D"):
        LocallyConnected2D(2, 2, padding=padding)


def test_input_smaller_than_the_kernel():
    layer = LocallyConnected2D(2, (3, 2))
    with pytest.raises(ValueError, match=r"2×5 pixels is smaller than the 3×2 kernel"):
        layer(np.zeros((1, 2, 5, 1), "float32"))


@pytest.mark.parametrize("kwargs, name", [
    ({"kernel_size": 0}, "kernel_size"), ({"kernel_size": (2, 2, 2)}, "kernel_size"),
    ({"kernel_size": 2, "strides": (1, 0)}, "strides"), ({"kernel_size": 2.5}, "kernel_size"),
])
def test_bad_sizes_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        LocallyConnected2D(2, **kwargs)


def test_keras_3_same_padding_of_a_2x2_kernel_is_all_after():
    """Keras 1/2/TF pad an even kernel's 'same' input at the bottom and right only.

    The CaloGAN's 2×2 'same' convolutions rely on it (a PyTorch port needs
    ``ZeroPad2d((0, 1, 0, 1))``).
    """
    conv = keras.layers.Conv2D(1, 2, padding="same", use_bias=False, kernel_initializer="ones")
    x = np.arange(1, 13, dtype="float32").reshape(1, 3, 4, 1)
    padded = np.pad(x[0, :, :, 0], ((0, 1), (0, 1)))
    expected = padded[:-1, :-1] + padded[1:, :-1] + padded[:-1, 1:] + padded[1:, 1:]
    np.testing.assert_array_equal(conv(x)[0, :, :, 0], expected)
    # The last row and column see zeros beyond the image: x[2, 3] alone at the corner.
    assert float(conv(x)[0, 2, 3, 0]) == 12.0
