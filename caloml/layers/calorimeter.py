"""Parameter-free calorimeter layers: energies, sparsity, energy features and conditioning.

Registered layers for what the original GANs wrote as ``Lambda`` layers (which Keras 3 will
not load in safe mode): a layer's energy and sparsity (CaloGAN ``ops.calculate_energy``,
``ops.sparsity_level``), the discriminator's energy-conservation features (CaloGAN
``train.py``), and the multiplicative energy conditioning of the latent vector (CaloGAN and
3DGAN generators). Energies are in whatever unit the images carry (GeV in the CaloGAN).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers, ops

from caloml.errors import InputError


def _flat(inputs):
    """``[batch, ...]`` → ``[batch, cells]``."""
    cells = 1
    for size in inputs.shape[1:]:
        cells *= size
    return ops.reshape(inputs, (-1, cells))


def _check_known(layer: layers.Layer, shape) -> None:
    if len(shape) < 2 or any(size is None for size in shape[1:]):
        raise InputError(f"{type(layer).__name__} {layer.name!r}: expected inputs [batch, ...] "
                         f"with known non-batch sizes, got shape {tuple(shape)}")


@keras.saving.register_keras_serializable(package="caloml")
class CellSum(layers.Layer):
    """The sum of all cells of each example: a calorimeter layer's energy.

    Call arguments:
        inputs: ``[batch, ...]`` (e.g. ``[batch, rows, columns, 1]``).

    Returns:
        ``[batch, 1]``.
    """

    def build(self, input_shape):
        _check_known(self, input_shape)

    def call(self, inputs):
        return ops.sum(_flat(inputs), axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)


@keras.saving.register_keras_serializable(package="caloml")
class Sparsity(layers.Layer):
    """The fraction of cells above a threshold (CaloGAN's ``sparsity_level``: cells > 0).

    A step function of the cells: its gradient is zero, so it informs a discriminator but
    gives the generator no signal.

    Args:
        threshold: a cell counts when strictly above it.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Call arguments:
        inputs: ``[batch, ...]``.

    Returns:
        ``[batch, 1]``, in [0, 1].
    """

    def __init__(self, threshold: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.threshold = float(threshold)

    def build(self, input_shape):
        _check_known(self, input_shape)

    def call(self, inputs):
        above = ops.cast(ops.greater(_flat(inputs), self.threshold), self.compute_dtype)
        return ops.mean(above, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "threshold": self.threshold}


@keras.saving.register_keras_serializable(package="caloml")
class EnergyConservation(layers.Layer):
    """The CaloGAN discriminator's energy features (``train.py``; energies in GeV there).

    ``concat(layer_energies / layer_scale, total / total_scale, |total - requested|,
    flag_value · 1[|total - requested| > tolerance])``: scaled layer and total energies, the
    mismatch between the shower's energy and the requested one, and a flag when it exceeds the
    tolerance.

    Args:
        layer_scale: divisor of the layer energies (CaloGAN: 10 GeV).
        total_scale: divisor of the total energy (CaloGAN: 100 GeV).
        tolerance: mismatch above which the flag is raised (CaloGAN: 5 GeV).
        flag_value: value of the raised flag (CaloGAN: 10).
        **kwargs: base ``keras.layers.Layer`` arguments.

    Call arguments:
        inputs: ``[layer_energies [batch, L], total [batch, 1], requested [batch, 1]]``.

    Returns:
        ``[batch, L + 3]``.
    """

    def __init__(self, layer_scale: float = 10.0, total_scale: float = 100.0,
                 tolerance: float = 5.0, flag_value: float = 10.0, **kwargs: Any):
        super().__init__(**kwargs)
        for name, value in (("layer_scale", layer_scale), ("total_scale", total_scale)):
            if not value:
                raise InputError(f"EnergyConservation: {name} must be non-zero (a divisor), "
                                 f"got {value!r}")
        self.layer_scale = float(layer_scale)
        self.total_scale = float(total_scale)
        self.tolerance = float(tolerance)
        self.flag_value = float(flag_value)

    def build(self, input_shape):
        if len(input_shape) != 3 or any(len(s) != 2 for s in input_shape):
            raise InputError(f"EnergyConservation {self.name!r}: expected inputs "
                             f"[layer_energies [batch, L], total [batch, 1], requested "
                             f"[batch, 1]], got shapes {input_shape}")

    def call(self, inputs):
        layer_energies, total, requested = inputs
        mismatch = ops.abs(total - requested)
        flag = ops.cast(ops.greater(mismatch, self.tolerance), mismatch.dtype)
        return ops.concatenate([layer_energies / self.layer_scale, total / self.total_scale,
                                mismatch, flag * self.flag_value], axis=-1)

    def compute_output_shape(self, input_shape):
        layers_in = input_shape[0][1]
        return (input_shape[0][0], None if layers_in is None else layers_in + 3)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layer_scale": self.layer_scale,
                "total_scale": self.total_scale, "tolerance": self.tolerance,
                "flag_value": self.flag_value}


@keras.saving.register_keras_serializable(package="caloml")
class EnergyConditioning(layers.Layer):
    """Multiplicative conditioning of the latent vector on the energy (CaloGAN, 3DGAN).

    ``z · energy / energy_scale``, times a class embedding when one is given (the CaloGAN's
    ACGAN mode multiplies z by ``Embedding(classes, latent)`` of the particle).

    Args:
        energy_scale: divisor of the energy (CaloGAN and 3DGAN: 100 GeV).
        **kwargs: base ``keras.layers.Layer`` arguments.

    Call arguments:
        inputs: ``[z [batch, D], energy [batch, 1]]`` or
            ``[z [batch, D], energy [batch, 1], class_embedding [batch, D]]``.

    Returns:
        ``[batch, D]``.
    """

    def __init__(self, energy_scale: float = 100.0, **kwargs: Any):
        super().__init__(**kwargs)
        if not energy_scale:
            raise InputError(f"EnergyConditioning: energy_scale must be non-zero (a divisor), "
                             f"got {energy_scale!r}")
        self.energy_scale = float(energy_scale)

    def build(self, input_shape):
        if len(input_shape) not in (2, 3) or any(len(s) != 2 for s in input_shape):
            raise InputError(f"EnergyConditioning {self.name!r}: expected inputs [z [batch, D], "
                             f"energy [batch, 1]] and optionally a class embedding "
                             f"[batch, D], got shapes {input_shape}")

    def call(self, inputs):
        z, energy = inputs[0], inputs[1]
        outputs = z * (energy / self.energy_scale)
        if len(inputs) == 3:
            outputs = outputs * inputs[2]
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "energy_scale": self.energy_scale}
