"""The SR-GAN for SR-γ study end to end: data, perceptual CNN, GAN training, export, evaluation.

:func:`run` is what ``train/sr_gan.py`` calls. Every stage leaves its result in the work
directory and is skipped when rerun: the datasets are cached, the HR classifier is reused once
its export is complete, and the GAN resumes from its last checkpoint. A run killed at any moment
and rerun with the same command ends with the same outputs and the same generator weights as a
run never killed: every random component is seeded from its own seed derived from ``--seed``
(:mod:`caloml.training.seeds`), the data order of each epoch depends only on the seed and the
epoch, and the checkpoint holds every network, optimizer and the epoch selection. All settings
and ``--data`` are validated before anything is written; the temporary files of killed runs are
removed on start. Under ``MultiWorkerMirroredStrategy`` only the chief writes into the work
directory; the other workers take part in every collective step but write into temporary
directories (:func:`caloml.training.strategy.output_directory`).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import keras
import numpy as np
from absl import logging

from caloml import outputs
from caloml.data import preprocessing
from caloml.data import srgamma as srgamma_data
from caloml.errors import MissingFileError
from caloml.observables import showers, statistics
from caloml.srgan import config as config_lib
from caloml.srgan import evaluation, networks
from caloml.srgan import trainer as trainer_lib
from caloml.training import callbacks, checkpoint, classifier, export, seeds, strategy

# Photon efficiencies at which the pion rejection of the HR classifier on SR images is
# monitored during training (paper Fig. 7).
MONITOR_EFFICIENCIES = (0.5, 0.7, 0.9)


# config.json fields that are not compared on resume: a work directory may be moved or copied.
NOT_COMPARED = ("workdir",)


def _check_resume(config: config_lib.SRGANExperiment, write: bool) -> None:
    """Writes config.json (if ``write``), or checks that an existing one is the same study.

    Only :data:`~caloml.srgan.config.RESUMABLE_CHANGES` may differ from the stored settings, and
    ``epochs`` may not be lower than the epochs already trained.
    """
    checkpoint.check_resume(config.workdir, dataclasses.asdict(config), config.epochs,
                            config_lib.RESUMABLE_CHANGES + NOT_COMPARED, write)


def _hr_classifier(config: config_lib.SRGANExperiment, data: dict, validation: dict,
                   output_dir: str) -> networks.PhotonPionClassifier:
    """The CNN trained on HR images: the perceptual network (paper §3, §5). Reused if exported."""
    model = export.load_exported(config.workdir, "classifier_hr")
    if model is not None:
        logging.info("reusing the HR classifier %s", os.path.join(config.workdir,
                                                                   "classifier_hr.keras"))
        return model
    logging.info("training the HR classifier on %d images", len(data["hr"]))
    seed = seeds.seed_component(config.seed, "hr_classifier")
    model = networks.PhotonPionClassifier(config_lib.ClassifierConfig.for_input("hr"))
    training = config.classifier_training
    history = classifier.train_classifier(
        model, data["hr"], data["label"], (validation["hr"], validation["label"]),
        learning_rate=training.learning_rate, batch_size=training.batch_size,
        epochs=training.epochs, patience=training.patience, seed=seed,
    )
    outputs.write_json(os.path.join(output_dir, "classifier_hr_history.json"), history)
    export.export_model(model, output_dir, "classifier_hr")
    return model


def _pretrain(config: config_lib.SRGANExperiment, generator: keras.Model, train: dict,
              validation: dict, output_dir: str) -> None:
    """ESRGAN-style L1 pre-training of the generator; reused from disk when rerun."""
    name = "generator_pretrained.weights.h5"
    if os.path.exists(os.path.join(config.workdir, name)):
        logging.info("reusing the pre-trained generator %s", name)
        generator.load_weights(os.path.join(config.workdir, name))
        return
    logging.info("pre-training the generator with an L1 loss for %d epochs",
                 config.pretrain_epochs)
    seeds.seed_component(config.seed, "pretraining")
    # A functional view sharing the generator's layers, so the exported generator carries no
    # compile state of the pre-training.
    model = strategy.fit_across_workers(keras.Model(generator.inputs, generator.outputs))
    model.compile(optimizer=keras.optimizers.Adam(2e-4), loss=keras.losses.MeanAbsoluteError())
    model.fit(train["lr"], train["hr"], batch_size=config.gan.batch_size,
              epochs=config.pretrain_epochs, validation_data=(validation["lr"], validation["hr"]),
              shuffle=True, verbose=2)
    with outputs.atomic_path(os.path.join(output_dir, name)) as tmp:
        generator.save_weights(tmp)


def make_validation(validation: dict, critic: keras.Model, features: keras.Model,
                    classifier_hr: networks.PhotonPionClassifier, num_images: int = 3,
                    subset: int = 1024):
    """``f(generator) -> scalars`` for :class:`~caloml.training.callbacks.ValidationMonitor`.

    Scalars: KS statistics of SR vs HR shower widths for photons and π⁰ and their mean, the
    selection score (§4); the critic's Wasserstein estimate and accuracy on a fixed subset of
    HR and SR windows, both scored with the current critic; the perceptual loss; and the pion
    rejection of the HR classifier on SR images at fixed photon efficiencies, from its logits
    (Fig. 7). Infinite rejections (no π⁰ passes) are legitimate values.
    """
    labels = validation["label"]
    hr_gev = preprocessing.postprocess_srgamma(validation["hr"][..., 0],
                                              validation["window_sum_gev"])
    hr_width = showers.shower_width(hr_gev, evaluation.CELL_RAD["HR"])
    rng = np.random.default_rng(0)
    pick = np.sort(rng.choice(len(labels), min(subset, len(labels)), replace=False))
    hr_sub = validation["hr"][pick]
    hr_features = features.predict(hr_sub, batch_size=512, verbose=0)
    logits = networks.classifier_logits(classifier_hr)
    shown = np.concatenate([np.flatnonzero(labels == 0)[:num_images],
                            np.flatnonzero(labels == 1)[:num_images]])

    def evaluate(generator: keras.Model) -> dict[str, Any]:
        sr = generator.predict(validation["lr"], batch_size=512, verbose=0)
        sr_gev = preprocessing.postprocess_srgamma(sr[..., 0], validation["window_sum_gev"])
        sr_width = showers.shower_width(sr_gev, evaluation.CELL_RAD["SR"])
        result = {
            "ks_photon": statistics.ks_statistic(sr_width[labels == 0], hr_width[labels == 0]),
            "ks_pi0": statistics.ks_statistic(sr_width[labels == 1], hr_width[labels == 1]),
        }
        result["ks_mean"] = 0.5 * (result["ks_photon"] + result["ks_pi0"])
        hr_scores = critic.predict(hr_sub, batch_size=512, verbose=0)[:, 0]
        sr_scores = critic.predict(sr[pick], batch_size=512, verbose=0)[:, 0]
        result["wasserstein"] = float(hr_scores.mean() - sr_scores.mean())
        result["critic_accuracy"] = float(np.mean(hr_scores > sr_scores))
        sr_features = features.predict(sr[pick], batch_size=512, verbose=0)
        diff = (hr_features - sr_features).reshape(len(pick), -1)
        result["perceptual_loss"] = float(np.mean(np.sum(diff**2, axis=1)))
        scores = logits.predict(sr, batch_size=512, verbose=0)[:, 0]
        rejection, _, _ = statistics.rejection_at_efficiency(
            scores[labels == 0], scores[labels == 1], np.asarray(MONITOR_EFFICIENCIES)
        )
        for eff, rej in zip(MONITOR_EFFICIENCIES, rejection, strict=True):
            result[f"rejection_at_{eff:g}"] = float(rej)
        result["images"] = sr[shown]
        return result

    return evaluate


def run(config: config_lib.SRGANExperiment) -> dict[str, Any]:
    """Runs (or resumes) the study and returns the evaluation metrics (or {} if disabled).

    Writes into ``config.workdir``: ``config.json``, ``data/`` (simulated files), ``logs/``
    (TensorBoard), ``checkpoints/``, ``history.json``, ``selection.json``,
    ``generator_best.weights.h5``, ``snapshots/`` (the generator after the first and an
    intermediate epoch, for Fig. 8), ``generator.keras`` + ``generator_savedmodel/`` (the
    selected epoch), ``classifier_hr.keras`` + ``classifier_hr_savedmodel/`` and, from the
    evaluation, ``metrics.json``, ``classifiers/`` and ``plots/``.

    Raises:
        InputError: for bad settings or ``--data`` files, before anything is written.
    """
    config = config.resolved()
    splits = config.splits
    user_paths = srgamma_data.user_files(config.data, splits) if config.data else None
    # A multi-worker strategy must exist before any other TensorFlow work.
    distribution = strategy.get_strategy(config.strategy)
    chief = strategy.is_chief(distribution)
    _check_resume(config, write=chief)
    if chief:
        outputs.remove_stale_temporaries(config.workdir)
    keras.utils.set_random_seed(config.seed)
    with strategy.output_directory(config.workdir, distribution) as out:
        paths = user_paths or srgamma_data.simulated_files(
            os.path.join(out, "data"), config.energy_gev,
            {p: splits.total(p) for p in srgamma_data.PARTICLES}, config.seed,
            workers=config.workers, progress=config.progress and chief)
        validation = srgamma_data.load_split(paths, splits, "validation")
        classifier_data = srgamma_data.load_split(paths, splits, "classifier_train")
        train = srgamma_data.load_split(paths, splits, "gan_train")
        generator = _train(config, distribution, out, train, classifier_data, validation)
        export.export_model(generator, out, "generator")
    if not chief or not config.evaluate:
        return {}
    return evaluate_workdir(config.workdir)


def _train(config: config_lib.SRGANExperiment, distribution, out: str, train: dict,
           classifier_data: dict, validation: dict) -> keras.Model:
    """Builds (or restores) the networks, trains the GAN up to ``config.epochs`` and returns
    the generator with the weights of the selected epoch (the last one if none was selected)."""
    gan = config.gan
    with distribution.scope():
        classifier_hr = _hr_classifier(config, classifier_data, validation, out)
        features = networks.perceptual_features(
            classifier_hr, pre_activation=gan.perceptual_features == "pre_activation")
        seeds.seed_component(config.seed, "gan_networks")
        generator = networks.SRGenerator(config.generator)
        critic = networks.SRCritic(config_lib.CriticConfig())
        trainer = strategy.fit_across_workers(
            trainer_lib.SRGANTrainer(generator, critic, features, gan))
        optimizers = trainer_lib.make_optimizer(gan), trainer_lib.make_optimizer(gan)
        trainer.compile(*optimizers)
    # Outside the strategy's scope: the monitor's state is host-side.
    intermediate = config_lib.intermediate_epoch(config.epochs)
    monitor = callbacks.ValidationMonitor(
        generator, make_validation(validation, critic, features, classifier_hr), "ks_mean",
        os.path.join(out, "generator_best.weights.h5"), os.path.join(out, "selection.json"),
        os.path.join(out, "logs", "validation"),
        snapshots={e: evaluation.snapshot_path(out, e) for e in {1, intermediate}},
    )
    with distribution.scope():
        checkpointer = checkpoint.Checkpointer(
            os.path.join(out, "checkpoints"),
            restore_directory=os.path.join(config.workdir, "checkpoints"),
            generator=generator, critic=critic, generator_optimizer=optimizers[0],
            critic_optimizer=optimizers[1], selection=monitor.state,
        )
        initial_epoch = checkpointer.restore()
        # The checkpoint restores the learning rate too; a resumed run may have lowered it.
        for optimizer in optimizers:
            optimizer.learning_rate = gan.learning_rate
        if initial_epoch == 0 and config.pretrain_epochs:
            _pretrain(config, generator, train, validation, out)
    if initial_epoch < config.epochs:
        _fit(config, distribution, out, trainer, train, monitor, checkpointer, initial_epoch)
    # A run killed after its last checkpoint has not published its selection yet.
    monitor.publish()
    if monitor.selection["epoch"] is not None:
        generator.set_weights([w.numpy() for w in monitor.state.weights])
    return generator


def _fit(config: config_lib.SRGANExperiment, distribution, out: str,
         trainer: trainer_lib.SRGANTrainer, train: dict, monitor: callbacks.ValidationMonitor,
         checkpointer: checkpoint.Checkpointer, initial_epoch: int) -> None:
    """The GAN epochs from ``initial_epoch`` to ``config.epochs``."""
    gan = config.gan
    dataset = trainer_lib.training_dataset(train["lr"], train["hr"], gan, seed=config.seed,
                                           first_epoch=initial_epoch)
    os.makedirs(os.path.join(out, "snapshots"), exist_ok=True)
    guard = callbacks.DivergenceGuard(
        trainer_lib.METRIC_NAMES, lambda: checkpointer.latest,
        remedy=(f"rerun the same command with a lower --learning_rate (now {gan.learning_rate:g})"
                " to resume from it, or use a new --workdir with another --seed"),
    )
    chief = strategy.is_chief(distribution)
    progress = [callbacks.EpochProgress(("critic_loss", "generator_loss", "val_ks_mean"))
                ] if config.progress and chief else []
    trainer.fit(
        dataset, epochs=config.epochs, initial_epoch=initial_epoch,
        steps_per_epoch=trainer_lib.steps_per_epoch(len(train["lr"]), gan),
        shuffle=False,  # training_dataset shuffles, reproducibly
        verbose=0 if config.progress else 2,
        callbacks=[
            *progress,
            monitor,
            guard,
            callbacks.History(os.path.join(out, "history.json"), initial_epoch),
            keras.callbacks.TensorBoard(os.path.join(out, "logs", "train")),
            checkpointer,
        ],
    )


def evaluate_workdir(workdir: str, retrain_classifiers: bool = False) -> dict[str, Any]:
    """Evaluates the selected generator of a finished (or interrupted) run in ``workdir``.

    The LR and SR CNNs of Fig. 13 saved by an earlier evaluation are reused (the SR ones while
    the generator is the same) unless ``retrain_classifiers``.
    """
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise MissingFileError(f"{path!r} does not exist: is {workdir!r} an SR-GAN work "
                               "directory (train/sr_gan.py --workdir)?")
    config = config_lib.SRGANExperiment.from_json(outputs.read_json(path))
    # The directory may have been moved since the training: it is where it is now.
    config = dataclasses.replace(config, workdir=os.path.abspath(workdir))
    for name in ("generator", "classifier_hr"):
        if not export.is_complete(workdir, name):
            raise MissingFileError(f"{name}.keras and {name}_savedmodel/ are not both in "
                                   f"{workdir!r}: the training has not finished; rerun "
                                   "train/sr_gan.py with the same flags to resume it")
    paths = srgamma_data.dataset_files(os.path.join(config.workdir, "data"), config.energy_gev,
                                       config.splits, config.seed, data=config.data,
                                       workers=config.workers)
    generator = keras.saving.load_model(os.path.join(workdir, "generator.keras"))
    classifier_hr = keras.saving.load_model(os.path.join(workdir, "classifier_hr.keras"))
    return evaluation.evaluate(config, paths, generator, classifier_hr, retrain_classifiers)
