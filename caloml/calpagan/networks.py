"""Networks of CALPAGAN (paper 002): the U-Net generator, the PatchGAN discriminator and the
inference wrapper that turns fast-simulation tower images into detailed ones in GeV.

§3.1, Fig. 3; the original code (byrkbrk/calpagan-experiment ``models.py``, the U-Net of the
pix2pix course template, REFERENCES.md §6).

- :class:`UNetGenerator`: [normalised fast image, U(0, 1) noise] → normalised detailed image.
- :class:`PatchDiscriminator`: an image (with its condition, Eq. 1) → one logit per patch.
- :class:`FastToDetailed`: fast image in GeV → detailed image in GeV (per-event max
  normalisation, a noise channel, the generator, the energy scale back).
- :func:`normalise_pair`, :func:`output_scale`: the per-event max normalisation of §3 (or the
  original code's) for the data pipeline, and the energy scale the wrapper needs.

Images are channels-last, ``[batch, eta, phi, channels]`` (72 × 72 towers, axis 1 η, axis 2
φ). The settings are the dataclasses of :mod:`caloml.calpagan.config`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from caloml.calpagan.config import (
    NORMALISATIONS,
    DiscriminatorConfig,
    GeneratorConfig,
    as_config,
)
from caloml.errors import InputError

# PyTorch's BatchNorm2d and InstanceNorm2d (the original code): ε = 1e-5 and a running-average
# momentum of 0.1, i.e. Keras' momentum 0.9.
_NORM_EPSILON = 1e-5
_BATCH_NORM_MOMENTUM = 0.9


# -------------------------------------------------------------------------------------------
# Layers
# -------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="caloml")
class AlignedBilinearUpSampling2D(layers.Layer):
    """Bilinear up-sampling by an integer factor with aligned corners.

    Output pixel i of an axis of n input pixels samples the input at ``i · (n − 1) / (f·n − 1)``
    (the corner pixels of input and output coincide), linearly interpolated between its two
    neighbours: PyTorch's ``nn.Upsample(scale_factor=f, mode="bilinear", align_corners=True)``,
    the original code's up-sampling. Keras' ``UpSampling2D(interpolation="bilinear")`` samples
    at half-pixel centres instead (PyTorch's ``align_corners=False``), which differs.

    Args:
        factor: the lateral enlargement f.

    Call arguments:
        inputs: ``[batch, h, w, channels]``.

    Returns:
        ``[batch, f·h, f·w, channels]``.
    """

    def __init__(self, factor: int = 2, **kwargs: Any):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def _resize_axis(self, x, axis: int):
        n = ops.shape(x)[axis]
        size = n * self.factor
        scale = ops.cast(n - 1, x.dtype) / ops.cast(ops.maximum(size - 1, 1), x.dtype)
        position = ops.cast(ops.arange(size), x.dtype) * scale
        low = ops.cast(ops.floor(position), "int32")
        high = ops.minimum(low + 1, n - 1)
        fraction = position - ops.cast(low, x.dtype)
        fraction = ops.reshape(fraction, (-1, 1) if axis == 1 else (-1,))
        fraction = ops.expand_dims(fraction, -1)  # broadcast over the channels
        return (ops.take(x, low, axis=axis) * (1.0 - fraction)
                + ops.take(x, high, axis=axis) * fraction)

    def call(self, inputs):
        return self._resize_axis(self._resize_axis(inputs, 1), 2)

    def compute_output_shape(self, input_shape):
        batch, h, w, c = input_shape
        f = self.factor
        return (batch, None if h is None else h * f, None if w is None else w * f, c)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="caloml")
class MaxNormalisation(layers.Layer):
    """Divides each event's image by its highest pixel (§3), keeping that maximum.

    An empty event (maximum 0) stays all zero.

    Call arguments:
        inputs: ``[batch, eta, phi]`` tower energies in GeV.

    Returns:
        ``(normalised [batch, eta, phi, 1] in [0, 1], maximum [batch, 1, 1, 1] GeV)``.
    """

    def call(self, inputs):
        maximum = ops.max(inputs, axis=(1, 2), keepdims=True)
        safe = ops.where(maximum > 0, maximum, ops.ones_like(maximum))
        return (ops.expand_dims(inputs / safe, -1), ops.expand_dims(maximum, -1))

    def compute_output_shape(self, input_shape):
        batch, h, w = input_shape
        return (batch, h, w, 1), (batch, 1, 1, 1)


@keras.saving.register_keras_serializable(package="caloml")
class UniformNoiseChannel(layers.Layer):
    """Appends a channel of U(0, 1) noise, the z of Fig. 2 (original code: ``torch.rand``).

    The draws come from a ``keras.random.SeedGenerator`` seeded by ``seed``: a freshly built
    (or loaded) layer repeats the same sequence of draws.

    Args:
        seed: seed of the noise.

    Call arguments:
        inputs: ``[batch, eta, phi, channels]``.

    Returns:
        ``[batch, eta, phi, channels + 1]``, the noise last.
    """

    def __init__(self, seed: int = 0, **kwargs: Any):
        super().__init__(**kwargs)
        self.seed = int(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def call(self, inputs):
        shape = ops.shape(inputs)
        noise = keras.random.uniform((shape[0], shape[1], shape[2], 1), dtype=inputs.dtype,
                                     seed=self.seed_generator)
        return ops.concatenate([inputs, noise], axis=-1)

    def compute_output_shape(self, input_shape):
        *rest, c = input_shape
        return (*rest, None if c is None else c + 1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="caloml")
class EnergyRescaling(layers.Layer):
    """Generated max-normalised image → tower energies in GeV, rectified and zero-suppressed.

    ``E = ReLU(G · max(fast) · output_scale)``: the generator's LeakyReLU output may be
    negative, energies may not (the original code rectifies its fakes likewise). Towers below
    ``threshold_gev`` are set to 0, as the detailed readout's zero suppression does: the
    generator's output is never exactly 0, and a floor of tiny energies over the 5,184 towers
    would otherwise join every jet.

    Args:
        output_scale: GeV of one generated unit per GeV of the fast image's maximum (see
            :func:`output_scale`).
        threshold_gev: smallest tower energy kept (0: all).

    Call arguments:
        inputs: ``[generated [batch, eta, phi, 1], maximum [batch, 1, 1, 1] GeV]``.

    Returns:
        ``[batch, eta, phi]`` GeV, non-negative.
    """

    def __init__(self, output_scale: float = 1.0, threshold_gev: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.output_scale = float(output_scale)
        self.threshold_gev = float(threshold_gev)

    def call(self, inputs):
        generated, maximum = inputs
        energy = ops.relu(generated[..., 0] * maximum[..., 0] * self.output_scale)
        if self.threshold_gev > 0:
            energy = ops.where(energy >= self.threshold_gev, energy, ops.zeros_like(energy))
        return energy

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:3])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "output_scale": self.output_scale,
                "threshold_gev": self.threshold_gev}


# -------------------------------------------------------------------------------------------
# Blocks
# -------------------------------------------------------------------------------------------


def _kernel_initializer(stddev: float | None):
    # A fresh instance per layer: an unseeded Keras initializer object repeats its draw.
    if stddev is None:
        return keras.initializers.GlorotUniform()
    return keras.initializers.RandomNormal(mean=0.0, stddev=stddev)


def _conv(filters: int, kernel_size: int, name: str, stddev: float | None,
          padding: str = "same") -> layers.Conv2D:
    return layers.Conv2D(filters, kernel_size, padding=padding, name=name,
                         kernel_initializer=_kernel_initializer(stddev))


def _normalisation(kind: str, name: str, synchronized: bool) -> layers.Layer:
    if kind == "batch":
        return layers.BatchNormalization(momentum=_BATCH_NORM_MOMENTUM, epsilon=_NORM_EPSILON,
                                         synchronized=synchronized, name=name)
    # Instance normalisation without an affine transform, as PyTorch's InstanceNorm2d default.
    return layers.GroupNormalization(groups=-1, epsilon=_NORM_EPSILON, center=False,
                                     scale=False, name=name)


def apply_contracting_block(x, filters: int, pool_size: int, name: str, *, normalisation: str,
                            shared_normalisation: bool, leaky_slope: float,
                            stddev: float | None, synchronized: bool = True):
    """2 × [conv 3×3 "same" → ``filters``, normalisation, LeakyReLU], then max-pool.

    §3.1's contracting block (the original code's ``ContractingBlock``).

    Args:
        x: ``[batch, h, w, c]``.
        filters: output channels (2c in the U-Net).
        pool_size: max-pool size and stride.
        name: prefix of the layer names.
        normalisation: ``"batch"`` (generator) or ``"instance"`` (discriminator).
        shared_normalisation: one normalisation layer applied after both convolutions.
        leaky_slope: the LeakyReLUs' negative slope.
        stddev: kernel initialisation (see ``GeneratorConfig.init_stddev``).
        synchronized: cross-replica batch statistics.

    Returns:
        ``[batch, h / pool_size, w / pool_size, filters]`` (floored).
    """
    shared = (_normalisation(normalisation, f"{name}_norm", synchronized)
              if shared_normalisation else None)
    for j in (1, 2):
        x = _conv(filters, 3, f"{name}_conv_{j}", stddev)(x)
        norm = shared or _normalisation(normalisation, f"{name}_norm_{j}", synchronized)
        x = norm(x)
        x = layers.LeakyReLU(negative_slope=leaky_slope, name=f"{name}_activation_{j}")(x)
    return layers.MaxPooling2D(pool_size, strides=pool_size, name=f"{name}_pool")(x)


def apply_expanding_block(x, skip, factor: int, name: str, *, shared_normalisation: bool,
                          leaky_slope: float, align_corners: bool, stddev: float | None,
                          synchronized: bool = True):
    """§3.1's expanding block (the original code's ``ExpandingBlock``), C → C/2 channels.

    Bilinear up-sampling ×``factor`` (f·n) → conv 2×2 valid C → C/2 (f·n − 1) → the skip
    connection cropped to that size (its last row and column dropped, the original's ``crop``)
    and concatenated after it (C) → conv 3×3 "same" C → C/2, batch norm, LeakyReLU → zero
    padding 1 and conv 2×2 valid C/2 → C/2 (f·n again), batch norm, LeakyReLU.

    Args:
        x: ``[batch, n, n, C]``.
        skip: ``[batch, f·n, f·n, C/2]``, the output of the mirrored contracting block.
        factor: the up-sampling factor f.
        name: prefix of the layer names.
        shared_normalisation: one batch normalisation applied after both 3×3 and 2×2 convs.
        leaky_slope: the LeakyReLUs' negative slope.
        align_corners: :class:`AlignedBilinearUpSampling2D` (the original code) or Keras'
            half-pixel bilinear ``UpSampling2D``.
        stddev: kernel initialisation (see ``GeneratorConfig.init_stddev``).
        synchronized: cross-replica batch statistics.

    Returns:
        ``[batch, f·n, f·n, C/2]``.
    """
    channels = x.shape[-1] // 2
    if align_corners:
        x = AlignedBilinearUpSampling2D(factor, name=f"{name}_upsample")(x)
    else:
        x = layers.UpSampling2D(factor, interpolation="bilinear", name=f"{name}_upsample")(x)
    x = _conv(channels, 2, f"{name}_conv_1", stddev, padding="valid")(x)
    skip = layers.Cropping2D(((0, 1), (0, 1)), name=f"{name}_crop")(skip)
    x = layers.Concatenate(name=f"{name}_concat")([x, skip])
    shared = (_normalisation("batch", f"{name}_norm", synchronized)
              if shared_normalisation else None)
    for j in (1, 2):
        if j == 2:
            x = layers.ZeroPadding2D(1, name=f"{name}_pad")(x)
        x = _conv(channels, 3 if j == 1 else 2, f"{name}_conv_{j + 1}", stddev,
                  padding="same" if j == 1 else "valid")(x)
        norm = shared or _normalisation("batch", f"{name}_norm_{j}", synchronized)
        x = norm(x)
        x = layers.LeakyReLU(negative_slope=leaky_slope, name=f"{name}_activation_{j}")(x)
    return x


# -------------------------------------------------------------------------------------------
# Networks
# -------------------------------------------------------------------------------------------


class _ConfiguredModel(keras.Model):
    """A functional model built from one config dataclass; serialises that config."""

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable,
                "config": dataclasses.asdict(self.config)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> _ConfiguredModel:
        return cls(**config)


@keras.saving.register_keras_serializable(package="caloml")
class UNetGenerator(_ConfiguredModel):
    """The U-Net generator of CALPAGAN (§3.1, Fig. 3), fully convolutional.

    1×1 conv 2 → 16 (x0, 72²×16) → contracting blocks 16 → 32 → 64 → 128 → 256 → 512 with
    max-pools 2, 2, 2, 3, 3 (x1 36², x2 18², x3 9², x4 3², x5 1²) → expanding blocks with
    up-sampling 3, 3, 2, 2, 2, each joined by the output of its mirrored contracting block
    (x4 … x0) → 1×1 conv 16 → 1 → LeakyReLU(0.5). With the defaults it has 7,342,353
    trainable parameters (with the original code's shared batch norms: 7,339,377).

    Args:
        config: a :class:`GeneratorConfig` (or its dict); None takes the paper's values.
        name: the model's name.

    Call arguments:
        inputs: ``[batch, H, W, 2]``: the normalised fast image and U(0, 1) noise; H and W
            multiples of ``config.downscale`` (72 for the paper's 72×72 images).

    Returns:
        ``[batch, H, W, 1]``, the normalised detailed image (unbounded; LeakyReLU(0.5)).
    """

    def __init__(self, config: GeneratorConfig | dict | None = None,
                 name: str = "calpagan_generator", **kwargs: Any):
        config = as_config(GeneratorConfig, config)
        stddev, slope = config.init_stddev, config.leaky_slope
        inputs = keras.Input((None, None, 2), name="condition_and_noise")
        x = _conv(config.hidden_channels, 1, "upfeature", stddev)(inputs)
        skips = [x]
        channels = config.hidden_channels
        for i, pool in enumerate(config.pool_sizes, start=1):
            channels *= 2
            x = apply_contracting_block(
                x, channels, pool, f"contract_{i}", normalisation="batch",
                shared_normalisation=config.shared_batch_norm, leaky_slope=slope,
                stddev=stddev, synchronized=config.synchronized_batch_norm)
            skips.append(x)
        skips.pop()  # the bottleneck joins nothing
        for i, (factor, skip) in enumerate(zip(config.upsampling, reversed(skips), strict=True),
                                           start=1):
            x = apply_expanding_block(
                x, skip, factor, f"expand_{i}", shared_normalisation=config.shared_batch_norm,
                leaky_slope=slope, align_corners=config.align_corners, stddev=stddev,
                synchronized=config.synchronized_batch_norm)
        x = _conv(1, 1, "downfeature", stddev)(x)
        outputs = layers.LeakyReLU(negative_slope=config.output_slope,
                                   name="output_activation")(x)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.config = config


@keras.saving.register_keras_serializable(package="caloml")
class PatchDiscriminator(_ConfiguredModel):
    """The PatchGAN discriminator of CALPAGAN (§3.1), fully convolutional.

    1×1 conv → 8 channels → three contracting blocks 8 → 16 → 32 → 64 with instance
    normalisation (no affine parameters, PyTorch's ``InstanceNorm2d`` default, which the
    original code uses) and max-pool 2 → 1×1 conv → 1 logit per patch. Conditional (Eq. 1,
    default): 72,889 trainable parameters; image only (original code): 72,881.

    Args:
        config: a :class:`DiscriminatorConfig` (or its dict); None takes the paper's values.
        name: the model's name.

    Call arguments:
        inputs: ``[batch, H, W, config.input_channels]``: [condition, image] when conditional,
            else the image (normalised images, H and W multiples of ``config.downscale``).

    Returns:
        Patch logits ``[batch, H / 8, W / 8, 1]`` (9×9 for 72×72 images).
    """

    def __init__(self, config: DiscriminatorConfig | dict | None = None,
                 name: str = "calpagan_discriminator", **kwargs: Any):
        config = as_config(DiscriminatorConfig, config)
        stddev = config.init_stddev
        inputs = keras.Input((None, None, config.input_channels), name="images")
        x = _conv(config.hidden_channels, 1, "upfeature", stddev)(inputs)
        channels = config.hidden_channels
        for i in range(1, config.num_blocks + 1):
            channels *= 2
            x = apply_contracting_block(
                x, channels, 2, f"contract_{i}", normalisation="instance",
                shared_normalisation=False, leaky_slope=config.leaky_slope, stddev=stddev)
        outputs = _conv(1, 1, "patch_logits", stddev)(x)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.config = config


@keras.saving.register_keras_serializable(package="caloml")
class FastToDetailed(keras.Model):
    """Fast-simulation tower images in GeV → detailed-simulation ones in GeV (inference).

    fast [B, η, φ] → divided by each event's highest tower (§3; an empty event stays empty) →
    with a U(0, 1) noise channel → ``generator`` → × max(fast) × ``output_scale`` → ReLU →
    towers below ``threshold_gev`` set to 0 (the detailed readout's zero suppression).

    ``output_scale`` converts the generator's units into GeV per GeV of the fast maximum:

    * ``normalisation="condition_max"`` (the original code: both images of a pair divided by
      the fast image's maximum): 1;
    * ``normalisation="per_image"`` (§3, the default: the detailed image divided by its own
      maximum): the generator learns max-normalised images and the energy scale is lost, so
      it is restored on average with the training set's mean of max(detailed) / max(fast)
      (:func:`output_scale`). The paper does not say how it goes back to GeV (README,
      deviations).

    The generator runs in inference mode (batch-norm moving averages); the original code
    generates its test images in training mode (the statistics of the test batch).

    Args:
        generator: a trained :class:`UNetGenerator` (or its serialised dict).
        normalisation: the training's ``TrainingConfig.normalisation``.
        output_scale: see above; > 0, and 1 for ``"condition_max"``.
        seed: seed of the noise channel's ``SeedGenerator``.
        threshold_gev: smallest generated tower energy kept (the experiment takes the smallest
            non-zero detailed tower of the training events); 0 keeps all.
        name: the model's name.

    Call arguments:
        inputs: ``[batch, eta, phi]`` fast tower energies in GeV (72×72).

    Returns:
        ``[batch, eta, phi]`` detailed tower energies in GeV, ≥ 0.
    """

    def __init__(self, generator: keras.Model | dict, normalisation: str = "per_image",
                 output_scale: float = 1.0, seed: int = 0, threshold_gev: float = 0.0,
                 name: str = "fast_to_detailed", **kwargs: Any):
        if isinstance(generator, dict):
            generator = keras.saving.deserialize_keras_object(generator)
        if normalisation not in NORMALISATIONS:
            raise InputError(f"normalisation must be one of {', '.join(NORMALISATIONS)}, got "
                             f"{normalisation!r}")
        if not np.isfinite(output_scale) or output_scale <= 0:
            raise InputError(f"output_scale must be a finite number > 0, got {output_scale!r}")
        if not np.isfinite(threshold_gev) or threshold_gev < 0:
            raise InputError(f"threshold_gev must be a finite number >= 0, got "
                             f"{threshold_gev!r}")
        if normalisation == "condition_max" and output_scale != 1.0:
            raise InputError(f"output_scale must be 1 for condition_max normalisation (the "
                             f"generator learns GeV per GeV of the fast maximum), got "
                             f"{output_scale!r}")
        inputs = keras.Input((None, None), name="fast_energy_gev")
        normalised, maximum = MaxNormalisation(name="max_normalisation")(inputs)
        x = UniformNoiseChannel(seed, name="noise")(normalised)
        generated = generator(x)
        outputs = EnergyRescaling(output_scale, threshold_gev, name="energy_gev")(
            [generated, maximum])
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.generator = generator
        self.normalisation = normalisation
        self.output_scale = float(output_scale)
        self.seed = int(seed)
        self.threshold_gev = float(threshold_gev)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable,
                "generator": keras.saving.serialize_keras_object(self.generator),
                "normalisation": self.normalisation, "output_scale": self.output_scale,
                "seed": self.seed, "threshold_gev": self.threshold_gev}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FastToDetailed:
        return cls(**config)


# -------------------------------------------------------------------------------------------
# Normalisation of the data
# -------------------------------------------------------------------------------------------


def _event_max(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).max(axis=1)


def _check_pair(fast, detailed, normalisation: str) -> tuple[np.ndarray, np.ndarray]:
    if normalisation not in NORMALISATIONS:
        raise InputError(f"normalisation must be one of {', '.join(NORMALISATIONS)}, got "
                         f"{normalisation!r}")
    fast = np.asarray(fast, dtype=np.float32)
    detailed = np.asarray(detailed, dtype=np.float32)
    if fast.shape != detailed.shape or fast.ndim < 2 or len(fast) == 0:
        raise InputError(f"fast and detailed images must be non-empty batches of one shape "
                         f"[events, eta, phi], got {fast.shape} and {detailed.shape}")
    return fast, detailed


def normalise_pair(fast, detailed, normalisation: str
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The per-event max normalisation of a batch of (fast, detailed) image pairs.

    ``x = fast / max(fast)``, and ``y = detailed / max(detailed)`` (``"per_image"``, §3) or
    ``y = detailed / max(fast)`` (``"condition_max"``, the original code). An empty image is
    divided by 1 (it stays all zero).

    Args:
        fast: ``[events, eta, phi]`` (or ``[..., 1]``) fast tower energies in GeV.
        detailed: the same shape, detailed tower energies in GeV.
        normalisation: ``"per_image"`` or ``"condition_max"``.

    Returns:
        ``(x, y, scale_gev)``: the normalised images (float32, the input shape) and, per event,
        the GeV of one unit of ``y`` (``detailed = y · scale_gev``): max(detailed) or max(fast).
    """
    fast, detailed = _check_pair(fast, detailed, normalisation)
    fast_max = _event_max(fast)
    target_max = _event_max(detailed) if normalisation == "per_image" else fast_max
    expand = (slice(None),) + (None,) * (fast.ndim - 1)
    x = fast / np.where(fast_max > 0, fast_max, 1.0)[expand]
    y = detailed / np.where(target_max > 0, target_max, 1.0)[expand]
    return x.astype(np.float32), y.astype(np.float32), target_max.astype(np.float32)


def output_scale(fast, detailed, normalisation: str) -> float:
    """The :class:`FastToDetailed` ``output_scale`` of a training set.

    Args:
        fast, detailed: ``[events, eta, phi]`` training images in GeV.
        normalisation: the training's normalisation.

    Returns:
        1 for ``"condition_max"``; for ``"per_image"`` the mean over events with both images
        non-empty of max(detailed) / max(fast).
    """
    fast, detailed = _check_pair(fast, detailed, normalisation)
    if normalisation == "condition_max":
        return 1.0
    fast_max, detailed_max = _event_max(fast), _event_max(detailed)
    both = (fast_max > 0) & (detailed_max > 0)
    if not np.any(both):
        raise InputError("no event has both a non-empty fast and a non-empty detailed image; "
                         "the energy scale of per-image normalisation is undefined")
    return float(np.mean(detailed_max[both] / fast_max[both]))
