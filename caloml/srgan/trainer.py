"""Adversarial training of the SR-GAN for SR-γ (paper 000, sections 3–4).

:class:`SRGANTrainer` is the one training loop: a ``keras.Model`` holding the generator, the
critic and the frozen perceptual-feature network, with a ``train_step`` that makes
``critic_steps`` WGAN-GP critic updates and one generator update per step. ``fit`` wraps it in
``tf.function`` and, inside ``strategy.scope()``, in ``strategy.run``; every loss is reduced
with ``tf.nn.compute_average_loss`` over the global batch, so the update is the same on one
device and under ``MirroredStrategy`` (tested).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from caloml.errors import InputError
from caloml.srgan.config import SRGANConfig
from caloml.training import losses

# What SRGANTrainer reports per epoch: its training losses and metrics (the divergence guard
# watches exactly these).
METRIC_NAMES = (
    "critic_loss", "wasserstein", "gradient_penalty", "critic_accuracy",
    "generator_loss", "adversarial_loss", "perceptual_loss",
)


def make_optimizer(config: SRGANConfig) -> keras.optimizers.Optimizer:
    """Adam with the paper's settings (§4), one for each network."""
    return keras.optimizers.Adam(config.learning_rate, beta_1=config.beta_1,
                                 beta_2=config.beta_2)


class SRGANTrainer(keras.Model):
    """WGAN-GP training of an SR generator with a physics perceptual loss.

    Each batch holds ``critic_steps`` mini-batches side by side: ``lr`` [B, steps, 6, 6, 1],
    ``hr`` [B, steps, 24, 24, 1] and ``gp_alpha`` [B, steps] (the per-example α of the gradient
    penalty, drawn by the input pipeline from a seeded stateless generator), where mini-batch k
    is ``[:, k]``. A strategy splits the batch axis over replicas, so each replica holds its
    share of every mini-batch and the updates do not depend on the number of replicas. The
    critic is updated on every mini-batch (Eq. 2), then the generator on the last one (Eq. 3).

    Args:
        generator: LR → SR network.
        critic: SR/HR → score network.
        features: frozen network mapping HR/SR images to the perceptual features Φ.
        config: loss weights, steps and global batch size.
    """

    def __init__(self, generator: keras.Model, critic: keras.Model, features: keras.Model,
                 config: SRGANConfig, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.critic = critic
        self.features = features
        self.features.trainable = False
        self.config = config
        self.trackers = {name: keras.metrics.Mean(name=name) for name in METRIC_NAMES}

    def compile(self, generator_optimizer: keras.optimizers.Optimizer,
                critic_optimizer: keras.optimizers.Optimizer, **kwargs) -> None:
        # Keras' own `optimizer` slot holds the generator's (what callbacks such as
        # TensorBoard report); both are built now, inside the strategy scope, so no variable is
        # created in the replica context, and Keras has nothing left to build symbolically.
        super().compile(optimizer=generator_optimizer, **kwargs)
        self.generator_optimizer = generator_optimizer
        self.critic_optimizer = critic_optimizer
        generator_optimizer.build(self.generator.trainable_variables)
        critic_optimizer.build(self.critic.trainable_variables)
        self.built = True

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.trackers.values())

    def call(self, lr, training=False):
        return self.generator(lr, training=training)

    def _average(self, per_example: tf.Tensor) -> tf.Tensor:
        return tf.nn.compute_average_loss(per_example, global_batch_size=self.config.batch_size)

    def critic_step(self, hr: tf.Tensor, sr: tf.Tensor, alpha: tf.Tensor) -> None:
        """One critic update on a mini-batch of HR and SR images (Eq. 2)."""
        with tf.GradientTape() as tape:
            real = self.critic(hr, training=True)
            fake = self.critic(sr, training=True)
            distance = losses.wasserstein_critic_loss(real, fake)
            penalty = losses.gradient_penalty(self.critic, hr, sr, alpha)
            per_example = distance + self.config.lambda_gp * penalty
            loss = self._average(per_example)
        grads = tape.gradient(loss, self.critic.trainable_variables)
        self.critic_optimizer.apply_gradients(
            zip(grads, self.critic.trainable_variables, strict=True)
        )
        self.trackers["critic_loss"].update_state(per_example)
        self.trackers["wasserstein"].update_state(-distance)
        self.trackers["gradient_penalty"].update_state(penalty)
        accurate = ops.cast(ops.reshape(real, (-1,)) > ops.reshape(fake, (-1,)), "float32")
        self.trackers["critic_accuracy"].update_state(accurate)

    def generator_step(self, lr: tf.Tensor, hr: tf.Tensor) -> None:
        """One generator update on a mini-batch (Eq. 3)."""
        target = self.features(hr, training=False)
        with tf.GradientTape() as tape:
            sr = self.generator(lr, training=True)
            adversarial = losses.generator_adversarial_loss(self.critic(sr, training=False))
            perceptual = losses.perceptual_loss(target, self.features(sr, training=False))
            per_example = (self.config.lambda_adv * adversarial
                           + self.config.lambda_per * perceptual)
            loss = self._average(per_example)
        grads = tape.gradient(loss, self.generator.trainable_variables)
        self.generator_optimizer.apply_gradients(
            zip(grads, self.generator.trainable_variables, strict=True)
        )
        self.trackers["generator_loss"].update_state(per_example)
        self.trackers["adversarial_loss"].update_state(adversarial)
        self.trackers["perceptual_loss"].update_state(perceptual)

    def train_step(self, data):
        data, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        lr, hr, alpha = data["lr"], data["hr"], data["gp_alpha"]
        # The generator is fixed during the critic steps: one call makes all their SR images.
        steps = self.config.critic_steps
        flat_lr = tf.reshape(lr, tf.concat([[-1], tf.shape(lr)[2:]], axis=0))
        sr = self.generator(flat_lr, training=False)
        sr = tf.reshape(sr, tf.concat([[-1, steps], tf.shape(sr)[1:]], axis=0))
        for k in range(steps):
            self.critic_step(hr[:, k], sr[:, k], alpha[:, k])
        self.generator_step(lr[:, -1], hr[:, -1])
        return {name: tracker.result() for name, tracker in self.trackers.items()}


def steps_per_epoch(num_events: int, config: SRGANConfig) -> int:
    """Training steps of one epoch: each event seen once by the critic, the remainder dropped."""
    return num_events // (config.critic_steps * config.batch_size)


def training_dataset(lr, hr, config: SRGANConfig, seed: int, first_epoch: int = 0
                     ) -> tf.data.Dataset:
    """Endless, shuffled batches for :class:`SRGANTrainer`, with ``gp_alpha``.

    Every event is used once per epoch by the critic (the last ``len(lr) mod (critic_steps ×
    batch_size)`` events of each epoch's order are dropped). The order of epoch ``e`` is a
    permutation drawn from the stateless seed ``(seed, e)`` and the α of step ``s`` from
    ``(seed, s)``, so the batches of any epoch are the same whether the run started at epoch 0
    or resumed at ``first_epoch``; nothing of the input pipeline needs to be checkpointed.

    Args:
        lr: [N, 6, 6, 1] pre-processed LR windows (numpy, held in memory: ~2.5 kB per event).
        hr: [N, 24, 24, 1] pre-processed HR windows.
        config: training configuration.
        seed: seed of the data order and the α draws.
        first_epoch: the epoch to start at (the completed epochs, on resume).
    """
    size = config.critic_steps * config.batch_size
    if len(lr) < size:
        raise InputError(
            f"{len(lr)} training events are fewer than one step needs "
            f"({config.critic_steps} critic steps × batch {config.batch_size})"
        )
    steps, batch = config.critic_steps, config.batch_size
    num_steps = steps_per_epoch(len(lr), config)
    lr, hr = tf.constant(lr), tf.constant(hr)
    seed = tf.constant(seed, tf.int64)

    def epoch_order(epoch):
        keys = tf.random.stateless_uniform([len(lr)], seed=tf.stack([seed, epoch]))
        return tf.data.Dataset.from_tensor_slices(tf.argsort(keys)[: num_steps * size])

    def gather(step, index):
        # index: [batch, steps]; mini-batch k of the step is index[:, k].
        alpha = tf.random.stateless_uniform([batch, steps], seed=tf.stack([seed, step]))
        return {"lr": tf.gather(lr, index), "hr": tf.gather(hr, index), "gp_alpha": alpha}

    ds = tf.data.Dataset.range(first_epoch, tf.int64.max).flat_map(epoch_order)
    # Groups of `steps` events (one per critic step), then `batch` groups: [batch, steps].
    ds = ds.batch(steps, drop_remainder=True).batch(batch, drop_remainder=True)
    return ds.enumerate(start=first_epoch * num_steps).map(gather).prefetch(tf.data.AUTOTUNE)
