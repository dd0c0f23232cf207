"""caloml: calorimeter deep-learning papers in TensorFlow 2 / Keras 3, with a shower simulator."""

__version__ = "0.1.0"
