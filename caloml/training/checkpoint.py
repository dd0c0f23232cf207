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

import keras
import tensorflow as tf
from absl import logging

# TensorFlow writes a checkpoint into "<prefix>_temp/" before merging it into its final files.
_PARTIAL = re.compile(r"^ckpt-\d+_temp$")


def completed_epochs(directory: str) -> int:
    """Epochs of the newest complete checkpoint in ``directory`` (0 if there is none).

    Reads only the manager's state file, so it can be called before anything is built.
    """
    latest = tf.train.latest_checkpoint(directory)
    return int(latest.rsplit("-", 1)[1]) if latest else 0


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
