"""Callbacks of caloml's trainers: checkpoints with resume, NaN stop, SR-GAN monitoring."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from caloml import outputs
from caloml.errors import TrainingDiverged


class Checkpointer(keras.callbacks.Callback):
    """Saves every network, both optimizers and the epoch after each epoch; restores on start.

    Keras' ``BackupAndRestore`` knows one optimizer only, so the adversarial trainers keep a
    ``tf.train.Checkpoint`` of their own. An epoch whose logged losses are not finite is not
    saved: training stops with :class:`TrainingDiverged` and the previous checkpoint stays.

    Args:
        directory: checkpoint directory.
        max_to_keep: checkpoints kept.
        **objects: the trackable objects (networks, optimizers) to save.
    """

    def __init__(self, directory: str, max_to_keep: int = 2, **objects):
        super().__init__()
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.checkpoint = tf.train.Checkpoint(epoch=self.epoch, **objects)
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep)

    def restore(self) -> int:
        """Restores the latest checkpoint, if any; returns the number of completed epochs."""
        latest = self.manager.latest_checkpoint
        if latest:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
            logging.info("resumed from %s (epoch %d)", latest, int(self.epoch.numpy()))
        return int(self.epoch.numpy())

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        bad = {k: v for k, v in (logs or {}).items() if not math.isfinite(float(v))}
        if bad:
            raise TrainingDiverged(
                f"training diverged in epoch {epoch + 1}: {bad}; the last good checkpoint "
                f"({self.manager.latest_checkpoint or 'none'}) is kept: rerun the same command "
                "to resume from it, e.g. with another --seed or a lower learning rate"
            )
        self.epoch.assign(epoch + 1)
        self.manager.save(checkpoint_number=epoch + 1)


class History(keras.callbacks.Callback):
    """Keeps the per-epoch logs in ``path`` (JSON) across restarts, for the training plots.

    Entries of epochs at or after the resumed epoch are dropped on start, so a resumed run
    continues the curve where the checkpoint left it.
    """

    def __init__(self, path: str, initial_epoch: int = 0):
        super().__init__()
        self.path = path
        self.entries: list[dict[str, float]] = []
        if os.path.exists(path):
            with open(path) as f:
                self.entries = [e for e in json.load(f) if e["epoch"] <= initial_epoch]

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        entry = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        self.entries.append(entry)
        outputs.write_json(self.path, self.entries)


class SRGANMonitor(keras.callbacks.Callback):
    """Per-epoch validation of the SR generator and selection of its best epoch (paper §4).

    After each epoch the generator super-resolves the validation LR windows; the shower
    widths (Eq. 4) of SR and HR images are compared with a KS test for photons and pi0
    separately. The weights of the epoch with the lowest mean KS statistic are kept as the
    selected generator. Scalars and example images go to TensorBoard, and every value
    is added to the epoch's logs (``val_*``), so :class:`History` records them.

    Args:
        generator: the network being trained.
        evaluate: ``f(generator) -> dict`` of validation scalars, including ``ks_photon`` and
            ``ks_pi0``, and optionally ``images`` ([K, H, W, 1] for TensorBoard).
        best_weights_path: where the selected generator's weights go (``.weights.h5``).
        selection_path: JSON with the selected epoch and its KS statistics.
        log_dir: TensorBoard directory for the validation summaries.
    """

    def __init__(self, generator: keras.Model, evaluate: Callable[[keras.Model], dict],
                 best_weights_path: str, selection_path: str, log_dir: str):
        super().__init__()
        self.generator = generator
        self.evaluate = evaluate
        self.best_weights_path = best_weights_path
        self.selection_path = selection_path
        self.writer = tf.summary.create_file_writer(log_dir)
        self.selection = {"epoch": None, "ks_mean": math.inf}
        if os.path.exists(selection_path):
            with open(selection_path) as f:
                self.selection = json.load(f)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        result = self.evaluate(self.generator)
        images = result.pop("images", None)
        result["ks_mean"] = 0.5 * (result["ks_photon"] + result["ks_pi0"])
        with self.writer.as_default(step=epoch + 1):
            for key, value in result.items():
                tf.summary.scalar(f"validation/{key}", value)
            if images is not None:
                scaled = images / max(float(np.max(images)), 1e-12)
                tf.summary.image("validation/sr_examples", scaled, max_outputs=len(images))
        self.writer.flush()
        if logs is not None:
            logs.update({f"val_{k}": v for k, v in result.items()})
        if result["ks_mean"] < self.selection["ks_mean"]:
            with outputs.atomic_path(self.best_weights_path) as tmp:
                self.generator.save_weights(tmp)
            self.selection = {"epoch": epoch + 1, "ks_mean": result["ks_mean"],
                              "ks_photon": result["ks_photon"], "ks_pi0": result["ks_pi0"]}
            outputs.write_json(self.selection_path, self.selection)
        logging.info("epoch %d: KS photon %.4f, pi0 %.4f (selected epoch %s, mean KS %.4f)",
                     epoch + 1, result["ks_photon"], result["ks_pi0"],
                     self.selection["epoch"], self.selection["ks_mean"])
