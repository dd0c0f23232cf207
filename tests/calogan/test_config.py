"""CaloGAN settings: the original's defaults, validation messages and the JSON round trip."""

import dataclasses
import json

import pytest

from caloml.calogan import config
from caloml.errors import InputError


def test_defaults_are_the_originals():
    gan, generator, discriminator = (config.CaloGANConfig(), config.GeneratorConfig(),
                                     config.DiscriminatorConfig())
    assert (gan.batch_size, gan.generator_learning_rate, gan.discriminator_learning_rate,
            gan.beta_1, gan.energy_weight, gan.generator_steps) == (256, 2e-4, 2e-5, 0.5, 0.05, 2)
    assert gan.fake_energy_gev == (1.0, 100.0)
    assert (generator.latent_dim, generator.energy_scale_gev, generator.dense_channels,
            generator.conv_filters, generator.lc_filters) == (1024, 100.0, 36, 16, 6)
    assert generator.attention and generator.attention_bias == -10.0
    assert generator.leaky_slope == discriminator.leaky_slope == 0.3  # Keras-1 default
    assert discriminator.lc_filters == (16, 8, 8) and discriminator.conv_filters == 64
    assert config.LAYER_SHAPES == ((3, 96), (12, 12), (12, 6))
    experiment = config.CaloGANExperiment(workdir="w")
    assert experiment.epochs == 50 and experiment.particles == ("positron",)
    assert experiment.num_train + experiment.num_test == 100_000  # one public file


def test_the_slides_runtime_table_reads_as_the_papers():
    table = config.PAPER_RUNTIME_MS
    assert table["geant4_cpu"] == 1772.0
    assert table["calogan_cpu"][1] == 13.1 and table["calogan_gpu"][1024] == 0.012
    # The GPU is faster than the CPU at every common batch size beyond one shower.
    assert table["calogan_gpu"][128] < table["calogan_cpu"][128]


def test_acgan_settings_follow_the_particles():
    experiment = config.for_particles(("positron", "photon"), workdir="w")
    assert experiment.generator.num_classes == experiment.discriminator.num_classes == 2
    assert experiment.gan.num_classes == 2
    with pytest.raises(InputError, match=r"generator.num_classes = 2 but 3 particle\(s\)"):
        config.CaloGANExperiment(workdir="w", particles=("positron", "photon", "piplus"),
                                 generator=config.GeneratorConfig(num_classes=2),
                                 discriminator=config.DiscriminatorConfig(num_classes=3),
                                 gan=config.CaloGANConfig(num_classes=3))


@pytest.mark.parametrize("fields, message", [
    ({"particles": ("kaon",)}, "unknown particle 'kaon'; expected one of positron, photon"),
    ({"particles": ()}, "at least one of positron"),
    ({"response_energies_gev": (50.0, 600.0)}, r"\(0, 500\] GeV"),
    ({"runtime_batch_sizes": (0,)}, "runtime_batch_sizes must be positive"),
    ({"num_train": 100}, "one step needs batch_size = 256 showers, more than the 100"),
    ({"strategy": "tpu"}, "strategy must be one of"),
])
def test_bad_settings_name_the_field(fields, message):
    with pytest.raises(InputError, match=message):
        config.CaloGANExperiment(workdir="w", **fields)


def test_bad_network_settings():
    with pytest.raises(InputError, match="lc_filters must be three positive integers"):
        config.DiscriminatorConfig(lc_filters=(16, 8))
    with pytest.raises(InputError, match="fake_energy_gev must be"):
        config.CaloGANConfig(fake_energy_gev=(100.0, 1.0))
    with pytest.raises(InputError, match="attention is defined for the three CaloGAN layers"):
        config.GeneratorConfig(layer_shapes=((12, 12), (12, 6)))


def test_json_round_trip():
    experiment = config.for_particles(
        ("photon", "piplus"), workdir="/tmp/w", epochs=3,
        gan=dataclasses.replace(config.CaloGANConfig(), batch_size=32))
    values = json.loads(json.dumps(dataclasses.asdict(experiment)))
    assert config.CaloGANExperiment.from_json(values) == experiment
