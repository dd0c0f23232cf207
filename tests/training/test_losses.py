"""Per-example GAN losses against analytic values."""

import numpy as np
import tensorflow as tf

from caloml.training import losses


def test_wasserstein_and_generator_losses():
    real, fake = tf.constant([[1.0], [2.0]]), tf.constant([[0.5], [3.0]])
    np.testing.assert_allclose(losses.wasserstein_critic_loss(real, fake), [-0.5, 1.0])
    np.testing.assert_allclose(losses.generator_adversarial_loss(fake), [-0.5, -3.0])


def test_gradient_penalty_of_a_linear_critic():
    # A linear critic C(x) = Σ w·x has ∇C = w everywhere: penalty (‖w‖ − 1)².
    for norm in (1.0, 2.0, 0.5):
        w = tf.fill((1, 4, 4, 1), norm / 4.0)  # ‖w‖ = norm over 16 entries of norm/4

        def critic(x, training=False, w=w):
            return tf.reduce_sum(x * w, axis=(1, 2, 3))

        x = tf.random.stateless_uniform((3, 4, 4, 1), seed=(1, 2))
        gp = losses.gradient_penalty(critic, x, x + 1.0, tf.constant([0.0, 0.5, 1.0]))
        np.testing.assert_allclose(gp, (norm - 1.0) ** 2, atol=1e-5)


def test_gradient_penalty_is_finite_where_the_gradient_vanishes():
    def flat(x, training=False):
        return tf.reduce_sum(0.0 * x, axis=(1, 2, 3))

    x = tf.zeros((2, 4, 4, 1))
    np.testing.assert_allclose(losses.gradient_penalty(flat, x, x, tf.constant([0.3, 0.7])),
                               [1.0, 1.0], rtol=1e-5)


def test_perceptual_loss_sums_squared_feature_differences():
    a, b = tf.ones((2, 3, 3, 2)), tf.zeros((2, 3, 3, 2))
    np.testing.assert_allclose(losses.perceptual_loss(a, b), [18.0, 18.0])
