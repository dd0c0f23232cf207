"""Settings of the CaloGAN study (paper 004), as frozen dataclasses of the original defaults.

Paganini, de Oliveira, Nachman, "CaloGAN: simulating 3D high energy particle showers in
multi-layer electromagnetic calorimeters with generative adversarial networks" (PRD 97, 014021),
as re-run and assessed in the slides of ``../shared/papers/004``. The slides give the model in
words ("LAGAN submodules: a 2D convolutional unit followed by two locally-connected units with
batch-normalisation layers in between", latent 1024 multiplied by E/100, λ_E |E − Ê|) and the
assessment; every number they leave out is the original code's (hep-lbdl/CaloGAN ``models/``,
REFERENCES.md §1.2–1.4), cited per field. Values of neither are marked as caloml's choice
(README, deviations). This module imports neither TensorFlow nor Keras.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from caloml import checks, training
from caloml.checks import as_config
from caloml.errors import InputError

# The three readout layers of the calorimeter, [rows (x), columns (y)] cells (slides, Table I
# and the HDF5 listing; REFERENCES.md §1.1).
LAYER_SHAPES: tuple[tuple[int, int], ...] = ((3, 96), (12, 12), (12, 6))
LAYER_KEYS = ("layer_0", "layer_1", "layer_2")
# The particles of the public files (slides: "one model for each particle type: positron, pion,
# gamma"; Mendeley eplus/gamma/piplus.hdf5).
PARTICLES = ("positron", "photon", "piplus")
# train.py draws the energies of generated showers from U(1, 100) GeV, the beam's range.
TRAINING_ENERGY_GEV = (1.0, 100.0)
# The slides' runtime table (ms per shower), which is the CaloGAN paper's Table: Geant4 on a
# CPU; the CaloGAN on a CPU at batch 1/10/128/1024 and on a GPU at batch 1/4/128/512/1024. The
# slides' text puts "CALOGAN CPU" beside the first three GPU rows; the paper's table and the
# arithmetic (0.021 ms at batch 128 would be ~3 TFLOP/s for ~60 MFLOP per shower) place them
# on the GPU.
PAPER_RUNTIME_MS = {
    "geant4_cpu": 1772.0,
    "calogan_cpu": {1: 13.1, 10: 5.11, 128: 2.19, 1024: 2.03},
    "calogan_gpu": {1: 14.5, 4: 3.68, 128: 0.021, 512: 0.014, 1024: 0.012},
}
# The issue's batch sizes: the slides' GPU column.
RUNTIME_BATCH_SIZES = (1, 4, 128, 512, 1024)


def _check_shapes(config: Any) -> None:
    shapes = config.layer_shapes
    if (not shapes or any(len(s) != 2 or any(not isinstance(n, int) or n < 1 for n in s)
                          for s in shapes)):
        raise InputError(f"layer_shapes must be (rows, columns) pairs of positive integers, got "
                         f"{shapes!r} ({type(config).__name__})")


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
    """The generator (slides §IV "Generator"; ``architectures.build_generator``, ``train.py``).

    Attributes:
        latent_dim: size of z ~ N(0, 1) (slides: "z ∈ R^1024").
        energy_scale_gev: the requested energy is divided by it and multiplies z (slides:
            "energy scaled by 100 -> multiplied by vector from latent space").
        layer_shapes: [rows, columns] of each calorimeter layer, one stream each.
        dense_channels: channels of each stream's dense pre-image of (rows + 2) × (columns + 2)
            pixels (``build_generator``: 36).
        conv_filters: filters of the 2×2 ``same`` convolution (16, he_uniform).
        lc_filters: filters of the first 2×2 locally-connected layer (6, he_uniform); the second
            has one filter and no bias (glorot_normal), both valid, trimming the +2 margin.
        attention: the in-painting attention layer 0 → 1 → 2 (``train.py``: on unless
            ``--no-attn``).
        attention_bias: initial bias of the carry-over channel of the attention's
            locally-connected layer (``ops.inpainting_attention``: −10, i.e. the layer starts by
            keeping its own image).
        leaky_slope: LeakyReLU slope (Keras-1 default 0.3, REFERENCES.md §1.7).
        synchronized_batch_norm: batch statistics over all replicas under a ``tf.distribute``
            strategy (caloml; no effect on one device).
        num_classes: particle classes; more than one adds the ACGAN embedding
            (``Embedding(classes, latent)``, glorot_normal, multiplying z).
    """

    latent_dim: int = 1024
    energy_scale_gev: float = 100.0
    layer_shapes: tuple[tuple[int, int], ...] = LAYER_SHAPES
    dense_channels: int = 36
    conv_filters: int = 16
    lc_filters: int = 6
    attention: bool = True
    attention_bias: float = -10.0
    leaky_slope: float = 0.3
    synchronized_batch_norm: bool = True
    num_classes: int = 1

    def __post_init__(self):
        object.__setattr__(self, "layer_shapes", tuple(tuple(s) for s in self.layer_shapes))
        _check_shapes(self)
        checks.positive_int(self, "latent_dim", "dense_channels", "conv_filters", "lc_filters",
                            "num_classes")
        checks.finite(self, "energy_scale_gev", low=0.0, strict_low=True)
        checks.finite(self, "attention_bias", "leaky_slope")
        if self.attention and len(self.layer_shapes) != 3:
            raise InputError("the in-painting attention is defined for the three CaloGAN layers "
                             f"(3×96, 12×12, 12×6), got layer_shapes={self.layer_shapes}")


@dataclasses.dataclass(frozen=True)
class DiscriminatorConfig:
    """The discriminator (slides §IV "Discriminator"; ``build_discriminator``, ``train.py``).

    Attributes:
        layer_shapes: [rows, columns] of each calorimeter layer.
        conv_filters: filters of the first, 2×2 ``same`` convolution (64).
        lc_filters: filters of the three locally-connected layers, 3×3 stride (1, 2), 2×2, and
            2×2 stride (1, 2), each after a zero-padding of 1 (16, 8, 8).
        minibatch_kernels, minibatch_dim: minibatch discrimination, a (kernels, features, dim)
            tensor and an L1 distance over ``dim`` (``Dense3D(10, 10)``).
        minibatch: minibatch discrimination on each layer's features.
        sparsity: each layer's fraction of cells > 0 as a feature.
        sparsity_minibatch: minibatch discrimination on the sparsity.
        energy_features: the per-layer energies /10, total /100, |E_tot − E|, 10·1[|…| > 5 GeV]
            and minibatch discrimination on the layer energies.
        leaky_slope: LeakyReLU slope (Keras-1 default 0.3).
        synchronized_batch_norm: batch statistics over all replicas under a ``tf.distribute``
            strategy, so a mirrored step equals a one-device step (caloml; no effect on one
            device).
        num_classes: particle classes; more than one adds the ACGAN head.
    """

    layer_shapes: tuple[tuple[int, int], ...] = LAYER_SHAPES
    conv_filters: int = 64
    lc_filters: tuple[int, int, int] = (16, 8, 8)
    minibatch_kernels: int = 10
    minibatch_dim: int = 10
    minibatch: bool = True
    sparsity: bool = True
    sparsity_minibatch: bool = True
    energy_features: bool = True
    leaky_slope: float = 0.3
    synchronized_batch_norm: bool = True
    num_classes: int = 1

    def __post_init__(self):
        object.__setattr__(self, "layer_shapes", tuple(tuple(s) for s in self.layer_shapes))
        object.__setattr__(self, "lc_filters", tuple(self.lc_filters))
        _check_shapes(self)
        checks.positive_int(self, "conv_filters", "minibatch_kernels", "minibatch_dim",
                            "num_classes")
        if len(self.lc_filters) != 3 or any(not isinstance(f, int) or f < 1
                                            for f in self.lc_filters):
            raise InputError(f"lc_filters must be three positive integers, got "
                             f"{self.lc_filters!r} (DiscriminatorConfig)")
        checks.finite(self, "leaky_slope")


@dataclasses.dataclass(frozen=True)
class CaloGANConfig:
    """The adversarial training (slides §IV "Loss formulation"; ``train.py`` defaults).

    Attributes:
        batch_size: global mini-batch (256).
        generator_learning_rate, discriminator_learning_rate: Adam rates (2e-4 and 2e-5).
        beta_1: Adam β1 (0.5); β2 is Keras' 0.999.
        energy_weight: λ_E of the |E − Ê| term (the sample weight 0.05 of the ``mae`` output).
        class_weight: weight of the ACGAN class loss (0.2).
        class_flip: probability of flipping the class label of a generated shower in the
            discriminator's ACGAN loss (``bit_flip(…, 0.3)``).
        generator_steps: generator updates per discriminator step (2, "to match the number of
            batches per epoch used to train the discriminator").
        fake_energy_gev: the range of requested energies U(low, high) (1–100 GeV).
        fake_batch_training_mode: whether the generator makes the discriminator's all-fake batch
            in training mode (batch statistics), as it makes the showers of its own updates.
            ``train.py`` made it with ``generator.predict``, i.e. in inference mode (BN moving
            averages): False, the default. In caloml's short runs the discriminator is then
            right on every fake shower of epochs 2–6 while the generator's loss says it fools
            it, until the moving averages catch up; True removes that mismatch but did not give
            better showers after 10 epochs (README, CaloGAN).
        num_classes: particle classes (1: one model per particle).
    """

    batch_size: int = 256
    generator_learning_rate: float = 2e-4
    discriminator_learning_rate: float = 2e-5
    beta_1: float = 0.5
    energy_weight: float = 0.05
    class_weight: float = 0.2
    class_flip: float = 0.3
    generator_steps: int = 2
    fake_energy_gev: tuple[float, float] = TRAINING_ENERGY_GEV
    fake_batch_training_mode: bool = False
    num_classes: int = 1

    def __post_init__(self):
        object.__setattr__(self, "fake_energy_gev", tuple(self.fake_energy_gev))
        checks.positive_int(self, "batch_size", "generator_steps", "num_classes")
        checks.finite(self, "generator_learning_rate", "discriminator_learning_rate",
                      low=0.0, strict_low=True)
        checks.finite(self, "beta_1", low=0.0, high=1.0)
        checks.finite(self, "energy_weight", "class_weight", low=0.0)
        checks.finite(self, "class_flip", low=0.0, high=1.0)
        low, high = self.fake_energy_gev
        if not 0 < low < high:
            raise InputError(f"fake_energy_gev must be (low, high) with 0 < low < high, got "
                             f"{self.fake_energy_gev} (CaloGANConfig)")


# config.json fields that may change when a run is resumed.
RESUMABLE_CHANGES = ("epochs", "evaluate", "progress", "workers", "strategy",
                     "response_energies_gev", "num_response", "runtime_batch_sizes")


@dataclasses.dataclass(frozen=True)
class CaloGANExperiment:
    """One CaloGAN study: data, model, training and assessment.

    Attributes:
        workdir: all outputs; rerunning in it resumes.
        particles: one particle (the slides' "one model for each particle type"), or several
            for the ACGAN of ``train.py`` (which its README says performs worse).
        data: a public file (one particle) or a directory holding ``eplus.hdf5``,
            ``gamma.hdf5`` and/or ``piplus.hdf5``; None simulates them into ``workdir/data``.
        epochs: training epochs (``train.py``: 50; the slides trained 10 in 16 hours).
        num_train: training showers per particle (the first rows of each file).
        num_test: held-out showers per particle after them, for the assessment (the original
            has no split; caloml's choice so that generated→train distances have a test→train
            reference; 100k = 90k + 10k fills a public file).
        seed: seed of the data, the initialisation, the noise and the order.
        strategy: ``auto``, ``default``, ``mirrored`` or ``multi_worker``.
        generator, discriminator, gan: the model and its training.
        response_energies_gev: requested energies of the energy-response assessment, inside and
            outside the training range.
        num_response: generated (and simulated) showers per response energy.
        runtime_batch_sizes: batch sizes of the runtime table (the slides').
        workers: simulator processes.
        evaluate: write the assessment (figures and metrics.json) at the end.
        progress: progress bars.
    """

    workdir: str
    particles: tuple[str, ...] = ("positron",)
    data: str | None = None
    epochs: int = 50
    num_train: int = 90_000
    num_test: int = 10_000
    seed: int = 1
    strategy: str = "auto"
    generator: GeneratorConfig = GeneratorConfig()
    discriminator: DiscriminatorConfig = DiscriminatorConfig()
    gan: CaloGANConfig = CaloGANConfig()
    response_energies_gev: tuple[float, ...] = (10.0, 50.0, 90.0, 150.0, 200.0)
    num_response: int = 1000
    runtime_batch_sizes: tuple[int, ...] = RUNTIME_BATCH_SIZES
    workers: int = 2
    evaluate: bool = True
    progress: bool = False

    def __post_init__(self):
        object.__setattr__(self, "particles", tuple(self.particles))
        object.__setattr__(self, "response_energies_gev", tuple(self.response_energies_gev))
        object.__setattr__(self, "runtime_batch_sizes", tuple(self.runtime_batch_sizes))
        if not self.particles:
            raise InputError("particles must name at least one of "
                             f"{', '.join(PARTICLES)}")
        for particle in self.particles:
            if particle not in PARTICLES:
                raise InputError(f"unknown particle {particle!r}; expected one of "
                                 f"{', '.join(PARTICLES)}")
        if len(set(self.particles)) != len(self.particles):
            raise InputError(f"particles are repeated: {', '.join(self.particles)}")
        classes = len(self.particles)
        for name, part in (("generator", self.generator), ("discriminator", self.discriminator),
                           ("gan", self.gan)):
            if part.num_classes != classes:
                raise InputError(
                    f"{name}.num_classes = {part.num_classes} but {classes} particle(s) "
                    f"({', '.join(self.particles)}) are trained: the ACGAN embedding has one "
                    "entry per particle")
        checks.positive_int(self, "epochs", "num_train", "num_test", "num_response", "workers")
        checks.positive_int(self, "seed", minimum=0)
        if self.strategy not in training.STRATEGIES:
            raise InputError(f"strategy must be one of {training.STRATEGIES}, "
                             f"got {self.strategy!r}")
        if not self.response_energies_gev or any(
                not isinstance(e, (int, float)) or not 0 < e <= 500
                for e in self.response_energies_gev):
            raise InputError("response_energies_gev must be energies in (0, 500] GeV (the "
                             f"simulator's range), got {self.response_energies_gev!r}")
        if not self.runtime_batch_sizes or any(
                not isinstance(b, int) or b < 1 for b in self.runtime_batch_sizes):
            raise InputError("runtime_batch_sizes must be positive integers, got "
                             f"{self.runtime_batch_sizes!r}")
        total = classes * self.num_train
        if total < self.gan.batch_size:
            raise InputError(
                f"one step needs batch_size = {self.gan.batch_size} showers, more than the "
                f"{total} training showers; lower --batch_size or raise --num_train")

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> CaloGANExperiment:
        """Inverse of the ``config.json`` written by the experiment."""
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in values.items() if k in fields}
        values["generator"] = as_config(GeneratorConfig, values.get("generator"))
        values["discriminator"] = as_config(DiscriminatorConfig, values.get("discriminator"))
        values["gan"] = as_config(CaloGANConfig, values.get("gan"))
        return cls(**values)

    def resolved(self) -> CaloGANExperiment:
        """Absolute paths."""
        return dataclasses.replace(self, workdir=os.path.abspath(self.workdir),
                                   data=os.path.abspath(self.data) if self.data else None)


def for_particles(particles: tuple[str, ...], **fields: Any) -> CaloGANExperiment:
    """A :class:`CaloGANExperiment` whose networks and loss have one class per particle."""
    classes = len(tuple(particles))
    generator = dataclasses.replace(fields.pop("generator", GeneratorConfig()),
                                    num_classes=classes)
    discriminator = dataclasses.replace(fields.pop("discriminator", DiscriminatorConfig()),
                                        num_classes=classes)
    gan = dataclasses.replace(fields.pop("gan", CaloGANConfig()), num_classes=classes)
    return CaloGANExperiment(particles=tuple(particles), generator=generator,
                             discriminator=discriminator, gan=gan, **fields)
