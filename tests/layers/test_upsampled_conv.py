"""UpsampledConv3D against UpSampling3D + Conv3D, by hand, and its FLOP count."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from caloml import benchmarking
from caloml.errors import InputError
from caloml.layers.upsampled_conv import UpsampledConv3D, upsampled_conv3d_flops


def test_a_one_dimensional_case_by_hand():
    # x = [1, 2, 3], ×2 → [1, 1, 2, 2, 3, 3], kernel [1, 10, 100]: 1 + 10 + 2·100 = 211, ...
    layer = UpsampledConv3D(1, (3, 1, 1), (2, 1, 1), kernel_initializer="zeros")
    x = np.array([1.0, 2.0, 3.0], "float32").reshape(1, 3, 1, 1, 1)
    layer.build(x.shape)
    layer.kernel.assign(np.array([1.0, 10.0, 100.0], "float32").reshape(3, 1, 1, 1, 1))
    layer.bias.assign([0.5])
    np.testing.assert_array_equal(np.asarray(layer(x))[0, :, 0, 0, 0],
                                  [211.5, 221.5, 322.5, 332.5])
    # Phase 0 reads taps 0, 1 at offset 0 and tap 2 at offset 1; phase 1 tap 0, then taps 1, 2.
    effective = np.asarray(layer.effective_kernel())  # [m, 1, 1, c_in, u · filters]
    assert effective.shape == (2, 1, 1, 1, 2)
    np.testing.assert_array_equal(effective[:, 0, 0, 0, :].T, [[11.0, 100.0], [1.0, 110.0]])


CASES = {
    "anglegan": ((1, 9, 9, 8, 8), 8, (6, 6, 8), (6, 6, 6)),
    "asymmetric": ((2, 3, 4, 2, 3), 2, (2, 5, 3), (3, 2, 4)),
    "plain_conv": ((2, 5, 4, 6, 2), 3, (3, 2, 4), (1, 1, 1)),
    "kernel_below_factor": ((2, 3, 2, 3, 2), 2, (2, 1, 3), (4, 3, 5)),
    "kernel_above_factor": ((2, 3, 5, 3, 1), 2, (7, 5, 4), (3, 2, 2)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_equals_upsampling_then_conv_forward_and_gradients(case):
    shape, filters, kernel, factors = CASES[case]
    rng = np.random.default_rng(sorted(CASES).index(case))
    x = tf.constant(rng.normal(size=shape), tf.float32)
    layer = UpsampledConv3D(filters, kernel, factors)
    layer.build(shape)
    layer.bias.assign(rng.normal(size=filters))
    conv = keras.layers.Conv3D(filters, kernel, padding="valid")
    conv.build((None, *[n * u for n, u in zip(shape[1:4], factors, strict=True)], shape[4]))
    conv.set_weights(layer.get_weights())
    upsample = keras.layers.UpSampling3D(factors)
    upstream = tf.constant(rng.normal(size=layer.compute_output_shape(shape)), tf.float32)
    results = []
    for forward, weights in ((layer, layer.trainable_variables),
                             (lambda v: conv(upsample(v)), conv.trainable_variables)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = forward(x)
            loss = tf.reduce_sum(y * upstream)
        results.append([y, *tape.gradient(loss, [x, *weights])])
    sizes = [n * u - k + 1 for n, u, k in zip(shape[1:4], factors, kernel, strict=True)]
    expected_shape = (shape[0], *sizes, filters)
    assert tuple(results[0][0].shape) == tuple(results[1][0].shape) == expected_shape
    for got, expected in zip(*results, strict=True):  # output, d/dx, d/dkernel, d/dbias
        expected = np.asarray(expected)
        assert got.shape == expected.shape
        np.testing.assert_allclose(np.asarray(got), expected, rtol=0,
                                   atol=2e-6 * np.abs(expected).max())


def test_weights_and_output_shape_are_the_conv3d_ones():
    layer = UpsampledConv3D(8, (6, 6, 8), 6, name="conv1")
    assert layer.compute_output_shape((None, 9, 9, 8, 8)) == (None, 49, 49, 41, 8)
    assert layer.compute_output_shape((4, None, 9, 8, 8)) == (4, None, 49, 41, 8)
    layer.build((None, 9, 9, 8, 8))
    assert [(w.name, tuple(w.shape)) for w in layer.weights] == [
        ("kernel", (6, 6, 8, 8, 8)), ("bias", (8,))]
    assert layer.count_params() == 6 * 6 * 8 * 8 * 8 + 8
    no_bias = UpsampledConv3D(2, 3, 2, use_bias=False)
    no_bias.build((None, 2, 2, 2, 1))
    assert [w.name for w in no_bias.weights] == ["kernel"]


def test_config_and_keras_file_round_trip(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((3, 2, 4, 2))
    layer = UpsampledConv3D(3, (4, 3, 2), (2, 3, 1), kernel_initializer="glorot_normal",
                            bias_initializer="ones", name="up_conv")
    model = keras.Model(inputs, layer(inputs))
    clone = UpsampledConv3D.from_config(layer.get_config())
    assert (clone.filters, clone.kernel_size, clone.upsampling, clone.use_bias) == (
        3, (4, 3, 2), (2, 3, 1), True)
    assert isinstance(clone.kernel_initializer, keras.initializers.GlorotNormal)
    assert isinstance(clone.bias_initializer, keras.initializers.Ones)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.get_layer("up_conv")) is UpsampledConv3D
    x = np.random.default_rng(1).normal(size=(2, 3, 2, 4, 2)).astype("float32")
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))
    assert tuple(model.output.shape) == (None, 3, 4, 3, 3)


def test_flops_by_hand_and_from_the_traced_graph():
    # anglegan: Q = ceil((9·6 − 5) / 6), ... = (9, 9, 7); m = ceil((k − 1) / 6) + 1 = (2, 2, 3).
    fused = 2 * (9 * 9 * 7) * (6 * 6 * 6 * 8) * (2 * 2 * 3) * 8
    assert upsampled_conv3d_flops((9, 9, 8, 8), 8, (6, 6, 8), (6, 6, 6)) == fused == 188_116_992
    pair = 2 * (49 * 49 * 41) * 8 * (6 * 6 * 8) * 8
    assert pair == 3_628_929_024 and pair // fused == 19
    # No upsampling: a plain valid conv's count.
    assert upsampled_conv3d_flops((5, 4, 6, 2), 3, (3, 2, 4), 1) == 2 * (3 * 3 * 3) * 3 * 24 * 2
    for shape, filters, kernel, factors in (((9, 9, 8, 8), 8, (6, 6, 8), (6, 6, 6)),
                                             ((3, 5, 3, 1), 2, (7, 5, 4), (3, 2, 2))):
        model = keras.Sequential([keras.Input(shape), UpsampledConv3D(filters, kernel, factors)])
        assert benchmarking.graph_flops(model, shape) == upsampled_conv3d_flops(
            shape, filters, kernel, factors)


def test_bad_arguments_and_inputs_are_refused():
    with pytest.raises(InputError, match="upsampling must be a positive integer or three"):
        UpsampledConv3D(2, 3, (2, 0, 1))
    with pytest.raises(InputError, match="kernel_size must be a positive integer or three"):
        UpsampledConv3D(2, (3, 3), 2)
    with pytest.raises(InputError, match="filters must be a positive integer"):
        UpsampledConv3D(0, 3, 2)
    with pytest.raises(InputError, match=r"y has 2 cells, ×2 = 4 < the kernel's 5"):
        UpsampledConv3D(1, (1, 5, 1), 2).build((None, 3, 2, 3, 1))
