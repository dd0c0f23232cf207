"""Networks of paper 000 (SR-GAN for SR-γ): sizes, shapes, serialisation, features, FLOPs."""

import dataclasses
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from caloml.srgan import config, networks

TINY_GENERATOR = config.GeneratorConfig(filters=8, num_rrdb=1, dense_blocks=2,
                                        convs_per_dense_block=3, residual_scale=0.3)
TINY_CRITIC = config.CriticConfig(filters=(4, 4, 8, 8, 8, 8), dense_units=8)


def trainable_count(model: keras.Model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def conv_params(c_in: int, c_out: int, k: int = 3) -> int:
    return k * k * c_in * c_out + c_out


def images(size: int, batch: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((batch, size, size, 1), dtype=np.float32)


# ---------------------------------------------------------------------------- parameter counts


def test_generator_has_the_papers_parameter_count():
    generator = networks.SRGenerator()
    # 32 filters everywhere; conv j of a dense block sees 32·j channels (block input + j-1).
    dense_block = sum(conv_params(32 * j, 32) for j in range(1, 6))
    rrdb = 3 * dense_block
    by_hand = (conv_params(1, 32) + 5 * rrdb + conv_params(32, 32)  # first, RRDBs, body
               + 2 * conv_params(32, 32)  # two upsampling blocks
               + conv_params(32, 32) + conv_params(32, 1))  # Swish conv, ReLU conv
    assert by_hand == 2_113_601  # §3: "around 2.1 million"
    assert trainable_count(generator) == 2_113_601
    assert generator.count_params() == 2_113_601  # nothing non-trainable


def test_critic_parameter_count_from_the_architecture():
    critic = networks.SRCritic()
    filters, c_in, by_hand = (32, 32, 64, 64, 128, 128), 1, 0
    for c_out in filters:
        by_hand += conv_params(c_in, c_out) + 2 * c_out  # conv + LayerNorm γ, β over channels
        c_in = c_out
    flat = 3 * 3 * 128  # 24 → 12 → 6 → 3 after three stride-2 convs
    by_hand += (flat * 64 + 64) + (64 + 1)
    assert by_hand == 361_185
    assert trainable_count(critic) == by_hand


def test_hr_and_lr_classifiers_have_equal_parameter_counts():
    hr = networks.PhotonPionClassifier(config.ClassifierConfig.for_input("hr"))
    lr = networks.PhotonPionClassifier(config.ClassifierConfig.for_input("lr"))
    sr = networks.PhotonPionClassifier(config.ClassifierConfig.for_input("sr"))
    by_hand = (conv_params(1, 32) + 2 * conv_params(32, 32)
               + (3 * 3 * 32 * 10 + 10) + (10 + 1))  # both end on a 3×3×32 map
    assert by_hand == 21_717
    assert trainable_count(hr) == trainable_count(lr) == trainable_count(sr) == by_hand
    assert [layer.name for layer in hr.layers if "pool" in layer.name] == [
        "pool_1", "pool_2", "pool_3"]
    assert [layer.name for layer in lr.layers if "pool" in layer.name] == ["pool_3"]
    assert len(hr.losses) == 5  # L2 on the three conv and two dense kernels
    with pytest.raises(ValueError, match="kind must be"):
        config.ClassifierConfig.for_input("mr")


# ---------------------------------------------------------------------------- shapes


def test_generator_upsamples_6_to_24_and_is_non_negative():
    generator = networks.SRGenerator()
    sr = generator(images(6), training=False)
    assert sr.shape == (3, 24, 24, 1)
    assert np.all(sr.numpy() >= 0.0)  # final ReLU: no negative energies


def test_generator_is_fully_convolutional():
    generator = networks.SRGenerator()
    assert generator.input.shape == (None, None, None, 1)
    assert generator(images(12, batch=2), training=False).shape == (2, 48, 48, 1)
    tiny = networks.SRGenerator(dataclasses.replace(TINY_GENERATOR, upsample_steps=1))
    assert tiny(images(5, batch=1)).shape == (1, 10, 10, 1)


def test_critic_and_classifier_output_shapes():
    assert networks.SRCritic()(images(24)).shape == (3, 1)
    for kind, size in (("hr", 24), ("lr", 6)):
        model = networks.PhotonPionClassifier(config.ClassifierConfig.for_input(kind))
        p = model(images(size), training=False).numpy()
        assert p.shape == (3, 1)
        assert np.all((p > 0.0) & (p < 1.0))


def test_generator_residual_structure():
    """Zero RRDB convolutions: dense blocks pass x through, the RRDB gives x + β·x."""
    generator = networks.SRGenerator(TINY_GENERATOR)
    for layer in generator.layers:
        if layer.name.startswith("rrdb_") and isinstance(layer, keras.layers.Conv2D):
            layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    x = images(6)
    first = keras.Model(generator.input, generator.get_layer("conv_first").output)(x)
    rrdb = keras.Model(generator.input, generator.get_layer("rrdb_1_residual").output)(x)
    np.testing.assert_allclose(rrdb, (1.0 + TINY_GENERATOR.residual_scale) * first, atol=1e-6)
    block = keras.Model(generator.input, generator.get_layer("rrdb_1_dense_2_residual").output)
    np.testing.assert_allclose(block(x), first, atol=1e-6)


# ---------------------------------------------------------------------------- serialisation


CASES = [
    (networks.SRGenerator, TINY_GENERATOR, 6),
    (networks.SRCritic, TINY_CRITIC, 24),
    (networks.PhotonPionClassifier,
     config.ClassifierConfig.for_input("hr", filters=4, l2=3e-4), 24),
    (networks.PhotonPionClassifier, config.ClassifierConfig.for_input("lr", dense_units=5), 6),
]
IDS = ["generator", "critic", "classifier_hr", "classifier_lr"]


@pytest.mark.parametrize(("cls", "settings", "size"), CASES, ids=IDS)
def test_get_config_round_trip(cls, settings, size):
    keras.utils.set_random_seed(0)
    model = cls(settings, name="original")
    config_dict = model.get_config()
    assert config_dict["config"] == dataclasses.asdict(settings)
    clone = cls.from_config(config_dict)
    assert isinstance(clone, cls)
    assert clone.config == settings and clone.name == "original"
    assert clone.count_params() == model.count_params()
    clone.set_weights(model.get_weights())
    x = images(size)
    np.testing.assert_allclose(clone(x), model(x), rtol=1e-6, atol=1e-6)
    # The dict survives JSON (tuples become lists) and a default config is the paper's.
    assert cls.from_config(json.loads(json.dumps(config_dict))).config == settings
    assert cls().config == type(settings)()


@pytest.mark.parametrize(("cls", "settings", "size"), CASES, ids=IDS)
def test_keras_file_save_and_load(cls, settings, size, tmp_path):
    keras.utils.set_random_seed(1)
    model = cls(settings)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe mode: a Lambda layer would not load
    assert type(loaded) is cls and loaded.config == settings
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in loaded.layers)
    x = images(size, seed=2)
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False),
                               rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------------------- perceptual Φ


def _third_conv_by_hand(classifier, x, activate):
    """conv → ReLU → pool, twice, then conv_3 (and its ReLU if ``activate``), with tf.nn."""
    h = x
    for i in (1, 2, 3):
        kernel, bias = classifier.get_layer(f"conv_{i}").get_weights()
        h = tf.nn.conv2d(h, kernel, 1, "SAME") + bias
        if i < 3 or activate:
            h = tf.nn.relu(h)
        if i < 3:
            h = tf.nn.max_pool2d(h, 2, 2, "VALID")
    return h.numpy()


def test_perceptual_features_are_the_third_conv_before_its_activation():
    """ESRGAN compares features before the activation; caloml's default Φ does the same."""
    keras.utils.set_random_seed(3)
    classifier = networks.PhotonPionClassifier(config.ClassifierConfig.for_input("hr"))
    x = images(24, batch=4)
    phi = networks.perceptual_features(classifier)(x, training=False).numpy()
    assert phi.shape == (4, 6, 6, 32)
    assert phi.min() < 0.0  # no ReLU applied
    np.testing.assert_allclose(phi, _third_conv_by_hand(classifier, x, False), rtol=1e-5,
                               atol=1e-5)
    post = networks.perceptual_features(classifier, pre_activation=False)(x).numpy()
    np.testing.assert_allclose(post, _third_conv_by_hand(classifier, x, True), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(post, np.maximum(phi, 0.0), rtol=1e-5, atol=1e-6)
    # The LR classifier's Φ keeps the 6×6 size (no pooling before conv_3).
    lr = networks.PhotonPionClassifier(config.ClassifierConfig.for_input("lr"))
    assert networks.perceptual_features(lr)(images(6)).shape == (3, 6, 6, 32)


def test_logits_do_not_saturate_where_the_probability_does():
    keras.utils.set_random_seed(4)
    classifier = networks.PhotonPionClassifier(config.ClassifierConfig.for_input("lr"))
    logit_model = networks.classifier_logits(classifier)
    x = images(6, batch=5)
    p = classifier(x).numpy()[:, 0]
    logits = logit_model(x).numpy()[:, 0]
    np.testing.assert_allclose(p, 1.0 / (1.0 + np.exp(-logits)), rtol=1e-5)
    # Push the output bias far out: float32 sigmoids tie at exactly 1, the logits stay ordered.
    kernel, bias = classifier.get_layer("logit").get_weights()
    classifier.get_layer("logit").set_weights([kernel, bias + 200.0])
    p, logits = classifier(x).numpy()[:, 0], logit_model(x).numpy()[:, 0]
    assert np.all(p == 1.0) and len(np.unique(logits)) == len(x)


def test_perceptual_features_are_frozen_and_pass_gradients():
    classifier = networks.PhotonPionClassifier(config.ClassifierConfig.for_input("hr"))
    features = networks.perceptual_features(classifier)
    assert not features.trainable and features.trainable_weights == []
    assert len(classifier.trainable_weights) == 10  # the classifier itself stays trainable
    x = tf.constant(images(24))
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(features(x, training=False) ** 2)
    grad = tape.gradient(loss, x)
    assert grad.shape == x.shape and float(tf.reduce_sum(tf.abs(grad))) > 0.0


def test_perceptual_features_of_a_reloaded_classifier(tmp_path):
    classifier = networks.PhotonPionClassifier(config.ClassifierConfig.for_input("hr", filters=4))
    path = str(tmp_path / "classifier_hr.keras")
    classifier.save(path)
    loaded = keras.saving.load_model(path)
    x = images(24)
    np.testing.assert_allclose(networks.perceptual_features(loaded)(x),
                               networks.perceptual_features(classifier)(x), rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------------------- FLOPs


def test_generator_flops_by_hand():
    tiny = config.GeneratorConfig(filters=2, kernel_size=3, num_rrdb=1, dense_blocks=1,
                                   convs_per_dense_block=2, upsample_steps=1)
    k2 = 9
    by_hand = 2 * k2 * (
        1 * 2 * 16  # first conv 1 → 2 at 4×4
        + 2 * 2 * 16 + 4 * 2 * 16  # dense convs: 2 → 2 and (2+2) → 2 at 4×4
        + 2 * 2 * 16  # body conv at 4×4
        + 2 * 2 * 64  # upsampling conv at 8×8
        + 2 * 2 * 64 + 2 * 1 * 64  # Swish conv and output conv at 8×8
    )
    assert networks.generator_flops(tiny, lr_size=4) == by_hand == 16_704


def test_generator_flops_match_the_conv_layers():
    """Cross-check against the convolution shapes of the built paper generator at 6×6."""
    generator = networks.SRGenerator()
    convs = [layer for layer in generator.layers if isinstance(layer, keras.layers.Conv2D)]
    probe = keras.Model(generator.input, [layer.output for layer in convs])
    outputs = probe(images(6, batch=1))
    total = 0
    for layer, out in zip(convs, outputs, strict=True):
        kh, kw, c_in, c_out = layer.kernel.shape
        total += 2 * kh * kw * c_in * c_out * out.shape[1] * out.shape[2]
    assert len(convs) == 1 + 5 * 3 * 5 + 1 + 2 + 2
    assert networks.generator_flops() == total == 174_203_136
