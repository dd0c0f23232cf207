"""Networks of paper 003 §5: end-to-end classification and energy regression from cells.

Belayneh et al. §5.1 and appendices E and G; the layer-level facts follow the original
Triforce_CaloML code (PyTorch, REFERENCES.md §3.2). Three networks share one input and one
output convention:

- :class:`RecoDNN`: flat cells and scalars → ``Dense`` input layer → hidden ``Dense`` + ReLU +
  dropout layers.
- :class:`RecoCNN`: one valid 3-D convolution + ReLU + max-pooling per calorimeter → hidden
  ``Dense`` + ReLU + dropout layers.
- :class:`RecoGoogLeNet`: instance norm → 3-D convolution → nine inception modules (appendix E)
  → average pooling → one hidden ``Dense`` + ReLU; it reads the ECAL cells only (§5.1: the HCAL
  enters through its energy sum).

Inputs (a dict of Keras inputs, channels-last): ``ecal`` [batch, 25, 25, 25, 1] (x, y, layer),
``hcal`` [batch, H, H, 60, 1] with H the config's ``hcal_window``, and ``scalars`` [batch, 4] =
:data:`SCALAR_NAMES` (recoPhi, recoEta, ECAL and HCAL cell sums in units of
:data:`ENERGY_SCALE_GEV`). Each network lists the inputs it reads in ``input_names``.

Outputs (a dict): ``logits`` [batch, 2] (class 0, class 1), ``energy`` [batch, 1] (in units of
:data:`ENERGY_SCALE_GEV`) and ``direction`` [batch, 2] (Triforce's η and φ corrections,
``10 (truth − reco)``). All five come from one final ``Dense`` layer (appendix E: "a final
densely connected layer outputs 5 values") that sees the last hidden layer, the four scalars
again and a constant 1 (Triforce), and whose energy output starts as ECAL sum + HCAL sum
(appendix G's skip connections).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from caloml.errors import InputError
from caloml.reco.config import (
    ECAL_CELLS,
    HCAL_LAYERS,
    HCAL_WINDOW,
    NETWORK_CONFIGS,
    NETWORKS,
    CNNConfig,
    DNNConfig,
    GoogLeNetConfig,
    as_config,
)

SCALAR_NAMES = ("reco_phi", "reco_eta", "ecal_sum", "hcal_sum")
# Energies enter (the sums) and leave (the energy output) the networks in units of 100 GeV.
ENERGY_SCALE_GEV = 100.0
ECAL_SUM_INDEX = SCALAR_NAMES.index("ecal_sum")
HCAL_SUM_INDEX = SCALAR_NAMES.index("hcal_sum")
OUTPUT_NAMES = ("logits", "energy", "direction")
# Columns of the final Dense layer per output, in Triforce's order: the two class scores, the
# energy, then η and φ.
OUTPUT_SIZES = {"logits": 2, "energy": 1, "direction": 2}
NUM_OUTPUTS = sum(OUTPUT_SIZES.values())
ENERGY_COLUMN = OUTPUT_SIZES["logits"]
INPUT_NAMES = {"dnn": ("ecal", "hcal", "scalars"), "cnn": ("ecal", "hcal", "scalars"),
               "googlenet": ("ecal", "scalars")}

# Appendix E's inception modules, Inception(A, B, C, D, E, F, G): input channels A; branch 1:
# 1×1×1 → B; branch 2: 1×1×1 → C, 3×3×3 → D; branch 3: 1×1×1 → E, "5×5×5" → F; branch 4:
# 3×3×3 max-pool, 1×1×1 → G. The output has B + D + F + G channels.
INCEPTION_WIDTHS = {
    "3a": (192, 64, 96, 128, 16, 32, 32),
    "3b": (256, 128, 128, 192, 32, 96, 64),
    "4a": (480, 192, 96, 208, 16, 48, 64),
    "4b": (512, 160, 112, 224, 24, 64, 64),
    "4c": (512, 128, 128, 256, 24, 64, 64),
    "4d": (512, 112, 144, 288, 32, 64, 64),
    "4e": (528, 256, 160, 320, 32, 128, 128),
    "5a": (832, 256, 160, 320, 32, 128, 128),
    "5b": (832, 384, 192, 384, 48, 128, 128),
}
# Appendix E: the max-pooling (3, stride 2, padding 1) after these modules.
POOL_AFTER = ("3b", "4e")
STEM_FILTERS = 192  # §5.1: "a 3D convolutional layer with 192 filters, a kernel size of 3"
# Triforce's GoogLeNet: BatchNorm3d(eps=1e-7); PyTorch's default momentum 0.1 (running = 0.9 ·
# running + 0.1 · batch) is Keras' momentum 0.9. InstanceNorm3d keeps PyTorch's eps 1e-5.
BATCH_NORM_EPSILON = 1e-7
BATCH_NORM_MOMENTUM = 0.9
INSTANCE_NORM_EPSILON = 1e-5


# --------------------------------------------------------------------------------------------
# Small layers
# --------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="caloml")
class ConstantColumn(layers.Layer):
    """A column of a constant, one row per example; no weights.

    Triforce appends a column of ones to the final layer's input, besides the layer's bias:
    a redundant second bias that §5.2's parameter counts include.

    Args:
        value: the constant.

    Call arguments:
        inputs: any tensor ``[batch, ...]``; only its batch size and dtype are used.

    Returns:
        ``[batch, 1]`` filled with ``value``.
    """

    def __init__(self, value: float = 1.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.value = float(value)

    def call(self, inputs):
        first = ops.reshape(inputs, (ops.shape(inputs)[0], -1))[:, :1]
        return ops.full_like(first, self.value)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "value": self.value}


@keras.saving.register_keras_serializable(package="caloml")
class SplitColumns(layers.Layer):
    """Splits the last axis into consecutive pieces of the given sizes; no weights.

    Args:
        sizes: the sizes of the pieces, in order; they must add up to the last axis.

    Call arguments:
        inputs: ``[batch, sum(sizes)]``.

    Returns:
        A list of ``[batch, size]`` tensors.
    """

    def __init__(self, sizes: Sequence[int], **kwargs: Any):
        super().__init__(**kwargs)
        self.sizes = tuple(int(size) for size in sizes)

    def call(self, inputs):
        pieces, start = [], 0
        for size in self.sizes:
            pieces.append(inputs[..., start:start + size])
            start += size
        return pieces

    def compute_output_shape(self, input_shape):
        return [(*input_shape[:-1], size) for size in self.sizes]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "sizes": list(self.sizes)}


# --------------------------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------------------------


def reco_inputs(names: Sequence[str], hcal_window: int = HCAL_WINDOW
                ) -> dict[str, keras.KerasTensor]:
    """The Keras inputs named in ``names`` (of ``ecal``, ``hcal``, ``scalars``), float32."""
    shapes = {"ecal": (*ECAL_CELLS, 1), "hcal": (hcal_window, hcal_window, HCAL_LAYERS, 1),
              "scalars": (len(SCALAR_NAMES),)}
    return {name: keras.Input(shapes[name], name=name, dtype="float32") for name in names}


def apply_reco_head(hidden: keras.KerasTensor, scalars: keras.KerasTensor
                    ) -> dict[str, keras.KerasTensor]:
    """The final layer of every network: ``[hidden, scalars, 1] → Dense(5)``, split in three.

    The energy output's weights start at 1 for the two energy sums and 0 elsewhere (appendix G),
    so an untrained network predicts ECAL sum + HCAL sum (:func:`initialise_skip_weights`).

    Args:
        hidden: the last hidden layer ``[batch, units]``.
        scalars: the four scalars ``[batch, 4]`` (:data:`SCALAR_NAMES`).

    Returns:
        ``{"logits": [batch, 2], "energy": [batch, 1], "direction": [batch, 2]}``.
    """
    ones = ConstantColumn(1.0, name="ones")(scalars)
    x = layers.Concatenate(name="output_inputs")([hidden, scalars, ones])
    final = layers.Dense(NUM_OUTPUTS, name="output")
    x = final(x)
    initialise_skip_weights(final, int(hidden.shape[-1]))
    pieces = SplitColumns([OUTPUT_SIZES[name] for name in OUTPUT_NAMES], name="split")(x)
    return dict(zip(OUTPUT_NAMES, pieces, strict=True))


def initialise_skip_weights(final: layers.Dense, num_hidden: int) -> None:
    """Appendix G: the energy output starts as ECAL sum + HCAL sum (in 100 GeV units).

    The paper initialises the weights of the two energy sums to 1 ("linear regression with
    coefficients near 1 reasonably reproduces the true energy"). The rest of the energy column
    (hidden units, angles, the constant) starts at 0 here, so that the initial prediction is
    exactly the sum rather than the sum plus a random function of the hidden layer as large as
    the energies themselves (README, deviations). The class and direction columns keep Keras'
    initialisation.

    Args:
        final: the built final ``Dense`` layer, input ``[hidden, scalars, 1]``.
        num_hidden: size of the hidden part of its input.
    """
    kernel = np.array(final.kernel.numpy())
    kernel[:, ENERGY_COLUMN] = 0.0
    kernel[num_hidden + ECAL_SUM_INDEX, ENERGY_COLUMN] = 1.0
    kernel[num_hidden + HCAL_SUM_INDEX, ENERGY_COLUMN] = 1.0
    final.kernel.assign(kernel)


def apply_hidden_layers(x: keras.KerasTensor, num_layers: int, units: int, dropout: float,
                        start: int = 1) -> keras.KerasTensor:
    """``num_layers`` × (``Dense(units)`` → ReLU → dropout), named ``hidden_<i>``."""
    for i in range(start, start + num_layers):
        x = layers.Dense(units, activation="relu", name=f"hidden_{i}")(x)
        x = layers.Dropout(dropout, name=f"dropout_{i}")(x)
    return x


class _RecoModel(keras.Model):
    """A functional reconstruction network built from one config dataclass (``self.config``).

    Serialises as ``{"name", "trainable", "config": asdict(config)}``; the constructors accept
    the dict form of their config.
    """

    network_name = ""

    @property
    def input_names(self) -> tuple[str, ...]:
        """The keys of the input dict this network reads (the data pipeline provides them)."""
        return INPUT_NAMES[self.network_name]

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable,
                "config": dataclasses.asdict(self.config)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> _RecoModel:
        return cls(**config)


# --------------------------------------------------------------------------------------------
# DNN
# --------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="caloml")
class RecoDNN(_RecoModel):
    """The dense network of §5.1.

    ``[flat ECAL, flat HCAL, scalars]`` → ``Dense(units)`` (no activation, as in Triforce's
    ``Combined_DNN``) → ``hidden_layers`` × (``Dense(units)`` → ReLU → dropout) → the head
    (:func:`apply_reco_head`). With the best settings and HCAL 5 × 5 it has §5.2's 9,823,774
    trainable parameters; with the REC dataset's HCAL 11 × 11, 12,772,894.

    Args:
        config: a :class:`~caloml.reco.config.DNNConfig` (or its dict); None takes §5.2's.
        name: the model's name.

    Call arguments:
        inputs: ``{"ecal": [batch, 25, 25, 25, 1], "hcal": [batch, H, H, 60, 1],
            "scalars": [batch, 4]}``.

    Returns:
        ``{"logits": [batch, 2], "energy": [batch, 1], "direction": [batch, 2]}``.
    """

    network_name = "dnn"

    def __init__(self, config: DNNConfig | dict | None = None, name: str = "reco_dnn",
                 **kwargs: Any):
        config = as_config(DNNConfig, config)
        inputs = reco_inputs(INPUT_NAMES["dnn"], config.hcal_window)
        x = layers.Concatenate(name="flat_inputs")([
            layers.Flatten(name="flat_ecal")(inputs["ecal"]),
            layers.Flatten(name="flat_hcal")(inputs["hcal"]), inputs["scalars"]])
        x = layers.Dense(config.units, name="input_dense")(x)
        x = apply_hidden_layers(x, config.hidden_layers, config.units, config.dropout)
        outputs = apply_reco_head(x, inputs["scalars"])
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.config = config


# --------------------------------------------------------------------------------------------
# CNN
# --------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="caloml")
class RecoCNN(_RecoModel):
    """The 3-D convolutional network of §5.1.

    ECAL: ``Conv3D(ecal_filters, ecal_kernel³, valid)`` → ReLU → ``MaxPool3D(pool)``; HCAL:
    ``Conv3D(hcal_filters, hcal_kernel, valid)`` → ReLU → ``MaxPool3D(pool)`` (floor, as
    PyTorch's); both flattened and joined with the scalars → ``hidden_layers`` ×
    (``Dense(units)`` → ReLU → dropout) → the head (:func:`apply_reco_head`). The best settings
    (6 filters of 6³, HCAL 11 × 11) have 4,903,295 trainable parameters; §5.2's 3,003,692 is
    the scan-default network (:meth:`~caloml.reco.config.CNNConfig.paper_count`).

    Args:
        config: a :class:`~caloml.reco.config.CNNConfig` (or its dict); None takes §5.2's.
        name: the model's name.

    Call arguments:
        inputs: ``{"ecal": [batch, 25, 25, 25, 1], "hcal": [batch, H, H, 60, 1],
            "scalars": [batch, 4]}``.

    Returns:
        ``{"logits": [batch, 2], "energy": [batch, 1], "direction": [batch, 2]}``.
    """

    network_name = "cnn"

    def __init__(self, config: CNNConfig | dict | None = None, name: str = "reco_cnn",
                 **kwargs: Any):
        config = as_config(CNNConfig, config)
        inputs = reco_inputs(INPUT_NAMES["cnn"], config.hcal_window)
        branches = []
        for calo, filters, kernel in (("ecal", config.ecal_filters, (config.ecal_kernel,) * 3),
                                      ("hcal", config.hcal_filters, config.hcal_kernel)):
            x = layers.Conv3D(filters, kernel, activation="relu", name=f"{calo}_conv")(
                inputs[calo])
            x = layers.MaxPooling3D(config.pool, name=f"{calo}_pool")(x)
            branches.append(layers.Flatten(name=f"{calo}_flat")(x))
        x = layers.Concatenate(name="flat_inputs")([*branches, inputs["scalars"]])
        x = apply_hidden_layers(x, config.hidden_layers, config.units, config.dropout)
        outputs = apply_reco_head(x, inputs["scalars"])
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.config = config


# --------------------------------------------------------------------------------------------
# GoogLeNet
# --------------------------------------------------------------------------------------------


def _conv_bn_relu(x: keras.KerasTensor, filters: int, kernel_size: int, name: str
                  ) -> keras.KerasTensor:
    # Convolutions keep their bias before the batch norm, as PyTorch's Conv3d does; §5.2's
    # parameter count includes them.
    x = layers.Conv3D(filters, kernel_size, padding="same", name=f"{name}_conv")(x)
    x = layers.BatchNormalization(epsilon=BATCH_NORM_EPSILON, momentum=BATCH_NORM_MOMENTUM,
                                  name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def apply_inception(x: keras.KerasTensor, widths: Sequence[int], branch3: str, name: str,
                    channel_divisor: int = 1) -> keras.KerasTensor:
    """An inception module of appendix E, ``Inception(A, B, C, D, E, F, G)``.

    Four branches, each convolution followed by batch norm and ReLU, joined along channels:
    1×1×1 → B; 1×1×1 → C, 3×3×3 → D; 1×1×1 → E, then two 3×3×3 → F (``"3x3x3_twice"``) or one
    5×5×5 → F (``"5x5x5"``); 3×3×3 max-pool (stride 1), 1×1×1 → G. Sizes are kept ("same").

    Args:
        x: ``[batch, x, y, z, A]``.
        widths: ``(A, B, C, D, E, F, G)``; A is documentation only (the input's channels).
        branch3: ``"3x3x3_twice"`` or ``"5x5x5"``.
        name: prefix of the layer names.
        channel_divisor: divides B … G (at least 1 filter stays).

    Returns:
        ``[batch, x, y, z, B + D + F + G]`` (each divided by ``channel_divisor``).
    """
    b, c, d, e, f, g = (max(1, width // channel_divisor) for width in widths[1:])
    branch1 = _conv_bn_relu(x, b, 1, f"{name}_b1")
    branch2 = _conv_bn_relu(_conv_bn_relu(x, c, 1, f"{name}_b2_reduce"), d, 3, f"{name}_b2")
    branch3_x = _conv_bn_relu(x, e, 1, f"{name}_b3_reduce")
    if branch3 == "5x5x5":
        branch3_x = _conv_bn_relu(branch3_x, f, 5, f"{name}_b3")
    else:
        branch3_x = _conv_bn_relu(branch3_x, f, 3, f"{name}_b3_1")
        branch3_x = _conv_bn_relu(branch3_x, f, 3, f"{name}_b3_2")
    pooled = layers.MaxPooling3D(3, strides=1, padding="same", name=f"{name}_b4_pool")(x)
    branch4 = _conv_bn_relu(pooled, g, 1, f"{name}_b4")
    return layers.Concatenate(name=f"{name}_concat")([branch1, branch2, branch3_x, branch4])


@keras.saving.register_keras_serializable(package="caloml")
class RecoGoogLeNet(_RecoModel):
    """The GoogLeNet-like network of §5.1 and appendix E; it reads no HCAL cells.

    ECAL → instance norm (no affine parameters: ``GroupNormalization`` with one group on the
    single channel) → ``Conv3D(192, 3, same)`` + BN + ReLU → inception 3a, 3b → max-pool 3,
    stride 2 (25 → 13) → 4a … 4e → max-pool (13 → 7) → 5a, 5b → average pool 7 (7 → 1) →
    flatten, join the scalars → ``Dense(dense_units)`` + ReLU → dropout → the head
    (:func:`apply_reco_head`). PyTorch's max-pool padding of 1 is Keras' "same" here: both pad
    one cell per side with −∞ on odd sizes. With the defaults it has §5.2's 14,956,286 trainable
    parameters (15,289,646 with ``branch3="5x5x5"``).

    Args:
        config: a :class:`~caloml.reco.config.GoogLeNetConfig` (or its dict); None takes §5.2's.
        name: the model's name.

    Call arguments:
        inputs: ``{"ecal": [batch, 25, 25, 25, 1], "scalars": [batch, 4]}``.

    Returns:
        ``{"logits": [batch, 2], "energy": [batch, 1], "direction": [batch, 2]}``.
    """

    network_name = "googlenet"

    def __init__(self, config: GoogLeNetConfig | dict | None = None,
                 name: str = "reco_googlenet", **kwargs: Any):
        config = as_config(GoogLeNetConfig, config)
        inputs = reco_inputs(INPUT_NAMES["googlenet"])
        # Per-shower normalisation of the cells (Triforce's InstanceNorm3d, affine=False).
        x = layers.GroupNormalization(groups=1, center=False, scale=False,
                                      epsilon=INSTANCE_NORM_EPSILON, name="instance_norm")(
            inputs["ecal"])
        x = _conv_bn_relu(x, max(1, STEM_FILTERS // config.channel_divisor), 3, "stem")
        for module, widths in INCEPTION_WIDTHS.items():
            x = apply_inception(x, widths, config.branch3, f"inception_{module}",
                                config.channel_divisor)
            if module in POOL_AFTER:
                x = layers.MaxPooling3D(3, strides=2, padding="same", name=f"pool_{module}")(x)
        x = layers.AveragePooling3D(7, strides=1, name="average_pool")(x)
        x = layers.Flatten(name="flatten")(x)
        x = layers.Concatenate(name="dense_inputs")([x, inputs["scalars"]])
        x = layers.Dense(config.dense_units, activation="relu", name="hidden_1")(x)
        x = layers.Dropout(config.dropout, name="dropout_1")(x)
        outputs = apply_reco_head(x, inputs["scalars"])
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.config = config


# --------------------------------------------------------------------------------------------
# Factory
# --------------------------------------------------------------------------------------------

NETWORK_CLASSES = {"dnn": RecoDNN, "cnn": RecoCNN, "googlenet": RecoGoogLeNet}


def build_network(name: str, config: Any = None) -> keras.Model:
    """The reconstruction network ``name`` with ``config``.

    Args:
        name: ``"dnn"``, ``"cnn"`` or ``"googlenet"``.
        config: that network's config dataclass, its dict, or None for §5.2's best settings.

    Returns:
        A :class:`RecoDNN`, :class:`RecoCNN` or :class:`RecoGoogLeNet`.

    Raises:
        InputError: an unknown name, or a config of another network.
    """
    if name not in NETWORKS:
        raise InputError(f"network must be one of {', '.join(NETWORKS)}, got {name!r}")
    expected = NETWORK_CONFIGS[name]
    if config is not None and not isinstance(config, (expected, dict)):
        raise InputError(f"the {name} network needs a {expected.__name__}, "
                         f"got a {type(config).__name__}")
    return NETWORK_CLASSES[name](config)
