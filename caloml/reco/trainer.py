"""Multi-task training of the reconstruction networks (paper 003 §5, §5.2).

:class:`RecoTrainer` is the one training loop: a ``keras.Model`` holding a network, with a
``train_step`` that minimises, per event, ``w_class · CE(class) + w_energy · (E' − E)² +
w_direction · mean((d' − d)²)`` (paper §5: binary cross entropy + 200 × MSE of the energy, in
units of 100 GeV; the direction terms are Triforce's η/φ outputs, weight 0 in the paper). Every
per-event loss is reduced with ``tf.nn.compute_average_loss`` over the global batch, so the
update is the same on one device and under ``MirroredStrategy``. With ``micro_batch`` set
(GoogLeNet: the paper split each batch of 1000 into 100 mini-batches of 10 for GPU memory,
§5.2), the gradients of the micro-batches are summed before one update.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from caloml.reco.config import LossWeights

# What RecoTrainer reports per epoch (the divergence guard watches the training ones).
METRIC_NAMES = ("loss", "class_loss", "energy_loss", "direction_loss", "accuracy")


class RecoTrainer(keras.Model):
    """Trains a reconstruction network on batches ``(inputs, targets)``.

    ``inputs`` is the network's input dict; ``targets`` holds ``label`` [B] int32, ``energy``
    [B, 1] and ``direction`` [B, 2] (:func:`caloml.data.reco.network_arrays`).

    Args:
        network: a network of :mod:`caloml.reco.networks` (outputs ``logits`` [B, 2],
            ``energy`` [B, 1], ``direction`` [B, 2]).
        weights: the loss weights.
        global_batch_size: events per update over all replicas.
        micro_batch: if set, events per forward/backward pass; the gradients of the
            ``global_batch_size / replicas / micro_batch`` passes of a replica are summed.
    """

    def __init__(self, network: keras.Model, weights: LossWeights, global_batch_size: int,
                 micro_batch: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.network = network
        self.loss_weights_ = weights
        self.global_batch_size = global_batch_size
        self.micro_batch = micro_batch
        self.trackers = {name: keras.metrics.Mean(name=name) for name in METRIC_NAMES}

    def compile(self, optimizer: keras.optimizers.Optimizer, **kwargs) -> None:
        super().compile(optimizer=optimizer, **kwargs)
        # Built now, inside the strategy scope, so no variable is created in a replica context.
        optimizer.build(self.network.trainable_variables)
        self.built = True

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        return self.network(inputs, training=training)

    def per_event_losses(self, inputs, targets, training: bool) -> dict[str, tf.Tensor]:
        """The loss terms per event ([B] each) and the weighted total ``loss``."""
        out = self.network(inputs, training=training)
        label = tf.cast(tf.reshape(targets["label"], [-1]), tf.int32)
        logits = tf.cast(out["logits"], tf.float32)
        terms = {
            "class_loss": tf.nn.sparse_softmax_cross_entropy_with_logits(label, logits),
            "energy_loss": tf.reduce_sum(
                tf.square(tf.cast(out["energy"], tf.float32) - targets["energy"]), axis=1),
            "direction_loss": tf.reduce_mean(
                tf.square(tf.cast(out["direction"], tf.float32) - targets["direction"]), axis=1),
        }
        w = self.loss_weights_
        terms["loss"] = (w.classification * terms["class_loss"] + w.energy * terms["energy_loss"]
                         + w.direction * terms["direction_loss"])
        terms["accuracy"] = tf.cast(tf.equal(tf.argmax(logits, axis=1, output_type=tf.int32),
                                             label), tf.float32)
        return terms

    def _update_trackers(self, terms: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        for name, tracker in self.trackers.items():
            tracker.update_state(terms[name])
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def _gradients(self, inputs, targets):
        variables = self.network.trainable_variables
        with tf.GradientTape() as tape:
            terms = self.per_event_losses(inputs, targets, training=True)
            loss = tf.nn.compute_average_loss(terms["loss"],
                                              global_batch_size=self.global_batch_size)
        return tape.gradient(loss, variables), terms

    def train_step(self, data):
        inputs, targets, _ = keras.utils.unpack_x_y_sample_weight(data)
        variables = self.network.trainable_variables
        if not self.micro_batch:
            grads, terms = self._gradients(inputs, targets)
        else:
            grads, terms = self._accumulated_gradients(inputs, targets)
        self.optimizer.apply_gradients(zip(grads, variables, strict=True))
        return self._update_trackers(terms)

    def _accumulated_gradients(self, inputs, targets):
        """Sums the gradients of consecutive micro-batches of this replica's batch.

        A ``tf.while_loop`` (Keras compiles ``train_step`` without AutoGraph), so one graph
        holds one micro-batch's forward and backward pass whatever the batch size.
        """
        size = self.micro_batch
        batch = tf.shape(targets["label"])[0]
        num = (batch + size - 1) // size
        variables = self.network.trainable_variables

        def body(i, grads, collected):
            start, stop = i * size, tf.minimum((i + 1) * size, batch)
            micro_inputs = {k: v[start:stop] for k, v in inputs.items()}
            micro_targets = {k: v[start:stop] for k, v in targets.items()}
            step_grads, terms = self._gradients(micro_inputs, micro_targets)
            grads = [g + s for g, s in zip(grads, step_grads, strict=True)]
            collected = [array.write(i, terms[name])
                         for array, name in zip(collected, METRIC_NAMES, strict=True)]
            return i + 1, grads, collected

        start = (tf.constant(0), [tf.zeros_like(v) for v in variables],
                 [tf.TensorArray(tf.float32, size=num, infer_shape=False)
                  for _ in METRIC_NAMES])
        _, grads, collected = tf.while_loop(lambda i, *_: i < num, body, start)
        # Per-event values of every micro-batch, [batch] each (a known rank for the trackers).
        return grads, {name: tf.reshape(array.concat(), [-1])
                       for name, array in zip(METRIC_NAMES, collected, strict=True)}

    def test_step(self, data):
        inputs, targets, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self._update_trackers(self.per_event_losses(inputs, targets, training=False))


def make_optimizer(learning_rate: float, decay: float = 0.0) -> keras.optimizers.Optimizer:
    """Adam; ``decay`` is the paper's "decay rate" (§5.2), PyTorch Adam's L2 ``weight_decay``
    in Triforce (REFERENCES.md §3.2), added to the gradient as ``decay · w``.

    Keras' AdamW decays decoupled from the gradient, which is another algorithm; the L2 term
    is added by :class:`L2Adam` instead.
    """
    if decay:
        return L2Adam(learning_rate=learning_rate, l2=decay)
    return keras.optimizers.Adam(learning_rate=learning_rate)


@keras.saving.register_keras_serializable(package="caloml")
class L2Adam(keras.optimizers.Adam):
    """Adam with PyTorch's coupled ``weight_decay``: the gradient becomes ``g + l2 · w``."""

    def __init__(self, l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.l2 = l2

    def update_step(self, gradient, variable, learning_rate):
        gradient = gradient + keras.ops.cast(self.l2, gradient.dtype) * variable
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "l2": self.l2}
