"""The CALPAGAN study end to end: Pythia events rendered twice, pix2pix training, assessment.

:func:`train_and_evaluate` is what ``train/calpagan.py`` calls. The events of the trained process
(``wjets`` or ``dijet``) are generated with Pythia 8 and rendered twice, fast (Delphes-style
towers) and detailed (caloml's showers in the CMS-like towers), by :mod:`caloml.events`, and
cached in ``workdir/data`` (or read from ``--data``, validated before anything is written); the
first ``num_train`` events train the GAN, the ``num_test`` after them are held out (the paper's
5,000 + 5,000). The other process's events serve the cross-process assessment (paper §4) and,
with the trained process's, train the jet-image classifier whose features the Fréchet distance
is computed on (Inception weights cannot be downloaded here; README, deviations).

Both images of every event are divided by a per-event maximum (paper §3, ``normalisation``);
the exported network (``generator.keras`` + ``generator_savedmodel/``) is the whole translation
in GeV, :class:`caloml.calpagan.networks.FastToDetailed`: normalisation, noise channel,
U-Net, and the way back to GeV.

Training resumes from its last checkpoint when the same command is rerun (generator,
discriminator, both optimizers and the epoch are checkpointed; the data order depends only on
the seed and the epoch; the feature classifier is saved once and reused; the Fréchet-distance
curve is cut back to the restored epoch). Under ``MultiWorkerMirroredStrategy`` only the chief
writes into the work directory.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from caloml import outputs, seeding
from caloml.calpagan import config as config_lib
from caloml.calpagan import evaluation, networks
from caloml.calpagan import trainer as trainer_lib
from caloml.data import cache
from caloml.data import events as events_data
from caloml.errors import InputError
from caloml.training import adversarial, checkpoint, export, seeds, strategy

# config.json fields that are not compared on resume: a work directory may be moved or copied.
NOT_COMPARED = ("workdir",)
FID_CLASSIFIER = "fid_classifier.keras"
FID_HISTORY = "fid_history.json"


def other_process(process: str) -> str:
    """The process the network is not trained on (``wjets`` ↔ ``dijet``)."""
    return "dijet" if process == "wjets" else "wjets"


def _user_file(path: str, needed: int, flag: str, process: str) -> str:
    """Validates a ``--data``/``--other_data`` file: events layout, enough events, process."""
    return cache.user_process_file(path, needed, flag, process, events_data.check_file, "events",
                                   "--num_train/--num_test/--num_eval/--fid_events")


def _other_needed(config: config_lib.CalpaganExperiment) -> int:
    """Events of the other process: the classifier's ``fid_events``, then ``num_eval``."""
    return config.fid_events + (config.num_eval if config.cross_process else 0)


def data_files(config: config_lib.CalpaganExperiment, directory: str) -> dict[str, str]:
    """``{process: path}`` of the trained process's events and the other process's events.

    Generated with Pythia into ``directory`` (cached there) unless ``--data``/``--other_data``
    name files; each process uses a seed of its own.
    """
    trained, other = config.process, other_process(config.process)
    needed = {trained: config.num_train + config.num_test, other: _other_needed(config)}
    given = {trained: (config.data, "--data"), other: (config.other_data, "--other_data")}
    files = {}
    for process in (trained, other):
        path, flag = given[process]
        if path is not None:
            files[process] = _user_file(path, needed[process], flag, process)
        else:
            files[process] = events_data.dataset_file(
                directory, process, needed[process],
                seeding.derive(config.seed, f"events_{process}"), workers=config.workers,
                progress=config.progress)
    return files


def _read(path: str, start: int, stop: int) -> dict[str, np.ndarray]:
    return events_data.read_events(path, start, stop)


def training_dataset(condition: np.ndarray, target: np.ndarray, batch_size: int, seed: int,
                     first_epoch: int, epochs: int) -> tf.data.Dataset:
    """Shuffled training batches, from ``first_epoch`` to ``epochs``, repeated after the last.

    Every epoch shuffles all events with a seed of ``(seed, epoch)`` and drops the last
    incomplete batch, so a resumed run sees exactly the batches an uninterrupted run sees.

    Args:
        condition, target: normalised fast and detailed images ``[N, 72, 72]`` float32.

    Returns:
        Batches ``{"condition": [B, 72, 72, 1], "target": [B, 72, 72, 1]}``.
    """
    rows = tf.data.Dataset.from_tensor_slices(
        {"condition": condition[..., None].astype(np.float32),
         "target": target[..., None].astype(np.float32)})

    def epoch(number: int) -> tf.data.Dataset:
        order = seeding.derive(seed, f"calpagan_order_{number}")
        return rows.shuffle(len(condition), seed=order).batch(batch_size, drop_remainder=True)

    epochs_left = [epoch(n) for n in range(first_epoch, max(epochs, first_epoch + 1))]
    dataset = functools.reduce(lambda a, b: a.concatenate(b), epochs_left)
    return dataset.repeat().prefetch(2)


def feature_classifier(config: config_lib.CalpaganExperiment, files: dict[str, str],
                       out: str) -> keras.Model:
    """The jet-image classifier of the Fréchet distance, trained once and kept in the workdir.

    It separates the detailed images of W+jets from those of dijets, on the first
    ``fid_events`` training events of the trained process and of the other process.
    """
    path = os.path.join(config.workdir, FID_CLASSIFIER)
    if os.path.exists(path):
        return keras.saving.load_model(path)
    process, other = config.process, other_process(config.process)
    images = {p: _read(files[p], 0, config.fid_events)["detailed"] for p in (process, other)}
    logging.info("training the Fréchet-distance feature classifier (W+jets vs dijet detailed "
                 "images, %d events each, %d epochs)", config.fid_events,
                 config.classifier_epochs)
    model = evaluation.train_feature_classifier(
        images["wjets"], images["dijet"], seed=seeding.derive(config.seed, "fid_classifier"),
        epochs=config.classifier_epochs)
    with outputs.atomic_path(os.path.join(out, FID_CLASSIFIER)) as tmp:
        model.save(tmp)
    return model


def build_networks(config: config_lib.CalpaganExperiment):
    """The U-Net generator and the PatchGAN discriminator (inside the strategy scope)."""
    seeds.seed_component(config.seed, "calpagan_networks")
    return (networks.UNetGenerator(config.generator),
            networks.PatchDiscriminator(config.discriminator))


def translator(generator: keras.Model, config: config_lib.CalpaganExperiment,
               scale: float, threshold: float) -> keras.Model:
    """The exported network: fast GeV images → detailed GeV images around ``generator``."""
    return networks.FastToDetailed(generator, normalisation=config.training.normalisation,
                                   output_scale=scale, threshold_gev=threshold,
                                   seed=seeding.derive(config.seed, "calpagan_noise"))


def _train(config: config_lib.CalpaganExperiment, distribution, out: str,
           train: dict[str, np.ndarray], scale: float, threshold: float,
           features: keras.Model,
           fid_sets: dict[str, tuple[np.ndarray, np.ndarray]]) -> keras.Model:
    """Builds (or restores) the networks and trains them up to ``config.epochs``."""
    training = config.training
    condition, target, _ = networks.normalise_pair(train["fast"], train["detailed"],
                                                   training.normalisation)

    def build():
        generator, discriminator = build_networks(config)
        trainer = strategy.fit_across_workers(trainer_lib.CalpaganTrainer(
            generator, discriminator, training,
            seed=seeding.derive(config.seed, "calpagan_train_noise")))
        trainer.compile(*trainer_lib.make_optimizers(training))
        build.generator = generator
        return generator, discriminator, trainer

    def callbacks(initial_epoch: int) -> list:
        translate = translator(build.generator, config, scale, threshold)
        return [evaluation.FrechetHistory(
            translate, features, fid_sets, os.path.join(out, FID_HISTORY),
            every=config.fid_every, initial_epoch=initial_epoch)]

    def make_dataset(first_epoch):
        return training_dataset(condition, target, training.batch_size, config.seed,
                                first_epoch, config.epochs)

    return adversarial.fit_adversarial(
        build, distribution=distribution, out=out, workdir=config.workdir,
        epochs=config.epochs, make_dataset=make_dataset,
        steps_per_epoch=lambda: config.num_train // training.batch_size,
        progress_metrics=("generator_loss", "discriminator_loss", "l1_loss"),
        progress=config.progress, extra_callbacks=callbacks,
        describe=lambda first: (
            f"training CALPAGAN on {config.num_train} {config.process} events "
            f"({config.num_train // training.batch_size} steps per epoch) from epoch "
            f"{first + 1} to {config.epochs}"))


def _fid_sets(config: config_lib.CalpaganExperiment, train: dict[str, np.ndarray],
              test: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    n = config.fid_events
    return {"train": (train["fast"][:n], train["detailed"][:n]),
            "test": (test["fast"][:n], test["detailed"][:n])}


def test_sets(config: config_lib.CalpaganExperiment, files: dict[str, str]
              ) -> dict[str, dict[str, np.ndarray]]:
    """The assessed events: ``num_eval`` held-out events of the trained process and, with
    ``cross_process``, ``num_eval`` events of the other process (after its classifier rows)."""
    start = config.num_train
    sets = {config.process: _read(files[config.process], start, start + config.num_eval)}
    other = other_process(config.process)
    if config.cross_process:
        sets[other] = _read(files[other], config.fid_events,
                            config.fid_events + config.num_eval)
    return sets


def threshold_gev(detailed: np.ndarray) -> float:
    """The zero suppression of the generated towers: the smallest non-zero detailed tower of
    the training events (the detailed readout's lowest threshold after its noise), so that the
    generator's floor of tiny energies (its output is never exactly 0) makes no towers."""
    positive = detailed[detailed > 0]
    return float(positive.min()) if positive.size else 0.0


def _assess(config: config_lib.CalpaganExperiment, model: keras.Model, files: dict[str, str],
            features: keras.Model | None) -> dict[str, Any]:
    history = os.path.join(config.workdir, "history.json")
    fid_history = os.path.join(config.workdir, FID_HISTORY)
    metrics = evaluation.evaluate(
        model, test_sets(config, files), config.process,
        os.path.join(config.workdir, "plots"),
        history=outputs.read_json(history) if os.path.exists(history) else None,
        fid_history=outputs.read_json(fid_history) if os.path.exists(fid_history) else None,
        feature_model=features, batch_sizes=config.runtime_batch_sizes)
    metrics["threshold_gev"] = float(model.threshold_gev)
    generator = model.generator
    metrics["parameters"] = {
        "generator": int(sum(np.prod(w.shape) for w in generator.trainable_weights)),
        "generator_with_batch_norm_statistics": int(generator.count_params())}
    metrics["output_scale"] = float(model.output_scale)
    outputs.write_json(os.path.join(config.workdir, "metrics.json"), metrics)
    logging.info("wrote %s", os.path.join(config.workdir, "metrics.json"))
    return metrics


def train_and_evaluate(config: config_lib.CalpaganExperiment) -> dict[str, Any]:
    """Trains (or resumes) CALPAGAN as ``config`` says and assesses it.

    Writes into ``config.workdir``: ``config.json``, ``data/`` (generated events, unless
    ``--data``/``--other_data``), ``fid_classifier.keras``, ``checkpoints/``, ``logs/``
    (TensorBoard), ``history.json``, ``fid_history.json``, ``generator.keras`` +
    ``generator_savedmodel/`` and, with ``evaluate``, ``metrics.json`` and ``plots/``.

    Returns:
        The metrics (empty if not evaluated or not the chief).

    Raises:
        InputError: for bad settings or ``--data`` files, before anything is written.
    """
    config = config.resolved()
    if config.data is not None:
        _user_file(config.data, config.num_train + config.num_test, "--data", config.process)
    if config.other_data is not None:
        _user_file(config.other_data, _other_needed(config), "--other_data",
                   other_process(config.process))
    if config.num_train < config.training.batch_size:
        raise InputError(f"--num_train={config.num_train} is below one batch "
                         f"(--batch_size={config.training.batch_size})")
    distribution = strategy.get_strategy(config.strategy)
    chief = strategy.is_chief(distribution)
    checkpoint.check_resume(config.workdir, dataclasses.asdict(config), config.epochs,
                            config_lib.RESUMABLE_CHANGES + NOT_COMPARED, write=chief)
    if chief:
        outputs.remove_stale_temporaries(config.workdir)
    with strategy.output_directory(config.workdir, distribution) as out:
        files = data_files(config, os.path.join(out, "data"))
        train = _read(files[config.process], 0, config.num_train)
        # The held-out events of the Fréchet distance's test curve (Fig. 5).
        test = _read(files[config.process], config.num_train,
                     config.num_train + min(config.num_test, config.fid_events))
        # per_image normalisation (§3): back to GeV with the training events' mean ratio
        # max(detailed) / max(fast) (README, deviations); condition_max: 1.
        scale = networks.output_scale(train["fast"], train["detailed"],
                                      config.training.normalisation)
        threshold = threshold_gev(train["detailed"])
        features = feature_classifier(config, files, out)
        generator = _train(config, distribution, out, train, scale, threshold, features,
                           _fid_sets(config, train, test))
        model = translator(generator, config, scale, threshold)
        export.export_model(model, out, "generator")
    if not chief or not config.evaluate:
        return {}
    return _assess(config, model, files, features)


def _load_config(workdir: str) -> config_lib.CalpaganExperiment:
    return export.finished_run_config(workdir, config_lib.CalpaganExperiment.from_json,
                                      "CALPAGAN", "train/calpagan.py")


def evaluate_workdir(workdir: str) -> dict[str, Any]:
    """Re-assesses the exported network of a finished run in ``workdir`` (``eval/calpagan.py``)."""
    config = _load_config(workdir)
    files = data_files(config, os.path.join(config.workdir, "data"))
    model = keras.saving.load_model(os.path.join(workdir, "generator.keras"))
    classifier = os.path.join(workdir, FID_CLASSIFIER)
    features = keras.saving.load_model(classifier) if os.path.exists(classifier) else None
    return _assess(config, model, files, features)
