"""Adversarial training of the CaloGAN (slides §IV "Loss formulation"; ``train.py``).

:class:`CaloGANTrainer` is the one training loop: a ``keras.Model`` holding the generator and
the discriminator, whose ``train_step`` makes, as the original's batch loop:

1. a discriminator update on an all-real batch and one on an all-fake batch ("as we have both
   minibatch discrimination and batch normalization, both of which rely on batch level
   stats"), the fake showers made by the generator in inference mode, as Keras' ``predict``
   in ``train.py`` (``fake_batch_training_mode=True`` makes them in training mode);
2. ``generator_steps`` (2) generator updates on fresh noise, the discriminator in training mode
   but not updated.

Losses (slides: L_D = λ_E L_E + L_adv, L_G = λ_E L_E − L_adv, δ(e, e') = |e − e'|): binary
cross-entropy on the real/fake logit, plus λ_E = 0.05 times |E − Σ cells| in GeV, plus, for an
ACGAN, 0.2 times the class cross-entropy. The discriminator's energy output is a parameter-free
sum, so its term changes only the generator (it is still reported for the discriminator, as
Keras reported it). Every per-shower loss is reduced with ``tf.nn.compute_average_loss`` over
the global batch; with the batch statistics synchronised across replicas and no minibatch
discrimination (which compares a shower with its replica's share of the batch), a
``MirroredStrategy`` update equals the one-device update (tested).

The noise, the requested energies and classes and the class flips come from the input
pipeline (:func:`training_dataset`), drawn from stateless seeds of ``(seed, step)``, so a
resumed run sees the same draws as a run never stopped.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from caloml.calogan.config import LAYER_KEYS, CaloGANConfig
from caloml.errors import InputError
from caloml.training import adversarial

# What CaloGANTrainer reports per epoch (the divergence guard watches exactly these).
METRIC_NAMES = (
    "discriminator_loss", "discriminator_real_loss", "discriminator_fake_loss",
    "discriminator_real_accuracy", "discriminator_fake_accuracy",
    "generator_loss", "generator_adversarial_loss", "generator_energy_error_gev",
)
CLASS_METRIC_NAMES = ("discriminator_class_loss", "generator_class_loss")


def make_optimizers(config: CaloGANConfig) -> tuple[keras.optimizers.Optimizer,
                                                   keras.optimizers.Optimizer]:
    """Adam for the generator (2e-4) and the discriminator (2e-5), β1 = 0.5 (``train.py``)."""
    return (keras.optimizers.Adam(config.generator_learning_rate, beta_1=config.beta_1),
            keras.optimizers.Adam(config.discriminator_learning_rate, beta_1=config.beta_1))


def metric_names(config: CaloGANConfig) -> tuple[str, ...]:
    return METRIC_NAMES + (CLASS_METRIC_NAMES if config.num_classes > 1 else ())


class CaloGANTrainer(adversarial.AdversarialTrainer):
    """Trains a CaloGAN generator against its discriminator.

    Each batch is a dict: the real showers ``layer_0/1/2`` ``[B, rows, columns]`` GeV,
    ``energy`` ``[B, 1]`` GeV and ``particle`` ``[B]`` int32; and the draws of the step:
    ``noise`` ``[B, 1 + G, latent]``, ``fake_energy`` ``[B, 1 + G, 1]`` GeV, ``fake_particle``
    ``[B, 1 + G]`` int32 and ``fake_particle_target`` ``[B]`` int32 (the class label of the
    discriminator's fake batch after the ACGAN flips). Draw 0 makes the discriminator's fake
    batch and draws 1..G the generator's batches.

    Args:
        generator: a :class:`~caloml.calogan.networks.CaloGANGenerator`.
        discriminator: a :class:`~caloml.calogan.networks.CaloGANDiscriminator`.
        config: loss weights, steps and the global batch size.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model,
                 config: CaloGANConfig, **kwargs):
        super().__init__(generator, discriminator, config, metric_names(config), **kwargs)

    def _generator_inputs(self, noise, energy, particle) -> dict[str, tf.Tensor]:
        inputs = {"latent": noise, "energy": energy}
        if self.config.num_classes > 1:
            inputs["particle"] = particle[:, None]
        return inputs

    def _loss_terms(self, outputs: dict, energy: tf.Tensor, real: bool,
                particle: tf.Tensor | None) -> tuple[tf.Tensor, ...]:
        """Per-shower (total, adversarial, |E − Σ|, class) losses of one discriminator pass."""
        logit = outputs["real"][:, 0]
        labels = ops.ones_like(logit) if real else ops.zeros_like(logit)
        adversarial = ops.binary_crossentropy(labels, logit, from_logits=True)
        energy_error = ops.abs(energy[:, 0] - outputs["total_energy"][:, 0])
        total = adversarial + self.config.energy_weight * energy_error
        class_loss = None
        if self.config.num_classes > 1:
            class_loss = ops.sparse_categorical_crossentropy(particle, outputs["particle"],
                                                             from_logits=True)
            total = total + self.config.class_weight * class_loss
        return total, adversarial, energy_error, class_loss

    def discriminator_step(self, images: dict, energy: tf.Tensor, real: bool,
                           particle: tf.Tensor) -> None:
        """One discriminator update on an all-real or all-fake batch."""
        with tf.GradientTape() as tape:
            outputs = self.discriminator({**images, "energy": energy}, training=True)
            total, _, _, class_loss = self._loss_terms(outputs, energy, real, particle)
            loss = self._average(total)
        variables = self.discriminator.trainable_variables
        grads = tape.gradient(loss, variables)
        self.discriminator_optimizer.apply_gradients(zip(grads, variables, strict=True))
        kind = "real" if real else "fake"
        self.trackers[f"discriminator_{kind}_loss"].update_state(total)
        self.trackers["discriminator_loss"].update_state(total)
        logit = outputs["real"][:, 0]
        correct = logit > 0 if real else logit < 0
        self.trackers[f"discriminator_{kind}_accuracy"].update_state(ops.cast(correct, "float32"))
        if class_loss is not None:
            self.trackers["discriminator_class_loss"].update_state(class_loss)

    def generator_step(self, noise: tf.Tensor, energy: tf.Tensor, particle: tf.Tensor) -> None:
        """One generator update: the discriminator should call the showers real."""
        with tf.GradientTape() as tape:
            images = self.generator(self._generator_inputs(noise, energy, particle),
                                    training=True)
            outputs = self.discriminator({**images, "energy": energy}, training=True)
            total, adversarial, energy_error, class_loss = self._loss_terms(
                outputs, energy, True, particle)
            loss = self._average(total)
        variables = self.generator.trainable_variables
        grads = tape.gradient(loss, variables)
        self.generator_optimizer.apply_gradients(zip(grads, variables, strict=True))
        self.trackers["generator_loss"].update_state(total)
        self.trackers["generator_adversarial_loss"].update_state(adversarial)
        self.trackers["generator_energy_error_gev"].update_state(energy_error)
        if class_loss is not None:
            self.trackers["generator_class_loss"].update_state(class_loss)

    def train_step(self, data):
        data, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        real_images = {key: data[key] for key in LAYER_KEYS if key in data}
        self.discriminator_step(real_images, data["energy"], True, data["particle"])
        noise, energy, particle = data["noise"], data["fake_energy"], data["fake_particle"]
        fake_images = self.generator(
            self._generator_inputs(noise[:, 0], energy[:, 0], particle[:, 0]),
            training=self.config.fake_batch_training_mode)
        self.discriminator_step(fake_images, energy[:, 0], False, data["fake_particle_target"])
        for k in range(1, self.config.generator_steps + 1):
            self.generator_step(noise[:, k], energy[:, k], particle[:, k])
        return {name: tracker.result() for name, tracker in self.trackers.items()}


def steps_per_epoch(num_showers: int, config: CaloGANConfig) -> int:
    """Steps of one epoch: every training shower seen once, the remainder dropped."""
    return num_showers // config.batch_size


def training_dataset(showers: dict[str, np.ndarray], config: CaloGANConfig, latent_dim: int,
                     seed: int, first_epoch: int = 0) -> tf.data.Dataset:
    """Endless, shuffled batches for :class:`CaloGANTrainer`, with the step's draws.

    The order of epoch ``e`` is a permutation drawn from the stateless seed ``(seed, e)`` and
    the draws of step ``s`` (noise, requested energies U(1, 100) GeV, classes, flips) from
    ``(seed, s)``, so a resumed run sees the batches of a run never stopped.

    Args:
        showers: ``layer_0/1/2`` ``[N, rows, columns]`` GeV, ``energy`` ``[N, 1]`` GeV and
            ``particle`` ``[N]`` int32, in memory (about 2 kB per shower).
        config: the training settings.
        latent_dim: size of the generator's latent vector.
        seed: seed of the order and the draws.
        first_epoch: the epoch to start at (the completed epochs, on resume).
    """
    num = len(showers["energy"])
    batch = config.batch_size
    if num < batch:
        raise InputError(f"{num} training showers are fewer than one batch of {batch}; lower "
                         "--batch_size or raise --num_train")
    num_steps = steps_per_epoch(num, config)
    draws = config.generator_steps + 1
    low, high = config.fake_energy_gev
    classes = config.num_classes
    tensors = {key: tf.constant(showers[key]) for key in (*LAYER_KEYS, "energy", "particle")}
    seed = tf.constant(seed, tf.int64)

    def epoch_order(epoch):
        keys = tf.random.stateless_uniform([num], seed=tf.stack([seed, epoch]))
        return tf.data.Dataset.from_tensor_slices(tf.argsort(keys)[: num_steps * batch])

    def gather(step, index):
        seeds = tf.random.experimental.stateless_split(tf.stack([seed, step]), 5)
        out = {key: tf.gather(value, index) for key, value in tensors.items()}
        out["noise"] = tf.random.stateless_normal([batch, draws, latent_dim], seed=seeds[0])
        out["fake_energy"] = tf.random.stateless_uniform([batch, draws, 1], seed=seeds[1],
                                                         minval=low, maxval=high)
        fake_particle = tf.random.stateless_uniform([batch, draws], seed=seeds[2], minval=0,
                                                    maxval=classes, dtype=tf.int32)
        out["fake_particle"] = fake_particle
        # train.py's bit_flip(labels, 0.3) on the fake batch's class labels: a flipped label
        # becomes another class (for two classes, the other one).
        flip = tf.random.stateless_uniform([batch], seed=seeds[3]) < config.class_flip
        other = tf.random.stateless_uniform([batch], seed=seeds[4], minval=1,
                                            maxval=max(classes, 2), dtype=tf.int32)
        flipped = (fake_particle[:, 0] + other) % max(classes, 1)
        out["fake_particle_target"] = tf.where(flip & (classes > 1), flipped,
                                               fake_particle[:, 0])
        return out

    ds = tf.data.Dataset.range(first_epoch, tf.int64.max).flat_map(epoch_order)
    ds = ds.batch(batch, drop_remainder=True)
    return ds.enumerate(start=first_epoch * num_steps).map(gather).prefetch(tf.data.AUTOTUNE)
