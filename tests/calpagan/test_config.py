"""CALPAGAN settings: paper and original-code defaults, the variants, validation naming the
flag, the experiment's epochs and num_eval, JSON round trips."""

import dataclasses
import json
import os

import pytest

from caloml import errors
from caloml.calpagan import config


def test_defaults_are_the_paper_and_original_code_values():
    generator = config.GeneratorConfig()
    assert (generator.hidden_channels, generator.pool_sizes, generator.upsampling) == (
        16, (2, 2, 2, 3, 3), (3, 3, 2, 2, 2))  # Fig. 3, §3.1
    assert (generator.leaky_slope, generator.output_slope) == (0.2, 0.5)
    # 72 → 1 at the 512-channel bottleneck (Fig. 3: 1²×512).
    assert generator.downscale == config.IMAGE_SIZE == 72
    assert generator.bottleneck_channels == 512
    assert generator.align_corners and not generator.shared_batch_norm
    discriminator = config.DiscriminatorConfig()
    assert (discriminator.hidden_channels, discriminator.num_blocks) == (8, 3)  # §3.1
    assert discriminator.conditional and not discriminator.relu_fakes  # Eq. 1
    assert discriminator.input_channels == 2
    assert config.IMAGE_SIZE // discriminator.downscale == 9  # the 9×9 patch map
    training = config.TrainingConfig()
    assert (training.batch_size, training.epochs, training.learning_rate) == (64, 50, 2e-4)
    assert (training.beta_1, training.beta_2) == (0.9, 0.999)
    assert training.lambda_l1 == 100.0 and training.normalisation == "per_image"  # §3


def test_variants():
    paper = config.variant("paper")
    assert paper == {"generator": config.GeneratorConfig(),
                     "discriminator": config.DiscriminatorConfig(),
                     "training": config.TrainingConfig()}
    original = config.original_code()
    assert original == config.variant("original_code")
    d, t, g = original["discriminator"], original["training"], original["generator"]
    assert (d.conditional, d.relu_fakes, d.input_channels) == (False, True, 1)
    assert (t.lambda_l1, t.normalisation) == (400.0, "condition_max")
    assert g.shared_batch_norm and g.align_corners
    # Everything else is the paper's.
    assert dataclasses.replace(t, lambda_l1=100.0, normalisation="per_image") == paper["training"]
    experiment = config.CalpaganExperiment("run", **original)
    assert experiment.training.lambda_l1 == 400.0
    with pytest.raises(errors.UsageError) as failure:
        config.variant("pix2pix")
    assert str(failure.value) == ("--variant=pix2pix: the variant must be one of paper, "
                                  "original_code")


@pytest.mark.parametrize(("cls", "changes", "message"), [
    (config.TrainingConfig, {"lambda_l1": -1.0},
     "--lambda_l1 must be ≥ 0, got -1.0 (TrainingConfig)"),
    (config.TrainingConfig, {"learning_rate": 0.0},
     "--learning_rate must be > 0, got 0.0 (TrainingConfig)"),
    (config.TrainingConfig, {"batch_size": 0},
     "--batch_size must be a positive integer, got 0 (TrainingConfig)"),
    (config.TrainingConfig, {"beta_1": 1.0}, "--beta_1 must be < 1, got 1.0 (TrainingConfig)"),
    (config.TrainingConfig, {"normalisation": "global"},
     "--normalisation must be one of per_image, condition_max, got 'global' (TrainingConfig)"),
    (config.GeneratorConfig, {"hidden_channels": 2.5},
     "--hidden_channels must be a positive integer, got 2.5 (GeneratorConfig)"),
    (config.GeneratorConfig, {"pool_sizes": (2, 0), "upsampling": (0, 2)},
     "--pool_sizes must be a non-empty sequence of positive integers, got (2, 0) "
     "(GeneratorConfig)"),
    (config.GeneratorConfig, {"upsampling": (2, 2, 2, 3, 3)},
     "--upsampling must mirror --pool_sizes (2, 2, 2, 3, 3) (got (2, 2, 2, 3, 3); expected "
     "(3, 3, 2, 2, 2)), so that each skip connection meets an image of its size "
     "(GeneratorConfig)"),
    (config.GeneratorConfig, {"init_stddev": 0.0},
     "--init_stddev must be > 0, got 0.0 (GeneratorConfig)"),
    (config.GeneratorConfig, {"align_corners": 1},
     "--align_corners must be true or false, got 1 (GeneratorConfig)"),
    (config.DiscriminatorConfig, {"num_blocks": 0},
     "--num_blocks must be a positive integer, got 0 (DiscriminatorConfig)"),
    (config.DiscriminatorConfig, {"leaky_slope": float("nan")},
     "--leaky_slope must be a finite number, got nan (DiscriminatorConfig)"),
])
def test_invalid_settings_name_the_flag(cls, changes, message):
    with pytest.raises(errors.UsageError) as failure:
        cls(**changes)
    assert str(failure.value) == message


def test_experiment_epochs_follow_one_value():
    experiment = config.CalpaganExperiment("run")
    assert experiment.epochs == experiment.training.epochs == 50
    shorter = config.CalpaganExperiment("run", epochs=7)
    assert shorter.training.epochs == 7
    assert dataclasses.replace(shorter, epochs=9).training.epochs == 9
    from_training = config.CalpaganExperiment(
        "run", training=config.TrainingConfig(epochs=3))
    assert from_training.epochs == 3
    assert {"epochs", "training.epochs"} <= set(config.RESUMABLE_CHANGES)


@pytest.mark.parametrize(("changes", "message"), [
    ({"process": "ttbar"}, "--process=ttbar: the process must be one of wjets, dijet"),
    ({"num_eval": 6000}, "--num_eval=6000 exceeds the 5000 held-out events (--num_test)"),
    ({"num_train": 10}, "--num_train=10 is below one batch of 64 events (--batch_size)"),
    ({"strategy": "tpu"}, "--strategy=tpu: expected one of auto, default, mirrored, "
                          "multi_worker"),
    ({"fid_events": 1}, "--fid_events must be an integer of at least 2, got 1 "
                        "(CalpaganExperiment)"),
    ({"fid_every": -1}, "--fid_every must be an integer of at least 0, got -1 "
                        "(CalpaganExperiment)"),
    ({"epochs": 0}, "--epochs must be a positive integer, got 0 (CalpaganExperiment)"),
])
def test_invalid_experiments_name_the_flag(changes, message):
    with pytest.raises(errors.UsageError) as failure:
        config.CalpaganExperiment("run", **changes)
    assert str(failure.value) == message


def test_experiment_resolved_and_json_round_trip(tmp_path):
    experiment = config.CalpaganExperiment(
        str(tmp_path / "run"), process="dijet", data="events.h5", num_test=300, num_train=200,
        fid_every=0, **config.original_code())
    assert experiment.num_eval is None and experiment.other_process == "wjets"
    assert config.CalpaganExperiment("run").other_process == "dijet"
    resolved = experiment.resolved()
    assert resolved.num_eval == 300 and resolved.data == os.path.abspath("events.h5")
    assert resolved.other_data is None and os.path.isabs(resolved.workdir)
    assert config.CalpaganExperiment("run", num_eval=20).resolved().num_eval == 20
    values = json.loads(json.dumps({**resolved.to_json(), "caloml_version": "0"}))
    assert values["training"]["lambda_l1"] == 400.0
    assert values["generator"]["pool_sizes"] == [2, 2, 2, 3, 3]
    assert config.CalpaganExperiment.from_json(values) == resolved


@pytest.mark.parametrize("settings", [
    config.GeneratorConfig(pool_sizes=(2, 3), upsampling=(3, 2), init_stddev=None),
    config.DiscriminatorConfig(conditional=False, relu_fakes=True),
    config.TrainingConfig(normalisation="condition_max", lambda_l1=0.0),
])
def test_dict_round_trip_through_json(settings):
    values = json.loads(json.dumps(dataclasses.asdict(settings)))
    assert config.as_config(type(settings), values) == settings
    with pytest.raises(errors.InputError, match="has no setting colour"):
        config.as_config(type(settings), {"colour": 1})
