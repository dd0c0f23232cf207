"""Checkpoints of a training: every network, every optimizer and the epoch, restored on start.

The checkpoint is a training's commit point: what it holds after epoch k is the state the run
resumes from, and outputs that describe the training (the selected epoch, its weights) are
published from it (:class:`~caloml.training.callbacks.ValidationMonitor`), so that a run
killed at any moment continues exactly where its last checkpoint left it.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf
from absl import logging

import caloml
from caloml import outputs
from caloml.errors import InputError

# TensorFlow writes a checkpoint into "<prefix>_temp/" before merging it into its final files.
_PARTIAL = re.compile(r"^ckpt-\d+_temp$")


def completed_epochs(directory: str) -> int:
    """Epochs of the newest complete checkpoint in ``directory`` (0 if there is none).

    Reads only the manager's state file, so it can be called before anything is built.
    """
    latest = tf.train.latest_checkpoint(directory)
    return int(latest.rsplit("-", 1)[1]) if latest else 0


def _flat(values: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def check_resume(workdir: str, settings: dict[str, Any], epochs: int,
                 resumable: Sequence[str], write: bool) -> None:
    """Writes ``workdir/config.json`` (if ``write``), or checks an existing one is the same run.

    Args:
        workdir: the work directory.
        settings: the resolved configuration (nested dicts; ``caloml_version`` is added).
        epochs: the epochs requested; not fewer than those already trained in
            ``workdir/checkpoints``.
        resumable: dotted setting names that may differ from the stored ones (``epochs``, the
            number of workers, ...).
        write: write config.json (the chief only).

    Raises:
        InputError: naming every changed setting, with the remedy.
    """
    if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise InputError(f"--workdir={workdir} exists and is not a directory")
    path = os.path.join(workdir, "config.json")
    current = outputs.to_json({**settings, "caloml_version": caloml.__version__})
    if os.path.exists(path):
        old, new = _flat(outputs.read_json(path)), _flat(current)
        changed = sorted(k for k in set(old) | set(new)
                         if k not in resumable and old.get(k) != new.get(k))
        if changed:
            details = ", ".join(f"{k}: {old.get(k)!r} → {new.get(k)!r}" for k in changed)
            raise InputError(
                f"work directory {workdir!r} holds a run with other settings ({details});"
                " use a new --workdir or the original flags"
            )
        trained = completed_epochs(os.path.join(workdir, "checkpoints"))
        if epochs < trained:
            raise InputError(
                f"--epochs={epochs}: work directory {workdir!r} holds {trained} "
                f"trained epochs; rerun with --epochs={trained} or more, or use a new --workdir"
            )
    if write:
        os.makedirs(workdir, exist_ok=True)
        outputs.write_json(path, current)


class Checkpointer(keras.callbacks.Callback):
    """Saves every network, every optimizer and the epoch after each epoch; restores on start.

    Keras' ``BackupAndRestore`` knows one optimizer only, so the adversarial trainers keep a
    ``tf.train.Checkpoint`` of their own. Put it after the callbacks that may stop a bad epoch
    (:class:`~caloml.training.callbacks.DivergenceGuard`), so that such an epoch is never saved.
    The checkpoint number is the number of completed epochs.

    Args:
        directory: where checkpoints are written; partial checkpoints of a killed run there are
            removed.
        max_to_keep: checkpoints kept.
        restore_directory: where the checkpoint to resume from is read; default ``directory``
            (a non-chief worker writes into a temporary directory but resumes from the chief's).
        **objects: the trackable objects (networks, optimizers, validation state) to save.
    """

    def __init__(self, directory: str, max_to_keep: int = 2,
                 restore_directory: str | None = None, **objects):
        super().__init__()
        if os.path.isdir(directory):
            for name in os.listdir(directory):
                if _PARTIAL.match(name):
                    logging.info("removing the partial checkpoint %s of a killed run", name)
                    shutil.rmtree(os.path.join(directory, name), ignore_errors=True)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.checkpoint = tf.train.Checkpoint(epoch=self.epoch, **objects)
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep)
        self.restore_directory = restore_directory or directory

    @property
    def latest(self) -> str | None:
        """Path prefix of the newest complete checkpoint to resume from, or None."""
        return tf.train.latest_checkpoint(self.restore_directory)

    def restore(self) -> int:
        """Restores the latest checkpoint, if any; returns the number of completed epochs."""
        latest = self.latest
        if latest:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
            logging.info("resumed from %s (epoch %d)", latest, int(self.epoch.numpy()))
        return int(self.epoch.numpy())

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch.assign(epoch + 1)
        self.manager.save(checkpoint_number=epoch + 1)
