"""Parameter-free calorimeter layers against hand-computed values."""

import keras
import numpy as np
import pytest

from caloml.layers import calorimeter

# Two showers of a 2×3 layer (GeV).
SHOWERS = np.array([[[1.0, 0.0, 2.0], [0.0, 0.5, 0.0]],
                    [[0.0, 0.0, 0.0], [3.0, -1.0, 4.0]]], dtype="float32")


def test_cell_sum_is_the_layer_energy():
    layer = calorimeter.CellSum()
    np.testing.assert_allclose(layer(SHOWERS[..., None]), [[3.5], [6.0]])
    assert layer.compute_output_shape((None, 2, 3, 1)) == (None, 1)
    assert layer.count_params() == 0


def test_sparsity_counts_cells_strictly_above_the_threshold():
    np.testing.assert_allclose(calorimeter.Sparsity()(SHOWERS), [[3 / 6], [2 / 6]])
    np.testing.assert_allclose(calorimeter.Sparsity(threshold=1.0)(SHOWERS[..., None]),
                               [[1 / 6], [2 / 6]])


def test_energy_conservation_features():
    layer_energies = np.array([[20.0, 30.0, 5.0], [1.0, 2.0, 3.0]], "float32")
    total = layer_energies.sum(axis=1, keepdims=True)  # 55, 6
    requested = np.array([[50.0], [8.0]], "float32")
    out = calorimeter.EnergyConservation()([layer_energies, total, requested])
    np.testing.assert_allclose(out, [[2.0, 3.0, 0.5, 0.55, 5.0, 0.0],
                                     [0.1, 0.2, 0.3, 0.06, 2.0, 0.0]], rtol=1e-6)
    custom = calorimeter.EnergyConservation(layer_scale=1.0, total_scale=1.0, tolerance=4.0,
                                            flag_value=7.0)
    np.testing.assert_allclose(custom([layer_energies, total, requested]),
                               [[20.0, 30.0, 5.0, 55.0, 5.0, 7.0],
                                [1.0, 2.0, 3.0, 6.0, 2.0, 0.0]], rtol=1e-6)
    assert custom.compute_output_shape([(None, 3), (None, 1), (None, 1)]) == (None, 6)


def test_energy_conservation_flag_is_strict():
    out = calorimeter.EnergyConservation()([np.zeros((2, 1), "float32"),
                                            np.array([[10.0], [10.0]], "float32"),
                                            np.array([[5.0], [4.0]], "float32")])
    np.testing.assert_allclose(np.asarray(out)[:, -2:], [[5.0, 0.0], [6.0, 10.0]])


def test_energy_conditioning():
    z = np.array([[1.0, -2.0], [0.5, 4.0]], "float32")
    energy = np.array([[50.0], [200.0]], "float32")
    layer = calorimeter.EnergyConditioning()
    np.testing.assert_allclose(layer([z, energy]), [[0.5, -1.0], [1.0, 8.0]])
    embedding = np.array([[2.0, 3.0], [-1.0, 0.0]], "float32")
    np.testing.assert_allclose(layer([z, energy, embedding]), [[1.0, -3.0], [-1.0, 0.0]])
    assert layer.compute_output_shape([(None, 2), (None, 1)]) == (None, 2)


@pytest.mark.parametrize("layer", [
    calorimeter.CellSum(name="energy_0"),
    calorimeter.Sparsity(threshold=0.25),
    calorimeter.EnergyConservation(layer_scale=2.0, total_scale=3.0, tolerance=4.0,
                                   flag_value=5.0),
    calorimeter.EnergyConditioning(energy_scale=50.0),
], ids=lambda layer: type(layer).__name__)
def test_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    assert {k: v for k, v in config.items() if isinstance(v, float)} == {
        k: getattr(clone, k) for k, v in config.items() if isinstance(v, float)}


def test_keras_file_round_trip(tmp_path):
    image = keras.Input((2, 3))
    requested = keras.Input((1,))
    energy = calorimeter.CellSum()(image)
    features = calorimeter.EnergyConservation()([energy, energy, requested])
    outputs = keras.layers.Concatenate()([features, calorimeter.Sparsity()(image)])
    model = keras.Model([image, requested], outputs)
    path = str(tmp_path / "features.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    inputs = [SHOWERS, np.array([[1.0], [6.5]], "float32")]
    np.testing.assert_allclose(loaded(inputs), [[0.35, 0.035, 2.5, 0.0, 0.5],
                                                [0.6, 0.06, 0.5, 0.0, 2 / 6]], rtol=1e-6)


@pytest.mark.parametrize("layer, inputs, match", [
    (calorimeter.EnergyConservation(), [np.zeros((2, 3)), np.zeros((2, 1))], "requested"),
    (calorimeter.EnergyConditioning(), [np.zeros((2, 3))], "energy"),
])
def test_wrong_number_of_inputs(layer, inputs, match):
    with pytest.raises(ValueError, match=match):
        layer(inputs)


def test_zero_scales_are_refused():
    with pytest.raises(ValueError, match="total_scale"):
        calorimeter.EnergyConservation(total_scale=0.0)
    with pytest.raises(ValueError, match="energy_scale"):
        calorimeter.EnergyConditioning(energy_scale=0)
