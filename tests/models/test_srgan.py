"""Networks of paper 000 (SR-GAN for SR-γ): sizes, shapes, serialisation, features, FLOPs."""

import dataclasses
import json
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from caloml.models import srgan

TINY_GENERATOR = srgan.GeneratorConfig(filters=8, num_rrdb=1, dense_blocks=2,
                                       convs_per_dense_block=3, residual_scale=0.3)
TINY_CRITIC = srgan.CriticConfig(filters=(4, 4, 8, 8, 8, 8), dense_units=8)


def trainable_count(model: keras.Model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def conv_params(c_in: int, c_out: int, k: int = 3) -> int:
    return k * k * c_in * c_out + c_out


def images(size: int, batch: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((batch, size, size, 1), dtype=np.float32)


# ---------------------------------------------------------------------------- parameter counts


def test_generator_has_the_papers_parameter_count():
    generator = srgan.SRGenerator()
    # 32 filters everywhere; conv j of a dense block sees 32·j channels (block input + j-1).
    dense_block = sum(conv_params(32 * j, 32) for j in range(1, 6))
    rrdb = 3 * dense_block
    by_hand = (conv_params(1, 32) + 5 * rrdb + conv_params(32, 32)  # first, RRDBs, body
               + 2 * conv_params(32, 32)  # two upsampling blocks
               + conv_params(32, 32) + conv_params(32, 1))  # Swish conv, ReLU conv
    assert by_hand == 2_113_601  # §3: "around 2.1 million"
    assert trainable_count(generator) == 2_113_601
    assert generator.count_params() == 2_113_601  # nothing non-trainable
    assert not any("lambda" in layer.name for layer in generator.layers)


def test_critic_parameter_count_from_the_architecture():
    critic = srgan.SRCritic()
    filters, c_in, by_hand = (32, 32, 64, 64, 128, 128), 1, 0
    for c_out in filters:
        by_hand += conv_params(c_in, c_out) + 2 * c_out  # conv + LayerNorm γ, β over channels
        c_in = c_out
    flat = 3 * 3 * 128  # 24 → 12 → 6 → 3 after three stride-2 convs
    by_hand += (flat * 64 + 64) + (64 + 1)
    assert by_hand == 361_185
    assert trainable_count(critic) == by_hand


def test_hr_and_lr_classifiers_have_equal_parameter_counts():
    hr = srgan.PhotonPionClassifier(srgan.ClassifierConfig.for_input("hr"))
    lr = srgan.PhotonPionClassifier(srgan.ClassifierConfig.for_input("lr"))
    sr = srgan.PhotonPionClassifier(srgan.ClassifierConfig.for_input("sr"))
    by_hand = (conv_params(1, 32) + 2 * conv_params(32, 32)
               + (3 * 3 * 32 * 10 + 10) + (10 + 1))  # both end on a 3×3×32 map
    assert by_hand == 21_717
    assert trainable_count(hr) == trainable_count(lr) == trainable_count(sr) == by_hand
    assert [layer.name for layer in hr.layers if "pool" in layer.name] == [
        "pool_1", "pool_2", "pool_3"]
    assert [layer.name for layer in lr.layers if "pool" in layer.name] == ["pool_3"]
    assert len(hr.losses) == 5  # L2 on the three conv and two dense kernels
    with pytest.raises(ValueError, match="kind must be"):
        srgan.ClassifierConfig.for_input("mr")


# ---------------------------------------------------------------------------- shapes


def test_generator_upsamples_6_to_24_and_is_non_negative():
    generator = srgan.SRGenerator()
    sr = generator(images(6), training=False)
    assert sr.shape == (3, 24, 24, 1)
    assert np.all(sr.numpy() >= 0.0)  # final ReLU: no negative energies


def test_generator_is_fully_convolutional():
    generator = srgan.SRGenerator()
    assert generator.input.shape == (None, None, None, 1)
    assert generator(images(12, batch=2), training=False).shape == (2, 48, 48, 1)
    tiny = srgan.SRGenerator(dataclasses.replace(TINY_GENERATOR, upsample_steps=1))
    assert tiny(images(5, batch=1)).shape == (1, 10, 10, 1)


def test_critic_and_classifier_output_shapes():
    assert srgan.SRCritic()(images(24)).shape == (3, 1)
    for kind, size in (("hr", 24), ("lr", 6)):
        model = srgan.PhotonPionClassifier(srgan.ClassifierConfig.for_input(kind))
        p = model(images(size), training=False).numpy()
        assert p.shape == (3, 1)
        assert np.all((p > 0.0) & (p < 1.0))


def test_generator_residual_structure():
    """Zero RRDB convolutions: dense blocks pass x through, the RRDB gives x + β·x."""
    generator = srgan.SRGenerator(TINY_GENERATOR)
    for layer in generator.layers:
        if layer.name.startswith("rrdb_") and isinstance(layer, keras.layers.Conv2D):
            layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    x = images(6)
    first = keras.Model(generator.input, generator.get_layer("conv_first").output)(x)
    rrdb = keras.Model(generator.input, generator.get_layer("rrdb_1_residual").output)(x)
    np.testing.assert_allclose(rrdb, (1.0 + TINY_GENERATOR.residual_scale) * first, atol=1e-6)
    block = keras.Model(generator.input, generator.get_layer("rrdb_1_dense_2_residual").output)
    np.testing.assert_allclose(block(x), first, atol=1e-6)


def test_scaled_residual():
    layer = srgan.ScaledResidual(0.2)
    out = layer([tf.ones((2, 3)), tf.fill((2, 3), 5.0)])
    np.testing.assert_allclose(out, np.full((2, 3), 2.0), rtol=1e-6)
    assert srgan.ScaledResidual.from_config(layer.get_config()).scale == pytest.approx(0.2)


# ---------------------------------------------------------------------------- serialisation


CASES = [
    (srgan.SRGenerator, TINY_GENERATOR, 6),
    (srgan.SRCritic, TINY_CRITIC, 24),
    (srgan.PhotonPionClassifier, srgan.ClassifierConfig.for_input("hr", filters=4, l2=3e-4), 24),
    (srgan.PhotonPionClassifier, srgan.ClassifierConfig.for_input("lr", dense_units=5), 6),
]
IDS = ["generator", "critic", "classifier_hr", "classifier_lr"]


@pytest.mark.parametrize(("cls", "config", "size"), CASES, ids=IDS)
def test_get_config_round_trip(cls, config, size):
    keras.utils.set_random_seed(0)
    model = cls(config, name="original")
    config_dict = model.get_config()
    assert config_dict["config"] == dataclasses.asdict(config)
    clone = cls.from_config(config_dict)
    assert isinstance(clone, cls)
    assert clone.config == config and clone.name == "original"
    assert clone.count_params() == model.count_params()
    clone.set_weights(model.get_weights())
    x = images(size)
    np.testing.assert_allclose(clone(x), model(x), rtol=1e-6, atol=1e-6)
    # The dict survives JSON (tuples become lists) and a default config is the paper's.
    assert cls.from_config(json.loads(json.dumps(config_dict))).config == config
    assert cls().config == type(config)()


@pytest.mark.parametrize(("cls", "config", "size"), CASES, ids=IDS)
def test_keras_file_save_and_load(cls, config, size, tmp_path):
    keras.utils.set_random_seed(1)
    model = cls(config)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is cls and loaded.config == config
    x = images(size, seed=2)
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False),
                               rtol=1e-6, atol=1e-6)


def test_no_lambda_layers_in_the_source():
    source = pathlib.Path(srgan.__file__).read_text()
    assert "Lambda" not in source and "tf.keras" not in source


# ---------------------------------------------------------------------------- perceptual Φ


def test_perceptual_features_are_the_third_conv_activations():
    keras.utils.set_random_seed(3)
    classifier = srgan.PhotonPionClassifier(srgan.ClassifierConfig.for_input("hr"))
    features = srgan.perceptual_features(classifier)
    x = images(24, batch=4)
    phi = features(x, training=False).numpy()
    assert phi.shape == (4, 6, 6, 32)
    assert np.all(phi >= 0.0)  # after the ReLU, before pool_3
    # By hand: conv → ReLU → pool, twice, then conv_3 → ReLU.
    h = x
    for i in (1, 2, 3):
        kernel, bias = classifier.get_layer(f"conv_{i}").get_weights()
        h = tf.nn.relu(tf.nn.conv2d(h, kernel, 1, "SAME") + bias)
        if i < 3:
            h = tf.nn.max_pool2d(h, 2, 2, "VALID")
    np.testing.assert_allclose(phi, h.numpy(), rtol=1e-5, atol=1e-5)
    # The LR classifier's Φ keeps the 6×6 size (no pooling before conv_3).
    lr = srgan.PhotonPionClassifier(srgan.ClassifierConfig.for_input("lr"))
    assert srgan.perceptual_features(lr)(images(6)).shape == (3, 6, 6, 32)


def test_perceptual_features_are_frozen_and_pass_gradients():
    classifier = srgan.PhotonPionClassifier(srgan.ClassifierConfig.for_input("hr"))
    features = srgan.perceptual_features(classifier)
    assert not features.trainable and features.trainable_weights == []
    assert len(classifier.trainable_weights) == 10  # the classifier itself stays trainable
    x = tf.constant(images(24))
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(features(x, training=False) ** 2)
    grad = tape.gradient(loss, x)
    assert grad.shape == x.shape and float(tf.reduce_sum(tf.abs(grad))) > 0.0


def test_perceptual_features_of_a_reloaded_classifier(tmp_path):
    classifier = srgan.PhotonPionClassifier(srgan.ClassifierConfig.for_input("hr", filters=4))
    path = str(tmp_path / "classifier_hr.keras")
    classifier.save(path)
    loaded = keras.saving.load_model(path)
    x = images(24)
    np.testing.assert_allclose(srgan.perceptual_features(loaded)(x),
                               srgan.perceptual_features(classifier)(x), rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------------------- FLOPs


def test_generator_flops_by_hand():
    config = srgan.GeneratorConfig(filters=2, kernel_size=3, num_rrdb=1, dense_blocks=1,
                                   convs_per_dense_block=2, upsample_steps=1)
    k2 = 9
    by_hand = 2 * k2 * (
        1 * 2 * 16  # first conv 1 → 2 at 4×4
        + 2 * 2 * 16 + 4 * 2 * 16  # dense convs: 2 → 2 and (2+2) → 2 at 4×4
        + 2 * 2 * 16  # body conv at 4×4
        + 2 * 2 * 64  # upsampling conv at 8×8
        + 2 * 2 * 64 + 2 * 1 * 64  # Swish conv and output conv at 8×8
    )
    assert srgan.generator_flops(config, lr_size=4) == by_hand == 16_704


def test_generator_flops_match_the_conv_layers():
    """Cross-check against the convolution shapes of the built paper generator at 6×6."""
    generator = srgan.SRGenerator()
    convs = [layer for layer in generator.layers if isinstance(layer, keras.layers.Conv2D)]
    probe = keras.Model(generator.input, [layer.output for layer in convs])
    outputs = probe(images(6, batch=1))
    total = 0
    for layer, out in zip(convs, outputs, strict=True):
        kh, kw, c_in, c_out = layer.kernel.shape
        total += 2 * kh * kw * c_in * c_out * out.shape[1] * out.shape[2]
    assert len(convs) == 1 + 5 * 3 * 5 + 1 + 2 + 2
    assert srgan.generator_flops() == total == 174_203_136
