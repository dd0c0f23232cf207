"""Residual-in-residual dense blocks (RRDB) of ESRGAN (Wang et al. 2018), as Keras 3 blocks.

An RRDB is ``dense_blocks`` dense blocks in a row, each added to its input with a β-scaled
residual, and the whole added to the RRDB's input with the same β (ESRGAN: three dense blocks
of five convolutions, β = 0.2). Shared by every ESRGAN-style generator in caloml.

Tensors are channels-last, ``[batch, x, y, filters]``; the blocks keep the shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="caloml")
class ScaledResidual(layers.Layer):
    """``inputs + scale · residual``: the β-scaled residual connections of ESRGAN.

    Args:
        scale: β, the factor applied to the residual branch.

    Call arguments:
        inputs: ``[x, residual]``, two tensors of the same shape ``[batch, x, y, filters]``.

    Returns:
        ``x + scale * residual``, same shape.
    """

    def __init__(self, scale: float, **kwargs: Any):
        super().__init__(**kwargs)
        self.scale = float(scale)

    def call(self, inputs):
        x, residual = inputs
        return ops.add(x, ops.multiply(residual, ops.cast(self.scale, residual.dtype)))

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale}


# An activation: a Keras activation name (applied inside the convolutions), or a callable that
# takes a layer name and returns a fresh activation layer (applied after the convolution as its
# own layer, e.g. a LeakyReLU of a given slope, which no activation name expresses).
Activation = str | Callable[[str], layers.Layer]


def apply_dense_block(x, filters: int, kernel_size: int, num_convs: int, residual_scale: float,
                      activation: Activation, name: str):
    """One dense block: convolution ``k`` sees the block input and the outputs of ``1 … k-1``.

    All convolutions but the last have ``activation``, the last is linear (as in ESRGAN); its
    output, scaled by β, is added to the block input. Zero padding keeps the lateral size.

    Args:
        x: ``[batch, x, y, filters]``.
        filters: filters of every convolution (the growth rate and the block width are equal).
        kernel_size: square kernel.
        num_convs: convolutions in the block.
        residual_scale: β.
        activation: activation of the inner convolutions (ESRGAN: leaky ReLU): a Keras
            activation name, or a callable ``layer_name -> layer`` whose fresh layer is applied
            after the convolution, named ``<name>_activation_<k>``.
        name: prefix of the layer names (``<name>_conv_<k>``, ``<name>_residual``).

    Returns:
        ``[batch, x, y, filters]``.
    """
    features = [x]
    y = x
    for k in range(1, num_convs + 1):
        inputs = features[0] if k == 1 else layers.Concatenate(name=f"{name}_concat_{k}")(features)
        inner = k < num_convs
        y = layers.Conv2D(filters, kernel_size, padding="same",
                          activation=activation if inner and isinstance(activation, str)
                          else None,
                          name=f"{name}_conv_{k}")(inputs)
        if inner and not isinstance(activation, str):
            y = activation(f"{name}_activation_{k}")(y)
        features.append(y)
    return ScaledResidual(residual_scale, name=f"{name}_residual")([x, y])


def apply_rrdb(x, filters: int, kernel_size: int = 3, dense_blocks: int = 3,
               convs_per_dense_block: int = 5, residual_scale: float = 0.2,
               activation: Activation = "silu", name: str = "rrdb"):
    """A residual-in-residual dense block: dense blocks, then a β-scaled skip.

    Args:
        x: ``[batch, x, y, filters]``.
        filters: filters of every convolution; equals the channels of ``x``.
        kernel_size: square kernel of the convolutions.
        dense_blocks: dense blocks in the RRDB (ESRGAN: 3).
        convs_per_dense_block: convolutions per dense block (ESRGAN: 5).
        residual_scale: β of both residual levels (ESRGAN: 0.2).
        activation: activation inside the dense blocks (see :func:`apply_dense_block`).
        name: prefix of the layer names (``<name>_dense_<i>_…``, ``<name>_residual``).

    Returns:
        ``[batch, x, y, filters]``.
    """
    y = x
    for i in range(1, dense_blocks + 1):
        y = apply_dense_block(y, filters, kernel_size, convs_per_dense_block, residual_scale,
                              activation, f"{name}_dense_{i}")
    return ScaledResidual(residual_scale, name=f"{name}_residual")([x, y])
