"""Pieces of the SR-GAN study: resume rules and the per-epoch validation."""

import dataclasses
import shutil

import numpy as np
import pytest
import srgan_tiny

from caloml import errors, outputs
from caloml.srgan import config, experiment, networks
from caloml.training import checkpoint


def test_a_resume_may_grow_epochs_and_lower_the_learning_rate_only(tmp_path):
    base = config.SRGANExperiment(workdir=str(tmp_path), energy_gev=20.0, epochs=3).resolved()
    experiment._check_resume(base, write=True)
    stored = outputs.read_json(tmp_path / "config.json")
    assert stored["gan"]["lambda_per"] == 3e-2 and stored["num_test_pi0"] == 1_000_000
    lower = dataclasses.replace(base, epochs=10,
                                gan=dataclasses.replace(base.gan, learning_rate=5e-5))
    experiment._check_resume(lower, write=True)
    assert outputs.read_json(tmp_path / "config.json")["gan"]["learning_rate"] == 5e-5
    other = dataclasses.replace(lower, generator=config.GeneratorConfig(num_rrdb=2))
    with pytest.raises(errors.InputError, match=r"generator\.num_rrdb: 5 → 2.*new --workdir"):
        experiment._check_resume(other, write=True)
    # A worker that does not write only checks.
    experiment._check_resume(lower, write=False)


def _validation(n=40, seed=0):
    rng = np.random.default_rng(seed)
    hr = rng.exponential(size=(n, 24, 24, 1)).astype(np.float32) ** 0.3
    return {"lr": hr.reshape(n, 6, 4, 6, 4, 1).mean(axis=(2, 4)), "hr": hr,
            "window_sum_gev": np.full(n, 20.0, np.float32),
            "label": np.repeat([0.0, 1.0], n // 2).astype(np.float32)}


def test_validation_scores_hr_and_sr_with_the_current_critic():
    """The validation critic metrics compare HR and SR scored by the same, current critic."""
    generator, critic, features = srgan_tiny.tiny_networks()
    classifier = networks.PhotonPionClassifier(config.ClassifierConfig.for_input("hr", filters=4))
    validation = _validation()
    evaluate = experiment.make_validation(validation, critic, features, classifier)
    for seed in (1, 2):
        # The critic changes between epochs; its HR scores must follow.
        rng = np.random.default_rng(seed)
        critic.set_weights([rng.normal(0, 0.3, w.shape) for w in critic.get_weights()])
        result = evaluate(generator)
        hr_scores = critic(validation["hr"]).numpy()[:, 0]
        sr_scores = critic(generator(validation["lr"])).numpy()[:, 0]
        assert result["critic_accuracy"] == pytest.approx(np.mean(hr_scores > sr_scores))
        assert result["wasserstein"] == pytest.approx(np.mean(hr_scores - sr_scores), rel=1e-4)
    assert result["ks_mean"] == pytest.approx(0.5 * (result["ks_photon"] + result["ks_pi0"]))
    assert set(result) >= {"rejection_at_0.5", "rejection_at_0.9", "perceptual_loss", "images"}


def test_a_moved_work_directory_resumes_and_epochs_may_not_drop_below_the_trained(tmp_path):
    base = config.SRGANExperiment(workdir=str(tmp_path / "a"), energy_gev=20.0,
                                  epochs=5).resolved()
    experiment._check_resume(base, write=True)
    # Three epochs trained (a checkpoint numbered by its completed epochs).
    ckpt = checkpoint.Checkpointer(str(tmp_path / "a" / "checkpoints"))
    ckpt.on_epoch_end(2)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    moved = dataclasses.replace(base, workdir=str(tmp_path / "b"))
    experiment._check_resume(moved, write=True)
    assert outputs.read_json(tmp_path / "b" / "config.json")["workdir"] == str(tmp_path / "b")
    # Fewer epochs than planned, but not fewer than trained.
    experiment._check_resume(dataclasses.replace(moved, epochs=3), write=True)
    with pytest.raises(errors.InputError, match=r"--epochs=2: .* holds 3 trained epochs; rerun "
                                                r"with --epochs=3 or more"):
        experiment._check_resume(dataclasses.replace(moved, epochs=2), write=True)
    assert outputs.read_json(tmp_path / "b" / "config.json")["epochs"] == 3
