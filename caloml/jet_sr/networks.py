"""Networks of paper 001: the jet super-resolution generator and its Markovian discriminator.

Baldi et al., "How to GAN Higher Jet Resolution" (2021), §2 "Network architecture", Figs. 2–3.

- :class:`JetSRGenerator`: an ESRGAN-style generator of RRDBs that up-samples a LR jet image
  (pixel pT in GeV) by f = 2, 4 or 8 through pixel shuffles and transposed convolutions, and
  works internally on pixel values raised to the power p (§2 "Training").
- :class:`MarkovianDiscriminator`: the SRGAN discriminator without batch normalisation and
  without its dense layers, which scores every receptive-field patch of the image.
- :func:`sum_pool`: the f×f sum pooling that maps SR back to LR (Eq. 4).

Images are channels-last, ``[batch, eta, phi, 1]``. The settings are the dataclasses of
:mod:`caloml.jet_sr.config`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import keras
from keras import layers, ops

from caloml.jet_sr.config import (
    PIXEL_SHUFFLE,
    STREAMS,
    DiscriminatorConfig,
    GeneratorConfig,
    as_config,
)
from caloml.layers import rrdb
from caloml.layers.shower3d import PowerScale


def sum_pool(images, factor: int):
    """Sum of every non-overlapping ``factor × factor`` block: ``f² ×`` average pooling.

    What down-samples an HR (or SR) jet image to its LR image (§2 "Jet images", Eq. 4); the
    original code's ``SumPool2d``.

    Args:
        images: ``[batch, H, W, channels]`` with H and W multiples of ``factor``.
        factor: the block size f.

    Returns:
        ``[batch, H / f, W / f, channels]``; each pixel is the sum of its f×f block.
    """
    pooled = ops.average_pool(images, pool_size=factor, strides=factor, padding="valid")
    return ops.multiply(pooled, ops.cast(factor * factor, pooled.dtype))


@keras.saving.register_keras_serializable(package="caloml")
class PixelShuffle(layers.Layer):
    """Sub-pixel rearrangement (Shi et al. 2016, the paper's ref. [69]): depth to space.

    Moves ``factor²`` groups of channels into ``factor × factor`` blocks of pixels (TensorFlow's
    ordering; PyTorch's ``PixelShuffle`` orders the channels differently, which only permutes
    the filters of the convolution before it).

    Args:
        factor: the lateral enlargement r.

    Call arguments:
        inputs: ``[batch, h, w, r²·c]``.

    Returns:
        ``[batch, r·h, r·w, c]``.
    """

    def __init__(self, factor: int = 2, **kwargs: Any):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, inputs):
        return ops.depth_to_space(inputs, self.factor, data_format="channels_last")

    def compute_output_shape(self, input_shape):
        batch, h, w, c = input_shape
        r = self.factor
        return (batch, None if h is None else h * r, None if w is None else w * r,
                c // (r * r))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


class _ConfiguredModel(keras.Model):
    """A functional model built from one config dataclass; serialises that config."""

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable,
                "config": dataclasses.asdict(self.config)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> _ConfiguredModel:
        return cls(**config)


def _conv(filters: int, kernel_size: int, name: str, strides: int = 1,
          activation: str | None = None) -> layers.Conv2D:
    """A zero-padded convolution; with stride 1 it keeps the lateral size (§2: padding 1)."""
    return layers.Conv2D(filters, kernel_size, strides=strides, padding="same",
                         activation=activation, name=name)


@keras.saving.register_keras_serializable(package="caloml")
class JetSRGenerator(_ConfiguredModel):
    """The jet super-resolution generator of paper 001 (§2, Figs. 2–3), fully convolutional.

    ``x = LR^p / f`` (§2 "Training": the p-scaled LR image "divided by the total factor f"; the
    original code raises the input to p before multiplying it by its pixel multiplier) →
    conv 3×3 → ``num_rrdb`` RRDBs (dense blocks of ``convs_per_dense_block`` convolutions of
    growth ``filters``, β at both residual levels, LeakyReLU α) → conv, plus the first conv's
    output → the ×2 up-sampling steps (pixel shuffle: conv to 4·filters, depth to space,
    LeakyReLU; transposed convolution: kernel 2, stride 2, LeakyReLU) → conv + LeakyReLU →
    conv to 1 channel + ReLU → × f ("divided by the factor 1/f") = SR^p → SR = (SR^p)^(1/p).

    The ReLU keeps SR^p, and so SR, non-negative (the original code rectifies SR only). The
    p-scaled output is returned as well, so that the p-scaled losses never differentiate
    x^p at an empty pixel (its derivative is infinite at 0).

    With the defaults (f = 8, 10 RRDBs) it has 16,985,345 trainable parameters.

    Args:
        config: a :class:`GeneratorConfig` (or its dict); None takes the paper's values.
        name: the model's name.

    Call arguments:
        inputs: LR pT images ``[batch, h, w, 1]`` in GeV, any h and w (20×20 in §3).

    Returns:
        ``{"sr_power": SR^p [batch, f·h, f·w, 1], "sr": SR [batch, f·h, f·w, 1]}``, SR in GeV,
        both non-negative.
    """

    def __init__(self, config: GeneratorConfig | dict | None = None,
                 name: str = "jet_sr_generator", **kwargs: Any):
        config = as_config(GeneratorConfig, config)
        f, k, slope = config.filters, config.kernel_size, config.leaky_slope
        inputs = keras.Input((None, None, 1), name="lr_pt_gev")
        x = PowerScale(config.power, name="lr_power")(inputs)
        x = layers.Rescaling(1.0 / config.factor, name="lr_scale")(x)
        first = _conv(f, k, "conv_first")(x)
        x = first
        def activation(layer_name: str) -> layers.Layer:
            return layers.LeakyReLU(negative_slope=slope, name=layer_name)

        for i in range(1, config.num_rrdb + 1):
            x = rrdb.apply_rrdb(x, f, k, config.dense_blocks, config.convs_per_dense_block,
                                config.residual_scale, activation=activation, name=f"rrdb_{i}")
        x = _conv(f, k, "conv_body")(x)
        x = layers.Add(name="global_residual")([first, x])
        for i, step in enumerate(config.upsampling_steps, start=1):
            if step == PIXEL_SHUFFLE:
                x = _conv(4 * f, k, f"upsample_{i}_conv")(x)
                x = PixelShuffle(2, name=f"upsample_{i}_shuffle")(x)
            else:
                x = layers.Conv2DTranspose(f, config.transposed_kernel_size, strides=2,
                                           padding="same", name=f"upsample_{i}_transposed")(x)
            x = layers.LeakyReLU(negative_slope=slope, name=f"upsample_{i}_activation")(x)
        x = _conv(f, k, "conv_hr")(x)
        x = layers.LeakyReLU(negative_slope=slope, name="conv_hr_activation")(x)
        x = _conv(1, k, "conv_last", activation="relu")(x)
        sr_power = layers.Rescaling(float(config.factor), name="sr_power")(x)
        sr = PowerScale(1.0 / config.power, name="sr")(sr_power)
        super().__init__(inputs=inputs, outputs={"sr_power": sr_power, "sr": sr}, name=name,
                         **kwargs)
        self.config = config


@keras.saving.register_keras_serializable(package="caloml")
class MarkovianDiscriminator(_ConfiguredModel):
    """The Markovian (patch) discriminator of paper 001 (§2, Fig. 2), fully convolutional.

    ``len(filters)`` blocks of (conv 3×3 stride 1 + LeakyReLU, conv 3×3 stride 2 + LeakyReLU),
    no batch normalisation, then a 1-channel conv 3×3 without activation: the responses C of
    the overlapping patches the last layer sees (§2: "we cut off the network before flattening
    ... switching to a Markovian discriminator"). Default (64, 128, 256, 512): 4,688,833
    trainable parameters; the original code's (16, 32, 32, 64): 90,865. The relativistic
    losses (Eqs. 2, 7) see only C − ⟨C⟩ and the penalty (Eq. 8) only ∇C, so the last
    convolution's bias gets no gradient (it stays at 0 up to rounding noise), as in the
    original.

    Args:
        config: a :class:`DiscriminatorConfig` (or its dict); None takes the paper's values.
        name: the model's name.

    Call arguments:
        inputs: HR or SR images ``[batch, H, W, 1]`` (either stream's units).

    Returns:
        Unactivated patch responses ``[batch, ceil(H / 2^n), ceil(W / 2^n), 1]`` for n blocks
        (10×10 for 160×160 images and four blocks).
    """

    def __init__(self, config: DiscriminatorConfig | dict | None = None,
                 name: str = "markovian_discriminator", **kwargs: Any):
        config = as_config(DiscriminatorConfig, config)
        k, slope = config.kernel_size, config.leaky_slope
        inputs = keras.Input((None, None, 1), name="image")
        x = inputs
        for i, filters in enumerate(config.filters, start=1):
            for j, strides in ((1, 1), (2, 2)):
                x = _conv(filters, k, f"block_{i}_conv_{j}", strides=strides)(x)
                x = layers.LeakyReLU(negative_slope=slope, name=f"block_{i}_activation_{j}")(x)
        outputs = _conv(1, k, "patch_response")(x)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.config = config


def make_discriminators(config: DiscriminatorConfig | dict | None = None,
                        streams: Sequence[str] = STREAMS
                        ) -> dict[str, tuple[MarkovianDiscriminator, MarkovianDiscriminator]]:
    """The two discriminators of every stream (§2: "a second discriminator with exactly the same
    structure, such that the full discriminator response is the sum of two").

    Each stream of Eq. 6 (plain and p-scaled images) has its own pair, as in the original code,
    so no network has to judge images in two different units.

    Args:
        config: the discriminators' architecture.
        streams: the streams trained (:attr:`~caloml.jet_sr.config.JetSRConfig.streams`).

    Returns:
        ``{stream: (first, second)}``.
    """
    config = as_config(DiscriminatorConfig, config)
    return {s: (MarkovianDiscriminator(config, name=f"discriminator_{s}"),
                MarkovianDiscriminator(config, name=f"second_discriminator_{s}"))
            for s in streams}
