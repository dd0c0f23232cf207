"""The CALPAGAN benchmark: settings, inputs, the hand-written step against the trainer, timings."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from caloml import errors
from caloml.calpagan import benchmark, config, networks, trainer

SMALL_G = config.GeneratorConfig(hidden_channels=2)


@pytest.mark.parametrize("fields, message", [
    ({"processes": ("zjets",)}, "processes"),
    ({"workers": (0,)}, "workers"),
    ({"batch_sizes": ()}, "batch_sizes"),
    ({"num_events": 0}, "num_events"),
    ({"train_batch_size": 0}, "train_batch_size"),
])
def test_settings_refuse_bad_values(fields, message):
    with pytest.raises(errors.InputError, match=message):
        benchmark.BenchmarkSettings(**fields)


def test_random_events_are_sparse_positive_and_seeded():
    images = benchmark.random_events(3, seed=4, towers_per_event=50)
    assert images.shape == (3, 72, 72) and images.dtype == np.float32
    lit = (images > 0).reshape(3, -1).sum(axis=1)
    assert np.all((lit > 40) & (lit <= 50))  # 50 draws, a few on the same tower
    np.testing.assert_array_equal(images, benchmark.random_events(3, seed=4, towers_per_event=50))


@pytest.mark.slow
def test_handwritten_step_makes_the_trainers_update():
    # The original code's discriminator: no condition, rectified fakes (the paper's is the
    # trainer tests' default).
    discriminator = config.DiscriminatorConfig(hidden_channels=2, conditional=False,
                                               relu_fakes=True)
    training = config.TrainingConfig(batch_size=4, lambda_l1=50.0)
    keras.utils.set_random_seed(3)
    generator = networks.UNetGenerator(SMALL_G)
    critic = networks.PatchDiscriminator(discriminator)
    fast = benchmark.random_events(4, seed=5)
    condition, target, _ = networks.normalise_pair(fast, 0.7 * fast, training.normalisation)
    rng = np.random.default_rng(6)
    batch = {"condition": tf.constant(condition[..., None]),
             "target": tf.constant(target[..., None]),
             "noise": tf.constant(rng.random((4, 72, 72, 1), np.float32))}
    start = [v.numpy() for v in generator.weights + critic.weights]

    model = trainer.CalpaganTrainer(generator, critic, training)
    model.compile(*trainer.make_optimizers(training))
    model.train_on_batch(batch)
    by_trainer = [v.numpy() for v in generator.weights + critic.weights]

    for variable, value in zip(generator.weights + critic.weights, start, strict=True):
        variable.assign(value)
    d_loss, g_loss = benchmark.handwritten_train_step(generator, critic, training)(batch)
    by_hand = [v.numpy() for v in generator.weights + critic.weights]
    assert np.isfinite(float(d_loss)) and np.isfinite(float(g_loss))
    changed = [not np.allclose(a, b) for a, b in zip(start, by_hand, strict=True)]
    assert sum(changed) > len(changed) // 2  # both networks moved
    for a, b in zip(by_trainer, by_hand, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-6)


def test_inference_rows_report_time_and_fraction_of_the_matmul():
    keras.utils.set_random_seed(1)
    model = networks.FastToDetailed(networks.UNetGenerator(SMALL_G))
    rows = benchmark.benchmark_inference(model, (1, 3), flops_per_event=1e6, repeats=1,
                                         min_seconds=0.01, seed=2, matmul_size=64)
    assert [r["batch_size"] for r in rows] == [1, 3]
    for row in rows:
        assert row["ms_per_event"] == pytest.approx(1e3 * row["seconds_per_batch"]
                                                    / row["batch_size"])
        assert row["flops_per_s"] == pytest.approx(1e6 * row["events_per_s"])
        assert row["fraction_of_matmul"] == pytest.approx(row["flops_per_s"]
                                                          / row["matmul_flops_per_s"])


def test_components_time_pythia_and_both_renderings_of_the_same_events():
    result = benchmark.time_components("dijet", 6, seed=3)
    assert result["num_events"] == 6 and result["particles_per_event"] > 50
    for name in ("pythia", "fast", "detailed", "truth"):
        assert result[name]["ms_per_event"] == pytest.approx(
            1e3 * result[name]["seconds"] / 6)
    assert result["pythia"]["initialisation_seconds"] > 0
