"""Callbacks shared by caloml's trainers: divergence guard, history, validation, progress bar."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf
from absl import logging
from tqdm import tqdm

from caloml import outputs
from caloml.errors import TrainingDiverged


class DivergenceGuard(keras.callbacks.Callback):
    """Stops training when a *training* loss of the epoch is NaN or infinite.

    Only the ``watched`` keys (the trainer's own losses and metrics) are checked: validation
    values may legitimately be infinite (a pion rejection where no π⁰ passes). Place it before
    the :class:`~caloml.training.checkpoint.Checkpointer`, so the diverged epoch is not saved.

    Args:
        watched: keys of the epoch logs to check, e.g. the trainer's metric names.
        latest_checkpoint: returns the checkpoint kept (named in the message), or None.
        remedy: what the user can do, with flags that work as printed.
    """

    def __init__(self, watched: Sequence[str], latest_checkpoint: Callable[[], str | None],
                 remedy: str):
        super().__init__()
        self.watched = tuple(watched)
        self.latest_checkpoint = latest_checkpoint
        self.remedy = remedy

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        logs = logs or {}
        bad = {k: float(logs[k]) for k in self.watched
               if k in logs and not math.isfinite(float(logs[k]))}
        if bad:
            raise TrainingDiverged(
                f"training diverged in epoch {epoch + 1}: {bad}; the last good checkpoint "
                f"({self.latest_checkpoint() or 'none'}) is kept; {self.remedy}"
            )


class History(keras.callbacks.Callback):
    """Keeps the per-epoch logs in ``path`` as ``{"epochs": [...]}`` across restarts.

    Entries of epochs after the resumed epoch are dropped on start, so a resumed run continues
    the curve where the checkpoint left it. Infinite values are written as JSON null with a
    note (:func:`caloml.outputs.write_json`) and come back from :func:`read_history`.
    """

    def __init__(self, path: str, initial_epoch: int = 0):
        super().__init__()
        self.path = path
        self.entries = [e for e in read_history(path) if e["epoch"] <= initial_epoch]

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        entry = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        self.entries.append(entry)
        outputs.write_json(self.path, {"epochs": self.entries})


def read_history(path: str) -> list[dict[str, float]]:
    """The entries of a :class:`History` file, infinite values restored; [] if there is none."""
    if not os.path.exists(path):
        return []
    return outputs.read_json(path)["epochs"]


class ValidationMonitor(keras.callbacks.Callback):
    """Validates a network after each epoch and keeps the weights of its best epoch.

    ``evaluate(network)`` returns validation scalars (and optionally ``images`` [K, H, W, 1]
    for TensorBoard); they go to TensorBoard and into the epoch's logs as ``val_<key>``, so
    :class:`History` records them. The epoch with the lowest finite ``score`` is selected.
    Weights of the ``snapshot_epochs`` are kept as well (for figures of the training's course).

    The selection (epoch, scalars and a copy of the weights) is training state: ``state`` goes
    into the :class:`~caloml.training.checkpoint.Checkpointer` and is restored with it. Its
    files — the weights in ``best_weights_path`` and the epoch and scalars in
    ``selection_path`` — are published from the committed state only: when the next epoch
    begins, when training ends, and on start (which also repairs a run killed between its
    checkpoint and the publication). So they never name an epoch that a resumed run retrains,
    and the selected epoch is always one that ``history.json`` holds.

    Args:
        network: the network validated and saved (a generator, say); built. Create the
            monitor outside any ``tf.distribute`` strategy scope: its state is host-side
            (a multi-worker strategy cannot broadcast the string variable of the scalars).
        evaluate: ``f(network) -> dict`` of validation scalars, including ``score``.
        score: key of the scalar to minimise.
        best_weights_path: the selected epoch's weights (``.weights.h5``).
        selection_path: JSON with ``epoch`` and the selected epoch's scalars.
        log_dir: TensorBoard directory for the validation summaries.
        snapshots: ``{epoch: path}`` of extra weight files to write.
    """

    def __init__(self, network: keras.Model, evaluate: Callable[[keras.Model], dict], score: str,
                 best_weights_path: str, selection_path: str, log_dir: str,
                 snapshots: Mapping[int, str] | None = None):
        super().__init__()
        self.network = network
        self.evaluate = evaluate
        self.score = score
        self.best_weights_path = best_weights_path
        self.selection_path = selection_path
        self.snapshots = dict(snapshots or {})
        self.writer = tf.summary.create_file_writer(log_dir)
        self.state = tf.Module(name="selection")
        self.state.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.state.scalars = tf.Variable("{}", dtype=tf.string, trainable=False, name="scalars")
        self.state.weights = [tf.Variable(w, trainable=False, name=f"weight_{i}")
                              for i, w in enumerate(network.get_weights())]
        self._published = -1  # the epoch whose selection the files show; -1: not written yet

    @property
    def selection(self) -> dict:
        """The selected ``epoch`` (None before any) and its validation scalars."""
        epoch = int(self.state.epoch.numpy())
        scalars = outputs.from_json(json.loads(self.state.scalars.numpy().decode()))
        return {"epoch": epoch or None, self.score: math.inf, **scalars}

    def _save_weights(self, path: str) -> None:
        with outputs.atomic_path(path) as tmp:
            self.network.save_weights(tmp)

    def publish(self) -> None:
        """Writes the selection files from the state (removes stale ones if nothing is selected)."""
        selection = self.selection
        if selection["epoch"] == self._published:
            return
        if selection["epoch"] is None:
            for path in (self.selection_path, self.best_weights_path):
                if os.path.exists(path):
                    os.remove(path)
        else:
            current = self.network.get_weights()
            self.network.set_weights([w.numpy() for w in self.state.weights])
            try:
                self._save_weights(self.best_weights_path)
            finally:
                self.network.set_weights(current)
            outputs.write_json(self.selection_path, selection)
        self._published = selection["epoch"]

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.publish()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.publish()

    def on_train_end(self, logs: dict | None = None) -> None:
        self.publish()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        result = self.evaluate(self.network)
        images = result.pop("images", None)
        with self.writer.as_default(step=epoch + 1):
            for key, value in result.items():
                tf.summary.scalar(f"validation/{key}", value)
            if images is not None:
                scaled = images / max(float(np.max(images)), 1e-12)
                tf.summary.image("validation/examples", scaled, max_outputs=len(images))
        self.writer.flush()
        if logs is not None:
            logs.update({f"val_{k}": v for k, v in result.items()})
        if epoch + 1 in self.snapshots:
            self._save_weights(self.snapshots[epoch + 1])
        value = result[self.score]
        selection = self.selection
        if math.isfinite(value) and value < selection[self.score]:
            # In memory until the checkpoint commits it.
            self.state.epoch.assign(epoch + 1)
            self.state.scalars.assign(json.dumps(outputs.to_json(result)))
            for variable, weight in zip(self.state.weights, self.network.get_weights(),
                                        strict=True):
                variable.assign(weight)
            selection = self.selection
        logging.info("epoch %d: %s (selected epoch %s, %s %.4g)", epoch + 1,
                     ", ".join(f"{k} {v:.4g}" for k, v in result.items()),
                     selection["epoch"], self.score, selection[self.score])


class EpochProgress(keras.callbacks.Callback):
    """A progress bar per epoch, with its rate and ETA, and the epoch's losses at its end.

    For long epochs (a paper-scale SR-GAN epoch takes minutes on a GPU, hours on a CPU) instead
    of Keras' one line per epoch. Uses tqdm (on stderr), which also works in log files.

    Args:
        keys: log keys shown when an epoch ends.
    """

    def __init__(self, keys: Sequence[str] = ()):
        super().__init__()
        self.keys = tuple(keys)
        self.bar = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        total = self.params.get("steps")
        self.bar = tqdm(total=total, unit="step", desc=f"epoch {epoch + 1}/{self.params['epochs']}",
                        leave=True, smoothing=0.1)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.bar.update(1)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        self.bar.set_postfix({k: f"{float(logs[k]):.4g}" for k in self.keys if k in logs},
                             refresh=False)
        self.bar.close()
