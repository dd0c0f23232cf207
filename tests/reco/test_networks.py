"""Networks of paper 003 §5 (reconstruction): sizes, shapes, skip weights, serialisation."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from caloml.errors import InputError
from caloml.reco import config, networks
from caloml.training import export

TINY = {
    "dnn": config.DNNConfig(hidden_layers=2, units=8, hcal_window=3),
    "cnn": config.CNNConfig(ecal_filters=2, ecal_kernel=3, hidden_layers=2, units=8,
                            hcal_window=3),
    "googlenet": config.GoogLeNetConfig(channel_divisor=16, dense_units=8),
}


def trainable_count(model: keras.Model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def dense(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def conv(c_in: int, c_out: int, kernel: tuple[int, int, int]) -> int:
    return int(np.prod(kernel)) * c_in * c_out + c_out


def batch(hcal_window: int = 3, size: int = 2, seed: int = 0,
          names=("ecal", "hcal", "scalars")) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {"ecal": rng.random((size, 25, 25, 25, 1), dtype=np.float32),
              "hcal": rng.random((size, hcal_window, hcal_window, 60, 1), dtype=np.float32),
              "scalars": rng.random((size, 4), dtype=np.float32)}
    return {name: arrays[name] for name in names}


def tiny_inputs(name: str, seed: int = 0) -> dict[str, np.ndarray]:
    return batch(getattr(TINY[name], "hcal_window", 3), seed=seed,
                 names=networks.INPUT_NAMES[name])


@pytest.fixture(scope="module")
def tiny_models():
    keras.utils.set_random_seed(0)
    return {name: networks.build_network(name, cfg) for name, cfg in TINY.items()}


# ---------------------------------------------------------------------------- parameter counts


def test_dnn_reproduces_the_papers_count_with_hcal_5_and_counts_hcal_11():
    def by_hand(hcal_window: int) -> int:
        flat = 25**3 + hcal_window**2 * 60 + 4
        # input layer, 4 hidden layers, final layer on [512 hidden, 4 scalars, constant 1]
        return dense(flat, 512) + 4 * dense(512, 512) + dense(512 + 5, 5)

    assert by_hand(5) == 9_823_774  # §5.2
    assert by_hand(11) == 12_772_894
    assert trainable_count(networks.RecoDNN(config.DNNConfig.paper_count())) == 9_823_774
    model = networks.build_network("dnn")
    assert trainable_count(model) == 12_772_894
    assert model.count_params() == 12_772_894  # nothing non-trainable
    assert model.get_layer("input_dense").activation is keras.activations.linear


def test_cnn_papers_count_is_the_scan_default_network_and_the_best_one_is_larger():
    def by_hand(filters: int, kernel: int, hcal_window: int) -> int:
        ecal_flat = ((25 - kernel + 1) // 2) ** 3 * filters
        hcal_flat = ((hcal_window - 1) // 2) ** 2 * ((60 - 6 + 1) // 2) * 3
        return (conv(1, filters, (kernel,) * 3) + conv(1, 3, (2, 2, 6))
                + dense(ecal_flat + hcal_flat + 4, 512) + 3 * dense(512, 512)
                + dense(512 + 5, 5))

    assert by_hand(3, 4, 5) == 3_003_692  # §5.2
    assert by_hand(6, 6, 11) == 4_903_295  # §5.2's stated best settings
    assert trainable_count(networks.RecoCNN(config.CNNConfig.paper_count())) == 3_003_692
    assert trainable_count(networks.build_network("cnn")) == 4_903_295


def googlenet_by_hand(branch3: str) -> int:
    def bn(c: int) -> int:
        return 2 * c  # γ, β; the moving statistics are not trainable

    total = conv(1, 192, (3, 3, 3)) + bn(192)
    for a, b, c, d, e, f, g in networks.INCEPTION_WIDTHS.values():
        total += conv(a, b, (1, 1, 1)) + bn(b)
        total += conv(a, c, (1, 1, 1)) + bn(c) + conv(c, d, (3, 3, 3)) + bn(d)
        total += conv(a, e, (1, 1, 1)) + bn(e)
        if branch3 == "3x3x3_twice":
            total += conv(e, f, (3, 3, 3)) + bn(f) + conv(f, f, (3, 3, 3)) + bn(f)
        else:
            total += conv(e, f, (5, 5, 5)) + bn(f)
        total += conv(a, g, (1, 1, 1)) + bn(g)
    return total + dense(1024 + 4, 1024) + dense(1024 + 5, 5)


def test_googlenet_counts_for_both_third_branches():
    assert googlenet_by_hand("3x3x3_twice") == 14_956_286  # §5.2
    assert googlenet_by_hand("5x5x5") == 15_289_646  # appendix E's text
    assert trainable_count(networks.build_network("googlenet")) == 14_956_286
    five = networks.build_network("googlenet", config.GoogLeNetConfig(branch3="5x5x5"))
    assert trainable_count(five) == 15_289_646


def test_inception_table_chains_its_channels():
    widths = list(networks.INCEPTION_WIDTHS.values())
    assert widths[0][0] == networks.STEM_FILTERS
    for before, after in zip(widths, widths[1:], strict=False):
        _, b, _, d, _, f, g = before
        assert after[0] == b + d + f + g
    _, b, _, d, _, f, g = widths[-1]
    assert b + d + f + g == 1024  # the dense layer's 1024 + 4 inputs in Triforce


# ---------------------------------------------------------------------------- shapes and inputs


@pytest.mark.parametrize("name", ["dnn", "cnn", "googlenet"])
def test_outputs_have_the_documented_shapes(tiny_models, name):
    out = tiny_models[name](tiny_inputs(name), training=False)
    assert sorted(out) == ["direction", "energy", "logits"]
    assert tuple(out["logits"].shape) == (2, 2)
    assert tuple(out["energy"].shape) == (2, 1)
    assert tuple(out["direction"].shape) == (2, 2)


def test_input_names_and_shapes(tiny_models):
    assert tiny_models["dnn"].input_names == ("ecal", "hcal", "scalars")
    assert tiny_models["cnn"].input_names == ("ecal", "hcal", "scalars")
    # §5.1: GoogLeNet sees the HCAL only through its energy sum.
    assert tiny_models["googlenet"].input_names == ("ecal", "scalars")
    for model in tiny_models.values():
        assert sorted(t.name for t in model.inputs) == sorted(model.input_names)
    shapes = {t.name: tuple(t.shape) for t in tiny_models["cnn"].inputs}
    assert shapes == {"ecal": (None, 25, 25, 25, 1), "hcal": (None, 3, 3, 60, 1),
                      "scalars": (None, 4)}


def test_cnn_pools_with_floor_like_pytorch(tiny_models):
    cnn = tiny_models["cnn"]
    assert tuple(cnn.get_layer("ecal_pool").output.shape) == (None, 11, 11, 11, 2)  # 23 → 11
    assert tuple(cnn.get_layer("hcal_pool").output.shape) == (None, 1, 1, 27, 3)  # 55 → 27


def test_googlenet_sizes_25_13_7_1(tiny_models):
    model = tiny_models["googlenet"]
    assert model.get_layer("inception_3b_concat").output.shape[1:4] == (25, 25, 25)
    assert model.get_layer("pool_3b").output.shape[1:4] == (13, 13, 13)
    assert model.get_layer("pool_4e").output.shape[1:4] == (7, 7, 7)
    assert model.get_layer("average_pool").output.shape[1:4] == (1, 1, 1)


def test_same_max_pooling_is_pytorchs_padding_of_one(tiny_models):
    # MaxPool3d(3, stride 2, padding 1): windows start at -1, 1, 3 on a 5-cell axis, and the
    # padding never wins (−∞). Negative values make a zero-padded pool fail this test.
    pool = tiny_models["googlenet"].get_layer("pool_3b")
    x = -np.random.default_rng(3).random((1, 5, 5, 5, 1), dtype=np.float32)
    pooled = np.asarray(pool(x))[0, ..., 0]
    expected = np.empty((3, 3, 3), np.float32)
    for i, j, k in np.ndindex(3, 3, 3):
        lo = [max(0, 2 * n - 1) for n in (i, j, k)]
        expected[i, j, k] = x[0, lo[0]:2 * i + 2, lo[1]:2 * j + 2, lo[2]:2 * k + 2, 0].max()
    np.testing.assert_array_equal(pooled, expected)


def test_instance_norm_has_no_weights_and_normalises_each_shower(tiny_models):
    norm = tiny_models["googlenet"].get_layer("instance_norm")
    assert norm.weights == []
    rng = np.random.default_rng(5)
    x = rng.random((2, 4, 4, 4, 1), dtype=np.float32) * np.array([1.0, 50.0],
                                                                   np.float32)[:, None, None,
                                                                                None, None]
    mean = x.mean(axis=(1, 2, 3, 4), keepdims=True)
    var = x.var(axis=(1, 2, 3, 4), keepdims=True)
    expected = (x - mean) / np.sqrt(var + networks.INSTANCE_NORM_EPSILON)
    np.testing.assert_allclose(np.asarray(norm(x)), expected, rtol=1e-4, atol=1e-5)


def test_batch_norm_follows_triforce():
    model = networks.build_network("googlenet", TINY["googlenet"])
    norms = [layer for layer in model.layers
             if isinstance(layer, keras.layers.BatchNormalization)]
    # stem + 9 modules × (b1, b2 reduce, b2, b3 reduce, b3 twice, b4) = 1 + 9 × 7
    assert len(norms) == 64
    assert {(n.epsilon, n.momentum) for n in norms} == {(1e-7, 0.9)}
    assert all(layer.use_bias for layer in model.layers
               if isinstance(layer, keras.layers.Conv3D))


# ---------------------------------------------------------------------------- skip weights


@pytest.mark.parametrize("name", ["dnn", "cnn", "googlenet"])
def test_an_untrained_network_predicts_the_energy_sum(tiny_models, name):
    model = tiny_models[name]
    inputs = tiny_inputs(name, seed=1)
    energy = np.asarray(model(inputs, training=False)["energy"])[:, 0]
    scalars = inputs["scalars"]
    np.testing.assert_allclose(energy, scalars[:, 2] + scalars[:, 3], rtol=1e-6, atol=1e-7)
    # The other outputs do depend on the cells (the cells' path through the network is live).
    other = tiny_inputs(name, seed=2)
    other["scalars"] = inputs["scalars"]
    assert not np.allclose(model(inputs)["logits"], model(other)["logits"])


def test_skip_weights_in_the_final_kernel(tiny_models):
    units = TINY["dnn"].units
    kernel = tiny_models["dnn"].get_layer("output").kernel.numpy()
    assert kernel.shape == (units + 5, 5)
    energy = kernel[:, networks.ENERGY_COLUMN]
    expected = np.zeros(units + 5, np.float32)
    expected[[units + 2, units + 3]] = 1.0  # [hidden, phi, eta, ECAL sum, HCAL sum, 1]
    np.testing.assert_array_equal(energy, expected)
    # The class and direction columns keep Keras' random initialisation.
    for column in (0, 1, 3, 4):
        assert np.count_nonzero(kernel[:, column]) == units + 5


def test_constant_column_layer():
    layer = networks.ConstantColumn(2.5)
    out = np.asarray(layer(np.zeros((3, 4, 2), np.float32)))
    np.testing.assert_array_equal(out, np.full((3, 1), 2.5, np.float32))
    assert layer.weights == []
    assert networks.ConstantColumn.from_config(layer.get_config()).value == 2.5


# ---------------------------------------------------------------------------- serialisation


@pytest.mark.parametrize("name", ["dnn", "cnn", "googlenet"])
def test_get_config_round_trip(tiny_models, name):
    model = tiny_models[name]
    cfg = model.get_config()
    assert cfg["config"] == dataclasses.asdict(TINY[name])
    clone = type(model).from_config(cfg)
    assert clone.config == TINY[name]
    assert trainable_count(clone) == trainable_count(model)


@pytest.mark.parametrize("name", ["dnn", "cnn", "googlenet"])
def test_keras_file_round_trip_gives_identical_outputs(tiny_models, name, tmp_path):
    model = tiny_models[name]
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    assert loaded.config == model.config
    inputs = tiny_inputs(name, seed=4)
    for key, value in model(inputs, training=False).items():
        np.testing.assert_array_equal(np.asarray(loaded(inputs, training=False)[key]),
                                      np.asarray(value))


def test_savedmodel_export_serves_the_same_outputs(tiny_models, tmp_path):
    model = tiny_models["cnn"]
    _, savedmodel_path = export.export_model(model, tmp_path, "reco_cnn")
    loaded = tf.saved_model.load(savedmodel_path)  # kept referenced: it owns the variables
    inputs = tiny_inputs("cnn", seed=6)
    served = loaded.serve({k: tf.constant(v) for k, v in inputs.items()})
    assert sorted(served) == ["direction", "energy", "logits"]
    for key, value in model(inputs, training=False).items():
        np.testing.assert_allclose(served[key].numpy(), np.asarray(value), rtol=1e-5,
                                   atol=1e-6)


# ---------------------------------------------------------------------------- errors


def test_build_network_rejects_unknown_names_and_foreign_configs():
    with pytest.raises(InputError,
                       match="network must be one of dnn, cnn, googlenet, got 'resnet'"):
        networks.build_network("resnet")
    with pytest.raises(InputError, match="the cnn network needs a CNNConfig, got a DNNConfig"):
        networks.build_network("cnn", config.DNNConfig())


def test_dict_configs_are_parsed_and_checked():
    model = networks.build_network("cnn", dataclasses.asdict(TINY["cnn"]) | {
        "hcal_kernel": [2, 2, 6]})  # JSON gives a list
    assert model.config == TINY["cnn"]
    with pytest.raises(InputError, match="DNNConfig has no setting filters"):
        networks.build_network("dnn", {"filters": 3})


def test_configs_reject_impossible_values():
    with pytest.raises(InputError, match=r"the ECAL convolution \(30, 30, 30\) and pooling 2 "
                                         r"leave nothing of 25×25×25 cells"):
        config.CNNConfig(ecal_kernel=30)
    with pytest.raises(InputError, match=r"the HCAL convolution \(2, 2, 6\) and pooling 2 "
                                         r"leave nothing of 2×2×60 cells"):
        config.CNNConfig(hcal_window=2)
    with pytest.raises(InputError, match="hcal_kernel must be three positive integers"):
        config.CNNConfig(hcal_kernel=(2, 6))
    with pytest.raises(InputError, match="branch3 must be one of 3x3x3_twice, 5x5x5, got '7'"):
        config.GoogLeNetConfig(branch3="7")
    with pytest.raises(InputError, match="dropout must be < 1, got 1.0"):
        config.DNNConfig(dropout=1.0)
    with pytest.raises(InputError, match="learning_rate must be > 0"):
        config.GoogLeNetConfig(learning_rate=0.0)
