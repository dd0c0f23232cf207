"""Seeds of a training's random components, each derived from the run's ``--seed``.

A run draws random numbers in several components (the initial weights of each network, each
classifier's shuffling, the GAN's data order). Seeding each from its own derived seed, right
before it draws, makes every component independent of what ran before it: a resumed run that
reuses a saved classifier initialises the GAN exactly as a run that trained the classifier.
"""

from __future__ import annotations

import keras

from caloml.seeding import derive

__all__ = ["derive", "seed_component"]


def seed_component(seed: int, component: str) -> int:
    """Seeds Python, numpy, TensorFlow and Keras with ``derive(seed, component)``; returns it.

    Call it right before the component builds its networks or draws.
    """
    derived = derive(seed, component)
    keras.utils.set_random_seed(derived)
    return derived
