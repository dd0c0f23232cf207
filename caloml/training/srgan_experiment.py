"""The SR-GAN for SR-γ study end to end: data, perceptual CNN, GAN training, export, evaluation.

``run(SRGANExperiment(...))`` is what ``train/sr_gan.py`` calls. Every stage leaves its
result in the work directory and is skipped when rerun: the datasets are cached, the HR
classifier is reused once exported, and the GAN resumes from its last checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import keras
import numpy as np
from absl import logging

import caloml
from caloml import outputs
from caloml.data import preprocessing
from caloml.data import srgamma as srgamma_data
from caloml.models import srgan as models
from caloml.observables import showers, statistics
from caloml.training import callbacks, classifier, export, strategy
from caloml.training import srgan as trainer_lib

HR_CELL_RAD = showers.cell_size_rad(showers.HR_CELL_MM)
# Photon efficiencies at which the pion rejection of the HR classifier on SR images is
# monitored during training (paper Fig. 7).
MONITOR_EFFICIENCIES = (0.5, 0.7, 0.9)
# Fields of the configuration that may change when a run is resumed.
RESUMABLE_CHANGES = ("epochs", "workers", "strategy", "evaluate", "progress")


@dataclasses.dataclass(frozen=True)
class SRGANExperiment:
    """Settings of one SR-GAN study (defaults: paper 000).

    Attributes:
        workdir: all outputs; rerunning with the same settings resumes.
        energy_gev: particle energy (20 and 50 GeV in the paper).
        data: optional directory with ``photon.h5`` and ``pi0.h5`` in the srgamma layout;
            default: simulate them with the embedded simulator.
        epochs: GAN training epochs (one epoch = each GAN-training event seen once by the
            critic). The paper trains "up to around 5,000" epochs, ~10 days on an A40.
        num_train: GAN-training events per particle (100,000 photons + 100,000 pi0, §4).
        num_classifier_train: classifier-training events per particle (100,000 in total, §5).
        num_val: validation events per particle (per-epoch KS test).
        num_test: test events per particle (50,000 in total at 50 GeV, footnote 3).
        classifier_sizes: training-set sizes of the LR and SR CNNs of Fig. 13 (in total,
            half photons, half pi0); sizes above 2 × num_classifier_train are skipped.
        seed: seed of the data, the initialisation and the shuffling.
        strategy: ``auto``, ``default``, ``mirrored`` or ``multi_worker``.
        lambda_per: perceptual-loss weight; None takes the paper's value for 20 or 50 GeV.
        generator: the generator's architecture (5 RRDBs; the paper scanned 1–10).
        gan: the remaining GAN hyper-parameters.
        classifier_training: how the CNNs are trained.
        pretrain_epochs: epochs of pixel-wise (L1) training of the generator before the GAN,
            as ESRGAN does for its PSNR-oriented initialisation. Not in paper 000 (default 0);
            it makes short CPU runs produce recognisable SR images.
        workers: simulator processes.
        evaluate: run the evaluation (figures and metrics.json) at the end.
    """

    workdir: str
    energy_gev: float = 50.0
    data: str | None = None
    epochs: int = 5000
    num_train: int = 100_000
    num_classifier_train: int = 50_000
    num_val: int = 5_000
    num_test: int = 25_000
    classifier_sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
    seed: int = 1
    strategy: str = "auto"
    lambda_per: float | None = None
    generator: models.GeneratorConfig = models.GeneratorConfig()
    gan: trainer_lib.SRGANConfig = trainer_lib.SRGANConfig()
    classifier_training: classifier.ClassifierTraining = classifier.ClassifierTraining()
    pretrain_epochs: int = 0
    workers: int = 2
    evaluate: bool = True
    progress: bool = False

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> SRGANExperiment:
        """Inverse of the ``config.json`` written by :func:`run`."""
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in values.items() if k in fields}
        values["gan"] = trainer_lib.SRGANConfig(**values.get("gan", {}))
        values["generator"] = models.GeneratorConfig(**values.get("generator", {}))
        values["classifier_training"] = classifier.ClassifierTraining(
            **values.get("classifier_training", {})
        )
        values["classifier_sizes"] = tuple(values.get("classifier_sizes", ()))
        return cls(**values)

    @property
    def splits(self) -> srgamma_data.Splits:
        return srgamma_data.Splits(self.num_train, self.num_classifier_train, self.num_val,
                                   self.num_test)

    def resolved(self) -> SRGANExperiment:
        """Absolute paths and the perceptual weight filled in."""
        lambda_per = self.lambda_per
        if lambda_per is None:
            lambda_per = trainer_lib.perceptual_weight(self.energy_gev)
        return dataclasses.replace(
            self,
            workdir=os.path.abspath(self.workdir),
            data=os.path.abspath(self.data) if self.data else None,
            lambda_per=lambda_per,
            gan=dataclasses.replace(self.gan, lambda_per=lambda_per),
        )


def _path(config: SRGANExperiment, *parts: str) -> str:
    return os.path.join(config.workdir, *parts)


def _check_resume(config: SRGANExperiment) -> None:
    """Writes config.json, or checks that an existing one describes the same study."""
    path = _path(config, "config.json")
    current = {**dataclasses.asdict(config), "caloml_version": caloml.__version__}
    current = json.loads(json.dumps(current, default=outputs.json_default))
    if os.path.exists(path):
        with open(path) as f:
            stored = json.load(f)
        changed = sorted(
            k for k in set(stored) | set(current)
            if k not in RESUMABLE_CHANGES and stored.get(k) != current.get(k)
        )
        if changed:
            details = ", ".join(f"{k}: {stored.get(k)!r} → {current.get(k)!r}" for k in changed)
            raise ValueError(
                f"work directory {config.workdir!r} holds a run with other settings ({details});"
                " use a new --workdir or the original flags"
            )
    outputs.write_json(path, current)


def _hr_classifier(config: SRGANExperiment, data: dict, validation: dict) -> keras.Model:
    """The CNN trained on HR images: the perceptual network (paper §3, §5). Reused if saved."""
    path = _path(config, "classifier_hr.keras")
    if os.path.exists(path):
        logging.info("reusing the HR classifier %s", path)
        return keras.saving.load_model(path)
    logging.info("training the HR classifier on %d images", len(data["hr"]))
    model = models.PhotonPionClassifier(models.ClassifierConfig.for_input("hr"))
    history = classifier.train_classifier(
        model, data["hr"], data["label"], (validation["hr"], validation["label"]),
        config.classifier_training, seed=config.seed,
    )
    outputs.write_json(_path(config, "classifier_hr_history.json"), history)
    export.export_model(model, config.workdir, "classifier_hr")
    return model


def _pretrain(config: SRGANExperiment, generator: keras.Model, train: dict,
              validation: dict) -> None:
    """ESRGAN-style L1 pre-training of the generator; reused from disk when rerun."""
    path = _path(config, "generator_pretrained.weights.h5")
    if os.path.exists(path):
        logging.info("reusing the pre-trained generator %s", path)
        generator.load_weights(path)
        return
    logging.info("pre-training the generator with an L1 loss for %d epochs",
                 config.pretrain_epochs)
    # A functional view sharing the generator's layers, so the exported generator carries no
    # compile state of the pre-training.
    model = keras.Model(generator.inputs, generator.outputs)
    model.compile(optimizer=keras.optimizers.Adam(2e-4), loss=keras.losses.MeanAbsoluteError())
    model.fit(train["lr"], train["hr"], batch_size=config.gan.batch_size,
              epochs=config.pretrain_epochs, validation_data=(validation["lr"], validation["hr"]),
              shuffle=True, verbose=2)
    with outputs.atomic_path(path) as tmp:
        generator.save_weights(tmp)


def make_validation(validation: dict, critic: keras.Model, features: keras.Model,
                    classifier_hr: keras.Model, num_images: int = 3, subset: int = 1024):
    """Returns ``f(generator) -> scalars`` for :class:`~caloml.training.callbacks.SRGANMonitor`.

    Scalars: KS statistics of SR vs HR shower widths for photons and pi0 (§4), the critic's
    Wasserstein estimate and accuracy, the perceptual loss, and the pion rejection of the HR
    classifier on SR images at fixed photon efficiencies (Fig. 7).
    """
    labels = validation["label"]
    hr_gev = preprocessing.postprocess_srgamma(validation["hr"][..., 0],
                                              validation["window_sum_gev"])
    hr_width = showers.shower_width(hr_gev, HR_CELL_RAD)
    rng = np.random.default_rng(0)
    pick = np.sort(rng.choice(len(labels), min(subset, len(labels)), replace=False))
    hr_sub = validation["hr"][pick]
    hr_scores = critic.predict(hr_sub, batch_size=512, verbose=0)[:, 0]
    hr_features = features.predict(hr_sub, batch_size=512, verbose=0)
    shown = np.concatenate([np.flatnonzero(labels == 0)[:num_images],
                            np.flatnonzero(labels == 1)[:num_images]])

    def evaluate(generator: keras.Model) -> dict[str, Any]:
        sr = generator.predict(validation["lr"], batch_size=512, verbose=0)
        sr_gev = preprocessing.postprocess_srgamma(sr[..., 0], validation["window_sum_gev"])
        sr_width = showers.shower_width(sr_gev, HR_CELL_RAD)
        result = {
            "ks_photon": statistics.ks_statistic(sr_width[labels == 0], hr_width[labels == 0]),
            "ks_pi0": statistics.ks_statistic(sr_width[labels == 1], hr_width[labels == 1]),
        }
        sr_scores = critic.predict(sr[pick], batch_size=512, verbose=0)[:, 0]
        result["wasserstein"] = float(hr_scores.mean() - sr_scores.mean())
        result["critic_accuracy"] = float(np.mean(hr_scores > sr_scores))
        sr_features = features.predict(sr[pick], batch_size=512, verbose=0)
        diff = (hr_features - sr_features).reshape(len(pick), -1)
        result["perceptual_loss"] = float(np.mean(np.sum(diff**2, axis=1)))
        scores = classifier_hr.predict(sr, batch_size=512, verbose=0)[:, 0]
        rejection, _, _ = statistics.rejection_at_efficiency(
            scores[labels == 0], scores[labels == 1], np.asarray(MONITOR_EFFICIENCIES)
        )
        for eff, rej in zip(MONITOR_EFFICIENCIES, rejection, strict=True):
            result[f"rejection_at_{eff:g}"] = float(rej)
        result["images"] = sr[shown]
        return result

    return evaluate


def run(config: SRGANExperiment) -> dict[str, Any]:
    """Runs (or resumes) the study and returns the evaluation metrics (or {} if disabled).

    Writes into ``config.workdir``: ``config.json``, ``data/`` (simulated files), ``logs/``
    (TensorBoard), ``checkpoints/``, ``history.json``, ``selection.json``,
    ``generator_best.weights.h5``, ``generator.keras`` + ``generator_savedmodel/`` (the
    selected epoch), ``classifier_hr.keras`` + ``classifier_hr_savedmodel/`` and, from the
    evaluation, ``metrics.json`` and ``plots/``.
    """
    config = config.resolved()
    os.makedirs(config.workdir, exist_ok=True)
    _check_resume(config)
    keras.utils.set_random_seed(config.seed)
    splits = config.splits
    paths = srgamma_data.dataset_files(config.workdir, config.energy_gev, splits, config.seed,
                                       data=config.data, workers=config.workers,
                                       progress=config.progress)
    validation = srgamma_data.load_split(paths, splits, "validation")
    classifier_data = srgamma_data.load_split(paths, splits, "classifier_train")
    train = srgamma_data.load_split(paths, splits, "gan_train")

    distribution = strategy.get_strategy(config.strategy)
    with distribution.scope():
        classifier_hr = _hr_classifier(config, classifier_data, validation)
        features = models.perceptual_features(classifier_hr)
        generator = models.SRGenerator(config.generator)
        critic = models.SRCritic(models.CriticConfig())
        trainer = trainer_lib.SRGANTrainer(generator, critic, features, config.gan)
        generator_optimizer, critic_optimizer = config.gan.optimizer(), config.gan.optimizer()
        trainer.compile(generator_optimizer, critic_optimizer)
        checkpointer = callbacks.Checkpointer(
            _path(config, "checkpoints"), generator=generator, critic=critic,
            generator_optimizer=generator_optimizer, critic_optimizer=critic_optimizer,
        )
        initial_epoch = checkpointer.restore()
        if initial_epoch == 0 and config.pretrain_epochs:
            _pretrain(config, generator, train, validation)
    if initial_epoch < config.epochs:
        steps = len(train["lr"]) // (config.gan.critic_steps * config.gan.batch_size)
        dataset = trainer_lib.training_dataset(
            train["lr"], train["hr"], config.gan, seed=config.seed,
            shuffle_seed=config.seed + initial_epoch, first_step=initial_epoch * steps,
        )
        monitor = callbacks.SRGANMonitor(
            generator, make_validation(validation, critic, features, classifier_hr),
            _path(config, "generator_best.weights.h5"), _path(config, "selection.json"),
            _path(config, "logs", "validation"),
        )
        trainer.fit(
            dataset, epochs=config.epochs, initial_epoch=initial_epoch, steps_per_epoch=steps,
            verbose=2,
            callbacks=[
                monitor,
                callbacks.History(_path(config, "history.json"), initial_epoch),
                keras.callbacks.TensorBoard(_path(config, "logs", "train")),
                checkpointer,
            ],
        )
    best = _path(config, "generator_best.weights.h5")
    if os.path.exists(best):
        generator.load_weights(best)
    export.export_model(generator, config.workdir, "generator")
    if not config.evaluate:
        return {}
    return evaluate_workdir(config.workdir)


def evaluate_workdir(workdir: str) -> dict[str, Any]:
    """Evaluates the selected generator of a finished (or interrupted) run in ``workdir``."""
    from caloml.evaluation import srgan as evaluation

    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path!r} does not exist: is {workdir!r} an SR-GAN work "
                                "directory (train/sr_gan.py --workdir)?")
    with open(path) as f:
        config = SRGANExperiment.from_json(json.load(f))
    paths = srgamma_data.dataset_files(config.workdir, config.energy_gev, config.splits,
                                       config.seed, data=config.data, workers=config.workers)
    generator = keras.saving.load_model(os.path.join(workdir, "generator.keras"))
    classifier_hr = keras.saving.load_model(os.path.join(workdir, "classifier_hr.keras"))
    return evaluation.evaluate(config, paths, generator, classifier_hr)
