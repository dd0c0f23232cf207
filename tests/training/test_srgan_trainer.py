"""SR-GAN losses, trainer, distribution equivalence, checkpoints and NaN stop."""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from caloml import losses
from caloml.errors import TrainingDiverged
from caloml.training import callbacks, srgan

TINY = srgan.SRGANConfig(batch_size=8, critic_steps=2, lambda_per=0.3)


def tiny_networks(seed=0):
    """A 6×6 → 24×24 generator, a critic and a feature network, small enough for tests."""
    keras.utils.set_random_seed(seed)
    lr = keras.Input((6, 6, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="silu")(lr)
    x = keras.layers.UpSampling2D(4)(x)
    generator = keras.Model(lr, keras.layers.Conv2D(1, 3, padding="same", activation="relu")(x))
    hr = keras.Input((24, 24, 1))
    y = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="silu")(hr)
    y = keras.layers.LayerNormalization()(y)
    critic = keras.Model(hr, keras.layers.Dense(1)(keras.layers.Flatten()(y)))
    features = keras.Model(hr, keras.layers.Conv2D(3, 3, padding="same", activation="relu")(hr))
    return generator, critic, features


def batch(seed=0, config=TINY):
    rng = np.random.default_rng(seed)
    b, s = config.batch_size, config.critic_steps
    return {
        "lr": rng.random((b, s, 6, 6, 1), dtype=np.float32),
        "hr": rng.random((b, s, 24, 24, 1), dtype=np.float32),
        "gp_alpha": rng.random((b, s), dtype=np.float32),
    }


def test_losses_against_analytic_values():
    real, fake = tf.constant([[1.0], [2.0]]), tf.constant([[0.5], [3.0]])
    np.testing.assert_allclose(losses.wasserstein_critic_loss(real, fake), [-0.5, 1.0])
    np.testing.assert_allclose(losses.generator_adversarial_loss(fake), [-0.5, -3.0])
    # A linear critic C(x) = Σ w·x has ∇C = w everywhere: penalty (‖w‖ − 1)².
    for norm in (1.0, 2.0, 0.5):
        w = tf.fill((1, 4, 4, 1), norm / 4.0)  # ‖w‖ = norm over 16 entries of norm/4

        def critic(x, training=False, w=w):
            return tf.reduce_sum(x * w, axis=(1, 2, 3))

        x = tf.random.stateless_uniform((3, 4, 4, 1), seed=(1, 2))
        gp = losses.gradient_penalty(critic, x, x + 1.0, tf.constant([0.0, 0.5, 1.0]))
        np.testing.assert_allclose(gp, (norm - 1.0) ** 2, atol=1e-5)
    a, b = tf.ones((2, 3, 3, 2)), tf.zeros((2, 3, 3, 2))
    np.testing.assert_allclose(losses.perceptual_loss(a, b), [18.0, 18.0])


def test_perceptual_weights_of_the_paper():
    assert srgan.perceptual_weight(20.0) == 3e-2
    assert srgan.perceptual_weight(50.0) == 3e-1
    with pytest.raises(ValueError, match="set it explicitly for 35 GeV"):
        srgan.perceptual_weight(35.0)


def test_training_dataset_layout_and_reproducibility():
    n = 64
    lr = np.arange(n, dtype=np.float32)[:, None, None, None] * np.ones((1, 6, 6, 1), np.float32)
    hr = np.repeat(np.repeat(lr, 4, axis=1), 4, axis=2)
    first = next(iter(srgan.training_dataset(lr, hr, TINY, seed=3, shuffle_seed=4)))
    again = next(iter(srgan.training_dataset(lr, hr, TINY, seed=3, shuffle_seed=4)))
    assert first["lr"].shape == (8, 2, 6, 6, 1) and first["hr"].shape == (8, 2, 24, 24, 1)
    assert first["gp_alpha"].shape == (8, 2)
    alpha = first["gp_alpha"].numpy()
    assert ((alpha >= 0) & (alpha < 1)).all()
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    # LR and HR of an event stay together; the 16 events of a step are distinct.
    ids = first["lr"].numpy()[:, :, 0, 0, 0]
    np.testing.assert_array_equal(first["hr"].numpy()[:, :, 0, 0, 0], ids)
    assert len(np.unique(ids)) == 16
    with pytest.raises(ValueError, match="fewer than one step needs"):
        srgan.training_dataset(lr[:10], hr[:10], TINY, seed=0, shuffle_seed=0)


def test_one_step_updates_both_networks_and_reports_metrics():
    generator, critic, features = tiny_networks()
    trainer = srgan.SRGANTrainer(generator, critic, features, TINY)
    trainer.compile(TINY.optimizer(), TINY.optimizer())
    g0, c0, f0 = (m.get_weights() for m in (generator, critic, features))
    logs = trainer.train_on_batch(batch(), return_dict=True)
    assert set(logs) == set(srgan.METRIC_NAMES)
    assert all(np.isfinite(v) for v in logs.values())
    assert 0.0 <= logs["critic_accuracy"] <= 1.0
    assert any(not np.array_equal(a, b) for a, b in zip(g0, generator.get_weights(), strict=True))
    assert any(not np.array_equal(a, b) for a, b in zip(c0, critic.get_weights(), strict=True))
    # The perceptual network stays frozen.
    for a, b in zip(f0, features.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(trainer.critic_optimizer.iterations) == TINY.critic_steps
    assert int(trainer.generator_optimizer.iterations) == 1


MIRRORED_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, {tests!r})
    from training.test_srgan_trainer import TINY, batch, tiny_networks
    from caloml.training import srgan

    data = batch(seed=1)
    reference = [m.get_weights() for m in tiny_networks()]
    result = {{}}
    for name, strategy in [("default", tf.distribute.get_strategy()),
                           ("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))]:
        with strategy.scope():
            nets = tiny_networks()
            for net, weights in zip(nets, reference):
                net.set_weights(weights)
            trainer = srgan.SRGANTrainer(*nets, TINY)
            trainer.compile(TINY.optimizer(), TINY.optimizer())
        ds = tf.data.Dataset.from_tensors(data).repeat()
        history = trainer.fit(ds, epochs=1, steps_per_epoch=2, verbose=0)
        result[name] = {{
            "replicas": strategy.num_replicas_in_sync,
            "weights": [w.tolist() for net in nets[:2] for w in net.get_weights()],
            "logs": {{k: float(v[-1]) for k, v in history.history.items()}},
        }}
    print(json.dumps(result))
""")


@pytest.mark.slow
def test_mirrored_update_equals_single_device_update(tmp_path):
    import pathlib

    tests_dir = str(pathlib.Path(__file__).resolve().parents[1])
    script = MIRRORED_SCRIPT.format(tests=tests_dir)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["default"]["replicas"] == 1 and result["mirrored"]["replicas"] == 2
    for a, b in zip(result["default"]["weights"], result["mirrored"]["weights"], strict=True):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-4, atol=1e-6)
    for key, value in result["default"]["logs"].items():
        assert result["mirrored"]["logs"][key] == pytest.approx(value, rel=1e-4, abs=1e-6)


def test_checkpoint_resume_and_nan_stop(tmp_path):
    def make():
        generator, critic, features = tiny_networks()
        trainer = srgan.SRGANTrainer(generator, critic, features, TINY)
        g_opt, c_opt = TINY.optimizer(), TINY.optimizer()
        trainer.compile(g_opt, c_opt)
        ckpt = callbacks.Checkpointer(str(tmp_path / "ckpt"), generator=generator, critic=critic,
                                      generator_optimizer=g_opt, critic_optimizer=c_opt)
        return trainer, ckpt

    trainer, ckpt = make()
    assert ckpt.restore() == 0
    ds = tf.data.Dataset.from_tensors(batch()).repeat()
    history = callbacks.History(str(tmp_path / "history.json"))
    trainer.fit(ds, epochs=2, steps_per_epoch=1, verbose=0, callbacks=[history, ckpt])
    saved = [w.copy() for w in trainer.generator.get_weights()]

    resumed, ckpt2 = make()
    assert ckpt2.restore() == 2
    for a, b in zip(saved, resumed.generator.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(resumed.critic_optimizer.iterations) == 2 * TINY.critic_steps
    entries = json.loads((tmp_path / "history.json").read_text())
    assert [e["epoch"] for e in entries] == [1, 2]

    # A NaN loss stops training and keeps the last good checkpoint.
    latest = ckpt2.manager.latest_checkpoint
    with pytest.raises(TrainingDiverged, match="diverged in epoch 3.*last good checkpoint"):
        ckpt2.on_epoch_end(2, {"critic_loss": float("nan"), "generator_loss": 1.0})
    assert ckpt2.manager.latest_checkpoint == latest
    assert int(ckpt2.epoch.numpy()) == 2
