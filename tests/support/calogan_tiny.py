"""Tiny CaloGAN networks and batches shared by the CaloGAN tests (the real layer shapes)."""

import dataclasses

import numpy as np

from caloml.calogan import config as config_lib
from caloml.calogan import networks
from caloml.calogan.config import LAYER_KEYS, LAYER_SHAPES

TINY_GENERATOR = config_lib.GeneratorConfig(latent_dim=8, dense_channels=3, conv_filters=4,
                                            lc_filters=2)
TINY_DISCRIMINATOR = config_lib.DiscriminatorConfig(conv_filters=4, lc_filters=(3, 2, 2),
                                                    minibatch_kernels=3, minibatch_dim=2)
TINY = config_lib.CaloGANConfig(batch_size=8)


def tiny_networks(num_classes: int = 1, seed: int = 0, **discriminator_fields):
    import keras

    keras.utils.set_random_seed(seed)
    generator = networks.CaloGANGenerator(
        dataclasses.replace(TINY_GENERATOR, num_classes=num_classes))
    discriminator = networks.CaloGANDiscriminator(
        dataclasses.replace(TINY_DISCRIMINATOR, num_classes=num_classes, **discriminator_fields))
    return generator, discriminator


def showers(num: int, seed: int = 0, num_classes: int = 1) -> dict[str, np.ndarray]:
    """Random sparse showers in GeV whose energies roughly match their cell sums."""
    rng = np.random.default_rng(seed)
    out = {}
    for key, shape in zip(LAYER_KEYS, LAYER_SHAPES, strict=True):
        cells = rng.exponential(0.05, (num, *shape)) * (rng.random((num, *shape)) < 0.4)
        out[key] = cells.astype(np.float32)
    total = sum(out[key].reshape(num, -1).sum(axis=1) for key in LAYER_KEYS)
    out["energy"] = (total * rng.uniform(0.9, 1.1, num)).astype(np.float32)[:, None]
    out["particle"] = rng.integers(0, num_classes, num).astype(np.int32)
    return out


def batch(gan=TINY, latent_dim: int = TINY_GENERATOR.latent_dim, seed: int = 0):
    """One training batch in the layout of ``trainer.training_dataset``."""
    rng = np.random.default_rng(seed + 100)
    b, draws = gan.batch_size, gan.generator_steps + 1
    out = showers(b, seed, gan.num_classes)
    out["noise"] = rng.normal(size=(b, draws, latent_dim)).astype(np.float32)
    out["fake_energy"] = rng.uniform(1, 100, (b, draws, 1)).astype(np.float32)
    out["fake_particle"] = rng.integers(0, gan.num_classes, (b, draws)).astype(np.int32)
    out["fake_particle_target"] = out["fake_particle"][:, 0].copy()
    return out
