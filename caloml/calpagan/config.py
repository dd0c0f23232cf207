"""Settings of CALPAGAN (paper 002), as frozen dataclasses of paper and original-code defaults.

CALPAGAN (paper 002): a pix2pix-style conditional GAN that turns a
fast-simulation (Delphes) calorimeter tower image into a detailed-simulation (Geant4) one on
the 72×72 η–φ grid of the CMS towers. Every default cites the paper's section or figure; what
the paper leaves out is taken from its code (byrkbrk/calpagan-experiment, REFERENCES.md §6) or
from pix2pix (Isola et al. 2017, the paper's ref. [10]) and marked so (README, deviations).
This module imports neither TensorFlow nor Keras, so entry scripts can read the defaults
before the flags are parsed.

Two variants (:data:`VARIANTS`, :func:`variant`):

* ``"paper"`` (the defaults): the cGAN loss of Eq. 1 (the discriminator sees the condition),
  λ_L1 = 100 (pix2pix; the paper gives no value) and the per-image max normalisation of §3;
* ``"original_code"`` (:func:`original_code`): what the original code trains, a GAN + L1
  loss (the discriminator sees the image only, generated images pass through a ReLU first),
  λ_L1 = 400, both images divided by the fast image's maximum, and one batch normalisation
  shared by the two convolutions of each generator block.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

from caloml import checks
from caloml import training as training_lib
from caloml.checks import as_config
from caloml.errors import InputError, UsageError

__all__ = [
    "IMAGE_SIZE", "NORMALISATIONS", "PROCESSES", "RESUMABLE_CHANGES", "VARIANTS",
    "CalpaganExperiment", "DiscriminatorConfig", "GeneratorConfig", "TrainingConfig",
    "as_config", "original_code", "variant",
]

# §2: "The calorimeter structure of the CMS Detector allows the creation of a 72 × 72 image in
# η–φ space" (caloml.events.towers.IMAGE_SHAPE).
IMAGE_SIZE = 72
# §2: W + jets (up to 3 jets) and dijet events, 5000 training and 5000 test events each.
PROCESSES = ("wjets", "dijet")
# How the pair (fast, detailed) is brought to [0, 1] (see TrainingConfig.normalisation).
NORMALISATIONS = ("per_image", "condition_max")
VARIANTS = ("paper", "original_code")


def _as_flags(check, config: Any, *names: str, **kwargs: Any) -> None:
    """Runs a :mod:`caloml.checks` check, naming the failing field as its flag (``--name``)."""
    try:
        check(config, *names, **kwargs)
    except InputError as error:
        raise UsageError(f"--{error}") from None


def _flag(config: Any, name: str, expected: str) -> UsageError:
    return UsageError(f"--{name} must be {expected}, got {getattr(config, name)!r} "
                      f"({type(config).__name__})")


def _check_bools(config: Any, *names: str) -> None:
    for name in names:
        if not isinstance(getattr(config, name), bool):
            raise _flag(config, name, "true or false")


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
    """The U-Net generator (§3.1, Fig. 3; the original code's ``UNet``).

    72×72×2 (fast image, noise) → 1×1 convolution to ``hidden_channels`` → contracting blocks
    (2 × [conv 3×3, batch normalisation, LeakyReLU], max-pool) that double the channels → as
    many expanding blocks (bilinear up-sampling, conv 2×2, skip connection, conv 3×3, conv 2×2)
    that halve them → 1×1 convolution to 1 channel → LeakyReLU(``output_slope``).

    Attributes:
        hidden_channels: channels after the first 1×1 convolution (Fig. 3: 72²×2 → 72²×16).
        pool_sizes: max-pool size (= stride) of each contracting block (§3.1: 2 for the first
            three, 3 for the last two: 72 → 36 → 18 → 9 → 3 → 1).
        upsampling: bilinear up-sampling factor of each expanding block (§3.1: "3 for the first
            two layers and 2 for the rest"); must mirror ``pool_sizes``, so that every skip
            connection meets an image of its size.
        leaky_slope: negative slope of the blocks' LeakyReLUs (§3.1: 0.2).
        output_slope: negative slope of the output LeakyReLU (Fig. 3 caption: 0.5).
        align_corners: bilinear up-sampling with aligned corners, as the original code's
            ``nn.Upsample(..., align_corners=True)`` (the paper says "bilinear" only); False
            uses Keras' half-pixel bilinear resize (PyTorch's ``align_corners=False``).
        shared_batch_norm: one batch normalisation per block, applied after both of its
            convolutions (the original code, a quirk of the pix2pix course template it builds
            on: its moving averages mix the statistics of two different convolutions, which
            inference mode then applies to both); False (default) gives each convolution its
            own, as §3.1 reads ("another round of batch normalization").
        init_stddev: convolution kernels drawn from N(0, init_stddev²) with zero biases (the
            original code's ``weights_init`` and pix2pix: 0.02); None uses Keras' defaults
            (Glorot-uniform kernels).
        synchronized_batch_norm: batch statistics over all replicas under a ``tf.distribute``
            strategy, so a mirrored step equals a one-device step (caloml; no effect on one
            device).
    """

    hidden_channels: int = 16  # Fig. 3
    pool_sizes: tuple[int, ...] = (2, 2, 2, 3, 3)  # §3.1
    upsampling: tuple[int, ...] = (3, 3, 2, 2, 2)  # §3.1
    leaky_slope: float = 0.2  # §3.1
    output_slope: float = 0.5  # Fig. 3 caption
    align_corners: bool = True  # original code
    shared_batch_norm: bool = False  # §3.1 (original code: True)
    init_stddev: float | None = 0.02  # original code, pix2pix
    synchronized_batch_norm: bool = True  # caloml

    def __post_init__(self):
        for name in ("pool_sizes", "upsampling"):
            value = getattr(self, name)
            steps = tuple(value) if isinstance(value, (list, tuple)) else ()
            if not steps or any(isinstance(s, bool) or not isinstance(s, int) or s < 1
                                for s in steps):
                raise _flag(self, name, "a non-empty sequence of positive integers")
            object.__setattr__(self, name, steps)
        if self.upsampling != self.pool_sizes[::-1]:
            raise UsageError(f"--upsampling must mirror --pool_sizes {self.pool_sizes} (got "
                             f"{self.upsampling}; expected {self.pool_sizes[::-1]}), so that "
                             "each skip connection meets an image of its size (GeneratorConfig)")
        _as_flags(checks.positive_int, self, "hidden_channels")
        _as_flags(checks.finite, self, "leaky_slope", "output_slope", low=0.0)
        _as_flags(checks.finite, self, "init_stddev", low=0.0, strict_low=True, optional=True)
        _check_bools(self, "align_corners", "shared_batch_norm", "synchronized_batch_norm")

    @property
    def downscale(self) -> int:
        """Ratio of the image size to the bottleneck's (72 for the paper: 72 → 1)."""
        return math.prod(self.pool_sizes)

    @property
    def bottleneck_channels(self) -> int:
        """Channels at the bottleneck (512 for the paper)."""
        return self.hidden_channels * 2 ** len(self.pool_sizes)


@dataclasses.dataclass(frozen=True)
class DiscriminatorConfig:
    """The PatchGAN discriminator (§3.1; the original code's ``Discriminator``).

    1×1 convolution to ``hidden_channels`` → ``num_blocks`` contracting blocks as the
    generator's, with instance instead of batch normalisation, and max-pool 2 → 1×1
    convolution to one logit per patch (72×72 → 9×9 with three blocks).

    Attributes:
        hidden_channels: channels after the first 1×1 convolution (§3.1: 8).
        num_blocks: contracting blocks (§3.1: three).
        leaky_slope: negative slope of the LeakyReLUs (the generator's blocks': 0.2).
        conditional: the discriminator sees [condition, image] (Eq. 1's D(x, y), the default);
            False: the image only (the original code: "GAN + L1 (not cGAN + L1)").
        relu_fakes: generated images pass through a ReLU before the discriminator (the original
            code, ``original_code()``); the L1 term still sees them unrectified.
        init_stddev: as :attr:`GeneratorConfig.init_stddev`.
    """

    hidden_channels: int = 8  # §3.1
    num_blocks: int = 3  # §3.1
    leaky_slope: float = 0.2  # §3.1 ("mirror those in the generator")
    conditional: bool = True  # Eq. 1
    relu_fakes: bool = False  # original code: True
    init_stddev: float | None = 0.02  # original code, pix2pix

    def __post_init__(self):
        _as_flags(checks.positive_int, self, "hidden_channels", "num_blocks")
        _as_flags(checks.finite, self, "leaky_slope", low=0.0)
        _as_flags(checks.finite, self, "init_stddev", low=0.0, strict_low=True, optional=True)
        _check_bools(self, "conditional", "relu_fakes")

    @property
    def input_channels(self) -> int:
        """2 ([condition, image]) for the conditional discriminator, else 1."""
        return 2 if self.conditional else 1

    @property
    def downscale(self) -> int:
        """Ratio of the image size to the patch map's (8 for three blocks: 72 → 9)."""
        return 2 ** self.num_blocks


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """The adversarial training (§3.1, Eq. 1; the original code's ``train.ipynb``).

    Attributes:
        batch_size: global mini-batch size (original code: 64).
        epochs: training epochs (original code: 50 in ``calpagan_train_test.ipynb``, the
            notebook its README runs; 100 in ``train.ipynb``; Figs. 5–6 show 44).
        learning_rate: Adam's step for both networks (original code: 2e-4, as pix2pix).
        beta_1, beta_2: Adam's moments (original code: PyTorch's defaults 0.9, 0.999; pix2pix
            uses β1 = 0.5).
        lambda_l1: λ of Eq. 1. The paper gives no value; 100 is pix2pix's, which CALPAGAN
            builds on (the original code: 400).
        normalisation: ``"per_image"`` (§3: each fast image divided by its own highest pixel,
            each detailed image by its own) or ``"condition_max"`` (the original code: both
            divided by the fast image's highest pixel, so the generator keeps the energy
            scale between them).
    """

    batch_size: int = 64  # original code
    epochs: int = 50  # original code (calpagan_train_test.ipynb)
    learning_rate: float = 2e-4  # original code
    beta_1: float = 0.9  # original code (Adam defaults)
    beta_2: float = 0.999  # original code (Adam defaults)
    lambda_l1: float = 100.0  # pix2pix (paper: not given; original code: 400)
    normalisation: str = "per_image"  # §3

    def __post_init__(self):
        _as_flags(checks.positive_int, self, "batch_size", "epochs")
        _as_flags(checks.finite, self, "learning_rate", low=0.0, strict_low=True)
        _as_flags(checks.finite, self, "beta_1", "beta_2", low=0.0, high=1.0)
        for name in ("beta_1", "beta_2"):
            if getattr(self, name) == 1.0:
                raise _flag(self, name, "< 1")
        _as_flags(checks.finite, self, "lambda_l1", low=0.0)
        if self.normalisation not in NORMALISATIONS:
            raise _flag(self, "normalisation", f"one of {', '.join(NORMALISATIONS)}")


def variant(name: str) -> dict[str, Any]:
    """The model and training settings of a variant, as ``CalpaganExperiment`` keywords.

    Args:
        name: ``"paper"`` (the defaults: cGAN of Eq. 1, λ_L1 = 100, per-image normalisation)
            or ``"original_code"`` (GAN + L1 with ReLU'd fakes, λ_L1 = 400, both images
            divided by the fast image's maximum, shared batch normalisation).

    Returns:
        ``{"generator": GeneratorConfig, "discriminator": DiscriminatorConfig,
        "training": TrainingConfig}``.
    """
    if name == "paper":
        return {"generator": GeneratorConfig(), "discriminator": DiscriminatorConfig(),
                "training": TrainingConfig()}
    if name == "original_code":
        return {"generator": GeneratorConfig(shared_batch_norm=True),
                "discriminator": DiscriminatorConfig(conditional=False, relu_fakes=True),
                "training": TrainingConfig(lambda_l1=400.0, normalisation="condition_max")}
    raise UsageError(f"--variant={name}: the variant must be one of {', '.join(VARIANTS)}")


def original_code() -> dict[str, Any]:
    """The original code's settings (REFERENCES.md §6): ``variant("original_code")``."""
    return variant("original_code")


# --------------------------------------------------------------------------------------------
# The study (train/calpagan.py)
# --------------------------------------------------------------------------------------------

# Settings a resumed run may change (config.json is compared on resume, except these).
RESUMABLE_CHANGES = ("epochs", "training.epochs", "evaluate", "progress", "workers",
                     "strategy", "num_eval", "other_data", "cross_process", "fid_events",
                     "classifier_epochs", "runtime_batch_sizes")


@dataclasses.dataclass(frozen=True)
class CalpaganExperiment:
    """One CALPAGAN study: data, model, training and assessment.

    Attributes:
        workdir: all outputs; rerunning in it resumes.
        process: the events trained on, ``"wjets"`` (W + jets) or ``"dijet"`` (§2).
        data: an events file of that process with fast and detailed tower images; None
            generates the events into ``workdir/data``.
        other_data: an events file of the other process, for the cross-process assessment
            (§4: a network trained on one process fails on the other); None generates it.
        num_train: training events, the first rows of the file (§2: 5000).
        num_test: held-out events after them (§2: 5000).
        num_eval: held-out events assessed (and events of the other process); None: all
            ``num_test`` (filled in by :meth:`resolved`).
        epochs: training epochs; None takes ``training.epochs``, a value replaces it, so the
            two always agree.
        seed: seed of the events, the initialisation, the order and the noise.
        strategy: ``auto``, ``default``, ``mirrored`` or ``multi_worker``.
        workers: event-generation processes.
        progress: progress bars.
        evaluate: write the assessment (figures and metrics.json) at the end.
        cross_process: also assess the network on the other process (§4).
        fid_every: epochs between two FID evaluations during training (Fig. 5: every epoch);
            0 evaluates none.
        fid_events: training and test events of each FID evaluation.
        classifier_epochs: epochs of the classifiers of the assessment.
        runtime_batch_sizes: batch sizes of the inference timing of the assessment (paper
            Fig. 13: 1 to 512; on the CPU only here).
        generator, discriminator, training: the model and its training.
    """

    workdir: str
    process: str = "wjets"
    data: str | None = None
    other_data: str | None = None
    num_train: int = 5000  # §2
    num_test: int = 5000  # §2
    num_eval: int | None = None
    epochs: int | None = None
    seed: int = 0
    strategy: str = "auto"
    workers: int = 1
    progress: bool = True
    evaluate: bool = True
    cross_process: bool = True
    fid_every: int = 1  # Fig. 5
    fid_events: int = 1000
    classifier_epochs: int = 10
    runtime_batch_sizes: tuple[int, ...] = (1, 8, 64, 512)  # Fig. 13
    generator: GeneratorConfig = GeneratorConfig()
    discriminator: DiscriminatorConfig = DiscriminatorConfig()
    training: TrainingConfig = TrainingConfig()

    def __post_init__(self):
        object.__setattr__(self, "generator", as_config(GeneratorConfig, self.generator))
        object.__setattr__(self, "discriminator",
                           as_config(DiscriminatorConfig, self.discriminator))
        object.__setattr__(self, "training", as_config(TrainingConfig, self.training))
        if self.process not in PROCESSES:
            raise UsageError(f"--process={self.process}: the process must be one of "
                             f"{', '.join(PROCESSES)}")
        if self.epochs is None:
            object.__setattr__(self, "epochs", self.training.epochs)
        _as_flags(checks.positive_int, self, "epochs", "num_train", "num_test", "workers",
                  "classifier_epochs")
        if self.epochs != self.training.epochs:
            object.__setattr__(self, "training",
                               dataclasses.replace(self.training, epochs=self.epochs))
        _as_flags(checks.positive_int, self, "seed", "fid_every", minimum=0)
        _as_flags(checks.positive_int, self, "fid_events", minimum=2)
        if self.num_eval is not None:
            _as_flags(checks.positive_int, self, "num_eval")
            if self.num_eval > self.num_test:
                raise UsageError(f"--num_eval={self.num_eval} exceeds the {self.num_test} "
                                 "held-out events (--num_test)")
        if self.strategy not in training_lib.STRATEGIES:
            raise UsageError(f"--strategy={self.strategy}: expected one of "
                             f"{', '.join(training_lib.STRATEGIES)}")
        _check_bools(self, "progress", "evaluate", "cross_process")
        sizes = self.runtime_batch_sizes
        sizes = tuple(sizes) if isinstance(sizes, (list, tuple)) else ()
        if not sizes or any(isinstance(b, bool) or not isinstance(b, int) or b < 1
                            for b in sizes):
            raise _flag(self, "runtime_batch_sizes", "a non-empty list of positive integers")
        object.__setattr__(self, "runtime_batch_sizes", sizes)
        for name in ("data", "other_data"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise _flag(self, name, "a file path or None")
        if self.num_train < self.training.batch_size:
            raise UsageError(f"--num_train={self.num_train} is below one batch of "
                             f"{self.training.batch_size} events (--batch_size)")

    @property
    def other_process(self) -> str:
        """The process of the cross-process assessment."""
        return PROCESSES[1 - PROCESSES.index(self.process)]

    def to_json(self) -> dict[str, Any]:
        """The settings as nested plain values (what ``config.json`` holds)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> CalpaganExperiment:
        """Inverse of :meth:`to_json` (unknown keys, such as ``caloml_version``, are ignored)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in fields})

    def resolved(self) -> CalpaganExperiment:
        """Absolute paths and ``num_eval`` filled in (``num_test`` if None)."""
        absolute = {name: os.path.abspath(getattr(self, name)) if getattr(self, name) else None
                    for name in ("data", "other_data")}
        num_eval = self.num_test if self.num_eval is None else self.num_eval
        return dataclasses.replace(self, workdir=os.path.abspath(self.workdir),
                                   num_eval=num_eval, **absolute)
