"""The 3DGAN study end to end: data, adversarial training, export, "simulator vs GAN".

:func:`train_and_evaluate` is what ``train/gan3d.py`` calls. The CLIC electrons are simulated,
converted into the 3DGAN layout and cached in the work directory (or read from ``--data``,
validated before anything is written); the training file is streamed through a shuffle buffer,
never held in memory; the training resumes from its last checkpoint when the same command is
rerun (every network, both optimizers and the epoch are checkpointed; the data order and the
draws depend only on the seed, the epoch and the step); the generator is exported as
``generator.keras`` and ``generator_savedmodel/`` before the assessment writes ``metrics.json``
and ``plots/``. Under ``MultiWorkerMirroredStrategy`` only the chief writes into the work
directory.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import keras

from caloml import outputs
from caloml.data import threedgan
from caloml.gan3d import config as config_lib
from caloml.gan3d import evaluation, networks
from caloml.gan3d import trainer as trainer_lib
from caloml.training import adversarial, checkpoint, export, seeds, strategy

# config.json fields that are not compared on resume: a work directory may be moved or copied.
NOT_COMPARED = ("workdir",)


def dataset_files(config: config_lib.Gan3DExperiment, directory: str) -> threedgan.Gan3DFiles:
    """The 3DGAN-layout files of ``config`` (simulated into ``directory`` unless ``--data``)."""
    return threedgan.dataset_files(
        directory, num_events=config.num_train + config.num_test,
        energy_gev=config.energy_gev, theta_rad=config.theta_rad,
        fixed_angle=config.fixed_angle, seed=config.seed, data=config.data,
        workers=config.workers, progress=config.progress)


def test_events(config: config_lib.Gan3DExperiment, files: threedgan.Gan3DFiles
                ) -> dict[str, Any]:
    """The first ``num_eval`` held-out events (after the training rows), in memory."""
    start = config.num_train
    stop = start + min(config.num_eval, config.num_test)
    return threedgan.read_events(files, start, stop, window=config.window)


def train_and_evaluate(config: config_lib.Gan3DExperiment) -> dict[str, Any]:
    """Trains (or resumes) the 3DGAN of ``config`` and compares it with the simulator.

    Writes into ``config.workdir``: ``config.json``, ``data/`` (simulated events, unless
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
        dataset_files(config, config.workdir)  # validates --data before anything is written
    if config.evaluate and config.reco_workdir is not None:
        evaluation.check_reco_workdir(config.reco_workdir)
    distribution = strategy.get_strategy(config.strategy)
    chief = strategy.is_chief(distribution)
    checkpoint.check_resume(config.workdir, dataclasses.asdict(config), config.epochs,
                            config_lib.RESUMABLE_CHANGES + NOT_COMPARED, write=chief)
    if chief:
        outputs.remove_stale_temporaries(config.workdir)
    with strategy.output_directory(config.workdir, distribution) as out:
        files = dataset_files(config, os.path.join(out, "data"))
        generator = _train(config, distribution, out, files)
        export.export_model(generator, out, "generator")
    if not chief or not config.evaluate:
        return {}
    return evaluation.evaluate(config, generator, test_events(config, files), config.workdir)


def build_networks(config: config_lib.Gan3DExperiment
                   ) -> tuple[networks.Gan3DGenerator, networks.Gan3DDiscriminator]:
    """The two networks, initialised from the seed (call inside the strategy's scope)."""
    seeds.seed_component(config.seed, "gan3d_networks")
    return (networks.Gan3DGenerator(config.generator),
            networks.Gan3DDiscriminator(config.discriminator))


def _train(config: config_lib.Gan3DExperiment, distribution, out: str,
           files: threedgan.Gan3DFiles) -> keras.Model:
    """Builds (or restores) the networks and trains them up to ``config.epochs``."""
    gan = config.gan

    def build():
        generator, discriminator = build_networks(config)
        trainer = strategy.fit_across_workers(
            trainer_lib.Gan3DTrainer(generator, discriminator, gan))
        trainer.compile(*trainer_lib.make_optimizers(gan))
        return generator, discriminator, trainer

    def steps_per_epoch():
        return threedgan.steps_per_epoch(files, 0, config.num_train, gan.batch_size,
                                         gan.min_ecal_sum)

    def make_dataset(first_epoch):
        return threedgan.training_dataset(
            files, 0, config.num_train, window=config.window, batch_size=gan.batch_size,
            power=config.generator.power, min_ecal_sum=gan.min_ecal_sum,
            shuffle_buffer=config.shuffle_buffer, seed=seeds.derive(config.seed, "gan3d_order"),
            first_epoch=first_epoch, noise_dim=config.generator.noise_dim,
            generator_steps=gan.generator_steps, label_flip=gan.label_flip)

    return adversarial.fit_adversarial(
        build, distribution=distribution, out=out, workdir=config.workdir,
        epochs=config.epochs, make_dataset=make_dataset, steps_per_epoch=steps_per_epoch,
        progress_metrics=("discriminator_loss", "generator_loss", "generator_energy_mape"),
        progress=config.progress,
        describe=lambda first: (
            f"training the 3DGAN ({config.generator.architecture}) on {config.num_train} "
            f"events ({steps_per_epoch()} steps per epoch) from epoch {first + 1} to "
            f"{config.epochs}"))


def evaluate_workdir(workdir: str, reco_workdir: str | None = None) -> dict[str, Any]:
    """Assesses the exported generator of a finished run in ``workdir`` (``eval/gan3d.py``).

    Args:
        workdir: the work directory of ``train/gan3d.py``.
        reco_workdir: a reconstruction work directory for Appendix B (overrides the run's).
    """
    config = export.finished_run_config(workdir, config_lib.Gan3DExperiment.from_json,
                                        "3DGAN", "train/gan3d.py")
    if reco_workdir is not None:
        config = dataclasses.replace(config, reco_workdir=os.path.abspath(reco_workdir))
    if config.reco_workdir is not None:
        evaluation.check_reco_workdir(config.reco_workdir)
    files = dataset_files(config, os.path.join(config.workdir, "data"))
    generator = keras.saving.load_model(os.path.join(workdir, "generator.keras"))
    return evaluation.evaluate(config, generator, test_events(config, files), config.workdir)
