"""Small 3DGAN networks and batches shared by the 3DGAN tests (the real window shapes).

The fixed-angle ``energygan`` networks (25³, about 60 ms per generated shower on a CPU) stand in
wherever a test needs a trainer but not the angle heads; ``anglegan`` ones where it does.
"""

import dataclasses

import numpy as np

from caloml.gan3d import config as config_lib
from caloml.gan3d import networks

ENERGYGAN = config_lib.for_architecture("energygan", workdir="unused")
ANGLEGAN = config_lib.for_architecture("anglegan", workdir="unused")


def tiny_gan(experiment=ENERGYGAN, batch_size: int = 4, **fields) -> config_lib.Gan3DConfig:
    return dataclasses.replace(experiment.gan, batch_size=batch_size, **fields)


def make_networks(experiment=ENERGYGAN, seed: int = 0, **discriminator_fields):
    import keras

    keras.utils.set_random_seed(seed)
    return (networks.Gan3DGenerator(experiment.generator),
            networks.Gan3DDiscriminator(dataclasses.replace(experiment.discriminator,
                                                            **discriminator_fields)))


def batch(experiment=ENERGYGAN, batch_size: int = 4, seed: int = 0) -> dict[str, np.ndarray]:
    """One training batch in the layout of ``caloml.data.threedgan.training_dataset``.

    Sparse showers of exponential cells (mean 0.05, 5% of cells hit) whose ECAL sum is in
    ``ecal_sum``, energies 100–200 GeV, angles 60°–120°, flips on about 5% of the labels.
    """
    rng = np.random.default_rng(seed)
    window, power = experiment.window, experiment.generator.power
    cells = rng.exponential(0.05, (batch_size, *window)) * (rng.random((batch_size, *window))
                                                            < 0.05)
    cells = cells.astype(np.float32)
    draws = experiment.gan.generator_steps + 1
    return {
        "ecal_power": (cells ** power)[..., None],
        "energy": rng.uniform(100, 200, (batch_size, 1)).astype(np.float32),
        "angle": rng.uniform(1.047, 2.094, (batch_size, 1)).astype(np.float32),
        "ecal_sum": cells.reshape(batch_size, -1).sum(axis=1, keepdims=True),
        "noise": rng.normal(size=(batch_size, draws, experiment.generator.noise_dim)).astype(
            np.float32),
        "real_label": np.where(rng.random(batch_size) < 0.05, 0.0, 1.0).astype(np.float32),
        "fake_label": np.where(rng.random(batch_size) < 0.05, 1.0, 0.0).astype(np.float32),
    }
