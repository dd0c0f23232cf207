"""3DGAN settings: the paper's and the original's defaults, validation, the JSON round trip."""

import dataclasses
import json

import pytest

from caloml.errors import InputError
from caloml.gan3d import config


def test_defaults_are_the_papers_and_the_originals():
    experiment = config.Gan3DExperiment(workdir="w")
    gan, generator = experiment.gan, experiment.generator
    # Paper §4.2: BCE ×3, percentage errors ×0.1, angle MAE ×25; AngleTrain3dGAN: bins ×0.1.
    assert gan.loss_weights == (3.0, 0.1, 25.0, 0.1, 0.1)
    assert (gan.batch_size, gan.learning_rate, gan.rho, gan.label_flip,
            gan.generator_steps) == (64, 1e-3, 0.9, 0.05, 2)
    assert gan.min_ecal_sum == 10.0 and not gan.fake_batch_training_mode
    # Paper §4: α = 0.85; §4.1: 254 Gaussian numbers beside the energy and the angle.
    assert generator.power == experiment.discriminator.power == 0.85
    assert generator.latent_dim == 256 and generator.noise_dim == 254
    assert experiment.window == (51, 51, 25)
    # Paper §2 GEN dataset and §4.2: 100–200 GeV electrons at 60°–120°, 60 epochs.
    assert experiment.energy_gev == (100.0, 200.0) and experiment.theta_rad == (1.047, 2.094)
    assert experiment.epochs == 60
    assert experiment.num_train + experiment.num_test == 200_000  # --nEvents, split 90/10
    assert config.PAPER_RUNTIME_MS["geant4_xeon_8180"] / config.PAPER_RUNTIME_MS[
        "3dgan_xeon_8180"] > 1000  # the paper's "speedup of over 4000 times" (GPU: 4 ms)


def test_the_fixed_angle_model_takes_its_own_defaults():
    experiment = config.for_architecture("energygan", workdir="w")
    assert experiment.window == (25, 25, 25) and experiment.fixed_angle
    assert experiment.generator.latent_dim == experiment.generator.noise_dim == 200
    assert experiment.gan.loss_weights == config.ENERGYGAN_LOSS_WEIGHTS
    assert experiment.gan.batch_size == 128
    assert experiment.generator.power == experiment.discriminator.power == 1.0  # no power
    assert experiment.discriminator.architecture == "energygan"
    text = config.for_architecture("paper_text", workdir="w")
    assert (text.generator.architecture, text.discriminator.architecture) == (
        "paper_text", "anglegan")


@pytest.mark.parametrize("change, message", [
    (lambda: dict(gan=config.Gan3DConfig(loss_weights=(3, 0.1, 25))),
     "loss_weights must be 5 non-negative numbers"),
    (lambda: dict(gan=config.Gan3DConfig(loss_weights=(0, 0.1, 25, 0.1, 0.1))),
     "the real/fake cross-entropy) must be positive"),
    (lambda: dict(discriminator=config.DiscriminatorConfig(architecture="energygan")),
     "needs discriminator.architecture='anglegan'"),
    (lambda: dict(discriminator=config.DiscriminatorConfig(power=1.0)),
     "generator.power (0.85) and discriminator.power (1.0) must be equal"),
    (lambda: dict(discriminator=config.DiscriminatorConfig(bin_counts=False)),
     "bin-count loss a weight but discriminator.bin_counts is off"),
    (lambda: dict(energy_gev=(200.0, 100.0)), "energy_gev must be (low, high)"),
    (lambda: dict(theta_rad=(60.0, 120.0)), "theta_rad must be (low, high) in radians"),
    (lambda: dict(num_train=10), "one step needs batch_size = 64 events"),
])
def test_bad_settings_are_refused_with_the_cause(change, message):
    with pytest.raises(InputError) as error:
        config.Gan3DExperiment(workdir="w", **change())
    assert message in str(error.value)


def test_the_energygan_loss_cannot_weight_heads_it_lacks():
    with pytest.raises(InputError, match="no angle or bin-count heads"):
        config.for_architecture("energygan", workdir="w",
                                gan=config.Gan3DConfig(loss_weights=(2, 0.1, 25, 0.1, 0)))


def test_unknown_architecture_names_the_choices():
    with pytest.raises(InputError, match="expected one of anglegan, paper_text, energygan"):
        config.GeneratorConfig(architecture="wgan")


@pytest.mark.parametrize("architecture", config.ARCHITECTURES)
def test_json_round_trip(architecture):
    gan = (config.Gan3DConfig(loss_weights=config.TF2_PORT_LOSS_WEIGHTS)
           if architecture != "energygan" else config.Gan3DConfig())
    experiment = config.for_architecture(architecture, workdir="w", reco_workdir="r",
                                         energy_gev=(10.0, 500.0), gan=gan)
    values = json.loads(json.dumps(dataclasses.asdict(experiment)))
    assert config.Gan3DExperiment.from_json(values) == experiment
