"""Minibatch discrimination against numpy, its self term and its symmetry over the batch."""

import keras
import numpy as np
import pytest

from caloml.layers.minibatch import MinibatchDiscrimination


def reference(x, kernel, bias, activation=np.tanh):
    """Salimans et al.'s features with explicit loops over the batch pairs."""
    projected = np.einsum("bf,ifk->bik", x, kernel) + bias
    batch, kernels, _ = projected.shape
    out = np.zeros((batch, kernels))
    for b in range(batch):
        for j in range(batch):
            out[b] += np.exp(-np.abs(projected[b] - projected[j]).sum(axis=-1))
    return activation(out)


def built_layer(features=6, seed=0, **kwargs):
    layer = MinibatchDiscrimination(**kwargs)
    layer.build((None, features))
    rng = np.random.default_rng(seed)
    # Small weights, so that the examples are close enough for exp(-distance) to matter.
    layer.set_weights([0.1 * rng.normal(size=w.shape).astype("float32") for w in layer.weights])
    return layer


def test_matches_the_numpy_reference():
    layer = built_layer(num_kernels=4, kernel_dim=3, activation="tanh")
    x = np.random.default_rng(1).normal(size=(5, 6)).astype("float32")
    kernel, bias = layer.get_weights()
    expected = reference(x, kernel, bias)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-5)
    # The other examples contribute: the features are not just tanh(1) from the self term.
    assert np.all(np.arctanh(expected) > 1.05)


def test_without_activation_every_feature_is_at_least_one():
    layer = built_layer(num_kernels=3, kernel_dim=2, use_bias=False)
    assert layer.bias is None
    x = np.random.default_rng(2).normal(size=(4, 6)).astype("float32")
    out = np.asarray(layer(x))
    np.testing.assert_allclose(out, reference(x, layer.get_weights()[0], 0.0, lambda v: v),
                               rtol=1e-5)
    assert np.all(out > 1.0) and np.all(out <= 4.0)


def test_a_batch_of_one_gives_the_activation_of_one():
    layer = built_layer(activation="tanh")
    out = layer(np.random.default_rng(3).normal(size=(1, 6)).astype("float32"))
    np.testing.assert_array_equal(out, np.full((1, 10), np.tanh(np.float32(1.0))))


def test_permuting_the_batch_permutes_the_output():
    layer = built_layer(num_kernels=5, kernel_dim=4, activation="tanh")
    x = np.random.default_rng(4).normal(size=(7, 6)).astype("float32")
    order = np.random.default_rng(5).permutation(7)
    np.testing.assert_allclose(np.asarray(layer(x))[order], layer(x[order]), rtol=1e-6)


def test_identical_examples_score_the_batch_size():
    layer = built_layer(num_kernels=2, kernel_dim=3)
    x = np.tile(np.random.default_rng(6).normal(size=(1, 6)).astype("float32"), (3, 1))
    np.testing.assert_allclose(layer(x), np.full((3, 2), 3.0), rtol=1e-6)


def test_weight_layout_and_parameter_count():
    layer = MinibatchDiscrimination(10, 10)
    layer.build((None, 1000))  # CaloGAN: the 5×25×8 features of layer 0
    assert tuple(layer.kernel.shape) == (10, 1000, 10)
    assert tuple(layer.bias.shape) == (10, 10)
    assert layer.count_params() == 10 * 1000 * 10 + 10 * 10
    assert layer.compute_output_shape((None, 1000)) == (None, 10)


def test_config_round_trip():
    layer = MinibatchDiscrimination(7, 3, activation="tanh", use_bias=False,
                                    kernel_initializer="he_normal", name="mbd")
    config = layer.get_config()
    clone = MinibatchDiscrimination.from_config(config)
    assert clone.get_config() == config
    assert (clone.num_kernels, clone.kernel_dim, clone.use_bias) == (7, 3, False)
    assert clone.activation is keras.activations.tanh


def test_keras_file_round_trip(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,))
    model = keras.Model(inputs, MinibatchDiscrimination(4, 3, activation="tanh")(inputs))
    model.set_weights([0.1 * np.random.default_rng(7).normal(size=w.shape)
                       for w in model.get_weights()])
    path = str(tmp_path / "mbd.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = np.random.default_rng(8).normal(size=(5, 6)).astype("float32")
    np.testing.assert_array_equal(loaded(x), model(x))


@pytest.mark.parametrize("kwargs, name", [({"num_kernels": 0}, "num_kernels"),
                                          ({"kernel_dim": 2.0}, "kernel_dim")])
def test_bad_sizes_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        MinibatchDiscrimination(**kwargs)
