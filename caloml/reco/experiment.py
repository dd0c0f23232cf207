"""One reconstruction network end to end: data, training, export, test predictions, figures.

:func:`train_and_evaluate` is what ``train/reco.py`` calls. The samples are cached in the work
directory (or read from ``--data``), the training resumes from its last checkpoint when the
same command is rerun, and the export, the predictions on the test split, ``metrics.json`` and
the figures are written at the end. Under ``MultiWorkerMirroredStrategy`` only the chief writes
into the work directory (:func:`caloml.training.strategy.output_directory`).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import keras
import numpy as np
from absl import logging

from caloml import outputs
from caloml.data import reco as reco_data
from caloml.reco import config as config_lib
from caloml.reco import evaluation, figures, networks
from caloml.reco import trainer as trainer_lib
from caloml.training import callbacks, checkpoint, export, seeds, strategy

# config.json fields that are not compared on resume: a work directory may be moved or copied.
NOT_COMPARED = ("workdir",)
# Events per forward pass when predicting (GoogLeNet: its micro-batch).
PREDICT_BATCH = 500


def _paths(config: config_lib.RecoExperiment, directory: str) -> dict[str, str]:
    particles = reco_data.task_particles(config.task, config.particle)
    return reco_data.dataset_files(config.data, particles, directory,
                                   progress=config.progress)


def train_and_evaluate(config: config_lib.RecoExperiment) -> dict[str, Any]:
    """Trains (or resumes) ``config.model`` on ``config.task`` and evaluates it.

    Writes into ``config.workdir``: ``config.json``, ``data/`` (simulated samples, unless
    ``--data``), ``checkpoints/``, ``logs/`` (TensorBoard), ``history.json``, ``<model>.keras``
    + ``<model>_savedmodel/``, and with ``evaluate``: ``predictions.npz`` (the test split),
    ``metrics.json`` and ``plots/``.

    Returns:
        The metrics (empty if not evaluated or not the chief).
    """
    config = config.resolved()
    distribution = strategy.get_strategy(config.strategy)
    chief = strategy.is_chief(distribution)
    if config.data.data is not None:
        _paths(config, config.workdir)  # validates --data before anything is written
    checkpoint.check_resume(config.workdir, dataclasses.asdict(config), config.epochs,
                            config_lib.RESUMABLE_CHANGES + NOT_COMPARED, write=chief)
    if chief:
        outputs.remove_stale_temporaries(config.workdir)
    seeds.seed_component(config.seed, "reco_network")
    with strategy.output_directory(config.workdir, distribution) as out:
        paths = _paths(config, os.path.join(out, "data"))
        network = _train(config, distribution, out, paths)
        export.export_model(network, out, config.model)
    if not chief or not config.evaluate:
        return {}
    return evaluate(config, network, paths)


def _train(config: config_lib.RecoExperiment, distribution, out: str,
           paths: dict[str, str]) -> keras.Model:
    net = config.network
    with distribution.scope():
        network = networks.build_network(config.model, net)
        optimizer = trainer_lib.make_optimizer(net.learning_rate, net.decay)
        trainer = strategy.fit_across_workers(trainer_lib.RecoTrainer(
            network, config.loss, config.batch_size, config.micro_batch))
        trainer.compile(optimizer)
        checkpointer = checkpoint.Checkpointer(
            os.path.join(out, "checkpoints"),
            restore_directory=os.path.join(config.workdir, "checkpoints"),
            network=network, optimizer=optimizer)
        initial_epoch = checkpointer.restore()
    if initial_epoch >= config.epochs:
        return network
    hcal = getattr(net, "hcal_window", reco_data.HCAL_WINDOW)
    names = network.input_names
    train = reco_data.tf_dataset(
        paths, "train", config.data, config.batch_size, hcal, names,
        shuffle_buffer=config.shuffle_buffer,
        seed=seeds.derive(config.seed, f"reco_shuffle_{initial_epoch}"), repeat=True)
    validation = reco_data.tf_dataset(paths, "validation", config.data, config.batch_size,
                                      hcal, names)
    guard = callbacks.DivergenceGuard(
        [f"{name}" for name in trainer_lib.METRIC_NAMES], lambda: checkpointer.latest,
        remedy=(f"rerun with a lower learning rate (now {net.learning_rate:g}) in a new "
                "--workdir, or another --seed"))
    chief = strategy.is_chief(distribution)
    progress = [callbacks.EpochProgress(("loss", "accuracy", "val_loss", "val_accuracy"))
                ] if config.progress and chief else []
    trainer.fit(
        train, epochs=config.epochs, initial_epoch=initial_epoch, validation_data=validation,
        steps_per_epoch=reco_data.steps_per_epoch(paths, config.data, config.batch_size),
        verbose=0 if config.progress else 2,
        callbacks=[
            *progress,
            guard,
            callbacks.History(os.path.join(out, "history.json"), initial_epoch),
            keras.callbacks.TensorBoard(os.path.join(out, "logs")),
            checkpointer,
        ],
    )
    return network


def predict(network: keras.Model, paths: dict[str, str], config: config_lib.RecoExperiment,
            ) -> dict[str, np.ndarray]:
    """The network's outputs on the test split, as the arrays of a predictions file.

    Returns:
        ``pdg``, ``label``, ``score`` (logit of class 1 minus logit of class 0),
        ``energy_true_gev``, ``energy_pred_gev``, ``eta``, ``conversion`` ([N] each).
    """
    hcal = getattr(config.network, "hcal_window", reco_data.HCAL_WINDOW)
    batch = config.micro_batch or PREDICT_BATCH
    parts: dict[str, list[np.ndarray]] = {}
    for block in reco_data.iter_blocks(paths, "test", config.data):
        arrays = reco_data.network_arrays(block, hcal)
        inputs = {name: arrays[name] for name in network.input_names}
        out = network.predict(inputs, batch_size=batch, verbose=0)
        logits = np.asarray(out["logits"], np.float64)
        classified = config.task != "regression"
        part = {
            "pdg": block["pdgID"].astype(np.int32),
            "label": block["label"].astype(np.int8) if classified
            else np.full(len(logits), -1, np.int8),
            "score": logits[:, 1] - logits[:, 0] if classified
            else np.full(len(logits), np.nan),
            "energy_true_gev": block["energy"].astype(np.float64),
            "energy_pred_gev": np.asarray(out["energy"], np.float64)[:, 0]
            * reco_data.ENERGY_SCALE_GEV,
            "eta": block["eta"].astype(np.float64),
            "conversion": block["conversion"].astype(np.int32),
        }
        for key, value in part.items():
            parts.setdefault(key, []).append(value)
    return {key: np.concatenate(values) for key, values in parts.items()}


def evaluate(config: config_lib.RecoExperiment, network: keras.Model,
             paths: dict[str, str]) -> dict[str, Any]:
    """Writes ``predictions.npz``, ``metrics.json`` and ``plots/`` of a trained network."""
    logging.info("predicting the test split")
    predictions = [evaluation.write_predictions(
        os.path.join(config.workdir, "predictions.npz"), method=config.model, task=config.task,
        geometry=reco_data.geometry_of(paths),
        angle="fixed" if config.data.fixed_angle else "variable",
        arrays=predict(network, paths, config))]
    metrics = evaluation.summarise(predictions)
    metrics["plots"] = figures.write_figures(predictions, os.path.join(config.workdir, "plots"))
    outputs.write_json(os.path.join(config.workdir, "metrics.json"), metrics)
    return metrics
