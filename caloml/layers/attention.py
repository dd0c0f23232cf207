"""In-painting attention: a per-pixel learned blend of two images (CaloGAN ``ops``).

The CaloGAN generator (Paganini et al. 2018) draws its three calorimeter layers in parallel
streams; the in-painting attention lets a deeper layer take, pixel by pixel, part of the
(resized) image of the layer before it. A locally-connected layer looks at a neighbourhood of
both images and outputs two scores per pixel; their softmax weighs the two images. The score
of the carried-over image starts at a strongly negative bias, so at initialisation each layer
keeps its own image.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import initializers, layers, ops

from caloml.errors import InputError
from caloml.layers.locally_connected import LocallyConnected2D


@keras.saving.register_keras_serializable(package="caloml")
class InpaintingAttention(layers.Layer):
    """``Σ_c softmax_c(s) · x_c`` over ``x = [primary, carryover]``, scores from a local layer.

    The two images are stacked into ``[batch, H, W, 2]``, zero-padded by ``kernel_size // 2``
    on each side, and a :class:`~caloml.layers.locally_connected.LocallyConnected2D` with two
    filters and a ``kernel_size``² window gives the scores ``s`` ``[batch, H, W, 2]``. Its bias
    ``[H, W, 2]`` starts at 0 for the primary channel and at ``carryover_bias`` for the
    carry-over channel (CaloGAN: −10, a carry-over weight of about 4.5e-5).

    Args:
        kernel_size: odd window size of the scores' locally-connected layer (CaloGAN: 3).
        carryover_bias: initial bias of the carry-over score.
        kernel_initializer: Keras initialiser of the locally-connected kernel.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Call arguments:
        inputs: ``[primary [batch, H, W, 1], carryover [batch, H, W, 1]]``.

    Returns:
        ``[batch, H, W, 1]``.
    """

    def __init__(self, kernel_size: int = 3, carryover_bias: float = -10.0,
                 kernel_initializer: Any = "glorot_uniform", **kwargs: Any):
        super().__init__(**kwargs)
        if (isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1
                or kernel_size % 2 == 0):
            raise InputError(f"InpaintingAttention: kernel_size must be an odd positive integer "
                             f"(the scores keep the image size), got {kernel_size!r}")
        self.kernel_size = kernel_size
        self.carryover_bias = float(carryover_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)

    def build(self, input_shape):
        shapes = [tuple(s) for s in input_shape] if len(input_shape) == 2 else []
        if (len(shapes) != 2 or any(len(s) != 4 or s[3] != 1 for s in shapes)
                or shapes[0][1:] != shapes[1][1:] or None in shapes[0][1:3]):
            raise InputError(f"InpaintingAttention {self.name!r}: expected inputs [primary, "
                             f"carryover], both [batch, H, W, 1] with the same known H and W, got "
                             f"shapes {input_shape}")
        rows, cols = shapes[0][1], shapes[0][2]
        pad = self.kernel_size // 2
        self.scores = LocallyConnected2D(2, self.kernel_size,
                                         kernel_initializer=self.kernel_initializer,
                                         dtype=self.dtype_policy, name="scores")
        self.scores.build((None, rows + 2 * pad, cols + 2 * pad, 2))
        bias = np.zeros((rows, cols, 2), dtype="float32")
        bias[..., 1] = self.carryover_bias
        self.scores.bias.assign(bias)

    def call(self, inputs):
        x = ops.concatenate(list(inputs), axis=-1)
        pad = self.kernel_size // 2
        weights = ops.softmax(self.scores(ops.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))),
                              axis=-1)
        return ops.sum(x * weights, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "kernel_size": self.kernel_size,
                "carryover_bias": self.carryover_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer)}
