"""Networks of the CaloGAN (paper 004): the LAGAN generator and discriminator of three layers.

- :class:`CaloGANGenerator` (slides §IV "Generator"; REFERENCES.md §1.2): the latent vector
  z ∈ R^1024 multiplied by E/100 (and, for an ACGAN, by a particle embedding) feeds three
  parallel LAGAN streams, one per calorimeter layer — dense pre-image, a 2×2 convolution, two
  2×2 locally-connected layers — joined by the in-painting attention layer 0 → 1 → 2.
- :class:`CaloGANDiscriminator` (slides §IV "Discriminator"; REFERENCES.md §1.3): per layer a
  convolution and three locally-connected layers, with minibatch discrimination on the features
  and on the sparsity; then the energy features (per-layer and total energy, the distance of the
  total to the requested energy) and minibatch discrimination on the layer energies.

Inputs and outputs are dicts keyed like the public files: images ``layer_i`` ``[batch, rows,
columns]`` of cell energies in **GeV** (the original's network unit: the files' MeV / 1000),
``energy`` ``[batch, 1]`` in GeV and, for several particles, ``particle`` ``[batch, 1]`` int32.
The discriminator returns logits (the original's ``Dense(1, sigmoid)`` under a binary
cross-entropy is the same function; logits keep the loss finite when the discriminator is sure).

The original was written with Keras 1/2 defaults, which Keras 3 keeps and these networks use:
LeakyReLU slope 0.3, BatchNormalization momentum 0.99 and ε 1e-3, and ``same`` padding of a 2×2
convolution that pads only after the last row and column (tested in ``tests/layers``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
from keras import layers

from caloml.calogan.config import LAYER_KEYS, DiscriminatorConfig, GeneratorConfig, as_config
from caloml.layers import attention, calorimeter, minibatch
from caloml.layers.locally_connected import LocallyConnected2D


class _ConfiguredModel(keras.Model):
    """A functional network built from one config dataclass, kept in ``self.config``."""

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable,
                "config": dataclasses.asdict(self.config)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> _ConfiguredModel:
        return cls(**config)

    @property
    def num_classes(self) -> int:
        return self.config.num_classes


def _batch_norm(name: str, synchronized: bool) -> layers.BatchNormalization:
    # Keras 1/2 and 3 share the defaults (momentum 0.99, epsilon 1e-3).
    return layers.BatchNormalization(synchronized=synchronized, name=name)


def _generator_stream(h, rows: int, columns: int, config: GeneratorConfig, name: str):
    """One LAGAN stream: latent → ``[batch, rows, columns, 1]``, linear (before the ReLU)."""
    margin_rows, margin_columns = rows + 2, columns + 2
    x = layers.Dense(margin_rows * margin_columns * config.dense_channels,
                     name=f"{name}_dense")(h)
    x = layers.Reshape((margin_rows, margin_columns, config.dense_channels),
                       name=f"{name}_reshape")(x)
    x = layers.Conv2D(config.conv_filters, 2, padding="same", kernel_initializer="he_uniform",
                      name=f"{name}_conv")(x)
    x = layers.LeakyReLU(config.leaky_slope, name=f"{name}_conv_lrelu")(x)
    x = _batch_norm(f"{name}_conv_bn", config.synchronized_batch_norm)(x)
    x = LocallyConnected2D(config.lc_filters, 2, kernel_initializer="he_uniform",
                           name=f"{name}_lc1")(x)
    x = layers.LeakyReLU(config.leaky_slope, name=f"{name}_lc1_lrelu")(x)
    return LocallyConnected2D(1, 2, use_bias=False, kernel_initializer="glorot_normal",
                              name=f"{name}_lc2")(x)


def _resize(x, source: tuple[int, int], target: tuple[int, int], name: str):
    """Nearest-neighbour upsampling then average pooling from ``source`` to ``target`` cells.

    Layer 0 → 1 of the CaloGAN: 3×96 → ×(4, 1) → 12×96 → pool (1, 8) → 12×12; layer 1 → 2:
    12×12 → pool (1, 2) → 12×6 (``train.py``). Each ratio must be an integer.
    """
    up, pool = [], []
    for s, t in zip(source, target, strict=True):
        if (t % s if t >= s else s % t) != 0:
            raise ValueError(f"the attention needs integer cell ratios between layers, got "
                             f"{source} -> {target}")
        up.append(t // s if t >= s else 1)
        pool.append(s // t if s > t else 1)
    if up != [1, 1]:
        x = layers.UpSampling2D(tuple(up), name=f"{name}_upsample")(x)
    if pool != [1, 1]:
        x = layers.AveragePooling2D(tuple(pool), name=f"{name}_pool")(x)
    return x


@keras.saving.register_keras_serializable(package="caloml")
class CaloGANGenerator(_ConfiguredModel):
    """The CaloGAN generator (slides §IV; hep-lbdl/CaloGAN ``build_generator`` and ``train.py``).

    h = z · E / 100 (· embedding(particle) for an ACGAN); per layer Dense((r+2)(c+2)·36) →
    Reshape → Conv2D(16, 2×2, same) → LeakyReLU → BN → LC2D(6, 2×2) → LeakyReLU →
    LC2D(1, 2×2, no bias); in-painting attention of layer 1 with layer 0 resized to 12×12 and
    of layer 2 with the attended layer 1 resized to 12×6; ReLU on each output. With the
    defaults it has 29,726,376 parameters (29,726,280 trainable; tests derive both by hand).

    Args:
        config: a :class:`~caloml.calogan.config.GeneratorConfig` (or its dict); None takes
            the original's values.
        name: the model's name.

    Call arguments:
        inputs: ``{"latent": [batch, latent_dim], "energy": [batch, 1] GeV}``, plus
            ``"particle": [batch, 1] int32`` when ``num_classes > 1``.

    Returns:
        ``{"layer_0": [batch, 3, 96], "layer_1": [batch, 12, 12], "layer_2": [batch, 12, 6]}``
        cell energies in GeV, non-negative.
    """

    def __init__(self, config: GeneratorConfig | dict | None = None,
                 name: str = "calogan_generator", **kwargs: Any):
        config = as_config(GeneratorConfig, config)
        latent = keras.Input((config.latent_dim,), name="latent")
        energy = keras.Input((1,), name="energy")
        inputs = {"latent": latent, "energy": energy}
        factors = [latent, energy]
        if config.num_classes > 1:
            particle = keras.Input((1,), dtype="int32", name="particle")
            inputs["particle"] = particle
            embedding = layers.Embedding(config.num_classes, config.latent_dim,
                                         embeddings_initializer="glorot_normal",
                                         name="particle_embedding")(particle)
            factors.append(layers.Flatten(name="particle_embedding_flat")(embedding))
        h = calorimeter.EnergyConditioning(config.energy_scale_gev, name="conditioning")(factors)
        images = [_generator_stream(h, rows, columns, config, f"layer{i}")
                  for i, (rows, columns) in enumerate(config.layer_shapes)]
        if config.attention:
            for i in (1, 2):
                carried = _resize(images[i - 1], config.layer_shapes[i - 1],
                                  config.layer_shapes[i], f"attention{i}")
                images[i] = attention.InpaintingAttention(
                    carryover_bias=config.attention_bias, name=f"attention{i}")(
                    [images[i], carried])
        outputs = {}
        for key, image, shape in zip(LAYER_KEYS, images, config.layer_shapes, strict=False):
            image = layers.ReLU(name=f"{key}_relu")(image)
            outputs[key] = layers.Reshape(shape, name=key)(image)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.config = config

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim


def _discriminator_stream(image, rows: int, columns: int, config: DiscriminatorConfig,
                          name: str):
    """Per-layer features: ``[batch, rows, columns]`` → ``[batch, features]``."""
    slope, sync = config.leaky_slope, config.synchronized_batch_norm
    x = layers.Reshape((rows, columns, 1), name=f"{name}_channel")(image)
    x = layers.Conv2D(config.conv_filters, 2, padding="same", name=f"{name}_conv")(x)
    x = layers.LeakyReLU(slope, name=f"{name}_conv_lrelu")(x)
    for j, (filters, kernel, strides) in enumerate(
            zip(config.lc_filters, (3, 2, 2), ((1, 2), (1, 1), (1, 2)), strict=True), start=1):
        x = layers.ZeroPadding2D(1, name=f"{name}_pad{j}")(x)
        x = LocallyConnected2D(filters, kernel, strides=strides, name=f"{name}_lc{j}")(x)
        x = layers.LeakyReLU(slope, name=f"{name}_lc{j}_lrelu")(x)
        x = _batch_norm(f"{name}_lc{j}_bn", sync)(x)
    x = layers.Flatten(name=f"{name}_flat")(x)
    features = [x]
    mbd = {"num_kernels": config.minibatch_kernels, "kernel_dim": config.minibatch_dim,
           "activation": "tanh"}
    if config.minibatch:
        features.append(minibatch.MinibatchDiscrimination(**mbd, name=f"{name}_mbd")(x))
    if config.sparsity or config.sparsity_minibatch:
        sparsity = calorimeter.Sparsity(name=f"{name}_sparsity")(image)
        if config.sparsity:
            features.append(sparsity)
        if config.sparsity_minibatch:
            features.append(minibatch.MinibatchDiscrimination(
                **mbd, name=f"{name}_sparsity_mbd")(sparsity))
    if len(features) == 1:
        return x
    return layers.Concatenate(name=f"{name}_features")(features)


@keras.saving.register_keras_serializable(package="caloml")
class CaloGANDiscriminator(_ConfiguredModel):
    """The CaloGAN discriminator (slides §IV; ``build_discriminator`` and ``train.py``).

    Per layer: Conv2D(64, 2×2, same) → LeakyReLU → [ZeroPad 1 → LC2D → LeakyReLU → BN] with
    LC2D(16, 3×3, strides (1, 2)), LC2D(8, 2×2), LC2D(8, 2×2, strides (1, 2)) → Flatten (1000,
    448 and 336 features), minibatch discrimination (10 kernels of 10, tanh), the sparsity and
    minibatch discrimination on it. Then the layer energies / 10, the total / 100, |E_tot − E|,
    10·1[|E_tot − E| > 5 GeV] and minibatch discrimination on the layer energies; all into
    ``Dense(1)``. With the defaults it has 2,744,524 parameters (2,744,332 trainable; derived
    by hand in the tests).

    Args:
        config: a :class:`~caloml.calogan.config.DiscriminatorConfig` (or its dict).
        name: the model's name.

    Call arguments:
        inputs: ``{"layer_0", "layer_1", "layer_2": [batch, rows, columns] GeV,
            "energy": [batch, 1] GeV}`` (the requested energy of a generated shower).

    Returns:
        ``{"real": [batch, 1]`` logit of "real", ``"total_energy": [batch, 1]`` GeV (the sum of
        all cells, parameter-free: its loss trains the generator only) and, when
        ``num_classes > 1``, ``"particle": [batch, num_classes]`` logits``}``.
    """

    def __init__(self, config: DiscriminatorConfig | dict | None = None,
                 name: str = "calogan_discriminator", **kwargs: Any):
        config = as_config(DiscriminatorConfig, config)
        images = {key: keras.Input(shape, name=key)
                  for key, shape in zip(LAYER_KEYS, config.layer_shapes, strict=False)}
        energy = keras.Input((1,), name="energy")
        features = [_discriminator_stream(images[key], *shape, config, key)
                    for key, shape in zip(LAYER_KEYS, config.layer_shapes, strict=False)]
        energies = layers.Concatenate(name="layer_energies")(
            [calorimeter.CellSum(name=f"{key}_energy")(image) for key, image in images.items()])
        total = calorimeter.CellSum(name="total_energy")(energies)
        if config.energy_features:
            features.append(calorimeter.EnergyConservation(name="energy_features")(
                [energies, total, energy]))
            features.append(minibatch.MinibatchDiscrimination(
                config.minibatch_kernels, config.minibatch_dim, activation="tanh",
                name="energy_mbd")(energies))
        p = layers.Concatenate(name="features")(features)
        outputs = {"real": layers.Dense(1, name="real")(p), "total_energy": total}
        if config.num_classes > 1:
            # The original's auxiliary output is Dense(1, sigmoid), which is right for two
            # classes only; a softmax over the classes is the same model for two and works for
            # three (README, deviations).
            outputs["particle"] = layers.Dense(config.num_classes, name="particle")(p)
        super().__init__(inputs={**images, "energy": energy}, outputs=outputs, name=name,
                         **kwargs)
        self.config = config


def _lc_flops(rows: int, columns: int, kernel: int, channels: int, filters: int) -> int:
    return 2 * rows * columns * kernel * kernel * channels * filters


def generator_flops(config: GeneratorConfig | None = None) -> int:
    """Floating-point operations of one generated shower, counted analytically.

    Counts the multiply-adds (×2) of the dense layers, convolutions and locally-connected
    layers, attention included; biases, activations, normalisation and pooling are left out.
    """
    config = as_config(GeneratorConfig, config)
    total = 0
    for rows, columns in config.layer_shapes:
        pixels = (rows + 2) * (columns + 2)
        total += 2 * config.latent_dim * pixels * config.dense_channels
        total += 2 * 4 * config.dense_channels * config.conv_filters * pixels
        total += _lc_flops(rows + 1, columns + 1, 2, config.conv_filters, config.lc_filters)
        total += _lc_flops(rows, columns, 2, config.lc_filters, 1)
    if config.attention:
        for rows, columns in config.layer_shapes[1:]:
            total += _lc_flops(rows, columns, 3, 2, 2)
    return total
