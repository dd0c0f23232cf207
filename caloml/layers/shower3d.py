"""Parameter-free layers on 3D calorimeter showers: power scaling, measured angle, bin counts.

Registered layers for what 3DGAN (svalleco/3Dgan, ``keras/AngleArch3dGAN.py``) wrote as
``Lambda`` layers on its discriminator's input: the cells raised back from the network's power
(``K.pow(image, 1 / power)``), the polar angle of the shower axis measured from the cells
(``ecal_angle``) and the counts of cells in bins of intensity (``count``). The angle and the
counts are outputs whose losses train the generator through the discriminator, so the angle is
differentiable with respect to the cells, with finite gradients for empty showers; the counts
are step functions of the cells (zero gradient).

Showers are ``[batch, x, y, layer]`` or ``[batch, x, y, layer, 1]`` windows with x across the
beam (r phi), y along the beam and ``layer`` the depth, as in the 3DGAN files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from caloml.errors import InputError

# Depth variances (mm^2) at or below this mean all the energy is in one layer: no slope to
# measure (the value caloml.data.threedgan.measured_theta uses).
MIN_DEPTH_VARIANCE_MM2 = 1e-12
# 3DGAN's intensity-bin limits (AngleArch3dGAN ``count``, REFERENCES.md §2.2), in the files'
# units before the power; the bins are (l0, inf), (l1, l0), ..., (0, l5) and == 0.
BIN_LIMITS = (0.05, 0.03, 0.02, 0.0125, 0.008, 0.003)


def _check_window(layer: layers.Layer, shape) -> None:
    """Accepts ``[batch, x, y, layer]`` or ``[batch, x, y, layer, 1]`` with known sizes."""
    shape = tuple(shape)
    if len(shape) not in (4, 5) or (len(shape) == 5 and shape[4] != 1) or any(
            size is None for size in shape[1:]):
        raise InputError(f"{type(layer).__name__} {layer.name!r}: expected showers [batch, x, "
                         f"y, layer] or [batch, x, y, layer, 1] with known sizes, got shape "
                         f"{shape}")


@keras.saving.register_keras_serializable(package="caloml")
class PowerScale(layers.Layer):
    """``x ** exponent`` of non-negative cells (3DGAN's cell power and its inverse).

    The derivative ``exponent · x ** (exponent - 1)`` is 0 at ``x = 0`` when ``exponent > 1``
    (e.g. 1 / 0.85, which undoes the power in the discriminator and after the generator), but
    infinite when ``exponent < 1``: a power below 1 must never sit behind a generator's output,
    whose empty cells would then send infinite gradients (apply it to the data instead).
    Negative inputs, which neither the files nor a ReLU output hold, count as 0 (a fractional
    power of a negative number is undefined).

    Args:
        exponent: a positive power.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Call arguments:
        inputs: any shape ``[batch, ...]``.

    Returns:
        The same shape.
    """

    def __init__(self, exponent: float, **kwargs: Any):
        super().__init__(**kwargs)
        exponent = float(exponent)
        if not np.isfinite(exponent) or exponent <= 0:
            raise InputError(f"PowerScale: exponent must be a positive number, got {exponent!r}")
        self.exponent = exponent

    def call(self, inputs):
        return ops.power(ops.maximum(inputs, 0.0), self.exponent)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "exponent": self.exponent}


@keras.saving.register_keras_serializable(package="caloml")
class MeasuredAngle(layers.Layer):
    """Polar angle of the shower axis, as :func:`caloml.data.threedgan.measured_theta`.

    With cell energies ``E``, beam coordinates ``b`` (y), transverse ``t`` (x) and the real
    layer depths ``z`` (mm), the energy-weighted least-squares slopes are
    ``slope_b = cov(b, z) / var(z)`` and ``slope_t = cov(t, z) / var(z)``, and the angle is
    ``atan2(sqrt(1 + slope_t²), slope_b)`` in (0, pi); ``undefined_value`` for a shower without
    energy or with all its energy in one layer (var(z) ≤ 1e-12 mm²).

    In float32, var(z) is computed as ``½ Σ_lm e_l e_m (z_l − z_m)²`` over the layer energy
    fractions ``e`` (a sum of non-negative terms, exactly 0 for one layer) and the covariances
    as ``Σ_l m_l Σ_m e_m (z_l − z_m)`` with ``m_l`` the layer's first moment over the total:
    no mean depth is subtracted, so a one-layer shower is recognised exactly, as in float64.
    Empty and one-layer showers take their value through a double ``where`` (safe divisors
    in the branch not taken), so their gradients are finite (zero).

    Args:
        cell_size_mm: transverse cell size (CLIC: 5.1 mm).
        layer_depth_mm: depth of each layer ``[layer]`` in mm (only differences matter).
        undefined_value: the angle of showers without a slope (3DGAN: 100).
        **kwargs: base ``keras.layers.Layer`` arguments.

    Call arguments:
        inputs: cell energies ``[batch, x, y, layer]`` or ``[batch, x, y, layer, 1]``, ≥ 0
            (any unit: only ratios matter).

    Returns:
        ``[batch, 1]`` float32, radians (or ``undefined_value``).
    """

    def __init__(self, cell_size_mm: float, layer_depth_mm: Sequence[float],
                 undefined_value: float = 100.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.cell_size_mm = float(cell_size_mm)
        self.layer_depth_mm = [float(z) for z in layer_depth_mm]
        self.undefined_value = float(undefined_value)
        if not np.isfinite(self.cell_size_mm) or self.cell_size_mm <= 0:
            raise InputError(f"MeasuredAngle: cell_size_mm must be positive, got {cell_size_mm!r}")
        if len(self.layer_depth_mm) < 2 or not np.all(np.isfinite(self.layer_depth_mm)):
            raise InputError(f"MeasuredAngle: layer_depth_mm must hold two or more finite "
                             f"depths, got {layer_depth_mm!r}")

    def build(self, input_shape):
        _check_window(self, input_shape)
        num_x, num_y, num_layers = input_shape[1:4]
        if num_layers != len(self.layer_depth_mm):
            raise InputError(f"MeasuredAngle {self.name!r}: {len(self.layer_depth_mm)} layer "
                             f"depths for showers of {num_layers} layers (shape "
                             f"{tuple(input_shape)})")

        def centred(num_cells: int) -> np.ndarray:
            return ((np.arange(num_cells) - (num_cells - 1) / 2) * self.cell_size_mm)

        depth = np.asarray(self.layer_depth_mm, np.float64)
        difference = depth[:, None] - depth[None, :]  # [l, m] = z_l - z_m, exact in float64
        self._t_mm = centred(num_x).astype("float32")
        self._b_mm = centred(num_y).astype("float32")
        # (e @ difference.T)[l] = Σ_m e_m (z_l - z_m); (e @ squared)[l] = Σ_m e_m (z_l - z_m)².
        self._difference_t = difference.T.astype("float32")
        self._squared = (difference**2).astype("float32")

    def call(self, inputs):
        cells = ops.cast(inputs, "float32")
        if len(cells.shape) == 5:
            cells = ops.squeeze(cells, axis=-1)
        along = ops.sum(cells, axis=1)  # [batch, y, layer]
        across = ops.sum(cells, axis=2)  # [batch, x, layer]
        layer_sum = ops.sum(along, axis=1)  # [batch, layer]
        total = ops.sum(layer_sum, axis=1, keepdims=True)
        has_energy = ops.greater(total, 0.0)
        safe_total = ops.where(has_energy, total, ops.ones_like(total))
        fraction = layer_sum / safe_total
        moment_b = ops.einsum("byl,y->bl", along, ops.convert_to_tensor(self._b_mm)) / safe_total
        moment_t = ops.einsum("bxl,x->bl", across, ops.convert_to_tensor(self._t_mm)) / safe_total
        dz = ops.matmul(fraction, ops.convert_to_tensor(self._difference_t))  # z_l - <z>
        cov_b = ops.sum(moment_b * dz, axis=1, keepdims=True)
        cov_t = ops.sum(moment_t * dz, axis=1, keepdims=True)
        var_z = 0.5 * ops.sum(
            fraction * ops.matmul(fraction, ops.convert_to_tensor(self._squared)), axis=1,
            keepdims=True)
        defined = ops.logical_and(has_energy, ops.greater(var_z, MIN_DEPTH_VARIANCE_MM2))
        safe_var = ops.where(defined, var_z, ops.ones_like(var_z))
        slope_b = cov_b / safe_var
        slope_t = cov_t / safe_var
        theta = ops.arctan2(ops.sqrt(1.0 + ops.square(slope_t)), slope_b)
        return ops.where(defined, theta, ops.full_like(theta, self.undefined_value))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cell_size_mm": self.cell_size_mm,
                "layer_depth_mm": list(self.layer_depth_mm),
                "undefined_value": self.undefined_value}


@keras.saving.register_keras_serializable(package="caloml")
class IntensityBinCounts(layers.Layer):
    """Counts of cells per intensity bin (3DGAN's ``count`` for the binned-intensity loss).

    On cells raised to ``power``, with ``L_i = limits[i] ** power``: the number of cells in
    (L_0, ∞), (L_1, L_0), ..., (0, L_last), then the number equal to 0. Every comparison is
    strict, as the original's: a cell exactly on a limit is in no bin (nor is a negative one).
    Raw counts: 3DGAN's loss replaces empty bins of the target by 1, which is the trainer's
    business. A step function of the cells: zero gradient.

    Args:
        power: the power the cells carry (3DGAN: 0.85).
        limits: decreasing positive limits in the unit before the power (3DGAN: 0.05, 0.03,
            0.02, 0.0125, 0.008, 0.003).
        **kwargs: base ``keras.layers.Layer`` arguments.

    Call arguments:
        inputs: ``[batch, ...]`` cells raised to ``power``.

    Returns:
        ``[batch, len(limits) + 2]`` float32 counts (8 with the default limits).
    """

    def __init__(self, power: float, limits: Sequence[float] = BIN_LIMITS, **kwargs: Any):
        super().__init__(**kwargs)
        self.power = float(power)
        self.limits = [float(limit) for limit in limits]
        if not np.isfinite(self.power) or self.power <= 0:
            raise InputError(f"IntensityBinCounts: power must be positive, got {power!r}")
        if not self.limits or self.limits[-1] <= 0 or any(
                a <= b for a, b in zip(self.limits, self.limits[1:], strict=False)):
            raise InputError(f"IntensityBinCounts: limits must be positive and strictly "
                             f"decreasing, got {list(limits)!r}")

    @property
    def num_bins(self) -> int:
        return len(self.limits) + 2

    def call(self, inputs):
        cells = ops.reshape(ops.cast(inputs, "float32"), (ops.shape(inputs)[0], -1))
        edges = [float(np.float32(limit**self.power)) for limit in self.limits] + [0.0]

        def count(mask):
            return ops.sum(ops.cast(mask, "float32"), axis=1, keepdims=True)

        counts = [count(ops.greater(cells, edges[0]))]
        counts += [count(ops.logical_and(ops.greater(cells, low), ops.less(cells, high)))
                   for high, low in zip(edges, edges[1:], strict=False)]
        counts.append(count(ops.equal(cells, 0.0)))
        return ops.concatenate(counts, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_bins)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "power": self.power, "limits": list(self.limits)}
