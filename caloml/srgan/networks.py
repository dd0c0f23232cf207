"""Networks of paper 000: super-resolution of photon showers with an ESRGAN-style WGAN.

Erdmann, van der Graaf, Mausolf, Nackenhorst, "SR-GAN for SR-gamma: super resolution of
photon calorimeter images at collider experiments". Three networks:

- :class:`SRGenerator` (§3, Figs. 3–4): residual-in-residual dense blocks (RRDBs) with Swish,
  two ×2 nearest-neighbour upsampling blocks, 6×6 LR → 24×24 SR images.
- :class:`SRCritic` (§3, Fig. 5): the Wasserstein critic, six convolutions with Layer
  Normalization and Swish, then two dense layers.
- :class:`PhotonPionClassifier` (§5): the photon/π⁰ CNN; the one trained on HR images gives the
  perceptual features Φ (its third convolution, §3) through :func:`perceptual_features`, and
  :func:`classifier_logits` gives the scores rejections are computed from.

Images are channels-last, ``[batch, x, y, channel]``, with one energy channel. The settings
are the dataclasses of :mod:`caloml.srgan.config`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
from keras import layers

from caloml.layers import rrdb
from caloml.srgan.config import (
    LR_SIZE,
    ClassifierConfig,
    CriticConfig,
    GeneratorConfig,
    as_config,
)


def _conv(filters: int, kernel_size: int, name: str, activation: str | None = None,
          strides: int = 1, **kwargs: Any) -> layers.Conv2D:
    """A zero-padded convolution; with stride 1 it keeps the lateral size (§3, §5)."""
    return layers.Conv2D(filters, kernel_size, strides=strides, padding="same",
                         activation=activation, name=name, **kwargs)


class _ConfiguredModel(keras.Model):
    """A functional network built from one config dataclass, kept in ``self.config``.

    Serialises as ``{"name", "trainable", "config": asdict(config)}``; the subclass
    constructors accept the dict form of their config (see :func:`caloml.srgan.config.as_config`).
    """

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable,
                "config": dataclasses.asdict(self.config)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> _ConfiguredModel:
        return cls(**config)


# --------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="caloml")
class SRGenerator(_ConfiguredModel):
    """The SR generator of paper 000 (§3, Fig. 4), fully convolutional.

    conv → ``num_rrdb`` RRDBs → conv, plus the first conv's output (global skip) →
    ``upsample_steps`` × (nearest-neighbour ×2 → conv + Swish) → conv + Swish →
    conv (``channels`` filters) + ReLU, so that no negative energies come out.
    With the defaults it has 2,113,601 trainable parameters (§3: "around 2.1 million").

    Args:
        config: a :class:`GeneratorConfig` (or its dict); None takes the paper's values.
        name: the model's name.

    Call arguments:
        inputs: LR images ``[batch, x, y, channels]``; any lateral size (6×6 in the paper).

    Returns:
        SR images ``[batch, upscale·x, upscale·y, channels]``, non-negative.
    """

    def __init__(self, config: GeneratorConfig | dict | None = None, name: str = "sr_generator",
                 **kwargs: Any):
        config = as_config(GeneratorConfig, config)
        f, k = config.filters, config.kernel_size
        inputs = keras.Input((None, None, config.channels), name="lr_image")
        first = _conv(f, k, "conv_first")(inputs)
        x = first
        for i in range(1, config.num_rrdb + 1):
            # §3: Swish instead of ESRGAN's leaky ReLU inside the RRDBs (training stability).
            x = rrdb.apply_rrdb(x, f, k, config.dense_blocks, config.convs_per_dense_block,
                                config.residual_scale, activation="silu", name=f"rrdb_{i}")
        x = _conv(f, k, "conv_body")(x)
        x = layers.Add(name="global_residual")([first, x])
        for i in range(1, config.upsample_steps + 1):
            x = layers.UpSampling2D(2, interpolation="nearest", name=f"upsample_{i}")(x)
            x = _conv(f, k, f"upsample_{i}_conv", activation="silu")(x)
        x = _conv(f, k, "conv_hr", activation="silu")(x)
        outputs = _conv(config.channels, k, "conv_last", activation="relu")(x)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.config = config


def generator_flops(config: GeneratorConfig | None = None, lr_size: int = LR_SIZE) -> int:
    """Floating-point operations of one generator pass, counted analytically.

    Counts the convolutions only, as 2 × multiply-adds: ``2·k·k·C_in·C_out·H·W`` each, with
    ``H × W`` the output size. Biases, activations, residual additions and upsampling are left
    out (they are O(H·W·C), negligible against the convolutions).

    Args:
        config: the generator's configuration; None takes the paper's values.
        lr_size: lateral size of the square LR input (6 in the paper).

    Returns:
        FLOPs per example.
    """
    config = as_config(GeneratorConfig, config)
    f, k2 = config.filters, config.kernel_size**2

    def conv(c_in: int, c_out: int, size: int) -> int:
        return 2 * k2 * c_in * c_out * size * size

    size = lr_size
    total = conv(config.channels, f, size)
    # Convolution k of a dense block sees the block input and k-1 outputs: k·f channels.
    dense_block = sum(conv(j * f, f, size) for j in range(1, config.convs_per_dense_block + 1))
    total += config.num_rrdb * config.dense_blocks * dense_block
    total += conv(f, f, size)
    for _ in range(config.upsample_steps):
        size *= 2
        total += conv(f, f, size)
    total += conv(f, f, size) + conv(f, config.channels, size)
    return total


# --------------------------------------------------------------------------------------------
# Critic
# --------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="caloml")
class SRCritic(_ConfiguredModel):
    """The Wasserstein critic of paper 000 (§3, Fig. 5).

    Six convolutions (strides 1, 2, 1, 2, 1, 2), each followed by Layer Normalization
    (not Batch Normalization, which would break the per-example gradient penalty) and Swish;
    flatten → dense 64 + Swish → dense 1, linear (a Wasserstein critic, not a probability).

    Args:
        config: a :class:`CriticConfig` (or its dict); None takes the paper's values.
        name: the model's name.

    Call arguments:
        inputs: HR or SR images ``[batch, image_size, image_size, channels]``.

    Returns:
        Critic scores ``[batch, 1]``.
    """

    def __init__(self, config: CriticConfig | dict | None = None, name: str = "sr_critic",
                 **kwargs: Any):
        config = as_config(CriticConfig, config)
        inputs = keras.Input((config.image_size, config.image_size, config.channels),
                             name="hr_image")
        x = inputs
        convs = zip(config.filters, config.strides, strict=True)
        for i, (filters, strides) in enumerate(convs, start=1):
            x = _conv(filters, config.kernel_size, f"conv_{i}", strides=strides)(x)
            x = layers.LayerNormalization(axis=list(config.layer_norm_axes),
                                          name=f"layer_norm_{i}")(x)
            x = layers.Activation("silu", name=f"swish_{i}")(x)
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(config.dense_units, activation="silu", name="dense")(x)
        outputs = layers.Dense(1, name="score")(x)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.config = config


# --------------------------------------------------------------------------------------------
# Photon/π⁰ classifier and perceptual features
# --------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="caloml")
class PhotonPionClassifier(_ConfiguredModel):
    """The photon/π⁰ CNN of paper 000 (§5).

    ``num_convs`` × (conv 3×3 → activation [→ 2×2 max-pool]) → flatten → dense 10 + ReLU →
    dense 1 (the logit) → sigmoid. Layers are named ``conv_<i>``, ``conv_<i>_activation``,
    ``pool_<i>``, ``logit`` and ``probability``, so that :func:`perceptual_features` finds the
    last convolution before and after its activation, and :func:`classifier_logits` the logit.
    Separate activation layers change no parameter count.

    Args:
        config: a :class:`~caloml.srgan.config.ClassifierConfig` (or its dict); None takes the
            HR/SR network.
        name: the model's name.

    Call arguments:
        inputs: images ``[batch, image_size, image_size, channels]``.

    Returns:
        P(π⁰) ``[batch, 1]``.
    """

    def __init__(self, config: ClassifierConfig | dict | None = None,
                 name: str = "photon_pion_classifier", **kwargs: Any):
        config = as_config(ClassifierConfig, config)
        size = config.image_size
        inputs = keras.Input((size, size, config.channels), name="image")
        x = inputs
        for i in range(1, config.num_convs + 1):
            x = _conv(config.filters, config.kernel_size, f"conv_{i}",
                      kernel_regularizer=keras.regularizers.L2(config.l2))(x)
            x = layers.Activation(config.activation, name=f"conv_{i}_activation")(x)
            if config.pool_after_each or i == config.num_convs:
                x = layers.MaxPooling2D(2, name=f"pool_{i}")(x)
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(config.dense_units, activation="relu", name="dense",
                         kernel_regularizer=keras.regularizers.L2(config.l2))(x)
        logit = layers.Dense(1, name="logit",
                             kernel_regularizer=keras.regularizers.L2(config.l2))(x)
        outputs = layers.Activation("sigmoid", name="probability")(logit)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.config = config


def _single_input(model: keras.Model):
    # A single input stays a single tensor (not a one-element list), so calls on a tensor match.
    return model.inputs[0] if len(model.inputs) == 1 else model.inputs


def perceptual_features(classifier: PhotonPionClassifier, pre_activation: bool = True,
                        name: str = "perceptual_features") -> keras.Model:
    """Φ of the perceptual loss (§3, Eq. 3): the classifier's last (third) convolution.

    The paper takes the features "similar to the ESRGAN"; ESRGAN compares VGG features
    *before* the activation (its feature maps after the ReLU are sparse and lose brightness
    information), so ``pre_activation`` is the default; ``False`` takes them after the
    activation (still before the pooling).

    Returns a frozen copy (``trainable=False``) of the classifier's layers up to that point,
    with the classifier's current weights. Being a copy, freezing it leaves the classifier
    trainable; being frozen, it contributes no trainable variables when used inside a
    ``tf.GradientTape`` while gradients still flow to its input (the generator's output).

    Args:
        classifier: a :class:`PhotonPionClassifier` (trained on HR images).
        pre_activation: features before (True) or after (False) the activation.
        name: the returned model's name.

    Returns:
        A model ``[batch, s, s, channels] → [batch, s', s', filters]``; for the paper's HR CNN
        ``[batch, 24, 24, 1] → [batch, 6, 6, 32]``.
    """
    if not isinstance(classifier, PhotonPionClassifier):
        raise TypeError(f"expected a PhotonPionClassifier, got {type(classifier).__name__}")
    last = f"conv_{classifier.config.num_convs}"
    layer = classifier.get_layer(last if pre_activation else f"{last}_activation")
    shared = keras.Model(_single_input(classifier), layer.output)
    features = keras.models.clone_model(shared)
    features.set_weights(shared.get_weights())
    features.trainable = False
    # clone_model keeps the source's name; a distinct name keeps both models in one graph tidy.
    features.name = name
    return features


def classifier_logits(classifier: PhotonPionClassifier) -> keras.Model:
    """The classifier's logit, ``log(P / (1 − P))`` ``[batch, 1]``, sharing its weights.

    Rejections are computed from logits: float32 sigmoids of well-separated events saturate
    at exactly 1 (or 0), and the ties this makes bias the efficiency thresholds (§5, Fig. 13).
    """
    return keras.Model(_single_input(classifier), classifier.get_layer("logit").output,
                       name=f"{classifier.name}_logit")
