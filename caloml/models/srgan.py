"""Networks of paper 000: super-resolution of photon showers with an ESRGAN-style WGAN.

Erdmann, van der Graaf, Mausolf, Nackenhorst, "SR-GAN for SR-gamma: super resolution of
photon calorimeter images at collider experiments". Three networks:

- :class:`SRGenerator` (§3, Figs. 3–4): residual-in-residual dense blocks (RRDBs) with Swish,
  two ×2 nearest-neighbour upsampling blocks, 6×6 LR → 24×24 SR images.
- :class:`SRCritic` (§3, Fig. 5): the Wasserstein critic, six convolutions with Layer
  Normalization and Swish, then two dense layers.
- :class:`PhotonPionClassifier` (§5): the photon/π⁰ CNN; the one trained on HR images gives the
  perceptual features Φ (its third convolution, §3) through :func:`perceptual_features`.

Images are channels-last, ``[batch, x, y, channel]``, with one energy channel.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
from keras import layers, ops

# §2: the 6×6 LR sub-image with the largest energy and its 4×4-finer HR counterpart.
LR_SIZE = 6
HR_SIZE = 24


def _as_config(cls: type, value: Any) -> Any:
    """``value`` as a ``cls`` dataclass: None gives the defaults; a dict (from JSON) is parsed."""
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if isinstance(value, dict):
        # JSON turns tuples into lists; the frozen dataclasses keep tuples (hashable, immutable).
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in value.items()})
    raise TypeError(f"expected a {cls.__name__} or a dict, got {type(value).__name__}")


def _check_positive(config: Any, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(
                f"{type(config).__name__}.{name} must be a positive int, got {value!r}")


def _conv(filters: int, kernel_size: int, name: str, activation: str | None = None,
          strides: int = 1, **kwargs: Any) -> layers.Conv2D:
    """A zero-padded convolution; with stride 1 it keeps the lateral size (§3, §5)."""
    return layers.Conv2D(filters, kernel_size, strides=strides, padding="same",
                         activation=activation, name=name, **kwargs)


class _ConfiguredModel(keras.Model):
    """A functional network built from one config dataclass, kept in ``self.config``.

    Serialises as ``{"name", "trainable", "config": asdict(config)}``; the subclass
    constructors accept the dict form of their config (see :func:`_as_config`).
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


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
    """Generator hyper-parameters; the defaults are paper 000's.

    Attributes:
        filters: filters of every convolution but the last (§3: "32 filters").
        kernel_size: square kernel of every convolution (§3: 3×3, stride 1, zero-padding).
        num_rrdb: residual-in-residual dense blocks (§3, §4: 5, chosen from 1–10).
        dense_blocks: dense blocks per RRDB (§3, Fig. 3: 3).
        convs_per_dense_block: convolutions per dense block (§3, Fig. 3: 5).
        residual_scale: β scaling the residual branches (§3, Fig. 3: a free parameter whose
            value the paper does not give; 0.2 is ESRGAN's).
        upsample_steps: ×2 nearest-neighbour upsampling blocks (§3, Fig. 4: 2, i.e. ×4).
        channels: image channels in and out (one energy channel).
    """

    filters: int = 32  # §3
    kernel_size: int = 3  # §3
    num_rrdb: int = 5  # §3, §4
    dense_blocks: int = 3  # §3, Fig. 3
    convs_per_dense_block: int = 5  # §3, Fig. 3
    residual_scale: float = 0.2  # §3 "free parameter β"; ESRGAN's default
    upsample_steps: int = 2  # §3, Fig. 4
    channels: int = 1

    def __post_init__(self):
        _check_positive(self, "filters", "kernel_size", "dense_blocks", "convs_per_dense_block",
                        "channels")
        if self.num_rrdb < 0 or self.upsample_steps < 0:
            raise ValueError("num_rrdb and upsample_steps must be >= 0")

    @property
    def upscale(self) -> int:
        """Factor by which the generator enlarges each lateral dimension (4 in the paper)."""
        return 2**self.upsample_steps


@keras.saving.register_keras_serializable(package="caloml")
class ScaledResidual(layers.Layer):
    """``inputs + scale · residual``: the β-scaled residual connections of ESRGAN (Fig. 3).

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


def apply_dense_block(x, config: GeneratorConfig, name: str):
    """One dense block of an RRDB (ESRGAN dense connectivity, Fig. 3).

    Convolution ``k`` sees the concatenation of the block input and the outputs of convolutions
    ``1 … k-1``; all but the last have Swish, the last is linear. Its output, scaled by β, is
    added to the block input.

    Args:
        x: ``[batch, x, y, filters]``.
        config: the generator's configuration.
        name: prefix of the layer names.

    Returns:
        ``[batch, x, y, filters]``.
    """
    n = config.convs_per_dense_block
    features = [x]
    y = x
    for k in range(1, n + 1):
        inputs = features[0] if k == 1 else layers.Concatenate(name=f"{name}_concat_{k}")(features)
        # §3: Swish instead of ESRGAN's leaky ReLU inside the RRDBs (training stability).
        y = _conv(config.filters, config.kernel_size, f"{name}_conv_{k}",
                  activation=None if k == n else "silu")(inputs)
        features.append(y)
    return ScaledResidual(config.residual_scale, name=f"{name}_residual")([x, y])


def apply_rrdb(x, config: GeneratorConfig, name: str):
    """A residual-in-residual dense block: dense blocks, then a β-scaled skip (Fig. 3).

    Args:
        x: ``[batch, x, y, filters]``.
        config: the generator's configuration.
        name: prefix of the layer names.

    Returns:
        ``[batch, x, y, filters]``.
    """
    y = x
    for i in range(1, config.dense_blocks + 1):
        y = apply_dense_block(y, config, f"{name}_dense_{i}")
    return ScaledResidual(config.residual_scale, name=f"{name}_residual")([x, y])


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
        config = _as_config(GeneratorConfig, config)
        f, k = config.filters, config.kernel_size
        inputs = keras.Input((None, None, config.channels), name="lr_image")
        first = _conv(f, k, "conv_first")(inputs)
        x = first
        for i in range(1, config.num_rrdb + 1):
            x = apply_rrdb(x, config, f"rrdb_{i}")
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
    config = _as_config(GeneratorConfig, config)
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


@dataclasses.dataclass(frozen=True)
class CriticConfig:
    """Critic hyper-parameters; the defaults are paper 000's (§3, §4, Fig. 5).

    Attributes:
        filters: filters of the six convolutions (Fig. 5: 32, 32, 64, 64, 128, 128).
        strides: their strides, alternating 1 and 2 (Fig. 5).
        kernel_size: square kernel of every convolution (§3: 3×3, zero-padding).
        dense_units: nodes of the hidden dense layer (§4: 64 instead of ESRGAN's 1024).
        image_size: lateral size of the square HR/SR input (24).
        channels: image channels.
        layer_norm_axes: axes Layer Normalization normalises over. The paper (§3) names Layer
            Normalization without axes; ``(-1,)`` is the Keras default (per position, over
            channels) that a TF 2.10 ``LayerNormalization()`` uses; ``(1, 2, 3)`` normalises
            the whole feature map, as in the WGAN-GP reference code.
    """

    filters: tuple[int, ...] = (32, 32, 64, 64, 128, 128)  # Fig. 5
    strides: tuple[int, ...] = (1, 2, 1, 2, 1, 2)  # Fig. 5
    kernel_size: int = 3  # §3
    dense_units: int = 64  # §4
    image_size: int = HR_SIZE  # §2
    channels: int = 1
    layer_norm_axes: tuple[int, ...] = (-1,)  # §3 "Layer Normalization"; Keras default

    def __post_init__(self):
        _check_positive(self, "kernel_size", "dense_units", "image_size", "channels")
        if len(self.filters) != len(self.strides):
            raise ValueError(f"{len(self.filters)} filters but {len(self.strides)} strides")


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
        config = _as_config(CriticConfig, config)
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


@dataclasses.dataclass(frozen=True)
class ClassifierConfig:
    """Photon/π⁰ CNN hyper-parameters; the defaults are paper 000's HR/SR network (§5).

    Attributes:
        filters: filters of each convolution (§5: 32).
        kernel_size: square kernel (§5: 3×3, stride 1, zero-padding).
        num_convs: convolutions (§5: 3; the last gives the perceptual features, §3).
        activation: activation of the convolutions. §5 does not name it; ReLU is assumed, the
            activation the paper gives for the dense layer.
        image_size: lateral size of the square input (24 for HR/SR, 6 for LR).
        pool_after_each: 2×2 max-pooling after every convolution (HR/SR) or only after the
            last one (LR), §5. Both give a 3×3×32 map, hence equal parameter counts.
        dense_units: nodes of the hidden dense layer (§5: 10, ReLU).
        l2: L2 strength on every kernel (§5: "O(10⁻⁴)", tuned per training).
        channels: image channels.
    """

    filters: int = 32  # §5
    kernel_size: int = 3  # §5
    num_convs: int = 3  # §5
    activation: str = "relu"  # not named in §5; assumed
    image_size: int = HR_SIZE  # §5: HR/SR
    pool_after_each: bool = True  # §5: HR/SR
    dense_units: int = 10  # §5
    l2: float = 1e-4  # §5 "O(1e-4)"
    channels: int = 1

    def __post_init__(self):
        _check_positive(self, "filters", "kernel_size", "num_convs", "image_size",
                        "dense_units", "channels")
        pools = self.num_convs if self.pool_after_each else 1
        if self.image_size // 2**pools < 1:
            raise ValueError(f"{pools} 2×2 poolings leave nothing of a {self.image_size}² image")

    @classmethod
    def for_input(cls, kind: str, **overrides: Any) -> ClassifierConfig:
        """The paper's CNN for ``kind`` images: "hr" or "sr" (24×24) or "lr" (6×6), §5."""
        kind = kind.lower()
        if kind in ("hr", "sr"):
            return cls(**{"image_size": HR_SIZE, "pool_after_each": True, **overrides})
        if kind == "lr":
            return cls(**{"image_size": LR_SIZE, "pool_after_each": False, **overrides})
        raise ValueError(f"kind must be 'hr', 'sr' or 'lr', got {kind!r}")


@keras.saving.register_keras_serializable(package="caloml")
class PhotonPionClassifier(_ConfiguredModel):
    """The photon/π⁰ CNN of paper 000 (§5).

    ``num_convs`` × (conv 3×3 + activation [→ 2×2 max-pool]) → flatten → dense 10 + ReLU →
    dense 1 + sigmoid. The convolutions are named ``conv_1 … conv_n`` and the pools
    ``pool_1 …``, so that :func:`perceptual_features` can find the last convolution.

    Args:
        config: a :class:`ClassifierConfig` (or its dict); None takes the HR/SR network.
        name: the model's name.

    Call arguments:
        inputs: images ``[batch, image_size, image_size, channels]``.

    Returns:
        P(π⁰) ``[batch, 1]``.
    """

    def __init__(self, config: ClassifierConfig | dict | None = None,
                 name: str = "photon_pion_classifier", **kwargs: Any):
        config = _as_config(ClassifierConfig, config)
        size = config.image_size
        inputs = keras.Input((size, size, config.channels), name="image")
        x = inputs
        for i in range(1, config.num_convs + 1):
            x = _conv(config.filters, config.kernel_size, f"conv_{i}",
                      activation=config.activation,
                      kernel_regularizer=keras.regularizers.L2(config.l2))(x)
            if config.pool_after_each or i == config.num_convs:
                x = layers.MaxPooling2D(2, name=f"pool_{i}")(x)
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(config.dense_units, activation="relu", name="dense",
                         kernel_regularizer=keras.regularizers.L2(config.l2))(x)
        outputs = layers.Dense(1, activation="sigmoid", name="probability",
                               kernel_regularizer=keras.regularizers.L2(config.l2))(x)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.config = config

    @property
    def feature_layer_name(self) -> str:
        """Name of the layer whose output is the perceptual feature map Φ (the last conv)."""
        return f"conv_{self.config.num_convs}"


def perceptual_features(classifier: keras.Model, name: str = "perceptual_features"
                        ) -> keras.Model:
    """Φ of the perceptual loss (§3, Eq. 3): the classifier's last (third) convolution.

    Returns a frozen copy (``trainable=False``) of the classifier's layers up to that
    convolution, after its activation and before its pooling, with the classifier's current
    weights. Being a copy, freezing it leaves the classifier trainable; being frozen, it
    contributes no trainable variables when used inside a ``tf.GradientTape`` while gradients
    still flow to its input (the generator's output).

    Args:
        classifier: a :class:`PhotonPionClassifier` (trained on HR images), or any functional
            model, in which case its last ``Conv2D`` layer is taken.
        name: the returned model's name.

    Returns:
        A model ``[batch, s, s, channels] → [batch, s', s', filters]``; for the paper's HR CNN
        ``[batch, 24, 24, 1] → [batch, 6, 6, 32]``.
    """
    if isinstance(classifier, PhotonPionClassifier):
        layer = classifier.get_layer(classifier.feature_layer_name)
    else:
        convs = [layer for layer in classifier.layers if isinstance(layer, layers.Conv2D)]
        if not convs:
            raise ValueError(f"{classifier.name} has no Conv2D layer")
        layer = convs[-1]
    # A single input stays a single tensor (not a one-element list), so calls on a tensor match.
    inputs = classifier.inputs[0] if len(classifier.inputs) == 1 else classifier.inputs
    shared = keras.Model(inputs, layer.output)
    features = keras.models.clone_model(shared)
    features.set_weights(shared.get_weights())
    features.trainable = False
    # clone_model keeps the source's name; a distinct name keeps both models in one graph tidy.
    features.name = name
    return features
