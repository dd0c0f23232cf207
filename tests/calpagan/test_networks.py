"""CALPAGAN networks: parameter counts by hand, the U-Net's sizes and skips, the up-sampling,
the normalisation of the data, the GeV wrapper, serialisation."""

import dataclasses
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from caloml import errors
from caloml.calpagan import config, networks

# 12×12 images: 12 → 6 → 2 → 6 → 12; the discriminator's patch map is 3×3.
TINY_GENERATOR = config.GeneratorConfig(hidden_channels=2, pool_sizes=(2, 3), upsampling=(3, 2))
TINY_DISCRIMINATOR = config.DiscriminatorConfig(hidden_channels=2, num_blocks=2)


def trainable_count(model: keras.Model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def conv_params(c_in: int, c_out: int, k: int) -> int:
    return k * k * c_in * c_out + c_out


def events(batch: int = 3, size: int = 12, seed: int = 0) -> np.ndarray:
    """Sparse tower images in GeV: ~20 % active towers, exponential spectrum."""
    rng = np.random.default_rng(seed)
    active = rng.random((batch, size, size)) < 0.2
    return (active * rng.exponential(15.0, active.shape)).astype(np.float32)


# ---------------------------------------------------------------------------- parameter counts


def test_generator_parameter_count_by_hand():
    # upfeature: 1×1 conv, 2 input channels (fast image, noise) → 16.
    upfeature = conv_params(2, 16, 1)
    contracting = 0
    for c in (16, 32, 64, 128, 256):  # block c → 2c
        contracting += (conv_params(c, 2 * c, 3) + conv_params(2 * c, 2 * c, 3)
                        + 2 * (2 * 2 * c))  # two batch norms of 2c channels, γ and β
    expanding = 0
    for c in (512, 256, 128, 64, 32):  # block C → C/2
        h = c // 2
        expanding += (conv_params(c, h, 2)  # after the up-sampling, valid
                      + conv_params(c, h, 3)  # on [x, skip]: C channels
                      + conv_params(h, h, 2)  # after the zero padding
                      + 2 * (2 * h))  # two batch norms
    downfeature = conv_params(16, 1, 1)
    by_hand = upfeature + contracting + expanding + downfeature
    assert by_hand == 7_342_353
    generator = networks.UNetGenerator()
    assert trainable_count(generator) == by_hand
    # Moving mean and variance of every batch norm: as many as γ and β.
    batch_norm_params = sum(2 * 2 * c * 2 for c in (16, 32, 64, 128, 256)) + sum(
        2 * 2 * (c // 2) for c in (512, 256, 128, 64, 32))
    assert generator.count_params() == by_hand + batch_norm_params
    # The original code: one batch norm per block, used after both of its convolutions.
    shared = networks.UNetGenerator(config.GeneratorConfig(shared_batch_norm=True))
    one_fewer = sum(2 * 2 * c for c in (16, 32, 64, 128, 256)) + sum(
        2 * (c // 2) for c in (512, 256, 128, 64, 32))
    assert trainable_count(shared) == by_hand - one_fewer == 7_339_377


def test_discriminator_parameter_counts_by_hand():
    def by_hand(input_channels):
        total = conv_params(input_channels, 8, 1)
        for c in (8, 16, 32):  # instance normalisation without affine parameters
            total += conv_params(c, 2 * c, 3) + conv_params(2 * c, 2 * c, 3)
        return total + conv_params(64, 1, 1)

    assert by_hand(2) == 72_889 and by_hand(1) == 72_881
    assert trainable_count(networks.PatchDiscriminator()) == 72_889  # Eq. 1: D(x, y)
    unconditional = networks.PatchDiscriminator(config.DiscriminatorConfig(conditional=False))
    assert trainable_count(unconditional) == 72_881  # the original code: D(y)
    assert unconditional.count_params() == 72_881  # no batch-norm statistics


# ---------------------------------------------------------------------------- shapes, layers


def test_unet_sizes_and_skip_connections():
    keras.utils.set_random_seed(0)
    generator = networks.UNetGenerator()
    names = ["upfeature"] + [f"contract_{i}_pool" for i in range(1, 6)] + [
        f"expand_{i}_activation_2" for i in range(1, 6)] + ["expand_5_crop", "output_activation"]
    probe = keras.Model(generator.input, [generator.get_layer(n).output for n in names])
    x = np.random.default_rng(0).random((2, 72, 72, 2)).astype(np.float32)
    outs = dict(zip(names, (o.numpy() for o in probe(x)), strict=True))
    sizes = [outs[n].shape[1:] for n in names[:11]]
    assert sizes == [(72, 72, 16), (36, 36, 32), (18, 18, 64), (9, 9, 128), (3, 3, 256),
                     (1, 1, 512),  # Fig. 3: the bottleneck
                     (3, 3, 256), (9, 9, 128), (18, 18, 64), (36, 36, 32), (72, 72, 16)]
    assert outs["output_activation"].shape == (2, 72, 72, 1)
    # The last block's skip is the 1×1 feature map x0 with its last row and column dropped
    # (the original code's crop starts at (72 − 71) // 2 = 0).
    np.testing.assert_array_equal(outs["expand_5_crop"], outs["upfeature"][:, :71, :71])
    slopes = {layer.name: layer.negative_slope for layer in generator.layers
              if isinstance(layer, keras.layers.LeakyReLU)}
    assert slopes.pop("output_activation") == pytest.approx(0.5)  # Fig. 3 caption
    assert len(slopes) == 20 and all(s == pytest.approx(0.2) for s in slopes.values())  # §3.1
    norms = [layer for layer in generator.layers
             if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 20
    # PyTorch's BatchNorm2d: running-average momentum 0.1 (Keras 0.9), ε 1e-5.
    assert all(n.momentum == pytest.approx(0.9) and n.epsilon == pytest.approx(1e-5)
               and n.synchronized for n in norms)


def test_discriminator_scores_patches_with_instance_normalisation():
    discriminator = networks.PatchDiscriminator()
    x = np.random.default_rng(1).random((2, 72, 72, 2)).astype(np.float32)
    assert discriminator(x).shape == (2, 9, 9, 1)
    norms = [layer for layer in discriminator.layers
             if isinstance(layer, keras.layers.GroupNormalization)]
    assert len(norms) == 6 and not any(isinstance(layer, keras.layers.BatchNormalization)
                                       for layer in discriminator.layers)
    # groups=-1 becomes one group per channel when built: instance normalisation.
    assert all(n.groups == n.input.shape[-1] and not n.center and not n.scale for n in norms)
    # Instance normalisation: each example and channel is standardised on its own, with
    # PyTorch's ε = 1e-5 (the convolution outputs are small at N(0, 0.02²) initialisation, so ε
    # matters), whatever the other examples are.
    probe = keras.Model(discriminator.input, [discriminator.get_layer("contract_1_conv_1").output,
                                              discriminator.get_layer("contract_1_norm_1").output])
    z, out = (t.numpy() for t in probe(x))
    mean, var = z.mean(axis=(1, 2), keepdims=True), z.var(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out, (z - mean) / np.sqrt(var + 1e-5), rtol=1e-3, atol=1e-4)
    alone = probe(x[:1])[1].numpy()
    np.testing.assert_allclose(alone, out[:1], rtol=1e-4, atol=1e-5)
    assert networks.PatchDiscriminator(TINY_DISCRIMINATOR)(x[:, :12, :12]).shape == (2, 3, 3, 1)


def test_aligned_bilinear_upsampling_is_pytorch_align_corners_true():
    # A linear ramp stays a linear ramp from the first to the last input value.
    ramp = np.array([0.0, 1.0, 2.0], np.float32).reshape(1, 3, 1, 1)
    ramp = np.repeat(ramp, 2, axis=2)
    out = networks.AlignedBilinearUpSampling2D(3)(ramp).numpy()
    assert out.shape == (1, 9, 6, 1)
    np.testing.assert_allclose(out[0, :, 0, 0], np.linspace(0.0, 2.0, 9), atol=1e-6)
    np.testing.assert_allclose(out[0, :, :, 0], out[0, :, :1, 0] * np.ones((1, 6)), atol=1e-6)

    # Against PyTorch's formula, source = i · (n − 1) / (f·n − 1), on random data.
    def reference(x, f):
        for axis in (1, 2):
            n = x.shape[axis]
            source = np.arange(f * n) * (n - 1) / max(f * n - 1, 1)
            low = np.floor(source).astype(int)
            high = np.minimum(low + 1, n - 1)
            w = (source - low).reshape([-1 if a == axis else 1 for a in range(4)])
            x = np.take(x, low, axis=axis) * (1 - w) + np.take(x, high, axis=axis) * w
        return x

    x = np.random.default_rng(2).random((2, 3, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(networks.AlignedBilinearUpSampling2D(2)(x), reference(x, 2),
                               rtol=1e-5, atol=1e-6)
    one = x[:, :1, :1]  # a 1×1 image is copied
    np.testing.assert_allclose(networks.AlignedBilinearUpSampling2D(3)(one),
                               np.repeat(np.repeat(one, 3, 1), 3, 2), atol=1e-7)
    # Keras' bilinear UpSampling2D samples at half-pixel centres (PyTorch's
    # align_corners=False): [0, 1] → [0, 0.25, 0.75, 1], not [0, 1/3, 2/3, 1].
    pair = np.array([0.0, 1.0], np.float32).reshape(1, 2, 1, 1)
    half_pixel = keras.layers.UpSampling2D((2, 1), interpolation="bilinear")(pair).numpy()
    np.testing.assert_allclose(half_pixel[0, :, 0, 0], [0.0, 0.25, 0.75, 1.0], atol=1e-6)
    aligned = networks.AlignedBilinearUpSampling2D(2)(np.repeat(pair, 2, axis=2)).numpy()
    np.testing.assert_allclose(aligned[0, :, 0, 0], [0.0, 1 / 3, 2 / 3, 1.0], atol=1e-6)
    layer = networks.AlignedBilinearUpSampling2D(3)
    assert layer.compute_output_shape((None, 3, None, 4)) == (None, 9, None, 4)
    assert networks.UNetGenerator(dataclasses.replace(TINY_GENERATOR, align_corners=False)
                                  ).get_layer("expand_1_upsample").interpolation == "bilinear"


# ---------------------------------------------------------------------------- normalisation


def test_normalise_pair_by_hand():
    fast = np.zeros((3, 2, 2), np.float32)
    detailed = np.zeros((3, 2, 2), np.float32)
    fast[0] = [[4.0, 2.0], [0.0, 1.0]]
    detailed[0] = [[10.0, 0.0], [5.0, 0.0]]
    fast[1, 0, 0], detailed[1, 1, 1] = 8.0, 2.0
    # Event 2 is empty in both.
    x, y, scale = networks.normalise_pair(fast, detailed, "per_image")  # §3
    np.testing.assert_allclose(x[0], [[1.0, 0.5], [0.0, 0.25]])
    np.testing.assert_allclose(y[0], [[1.0, 0.0], [0.5, 0.0]])
    np.testing.assert_allclose(scale, [10.0, 2.0, 0.0])
    assert y[1, 1, 1] == 1.0 and not np.any(x[2]) and not np.any(y[2])
    np.testing.assert_allclose(y * scale[:, None, None], detailed, rtol=1e-6)
    x, y, scale = networks.normalise_pair(fast, detailed, "condition_max")  # original code
    np.testing.assert_allclose(y[0], [[2.5, 0.0], [1.25, 0.0]])
    np.testing.assert_allclose(scale, [4.0, 8.0, 0.0])
    assert y[1, 1, 1] == 0.25 and x.dtype == y.dtype == np.float32
    # The energy scale FastToDetailed needs: mean of max(detailed) / max(fast) over events
    # with both images non-empty, (10/4 + 2/8) / 2.
    assert networks.output_scale(fast, detailed, "per_image") == pytest.approx(1.375)
    assert networks.output_scale(fast, detailed, "condition_max") == 1.0
    with pytest.raises(errors.InputError, match="must be one of per_image, condition_max"):
        networks.normalise_pair(fast, detailed, "global")
    with pytest.raises(errors.InputError, match=r"one shape .*got \(3, 2, 2\) and \(3, 4\)"):
        networks.normalise_pair(fast, detailed.reshape(3, 4), "per_image")
    with pytest.raises(errors.InputError, match="energy scale of per-image normalisation"):
        networks.output_scale(fast[2:], detailed[2:], "per_image")


# ---------------------------------------------------------------------------- GeV wrapper


def tiny_wrapper(seed=0, scale=1.0, generator=None):
    keras.utils.set_random_seed(seed)
    generator = generator or networks.UNetGenerator(TINY_GENERATOR)
    return networks.FastToDetailed(generator, output_scale=scale, seed=7)


def test_fast_to_detailed_scales_back_to_gev():
    wrapper = tiny_wrapper(scale=1.5)
    fast = events(3)
    fast[2] = 0.0  # an empty event
    probe = keras.Model(wrapper.input, [wrapper.get_layer("noise").output, wrapper.output])
    generator_input, energy = (t.numpy() for t in probe(fast))
    maximum = fast.reshape(3, -1).max(axis=1)
    np.testing.assert_allclose(generator_input[..., 0],
                               fast / np.where(maximum > 0, maximum, 1)[:, None, None])
    noise = generator_input[..., 1]
    assert 0.0 <= noise.min() and noise.max() < 1.0 and noise.std() > 0.2  # U(0, 1): σ 0.29
    generated = wrapper.generator(generator_input, training=False).numpy()[..., 0]
    assert generated.min() < 0.0  # the LeakyReLU output goes below zero; energies may not
    expected = np.maximum(generated * maximum[:, None, None] * 1.5, 0.0)
    np.testing.assert_allclose(energy, expected, rtol=1e-5, atol=1e-6)
    assert energy.shape == (3, 12, 12) and energy.min() == 0.0 and energy[:2].max() > 0.0
    assert not np.any(energy[2])  # an empty fast event gives an empty detailed one
    # Per-event max normalisation: doubling the energies doubles the output (same noise).
    twice = tiny_wrapper(scale=1.5, generator=wrapper.generator)(2.0 * fast).numpy()
    np.testing.assert_allclose(twice, 2.0 * energy, rtol=1e-5, atol=1e-6)
    # The noise moves on between calls.
    assert not np.allclose(wrapper(fast).numpy(), energy)
    with pytest.raises(errors.InputError, match="output_scale must be a finite number > 0"):
        networks.FastToDetailed(wrapper.generator, output_scale=0.0)
    with pytest.raises(errors.InputError, match="output_scale must be 1 for condition_max"):
        networks.FastToDetailed(wrapper.generator, "condition_max", output_scale=1.5)
    with pytest.raises(errors.InputError, match="normalisation must be one of"):
        networks.FastToDetailed(wrapper.generator, "global")


# ---------------------------------------------------------------------------- serialisation

CASES = [(networks.UNetGenerator, TINY_GENERATOR, 2),
         (networks.PatchDiscriminator, TINY_DISCRIMINATOR, 2)]
IDS = ["generator", "discriminator"]


def inputs(channels, seed=0):
    return np.random.default_rng(seed).random((2, 12, 12, channels)).astype(np.float32)


@pytest.mark.parametrize(("cls", "settings", "channels"), CASES, ids=IDS)
def test_get_config_round_trip(cls, settings, channels):
    keras.utils.set_random_seed(0)
    model = cls(settings, name="original")
    values = model.get_config()
    assert values["config"] == dataclasses.asdict(settings)
    clone = cls.from_config(json.loads(json.dumps(values)))
    assert type(clone) is cls and clone.config == settings and clone.name == "original"
    clone.set_weights(model.get_weights())
    x = inputs(channels)
    np.testing.assert_allclose(clone(x), model(x), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("cls", "settings", "channels"), CASES, ids=IDS)
def test_keras_file_save_and_load(cls, settings, channels, tmp_path):
    keras.utils.set_random_seed(1)
    model = cls(settings)
    model(inputs(channels), training=True)  # moves the batch-norm statistics off their start
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe mode: a Lambda layer would not load
    assert type(loaded) is cls and loaded.config == settings
    x = inputs(channels, seed=2)
    np.testing.assert_allclose(loaded(x), model(x), rtol=1e-6, atol=1e-6)


def test_fast_to_detailed_round_trips(tmp_path):
    wrapper = tiny_wrapper(scale=2.5)
    values = json.loads(json.dumps(wrapper.get_config()))
    assert (values["seed"], values["output_scale"], values["normalisation"]) == (
        7, 2.5, "per_image")
    clone = networks.FastToDetailed.from_config(values)
    clone.set_weights(wrapper.get_weights())
    path = str(tmp_path / "generator.keras")
    wrapper.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is networks.FastToDetailed and loaded.output_scale == 2.5
    assert type(loaded.generator) is networks.UNetGenerator
    fast = events(2, seed=3)
    # All three start their noise sequence at seed 7: the same draws, the same energies.
    expected = wrapper(fast).numpy()
    for other in (clone, loaded):
        np.testing.assert_allclose(other(fast), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # ~3-5 s: traces and writes a SavedModel
def test_fast_to_detailed_savedmodel(tmp_path):
    wrapper = tiny_wrapper(scale=2.0)
    wrapper.export(str(tmp_path / "generator_savedmodel"), format="tf_saved_model",
                   verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "generator_savedmodel"))
    fast = events(2, seed=4)
    out = loaded.serve(tf.constant(fast)).numpy()
    # The exported noise starts where the wrapper's does: the same first draw.
    np.testing.assert_allclose(out, wrapper(fast).numpy(), rtol=1e-5, atol=1e-6)
    again = loaded.serve(tf.constant(fast)).numpy()
    assert again.min() >= 0.0 and not np.allclose(again, out)  # the noise moves on
