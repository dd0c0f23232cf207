"""The jet super-resolution GAN's settings: Table 1 defaults, factors, validation, round trips."""

import dataclasses
import json

import pytest

from caloml import errors
from caloml.jet_sr import config


def test_defaults_are_table_1_optimal_and_section_2():
    gan = config.JetSRConfig()
    assert (gan.batch_size, gan.lambda_reg, gan.lambda_std, gan.lambda_pow) == (15, 1e-3, 0.2, 1)
    assert (gan.lambda_hr, gan.lambda_lr, gan.lambda_adv, gan.lambda_patch) == (1, 0.1, 0.01, 0.1)
    assert gan.reset_interval == 20_000 and gan.hr_loss == "per_image"
    assert (gan.learning_rate, gan.beta_1, gan.beta_2) == (1e-4, 0.5, 0.9)
    generator = config.GeneratorConfig()
    assert (generator.factor, generator.num_rrdb, generator.filters) == (8, 10, 64)
    assert (generator.residual_scale, generator.power, generator.leaky_slope) == (0.1, 0.3, 0.2)
    assert config.DiscriminatorConfig().filters == (64, 128, 256, 512)
    assert config.lr_size(8) == 20 and config.lr_size(2) == 80


def test_upsampling_alternates_starting_with_a_pixel_shuffle():
    steps = {f: config.GeneratorConfig(factor=f).upsampling_steps for f in config.FACTORS}
    assert steps[2] == ("pixel_shuffle",)
    assert steps[4] == ("pixel_shuffle", "transposed_conv")
    assert steps[8] == ("pixel_shuffle", "transposed_conv", "pixel_shuffle")  # §3
    original = config.GeneratorConfig(upsampling=["pixel_shuffle"] * 3)
    assert original.upsampling_steps == ("pixel_shuffle",) * 3
    # None stays None, so changing the factor of a default config keeps the alternation.
    assert dataclasses.replace(config.GeneratorConfig(), factor=4).num_upsampling == 2
    with pytest.raises(errors.InputError, match=r"upsampling must be 3 steps \(log2 of factor 8"):
        config.GeneratorConfig(upsampling=("pixel_shuffle",) * 2)
    with pytest.raises(errors.InputError, match="each one of pixel_shuffle, transposed_conv"):
        config.GeneratorConfig(factor=2, upsampling=("nearest",))


@pytest.mark.parametrize("factor", [3, 1, 16, True, "8"])
def test_factor_must_be_2_4_or_8(factor):
    with pytest.raises(errors.UsageError) as failure:
        config.GeneratorConfig(factor=factor)
    assert str(failure.value) == f"--factor={factor}: the factor must be 2, 4 or 8"
    with pytest.raises(errors.UsageError, match="the factor must be 2, 4 or 8"):
        config.lr_size(factor)


@pytest.mark.parametrize(("cls", "changes", "message"), [
    (config.GeneratorConfig, {"power": 1.5}, r"power must be ≤ 1, got 1.5 \(GeneratorConfig\)"),
    (config.GeneratorConfig, {"power": 0.0}, r"power must be > 0"),
    (config.GeneratorConfig, {"filters": 0}, r"filters must be a positive integer"),
    (config.GeneratorConfig, {"num_rrdb": -1}, r"num_rrdb must be an integer of at least 0"),
    (config.DiscriminatorConfig, {"filters": ()}, r"filters must be a non-empty sequence"),
    (config.DiscriminatorConfig, {"filters": (16, 0)}, r"filters must be a non-empty"),
    (config.JetSRConfig, {"hr_loss": "mean"}, r"hr_loss must be one of per_image, batch_mean"),
    (config.JetSRConfig, {"lambda_std": 0.0, "lambda_pow": 0.0}, r"at least one stream"),
    (config.JetSRConfig, {"learning_rate": 0.0}, r"learning_rate must be > 0"),
    (config.JetSRConfig, {"lambda_adv": -1.0}, r"lambda_adv must be ≥ 0"),
    (config.JetSRConfig, {"reset_interval": 2.5}, r"reset_interval must be an integer"),
    (config.JetSRConfig, {"patch_sharpness": 0.0}, r"patch_sharpness must be > 0"),
])
def test_invalid_settings_name_the_field(cls, changes, message):
    with pytest.raises(errors.InputError, match=message) as failure:
        cls(**changes)
    assert "\n" not in str(failure.value)


def test_streams_follow_the_weights():
    assert config.JetSRConfig().streams == ("std", "pow")
    assert config.JetSRConfig(lambda_std=0.0).streams == ("pow",)
    assert config.JetSRConfig(lambda_pow=0.0).stream_weight("std") == 0.2


@pytest.mark.parametrize("settings", [
    config.GeneratorConfig(factor=4, upsampling=("transposed_conv", "pixel_shuffle")),
    config.GeneratorConfig(),
    config.DiscriminatorConfig(filters=config.ORIGINAL_DISCRIMINATOR_FILTERS),
    config.JetSRConfig(hr_loss="batch_mean", warmup_batches=0),
])
def test_dict_round_trip_through_json(settings):
    values = json.loads(json.dumps(dataclasses.asdict(settings)))
    assert config.as_config(type(settings), values) == settings
    assert config.as_config(type(settings), None) == type(settings)()
    with pytest.raises(errors.InputError, match="has no setting colour"):
        config.as_config(type(settings), {"colour": 1})
