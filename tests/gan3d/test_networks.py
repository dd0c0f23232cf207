"""The 3DGAN networks: parameter counts and shapes derived by hand, round trips, physics heads."""

import dataclasses

import keras
import numpy as np
import pytest

from caloml.data import threedgan
from caloml.errors import InputError
from caloml.gan3d import config as config_lib
from caloml.gan3d import networks
from caloml.layers.upsampled_conv import UpsampledConv3D

POWER = config_lib.POWER


def _conv(kernel, channels, filters, bias=True):
    """Parameters of a Conv3D: kernel volume × input channels × filters (+ a bias per filter)."""
    return kernel[0] * kernel[1] * kernel[2] * channels * filters + (filters if bias else 0)


def _bn(channels):
    return 4 * channels  # γ, β trainable; moving mean and variance not


def _non_trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)


@pytest.fixture(scope="module")
def anglegan_generator():
    keras.utils.set_random_seed(0)
    return networks.Gan3DGenerator()


@pytest.fixture(scope="module")
def anglegan_discriminator():
    keras.utils.set_random_seed(1)
    return networks.Gan3DDiscriminator()


def test_anglegan_generator_parameter_count_by_hand(anglegan_generator):
    expected = ((256 + 1) * 5184  # Dense(5184) on [E/100, θ, 254 numbers]
                + _conv((6, 6, 8), 8, 8) + _bn(8)
                + _conv((4, 4, 6), 8, 6) + _bn(6)
                + 2 * (_conv((4, 4, 6), 6, 6) + _bn(6))
                + _conv((3, 3, 5), 6, 6) + _bn(6)
                + _conv((3, 3, 3), 6, 6)
                + _conv((2, 2, 2), 6, 1))
    assert expected == 1_365_047
    assert anglegan_generator.count_params() == expected
    assert _non_trainable(anglegan_generator) == 2 * (8 + 4 * 6)
    # The Dense pre-image holds 98% of the generator.
    assert anglegan_generator.get_layer("dense").count_params() == 257 * 5184


def test_paper_text_and_energygan_generator_parameter_counts_by_hand():
    paper_text = networks.Gan3DGenerator(config_lib.GeneratorConfig(architecture="paper_text"))
    expected = ((256 + 1) * 11 * 7 * 9 * 8  # Dense → (11, 7, 9, 8)
                + _conv((6, 6, 8), 8, 64) + _bn(64)
                + _conv((5, 8, 8), 64, 6) + _bn(6)
                + _conv((3, 5, 8), 6, 6)
                + _conv((2, 2, 2), 6, 1, bias=False))
    assert expected == 1_699_868
    assert paper_text.count_params() == expected
    assert _non_trainable(paper_text) == 2 * (64 + 6)
    energygan = networks.Gan3DGenerator(config_lib.GeneratorConfig(architecture="energygan",
                                                                   latent_dim=200))
    expected = ((200 + 1) * 3136  # Dense(3136) on 200 numbers × E/100
                + _conv((6, 6, 8), 8, 64) + _bn(64)
                + _conv((6, 5, 8), 64, 6) + _bn(6)
                + _conv((3, 3, 8), 6, 6)
                + _conv((2, 2, 2), 6, 1, bias=False))
    assert expected == 872_948
    assert energygan.count_params() == expected
    assert sorted(energygan.input) == ["energy", "latent"]
    assert tuple(energygan.output["ecal"].shape) == (None, 25, 25, 25)


def test_discriminator_parameter_counts_by_hand(anglegan_discriminator):
    flat = 19 * 18 * 7 * 8
    expected = (_conv((5, 6, 6), 1, 16)
                + _conv((5, 6, 6), 16, 8) + _bn(8)
                + 2 * (_conv((5, 6, 6), 8, 8) + _bn(8))
                + 2 * (flat + 1))  # Dense(1) "real" and "energy"; the physics heads: none
    assert flat == 19_152 and expected == 87_402
    assert anglegan_discriminator.count_params() == expected
    assert _non_trainable(anglegan_discriminator) == 2 * 3 * 8
    energygan = networks.Gan3DDiscriminator(
        config_lib.DiscriminatorConfig(architecture="energygan"))
    flat = 11**3 * 8
    expected = (_conv((5, 5, 5), 1, 32) + _conv((5, 5, 5), 32, 8) + _bn(8)
                + 2 * (_conv((5, 5, 5), 8, 8) + _bn(8)) + 2 * (flat + 1))
    assert flat == 10_648 and expected == 73_450
    assert energygan.count_params() == expected
    assert sorted(energygan.output) == ["ecal_sum", "energy", "real"]
    assert energygan.get_layer("features").output.shape[-1] == flat


def _shapes(model, names):
    return [tuple(model.get_layer(name).output.shape[1:]) for name in names]


def test_layer_shapes_by_hand(anglegan_generator, anglegan_discriminator):
    # Valid convolutions shrink by kernel − 1; ZeroPadding3D(p) grows by 2p; UpSampling3D(f) ×f.
    # anglegan's UpSampling3D(6) and conv1 are one UpsampledConv3D: 9 × 6 − 5, 8 × 6 − 7.
    assert _shapes(anglegan_generator, [
        "pre_image", "conv1", "pad1", "conv2", "pad2", "conv3", "pad3", "conv4",
        "pad4", "conv5", "pad5", "conv6", "conv7"]) == [
        (9, 9, 8, 8), (49, 49, 41, 8),
        (53, 53, 43, 8), (50, 50, 38, 6),  # + (4, 4, 2), − (3, 3, 5)
        (54, 54, 40, 6), (51, 51, 35, 6),
        (55, 55, 37, 6), (52, 52, 32, 6),
        (54, 54, 32, 6), (52, 52, 28, 6),  # + (2, 2, 0), − (2, 2, 4)
        (54, 54, 28, 6), (52, 52, 26, 6),  # − (2, 2, 2)
        (51, 51, 25, 1)]  # Conv3D(1, 2×2×2)
    assert _shapes(anglegan_discriminator, [
        "conv1", "pad1", "conv2", "pad2", "conv3", "conv4", "pool", "features"]) == [
        (51, 51, 25, 16), (51, 51, 27, 16), (47, 46, 22, 8), (47, 46, 24, 8),
        (43, 41, 19, 8), (39, 36, 14, 8), (19, 18, 7, 8), (19_152,)]
    paper_text = networks.Gan3DGenerator(config_lib.GeneratorConfig(architecture="paper_text"))
    assert _shapes(paper_text, ["pre_image", "conv1", "upsample1", "conv2", "upsample2", "conv3",
                                "conv4"]) == [
        (11, 7, 9, 8), (11, 7, 9, 64), (22, 21, 18, 64), (18, 14, 11, 6), (54, 56, 33, 6),
        (52, 52, 26, 6), (51, 51, 25, 1)]
    energygan = networks.Gan3DGenerator(config_lib.GeneratorConfig(architecture="energygan"))
    assert _shapes(energygan, ["pre_image", "conv1", "upsample1", "pad1", "conv2", "upsample2",
                               "pad2", "conv3", "conv4"]) == [
        (7, 7, 8, 8), (7, 7, 8, 64), (14, 14, 16, 64), (18, 18, 16, 64), (13, 14, 9, 6),
        (26, 28, 27, 6), (28, 28, 33, 6), (26, 26, 26, 6), (25, 25, 25, 1)]


def test_anglegan_generator_computes_the_paper_architecture(tmp_path, monkeypatch,
                                                           anglegan_generator):
    """The fused conv1 is the code's UpSampling3D + Conv3D: same weights, same showers."""
    assert type(anglegan_generator.get_layer("conv1")) is UpsampledConv3D
    pre_image, steps = networks._GENERATORS["anglegan"]
    unfused = (networks._Up((6, 6, 6)),
               dataclasses.replace(steps[0], upsampling=None), *steps[1:])
    monkeypatch.setitem(networks._GENERATORS, "anglegan", (pre_image, unfused))
    keras.utils.set_random_seed(5)
    paper = networks.Gan3DGenerator()
    assert type(paper.get_layer("conv1")) is keras.layers.Conv3D
    assert tuple(paper.get_layer("upsample1").output.shape[1:]) == (54, 54, 48, 8)
    assert paper.count_params() == anglegan_generator.count_params()
    path = str(tmp_path / "paper.weights.h5")  # saved by layer name: conv1's weights map
    paper.save_weights(path)
    fused = networks.Gan3DGenerator()
    fused.load_weights(path)
    np.testing.assert_array_equal(fused.get_layer("conv1").kernel,
                                  paper.get_layer("conv1").kernel)
    inputs = _generator_inputs(2, 254, seed=6)
    expected = np.asarray(paper(inputs, training=False)["ecal_power"])
    assert expected.max() > 0.0
    np.testing.assert_allclose(np.asarray(fused(inputs, training=False)["ecal_power"]), expected,
                               rtol=0, atol=1e-5 * expected.max())


def test_same_padding_of_an_even_kernel_puts_the_extra_zero_after():
    """Keras 2 and 3 pad a 6-wide 'same' kernel with 2 zeros before and 3 after."""
    conv = keras.layers.Conv3D(1, (1, 1, 6), padding="same", use_bias=False,
                               kernel_initializer="ones")
    x = np.arange(1, 9, dtype="float32").reshape(1, 1, 1, 8, 1)
    out = np.asarray(conv(x))[0, 0, 0, :, 0]
    padded = np.concatenate([[0, 0], np.arange(1, 9), [0, 0, 0]])
    np.testing.assert_array_equal(out, [padded[i:i + 6].sum() for i in range(8)])
    assert out[0] == 1 + 2 + 3 + 4 and out[-1] == 6 + 7 + 8


def _generator_inputs(batch, noise_dim, energy=150.0, angle=1.5, seed=0):
    rng = np.random.default_rng(seed)
    return {"energy": np.full((batch, 1), energy, "float32"),
            "angle": np.full((batch, 1), angle, "float32"),
            "latent": rng.normal(size=(batch, noise_dim)).astype("float32")}


def test_anglegan_generator_outputs_and_conditioning(anglegan_generator):
    assert sorted(anglegan_generator.input) == ["angle", "energy", "latent"]
    assert anglegan_generator.noise_dim == 254
    inputs = _generator_inputs(2, 254)
    inputs["latent"][1] = inputs["latent"][0]
    inputs["angle"][1] = 1.1  # same numbers and energy, another angle
    out = anglegan_generator(inputs, training=False)
    assert sorted(out) == ["ecal", "ecal_power"]
    power, ecal = np.asarray(out["ecal_power"]), np.asarray(out["ecal"])
    assert power.shape == (2, 51, 51, 25, 1) and ecal.shape == (2, 51, 51, 25)
    assert power.min() >= 0.0 and power.max() > 0.0
    np.testing.assert_allclose(ecal, power[..., 0] ** (1 / POWER), rtol=1e-5, atol=1e-30)
    assert not np.allclose(ecal[0], ecal[1])  # the angle enters the Dense input


def test_energygan_generator_conditions_by_product():
    generator = networks.Gan3DGenerator(config_lib.GeneratorConfig(architecture="energygan",
                                                                   latent_dim=200))
    inputs = _generator_inputs(2, 200, energy=0.0)
    del inputs["angle"]
    out = np.asarray(generator(inputs, training=False)["ecal"])
    # E = 0 zeroes the Dense input (latent · E / 100): both showers are the same.
    np.testing.assert_allclose(out[0], out[1], atol=1e-7)
    inputs["energy"][:] = 100.0
    out = np.asarray(generator(inputs, training=False)["ecal"])
    assert not np.allclose(out[0], out[1])


def _showers_in_power_space(batch, seed):
    rng = np.random.default_rng(seed)
    cells = rng.gamma(0.5, 0.02, size=(batch, 51, 51, 25)) * (rng.random((batch, 51, 51, 25))
                                                               < 0.3)
    return (cells ** POWER).astype("float32")[..., None]


def test_discriminator_physics_heads_equal_the_numpy_references(anglegan_discriminator):
    x = _showers_in_power_space(3, seed=2)
    x[1] = 0.0  # an empty shower
    out = anglegan_discriminator({"ecal_power": x}, training=False)
    assert sorted(out) == ["angle", "bins", "ecal_sum", "energy", "real"]
    assert tuple(out["real"].shape) == (3, 1) and tuple(out["energy"].shape) == (3, 1)
    cells = x[..., 0].astype(np.float64) ** (1 / POWER)
    np.testing.assert_allclose(np.asarray(out["ecal_sum"])[:, 0], cells.sum(axis=(1, 2, 3)),
                               rtol=1e-5)
    np.testing.assert_allclose(np.asarray(out["angle"])[:, 0], threedgan.measured_theta(cells),
                               atol=2e-5)
    assert float(out["angle"][1, 0]) == 100.0
    edges = [np.float32(limit**POWER) for limit in (0.05, 0.03, 0.02, 0.0125, 0.008, 0.003)]
    flat = x.reshape(3, -1)
    expected = [(flat > edges[0]).sum(axis=1)]
    expected += [((flat > low) & (flat < high)).sum(axis=1)
                 for high, low in zip(edges, [*edges[1:], 0.0], strict=True)]
    expected.append((flat == 0).sum(axis=1))
    np.testing.assert_array_equal(np.asarray(out["bins"]), np.stack(expected, axis=1))
    assert float(out["bins"][1, 7]) == 51 * 51 * 25
    no_bins = networks.Gan3DDiscriminator(config_lib.DiscriminatorConfig(bin_counts=False))
    assert sorted(no_bins.output) == ["angle", "ecal_sum", "energy", "real"]


def test_configs_round_trip(anglegan_generator, anglegan_discriminator):
    for model in (anglegan_generator, anglegan_discriminator):
        clone = type(model).from_config(model.get_config())
        assert clone.config == model.config and clone.count_params() == model.count_params()
    as_json = dataclasses.asdict(config_lib.GeneratorConfig(architecture="paper_text"))
    assert networks.Gan3DGenerator(as_json).config.architecture == "paper_text"
    with pytest.raises(InputError, match="GeneratorConfig has no setting filters"):
        networks.Gan3DGenerator({"filters": 3})


def test_keras_files_round_trip(tmp_path, anglegan_discriminator):
    generator = networks.Gan3DGenerator(config_lib.GeneratorConfig(architecture="energygan",
                                                                   latent_dim=200))
    g_inputs = _generator_inputs(2, 200, energy=120.0)
    del g_inputs["angle"]
    d_inputs = {"ecal_power": _showers_in_power_space(2, seed=3)}
    for model, inputs in ((generator, g_inputs), (anglegan_discriminator, d_inputs)):
        path = str(tmp_path / f"{model.name}.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
        assert type(loaded) is type(model) and loaded.config == model.config
        expected = model(inputs, training=False)
        got = loaded(inputs, training=False)
        assert sorted(got) == sorted(expected)
        for key, value in expected.items():
            np.testing.assert_array_equal(np.asarray(got[key]), np.asarray(value))


@pytest.mark.slow
def test_anglegan_generator_round_trips_through_a_keras_file(tmp_path, anglegan_generator):
    path = str(tmp_path / "generator.keras")
    anglegan_generator.save(path)
    loaded = keras.saving.load_model(path)
    inputs = _generator_inputs(1, 254, seed=4)
    np.testing.assert_array_equal(np.asarray(loaded(inputs, training=False)["ecal"]),
                                  np.asarray(anglegan_generator(inputs, training=False)["ecal"]))


def test_generator_flops_by_hand():
    def conv(cells, filters, kernel, channels):
        return 2 * cells * filters * kernel[0] * kernel[1] * kernel[2] * channels

    anglegan = (2 * 256 * 5184
                + conv(49 * 49 * 41, 8, (6, 6, 8), 8)
                + conv(50 * 50 * 38, 6, (4, 4, 6), 8)
                + conv(51 * 51 * 35, 6, (4, 4, 6), 6)
                + conv(52 * 52 * 32, 6, (4, 4, 6), 6)
                + conv(52 * 52 * 28, 6, (3, 3, 5), 6)
                + conv(52 * 52 * 26, 6, (3, 3, 3), 6)
                + conv(51 * 51 * 25, 1, (2, 2, 2), 6))
    assert networks.generator_flops() == anglegan == 6_122_638_944
    # Computed: conv1 with its UpSampling3D is one conv of the 9×9×8 pre-image padded to
    # 10×10×9, kernel 2×2×3 and 6³ × 8 filters, on 9×9×7 positions.
    computed = anglegan - conv(49 * 49 * 41, 8, (6, 6, 8), 8) + conv(9 * 9 * 7, 6**3 * 8,
                                                                       (2, 2, 3), 8)
    assert networks.generator_flops(implemented=True) == computed == 2_681_826_912
    energygan = (2 * 200 * 3136
                 + conv(7 * 7 * 8, 64, (6, 6, 8), 8)  # 'same'
                 + conv(13 * 14 * 9, 6, (6, 5, 8), 64)
                 + conv(26 * 26 * 26, 6, (3, 3, 8), 6)
                 + conv(25 * 25 * 25, 1, (2, 2, 2), 6))
    for implemented in (False, True):  # no UpsampledConv3D in energygan
        assert networks.generator_flops({"architecture": "energygan", "latent_dim": 200},
                                        implemented=implemented) == energygan
