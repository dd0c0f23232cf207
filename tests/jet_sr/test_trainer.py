"""JetSRTrainer: the loss terms against analytic values, its updates, the warm-up, the second
discriminators' reset, checkpoints and mirrored replicas."""

import dataclasses
import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from caloml import errors
from caloml.jet_sr import config, networks, trainer

GENERATOR = config.GeneratorConfig(factor=2, num_rrdb=1, filters=4, dense_blocks=1,
                                   convs_per_dense_block=2)
DISCRIMINATOR = config.DiscriminatorConfig(filters=(4, 4))
GAN = config.JetSRConfig(batch_size=4, warmup_batches=0, reset_interval=0,
                         patch_sharpness=5.0)


def jet_batch(batch: int = 4, lr_size: int = 4, factor: int = 2, seed: int = 0) -> dict:
    """HR pT images (GeV) with ~40 % active pixels, their sum-pooled LR images and ε."""
    rng = np.random.default_rng(seed)
    shape = (batch, lr_size * factor, lr_size * factor, 1)
    hr = ((rng.random(shape) < 0.4) * rng.exponential(10.0, shape)).astype(np.float32)
    lr = hr.reshape(batch, lr_size, factor, lr_size, factor, 1).sum((2, 4))
    epsilon = rng.random((batch, 2)).astype(np.float32)
    return {"lr": lr, "hr": hr, "gp_epsilon": epsilon}


def make_trainer(gan=GAN, seed=0, run_eagerly=True, optimizers=None):
    """Tiny networks; eager steps by default (a traced step takes seconds to build; the
    mirrored test runs the traced step)."""
    keras.utils.set_random_seed(seed)
    generator = networks.JetSRGenerator(GENERATOR)
    discriminators = networks.make_discriminators(DISCRIMINATOR, gan.streams)
    model = trainer.JetSRTrainer(generator, discriminators, gan, seed=seed)
    model.compile(*(optimizers or trainer.make_optimizers(gan)), run_eagerly=run_eagerly)
    return model


def weights(networks_):
    return [w.copy() for network in networks_ for w in network.get_weights()]


def changed(before, after):
    return any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))


# ---------------------------------------------------------------------------- loss terms


def test_l1_and_safe_power():
    a = np.zeros((2, 2, 2, 1), np.float32)
    b = np.array([1, -3, 0, 0, 2, 2, 2, 2], np.float32).reshape(2, 2, 2, 1)
    np.testing.assert_allclose(trainer.l1_per_image(a, b), [1.0, 2.0])
    x = tf.constant([0.0, 1e-13, 8.0, 1.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = trainer.safe_power(x, 1 / 3)
    grad = tape.gradient(y, x).numpy()
    np.testing.assert_allclose(y.numpy(), [0.0, 0.0, 2.0, 1.0], rtol=1e-6)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, [0.0, 0.0, 1 / 12, 1 / 3], rtol=1e-5)  # (1/3) x^(-2/3)


def test_ragan_losses_on_known_logits():
    # One patch per image; two images per batch.
    c_real = np.array([2.0, 0.0], np.float32).reshape(2, 1, 1, 1)
    c_fake = np.array([-1.0, 1.0], np.float32).reshape(2, 1, 1, 1)
    mean_real, mean_fake = c_real.mean(0), c_fake.mean(0)  # 1 and 0

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    d_fake = sigmoid(c_fake[:, 0, 0, 0] - 1.0)  # D_G = σ(C_G − ⟨C⟩_T)
    d_real = sigmoid(c_real[:, 0, 0, 0] - 0.0)  # D_T = σ(C_T − ⟨C⟩_G)
    generator = trainer.ragan_generator_loss(c_real, c_fake, mean_real, mean_fake).numpy()
    discriminator = trainer.ragan_discriminator_loss(c_real, c_fake, mean_real, mean_fake).numpy()
    np.testing.assert_allclose(generator, -np.log(d_fake) - np.log(1 - d_real), rtol=1e-6)  # Eq 2
    np.testing.assert_allclose(discriminator, -np.log(1 - d_fake) - np.log(d_real), rtol=1e-6)
    # Example 0 by hand: D_G = σ(−2), D_T = σ(2), so −log σ(−2) − log(1 − σ(2)) = 2·softplus(2).
    assert generator[0] == pytest.approx(2 * np.log1p(np.exp(2.0)), rel=1e-6)
    # The losses average over the patch responses.
    four = np.repeat(np.repeat(c_real, 2, axis=1), 2, axis=2)
    fake4 = np.repeat(np.repeat(c_fake, 2, axis=1), 2, axis=2)
    np.testing.assert_allclose(
        trainer.ragan_generator_loss(four, fake4, four.mean(0), fake4.mean(0)), generator,
        rtol=1e-6)


def test_patch_map_counts_active_positions_in_each_patch():
    image = np.zeros((1, 4, 4, 1), np.float32)
    image[0, 0, 0] = image[0, 2, 0] = image[0, 2, 2] = 10.0  # top-left of three patches
    image[0, 1, 3] = 10.0  # bottom-right of the top-right patch
    image[0, 3, 3] = 0.2  # below the threshold
    maps = trainer.patch_map(image, 2, threshold=0.5, sharpness=100.0).numpy()
    np.testing.assert_allclose(maps[0], [[3 / 4, 0.0], [0.0, 1 / 4]], atol=1e-6)
    # A soft step: a pixel at the threshold counts one half.
    image[0, 3, 3] = 0.5
    maps = trainer.patch_map(image, 2, threshold=0.5, sharpness=100.0).numpy()
    np.testing.assert_allclose(maps[0, 1, 1], (1 + 0.5) / 4, atol=1e-6)


def test_gradient_penalty_vanishes_for_a_unit_gradient_critic():
    rng = np.random.default_rng(0)
    shape = (3, 4, 4, 1)
    w = rng.normal(size=shape[1:]).astype(np.float32)
    w /= np.linalg.norm(w)

    def linear(x, training=False):  # C(x) = Σ w·x in 4 patches; ∇ Σ_patches C = w, ‖w‖ = 1
        return tf.reshape(tf.reduce_sum(x * w, axis=(1, 2, 3)), (-1, 1, 1, 1)) * tf.ones(
            (1, 2, 2, 1)) / 4

    real, fake = (rng.random(shape).astype(np.float32) for _ in range(2))
    epsilon = np.array([0.0, 0.3, 1.0], np.float32)
    penalty = trainer.gradient_penalty(linear, real, fake, epsilon).numpy()
    np.testing.assert_allclose(penalty, 0.0, atol=1e-10)
    twice = trainer.gradient_penalty(lambda x, training=False: 2 * linear(x), real, fake, epsilon)
    np.testing.assert_allclose(twice, 1.0, rtol=1e-5)  # (‖2w‖ − 1)² = 1

    # C = ½ Σ x²: ∇ = X', so the penalty is (‖X'‖ − 1)² with X' = ε·real + (1 − ε)·fake.
    def quadratic(x, training=False):
        return 0.5 * tf.reduce_sum(x * x, axis=(1, 2, 3), keepdims=True)

    interpolate = epsilon[:, None, None, None] * real + (1 - epsilon[:, None, None, None]) * fake
    expected = (np.linalg.norm(interpolate.reshape(3, -1), axis=1) - 1) ** 2
    np.testing.assert_allclose(trainer.gradient_penalty(quadratic, real, fake, epsilon),
                               expected, rtol=1e-5)


def test_losses_of_one_batch_by_hand():
    """The std and pow streams with the default weights, against numpy."""
    model = make_trainer(dataclasses.replace(GAN, hr_loss="per_image"))
    data = jet_batch(seed=1)
    terms = {k: np.asarray(v) for k, v in model.compute_losses(data, training=False).items()}
    out = {k: v.numpy() for k, v in model.generator(data["lr"]).items()}
    p = GENERATOR.power
    sr, sr_p, hr, lr = out["sr"], out["sr_power"], data["hr"], data["lr"]
    sr_lr = sr.reshape(4, 4, 2, 4, 2, 1).sum((2, 4))
    hr_by_hand = (0.2 * np.abs(sr - hr).mean((1, 2, 3))
                  + 1.0 * np.abs(sr_p - hr ** p).mean((1, 2, 3)))
    lr_by_hand = (0.2 * np.abs(sr_lr - lr).mean((1, 2, 3))
                  + 1.0 * np.abs(sr_lr ** p - lr ** p).mean((1, 2, 3)))
    np.testing.assert_allclose(terms["hr"], hr_by_hand, rtol=1e-4)
    np.testing.assert_allclose(terms["lr"], lr_by_hand, rtol=1e-4)

    def patch(x):
        active = 1 / (1 + np.exp(-GAN.patch_sharpness * (x[..., 0] - GAN.patch_threshold)))
        return active.reshape(4, 4, 2, 4, 2).mean((0, 1, 3))

    patch_by_hand = (0.2 * np.mean((patch(sr) - patch(hr)) ** 2)
                     + np.mean((patch(sr_p) - patch(hr ** p)) ** 2))
    np.testing.assert_allclose(terms["patch"], patch_by_hand, rtol=1e-4)
    generator = (terms["hr"] + 0.1 * terms["lr"] + 0.01 * terms["adversarial"]
                 + 0.1 * terms["patch"])
    np.testing.assert_allclose(terms["generator"], generator, rtol=1e-6)
    np.testing.assert_allclose(terms["warmup"], np.abs(sr - hr).mean((1, 2, 3)), rtol=1e-5)
    # "batch_mean": the L1 distance of the batch-mean images, the same for every example.
    model.config = dataclasses.replace(GAN, hr_loss="batch_mean")
    batch_mean = np.asarray(model.compute_losses(data, training=False)["hr"])
    expected = (0.2 * np.abs(sr.mean(0) - hr.mean(0)).mean()
                + np.abs(sr_p.mean(0) - (hr ** p).mean(0)).mean())
    np.testing.assert_allclose(batch_mean, np.full(4, expected), rtol=1e-4)


# ---------------------------------------------------------------------------- training steps


def test_one_step_updates_every_network_and_reports_finite_losses():
    model = make_trainer()
    data = jet_batch()
    expected = {k: np.asarray(v) for k, v in model.compute_losses(data, training=True).items()}
    before = [weights([model.generator]), weights(model.first_discriminators()),
              weights(model.second_discriminators())]
    logs = model.train_on_batch(data, return_dict=True)
    assert set(logs) == set(trainer.METRIC_NAMES)
    assert all(np.isfinite(v) for v in logs.values())
    # The logs are the losses at the point where both gradients were taken (before the update).
    for name, key in (("generator_loss", "generator"), ("discriminator_loss", "discriminator"),
                      ("adversarial_loss", "adversarial"), ("patch_loss", "patch"),
                      ("gradient_penalty", "gradient_penalty")):
        assert logs[name] == pytest.approx(float(expected[key].mean()), rel=1e-4), name
    assert logs["generator_loss"] == pytest.approx(
        logs["hr_loss"] + 0.1 * logs["lr_loss"] + 0.01 * logs["adversarial_loss"]
        + 0.1 * logs["patch_loss"], rel=1e-5)
    after = [weights([model.generator]), weights(model.first_discriminators()),
             weights(model.second_discriminators())]
    assert all(changed(b, a) for b, a in zip(before, after, strict=True))
    assert [int(o.iterations) for o in (model.generator_optimizer, model.discriminator_optimizer,
                                        model.second_discriminator_optimizer)] == [1, 1, 1]
    # Without gp_epsilon in the batch, ε is drawn (stateless, by step): another penalty.
    data.pop("gp_epsilon")
    drawn = [float(np.mean(model.compute_losses(data)["gradient_penalty"])) for _ in range(2)]
    assert drawn[0] == drawn[1] and drawn[0] != pytest.approx(float(np.mean(
        model.compute_losses({**data, "gp_epsilon": jet_batch()["gp_epsilon"]})[
            "gradient_penalty"])), rel=1e-6)


def test_a_single_stream_needs_only_its_discriminators():
    gan = dataclasses.replace(GAN, lambda_std=0.0)
    model = make_trainer(gan)
    assert list(model.discriminators) == ["pow"]
    assert set(model.checkpoint_items()) == {
        "generator", "discriminator_pow", "second_discriminator_pow", "generator_optimizer",
        "discriminator_optimizer", "second_discriminator_optimizer"}
    logs = model.train_on_batch(jet_batch(), return_dict=True)
    assert np.isfinite(logs["generator_loss"])
    with pytest.raises(errors.InputError, match=r"no discriminators for the stream\(s\) std"):
        trainer.JetSRTrainer(model.generator, {"pow": model.discriminators["pow"]}, GAN)


def test_warmup_trains_the_generator_on_the_plain_l1_only():
    gan = dataclasses.replace(GAN, warmup_batches=1)
    model = make_trainer(gan)
    data = jet_batch(seed=2)
    sr = model.generator(data["lr"])["sr"].numpy()
    discriminators = model.first_discriminators() + model.second_discriminators()
    g0, d0 = weights([model.generator]), weights(discriminators)
    logs = model.train_on_batch(data, return_dict=True)
    assert logs["generator_loss"] == pytest.approx(float(np.abs(sr - data["hr"]).mean()),
                                                   rel=1e-5)
    assert changed(g0, weights([model.generator]))
    for a, b in zip(d0, weights(discriminators), strict=True):
        np.testing.assert_array_equal(a, b)  # no discriminator update during the warm-up
    d1 = weights(discriminators)
    model.train_on_batch(data, return_dict=True)  # batch 2: the GAN phase
    assert changed(d1, weights(discriminators))


def test_fit_ends_the_warmup_with_fresh_discriminator_optimizers():
    gan = dataclasses.replace(GAN, warmup_batches=2)
    model = make_trainer(gan)
    data = tf.data.Dataset.from_tensors(jet_batch()).repeat()
    model.fit(data, epochs=1, steps_per_epoch=3, verbose=0, shuffle=False)
    assert int(model.generator_optimizer.iterations) == 3
    # Reset after batch 2, then one real discriminator update.
    assert int(model.discriminator_optimizer.iterations) == 1
    assert int(model.second_discriminator_optimizer.iterations) == 1


def test_second_discriminators_reset_to_a_fresh_initialisation():
    gan = dataclasses.replace(GAN, reset_interval=3)
    model = make_trainer(gan)
    model.fit(tf.data.Dataset.from_tensors(jet_batch()).repeat(), epochs=1, steps_per_epoch=3,
              verbose=0, shuffle=False)
    # Batch 3 ended with a reset: trained biases are non-zero, fresh ones are zero.
    for first, second in model.discriminators.values():
        assert all(np.all(b == 0.0) for b in second.get_weights()[1::2])
        assert sum(np.count_nonzero(b) for b in first.get_weights()[1::2]) > 0
    assert int(model.second_discriminator_optimizer.iterations) == 0
    assert all(np.all(v.numpy() == 0) for v in model.second_discriminator_optimizer.variables
               if "learning_rate" not in v.path)
    assert float(model.second_discriminator_optimizer.learning_rate) == pytest.approx(1e-4)

    # The reset itself: the second discriminators get new Glorot kernels and zero biases; the
    # first discriminators and the generator are untouched; the same reset number gives the
    # same draw (a resumed run resets as an unbroken one), another number another one.
    model.train_on_batch(jet_batch(), return_dict=True)
    keep = weights([model.generator] + model.first_discriminators())
    trained = weights(model.second_discriminators())
    model.after_batch(4)  # not a multiple of 3: nothing happens
    for a, b in zip(trained, weights(model.second_discriminators()), strict=True):
        np.testing.assert_array_equal(a, b)
    model.after_batch(6)
    first_draw = weights(model.second_discriminators())
    for a, b in zip(keep, weights([model.generator] + model.first_discriminators()), strict=True):
        np.testing.assert_array_equal(a, b)
    for network in model.second_discriminators():
        for layer in network.layers:
            if isinstance(layer, keras.layers.Conv2D):
                kernel = layer.kernel.numpy()
                kh, kw, c_in, c_out = kernel.shape
                fan_in, fan_out = kh * kw * c_in, kh * kw * c_out
                assert np.abs(kernel).max() <= np.sqrt(6 / (fan_in + fan_out))
                assert np.all(layer.bias.numpy() == 0.0)
    assert all(not np.array_equal(a, b) for a, b in zip(trained, first_draw, strict=True)
               if a.ndim == 4)
    model.reset_second_discriminators(2)
    for a, b in zip(first_draw, weights(model.second_discriminators()), strict=True):
        np.testing.assert_array_equal(a, b)
    model.reset_second_discriminators(3)
    assert changed(first_draw, weights(model.second_discriminators()))


def test_checkpoint_items_restore_the_training_state(tmp_path):
    model = make_trainer()
    data = jet_batch()
    model.train_on_batch(data, return_dict=True)
    checkpoint = tf.train.Checkpoint(**model.checkpoint_items())
    path = checkpoint.save(str(tmp_path / "ckpt"))
    saved = weights([model.generator] + model.first_discriminators()
                    + model.second_discriminators())
    model.train_on_batch(data, return_dict=True)
    checkpoint.restore(path).assert_existing_objects_matched()
    for a, b in zip(saved, weights([model.generator] + model.first_discriminators()
                                   + model.second_discriminators()), strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(model.second_discriminator_optimizer.iterations) == 1


MIRRORED_SCRIPT = textwrap.dedent("""
    import json, sys
    import keras
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, {tests!r})
    import dataclasses
    import test_trainer as t
    from caloml.jet_sr import networks, trainer

    # SGD: Adam would blow float noise up to full steps in the weights whose gradient is
    # zero in exact arithmetic (the response biases). One warm-up batch, then two GAN batches.
    gan = dataclasses.replace(t.GAN, hr_loss={hr_loss!r}, warmup_batches=1)
    data = t.jet_batch(seed=5)
    sgd = lambda: [keras.optimizers.SGD(0.05) for _ in range(3)]
    reference = t.make_trainer(gan, run_eagerly=False, optimizers=sgd())
    nets = lambda m: [m.generator] + m.first_discriminators() + m.second_discriminators()
    initial = [n.get_weights() for n in nets(reference)]
    result = {{"initial": [w.tolist() for ws in initial for w in ws]}}
    for name, strategy in [("default", tf.distribute.get_strategy()),
                           ("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))]:
        with strategy.scope():
            model = t.make_trainer(gan, run_eagerly=False, optimizers=sgd())
            for net, w in zip(nets(model), initial):
                net.set_weights(w)
        ds = tf.data.Dataset.from_tensors(data).repeat()
        history = model.fit(ds, epochs=1, steps_per_epoch=3, verbose=0, shuffle=False)
        result[name] = {{
            "replicas": strategy.num_replicas_in_sync,
            "weights": [w.tolist() for net in nets(model) for w in net.get_weights()],
            "logs": {{k: float(v[-1]) for k, v in history.history.items()}},
        }}
    print(json.dumps(result))
""")


@pytest.mark.slow
@pytest.mark.parametrize("hr_loss", config.HR_LOSSES)
def test_mirrored_update_equals_single_device_update(hr_loss):
    """⟨C⟩, the patch maps and the batch-mean images are global-batch means: a per-replica
    mean would change the update."""
    script = MIRRORED_SCRIPT.format(tests=str(__import__("pathlib").Path(__file__).parent),
                                    hr_loss=hr_loss)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["default"]["replicas"] == 1 and result["mirrored"]["replicas"] == 2
    moved = [not np.allclose(a, b, rtol=1e-3, atol=1e-6) for a, b in
             zip(result["initial"], result["default"]["weights"], strict=True)]
    assert sum(moved) > len(moved) // 2  # the three networks were trained
    for a, b in zip(result["default"]["weights"], result["mirrored"]["weights"], strict=True):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-4, atol=1e-6)
    for key, value in result["default"]["logs"].items():
        assert result["mirrored"]["logs"][key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
