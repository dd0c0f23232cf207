"""caloml: deep-learning calorimeter papers in TensorFlow 2 / Keras 3, with an embedded simulator."""

__version__ = "0.1.0"
