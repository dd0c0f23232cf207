"""The SR-GAN study's settings: paper values, energies, splits, and what a resume may change."""

import dataclasses

import pytest

from caloml import errors
from caloml.data import srgamma
from caloml.srgan import config


def test_perceptual_weights_of_the_paper():
    assert config.perceptual_weight(20.0) == 3e-2
    assert config.perceptual_weight(50.0) == 3e-1
    with pytest.raises(errors.InputError, match="set --lambda_per for 35 GeV"):
        config.perceptual_weight(35.0)


def test_paper_energy_is_the_one_lookup():
    assert srgamma.paper_energy(20.0) == "20" and srgamma.paper_energy(50.0 + 1e-9) == "50"
    assert srgamma.paper_energy(35.0) is None


def test_test_sizes_follow_footnote_3():
    at_20 = config.SRGANExperiment(workdir="w", energy_gev=20.0).splits
    assert (at_20.test_photon, at_20.test_pi0) == (100_000, 1_000_000)
    at_50 = config.SRGANExperiment(workdir="w", energy_gev=50.0).splits
    assert (at_50.test_photon, at_50.test_pi0) == (25_000, 25_000)
    chosen = config.SRGANExperiment(workdir="w", energy_gev=20.0, num_test_pi0=300).splits
    assert (chosen.test_photon, chosen.test_pi0) == (100_000, 300)
    # The π⁰ file is the larger one: its test split follows the shared splits.
    assert chosen.ranges("pi0")["test"] == (155_000, 155_300)
    assert at_20.total("pi0") == 100_000 + 50_000 + 5_000 + 1_000_000


def test_resolved_settings_are_stored_completely():
    resolved = config.SRGANExperiment(workdir="w", energy_gev=20.0).resolved()
    assert resolved.lambda_per == resolved.gan.lambda_per == 3e-2
    assert (resolved.num_test_photon, resolved.num_test_pi0) == (100_000, 1_000_000)
    again = config.SRGANExperiment.from_json(dataclasses.asdict(resolved))
    assert again == resolved


def test_intermediate_epoch_of_fig_8():
    assert config.intermediate_epoch(5000) == 100
    assert config.intermediate_epoch(6) == 3
    assert config.intermediate_epoch(1) == 1


def test_invalid_settings_name_the_field():
    with pytest.raises(errors.InputError, match="perceptual_features must be one of"):
        config.SRGANConfig(perceptual_features="middle")
    with pytest.raises(errors.InputError,
                       match=r"filters must be a positive integer, got 0 \(GeneratorConfig\)"):
        config.GeneratorConfig(filters=0)


@pytest.mark.parametrize("changes, message", [
    ({"classifier_sizes": (-5,)}, "classifier_sizes must be integers of at least 2"),
    ({"classifier_sizes": (1000, 0)}, "classifier_sizes must be integers of at least 2"),
    ({"energy_gev": float("nan")}, "energy_gev must be a finite number"),
    ({"energy_gev": 600.0}, "energy_gev must be ≤ 500"),
    ({"lambda_per": float("inf")}, "lambda_per must be a finite number"),
    ({"num_train": 0}, "num_train must be a positive integer"),
    ({"seed": -1}, "seed must be an integer of at least 0"),
    ({"strategy": "tpu"}, "strategy must be one of"),
    ({"gan": config.SRGANConfig(batch_size=100_000)},
     r"one GAN step needs critic_steps × batch_size = 5 × 100000 = 500000 events, more than "
     r"the 2 × num_train = 200000"),
])
def test_an_experiment_is_checked_before_anything_runs(changes, message):
    with pytest.raises(errors.InputError, match=message):
        config.SRGANExperiment(workdir="unused", **changes)


@pytest.mark.parametrize("cls, changes, message", [
    (config.SRGANConfig, {"learning_rate": float("nan")}, "learning_rate must be a finite"),
    (config.SRGANConfig, {"learning_rate": 0.0}, "learning_rate must be > 0"),
    (config.SRGANConfig, {"beta_2": 1.5}, "beta_2 must be ≤ 1"),
    (config.SRGANConfig, {"lambda_gp": -1.0}, "lambda_gp must be ≥ 0"),
    (config.ClassifierTraining, {"epochs": 0}, "epochs must be a positive integer"),
    (config.ClassifierConfig, {"l2": float("nan")}, "l2 must be a finite number"),
    (config.GeneratorConfig, {"residual_scale": float("inf")}, "residual_scale must be a"),
])
def test_network_and_training_settings_are_checked(cls, changes, message):
    with pytest.raises(errors.InputError, match=message):
        cls(**changes)
