"""CaloGANTrainer: its updates and losses, the input pipeline, and mirrored replicas."""

import dataclasses
import pathlib
import textwrap

import calogan_tiny
import numpy as np
import pytest
import tensorflow as tf
from calogan_tiny import TINY, batch, showers, tiny_networks
from mirrored import assert_mirrored_update_equals_single_device

from caloml import errors
from caloml.calogan import trainer
from caloml.calogan.config import LAYER_KEYS

SUPPORT = pathlib.Path(calogan_tiny.__file__).resolve().parent


def _bce_logit(label, logit):
    return np.maximum(logit, 0) - logit * label + np.log1p(np.exp(-np.abs(logit)))


def test_training_dataset_layout_and_reproducibility():
    data = showers(37, seed=1)
    data["energy"] = np.arange(37, dtype=np.float32)[:, None]  # an id per shower
    steps = trainer.steps_per_epoch(37, TINY)
    assert steps == 4
    first = list(trainer.training_dataset(data, TINY, latent_dim=8, seed=3).take(2 * steps))
    again = list(trainer.training_dataset(data, TINY, latent_dim=8, seed=3).take(2 * steps))
    b = first[0]
    assert b["layer_0"].shape == (8, 3, 96) and b["energy"].shape == (8, 1)
    assert b["noise"].shape == (8, 3, 8) and b["fake_energy"].shape == (8, 3, 1)
    assert b["fake_particle"].shape == (8, 3) and b["fake_particle_target"].shape == (8,)
    energies = np.stack([x["fake_energy"].numpy() for x in first])
    assert energies.min() >= 1.0 and energies.max() < 100.0 and energies.std() > 20
    for one, two in zip(first, again, strict=True):
        for key in one:
            np.testing.assert_array_equal(one[key], two[key])
    # The images travel with their shower; an epoch sees 32 distinct showers.
    ids = np.concatenate([x["energy"].numpy()[:, 0] for x in first[:steps]]).astype(int)
    assert len(np.unique(ids)) == 32
    np.testing.assert_array_equal(first[0]["layer_2"].numpy(),
                                  data["layer_2"][first[0]["energy"].numpy()[:, 0].astype(int)])
    # A resumed dataset (first_epoch=1) gives the batches of epoch 1, draws included.
    resumed = list(trainer.training_dataset(data, TINY, 8, seed=3, first_epoch=1).take(steps))
    for one, two in zip(first[steps:], resumed, strict=True):
        for key in one:
            np.testing.assert_array_equal(one[key], two[key])
    # One particle: no class flips.
    np.testing.assert_array_equal(b["fake_particle_target"], b["fake_particle"][:, 0])
    with pytest.raises(errors.InputError, match="fewer than one batch"):
        trainer.training_dataset({k: v[:5] for k, v in data.items()}, TINY, 8, seed=0)


def test_acgan_flips_a_third_of_the_fake_class_labels():
    gan = dataclasses.replace(TINY, batch_size=512, num_classes=3)
    data = showers(600, seed=0, num_classes=3)
    b = next(iter(trainer.training_dataset(data, gan, latent_dim=4, seed=0)))
    target, drawn = b["fake_particle_target"].numpy(), b["fake_particle"].numpy()[:, 0]
    assert set(np.unique(drawn)) == {0, 1, 2}
    flipped = target != drawn
    assert 0.25 < flipped.mean() < 0.35  # bit_flip(…, 0.3)
    assert set(np.unique(target)) == {0, 1, 2}


@pytest.mark.slow  # traces the whole step (~20 s)
def test_one_step_makes_two_discriminator_and_two_generator_updates():
    generator, discriminator = tiny_networks()
    model = trainer.CaloGANTrainer(generator, discriminator, TINY)
    model.compile(*trainer.make_optimizers(TINY))
    data = batch()
    g0, d0 = generator.get_weights(), discriminator.get_weights()
    logs = model.train_on_batch(data, return_dict=True)
    assert set(logs) == set(trainer.METRIC_NAMES)
    assert int(model.discriminator_optimizer.iterations) == 2  # all-real, then all-fake batch
    assert int(model.generator_optimizer.iterations) == 2  # generator_steps
    assert any(not np.array_equal(a, b) for a, b in zip(g0, generator.get_weights(), strict=True))
    assert any(not np.array_equal(a, b)
               for a, b in zip(d0, discriminator.get_weights(), strict=True))
    assert logs["generator_energy_error_gev"] > 0


def test_discriminator_real_loss_is_bce_plus_lambda_e_energy_error():
    generator, discriminator = tiny_networks()
    model = trainer.CaloGANTrainer(generator, discriminator, TINY)
    model.compile(*trainer.make_optimizers(TINY))
    data = batch(seed=2)
    images = {key: tf.constant(data[key]) for key in LAYER_KEYS}
    energy = tf.constant(data["energy"])
    out = discriminator({**images, "energy": energy}, training=True)
    logit = out["real"].numpy()[:, 0]
    total = sum(data[key].reshape(8, -1).sum(axis=1) for key in LAYER_KEYS)
    expected = _bce_logit(1.0, logit) + 0.05 * np.abs(data["energy"][:, 0] - total)
    model.discriminator_step(images, energy, True, tf.constant(data["particle"]))
    assert float(model.trackers["discriminator_real_loss"].result()) == pytest.approx(
        float(np.mean(expected)), rel=1e-5)
    accuracy = float(model.trackers["discriminator_real_accuracy"].result())
    assert accuracy == pytest.approx(np.mean(logit > 0))


def test_generator_step_changes_the_generator_only():
    generator, discriminator = tiny_networks()
    model = trainer.CaloGANTrainer(generator, discriminator, TINY)
    model.compile(*trainer.make_optimizers(TINY))
    data = batch(seed=3)
    d0 = [w.numpy() for w in discriminator.trainable_variables]
    g0 = [w.numpy() for w in generator.trainable_variables]
    model.generator_step(tf.constant(data["noise"][:, 1]), tf.constant(data["fake_energy"][:, 1]),
                         tf.constant(data["fake_particle"][:, 1]))
    for before, after in zip(d0, discriminator.trainable_variables, strict=True):
        np.testing.assert_array_equal(before, after.numpy())
    assert any(not np.array_equal(b, a.numpy())
               for b, a in zip(g0, generator.trainable_variables, strict=True))


@pytest.mark.slow  # traces the whole step (~20 s)
def test_acgan_step_reports_class_losses():
    gan = dataclasses.replace(TINY, num_classes=2)
    generator, discriminator = tiny_networks(num_classes=2)
    model = trainer.CaloGANTrainer(generator, discriminator, gan)
    model.compile(*trainer.make_optimizers(gan))
    logs = model.train_on_batch(batch(gan=gan), return_dict=True)
    assert set(logs) == set(trainer.METRIC_NAMES + trainer.CLASS_METRIC_NAMES)
    assert logs["discriminator_class_loss"] > 0 and logs["generator_class_loss"] > 0


MIRRORED_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, {support!r})
    from calogan_tiny import TINY, batch, tiny_networks
    from caloml.calogan import trainer

    # Minibatch discrimination compares a shower with its replica's share of the batch, so the
    # replica-equivalence holds without it (batch statistics are synchronised).
    options = dict(minibatch=False, sparsity_minibatch=False, energy_features=False)
    data = batch(seed=1)
    reference = [m.get_weights() for m in tiny_networks(**options)]
    result = {{}}
    for name, strategy in [("default", tf.distribute.get_strategy()),
                           ("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))]:
        with strategy.scope():
            nets = tiny_networks(**options)
            for net, weights in zip(nets, reference):
                net.set_weights(weights)
            model = trainer.CaloGANTrainer(*nets, TINY)
            model.compile(*trainer.make_optimizers(TINY))
        ds = tf.data.Dataset.from_tensors(data).repeat()
        history = model.fit(ds, epochs=1, steps_per_epoch=2, verbose=0)
        result[name] = {{
            "replicas": strategy.num_replicas_in_sync,
            "weights": [w.tolist() for net in nets for w in net.get_weights()],
            "logs": {{k: float(v[-1]) for k, v in history.history.items()}},
        }}
    print(json.dumps(result))
""")


@pytest.mark.slow
def test_mirrored_update_equals_single_device_update():
    assert_mirrored_update_equals_single_device(MIRRORED_SCRIPT.format(support=str(SUPPORT)))
