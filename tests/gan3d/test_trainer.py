"""Gan3DTrainer: the loss against hand computations, the updates of one step, replicas."""

import json
import pathlib
import subprocess
import sys
import textwrap

import gan3d_tiny
import numpy as np
import pytest
import tensorflow as tf
from gan3d_tiny import ANGLEGAN, ENERGYGAN, batch, make_networks, tiny_gan

from caloml.gan3d import trainer

SUPPORT = pathlib.Path(gan3d_tiny.__file__).resolve().parent


def _bce_logit(label, logit):
    return np.maximum(logit, 0) - logit * label + np.log1p(np.exp(-np.abs(logit)))


def test_mape_is_keras_percentage_error_per_event():
    target = tf.constant([[2.0, 4.0], [1e-9, 1.0]])
    prediction = tf.constant([[1.0, 5.0], [1.0, 1.0]])
    # 100 · mean(|y − ŷ| / max(|y|, 1e-7)): (50% + 25%) / 2; (1 / 1e-7 · 100 + 0) / 2.
    np.testing.assert_allclose(trainer.mape(target, prediction).numpy(),
                               [37.5, 100 * (1 - 1e-9) / 1e-7 / 2], rtol=1e-5)


def test_the_loss_is_the_papers_weighted_sum_with_the_real_batchs_targets():
    generator, discriminator = make_networks(ANGLEGAN)
    gan = tiny_gan(ANGLEGAN, batch_size=2)
    model = trainer.Gan3DTrainer(generator, discriminator, gan)
    arrays = batch(ANGLEGAN, 2, seed=1)
    # No cell above 0.04: the first bin (cells > 0.05) is empty.
    arrays["ecal_power"] = np.minimum(arrays["ecal_power"], np.float32(0.04**0.85))
    data = {k: tf.constant(v) for k, v in arrays.items()}
    real = discriminator({"ecal_power": data["ecal_power"]}, training=False)
    targets = model.targets(data, real)
    # Bin counts of the real showers with empty bins set to 1 (hist_count).
    counts = real["bins"].numpy()
    assert (counts[:, 0] == 0).all()
    np.testing.assert_array_equal(targets["bins"].numpy(), np.maximum(counts, 1))
    np.testing.assert_allclose(targets["energy"].numpy(), data["energy"].numpy() / 100)
    outputs = {"real": tf.constant([[0.3], [-1.2]]), "energy": tf.constant([[1.2], [1.8]]),
               "ecal_sum": tf.constant([[80.0], [120.0]]),
               "angle": tf.constant([[1.5], [100.0]]),
               "bins": tf.ones((2, 8)) * 3.0}
    labels = tf.constant([1.0, 0.0])
    total, terms = model.loss_terms(outputs, labels, targets)
    e = data["energy"].numpy()[:, 0] / 100
    s = data["ecal_sum"].numpy()[:, 0]
    a = data["angle"].numpy()[:, 0]
    b = np.maximum(counts, 1)
    expected = {
        "real": _bce_logit(np.array([1.0, 0.0]), np.array([0.3, -1.2])),
        "energy": 100 * np.abs(e - [1.2, 1.8]) / e,
        "ecal_sum": 100 * np.abs(s - [80.0, 120.0]) / s,
        "angle": np.abs(a - [1.5, 100.0]),  # an empty shower's angle, 100, costs ~98 rad
        "bins": 100 * np.mean(np.abs(b - 3.0) / b, axis=1),
    }
    for name, value in expected.items():
        np.testing.assert_allclose(terms[name].numpy(), value, rtol=1e-5, err_msg=name)
    weights = dict(zip(("real", "energy", "angle", "ecal_sum", "bins"), (3, 0.1, 25, 0.1, 0.1),
                       strict=True))
    np.testing.assert_allclose(total.numpy(), sum(weights[k] * v for k, v in expected.items()),
                               rtol=1e-5)


def test_tf2_port_weights_leave_the_bin_term_out():
    generator, discriminator = make_networks(ANGLEGAN)
    gan = tiny_gan(ANGLEGAN, batch_size=2, loss_weights=(3, 0.1, 25, 0.1, 0))
    model = trainer.Gan3DTrainer(generator, discriminator, gan)
    outputs = {"real": tf.zeros((2, 1)), "energy": tf.ones((2, 1)),
               "ecal_sum": tf.ones((2, 1)), "angle": tf.ones((2, 1)), "bins": tf.zeros((2, 8))}
    targets = {"energy": tf.ones((2, 1)), "ecal_sum": tf.ones((2, 1)),
               "angle": tf.ones((2, 1)), "bins": tf.ones((2, 8))}
    total, terms = model.loss_terms(outputs, tf.ones(2), targets)
    assert terms["bins"].numpy() == pytest.approx([100.0, 100.0])
    np.testing.assert_allclose(total.numpy(), 3 * np.log(2.0), rtol=1e-6)


@pytest.mark.slow  # traces the whole step of the 25³ networks (~15 s)
def test_one_step_makes_two_discriminator_and_two_generator_updates():
    generator, discriminator = make_networks(ENERGYGAN)
    gan = tiny_gan(ENERGYGAN)
    model = trainer.Gan3DTrainer(generator, discriminator, gan)
    model.compile(*trainer.make_optimizers(gan))
    g0, d0 = generator.get_weights(), discriminator.get_weights()
    logs = model.train_on_batch(batch(ENERGYGAN), return_dict=True)
    assert set(logs) == set(trainer.METRIC_NAMES)  # no angle heads in the fixed-angle model
    assert int(model.discriminator_optimizer.iterations) == 2  # a real, then a fake batch
    assert int(model.generator_optimizer.iterations) == 2  # generator_steps
    assert any(not np.array_equal(a, b) for a, b in zip(g0, generator.get_weights(), strict=True))
    assert any(not np.array_equal(a, b)
               for a, b in zip(d0, discriminator.get_weights(), strict=True))
    assert all(np.isfinite(v) for v in logs.values())
    assert logs["generator_energy_mape"] > 0


def test_generator_step_changes_the_generator_only():
    generator, discriminator = make_networks(ENERGYGAN)
    gan = tiny_gan(ENERGYGAN, batch_size=2)
    model = trainer.Gan3DTrainer(generator, discriminator, gan)
    model.compile(*trainer.make_optimizers(gan))
    data = {k: tf.constant(v) for k, v in batch(ENERGYGAN, 2, seed=3).items()}
    targets = model.targets(data, {})
    d0 = [w.numpy() for w in discriminator.trainable_variables]
    g0 = [w.numpy() for w in generator.trainable_variables]
    model.generator_step(data["noise"][:, 1], data, targets)
    for before, after in zip(d0, discriminator.trainable_variables, strict=True):
        np.testing.assert_array_equal(before, after.numpy())
    assert any(not np.array_equal(b, a.numpy())
               for b, a in zip(g0, generator.trainable_variables, strict=True))


def test_the_angle_loss_reaches_the_generator_through_the_measured_angle():
    # Only the angle term weighted: the generator's gradient is the measured angle's.
    generator, discriminator = make_networks(ANGLEGAN)
    gan = tiny_gan(ANGLEGAN, batch_size=1, loss_weights=(1e-12, 0, 25, 0, 0))
    model = trainer.Gan3DTrainer(generator, discriminator, gan)
    data = {k: tf.constant(v) for k, v in batch(ANGLEGAN, 1, seed=4).items()}
    with tf.GradientTape() as tape:
        images = generator(model.generator_inputs(data["noise"][:, 1], data["energy"],
                                                  data["angle"]), training=True)["ecal_power"]
        outputs = discriminator({"ecal_power": images}, training=True)
        total, terms = model.loss_terms(outputs, tf.ones(1), model.targets(data, {}))
    grads = tape.gradient(total, generator.trainable_variables)
    assert terms["angle"].numpy()[0] < 3.2  # a shower with energy: a finite angle, not 100
    assert all(np.isfinite(g.numpy()).all() for g in grads if g is not None)
    assert any(float(tf.reduce_max(tf.abs(g))) > 0 for g in grads if g is not None)


MIRRORED_SCRIPT = textwrap.dedent("""
    import dataclasses, json, sys
    import keras
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, {support!r})
    from gan3d_tiny import ENERGYGAN, batch, make_networks, tiny_gan
    from caloml.gan3d import trainer

    # Dropout draws its masks per replica, so the replica-equivalence holds without it (batch
    # statistics are synchronised). SGD, not the paper's RMSprop: RMSprop's first step is
    # lr · g / |g| whatever the gradient's scale, so it would hide a loss N× too large.
    gan = tiny_gan(ENERGYGAN, batch_size=4)
    data = batch(ENERGYGAN, 4, seed=1)
    reference = [m.get_weights() for m in make_networks(ENERGYGAN, dropout=0.0)]
    result = {{}}
    for name, strategy in [("default", tf.distribute.get_strategy()),
                           ("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))]:
        with strategy.scope():
            nets = make_networks(ENERGYGAN, dropout=0.0)
            for net, weights in zip(nets, reference):
                net.set_weights(weights)
            model = trainer.Gan3DTrainer(*nets, gan)
            model.compile(keras.optimizers.SGD(1e-2), keras.optimizers.SGD(1e-2))
        ds = tf.data.Dataset.from_tensors(data).repeat()
        history = model.fit(ds, epochs=1, steps_per_epoch=1, verbose=0)
        updates = [after - before for net, weights in zip(nets, reference)
                   for after, before in zip(net.get_weights(), weights)]
        result[name] = {{
            "replicas": strategy.num_replicas_in_sync,
            "update_norm": float(np.sqrt(sum(np.sum(u.astype(np.float64) ** 2)
                                             for u in updates))),
            "updates": [u.ravel().tolist() for u in updates],
            "logs": {{k: float(v[-1]) for k, v in history.history.items()}},
        }}
    default, mirrored = result["default"], result["mirrored"]
    difference = np.sqrt(sum(np.sum((np.asarray(a) - np.asarray(b)) ** 2)
                             for a, b in zip(default["updates"], mirrored["updates"])))
    print(json.dumps({{"replicas": [default["replicas"], mirrored["replicas"]],
                      "update_norm": default["update_norm"],
                      "mirrored_update_norm": mirrored["update_norm"],
                      "difference_norm": float(difference),
                      "logs": [default["logs"], mirrored["logs"]]}}))
""")


@pytest.mark.slow
def test_mirrored_update_equals_single_device_update():
    # Untrained showers make percentage errors of 10⁴ %, so float32 rounding (the replicas sum
    # in another order; synchronised batch statistics are E[x²] − E[x]²) moves the update at the
    # 10⁻³ level; a loss averaged per replica instead of over the global batch would move it by
    # half its size.
    proc = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT.format(support=str(SUPPORT))],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["replicas"] == [1, 2]
    assert result["update_norm"] > 0
    assert result["mirrored_update_norm"] == pytest.approx(result["update_norm"], rel=1e-2)
    assert result["difference_norm"] < 1e-2 * result["update_norm"]
    default, mirrored = result["logs"]
    for key, value in default.items():
        assert mirrored[key] == pytest.approx(value, rel=1e-3, abs=1e-6), key
