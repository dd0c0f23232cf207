"""Checkpoints of a training: every network, every optimizer and the epoch; restored on start."""

from __future__ import annotations

import keras
import tensorflow as tf
from absl import logging


class Checkpointer(keras.callbacks.Callback):
    """Saves every network, every optimizer and the epoch after each epoch; restores on start.

    Keras' ``BackupAndRestore`` knows one optimizer only, so the adversarial trainers keep a
    ``tf.train.Checkpoint`` of their own. Put it after the callbacks that may stop a bad epoch
    (:class:`~caloml.training.callbacks.DivergenceGuard`), so that such an epoch is never saved.

    Args:
        directory: where checkpoints are written.
        max_to_keep: checkpoints kept.
        restore_directory: where the checkpoint to resume from is read; default ``directory``
            (a non-chief worker writes into a temporary directory but resumes from the chief's).
        **objects: the trackable objects (networks, optimizers) to save.
    """

    def __init__(self, directory: str, max_to_keep: int = 2,
                 restore_directory: str | None = None, **objects):
        super().__init__()
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
