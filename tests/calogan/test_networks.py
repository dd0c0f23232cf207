"""The CaloGAN networks: parameter counts derived by hand, shapes, round trips, behaviour."""

import dataclasses
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from calogan_tiny import TINY_DISCRIMINATOR, TINY_GENERATOR, showers, tiny_networks

from caloml.calogan import config as config_lib
from caloml.calogan import networks
from caloml.calogan.config import LAYER_KEYS
from caloml.training import export


def _stream_generator_params(rows, columns, latent=1024, channels=36, conv=16, lc=6):
    pixels = (rows + 2) * (columns + 2)
    dense = (latent + 1) * pixels * channels  # Dense((r+2)(c+2)·36), with bias
    conv2d = 2 * 2 * channels * conv + conv  # Conv2D(16, 2×2)
    batch_norm = 4 * conv  # γ, β trainable; moving mean and variance not
    lc1 = (rows + 1) * (columns + 1) * (2 * 2 * conv * lc + lc)  # LC2D(6, 2×2), bias per position
    lc2 = rows * columns * (2 * 2 * lc * 1)  # LC2D(1, 2×2), no bias
    return dense + conv2d + batch_norm + lc1 + lc2


def _attention_params(rows, columns):
    return rows * columns * (3 * 3 * 2 * 2 + 2)  # LC2D(2, 3×3) on 2 channels, bias per position


def test_generator_parameter_count_by_hand():
    expected = (_stream_generator_params(3, 96) + _stream_generator_params(12, 12)
                + _stream_generator_params(12, 6) + _attention_params(12, 12)
                + _attention_params(12, 6))
    assert expected == 29_726_376
    generator = networks.CaloGANGenerator()
    assert generator.count_params() == expected
    non_trainable = sum(int(np.prod(w.shape)) for w in generator.non_trainable_weights)
    assert non_trainable == 3 * 2 * 16  # moving mean and variance of three BNs of 16
    # Layer 0's stream alone: the 17,640-pixel dense pre-image holds 61% of the generator.
    assert generator.get_layer("layer0_dense").count_params() == 1025 * 5 * 98 * 36
    no_attention = networks.CaloGANGenerator(config_lib.GeneratorConfig(attention=False))
    assert no_attention.count_params() == expected - _attention_params(12, 12) - \
        _attention_params(12, 6)
    acgan = networks.CaloGANGenerator(config_lib.GeneratorConfig(num_classes=3))
    assert acgan.count_params() == expected + 3 * 1024  # Embedding(3, 1024)


def _stream_discriminator_params(rows, columns):
    conv = 2 * 2 * 1 * 64 + 64  # Conv2D(64, 2×2, same)
    # pad 1 → LC2D(16, 3×3, strides (1, 2)); pad 1 → LC2D(8, 2×2); pad 1 → LC2D(8, 2×2, (1, 2))
    r1, c1 = rows + 2 - 3 + 1, (columns + 2 - 3) // 2 + 1
    lc1 = r1 * c1 * (3 * 3 * 64 * 16 + 16)
    r2, c2 = r1 + 2 - 2 + 1, c1 + 2 - 2 + 1
    lc2 = r2 * c2 * (2 * 2 * 16 * 8 + 8)
    r3, c3 = r2 + 2 - 2 + 1, (c2 + 2 - 2) // 2 + 1
    lc3 = r3 * c3 * (2 * 2 * 8 * 8 + 8)
    batch_norm = 4 * (16 + 8 + 8)
    flat = r3 * c3 * 8
    mbd = 10 * flat * 10 + 10 * 10  # Dense3D(10, 10) kernel (10, in, 10) and bias (10, 10)
    sparsity_mbd = 10 * 1 * 10 + 10 * 10
    features = flat + 10 + 1 + 10
    return conv + lc1 + lc2 + lc3 + batch_norm + mbd + sparsity_mbd, flat, features


def test_discriminator_parameter_count_by_hand():
    streams = [_stream_discriminator_params(r, c) for r, c in config_lib.LAYER_SHAPES]
    # REFERENCES.md §1.3: the flattened sizes are 1000, 448 and 336 (5×25×8, 14×4×8, 14×3×8).
    assert [flat for _, flat, _ in streams] == [1000, 448, 336]
    energy_mbd = 10 * 3 * 10 + 10 * 10
    features = sum(f for _, _, f in streams) + 3 + 1 + 1 + 1 + 10
    expected = sum(p for p, _, _ in streams) + energy_mbd + features + 1  # Dense(1)
    assert expected == 2_744_524
    discriminator = networks.CaloGANDiscriminator()
    assert discriminator.count_params() == expected
    assert discriminator.get_layer("features").output.shape[-1] == features == 1863
    acgan = networks.CaloGANDiscriminator(config_lib.DiscriminatorConfig(num_classes=3))
    assert acgan.count_params() == expected + 3 * (features + 1)


def test_generator_outputs_nonnegative_images_in_the_file_layout():
    generator, _ = tiny_networks()
    z = np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32)
    energy = np.linspace(1, 100, 5, dtype=np.float32)[:, None]
    images = generator({"latent": z, "energy": energy}, training=False)
    assert sorted(images) == list(LAYER_KEYS)
    for key, shape in zip(LAYER_KEYS, config_lib.LAYER_SHAPES, strict=True):
        assert tuple(images[key].shape) == (5, *shape)
        assert np.min(images[key]) >= 0.0
    # E = 0 zeroes the latent input (z · E / 100): every shower is the same.
    zero = generator({"latent": z, "energy": np.zeros_like(energy)}, training=False)
    np.testing.assert_allclose(zero["layer_1"][0], zero["layer_1"][4], atol=1e-6)
    assert not np.allclose(images["layer_1"][0], images["layer_1"][4])


def test_attention_starts_by_keeping_each_layers_own_image():
    """Bias −10 on the carry-over channel: at initialisation layer 1 hardly sees layer 0."""
    generator, _ = tiny_networks()
    assert generator.get_layer("attention1").count_params() == 12 * 12 * (36 + 2)
    inner = keras.Model(generator.inputs, generator.get_layer("attention1").input)
    z = np.random.default_rng(1).normal(size=(3, 8)).astype(np.float32)
    inputs = {"latent": z, "energy": np.full((3, 1), 50.0, np.float32)}
    primary, carried = (np.asarray(t) for t in inner(inputs))
    attended = np.asarray(generator.get_layer("attention1")([primary, carried]))
    weight = np.exp(-10.0) / (1 + np.exp(-10.0))
    assert np.max(np.abs(attended - primary)) < 50 * weight * (np.max(np.abs(carried))
                                                                + np.max(np.abs(primary)))


def test_discriminator_features_and_energy_output():
    _, discriminator = tiny_networks()
    data = showers(6, seed=2)
    inputs = {key: data[key] for key in LAYER_KEYS} | {"energy": data["energy"]}
    out = discriminator(inputs, training=False)
    assert tuple(out["real"].shape) == (6, 1) and "particle" not in out
    total = sum(data[key].reshape(6, -1).sum(axis=1) for key in LAYER_KEYS)
    np.testing.assert_allclose(np.asarray(out["total_energy"])[:, 0], total, rtol=1e-5)
    # The energy features see |E_tot − E|: moving the requested energy changes the logit.
    moved = discriminator(inputs | {"energy": data["energy"] + 20.0}, training=False)
    assert not np.allclose(np.asarray(moved["real"]), np.asarray(out["real"]))
    _, acgan = tiny_networks(num_classes=2)
    assert tuple(acgan(inputs, training=False)["particle"].shape) == (6, 2)


def test_minibatch_discrimination_couples_the_showers_of_a_batch():
    _, discriminator = tiny_networks()
    data = showers(6, seed=3)
    inputs = {key: data[key] for key in LAYER_KEYS} | {"energy": data["energy"]}
    full = np.asarray(discriminator(inputs, training=False)["real"])
    first = np.asarray(discriminator({k: v[:3] for k, v in inputs.items()},
                                     training=False)["real"])
    assert not np.allclose(full[:3], first)
    _, independent = tiny_networks(minibatch=False, sparsity_minibatch=False,
                                   energy_features=False)
    full = np.asarray(independent(inputs, training=False)["real"])
    first = np.asarray(independent({k: v[:3] for k, v in inputs.items()},
                                   training=False)["real"])
    np.testing.assert_allclose(full[:3], first, rtol=1e-5, atol=1e-6)


def test_configs_round_trip_through_keras_files(tmp_path):
    generator, discriminator = tiny_networks(num_classes=2)
    data = showers(4, seed=5)
    z = np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)
    g_inputs = {"latent": z, "energy": data["energy"], "particle": np.array([[0], [1], [1], [0]],
                                                                           np.int32)}
    d_inputs = {key: data[key] for key in LAYER_KEYS} | {"energy": data["energy"]}
    for model, inputs in ((generator, g_inputs), (discriminator, d_inputs)):
        path = str(tmp_path / f"{model.name}.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
        assert type(loaded) is type(model) and loaded.config == model.config
        for key, value in model(inputs, training=False).items():
            np.testing.assert_allclose(loaded(inputs, training=False)[key], value, rtol=1e-6)
    assert dataclasses.asdict(generator.config)["num_classes"] == 2


def test_generator_flops_count_the_dense_layers_first():
    flops = networks.generator_flops()
    dense = 2 * 1024 * 36 * (5 * 98 + 14 * 14 + 14 * 8)
    assert dense < flops < 1.1 * dense
    assert networks.generator_flops(TINY_GENERATOR) < flops


@pytest.mark.slow
def test_savedmodel_loads_without_caloml(tmp_path):
    generator, _ = tiny_networks()
    export.export_model(generator, str(tmp_path), "generator")
    z = np.random.default_rng(0).normal(size=(2, 8)).astype(np.float32)
    energy = np.array([[10.0], [90.0]], np.float32)
    expected = generator({"latent": z, "energy": energy}, training=False)
    np.save(tmp_path / "z.npy", z)
    script = textwrap.dedent(f"""
        import sys, numpy as np, tensorflow as tf
        loaded = tf.saved_model.load({str(tmp_path / 'generator_savedmodel')!r})
        z = np.load({str(tmp_path / 'z.npy')!r})
        out = loaded.serve({{"latent": z, "energy": np.array([[10.0], [90.0]], np.float32)}})
        assert "caloml" not in sys.modules
        np.save({str(tmp_path / 'out.npy')!r}, out["layer_2"].numpy())
    """)
    env = dict(os.environ, PYTHONPATH="")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=str(tmp_path), env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected["layer_2"], rtol=1e-5,
                               atol=1e-7)
    assert TINY_DISCRIMINATOR.num_classes == 1
