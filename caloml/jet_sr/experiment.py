"""The jet super-resolution study end to end: Pythia jets, adversarial training, assessment.

:func:`train_and_evaluate` is what ``train/jet_sr.py`` calls. The jets of the trained process
are generated with Pythia 8 + the detector model + FastJet (:mod:`caloml.jets`) and cached in
``workdir/data`` (or read from ``--data``, validated before anything is written); the first
``num_train`` jets are streamed from the file through a shuffle buffer, the ``num_test`` after
them are held out. The training resumes from its last checkpoint when the same command is
rerun (the generator, the four discriminators, the three optimizers and the epoch are
checkpointed; the data order depends only on the seed and the epoch). The generator is
exported as ``generator.keras`` and ``generator_savedmodel/`` before the assessment writes
``metrics.json`` and ``plots/``: the paper's Figs 4–7 on the trained process and Figs 8–9 on
the other one (``other_data`` or freshly generated jets). Under ``MultiWorkerMirroredStrategy``
only the chief writes into the work directory.

:func:`rrdb_scan` assesses several finished runs that differ in their number of RRDBs (Fig. 11).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from caloml import outputs, seeding
from caloml.data import cache, pipeline
from caloml.data import jets as jets_data
from caloml.errors import InputError
from caloml.io import hdf5, schema
from caloml.jet_sr import config as config_lib
from caloml.jet_sr import evaluation, figures, networks
from caloml.jet_sr import trainer as trainer_lib
from caloml.jets import observables
from caloml.training import adversarial, checkpoint, export, seeds, strategy

# config.json fields that are not compared on resume: a work directory may be moved or copied.
NOT_COMPARED = ("workdir",)
# Examples read from the HDF5 file at a time (a block of 160×160 HR images is ~26 MB).
BLOCK_SIZE = 256


def other_process(process: str) -> str:
    """The process the network is not trained on (``qcd`` ↔ ``top``)."""
    return "top" if process == "qcd" else "qcd"


def _user_file(path: str, needed: int, flag: str, process: str) -> str:
    """Validates a ``--data``/``--other_data`` file: the jets layout, enough jets, ``process``."""
    return cache.user_process_file(path, needed, flag, process, jets_data.check_file, "jets",
                                   "--num_train/--num_test/--num_eval")


def data_files(config: config_lib.JetSRExperiment, directory: str) -> dict[str, str]:
    """``{process: path}`` of the trained process's jets and the other process's test jets.

    Generated with Pythia into ``directory`` (cached there) unless ``--data``/``--other_data``
    name files; the other process's jets use a seed of their own.
    """
    trained, other = config.jets, other_process(config.jets)
    files = {}
    if config.data is not None:
        files[trained] = _user_file(config.data, config.num_train + config.num_test, "--data",
                                    trained)
    else:
        files[trained] = jets_data.dataset_file(
            directory, trained, config.num_train + config.num_test, seeding.derive(
                config.seed, f"jets_{trained}"), workers=config.workers,
            progress=config.progress)
    if not config.cross_process:
        return files
    if config.other_data is not None:
        files[other] = _user_file(config.other_data, config.num_eval, "--other_data", other)
    else:
        files[other] = jets_data.dataset_file(
            directory, other, config.num_eval, seeding.derive(config.seed, f"jets_{other}"),
            workers=config.workers, progress=config.progress)
    return files


def training_dataset(path: str, factor: int, num_train: int, batch_size: int,
                     shuffle_buffer: int, seed: int, first_epoch: int, epochs: int
                     ) -> tf.data.Dataset:
    """Shuffled training batches of rows ``[0, num_train)``, from ``first_epoch`` to ``epochs``.

    Every epoch streams the rows (the file's jets are independent events in random order)
    through a shuffle buffer seeded by ``(seed, epoch)`` and drops the last incomplete batch,
    so a resumed run sees exactly the batches an uninterrupted run sees from that epoch on.

    Returns:
        Batches ``{"lr": [B, 160/f, 160/f, 1], "hr": [B, 160, 160, 1]}`` float32 (GeV),
        repeated after the last epoch.
    """
    def epoch(number: int) -> tf.data.Dataset:
        rows = pipeline.hdf5_dataset(path, schema.JETS, ["hr", f"lr{factor}"],
                                     block_size=BLOCK_SIZE, stop=num_train,
                                     check_values=number == first_epoch)
        order = seeding.derive(seed, f"jet_sr_order_{number}")
        return (rows.shuffle(shuffle_buffer, seed=order)
                .map(lambda x: {"lr": x[f"lr{factor}"][..., None], "hr": x["hr"][..., None]})
                .batch(batch_size, drop_remainder=True))

    epochs_left = [epoch(n) for n in range(first_epoch, max(epochs, first_epoch + 1))]
    dataset = functools.reduce(lambda a, b: a.concatenate(b), epochs_left)
    return dataset.repeat().prefetch(2)


def build_networks(config: config_lib.JetSRExperiment):
    """The generator and ``{stream: (first, second)}`` discriminators (inside the scope)."""
    seeds.seed_component(config.seed, "jet_sr_networks")
    generator = networks.JetSRGenerator(config.generator)
    discriminators = networks.make_discriminators(config.discriminator, config.training.streams)
    return generator, discriminators


def _train(config: config_lib.JetSRExperiment, distribution, out: str, path: str
           ) -> keras.Model:
    """Builds (or restores) the networks and trains them up to ``config.epochs``."""
    training = config.training

    def build():
        generator, discriminators = build_networks(config)
        trainer = strategy.fit_across_workers(trainer_lib.JetSRTrainer(
            generator, discriminators, training, seed=seeding.derive(config.seed, "jet_sr_gp")))
        trainer.compile(*trainer_lib.make_optimizers(training))
        return generator, None, trainer

    def steps_per_epoch():
        return config.num_train // training.batch_size

    def make_dataset(first_epoch):
        return training_dataset(path, config.generator.factor, config.num_train,
                                training.batch_size, config.shuffle_buffer, config.seed,
                                first_epoch, config.epochs)

    return adversarial.fit_adversarial(
        build, distribution=distribution, out=out, workdir=config.workdir,
        epochs=config.epochs, make_dataset=make_dataset, steps_per_epoch=steps_per_epoch,
        progress_metrics=("generator_loss", "discriminator_loss", "hr_loss"),
        progress=config.progress,
        describe=lambda first: (
            f"training the jet SR generator (x{config.generator.factor}, "
            f"{config.generator.num_rrdb} RRDBs) on {config.num_train} {config.jets} jets "
            f"({steps_per_epoch()} steps per epoch) from epoch {first + 1} to {config.epochs}"))


def test_sets(config: config_lib.JetSRExperiment, files: dict[str, str]
              ) -> dict[str, dict[str, np.ndarray]]:
    """The assessed jets: ``num_eval`` held-out jets of the trained process (with the LR images
    of every factor, for Fig. 6) and ``num_eval`` jets of the other process."""
    factor = config.generator.factor
    start = config.num_train
    stop = start + min(config.num_eval, config.num_test)
    sets = {config.jets: jets_data.read_jets(files[config.jets], factor, start, stop)}
    sets[config.jets].update(hdf5.read_arrays(
        files[config.jets], schema.JETS, keys=[f"lr{f}" for f in config_lib.FACTORS],
        start=start, stop=stop, validate=False))
    other = other_process(config.jets)
    if other in files:
        sets[other] = jets_data.read_jets(files[other], factor, 0, config.num_eval)
    return sets


def threshold_gev(config: config_lib.JetSRExperiment, path: str) -> float:
    """The SR pixel threshold: ``config.sr_threshold_gev`` or the smallest non-zero HR pixel of
    (up to 2000 of) the training jets (:func:`caloml.jet_sr.evaluation.sr_threshold`)."""
    if config.sr_threshold_gev is not None:
        return float(config.sr_threshold_gev)
    hr = jets_data.read_jets(path, config.generator.factor, 0,
                             min(config.num_train, 2000))["hr"]
    return evaluation.sr_threshold(hr)


def _assess(config: config_lib.JetSRExperiment, generator, files: dict[str, str]
            ) -> dict[str, Any]:
    threshold = threshold_gev(config, files[config.jets])
    pixel_size = float(hdf5.read_attrs(files[config.jets])["pixel_size_rad"])
    metrics = evaluation.evaluate(generator, test_sets(config, files), config.jets,
                                  config.generator.factor, pixel_size,
                                  os.path.join(config.workdir, "plots"), threshold)
    metrics["num_rrdb"] = config.generator.num_rrdb
    metrics["parameters"] = {"generator": int(generator.count_params())}
    history = os.path.join(config.workdir, "history.json")
    if os.path.exists(history):
        metrics["history"] = outputs.read_json(history)
    outputs.write_json(os.path.join(config.workdir, "metrics.json"), metrics)
    logging.info("wrote %s", os.path.join(config.workdir, "metrics.json"))
    return metrics


def train_and_evaluate(config: config_lib.JetSRExperiment) -> dict[str, Any]:
    """Trains (or resumes) the jet SR GAN of ``config`` and assesses it.

    Writes into ``config.workdir``: ``config.json``, ``data/`` (generated jets, unless
    ``--data``/``--other_data``), ``checkpoints/``, ``logs/`` (TensorBoard), ``history.json``,
    ``generator.keras`` + ``generator_savedmodel/`` and, with ``evaluate``, ``metrics.json``
    and ``plots/``.

    Returns:
        The metrics (empty if not evaluated or not the chief).

    Raises:
        InputError: for bad settings or ``--data`` files, before anything is written.
    """
    config = config.resolved()
    # --data and --other_data are validated before anything is written.
    if config.data is not None:
        _user_file(config.data, config.num_train + config.num_test, "--data", config.jets)
    if config.other_data is not None:
        _user_file(config.other_data, config.num_eval, "--other_data",
                   other_process(config.jets))
    distribution = strategy.get_strategy(config.strategy)
    chief = strategy.is_chief(distribution)
    checkpoint.check_resume(config.workdir, dataclasses.asdict(config), config.epochs,
                            config_lib.RESUMABLE_CHANGES + NOT_COMPARED, write=chief)
    if chief:
        outputs.remove_stale_temporaries(config.workdir)
    with strategy.output_directory(config.workdir, distribution) as out:
        files = data_files(config, os.path.join(out, "data"))
        if config.num_train < config.training.batch_size:
            raise InputError(f"--num_train={config.num_train} is below one batch "
                             f"(--batch_size={config.training.batch_size})")
        generator = _train(config, distribution, out, files[config.jets])
        export.export_model(generator, out, "generator")
    if not chief or not config.evaluate:
        return {}
    return _assess(config, generator, files)


def _load_config(workdir: str) -> config_lib.JetSRExperiment:
    return export.finished_run_config(workdir, config_lib.JetSRExperiment.from_json,
                                      "jet super-resolution", "train/jet_sr.py")


def evaluate_workdir(workdir: str) -> dict[str, Any]:
    """Re-assesses the exported generator of a finished run in ``workdir`` (``eval/jet_sr.py``)."""
    config = _load_config(workdir)
    files = data_files(config, os.path.join(config.workdir, "data"))
    generator = keras.saving.load_model(os.path.join(workdir, "generator.keras"))
    return _assess(config, generator, files)


def rrdb_scan(workdirs: Sequence[str], output_dir: str) -> dict[str, Any]:
    """Fig. 11: the Wasserstein distance of the k-th leading constituent (HR vs SR) against the
    number of RRDBs, for finished runs that differ in ``num_rrdb`` (and maybe the seed).

    Each run's generator super-resolves its own held-out jets (same process, same factor for
    all runs; the runs are grouped by the process they were trained on). Writes
    ``output_dir/rrdb_scan.json`` and ``output_dir/plots/rrdb_scan.{png,pdf}``.
    """
    if len(workdirs) < 2:
        raise InputError("--scan needs at least two work directories (runs with different "
                         "--num_rrdb)")
    points: dict[str, list[tuple[int, list[float]]]] = {}
    factors = set()
    for workdir in workdirs:
        config = _load_config(workdir)
        factors.add(config.generator.factor)
        files = data_files(dataclasses.replace(config, cross_process=False),
                           os.path.join(config.workdir, "data"))
        test = test_sets(config, files)[config.jets]
        generator = keras.saving.load_model(os.path.join(workdir, "generator.keras"))
        sr = evaluation.super_resolve(generator, test["lr"],
                                      threshold_gev=threshold_gev(config, files[config.jets]))
        distances = observables.wasserstein_leading(test["hr"], sr, evaluation.NUM_LEADING)
        points.setdefault(config.jets, []).append((config.generator.num_rrdb,
                                                   [float(d) for d in distances]))
        logging.info("%s: %d RRDBs, W(leading constituent) = %.3g GeV", workdir,
                     config.generator.num_rrdb, distances[0])
    if len(factors) > 1:
        raise InputError(f"the runs of --scan use different factors {sorted(factors)}; scan "
                         "runs of one factor")
    scans = {evaluation.pairing_title(process, process): evaluation.rrdb_scan(p)
             for process, p in points.items()}
    os.makedirs(os.path.join(output_dir, "plots"), exist_ok=True)
    paths = figures.plot_rrdb_scan(scans, os.path.join(output_dir, "plots", "rrdb_scan"))
    result = {"workdirs": [os.path.abspath(w) for w in workdirs], "factor": factors.pop(),
              "scans": scans, "plots": [os.path.basename(p) for p in paths]}
    outputs.write_json(os.path.join(output_dir, "rrdb_scan.json"), result)
    return result
