"""Adversarial training of CALPAGAN (paper 002, §3.1, Eq. 1, Fig. 2; the original code's
``train.ipynb`` and ``loss_functions.py``).

:class:`CalpaganTrainer` is the one training loop: a ``keras.Model`` holding the U-Net
generator G and the PatchGAN discriminator D, whose ``train_step`` makes, as pix2pix and the
original code, per batch:

1. one forward pass of G on [condition x, noise z], giving G(x, z);
2. one D update on the real pair and the generated pair (G's output held fixed):
   ``L_D = ½ [BCE(D(x, y), 1) + BCE(D(x, G(x, z)), 0)]`` (the ½ of pix2pix and of the
   original code);
3. one G update against the *updated* D, on the same G(x, z):
   ``L_G = BCE(D(x, G(x, z)), 1) + λ_L1 · |y − G(x, z)|`` (Eq. 1 with the non-saturating
   generator loss of pix2pix).

Each BCE is taken with logits and averaged over the discriminator's patch map, and the L1 term
over the pixels, per example. With ``conditional=False`` (the original code) D sees the image
alone; with ``relu_fakes`` (the original code) generated images pass through a ReLU before D,
not before the L1 term. Every per-example loss is reduced with ``tf.nn.compute_average_loss``
over the global batch (the batch statistics of the generator's batch normalisation are
synchronised across replicas and instance normalisation is per example), so a
``MirroredStrategy`` update equals the one-device update (tested).

The noise z ~ U(0, 1) ``[B, η, φ, 1]`` comes from the batch (key ``noise``) if there is one,
else from the trainer's ``keras.random.SeedGenerator``: every replica draws the noise of the
whole global batch (the generator's state is mirrored, so all replicas draw the same numbers)
and takes its own share of the rows, so the replicas' noise is independent and equals what one
device draws. The generator's state is in :meth:`CalpaganTrainer.checkpoint_items`, so a
resumed run continues the noise sequence.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import ops

from caloml.calpagan.config import TrainingConfig
from caloml.training import adversarial

# What CalpaganTrainer reports per epoch (the divergence guard watches exactly these):
# generator_loss = adversarial_loss + λ_L1 · l1_loss.
METRIC_NAMES = ("generator_loss", "discriminator_loss", "l1_loss", "adversarial_loss")


def make_optimizers(training: TrainingConfig) -> tuple[keras.optimizers.Optimizer,
                                                       keras.optimizers.Optimizer]:
    """Adam for the generator and for the discriminator (original code: 2e-4, PyTorch's
    β = (0.9, 0.999) and ε = 1e-8)."""
    return tuple(keras.optimizers.Adam(training.learning_rate, beta_1=training.beta_1,
                                       beta_2=training.beta_2, epsilon=1e-8)
                 for _ in range(2))


def patch_bce(logits, label: float):
    """Binary cross-entropy of patch logits against one label, averaged over the patches.

    Args:
        logits: ``[batch, h, w, 1]`` discriminator logits.
        label: 1 (real) or 0 (generated).

    Returns:
        ``[batch]``.
    """
    logits = ops.cast(logits, "float32")
    labels = ops.full_like(logits, label)
    per_patch = ops.binary_crossentropy(labels, logits, from_logits=True)  # element-wise
    return ops.mean(per_patch, axis=(1, 2, 3))


def l1_per_example(target, generated):
    """Mean absolute difference over the pixels: ``[batch, ...]`` → ``[batch]``."""
    difference = ops.abs(ops.cast(target, "float32") - ops.cast(generated, "float32"))
    return ops.mean(ops.reshape(difference, (ops.shape(difference)[0], -1)), axis=1)


class CalpaganTrainer(adversarial.AdversarialTrainer):
    """Trains a :class:`~caloml.calpagan.networks.UNetGenerator` against a
    :class:`~caloml.calpagan.networks.PatchDiscriminator` (module docstring).

    Each batch is a dict: ``condition`` (the normalised fast images) and ``target`` (the
    normalised detailed images), both ``[B, η, φ, 1]``, and optionally ``noise``
    ``[B, η, φ, 1]`` in [0, 1).

    Args:
        generator: [condition, noise] → generated image.
        discriminator: its ``config`` says whether it sees the condition and whether fakes are
            rectified.
        config: the training settings (``batch_size`` is the global batch, ``lambda_l1``).
        seed: seed of the noise's ``SeedGenerator``.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model,
                 config: TrainingConfig, seed: int = 0, **kwargs: Any):
        super().__init__(generator, discriminator, config, METRIC_NAMES, **kwargs)
        self.seed = int(seed)
        self.conditional = discriminator.config.conditional
        self.relu_fakes = discriminator.config.relu_fakes
        self.noise_generator = keras.random.SeedGenerator(self.seed, name="noise_seed")

    def checkpoint_items(self) -> dict[str, Any]:
        """Both networks, both optimizers and the noise generator's state, by name, for
        ``tf.train.Checkpoint(**items)``."""
        return {"generator": self.generator, "discriminator": self.discriminator,
                "generator_optimizer": self.generator_optimizer,
                "discriminator_optimizer": self.discriminator_optimizer,
                "noise_state": self.noise_generator.state}

    def noise(self, condition):
        """U(0, 1) noise ``[B_local, η, φ, 1]`` for this replica's share of the global batch."""
        context = tf.distribute.get_replica_context()
        shape = ops.shape(condition)
        local = shape[0]
        draws = keras.random.uniform(
            (local * context.num_replicas_in_sync, shape[1], shape[2], 1),
            seed=self.noise_generator)
        start = ops.cast(context.replica_id_in_sync_group, "int32") * local
        return ops.slice(draws, (start, 0, 0, 0), (local, shape[1], shape[2], 1))

    def discriminator_input(self, condition, image, generated: bool):
        """What D sees: [condition, image] (conditional) or the image, fakes maybe rectified."""
        if generated and self.relu_fakes:
            image = ops.relu(image)
        return ops.concatenate([condition, image], axis=-1) if self.conditional else image

    def discriminator_loss(self, condition, target, generated, training: bool = True):
        """``½ [BCE(D(real), 1) + BCE(D(fake), 0)]`` per example ``[B]``."""
        real = self.discriminator(self.discriminator_input(condition, target, False),
                                  training=training)
        fake = self.discriminator(self.discriminator_input(condition, generated, True),
                                  training=training)
        return 0.5 * (patch_bce(real, 1.0) + patch_bce(fake, 0.0))

    def generator_losses(self, condition, target, generated, training: bool = True
                         ) -> dict[str, Any]:
        """Per-example ``total``, ``adversarial`` (BCE(D(fake), 1)) and ``l1`` ``[B]``."""
        fake = self.discriminator(self.discriminator_input(condition, generated, True),
                                  training=training)
        adversarial_term = patch_bce(fake, 1.0)
        l1 = l1_per_example(target, generated)
        return {"total": adversarial_term + self.config.lambda_l1 * l1,
                "adversarial": adversarial_term, "l1": l1}

    def train_step(self, data):
        data, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        condition = ops.cast(data["condition"], "float32")
        target = ops.cast(data["target"], "float32")
        noise = (ops.cast(data["noise"], "float32") if "noise" in data
                 else self.noise(condition))
        with tf.GradientTape() as generator_tape:
            generated = self.generator(ops.concatenate([condition, noise], axis=-1),
                                       training=True)
            # The discriminator's update (pix2pix: D first, on G's output held fixed) is not
            # part of the generator's gradient.
            with generator_tape.stop_recording():
                with tf.GradientTape() as discriminator_tape:
                    discriminator_per_example = self.discriminator_loss(
                        condition, target, ops.stop_gradient(generated))
                    discriminator_loss = self._average(discriminator_per_example)
                variables = self.discriminator.trainable_variables
                grads = discriminator_tape.gradient(discriminator_loss, variables)
                self.discriminator_optimizer.apply_gradients(zip(grads, variables, strict=True))
            losses = self.generator_losses(condition, target, generated)
            generator_loss = self._average(losses["total"])
        variables = self.generator.trainable_variables
        grads = generator_tape.gradient(generator_loss, variables)
        self.generator_optimizer.apply_gradients(zip(grads, variables, strict=True))
        reported = {"generator_loss": losses["total"],
                    "discriminator_loss": discriminator_per_example,
                    "l1_loss": losses["l1"], "adversarial_loss": losses["adversarial"]}
        for name, values in reported.items():
            self.trackers[name].update_state(values)
        return {name: tracker.result() for name, tracker in self.trackers.items()}
