"""Networks of paper 001: parameter counts, shapes, the p-scaling, sum pooling, serialisation."""

import dataclasses
import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from caloml.jet_sr import config, networks

TINY_GENERATOR = config.GeneratorConfig(factor=4, num_rrdb=1, filters=8, dense_blocks=2,
                                        convs_per_dense_block=2, residual_scale=0.3)
TINY_DISCRIMINATOR = config.DiscriminatorConfig(filters=(4, 8))


def trainable_count(model: keras.Model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def conv_params(c_in: int, c_out: int, k: int = 3) -> int:
    return k * k * c_in * c_out + c_out


def jets(size: int, batch: int = 3, seed: int = 0) -> np.ndarray:
    """Sparse pT images in GeV: ~30 % active pixels, exponential spectrum."""
    rng = np.random.default_rng(seed)
    active = rng.random((batch, size, size, 1)) < 0.3
    return (active * rng.exponential(20.0, active.shape)).astype(np.float32)


# ---------------------------------------------------------------------------- parameter counts


def test_generator_parameter_count_by_hand():
    generator = networks.JetSRGenerator()
    # conv j of a dense block sees the block input and j-1 outputs: 64·j channels (growth 64).
    dense_block = sum(conv_params(64 * j, 64) for j in range(1, 6))
    rrdb = 3 * dense_block
    pixel_shuffle = conv_params(64, 4 * 64)  # conv 64 → 256, then depth to space
    transposed = 2 * 2 * 64 * 64 + 64  # 2×2 kernel, stride 2
    by_hand = (conv_params(1, 64) + 10 * rrdb + conv_params(64, 64)  # first, RRDBs, body
               + pixel_shuffle + transposed + pixel_shuffle  # §3: PS, TC, PS for f = 8
               + conv_params(64, 64) + conv_params(64, 1))  # HR conv, output conv
    assert rrdb == 1_659_840
    assert by_hand == 16_985_345
    assert trainable_count(generator) == generator.count_params() == by_hand
    # The original code's three pixel shuffles: one transposed convolution fewer.
    original = networks.JetSRGenerator(config.GeneratorConfig(upsampling=("pixel_shuffle",) * 3))
    assert trainable_count(original) == by_hand - transposed + pixel_shuffle == 17_116_609


def test_discriminator_parameter_counts_by_hand():
    def by_hand(filters):
        total, c_in = 0, 1
        for c_out in filters:
            total += conv_params(c_in, c_out) + conv_params(c_out, c_out)  # stride 1, stride 2
            c_in = c_out
        return total + conv_params(c_in, 1)  # the 1-channel patch response

    assert by_hand((64, 128, 256, 512)) == 4_688_833
    assert by_hand((16, 32, 32, 64)) == 90_865
    assert trainable_count(networks.MarkovianDiscriminator()) == 4_688_833
    original = config.DiscriminatorConfig(filters=config.ORIGINAL_DISCRIMINATOR_FILTERS)
    assert trainable_count(networks.MarkovianDiscriminator(original)) == 90_865
    # No batch normalisation, no dense layer (§2): convolutions and LeakyReLUs only.
    kinds = {type(layer).__name__ for layer in networks.MarkovianDiscriminator().layers}
    assert kinds == {"InputLayer", "Conv2D", "LeakyReLU"}


# ---------------------------------------------------------------------------- shapes, scaling


@pytest.mark.parametrize("factor", config.FACTORS)
def test_generator_upsamples_by_the_factor(factor):
    settings = dataclasses.replace(TINY_GENERATOR, factor=factor)
    generator = networks.JetSRGenerator(settings)
    out = generator(jets(5, batch=2), training=False)
    assert set(out) == {"sr_power", "sr"}
    assert out["sr"].shape == out["sr_power"].shape == (2, 5 * factor, 5 * factor, 1)
    transposed = [layer.name for layer in generator.layers
                  if isinstance(layer, keras.layers.Conv2DTranspose)]
    shuffles = [layer.name for layer in generator.layers
                if isinstance(layer, networks.PixelShuffle)]
    expected = settings.upsampling_steps
    assert transposed == [f"upsample_{i}_transposed" for i, s in enumerate(expected, 1)
                          if s == "transposed_conv"]
    assert shuffles == [f"upsample_{i}_shuffle" for i, s in enumerate(expected, 1)
                        if s == "pixel_shuffle"]
    # Fully convolutional: another, non-square LR size.
    assert generator(jets(3, batch=1)[:, :, :2]).get("sr").shape == (1, 3 * factor, 2 * factor, 1)


def test_generator_works_on_p_scaled_values_divided_by_f():
    keras.utils.set_random_seed(1)
    settings = TINY_GENERATOR
    generator = networks.JetSRGenerator(settings)
    lr = jets(6)
    probe = keras.Model(generator.input, [generator.get_layer("lr_scale").output,
                                          generator.get_layer("conv_last").output])
    scaled_input, last = (t.numpy() for t in probe(lr))
    np.testing.assert_allclose(scaled_input, lr ** 0.3 / 4, rtol=1e-5, atol=1e-7)  # LR^p / f
    out = {k: v.numpy() for k, v in generator(lr).items()}
    np.testing.assert_allclose(out["sr_power"], 4 * last, rtol=1e-6)  # "divided by 1/f"
    assert last.min() >= 0.0 and last.max() > 0.0  # the ReLU before the scaling
    np.testing.assert_allclose(out["sr"], out["sr_power"] ** (1 / 0.3), rtol=1e-4, atol=1e-12)
    slopes = [layer.negative_slope for layer in generator.layers
              if isinstance(layer, keras.layers.LeakyReLU)]
    # 2 dense blocks × 1 inner conv, 2 up-sampling steps, the HR conv: α = 0.2 everywhere (§2).
    assert slopes == pytest.approx([0.2] * 5)
    # The dense blocks' inner convolutions are each followed by a LeakyReLU; 2 blocks × 1.
    assert generator.get_layer("rrdb_1_dense_2_activation_1").negative_slope == pytest.approx(0.2)


def test_discriminator_scores_patches():
    discriminator = networks.MarkovianDiscriminator()
    assert discriminator(jets(160, batch=2)).shape == (2, 10, 10, 1)  # 160 / 2⁴
    assert networks.MarkovianDiscriminator(TINY_DISCRIMINATOR)(jets(8)).shape == (3, 2, 2, 1)
    pairs = networks.make_discriminators(TINY_DISCRIMINATOR, ("pow",))
    assert list(pairs) == ["pow"]
    assert [d.name for d in pairs["pow"]] == ["discriminator_pow", "second_discriminator_pow"]


def test_sum_pool_sums_each_block():
    images = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    pooled = networks.sum_pool(images, 2).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(pooled, [[0 + 1 + 4 + 5, 2 + 3 + 6 + 7],
                                           [8 + 9 + 12 + 13, 10 + 11 + 14 + 15]])
    x = jets(16, batch=2)
    np.testing.assert_allclose(networks.sum_pool(x, 8), x.reshape(2, 2, 8, 2, 8, 1).sum((2, 4)),
                               rtol=1e-5)


def test_pixel_shuffle_is_depth_to_space():
    x = np.arange(2 * 3 * 2 * 8, dtype=np.float32).reshape(2, 3, 2, 8)
    layer = networks.PixelShuffle(2)
    out = layer(x).numpy()
    assert out.shape == (2, 6, 4, 2)
    np.testing.assert_array_equal(out, tf.nn.depth_to_space(x, 2).numpy())
    # Channel (2·i + j)·c + k of pixel (h, w) lands at (2h + i, 2w + j), channel k.
    assert out[0, 2 * 1 + 1, 2 * 0 + 0, 1] == x[0, 1, 0, (2 * 1 + 0) * 2 + 1]
    assert layer.compute_output_shape((None, None, 5, 8)) == (None, None, 10, 2)


# ---------------------------------------------------------------------------- serialisation

CASES = [(networks.JetSRGenerator, TINY_GENERATOR, 5),
         (networks.MarkovianDiscriminator, TINY_DISCRIMINATOR, 8)]
IDS = ["generator", "discriminator"]


def _outputs(model, x):
    out = model(x, training=False)
    return {k: v.numpy() for k, v in out.items()} if isinstance(out, dict) else {"": out.numpy()}


@pytest.mark.parametrize(("cls", "settings", "size"), CASES, ids=IDS)
def test_get_config_round_trip(cls, settings, size):
    keras.utils.set_random_seed(0)
    model = cls(settings, name="original")
    values = model.get_config()
    assert values["config"] == dataclasses.asdict(settings)
    clone = cls.from_config(json.loads(json.dumps(values)))
    assert type(clone) is cls and clone.config == settings and clone.name == "original"
    clone.set_weights(model.get_weights())
    x = jets(size)
    for key, value in _outputs(model, x).items():
        np.testing.assert_allclose(_outputs(clone, x)[key], value, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("cls", "settings", "size"), CASES, ids=IDS)
def test_keras_file_save_and_load(cls, settings, size, tmp_path):
    keras.utils.set_random_seed(1)
    model = cls(settings)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe mode: a Lambda layer would not load
    assert type(loaded) is cls and loaded.config == settings
    x = jets(size, seed=2)
    for key, value in _outputs(model, x).items():
        np.testing.assert_allclose(_outputs(loaded, x)[key], value, rtol=1e-6, atol=1e-6)


LOAD_WITHOUT_CALOML = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    loaded = tf.saved_model.load(sys.argv[1])  # kept referenced: it owns the variables
    x = np.load(sys.argv[2])
    out = loaded.serve(tf.constant(x))
    bigger = loaded.serve(tf.zeros((1, 7, 3, 1)))  # the lateral sizes stay free
    assert "caloml" not in sys.modules, sorted(m for m in sys.modules if "caloml" in m)
    print(json.dumps({"sr": out["sr"].numpy().tolist(),
                      "sr_power": out["sr_power"].numpy().tolist(),
                      "bigger": list(bigger["sr"].shape)}))
""")


@pytest.mark.slow
def test_savedmodel_loads_without_caloml(tmp_path):
    keras.utils.set_random_seed(2)
    generator = networks.JetSRGenerator(TINY_GENERATOR)
    generator.export(str(tmp_path / "generator_savedmodel"), format="tf_saved_model",
                     verbose=False)
    x = jets(5, batch=2, seed=3)
    np.save(tmp_path / "x.npy", x)
    proc = subprocess.run([sys.executable, "-c", LOAD_WITHOUT_CALOML,
                           str(tmp_path / "generator_savedmodel"), str(tmp_path / "x.npy")],
                          capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = _outputs(generator, x)
    np.testing.assert_allclose(np.asarray(result["sr"]), expected["sr"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(result["sr_power"]), expected["sr_power"], rtol=1e-5,
                               atol=1e-6)
    assert result["bigger"] == [1, 28, 12, 1]
