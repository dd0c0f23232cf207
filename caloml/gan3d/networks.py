"""Networks of 3DGAN (paper 003 §4): a 3D convolutional generator and discriminator.

- :class:`Gan3DGenerator`: the requested energy (and angle) and Gaussian numbers → a Dense
  pre-image → 3D upsampling and convolutions → the ECAL window of cells raised to the power p
  (0.85), and the same cells raised back to 1/p in the files' units.
- :class:`Gan3DDiscriminator`: four 3D convolutions → average pooling → a real/fake logit and
  the regressed energy, plus parameter-free physics heads on the cells raised back to 1/p:
  their sum, the measured angle of the shower axis and the counts of cells in 8 intensity
  bins (:mod:`caloml.layers.shower3d`), which the loss compares with the requests.

Three architectures (``config.architecture``, :data:`caloml.gan3d.config.ARCHITECTURES`):

- ``anglegan`` (default): the code that produced the paper's showers (svalleco/3Dgan
  ``keras/AngleArch3dGAN.py``, REFERENCES.md §2.2).
- ``paper_text``: the generator as paper §4.1 words it (64 filters 6×6×8, then 6 of 5×8×8
  and 3×5×8, a single 2×2×2; leaky ReLU then ReLU; batch normalisation and upsampling after
  the first two convolutions), with the ``anglegan`` discriminator. See
  :class:`Gan3DGenerator` for the sizes the text leaves out.
- ``energygan``: the fixed-angle 25×25×25 model of the first 3DGAN (``keras/EcalEnergyGan.py``,
  REFERENCES.md §2.1), without the angle and bin-count heads.

The real/fake head returns a logit: the original's ``Dense(1, sigmoid)`` under a binary
cross-entropy is the same function, and logits keep the loss finite when the discriminator is
sure. The original was written with Keras 2 defaults, which Keras 3 keeps: LeakyReLU slope 0.3
and ``same`` padding of an even kernel that pads one more cell after than before along that
axis (the discriminator's 5×6×6 first convolution pads 2 before and 3 after along y and the
depth; tested).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
from keras import layers

from caloml.checks import as_config
from caloml.data import threedgan
from caloml.gan3d.config import DiscriminatorConfig, GeneratorConfig
from caloml.layers import calorimeter, shower3d
from caloml.layers.upsampled_conv import UpsampledConv3D, upsampled_conv3d_flops


@dataclasses.dataclass(frozen=True)
class _Conv:
    """A Conv3D, its activation and optionally a batch normalisation after it.

    With ``upsampling``, an UpSampling3D by those factors then this 'valid' Conv3D, computed
    as one :class:`~caloml.layers.upsampled_conv.UpsampledConv3D` (the same function and
    weights, far fewer FLOPs).
    """

    filters: int
    kernel: tuple[int, int, int]
    activation: str  # "relu" or "leaky"
    batch_norm: bool = False
    padding: str = "valid"
    initializer: str = "he_uniform"
    bias: bool = True
    upsampling: tuple[int, int, int] | None = None

    def __post_init__(self):
        if self.upsampling is not None and self.padding != "valid":
            raise AssertionError("an upsampled convolution is 'valid'")


@dataclasses.dataclass(frozen=True)
class _Up:
    size: tuple[int, int, int]


@dataclasses.dataclass(frozen=True)
class _Pad:
    padding: tuple[int, int, int]  # zeros on both sides of each axis


# Generators: (pre-image shape [x, y, layer, channels] of the Dense layer, the steps after it).
# AngleArch3dGAN.generator (REFERENCES.md §2.2): Dense(5184) → (9, 9, 8, 8) → ×6 → ... → 51²×25.
# Its UpSampling3D(6, 6, 6) and first Conv3D, 3.6 of the paper architecture's 6.1 GFLOP per
# shower, are computed as one UpsampledConv3D (0.19 GFLOP, the same function and weights).
_ANGLEGAN_GENERATOR = ((9, 9, 8, 8), (
    _Conv(8, (6, 6, 8), "relu", batch_norm=True, upsampling=(6, 6, 6)),
    _Pad((2, 2, 1)), _Conv(6, (4, 4, 6), "relu", batch_norm=True),
    _Pad((2, 2, 1)), _Conv(6, (4, 4, 6), "relu", batch_norm=True),
    _Pad((2, 2, 1)), _Conv(6, (4, 4, 6), "relu", batch_norm=True),
    _Pad((1, 1, 0)), _Conv(6, (3, 3, 5), "relu", batch_norm=True),
    _Pad((1, 1, 0)), _Conv(6, (3, 3, 3), "relu"),
    _Conv(1, (2, 2, 2), "relu", initializer="glorot_normal"),
))
# Paper §4.1's words. The text gives neither the pre-image, the upsampling factors nor the
# paddings: caloml takes a 11×7×9×8 pre-image (5,544 values, the code's 5,184 give or take),
# a 'same' first convolution as EcalEnergyGan's, and upsampling (2, 3, 2) then (3, 4, 3), the
# one choice with all later convolutions 'valid' and no zero padding at all (no output cell is
# computed from padding) that lands on 51×51×25: x 11 → 22 → 18 → 54 → 52 → 51,
# y 7 → 21 → 14 → 56 → 52 → 51, depth 9 → 18 → 11 → 33 → 26 → 25. As EcalEnergyGan, whose
# layer list the text follows, the last convolution has no bias.
_PAPER_TEXT_GENERATOR = ((11, 7, 9, 8), (
    _Conv(64, (6, 6, 8), "leaky", batch_norm=True, padding="same"),
    _Up((2, 3, 2)),
    _Conv(6, (5, 8, 8), "leaky", batch_norm=True),
    _Up((3, 4, 3)),
    _Conv(6, (3, 5, 8), "leaky"),
    _Conv(1, (2, 2, 2), "relu", initializer="glorot_normal", bias=False),
))
# EcalEnergyGan.generator (REFERENCES.md §2.1): x 7 → 14 → 18 → 13 → 26 → 28 → 26 → 25,
# y 7 → 14 → 18 → 14 → 28 → 28 → 26 → 25, depth 8 → 16 → 16 → 9 → 27 → 33 → 26 → 25.
_ENERGYGAN_GENERATOR = ((7, 7, 8, 8), (
    _Conv(64, (6, 6, 8), "leaky", batch_norm=True, padding="same"),
    _Up((2, 2, 2)), _Pad((2, 2, 0)),
    _Conv(6, (6, 5, 8), "leaky", batch_norm=True),
    _Up((2, 2, 3)), _Pad((1, 0, 3)),
    _Conv(6, (3, 3, 8), "leaky"),
    _Conv(1, (2, 2, 2), "relu", initializer="glorot_normal", bias=False),
))
_GENERATORS = {"anglegan": _ANGLEGAN_GENERATOR, "paper_text": _PAPER_TEXT_GENERATOR,
               "energygan": _ENERGYGAN_GENERATOR}

# Discriminators: the steps before the average pooling; every convolution is followed by
# dropout. AngleArch3dGAN.discriminator (REFERENCES.md §2.2), VarianceScaling initialisers as
# the code's TF2 version: x 51 → 47 → 43 → 39 → 19, y 51 → 46 → 41 → 36 → 18,
# depth 25 → 27 → 22 → 24 → 19 → 14 → 7.
_ANGLEGAN_DISCRIMINATOR = (
    _Conv(16, (5, 6, 6), "leaky", padding="same", initializer="variance_scaling"),
    _Pad((0, 0, 1)), _Conv(8, (5, 6, 6), "leaky", True, initializer="variance_scaling"),
    _Pad((0, 0, 1)), _Conv(8, (5, 6, 6), "leaky", True, initializer="variance_scaling"),
    _Conv(8, (5, 6, 6), "leaky", True, initializer="variance_scaling"),
)
# EcalEnergyGan.discriminator (REFERENCES.md §2.1), Keras default initialisers:
# 25 → 29 → 25 → 29 → 25 → 27 → 23 → 11 on every axis.
_ENERGYGAN_DISCRIMINATOR = (
    _Conv(32, (5, 5, 5), "leaky", padding="same", initializer="glorot_uniform"),
    _Pad((2, 2, 2)), _Conv(8, (5, 5, 5), "leaky", True, initializer="glorot_uniform"),
    _Pad((2, 2, 2)), _Conv(8, (5, 5, 5), "leaky", True, initializer="glorot_uniform"),
    _Pad((1, 1, 1)), _Conv(8, (5, 5, 5), "leaky", True, initializer="glorot_uniform"),
)
_DISCRIMINATORS = {"anglegan": _ANGLEGAN_DISCRIMINATOR, "energygan": _ENERGYGAN_DISCRIMINATOR}


class _ConfiguredModel(keras.Model):
    """A functional network built from one config dataclass, kept in ``self.config``."""

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable,
                "config": dataclasses.asdict(self.config)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> _ConfiguredModel:
        return cls(**config)

    @property
    def window(self) -> tuple[int, int, int]:
        return self.config.window


def _apply_steps(x, steps, *, leaky_slope: float, epsilon: float, synchronized: bool,
                 dropout: float | None = None, prefix: str = ""):
    """Applies a list of :class:`_Conv`, :class:`_Up`, :class:`_Pad` steps to ``x``."""
    index = {"conv": 0, "up": 0, "pad": 0}
    for step in steps:
        if isinstance(step, _Up):
            index["up"] += 1
            x = layers.UpSampling3D(step.size, name=f"{prefix}upsample{index['up']}")(x)
        elif isinstance(step, _Pad):
            index["pad"] += 1
            x = layers.ZeroPadding3D(step.padding, name=f"{prefix}pad{index['pad']}")(x)
        else:
            index["conv"] += 1
            name = f"{prefix}conv{index['conv']}"
            if step.upsampling is not None:
                x = UpsampledConv3D(step.filters, step.kernel, step.upsampling,
                                    use_bias=step.bias, kernel_initializer=step.initializer,
                                    name=name)(x)
            else:
                x = layers.Conv3D(step.filters, step.kernel, padding=step.padding,
                                  use_bias=step.bias, kernel_initializer=step.initializer,
                                  name=name)(x)
            if step.activation == "relu":
                x = layers.ReLU(name=f"{name}_relu")(x)
            else:
                x = layers.LeakyReLU(leaky_slope, name=f"{name}_lrelu")(x)
            if step.batch_norm:
                x = layers.BatchNormalization(epsilon=epsilon, synchronized=synchronized,
                                              name=f"{name}_bn")(x)
            if dropout is not None:
                x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return x


@keras.saving.register_keras_serializable(package="caloml")
class Gan3DGenerator(_ConfiguredModel):
    """The 3DGAN generator (paper §4.1; ``AngleArch3dGAN.generator``, REFERENCES.md §2.2).

    ``anglegan``: concat[E / 100, θ, 254 Gaussian numbers] → Dense(5184) → (9, 9, 8, 8) →
    UpSampling3D(6, 6, 6) → Conv3D(8, 6×6×8) (computed as one
    :class:`~caloml.layers.upsampled_conv.UpsampledConv3D` "conv1" with the Conv3D's weights)
    → ReLU → BN → 3 × [ZeroPad (2, 2, 1) →
    Conv3D(6, 4×4×6) → ReLU → BN] → ZeroPad (1, 1, 0) → Conv3D(6, 3×3×5) → ReLU → BN →
    ZeroPad (1, 1, 0) → Conv3D(6, 3×3×3) → ReLU → Conv3D(1, 2×2×2, glorot_normal) → ReLU →
    51×51×25; he_uniform convolutions, BN ε 1e-6. 1,365,047 parameters (1,364,983 trainable).

    ``paper_text``: the same input → Dense(5544) → (11, 7, 9, 8) → Conv3D(64, 6×6×8, same) →
    LeakyReLU → BN → UpSampling3D(2, 3, 2) → Conv3D(6, 5×8×8) → LeakyReLU → BN →
    UpSampling3D(3, 4, 3) → Conv3D(6, 3×5×8) → LeakyReLU → Conv3D(1, 2×2×2, no bias) → ReLU.
    The pre-image and the upsampling factors are caloml's choice (the text gives neither): the
    only all-'valid' stack without zero padding that makes 51×51×25, with a pre-image of about
    the code's size. 1,699,868 parameters (1,699,728 trainable).

    ``energygan`` (REFERENCES.md §2.1): 200 Gaussian numbers × E / 100 → Dense(3136) →
    (7, 7, 8, 8) → Conv3D(64, 6×6×8, same) → LeakyReLU → BN → UpSampling3D(2, 2, 2) →
    ZeroPad (2, 2, 0) → Conv3D(6, 6×5×8) → LeakyReLU → BN → UpSampling3D(2, 2, 3) →
    ZeroPad (1, 0, 3) → Conv3D(6, 3×3×8) → LeakyReLU → Conv3D(1, 2×2×2, no bias) → ReLU →
    25×25×25. With ``latent_dim`` 200: 872,948 parameters (872,808 trainable).

    Args:
        config: a :class:`~caloml.gan3d.config.GeneratorConfig` (or its dict); None takes the
            code's values.
        name: the model's name.

    Call arguments:
        inputs: ``{"energy": [batch, 1] GeV, "angle": [batch, 1] rad (not for energygan),
            "latent": [batch, config.noise_dim]}`` N(0, 1) numbers.

    Returns:
        ``{"ecal_power": [batch, x, y, layer, 1]`` cells raised to ``config.power`` (≥ 0, what
        the discriminator sees), ``"ecal": [batch, x, y, layer]`` = ``ecal_power ** (1 /
        power)`` in the files' units``}``, with (x, y, layer) = ``config.window``.
    """

    def __init__(self, config: GeneratorConfig | dict | None = None,
                 name: str = "gan3d_generator", **kwargs: Any):
        config = as_config(GeneratorConfig, config)
        energy = keras.Input((1,), name="energy")
        latent = keras.Input((config.noise_dim,), name="latent")
        inputs = {"energy": energy}
        if config.conditions_on_angle:
            angle = keras.Input((1,), name="angle")
            inputs["angle"] = angle
            scaled = layers.Rescaling(1.0 / config.energy_scale_gev, name="energy_scaled")(energy)
            h = layers.Concatenate(name="conditions")([scaled, angle, latent])
        else:
            h = calorimeter.EnergyConditioning(config.energy_scale_gev,
                                               name="conditioning")([latent, energy])
        inputs["latent"] = latent
        pre_image, steps = _GENERATORS[config.architecture]
        x = layers.Dense(pre_image[0] * pre_image[1] * pre_image[2] * pre_image[3],
                         name="dense")(h)
        x = layers.Reshape(pre_image, name="pre_image")(x)
        x = _apply_steps(x, steps, leaky_slope=config.leaky_slope,
                         epsilon=config.batch_norm_epsilon,
                         synchronized=config.synchronized_batch_norm)
        if tuple(x.shape[1:]) != (*config.window, 1):
            raise AssertionError(f"the {config.architecture} generator makes {x.shape[1:]}, "
                                 f"not {config.window}")
        ecal_power = layers.Identity(name="ecal_power")(x)
        ecal = shower3d.PowerScale(1.0 / config.power, name="inverse_power")(ecal_power)
        ecal = layers.Reshape(config.window, name="ecal")(ecal)
        super().__init__(inputs=inputs, outputs={"ecal_power": ecal_power, "ecal": ecal},
                         name=name, **kwargs)
        self.config = config

    @property
    def noise_dim(self) -> int:
        return self.config.noise_dim


@keras.saving.register_keras_serializable(package="caloml")
class Gan3DDiscriminator(_ConfiguredModel):
    """The 3DGAN discriminator (paper §4.1; ``AngleArch3dGAN.discriminator``).

    ``anglegan`` (also for ``paper_text``): Conv3D(16, 5×6×6, same) → LeakyReLU → Dropout →
    ZeroPad (0, 0, 1) → Conv3D(8, 5×6×6) → LeakyReLU → BN → Dropout → ZeroPad (0, 0, 1) →
    Conv3D(8, 5×6×6) → LeakyReLU → BN → Dropout → Conv3D(8, 5×6×6) → LeakyReLU → BN →
    Dropout → AveragePooling3D(2) → Flatten (19·18·7·8 = 19,152) → Dense(1) "real" and
    Dense(1) "energy"; 87,402 parameters (87,354 trainable). The 'same' padding of the even
    6×6 kernel puts 2 zeros before and 3 after along y and the depth, as Keras 2 did.

    ``energygan``: Conv3D(32, 5³, same) → LeakyReLU → Dropout → 3 × [ZeroPad (2, 2, 1) →
    Conv3D(8, 5³) → LeakyReLU → BN → Dropout] → AveragePooling3D(2) → Flatten (11³·8 =
    10,648) → "real", "energy"; 73,450 parameters (73,402 trainable).

    Args:
        config: a :class:`~caloml.gan3d.config.DiscriminatorConfig` (or its dict).
        name: the model's name.

    Call arguments:
        inputs: ``{"ecal_power": [batch, x, y, layer, 1]}`` cells raised to ``config.power``.

    Returns:
        ``{"real": [batch, 1]`` logit of "real", ``"energy": [batch, 1]`` the regressed
        E / 100, ``"ecal_sum": [batch, 1]`` Σ ecal_power ** (1 / power) (parameter-free); and
        when ``config.measures_angle``: ``"angle": [batch, 1]`` rad, the measured angle of
        ecal_power ** (1 / power) (:class:`~caloml.layers.shower3d.MeasuredAngle`, 100 when
        undefined); with ``config.bin_counts`` too: ``"bins": [batch, 8]`` counts of cells in
        the 8 strict intensity bins (:class:`~caloml.layers.shower3d.IntensityBinCounts`)``}``.
    """

    def __init__(self, config: DiscriminatorConfig | dict | None = None,
                 name: str = "gan3d_discriminator", **kwargs: Any):
        config = as_config(DiscriminatorConfig, config)
        image = keras.Input((*config.window, 1), name="ecal_power")
        stack = "energygan" if config.architecture == "energygan" else "anglegan"
        x = _apply_steps(image, _DISCRIMINATORS[stack],
                         leaky_slope=config.leaky_slope, epsilon=config.batch_norm_epsilon,
                         synchronized=config.synchronized_batch_norm, dropout=config.dropout)
        x = layers.AveragePooling3D(2, name="pool")(x)
        features = layers.Flatten(name="features")(x)
        initializer = "variance_scaling" if stack == "anglegan" else "glorot_uniform"
        outputs = {
            "real": layers.Dense(1, kernel_initializer=initializer, name="real")(features),
            "energy": layers.Dense(1, kernel_initializer=initializer, name="energy")(features),
        }
        cells = shower3d.PowerScale(1.0 / config.power, name="inverse_power")(image)
        outputs["ecal_sum"] = calorimeter.CellSum(name="ecal_sum")(cells)
        if config.measures_angle:
            outputs["angle"] = shower3d.MeasuredAngle(
                threedgan.CELL_SIZE_MM, [float(z) for z in threedgan.LAYER_DEPTH_MM],
                undefined_value=threedgan.UNDEFINED_THETA, name="angle")(cells)
            if config.bin_counts:
                outputs["bins"] = shower3d.IntensityBinCounts(config.power, name="bins")(image)
        super().__init__(inputs={"ecal_power": image}, outputs=outputs, name=name, **kwargs)
        self.config = config


def _conv_output(size: tuple[int, ...], step: _Conv) -> tuple[int, ...]:
    if step.padding == "same":
        return size
    return tuple(s - k + 1 for s, k in zip(size, step.kernel, strict=True))


def generator_flops(config: GeneratorConfig | dict | None = None, *,
                    implemented: bool = False) -> int:
    """Floating-point operations of one generated shower, counted analytically.

    2 × the multiply-adds of the Dense layer and of every convolution; biases, activations,
    normalisation, upsampling, padding and the inverse power are left out.

    Args:
        config: the generator's config (None: the defaults, ``anglegan``).
        implemented: False counts the paper architecture as written: an UpSampling3D then a
            Conv3D costs the Conv3D's output cells × filters × kernel volume × input channels
            (``anglegan``: 6.12 GFLOP, the count to compare with the original code and the
            paper). True counts what caloml computes: the same, except that each such pair is
            one :class:`~caloml.layers.upsampled_conv.UpsampledConv3D`
            (:func:`~caloml.layers.upsampled_conv.upsampled_conv3d_flops`; ``anglegan``:
            2.68 GFLOP).
    """
    config = as_config(GeneratorConfig, config)
    pre_image, steps = _GENERATORS[config.architecture]
    dense_units = pre_image[0] * pre_image[1] * pre_image[2] * pre_image[3]
    total = 2 * config.latent_dim * dense_units
    size, channels = pre_image[:3], pre_image[3]
    for step in steps:
        if isinstance(step, _Up):
            size = tuple(s * f for s, f in zip(size, step.size, strict=True))
        elif isinstance(step, _Pad):
            size = tuple(s + 2 * p for s, p in zip(size, step.padding, strict=True))
        elif step.upsampling is not None and implemented:
            total += upsampled_conv3d_flops((*size, channels), step.filters, step.kernel,
                                            step.upsampling)
            size = tuple(s * u - k + 1
                         for s, u, k in zip(size, step.upsampling, step.kernel, strict=True))
            channels = step.filters
        else:
            if step.upsampling is not None:
                size = tuple(s * f for s, f in zip(size, step.upsampling, strict=True))
            size = _conv_output(size, step)
            cells = size[0] * size[1] * size[2]
            volume = step.kernel[0] * step.kernel[1] * step.kernel[2]
            total += 2 * cells * step.filters * volume * channels
            channels = step.filters
    return total
