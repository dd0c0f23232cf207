"""Loss functions of caloml's models, as pure functions returning per-example losses.

Per-example losses are reduced by the caller with ``tf.nn.compute_average_loss`` (global
batch size), which is what makes the gradients right under ``tf.distribute``.
"""

from __future__ import annotations

import tensorflow as tf
from keras import ops


def wasserstein_critic_loss(critic_real: tf.Tensor, critic_fake: tf.Tensor) -> tf.Tensor:
    """First two terms of the WGAN critic loss, SR-GAN paper 000 Eq. (2): C(x̃) − C(x).

    Args:
        critic_real: [B] or [B, 1] critic outputs on real (HR) images.
        critic_fake: the same shape, on generated (SR) images.

    Returns:
        [B] per-example loss; its mean estimates minus the Wasserstein-1 distance.
    """
    return ops.reshape(critic_fake - critic_real, (-1,))


def gradient_penalty(
    critic, real: tf.Tensor, fake: tf.Tensor, alpha: tf.Tensor, epsilon: float = 1e-12
) -> tf.Tensor:
    """WGAN-GP penalty, Eq. (2) third term (Gulrajani et al.): (‖∇C(x̂)‖₂ − 1)².

    ``x̂ = x + α (x̃ − x)`` with one α ~ U(0, 1) per example. The epsilon inside the square root
    keeps the gradient of the norm finite where ∇C vanishes.

    Args:
        critic: callable network.
        real: [B, H, W, C] real images.
        fake: [B, H, W, C] generated images.
        alpha: [B] interpolation coefficients.

    Returns:
        [B] per-example penalty (without λ_GP).
    """
    alpha = ops.reshape(ops.cast(alpha, real.dtype), (-1, 1, 1, 1))
    interpolated = real + alpha * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(interpolated)
        score = critic(interpolated, training=True)
    grad = tape.gradient(score, interpolated)
    norm = ops.sqrt(ops.sum(ops.square(grad), axis=(1, 2, 3)) + epsilon)
    return ops.square(norm - 1.0)


def generator_adversarial_loss(critic_fake: tf.Tensor) -> tf.Tensor:
    """Adversarial term of Eq. (3), per example: −C(x̃).

    Eq. (3) prints ``+λ_adv E[C(x̃)]``; with the critic of Eq. (2), which is trained to give
    *higher* scores to HR images, the generator has to raise C(x̃), so it minimises −C(x̃)
    (the WGAN generator loss of Gulrajani et al.).
    """
    return -ops.reshape(critic_fake, (-1,))


def perceptual_loss(features_real: tf.Tensor, features_fake: tf.Tensor) -> tf.Tensor:
    """Perceptual term of Eq. (3), per example: ‖Φ(x) − Φ(x̃)‖², summed over all features.

    Args:
        features_real: [B, ...] features Φ of the HR images (third conv layer of the
            photon/pi0 classifier trained on HR images).
        features_fake: [B, ...] the same features of the SR images.

    Returns:
        [B]; the batch sum of Eq. (3) becomes a batch mean after ``compute_average_loss``.
    """
    diff = ops.reshape(features_real - features_fake, (ops.shape(features_real)[0], -1))
    return ops.sum(ops.square(diff), axis=1)
