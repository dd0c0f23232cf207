"""Divergence guard, history, validation monitor and progress bar, in real trainings."""

import json
import math
import os

import numpy as np
import pytest
import tensorflow as tf
from srgan_tiny import TINY, batch, tiny_networks

from caloml import outputs
from caloml.errors import TrainingDiverged
from caloml.srgan import trainer
from caloml.training import callbacks, checkpoint


def make(tmp_path):
    generator, critic, features = tiny_networks()
    model = trainer.SRGANTrainer(generator, critic, features, TINY)
    optimizers = trainer.make_optimizer(TINY), trainer.make_optimizer(TINY)
    model.compile(*optimizers)
    ckpt = checkpoint.Checkpointer(str(tmp_path / "ckpt"), generator=generator, critic=critic,
                                   generator_optimizer=optimizers[0],
                                   critic_optimizer=optimizers[1])
    return model, ckpt


def guard(ckpt):
    return callbacks.DivergenceGuard(trainer.METRIC_NAMES, lambda: ckpt.latest,
                                     remedy="rerun with a lower --learning_rate")


def epochs_then_nan(good_epochs):
    """A dataset whose batches turn NaN after ``good_epochs`` one-step epochs."""
    good, bad = batch(), batch()
    bad["hr"][:] = np.nan
    return tf.data.Dataset.from_tensor_slices(
        {k: np.stack([good[k]] * good_epochs + [bad[k]] * 3) for k in good})


def test_a_diverged_epoch_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    model, ckpt = make(tmp_path)
    history = callbacks.History(str(tmp_path / "history.json"))
    with pytest.raises(TrainingDiverged) as info:
        model.fit(epochs_then_nan(2), epochs=5, steps_per_epoch=1, verbose=0,
                  callbacks=[guard(ckpt), history, ckpt])
    message = str(info.value)
    assert "diverged in epoch 3" in message and "critic_loss" in message
    assert "ckpt-2" in message and "rerun with a lower --learning_rate" in message
    assert ckpt.latest.endswith("ckpt-2")
    assert [e["epoch"] for e in callbacks.read_history(str(tmp_path / "history.json"))] == [1, 2]


def test_infinite_validation_values_are_legitimate(tmp_path):
    """An infinite pion rejection (no π⁰ passes) neither stops training nor breaks the JSON."""
    model, ckpt = make(tmp_path)
    scores = iter([0.5, float("nan"), 0.2, 0.3])

    def evaluate(network):
        return {"score": next(scores), "rejection_at_0.9": math.inf}

    monitor = callbacks.ValidationMonitor(
        model.generator, evaluate, "score", str(tmp_path / "best.weights.h5"),
        str(tmp_path / "selection.json"), str(tmp_path / "logs"),
        snapshots={1: str(tmp_path / "epoch_1.weights.h5")})
    history_path = tmp_path / "history.json"
    ds = tf.data.Dataset.from_tensors(batch()).repeat()
    model.fit(ds, epochs=4, steps_per_epoch=1, verbose=0,
              callbacks=[monitor, guard(ckpt), callbacks.History(str(history_path)), ckpt])
    assert ckpt.latest.endswith("ckpt-4")
    # Strict JSON: the infinite values are null, listed by pointer, and come back on reading.
    raw = json.loads(history_path.read_text())
    assert raw["epochs"][0]["val_rejection_at_0.9"] is None
    assert raw["non_finite"]["/epochs/0/val_rejection_at_0.9"] == "inf"
    assert "Infinity" not in history_path.read_text()
    entries = callbacks.read_history(str(history_path))
    assert [e["val_rejection_at_0.9"] for e in entries] == [math.inf] * 4
    assert math.isnan(entries[1]["val_score"])
    # The lowest finite score is selected; the NaN epoch never is.
    assert outputs.read_json(tmp_path / "selection.json")["epoch"] == 3
    assert (tmp_path / "best.weights.h5").is_file() and (tmp_path / "epoch_1.weights.h5").is_file()


def test_history_drops_epochs_after_the_resumed_one(tmp_path):
    path = str(tmp_path / "history.json")
    outputs.write_json(path, {"epochs": [{"epoch": e, "loss": 1.0 / e} for e in (1, 2, 3)]})
    history = callbacks.History(path, initial_epoch=2)
    history.on_epoch_end(2, {"loss": 0.1})
    assert [e["epoch"] for e in callbacks.read_history(path)] == [1, 2, 3]
    assert callbacks.read_history(path)[-1]["loss"] == pytest.approx(0.1)


def test_epoch_progress_shows_each_epoch_with_its_losses(tmp_path, capsys):
    model, _ = make(tmp_path)
    ds = tf.data.Dataset.from_tensors(batch()).repeat()
    model.fit(ds, epochs=2, steps_per_epoch=3, verbose=0,
              callbacks=[callbacks.EpochProgress(("critic_loss",))])
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2" in err
    assert "3/3" in err and "critic_loss=" in err


def _monitored(tmp_path, scores):
    generator, critic, features = tiny_networks()
    model = trainer.SRGANTrainer(generator, critic, features, TINY)
    optimizers = trainer.make_optimizer(TINY), trainer.make_optimizer(TINY)
    model.compile(*optimizers)
    monitor = callbacks.ValidationMonitor(
        generator, lambda network: {"score": next(scores)}, "score",
        str(tmp_path / "best.weights.h5"), str(tmp_path / "selection.json"),
        str(tmp_path / "logs"))
    ckpt = checkpoint.Checkpointer(str(tmp_path / "ckpt"), generator=generator, critic=critic,
                                   generator_optimizer=optimizers[0],
                                   critic_optimizer=optimizers[1], selection=monitor.state)
    return model, monitor, ckpt


def _best_weights(tmp_path):
    """The weights in best.weights.h5, loaded into a tiny generator."""
    generator = tiny_networks()[0]
    generator.load_weights(tmp_path / "best.weights.h5")
    return generator.get_weights()


def test_the_selection_is_published_from_checkpointed_epochs_only(tmp_path):
    model, monitor, ckpt = _monitored(tmp_path, iter([0.5, 0.2, 0.1]))
    ds = tf.data.Dataset.from_tensors(batch()).repeat()
    model.fit(ds, epochs=2, steps_per_epoch=1, verbose=0, callbacks=[monitor, ckpt])
    epoch_2 = model.generator.get_weights()
    assert outputs.read_json(tmp_path / "selection.json") == {"epoch": 2, "score": 0.2}

    # Killed after validating epoch 3 (the best yet), before its checkpoint: the files still
    # describe epoch 2.
    model.generator.set_weights([w + 1.0 for w in epoch_2])
    monitor.on_epoch_end(2, {})
    assert monitor.selection["epoch"] == 3
    assert outputs.read_json(tmp_path / "selection.json")["epoch"] == 2
    for a, b in zip(_best_weights(tmp_path), epoch_2, strict=True):
        np.testing.assert_array_equal(a, b)

    # The rerun restores the selection with the checkpoint (epoch 2), files and weights.
    os.remove(tmp_path / "selection.json")  # as if killed between checkpoint and publication
    model, monitor, ckpt = _monitored(tmp_path, iter([0.3]))
    assert ckpt.restore() == 2
    assert monitor.selection == {"epoch": 2, "score": 0.2}
    monitor.on_train_begin()
    assert outputs.read_json(tmp_path / "selection.json") == {"epoch": 2, "score": 0.2}
    for a, b in zip(_best_weights(tmp_path), epoch_2, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_run_without_checkpoint_removes_a_stale_selection(tmp_path):
    outputs.write_json(tmp_path / "selection.json", {"epoch": 7, "score": 0.1})
    (tmp_path / "best.weights.h5").write_text("weights of a run that is gone")
    _, monitor, ckpt = _monitored(tmp_path, iter([]))
    assert ckpt.restore() == 0
    monitor.on_train_begin()
    assert not (tmp_path / "selection.json").exists()
    assert not (tmp_path / "best.weights.h5").exists()
