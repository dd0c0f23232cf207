"""RecoTrainer: its per-event losses, micro-batch accumulation, L2 Adam and mirrored replicas."""

import pathlib
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from mirrored import assert_mirrored_update_equals_single_device

from caloml.reco import config, networks, trainer

TINY = config.DNNConfig(hidden_layers=1, units=8, dropout=0.0, hcal_window=3)


def tiny_network(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return networks.build_network("dnn", TINY)


def tiny_batch(n: int = 8, seed: int = 1):
    rng = np.random.default_rng(seed)
    inputs = {"ecal": rng.gamma(0.3, 0.01, (n, 25, 25, 25, 1)).astype(np.float32),
              "hcal": rng.gamma(0.3, 0.01, (n, 3, 3, 60, 1)).astype(np.float32),
              "scalars": rng.normal(0.0, 1.0, (n, 4)).astype(np.float32)}
    targets = {"label": rng.integers(0, 2, n).astype(np.int32),
               "energy": rng.uniform(0.02, 5.0, (n, 1)).astype(np.float32),
               "direction": rng.normal(0.0, 1.0, (n, 2)).astype(np.float32)}
    return inputs, targets


def test_per_event_losses_are_cross_entropy_plus_weighted_squared_errors():
    network = tiny_network()
    weights = config.LossWeights(classification=1.0, energy=200.0, direction=10.0)
    model = trainer.RecoTrainer(network, weights, global_batch_size=8)
    inputs, targets = tiny_batch()
    terms = {k: v.numpy() for k, v in model.per_event_losses(inputs, targets, False).items()}
    out = network(inputs, training=False)
    logits = out["logits"].numpy().astype(np.float64)
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    ce = -log_softmax[np.arange(8), targets["label"]]
    energy = (out["energy"].numpy()[:, 0] - targets["energy"][:, 0]) ** 2
    direction = ((out["direction"].numpy() - targets["direction"]) ** 2).mean(axis=1)
    np.testing.assert_allclose(terms["class_loss"], ce, rtol=1e-5)
    np.testing.assert_allclose(terms["energy_loss"], energy, rtol=1e-5)
    np.testing.assert_allclose(terms["direction_loss"], direction, rtol=1e-5)
    np.testing.assert_allclose(terms["loss"], ce + 200 * energy + 10 * direction, rtol=1e-5)
    np.testing.assert_array_equal(terms["accuracy"],
                                  (logits.argmax(axis=1) == targets["label"]).astype(np.float32))


def _one_step(micro_batch):
    network = tiny_network(seed=3)
    model = trainer.RecoTrainer(network, config.LossWeights(), 8, micro_batch=micro_batch)
    model.compile(trainer.make_optimizer(1e-3))
    inputs, targets = tiny_batch()
    ds = tf.data.Dataset.from_tensors((inputs, targets))
    history = model.fit(ds, epochs=1, verbose=0)
    return network.get_weights(), history.history


def test_summed_micro_batch_gradients_give_the_full_batch_update():
    whole, whole_logs = _one_step(None)
    micro, micro_logs = _one_step(2)
    for a, b in zip(whole, micro, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
    for key in trainer.METRIC_NAMES:
        assert micro_logs[key][0] == pytest.approx(whole_logs[key][0], rel=1e-5)
    # And the update moved the weights at all.
    start = tiny_network(seed=3).get_weights()
    assert max(np.abs(a - s).max() for a, s in zip(whole, start, strict=True)) > 1e-5


def test_l2_adam_adds_the_coupled_weight_decay_to_the_gradient():
    variable = keras.Variable(np.array([2.0, -1.0], np.float32))
    plain = keras.Variable(np.array([2.0, -1.0], np.float32))
    gradient = np.array([0.5, 0.5], np.float32)
    decayed = trainer.make_optimizer(0.1, decay=0.01)
    assert isinstance(decayed, trainer.L2Adam)
    decayed.apply_gradients([(tf.constant(gradient), variable)])
    adam = keras.optimizers.Adam(0.1)
    adam.apply_gradients([(tf.constant(gradient + 0.01 * np.array([2.0, -1.0])), plain)])
    np.testing.assert_allclose(variable.numpy(), plain.numpy(), rtol=1e-6)
    assert isinstance(trainer.make_optimizer(0.1), keras.optimizers.Adam)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(decayed))
    assert isinstance(restored, trainer.L2Adam) and restored.l2 == pytest.approx(0.01)


MIRRORED_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path[:0] = [{tests!r}, {support!r}]
    from test_trainer import tiny_batch, tiny_network
    from caloml.reco import config, trainer

    data = tiny_batch()
    reference = tiny_network(seed=5).get_weights()
    result = {{}}
    for name, strategy in [("default", tf.distribute.get_strategy()),
                           ("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))]:
        with strategy.scope():
            network = tiny_network(seed=5)
            network.set_weights(reference)
            model = trainer.RecoTrainer(network, config.LossWeights(), 8, micro_batch=2)
            model.compile(trainer.make_optimizer(1e-3))
        ds = tf.data.Dataset.from_tensors(data).repeat()
        history = model.fit(ds, epochs=1, steps_per_epoch=2, verbose=0)
        result[name] = {{
            "replicas": strategy.num_replicas_in_sync,
            "weights": [w.tolist() for w in network.get_weights()],
            "logs": {{k: float(v[-1]) for k, v in history.history.items()}},
        }}
    print(json.dumps(result))
""")


@pytest.mark.slow
def test_mirrored_update_equals_single_device_update():
    here = pathlib.Path(__file__).resolve().parent
    assert_mirrored_update_equals_single_device(
        MIRRORED_SCRIPT.format(tests=str(here), support=str(here.parent / "support")))
