"""The CaloGAN study end to end: data, adversarial training, export, the slides' assessment.

:func:`train_and_evaluate` is what ``train/calogan.py`` calls. The showers are simulated and
cached in the work directory (or read from ``--data``, validated before anything is written),
the training resumes from its last checkpoint when the same command is rerun (every network,
both optimizers and the epoch are checkpointed; the data order and the noise depend only on the
seed, the epoch and the step), and the generator is exported as ``generator.keras`` and
``generator_savedmodel/`` before the assessment writes ``metrics.json`` and ``plots/``. Under
``MultiWorkerMirroredStrategy`` only the chief writes into the work directory.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import keras

from caloml import outputs
from caloml.calogan import config as config_lib
from caloml.calogan import evaluation, networks
from caloml.calogan import trainer as trainer_lib
from caloml.data import calogan as calogan_data
from caloml.training import adversarial, checkpoint, export, seeds, strategy

# config.json fields that are not compared on resume: a work directory may be moved or copied.
NOT_COMPARED = ("workdir",)


def _paths(config: config_lib.CaloGANExperiment, directory: str) -> dict[str, str]:
    return calogan_data.dataset_files(
        directory, config.particles, config.num_train + config.num_test, config.seed,
        data=config.data, workers=config.workers, progress=config.progress)


def load_showers(config: config_lib.CaloGANExperiment, paths: dict[str, str]
                 ) -> tuple[dict, dict]:
    """The training and the held-out test showers (GeV) of every particle."""
    train = calogan_data.read_showers(paths, config.particles,
                                      *calogan_data.train_rows(config.num_train))
    test = calogan_data.read_showers(paths, config.particles,
                                     *calogan_data.test_rows(config.num_train, config.num_test))
    return train, test


def train_and_evaluate(config: config_lib.CaloGANExperiment) -> dict[str, Any]:
    """Trains (or resumes) the CaloGAN of ``config.particles`` and assesses it.

    Writes into ``config.workdir``: ``config.json``, ``data/`` (simulated showers, unless
    ``--data``), ``checkpoints/``, ``logs/`` (TensorBoard), ``history.json``,
    ``generator.keras`` + ``generator_savedmodel/`` and, with ``evaluate``, ``metrics.json``
    and ``plots/``.

    Returns:
        The metrics (empty if not evaluated or not the chief).

    Raises:
        InputError: for bad settings or ``--data`` files, before anything is written.
    """
    config = config.resolved()
    if config.data is not None:
        _paths(config, config.workdir)  # validates --data before anything is written
    distribution = strategy.get_strategy(config.strategy)
    chief = strategy.is_chief(distribution)
    checkpoint.check_resume(config.workdir, dataclasses.asdict(config), config.epochs,
                            config_lib.RESUMABLE_CHANGES + NOT_COMPARED, write=chief)
    if chief:
        outputs.remove_stale_temporaries(config.workdir)
    with strategy.output_directory(config.workdir, distribution) as out:
        paths = _paths(config, os.path.join(out, "data"))
        train, test = load_showers(config, paths)
        generator = _train(config, distribution, out, train)
        export.export_model(generator, out, "generator")
    if not chief or not config.evaluate:
        return {}
    return evaluation.evaluate(config, generator, train, test, config.workdir)


def build_networks(config: config_lib.CaloGANExperiment
                   ) -> tuple[networks.CaloGANGenerator, networks.CaloGANDiscriminator]:
    """The two networks, initialised from the seed (call inside the strategy's scope)."""
    seeds.seed_component(config.seed, "calogan_networks")
    return (networks.CaloGANGenerator(config.generator),
            networks.CaloGANDiscriminator(config.discriminator))


def _train(config: config_lib.CaloGANExperiment, distribution, out: str,
           train: dict) -> keras.Model:
    """Builds (or restores) the networks and trains them up to ``config.epochs``."""
    gan = config.gan

    def build():
        generator, discriminator = build_networks(config)
        trainer = strategy.fit_across_workers(
            trainer_lib.CaloGANTrainer(generator, discriminator, gan))
        trainer.compile(*trainer_lib.make_optimizers(gan))
        return generator, discriminator, trainer

    return adversarial.fit_adversarial(
        build, distribution=distribution, out=out, workdir=config.workdir,
        epochs=config.epochs,
        make_dataset=lambda first_epoch: trainer_lib.training_dataset(
            train, gan, config.generator.latent_dim,
            seed=seeds.derive(config.seed, "calogan_order"), first_epoch=first_epoch),
        steps_per_epoch=lambda: trainer_lib.steps_per_epoch(len(train["energy"]), gan),
        progress_metrics=("discriminator_loss", "generator_loss", "generator_energy_error_gev"),
        progress=config.progress,
        describe=lambda first: (
            f"training the CaloGAN of {', '.join(config.particles)} on {len(train['energy'])} "
            f"showers from epoch {first + 1} to {config.epochs}"))


def evaluate_workdir(workdir: str) -> dict[str, Any]:
    """Assesses the exported generator of a finished run in ``workdir`` (``eval/calogan.py``)."""
    config = export.finished_run_config(workdir, config_lib.CaloGANExperiment.from_json,
                                        "CaloGAN", "train/calogan.py")
    paths = _paths(config, os.path.join(config.workdir, "data"))
    train, test = load_showers(config, paths)
    generator = keras.saving.load_model(os.path.join(workdir, "generator.keras"))
    return evaluation.evaluate(config, generator, train, test, config.workdir)
