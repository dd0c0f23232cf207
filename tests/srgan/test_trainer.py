"""SRGANTrainer: its updates, its metrics, the input pipeline, and mirrored replicas."""

import dataclasses
import pathlib
import textwrap

import numpy as np
import pytest
import srgan_tiny
import tensorflow as tf
from mirrored import assert_mirrored_update_equals_single_device
from srgan_tiny import TINY, batch, tiny_networks

from caloml import errors
from caloml.srgan import trainer
from caloml.training import losses

SUPPORT = pathlib.Path(srgan_tiny.__file__).resolve().parent


def test_training_dataset_layout_and_reproducibility():
    n = 70  # 4 steps of 16 events per epoch; 6 dropped
    lr = np.arange(n, dtype=np.float32)[:, None, None, None] * np.ones((1, 6, 6, 1), np.float32)
    hr = np.repeat(np.repeat(lr, 4, axis=1), 4, axis=2)
    steps = trainer.steps_per_epoch(n, TINY)
    assert steps == 4
    first = list(trainer.training_dataset(lr, hr, TINY, seed=3).take(2 * steps))
    again = list(trainer.training_dataset(lr, hr, TINY, seed=3).take(2 * steps))
    assert first[0]["lr"].shape == (8, 2, 6, 6, 1) and first[0]["hr"].shape == (8, 2, 24, 24, 1)
    assert first[0]["gp_alpha"].shape == (8, 2)
    alpha = np.stack([b["gp_alpha"].numpy() for b in first])
    assert ((alpha >= 0) & (alpha < 1)).all() and len(np.unique(alpha)) == alpha.size
    for one, two in zip(first, again, strict=True):
        for key in one:
            np.testing.assert_array_equal(one[key], two[key])
    # LR and HR of an event stay together; an epoch sees 64 distinct events, and the next
    # epoch another order of them.
    ids = [np.concatenate([b["lr"].numpy()[:, :, 0, 0, 0].ravel() for b in first[e * 4:][:4]])
           for e in range(2)]
    np.testing.assert_array_equal(first[0]["hr"].numpy()[:, :, 0, 0, 0],
                                  first[0]["lr"].numpy()[:, :, 0, 0, 0])
    assert len(np.unique(ids[0])) == len(np.unique(ids[1])) == 64
    assert not np.array_equal(ids[0], ids[1])
    # A dataset started at epoch 1 (a resume) gives exactly the batches of epoch 1 (order and
    # α), whatever came before.
    resumed = list(trainer.training_dataset(lr, hr, TINY, seed=3, first_epoch=1).take(steps))
    for one, two in zip(first[steps:], resumed, strict=True):
        for key in one:
            np.testing.assert_array_equal(one[key], two[key])
    other = next(iter(trainer.training_dataset(lr, hr, TINY, seed=4)))
    assert not np.array_equal(other["lr"], first[0]["lr"])
    with pytest.raises(errors.InputError, match="fewer than one step needs"):
        trainer.training_dataset(lr[:10], hr[:10], TINY, seed=0)


def test_one_step_reports_the_critics_view_and_updates_both_networks():
    """With one critic step, the logged accuracy and Wasserstein estimate are those of the
    critic before its update on this batch, scoring HR against the generator's SR images."""
    gan = dataclasses.replace(TINY, critic_steps=1)
    generator, critic, features = tiny_networks()
    model = trainer.SRGANTrainer(generator, critic, features, gan)
    model.compile(trainer.make_optimizer(gan), trainer.make_optimizer(gan))
    data = batch(gan=gan)
    real = critic(data["hr"][:, 0]).numpy()[:, 0]
    fake = critic(generator(data["lr"][:, 0])).numpy()[:, 0]
    g0, c0, f0 = (m.get_weights() for m in (generator, critic, features))
    logs = model.train_on_batch(data, return_dict=True)
    assert set(logs) == set(trainer.METRIC_NAMES)
    assert logs["critic_accuracy"] == pytest.approx(np.mean(real > fake))
    assert logs["wasserstein"] == pytest.approx(np.mean(real - fake), rel=1e-5, abs=1e-6)
    assert logs["adversarial_loss"] != 0.0 and logs["perceptual_loss"] > 0.0
    assert any(not np.array_equal(a, b) for a, b in zip(g0, generator.get_weights(), strict=True))
    assert any(not np.array_equal(a, b) for a, b in zip(c0, critic.get_weights(), strict=True))
    # The perceptual network stays frozen.
    for a, b in zip(f0, features.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(model.critic_optimizer.iterations) == 1
    assert int(model.generator_optimizer.iterations) == 1


def test_critic_loss_is_the_global_batch_mean_of_eq_2():
    generator, critic, features = tiny_networks()
    model = trainer.SRGANTrainer(generator, critic, features, TINY)
    model.compile(trainer.make_optimizer(TINY), trainer.make_optimizer(TINY))
    data = batch(seed=4)
    hr, sr, alpha = data["hr"][:, 0], generator(data["lr"][:, 0]), data["gp_alpha"][:, 0]
    expected = (losses.wasserstein_critic_loss(critic(hr), critic(sr))
                + TINY.lambda_gp * losses.gradient_penalty(critic, hr, sr, alpha))
    model.critic_step(tf.constant(hr), sr, tf.constant(alpha))
    assert float(model.trackers["critic_loss"].result()) == pytest.approx(
        float(np.mean(expected)), rel=1e-5)


MIRRORED_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, {support!r})
    from srgan_tiny import TINY, batch, tiny_networks
    from caloml.srgan import trainer

    data = batch(seed=1)
    reference = [m.get_weights() for m in tiny_networks()]
    result = {{}}
    for name, strategy in [("default", tf.distribute.get_strategy()),
                           ("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))]:
        with strategy.scope():
            nets = tiny_networks()
            for net, weights in zip(nets, reference):
                net.set_weights(weights)
            model = trainer.SRGANTrainer(*nets, TINY)
            model.compile(trainer.make_optimizer(TINY), trainer.make_optimizer(TINY))
        ds = tf.data.Dataset.from_tensors(data).repeat()
        history = model.fit(ds, epochs=1, steps_per_epoch=2, verbose=0)
        result[name] = {{
            "replicas": strategy.num_replicas_in_sync,
            "weights": [w.tolist() for net in nets[:2] for w in net.get_weights()],
            "logs": {{k: float(v[-1]) for k, v in history.history.items()}},
        }}
    print(json.dumps(result))
""")


@pytest.mark.slow
def test_mirrored_update_equals_single_device_update():
    assert_mirrored_update_equals_single_device(MIRRORED_SCRIPT.format(support=str(SUPPORT)))
