"""Settings of the 3DGAN study (paper 003 §4), as frozen dataclasses of the original defaults.

Khattak, Vallecorsa et al., in "Calorimetry with deep learning: particle simulation and
reconstruction for collider physics" (EPJC 80, 688), §4: a 3D convolutional GAN that generates
the 51 × 51 × 25 ECAL window of an electron for a requested energy and polar angle. The paper
gives the model in words; every number it leaves out is the original code's (svalleco/3Dgan,
branch ``Anglegan``: ``keras/AngleArch3dGAN.py`` and ``AngleTrain3dGAN.py``; its TF2 port
CERN-IT-INNOVATION/3DGAN), REFERENCES.md §2, cited per field. The fixed-angle 25 × 25 × 25
model of the first 3DGAN (§2.1, ``EcalEnergyGan.py``) is the ``energygan`` architecture. Values
of neither are marked as caloml's choice (README, deviations). This module imports neither
TensorFlow nor Keras.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

from caloml import checks, training
from caloml.checks import as_config
from caloml.errors import InputError

# The architectures: the Anglegan code's (default, it produced the published showers), the
# paper §4.1 text's generator (64 filters 6×6×8, then 6 of 5×8×8 and 3×5×8, LeakyReLU) with the
# code's discriminator, and the fixed-angle 25³ model of the first 3DGAN (REFERENCES.md §2.1).
ARCHITECTURES = ("anglegan", "paper_text", "energygan")
# ECAL windows [x (r phi), y (beam), layer] (paper §2 GEN dataset; the 25³ of the first 3DGAN).
WINDOWS = {"anglegan": (51, 51, 25), "paper_text": (51, 51, 25), "energygan": (25, 25, 25)}
# Paper §4: "we pre-processed the GEN dataset by replacing each cell energy content E with E^α
# ... optimal performance for α = 0.85" (AngleTrain3dGAN ``--xpower``).
POWER = 0.85
# The loss terms in the order of the original's discriminator outputs (paper Eq. 1: W_G L_G,
# W_P L_P, W_A L_A, W_E L_E, W_B L_B).
LOSS_TERMS = ("real", "energy", "angle", "ecal_sum", "bins")
# Paper §4.2: BCE ×3, percentage errors ×0.1, angle MAE ×25 (AngleTrain3dGAN defaults).
PAPER_LOSS_WEIGHTS = (3.0, 0.1, 25.0, 0.1, 0.1)
# The TF2 port (CERN-IT-INNOVATION/3DGAN): [3, 0.1, 25, 0.1] without the bin-count loss.
TF2_PORT_LOSS_WEIGHTS = (3.0, 0.1, 25.0, 0.1, 0.0)
# EcalEnergyGan's [BCE, MAPE(E), MAPE(ECAL sum)] weights (Energy-gan default [2, 0.1, 0.1]).
ENERGYGAN_LOSS_WEIGHTS = (2.0, 0.1, 0.0, 0.1, 0.0)
# Paper §2: the GEN dataset, electrons of 100–200 GeV at θ in [1.047, 2.094] rad (60°–120°).
GEN_ENERGY_GEV = (100.0, 200.0)
GEN_THETA_RAD = (1.047, 2.094)
# Paper §4.2: 13 ms/particle on an Intel Xeon 8180, 4 ms on an NVIDIA GTX 1080, Geant4 17 s.
PAPER_RUNTIME_MS = {"geant4_xeon_8180": 17_000.0, "3dgan_xeon_8180": 13.0,
                    "3dgan_gtx_1080": 4.0}
# Batch sizes of the generation-time table of every assessment (batch 64 is the training batch;
# a 51×51×25 shower takes about a second on two CPU cores, so larger batches are left to the
# benchmark), and of the benchmark (eval/benchmark.py --model=gan3d).
RUNTIME_BATCH_SIZES = (1, 64)
BENCHMARK_BATCH_SIZES = (1, 64, 256, 1024)


def _check_architecture(config: Any, allowed: tuple[str, ...] = ARCHITECTURES) -> None:
    if config.architecture not in allowed:
        raise InputError(f"unknown architecture {config.architecture!r} "
                         f"({type(config).__name__}); expected one of {', '.join(allowed)}")


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
    """The generator (paper §4.1; ``AngleArch3dGAN.generator``, REFERENCES.md §2.2).

    Attributes:
        architecture: ``anglegan`` (the code's stack: Dense(5184) → (9, 9, 8, 8) →
            UpSampling3D(6, 6, 6) → Conv3D(8, 6×6×8) → ReLU → BN → 3 × [pad (2, 2, 1) →
            Conv3D(6, 4×4×6) → ReLU → BN] → pad (1, 1, 0) → Conv3D(6, 3×3×5) → ReLU → BN →
            pad (1, 1, 0) → Conv3D(6, 3×3×3) → ReLU → Conv3D(1, 2×2×2) → ReLU), ``paper_text``
            (§4.1's words) or ``energygan`` (the fixed-angle 25³ generator, §2.1).
        latent_dim: the generator's input vector: [E / 100, θ, latent_dim − 2 Gaussian
            numbers] (paper: "a latent vector of 254 normally distributed random numbers";
            ``--latentsize 256``). For ``energygan``: 200 Gaussian numbers multiplied by E/100.
        energy_scale_gev: the requested energy enters divided by it (``--yscale 100``).
        power: the network makes cell energies raised to this power (paper §4: α = 0.85); the
            ``ecal`` output raises them back to 1 / power.
        batch_norm_epsilon: ε of the batch normalisations (the ``BN.py`` layer of 3DGAN: 1e-6).
        leaky_slope: LeakyReLU slope of the ``paper_text`` and ``energygan`` generators (Keras
            default 0.3; the ``anglegan`` stack uses ReLU).
        synchronized_batch_norm: batch statistics over all replicas under a ``tf.distribute``
            strategy (caloml; no effect on one device).
    """

    architecture: str = "anglegan"
    latent_dim: int = 256
    energy_scale_gev: float = 100.0
    power: float = POWER
    batch_norm_epsilon: float = 1e-6
    leaky_slope: float = 0.3
    synchronized_batch_norm: bool = True

    def __post_init__(self):
        _check_architecture(self)
        checks.positive_int(self, "latent_dim", minimum=3)
        checks.finite(self, "energy_scale_gev", "power", "batch_norm_epsilon", low=0.0,
                      strict_low=True)
        checks.finite(self, "leaky_slope")

    @property
    def window(self) -> tuple[int, int, int]:
        return WINDOWS[self.architecture]

    @property
    def conditions_on_angle(self) -> bool:
        return self.architecture != "energygan"

    @property
    def noise_dim(self) -> int:
        """Gaussian numbers per shower: latent_dim − 2 with the angle and energy inputs."""
        return self.latent_dim - 2 if self.conditions_on_angle else self.latent_dim


@dataclasses.dataclass(frozen=True)
class DiscriminatorConfig:
    """The discriminator (paper §4.1; ``AngleArch3dGAN.discriminator``, REFERENCES.md §2.2).

    Attributes:
        architecture: ``anglegan`` (Conv3D(16, 5×6×6, same) → LeakyReLU → Dropout → then three
            Conv3D(8, 5×6×6) blocks, the first two after a zero-padding of 1 along the depth,
            each with LeakyReLU, BN, Dropout → AveragePooling3D(2) → Flatten (19152)) or
            ``energygan`` (§2.1: Conv3D(32, 5³, same), three Conv3D(8, 5³) blocks after
            paddings 2, 2, 1 → 10648 features). ``paper_text`` uses the ``anglegan`` one (the
            text and the code agree on it).
        power: the input cells are raised to this power; the physics heads undo it.
        dropout: dropout rate after each convolution (0.2).
        leaky_slope: LeakyReLU slope (Keras-1/2 default 0.3, REFERENCES.md §9).
        batch_norm_epsilon: ε of the batch normalisations (``BN.py``: 1e-6).
        synchronized_batch_norm: batch statistics over all replicas under a strategy (caloml).
        bin_counts: the parameter-free head counting cells in the 8 intensity bins (the
            ``count`` Lambda) for the bin loss.
    """

    architecture: str = "anglegan"
    power: float = POWER
    dropout: float = 0.2
    leaky_slope: float = 0.3
    batch_norm_epsilon: float = 1e-6
    synchronized_batch_norm: bool = True
    bin_counts: bool = True

    def __post_init__(self):
        _check_architecture(self)
        checks.finite(self, "power", "batch_norm_epsilon", low=0.0, strict_low=True)
        checks.finite(self, "dropout", low=0.0, high=1.0)
        checks.finite(self, "leaky_slope")

    @property
    def window(self) -> tuple[int, int, int]:
        return WINDOWS[self.architecture]

    @property
    def measures_angle(self) -> bool:
        return self.architecture != "energygan"


@dataclasses.dataclass(frozen=True)
class Gan3DConfig:
    """The adversarial training (paper §4.2; ``AngleTrain3dGAN.py`` defaults).

    Attributes:
        batch_size: global mini-batch (64).
        learning_rate: RMSprop rate (``RMSprop()``: 1e-3; ρ 0.9, ε 1e-7 as Keras 2).
        rho: RMSprop ρ.
        loss_weights: weights of the terms of :data:`LOSS_TERMS` — BCE(real), MAPE(E/100),
            MAE(angle), MAPE(ECAL sum), MAPE(8 bin counts). Paper: (3, 0.1, 25, 0.1, 0.1);
            the TF2 port: (3, 0.1, 25, 0.1, 0) (:data:`TF2_PORT_LOSS_WEIGHTS`).
        label_flip: probability of flipping a real or fake label in the discriminator's
            updates (``BitFlip(prob=0.05)``, the paper's "label switching").
        generator_steps: generator updates per discriminator step (2).
        fake_batch_training_mode: whether the generator makes the discriminator's fake batch in
            training mode (batch statistics). The original made it with ``generator.predict``,
            i.e. in inference mode: False.
        min_ecal_sum: training events with an ECAL sum at or below it (files' units) are
            dropped (the original's data loading: 10).
    """

    batch_size: int = 64
    learning_rate: float = 1e-3
    rho: float = 0.9
    loss_weights: tuple[float, ...] = PAPER_LOSS_WEIGHTS
    label_flip: float = 0.05
    generator_steps: int = 2
    fake_batch_training_mode: bool = False
    min_ecal_sum: float = 10.0

    def __post_init__(self):
        object.__setattr__(self, "loss_weights", tuple(float(w) for w in self.loss_weights))
        checks.positive_int(self, "batch_size", "generator_steps")
        checks.finite(self, "learning_rate", low=0.0, strict_low=True)
        checks.finite(self, "rho", "label_flip", low=0.0, high=1.0)
        checks.finite(self, "min_ecal_sum")
        if len(self.loss_weights) != len(LOSS_TERMS) or any(
                not math.isfinite(w) or w < 0 for w in self.loss_weights):
            raise InputError(f"loss_weights must be {len(LOSS_TERMS)} non-negative numbers, "
                             f"the weights of {', '.join(LOSS_TERMS)}; got {self.loss_weights}")
        if self.loss_weights[0] == 0:
            raise InputError("loss_weights[0] (the real/fake cross-entropy) must be positive, "
                             "or nothing is adversarial")

    def weight(self, term: str) -> float:
        return self.loss_weights[LOSS_TERMS.index(term)]


# config.json fields that may change when a run is resumed.
RESUMABLE_CHANGES = ("epochs", "evaluate", "progress", "workers", "strategy", "num_eval",
                     "reco_workdir", "runtime_batch_sizes")


@dataclasses.dataclass(frozen=True)
class Gan3DExperiment:
    """One 3DGAN study: data, model, training and assessment.

    Attributes:
        workdir: all outputs; rerunning in it resumes.
        data: a file or a directory of files in the 3DGAN layout
            (:data:`caloml.io.schema.THREEDGAN`, e.g. made by ``train/prepare_3dgan_data.py``);
            None simulates CLIC electrons into ``workdir/data`` and converts them.
        epochs: training epochs (paper §4.2 and ``--nbepochs``: 60).
        num_train: training events (``--nEvents`` 200,000 split 90/10: 180,000).
        num_test: held-out events after them, for the assessment (20,000).
        energy_gev: (low, high) of the simulated electrons (paper §2 GEN: 100–200 GeV).
        theta_rad: (low, high) of the simulated polar angle (paper §2: 1.047–2.094 rad);
            ignored by the fixed-angle ``energygan`` model, which is trained at θ = 90°.
        seed: seed of the data, the initialisation, the noise, the flips and the order.
        strategy: ``auto``, ``default``, ``mirrored`` or ``multi_worker``.
        shuffle_buffer: events held by the streaming shuffle of the training file.
        generator, discriminator, gan: the model and its training.
        num_eval: test events compared with as many generated ones in the assessment.
        reco_workdir: a reconstruction work directory (``train/reco.py``, the 3D CNN) whose
            exported network classifies and measures simulated and generated showers (paper
            Appendix B); None leaves Appendix B out.
        runtime_batch_sizes: batch sizes of the generation-time table.
        workers: simulator processes.
        evaluate: write the assessment (figures and metrics.json) at the end.
        progress: progress bars.
    """

    workdir: str
    data: str | None = None
    epochs: int = 60
    num_train: int = 180_000
    num_test: int = 20_000
    energy_gev: tuple[float, float] = GEN_ENERGY_GEV
    theta_rad: tuple[float, float] = GEN_THETA_RAD
    seed: int = 1
    strategy: str = "auto"
    shuffle_buffer: int = 2048
    generator: GeneratorConfig = GeneratorConfig()
    discriminator: DiscriminatorConfig = DiscriminatorConfig()
    gan: Gan3DConfig = Gan3DConfig()
    num_eval: int = 2000
    reco_workdir: str | None = None
    runtime_batch_sizes: tuple[int, ...] = RUNTIME_BATCH_SIZES
    workers: int = 2
    evaluate: bool = True
    progress: bool = False

    def __post_init__(self):
        for name in ("energy_gev", "theta_rad", "runtime_batch_sizes"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        checks.positive_int(self, "epochs", "num_train", "num_test", "shuffle_buffer",
                            "num_eval", "workers")
        checks.positive_int(self, "seed", minimum=0)
        if self.strategy not in training.STRATEGIES:
            raise InputError(f"strategy must be one of {training.STRATEGIES}, "
                             f"got {self.strategy!r}")
        low, high = self.energy_gev
        if not 0 < low < high <= 500:
            raise InputError(f"energy_gev must be (low, high) with 0 < low < high <= 500 GeV "
                             f"(the simulator's range), got {self.energy_gev}")
        low, high = self.theta_rad
        if not 0 < low < high < math.pi:
            raise InputError(f"theta_rad must be (low, high) in radians with 0 < low < high "
                             f"< pi, got {self.theta_rad}")
        generator, discriminator = self.generator, self.discriminator
        expected = "anglegan" if generator.architecture == "paper_text" else \
            generator.architecture
        if discriminator.architecture != expected:
            raise InputError(f"generator.architecture={generator.architecture!r} needs "
                             f"discriminator.architecture={expected!r}, got "
                             f"{discriminator.architecture!r}")
        if generator.power != discriminator.power:
            raise InputError(f"generator.power ({generator.power}) and discriminator.power "
                             f"({discriminator.power}) must be equal: the discriminator sees "
                             "the generator's cells")
        weights = dict(zip(LOSS_TERMS, self.gan.loss_weights, strict=True))
        if not discriminator.measures_angle and weights["angle"] + weights["bins"] > 0:
            raise InputError("the energygan model has no angle or bin-count heads: its "
                             "loss_weights must be 0 for angle and bins (e.g. "
                             f"{ENERGYGAN_LOSS_WEIGHTS}), got {self.gan.loss_weights}")
        if weights["bins"] > 0 and not discriminator.bin_counts:
            raise InputError("loss_weights give the bin-count loss a weight but "
                             "discriminator.bin_counts is off")
        if not self.runtime_batch_sizes or any(
                not isinstance(b, int) or b < 1 for b in self.runtime_batch_sizes):
            raise InputError("runtime_batch_sizes must be positive integers, got "
                             f"{self.runtime_batch_sizes!r}")
        if self.num_train < self.gan.batch_size:
            raise InputError(
                f"one step needs batch_size = {self.gan.batch_size} events, more than the "
                f"{self.num_train} training events; lower --batch_size or raise --num_train")

    @property
    def window(self) -> tuple[int, int, int]:
        return self.generator.window

    @property
    def fixed_angle(self) -> bool:
        return not self.generator.conditions_on_angle

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> Gan3DExperiment:
        """Inverse of the ``config.json`` written by the experiment."""
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in values.items() if k in fields}
        values["generator"] = as_config(GeneratorConfig, values.get("generator"))
        values["discriminator"] = as_config(DiscriminatorConfig, values.get("discriminator"))
        values["gan"] = as_config(Gan3DConfig, values.get("gan"))
        return cls(**values)

    def resolved(self) -> Gan3DExperiment:
        """Absolute paths."""
        absolute = {name: os.path.abspath(getattr(self, name)) if getattr(self, name) else None
                    for name in ("data", "reco_workdir")}
        return dataclasses.replace(self, workdir=os.path.abspath(self.workdir), **absolute)


def for_architecture(architecture: str, batch_size: int | None = None,
                     **fields: Any) -> Gan3DExperiment:
    """A :class:`Gan3DExperiment` whose networks and loss weights suit ``architecture``.

    ``energygan`` (fixed angle, 25³) takes its own latent size (200), loss weights
    (:data:`ENERGYGAN_LOSS_WEIGHTS`), batch (128) and no power (1.0) where ``fields`` leave
    the defaults. ``batch_size`` (None: 64, or 128 for ``energygan``) sets ``gan.batch_size``.
    """
    generator = fields.pop("generator", GeneratorConfig())
    discriminator = fields.pop("discriminator", DiscriminatorConfig())
    gan = fields.pop("gan", Gan3DConfig())
    if architecture == "energygan":
        if generator.latent_dim == GeneratorConfig.latent_dim:
            generator = dataclasses.replace(generator, latent_dim=200)
        if gan.loss_weights == PAPER_LOSS_WEIGHTS:
            gan = dataclasses.replace(gan, loss_weights=ENERGYGAN_LOSS_WEIGHTS)
        if batch_size is None:
            batch_size = 128  # EcalEnergyTrain: batch 128
        # EcalEnergyGan trained on the cells themselves (no power; §4's α came with Anglegan).
        if generator.power == POWER and discriminator.power == POWER:
            generator = dataclasses.replace(generator, power=1.0)
            discriminator = dataclasses.replace(discriminator, power=1.0)
    if batch_size is not None:
        gan = dataclasses.replace(gan, batch_size=batch_size)
    discriminator_architecture = "anglegan" if architecture == "paper_text" else architecture
    return Gan3DExperiment(
        generator=dataclasses.replace(generator, architecture=architecture),
        discriminator=dataclasses.replace(discriminator,
                                          architecture=discriminator_architecture),
        gan=gan, **fields)
