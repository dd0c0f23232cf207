"""CalpaganTrainer: losses against analytic values, the order of the two updates, the noise,
the divergence guard and resume through fit_adversarial, and mirrored replicas."""

import dataclasses
import pathlib
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from mirrored import assert_mirrored_update_equals_single_device

from caloml.calpagan import config, networks, trainer
from caloml.errors import TrainingDiverged
from caloml.training import adversarial, callbacks

# 12×12 images: 12 → 6 → 2 → 6 → 12; 3×3 patch maps.
GENERATOR = config.GeneratorConfig(hidden_channels=2, pool_sizes=(2, 3), upsampling=(3, 2))
DISCRIMINATOR = config.DiscriminatorConfig(hidden_channels=2, num_blocks=2)
TRAINING = config.TrainingConfig(batch_size=4)


def batch(size: int = 4, seed: int = 0, noise: bool = True) -> dict:
    """Normalised pairs: sparse fast images divided by their maxima, detailed ones smeared."""
    rng = np.random.default_rng(seed)
    fast = (rng.random((size, 12, 12)) < 0.2) * rng.exponential(10.0, (size, 12, 12))
    fast[:, 0, 0] += 1.0  # no empty event
    detailed = fast * rng.uniform(0.5, 1.5, fast.shape)
    x, y, _ = networks.normalise_pair(fast, detailed, "per_image")
    out = {"condition": x[..., None], "target": y[..., None]}
    if noise:
        out["noise"] = rng.random((size, 12, 12, 1)).astype(np.float32)
    return out


def make_trainer(discriminator=DISCRIMINATOR, training=TRAINING, seed=0, run_eagerly=True,
                 optimizers=None):
    keras.utils.set_random_seed(seed)
    generator = networks.UNetGenerator(GENERATOR)
    model = trainer.CalpaganTrainer(generator, networks.PatchDiscriminator(discriminator),
                                    training, seed=seed)
    model.compile(*(optimizers or trainer.make_optimizers(training)), run_eagerly=run_eagerly)
    return model


def weights(network):
    return [w.copy() for w in network.get_weights()]


def changed(before, after):
    return any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def softplus(x):
    return np.log1p(np.exp(x))


# ---------------------------------------------------------------------------- losses


def test_patch_bce_and_l1_by_hand():
    logits = np.array([[2.0, -1.0], [0.0, 0.0]], np.float32).reshape(2, 1, 2, 1)
    # BCE with logits: −log σ(l) = softplus(−l) for label 1; −log(1 − σ(l)) = softplus(l) for 0.
    np.testing.assert_allclose(trainer.patch_bce(logits, 1.0),
                               [(softplus(-2.0) + softplus(1.0)) / 2, np.log(2.0)], rtol=1e-6)
    np.testing.assert_allclose(trainer.patch_bce(logits, 0.0),
                               [(softplus(2.0) + softplus(-1.0)) / 2, np.log(2.0)], rtol=1e-6)
    a = np.zeros((2, 2, 2, 1), np.float32)
    b = np.array([1, -3, 0, 0, 2, 2, 2, 2], np.float32).reshape(2, 2, 2, 1)
    np.testing.assert_allclose(trainer.l1_per_example(a, b), [1.0, 2.0])


@pytest.mark.parametrize("variant", ["paper", "original_code"])
def test_losses_of_one_batch_by_hand(variant):
    discriminator = dataclasses.replace(
        DISCRIMINATOR, **{k: getattr(config.variant(variant)["discriminator"], k)
                          for k in ("conditional", "relu_fakes")})
    model = make_trainer(discriminator)
    data = batch(seed=1)
    x, y = data["condition"], data["target"]
    generated = model.generator(np.concatenate([x, data["noise"]], -1)).numpy()
    assert generated.min() < 0  # so that the ReLU of the original code's fakes matters
    d = model.discriminator
    if variant == "paper":  # Eq. 1: D(x, y) and D(x, G(x, z))
        real_logits = d(np.concatenate([x, y], -1)).numpy()
        fake_logits = d(np.concatenate([x, generated], -1)).numpy()
    else:  # the original code: D(y) and D(ReLU(G(x, z)))
        real_logits = d(y).numpy()
        fake_logits = d(np.maximum(generated, 0.0)).numpy()
    real, fake = real_logits.reshape(4, -1), fake_logits.reshape(4, -1)
    expected_d = 0.5 * (softplus(-real).mean(1) + softplus(fake).mean(1))
    np.testing.assert_allclose(model.discriminator_loss(x, y, generated, training=False),
                               expected_d, rtol=1e-5)
    terms = model.generator_losses(x, y, generated, training=False)
    adversarial_term = softplus(-fake).mean(1)
    l1 = np.abs(y - generated).mean((1, 2, 3))  # unrectified, also in the original code
    np.testing.assert_allclose(terms["adversarial"], adversarial_term, rtol=1e-5)
    np.testing.assert_allclose(terms["l1"], l1, rtol=1e-5)
    np.testing.assert_allclose(terms["total"], adversarial_term + 100.0 * l1, rtol=1e-5)


# ---------------------------------------------------------------------------- steps


def test_one_step_updates_d_first_then_g_against_the_updated_d():
    model = make_trainer()
    data = batch(seed=2)
    x, y = data["condition"], data["target"]
    g0, d0 = weights(model.generator), weights(model.discriminator)
    # The generator in training mode (batch statistics), as in the step.
    generated = model.generator(np.concatenate([x, data["noise"]], -1), training=True).numpy()
    expected_d = float(np.mean(model.discriminator_loss(x, y, generated)))
    logs = model.train_on_batch(data, return_dict=True)
    assert set(logs) == set(trainer.METRIC_NAMES)
    assert logs["discriminator_loss"] == pytest.approx(expected_d, rel=1e-5)
    # The generator's loss was taken with the discriminator already updated (pix2pix).
    after_d = model.generator_losses(x, y, generated)
    assert logs["generator_loss"] == pytest.approx(float(np.mean(after_d["total"])), rel=1e-5)
    assert logs["adversarial_loss"] == pytest.approx(float(np.mean(after_d["adversarial"])),
                                                     rel=1e-5)
    assert logs["generator_loss"] == pytest.approx(
        logs["adversarial_loss"] + 100.0 * logs["l1_loss"], rel=1e-5)
    assert changed(g0, weights(model.generator)) and changed(d0, weights(model.discriminator))
    assert int(model.generator_optimizer.iterations) == 1
    assert int(model.discriminator_optimizer.iterations) == 1
    assert all(np.isfinite(v) for v in logs.values())


def test_noise_is_drawn_from_the_seed_generator():
    model = make_trainer(seed=3)
    condition = batch()["condition"]
    first, second = model.noise(condition).numpy(), model.noise(condition).numpy()
    assert first.shape == (4, 12, 12, 1) and 0.0 <= first.min() and first.max() < 1.0
    assert abs(first.mean() - 0.5) < 0.05 and not np.array_equal(first, second)
    again = make_trainer(seed=3).noise(condition).numpy()
    np.testing.assert_array_equal(first, again)  # the seed fixes the sequence
    other = make_trainer(seed=4).noise(condition).numpy()
    assert not np.allclose(first, other)
    # Without noise in the batch the step draws it: the state moves on by one draw.
    state = model.noise_generator.state.numpy().copy()
    logs = model.train_on_batch(batch(noise=False), return_dict=True)
    assert np.isfinite(logs["generator_loss"])
    assert model.noise_generator.state.numpy()[1] == state[1] + 1


# ---------------------------------------------------------------------------- fit, guard, resume


def run(tmp_path, epochs, data):
    """fit_adversarial as the experiment runs it (eager steps: no tracing in this test)."""

    def build():
        model = make_trainer()
        return model.generator, model.discriminator, model

    def dataset(first_epoch):
        return tf.data.Dataset.from_tensor_slices(
            {k: np.stack([b[k] for b in data[first_epoch:]]) for k in data[0]})

    return adversarial.fit_adversarial(
        build, distribution=tf.distribute.get_strategy(), out=str(tmp_path),
        workdir=str(tmp_path), epochs=epochs, make_dataset=dataset,
        steps_per_epoch=lambda: 1, progress_metrics=("generator_loss",), progress=False,
        describe=lambda first: f"from epoch {first + 1}")


@pytest.mark.slow  # three fits with checkpoints and TensorBoard logs (~7 s)
def test_resume_and_divergence_guard(tmp_path):
    good = [batch(seed=s, noise=False) for s in range(4)]
    generator = run(tmp_path, 2, good)
    history = callbacks.read_history(str(tmp_path / "history.json"))
    assert [e["epoch"] for e in history] == [1, 2]
    trained = weights(generator)
    # Resuming restores both networks, both optimizers and the noise state (two draws).
    restored = {}

    def build_only():
        model = make_trainer(seed=9)  # another initialisation: the checkpoint must win
        restored["model"] = model
        return model.generator, model.discriminator, model

    adversarial.fit_adversarial(
        build_only, distribution=tf.distribute.get_strategy(), out=str(tmp_path),
        workdir=str(tmp_path), epochs=2, make_dataset=None, steps_per_epoch=None,
        progress_metrics=(), progress=False, describe=str)
    model = restored["model"]
    for a, b in zip(trained, weights(model.generator), strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(model.discriminator_optimizer.iterations) == 2
    assert model.noise_generator.state.numpy().tolist() == [0, 2]
    # A NaN batch in epoch 4: the guard stops it and keeps the checkpoint of epoch 3.
    bad = batch(seed=5, noise=False)
    bad["target"][:] = np.nan
    with pytest.raises(TrainingDiverged) as failure:
        run(tmp_path, 5, good[:3] + [bad, bad])
    message = str(failure.value)
    assert "diverged in epoch 4" in message and "generator_loss" in message
    assert "ckpt-3" in message and "rerun the same command to resume" in message
    assert [e["epoch"] for e in callbacks.read_history(str(tmp_path / "history.json"))] == [
        1, 2, 3]


MIRRORED_SCRIPT = textwrap.dedent("""
    import json, sys
    import keras
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path[:0] = [{tests!r}, {support!r}]
    import dataclasses
    import test_trainer as t
    from caloml.calpagan import config

    # SGD: Adam would blow float noise up to full steps in the weights whose gradient is zero
    # in exact arithmetic (the biases of convolutions before a normalisation); a small step,
    # as λ_L1 = 100 makes the generator's gradients (and their rounding noise) large. No noise
    # in the batches: each replica takes its share of the global batch's draws.
    # Glorot kernels: with N(0, 0.02²) ones the activations are tiny and the batch/instance
    # normalisations (ε = 1e-5) amplify the replicas' different summation order.
    t.GENERATOR = dataclasses.replace(t.GENERATOR, init_stddev=None)
    discriminator = dataclasses.replace(t.DISCRIMINATOR, init_stddev=None, **{{k: getattr(
        config.variant({variant!r})["discriminator"], k) for k in ("conditional", "relu_fakes")}})
    data = t.batch(seed=5, noise=False)
    sgd = lambda: [keras.optimizers.SGD(0.01) for _ in range(2)]
    reference = t.make_trainer(discriminator, run_eagerly=False, optimizers=sgd())
    nets = lambda m: [m.generator, m.discriminator]
    initial = [n.get_weights() for n in nets(reference)]
    result = {{}}
    for name, strategy in [("default", tf.distribute.get_strategy()),
                           ("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))]:
        with strategy.scope():
            model = t.make_trainer(discriminator, run_eagerly=False, optimizers=sgd())
            for net, w in zip(nets(model), initial):
                net.set_weights(w)
        ds = tf.data.Dataset.from_tensors(data).repeat()
        history = model.fit(ds, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)
        result[name] = {{
            "replicas": strategy.num_replicas_in_sync,
            "weights": [w.tolist() for net in nets(model) for w in net.get_weights()],
            "logs": {{k: float(v[-1]) for k, v in history.history.items()}},
        }}
    print(json.dumps(result))
""")


@pytest.mark.slow  # ~20 s: two traced fits in a fresh process
def test_mirrored_update_equals_single_device_update():
    """The paper's variant (the original code's differs in what D sees, not in how the
    replicas share the batch, the noise and the batch statistics)."""
    here = pathlib.Path(__file__).resolve().parent
    script = MIRRORED_SCRIPT.format(tests=str(here), support=str(here.parent / "support"),
                                    variant="paper")
    assert_mirrored_update_equals_single_device(script)
