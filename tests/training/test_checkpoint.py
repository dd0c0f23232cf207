"""Checkpointer: every network, both optimizers and the epoch are saved and restored."""

import numpy as np
import pytest
import tensorflow as tf
from srgan_tiny import TINY, batch, tiny_networks

from caloml.srgan import trainer
from caloml.training import checkpoint


def make(directory, **kwargs):
    generator, critic, features = tiny_networks()
    model = trainer.SRGANTrainer(generator, critic, features, TINY)
    optimizers = trainer.make_optimizer(TINY), trainer.make_optimizer(TINY)
    model.compile(*optimizers)
    ckpt = checkpoint.Checkpointer(str(directory), generator=generator, critic=critic,
                                   generator_optimizer=optimizers[0],
                                   critic_optimizer=optimizers[1], **kwargs)
    return model, ckpt


def test_resume_restores_weights_optimizers_and_epoch(tmp_path):
    model, ckpt = make(tmp_path / "ckpt")
    assert ckpt.restore() == 0 and ckpt.latest is None
    ds = tf.data.Dataset.from_tensors(batch()).repeat()
    model.fit(ds, epochs=2, steps_per_epoch=1, verbose=0, callbacks=[ckpt])
    saved = [w.copy() for w in model.generator.get_weights()]
    assert ckpt.latest.endswith("ckpt-2")

    resumed, ckpt2 = make(tmp_path / "ckpt")
    assert ckpt2.restore() == 2
    for a, b in zip(saved, resumed.generator.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(resumed.critic_optimizer.iterations) == 2 * TINY.critic_steps
    assert int(resumed.generator_optimizer.iterations) == 2


def test_the_learning_rate_comes_back_from_the_checkpoint(tmp_path):
    """Why a resumed run must set a lowered learning rate after restoring (experiment.py)."""
    model, ckpt = make(tmp_path / "ckpt")
    ds = tf.data.Dataset.from_tensors(batch()).repeat()
    model.fit(ds, epochs=1, steps_per_epoch=1, verbose=0, callbacks=[ckpt])
    resumed, ckpt2 = make(tmp_path / "ckpt")
    resumed.generator_optimizer.learning_rate = 5e-5
    ckpt2.restore()
    assert float(resumed.generator_optimizer.learning_rate) == pytest.approx(TINY.learning_rate)


@pytest.mark.slow
def test_a_worker_writes_its_own_directory_but_resumes_from_the_chiefs(tmp_path):
    model, ckpt = make(tmp_path / "chief")
    ds = tf.data.Dataset.from_tensors(batch()).repeat()
    model.fit(ds, epochs=1, steps_per_epoch=1, verbose=0, callbacks=[ckpt])
    worker, ckpt2 = make(tmp_path / "worker", restore_directory=str(tmp_path / "chief"))
    assert ckpt2.restore() == 1
    worker.fit(ds, epochs=2, initial_epoch=1, steps_per_epoch=1, verbose=0, callbacks=[ckpt2])
    assert tf.train.latest_checkpoint(str(tmp_path / "worker")).endswith("ckpt-2")
    assert tf.train.latest_checkpoint(str(tmp_path / "chief")).endswith("ckpt-1")


def test_completed_epochs_and_partial_checkpoints_of_a_killed_run(tmp_path):
    directory = tmp_path / "ckpt"
    assert checkpoint.completed_epochs(str(directory)) == 0
    _, ckpt = make(directory)
    ckpt.on_epoch_end(2)
    assert checkpoint.completed_epochs(str(directory)) == 3
    # TensorFlow writes a checkpoint into "<prefix>_temp/" first: what a kill leaves.
    partial = directory / "ckpt-4_temp"
    partial.mkdir()
    (partial / "part-00000-of-00001.data-00000-of-00001").write_text("half")
    make(directory)
    assert not partial.exists()
    assert checkpoint.completed_epochs(str(directory)) == 3
