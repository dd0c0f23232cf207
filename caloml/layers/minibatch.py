"""Minibatch discrimination (Salimans et al. 2016, "Improved techniques for training GANs").

A discriminator that sees each example alone cannot tell that a generator emits the same
shower over and over. Minibatch discrimination gives it, per example, a measure of how close
the other examples of the batch are: a learned projection into ``num_kernels`` rows of
``kernel_dim`` values, an L1 distance between examples per row, and a sum of ``exp(-distance)``
over the batch. The CaloGAN (Paganini et al. 2018) applies it to each layer's features, to the
sparsities and to the layer energies (its ``Dense3D`` and ``minibatch_discriminator``, then
tanh).

The features depend on the whole batch, so under a ``tf.distribute`` strategy they see the
examples of one replica only.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import activations, initializers, layers, ops

from caloml.errors import InputError


@keras.saving.register_keras_serializable(package="caloml")
class MinibatchDiscrimination(layers.Layer):
    """Per-example closeness to the rest of the batch, ``num_kernels`` features.

    With ``M[b, i, k] = Σ_f x[b, f] · kernel[i, f, k] + bias[i, k]`` (the CaloGAN's ``Dense3D``
    layout), the output is ``activation(Σ_j exp(-Σ_k |M[b, i, k] - M[j, i, k]|))``; the sum
    runs over the whole batch including ``j = b``, so before the activation every feature is
    at least 1 and a batch of one gives exactly 1.

    Args:
        num_kernels: output features (rows of the projection).
        kernel_dim: values per row, over which the L1 distance is taken.
        activation: Keras activation of the output (the CaloGAN: ``"tanh"``).
        use_bias: add ``bias[i, k]`` to the projection.
        kernel_initializer, bias_initializer: Keras initialisers of the weights.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Call arguments:
        inputs: ``[batch, features]``.

    Returns:
        ``[batch, num_kernels]``.
    """

    def __init__(self, num_kernels: int = 10, kernel_dim: int = 10, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", **kwargs: Any):
        super().__init__(**kwargs)
        for name, value in (("num_kernels", num_kernels), ("kernel_dim", kernel_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"MinibatchDiscrimination: {name} must be a positive integer, "
                                 f"got {value!r}")
        self.num_kernels = num_kernels
        self.kernel_dim = kernel_dim
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.input_spec = layers.InputSpec(ndim=2)

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise InputError(f"MinibatchDiscrimination {self.name!r}: the feature axis of "
                             f"inputs [batch, features] must be known, got {tuple(input_shape)}")
        self.kernel = self.add_weight(name="kernel",
                                      shape=(self.num_kernels, features, self.kernel_dim),
                                      initializer=self.kernel_initializer)
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.num_kernels, self.kernel_dim),
                                        initializer=self.bias_initializer)
        else:
            self.bias = None
        self.input_spec = layers.InputSpec(ndim=2, axes={-1: features})

    def call(self, inputs):
        projected = ops.einsum("bf,ifk->bik", inputs, self.kernel)
        if self.use_bias:
            projected = ops.add(projected, self.bias)
        # [batch, batch, num_kernels]: L1 distance of every pair, row by row.
        distances = ops.sum(ops.abs(ops.expand_dims(projected, 1) -
                                    ops.expand_dims(projected, 0)), axis=-1)
        return self.activation(ops.sum(ops.exp(-distances), axis=1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_kernels)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_kernels": self.num_kernels,
            "kernel_dim": self.kernel_dim,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }
