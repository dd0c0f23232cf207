"""Tiny SR-GAN networks and batches shared by the tests (on sys.path via pytest's pythonpath)."""

import keras
import numpy as np

from caloml.srgan import config

TINY = config.SRGANConfig(batch_size=8, critic_steps=2, lambda_per=0.3)


def tiny_networks(seed=0):
    """A 6×6 → 24×24 generator, a critic and a feature network, small enough for tests."""
    keras.utils.set_random_seed(seed)
    lr = keras.Input((6, 6, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="silu")(lr)
    x = keras.layers.UpSampling2D(4)(x)
    generator = keras.Model(lr, keras.layers.Conv2D(1, 3, padding="same", activation="relu")(x))
    hr = keras.Input((24, 24, 1))
    y = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="silu")(hr)
    y = keras.layers.LayerNormalization()(y)
    critic = keras.Model(hr, keras.layers.Dense(1)(keras.layers.Flatten()(y)))
    features = keras.Model(hr, keras.layers.Conv2D(3, 3, padding="same", activation="relu")(hr))
    return generator, critic, features


def batch(seed=0, gan=TINY):
    """One training batch: ``critic_steps`` mini-batches side by side, as training_dataset."""
    rng = np.random.default_rng(seed)
    b, s = gan.batch_size, gan.critic_steps
    return {
        "lr": rng.random((b, s, 6, 6, 1), dtype=np.float32),
        "hr": rng.random((b, s, 24, 24, 1), dtype=np.float32),
        "gp_alpha": rng.random((b, s), dtype=np.float32),
    }
