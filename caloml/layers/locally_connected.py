"""A 2D locally-connected layer (unshared convolution weights), which Keras 3 no longer has.

A locally-connected layer slides a kernel over the image like a valid convolution, but every
output position has weights of its own. The LAGAN (de Oliveira et al. 2017) and the CaloGAN
(Paganini et al. 2018) use it because calorimeter images are not translation invariant: a
shower's core and its tails sit at fixed cells. Keras 3 removed ``LocallyConnected2D``
(keras-team/keras#20830); this is a re-implementation with the Keras 1/2 weight layout, so the
initialisers see the same fans and a ported kernel loads as is.

Tensors are channels-last: ``[batch, rows, columns, channels]``.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import activations, initializers, layers, ops, regularizers

from caloml.errors import InputError


def _pair(value: Any, name: str) -> tuple[int, int]:
    """``value`` as a pair of positive integers (an int means the same value twice)."""
    if isinstance(value, int):
        pair = (value, value)
    else:
        try:
            pair = tuple(value)
        except TypeError:
            pair = ()
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in pair):
        raise InputError(f"LocallyConnected2D: {name} must be a positive integer or a pair of "
                         f"them, got {value!r}")
    return pair


def _window_pixels(rows: int, cols: int, kernel_size: tuple[int, int],
                   strides: tuple[int, int]) -> np.ndarray:
    """Flat pixel indices ``row·cols + col`` of every window, ``[P·kh·kw]``.

    Ordered by output position (row-major), then kernel row, then kernel column, so that
    gathering ``[batch, rows·cols, C]`` and reshaping gives ``[batch, P, kh·kw·C]`` in the
    Keras 2 patch order.
    """
    (kh, kw), (sh, sw) = kernel_size, strides
    out_rows, out_cols = (rows - kh) // sh + 1, (cols - kw) // sw + 1
    r = np.arange(out_rows)[:, None, None, None] * sh + np.arange(kh)[None, None, :, None]
    c = np.arange(out_cols)[None, :, None, None] * sw + np.arange(kw)[None, None, None, :]
    return (r * cols + c).reshape(-1).astype(np.int32)


@keras.saving.register_keras_serializable(package="caloml")
class LocallyConnected2D(layers.Layer):
    """A valid 2D convolution whose weights are not shared between output positions.

    Output position ``(i, j)`` sees the input window starting at ``(i·s_r, j·s_c)``, flattened
    in ``(kernel row, kernel column, channel)`` order, and multiplies it by its own
    ``[kh·kw·channels, filters]`` matrix. Weights follow Keras 1/2: ``kernel`` of shape
    ``[out_rows·out_cols, kh·kw·channels, filters]`` (positions row-major) and ``bias`` of shape
    ``[out_rows, out_cols, filters]``. Only ``padding="valid"`` exists, as in Keras 2; pad with
    ``ZeroPadding2D`` first (the CaloGAN does).

    Args:
        filters: output channels.
        kernel_size: window size, an int or ``(rows, columns)``.
        strides: steps of the window, an int or ``(rows, columns)``.
        padding: must be ``"valid"``.
        use_bias: add a bias per output position and filter.
        activation: Keras activation applied last.
        kernel_initializer, bias_initializer: Keras initialisers of the weights.
        kernel_regularizer, bias_regularizer: Keras regularisers of the weights.
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``, …).

    Call arguments:
        inputs: ``[batch, rows, columns, channels]``.

    Returns:
        ``[batch, out_rows, out_cols, filters]`` with ``out = (in - kernel) // stride + 1``.

    Raises:
        caloml.errors.InputError: a padding other than ``"valid"``, a bad size or stride, or an
            input that is not 4-D or smaller than the kernel.
    """

    def __init__(self, filters: int, kernel_size: int | tuple[int, int],
                 strides: int | tuple[int, int] = (1, 1), padding: str = "valid",
                 use_bias: bool = True, activation: Any = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(filters, bool) or not isinstance(filters, int) or filters < 1:
            raise InputError(f"LocallyConnected2D: filters must be a positive integer, "
                             f"got {filters!r}")
        if not isinstance(padding, str) or padding.lower() != "valid":
            raise InputError(f"LocallyConnected2D: padding must be 'valid' (zero-pad with "
                             f"ZeroPadding2D first), got {padding!r}")
        self.filters = filters
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.strides = _pair(strides, "strides")
        self.padding = "valid"
        self.use_bias = bool(use_bias)
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.input_spec = layers.InputSpec(ndim=4)

    def _output_size(self, input_shape) -> tuple[int, int]:
        if len(input_shape) != 4:
            raise InputError(f"LocallyConnected2D {self.name!r}: expected inputs "
                             f"[batch, rows, columns, channels], got shape {tuple(input_shape)}")
        rows, cols = input_shape[1], input_shape[2]
        if rows is None or cols is None or input_shape[3] is None:
            raise InputError(f"LocallyConnected2D {self.name!r}: rows, columns and channels must "
                             f"be known, got shape {tuple(input_shape)}")
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        if rows < kh or cols < kw:
            raise InputError(f"LocallyConnected2D {self.name!r}: input of {rows}×{cols} pixels is "
                             f"smaller than the {kh}×{kw} kernel (padding is 'valid')")
        return (rows - kh) // sh + 1, (cols - kw) // sw + 1

    def build(self, input_shape):
        out_rows, out_cols = self._output_size(input_shape)
        kh, kw = self.kernel_size
        channels = int(input_shape[3])
        self.kernel = self.add_weight(
            name="kernel", shape=(out_rows * out_cols, kh * kw * channels, self.filters),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(out_rows, out_cols, self.filters),
                initializer=self.bias_initializer, regularizer=self.bias_regularizer)
        else:
            self.bias = None
        self.input_spec = layers.InputSpec(ndim=4, axes={3: channels})

    def call(self, inputs):
        out_rows, out_cols = self._output_size(inputs.shape)
        rows, cols, channels = inputs.shape[1:]
        kh, kw = self.kernel_size
        positions, window = out_rows * out_cols, kh * kw * channels
        # One gather of the flattened pixels builds every window at once, [batch, P·kh·kw, C]
        # = [batch, P, K] in (kh, kw, C) order. On TensorFlow's CPU kernels this is ~4× faster,
        # forward plus backward, than stacking kh·kw strided slices (whose StridedSlice and
        # StridedSliceGrad kernels dominate the step); the matmul is then most of the cost.
        pixels = _window_pixels(rows, cols, self.kernel_size, self.strides)
        patches = ops.take(ops.reshape(inputs, (-1, rows * cols, channels)), pixels, axis=1)
        patches = ops.reshape(patches, (-1, positions, window))
        # Position-major, one batched [batch, K] × [K, filters] matmul per output position.
        outputs = ops.matmul(ops.transpose(patches, (1, 0, 2)), self.kernel)
        outputs = ops.reshape(ops.transpose(outputs, (1, 0, 2)),
                              (-1, out_rows, out_cols, self.filters))
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        out_rows, out_cols = self._output_size(input_shape)
        return (input_shape[0], out_rows, out_cols, self.filters)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "use_bias": self.use_bias,
            "activation": activations.serialize(self.activation),
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
        }
