"""Settings of the jet super-resolution GAN (paper 001), as frozen dataclasses of paper defaults.

Baldi, Blecher, Butter, Collado, Howard, Keilbach, Plehn, Kasieczka, Whiteson, "How to GAN
Higher Jet Resolution" (2021). Every default cites the paper's section or Table 1 ("optimal"
row); values the paper does not give are taken from its code (lukas-blecher/super-resolution)
or marked as caloml's choice (README, deviations). This module imports neither TensorFlow nor
Keras, so entry scripts can read the defaults before the flags are parsed.
"""

from __future__ import annotations

import dataclasses
import os

from caloml import checks
from caloml import training as training_lib
from caloml.checks import as_config
from caloml.errors import InputError, UsageError

__all__ = [
    "FACTORS", "HR_SIZE", "ORIGINAL_DISCRIMINATOR_FILTERS", "PIXEL_SHUFFLE", "STREAMS",
    "TRANSPOSED_CONV", "UPSAMPLING_STEPS", "DiscriminatorConfig", "GeneratorConfig",
    "JetSRConfig", "JetSRExperiment", "PROCESSES", "RESUMABLE_CHANGES", "as_config",
    "check_factor", "lr_size",
]

# §2: LR/HR pairs down-scaled by 2, 4 and 8; §3: 160×160 HR images (20×20 LR at f = 8).
FACTORS = (2, 4, 8)
HR_SIZE = 160
# Up-sampling steps of the generator (§2, Fig. 2): each doubles the lateral size.
PIXEL_SHUFFLE = "pixel_shuffle"
TRANSPOSED_CONV = "transposed_conv"
UPSAMPLING_STEPS = (PIXEL_SHUFFLE, TRANSPOSED_CONV)
# The original code's Markovian discriminator (`--d_channels 16 32 32 64`).
ORIGINAL_DISCRIMINATOR_FILTERS = (16, 32, 32, 64)
# Eq. 6: the loss is summed over the plain images and the images raised to the power p.
STREAMS = ("std", "pow")
HR_LOSSES = ("per_image", "batch_mean")


def check_factor(factor: object) -> int:
    """``factor`` if it is one of the paper's up-scaling factors 2, 4, 8; else a UsageError."""
    if isinstance(factor, bool) or factor not in FACTORS:
        raise UsageError(f"--factor={factor}: the factor must be 2, 4 or 8")
    return int(factor)


def lr_size(factor: int, hr_size: int = HR_SIZE) -> int:
    """Lateral size of the LR images of ``factor`` (§3: 160 / 8 = 20)."""
    return hr_size // check_factor(factor)


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
    """Generator hyper-parameters (§2 "Network architecture", Fig. 2, Table 1 "optimal").

    Attributes:
        factor: linear up-scaling factor f, 2, 4 or 8 (§3: 8, 20×20 → 160×160).
        num_rrdb: residual-in-residual dense blocks (Table 1: 10).
        filters: filters of the convolutions (§2: 64); also the growth rate of the dense
            blocks, as in the original code (ESRGAN's is 32).
        kernel_size: square kernel of the stride-1 convolutions (§2: 3×3, padding 1).
        dense_blocks: dense blocks per RRDB (§2: "Three DRBs form a RRDB").
        convs_per_dense_block: convolutions per dense block (original code: 5, as ESRGAN).
        residual_scale: β of both residual levels (Table 1: 0.1).
        leaky_slope: slope of every LeakyReLU (§2: α = 0.2; the original generator uses
            PyTorch's default 0.01).
        power: p of the pixel rescaling E → E^p (§2, Table 1 "rescaling": 0.3), in (0, 1].
        upsampling: the log2(f) ×2 steps, each ``"pixel_shuffle"`` or ``"transposed_conv"``.
            None (default) alternates them, starting with a pixel shuffle (§3: "pixel shuffle,
            transposed convolution, and another pixel shuffle" for f = 8); all pixel shuffles
            is the original code's default.
        transposed_kernel_size: kernel of the transposed convolutions (original code: 2, with
            stride 2 and no padding, so it doubles the size exactly).
    """

    factor: int = 8  # §3
    num_rrdb: int = 10  # Table 1
    filters: int = 64  # §2
    kernel_size: int = 3  # §2
    dense_blocks: int = 3  # §2
    convs_per_dense_block: int = 5  # original code (ESRGAN)
    residual_scale: float = 0.1  # Table 1, β
    leaky_slope: float = 0.2  # §2
    power: float = 0.3  # §2, Table 1 "rescaling"
    upsampling: tuple[str, ...] | None = None  # §3: alternating, pixel shuffle first
    transposed_kernel_size: int = 2  # original code

    def __post_init__(self):
        check_factor(self.factor)
        checks.positive_int(self, "filters", "kernel_size", "dense_blocks",
                            "convs_per_dense_block", "transposed_kernel_size")
        checks.positive_int(self, "num_rrdb", minimum=0)
        checks.finite(self, "residual_scale", "leaky_slope", low=0.0)
        # p > 1 would put a power below 1 (1/p) behind the generator's ReLU output, whose
        # derivative is infinite at the empty pixels.
        checks.finite(self, "power", low=0.0, high=1.0, strict_low=True)
        if self.upsampling is not None:
            steps = tuple(self.upsampling)
            if len(steps) != self.num_upsampling or any(s not in UPSAMPLING_STEPS
                                                         for s in steps):
                raise InputError(
                    f"upsampling must be {self.num_upsampling} steps (log2 of factor "
                    f"{self.factor}), each one of {', '.join(UPSAMPLING_STEPS)}; got "
                    f"{self.upsampling!r} (GeneratorConfig)")
            object.__setattr__(self, "upsampling", steps)

    @property
    def num_upsampling(self) -> int:
        """The ×2 up-sampling steps, log2(f)."""
        return self.factor.bit_length() - 1

    @property
    def upsampling_steps(self) -> tuple[str, ...]:
        """The resolved up-sampling steps (§3's alternation if ``upsampling`` is None)."""
        if self.upsampling is not None:
            return self.upsampling
        return tuple(UPSAMPLING_STEPS[i % 2] for i in range(self.num_upsampling))


@dataclasses.dataclass(frozen=True)
class DiscriminatorConfig:
    """Markovian discriminator hyper-parameters (§2 "Network architecture", Fig. 2).

    Each block is a 3×3 stride-1 convolution and a 3×3 stride-2 convolution, both with a
    LeakyReLU and no batch normalisation (removed from the SRGAN's, §2); after the last block a
    1-channel 3×3 convolution gives the unactivated patch responses C (the network is "cut off
    before flattening", a Markovian discriminator).

    Attributes:
        filters: filters of each block (§2: "four of those blocks", starting with 64 filters
            and doubling after each block); the original code's are
            :data:`ORIGINAL_DISCRIMINATOR_FILTERS` (16, 32, 32, 64).
        kernel_size: square kernel (§2: 3×3, padding 1).
        leaky_slope: slope of the LeakyReLUs (§2 via SRGAN; original code: 0.2).
    """

    filters: tuple[int, ...] = (64, 128, 256, 512)  # §2
    kernel_size: int = 3  # §2
    leaky_slope: float = 0.2  # §2, SRGAN

    def __post_init__(self):
        checks.positive_int(self, "kernel_size")
        checks.finite(self, "leaky_slope", low=0.0)
        filters = tuple(self.filters) if isinstance(self.filters, (list, tuple)) else ()
        if not filters or any(isinstance(f, bool) or not isinstance(f, int) or f < 1
                              for f in filters):
            raise InputError(f"filters must be a non-empty sequence of positive integers, got "
                             f"{self.filters!r} (DiscriminatorConfig)")
        object.__setattr__(self, "filters", filters)

    @property
    def downscale(self) -> int:
        """Lateral size ratio of the input image to the patch map (16 for four blocks)."""
        return 2 ** len(self.filters)


@dataclasses.dataclass(frozen=True)
class JetSRConfig:
    """Hyper-parameters of the adversarial training (Table 1 "optimal" row, §2 "Loss function").

    Attributes:
        batch_size: global mini-batch size (Table 1: 15).
        learning_rate, beta_1, beta_2: Adam for the generator and the discriminators
            (§2: λ = 1e-4, β1 = 0.5, β2 = 0.9).
        lambda_reg: weight of the gradient penalty, Eq. 8 (Table 1: 0.001). The original code
            adds λ_reg/2 times the penalty; caloml adds λ_reg times it, as Eq. 8 is written.
        lambda_std, lambda_pow: weights λ_s of the plain and the p-scaled stream in Eq. 6
            (Table 1: 0.2 and 1). A stream of weight 0 is left out entirely (no discriminator).
        lambda_hr, lambda_lr, lambda_adv, lambda_patch: weights of L_HR (Eq. 3), L_LR (Eq. 4),
            L_adv (Eq. 2) and L_patch (Eq. 5) in Eq. 6 (Table 1: 1, 0.1, 0.01, 0.1).
        reset_interval: batches after which the second discriminators are re-initialised
            (§2, Table 1: 20k); 0 never resets.
        hr_loss: ``"per_image"``, the mean over images of the per-image L1 (Eq. 3 as
            written), or ``"batch_mean"``, the L1 distance of the batch-mean SR and HR images
            (what the original code computes after its warm-up).
        warmup_batches: first batches that train the generator on the per-image L1(SR, HR) of
            the plain images only, with no discriminator update (the paper does not mention a
            warm-up; the original code's 500, which Table 1's tuning ran with).
        patch_threshold: pixel value above which a pixel counts as active in ``patch()``
            (Eq. 5), in each stream's units (GeV for std, GeV^p for pow), as in the original
            code (0.5 for both streams).
        patch_sharpness: slope of the sigmoid that makes the active-pixel count differentiable,
            per unit of pixel value (original code: 500).
    """

    batch_size: int = 15  # Table 1
    learning_rate: float = 1e-4  # §2
    beta_1: float = 0.5  # §2
    beta_2: float = 0.9  # §2
    lambda_reg: float = 0.001  # Table 1
    lambda_std: float = 0.2  # Table 1
    lambda_pow: float = 1.0  # Table 1
    lambda_hr: float = 1.0  # Table 1
    lambda_lr: float = 0.1  # Table 1
    lambda_adv: float = 0.01  # Table 1
    lambda_patch: float = 0.1  # Table 1
    reset_interval: int = 20_000  # Table 1
    hr_loss: str = "per_image"  # Eq. 3
    warmup_batches: int = 500  # original code
    patch_threshold: float = 0.5  # original code (hit_threshold)
    patch_sharpness: float = 500.0  # original code (sigma)

    def __post_init__(self):
        checks.positive_int(self, "batch_size")
        checks.positive_int(self, "reset_interval", "warmup_batches", minimum=0)
        checks.finite(self, "learning_rate", low=0.0, strict_low=True)
        checks.finite(self, "beta_1", "beta_2", low=0.0, high=1.0)
        checks.finite(self, "lambda_reg", "lambda_std", "lambda_pow", "lambda_hr", "lambda_lr",
                      "lambda_adv", "lambda_patch", "patch_threshold", low=0.0)
        checks.finite(self, "patch_sharpness", low=0.0, strict_low=True)
        if self.hr_loss not in HR_LOSSES:
            raise InputError(f"hr_loss must be one of {', '.join(HR_LOSSES)}, got "
                             f"{self.hr_loss!r} (JetSRConfig)")
        if not self.streams:
            raise InputError("lambda_std and lambda_pow are both 0: at least one stream of "
                             "Eq. 6 needs a positive weight (JetSRConfig)")

    def stream_weight(self, stream: str) -> float:
        """λ_s of Eq. 6 for ``"std"`` or ``"pow"``."""
        return {"std": self.lambda_std, "pow": self.lambda_pow}[stream]

    @property
    def streams(self) -> tuple[str, ...]:
        """The streams of Eq. 6 with a positive weight, in the order of :data:`STREAMS`."""
        return tuple(s for s in STREAMS if self.stream_weight(s) > 0)


# --------------------------------------------------------------------------------------------
# The study (train/jet_sr.py)
# --------------------------------------------------------------------------------------------

PROCESSES = ("qcd", "top")
# Settings a resumed run may change (config.json is compared on resume, except these).
RESUMABLE_CHANGES = ("epochs", "evaluate", "progress", "workers", "strategy", "num_eval",
                     "sr_threshold_gev", "other_data", "cross_process")


@dataclasses.dataclass(frozen=True)
class JetSRExperiment:
    """One jet super-resolution study: data, model, training and assessment.

    Attributes:
        workdir: all outputs; rerunning in it resumes.
        jets: the process trained on, ``"qcd"`` (QCD dijets, §3.1) or ``"top"`` (all-hadronic
            tt̄, §3.2).
        data: a jets-layout file of that process (``python -m caloml.jets``); None generates
            the jets with Pythia 8 into ``workdir/data``.
        other_data: a jets-layout file of the other process, for the cross-process
            assessment (§3.4, Figs 8–9); None generates ``num_eval`` jets.
        epochs: training epochs. With the defaults one epoch is 5,333 steps of 15 jets, so 15
            epochs are the 80k iterations of §2 ("typically takes 50k–100k iterations").
        num_train: training jets (the first rows of the file).
        num_test: held-out jets after them.
        num_eval: held-out jets assessed (and jets of the other process).
        seed: seed of the jets, the initialisation, the order and the gradient-penalty ε.
        strategy: ``auto``, ``default``, ``mirrored`` or ``multi_worker``.
        shuffle_buffer: jets in the streaming shuffle buffer (~106 KB each).
        workers: Pythia processes generating the jets.
        evaluate: write the assessment (figures and metrics.json) at the end.
        progress: progress bars.
        cross_process: also assess the network on the other process (Figs 8–9).
        sr_threshold_gev: SR pixels at or below it are zeroed before the assessment (the
            original code's hard-shrink); None: the smallest non-zero HR pixel pT of the
            training jets.
        generator, discriminator, training: the model and its training.
    """

    workdir: str
    jets: str = "qcd"
    data: str | None = None
    other_data: str | None = None
    epochs: int = 15
    num_train: int = 80_000
    num_test: int = 20_000
    num_eval: int = 5000
    seed: int = 1
    strategy: str = "auto"
    shuffle_buffer: int = 2048
    workers: int = 2
    evaluate: bool = True
    progress: bool = False
    cross_process: bool = True
    sr_threshold_gev: float | None = None
    generator: GeneratorConfig = GeneratorConfig()
    discriminator: DiscriminatorConfig = DiscriminatorConfig()
    training: JetSRConfig = JetSRConfig()

    def __post_init__(self):
        object.__setattr__(self, "generator", as_config(GeneratorConfig, self.generator))
        object.__setattr__(self, "discriminator",
                           as_config(DiscriminatorConfig, self.discriminator))
        object.__setattr__(self, "training", as_config(JetSRConfig, self.training))
        checks.positive_int(self, "epochs", "num_train", "num_test", "num_eval",
                            "shuffle_buffer", "workers")
        checks.positive_int(self, "seed", minimum=0)
        if self.jets not in PROCESSES:
            raise UsageError(f"--jets={self.jets}: the process must be qcd or top")
        if self.strategy not in training_lib.STRATEGIES:
            raise InputError(f"strategy must be one of {training_lib.STRATEGIES}, got "
                             f"{self.strategy!r}")
        if self.sr_threshold_gev is not None:
            checks.finite(self, "sr_threshold_gev", low=0.0)
        if self.num_train < self.training.batch_size:
            raise InputError(f"num_train={self.num_train} is below one batch of "
                             f"{self.training.batch_size} jets (--num_train, --batch_size)")

    @classmethod
    def from_json(cls, values: dict) -> JetSRExperiment:
        """Inverse of the ``config.json`` written by the experiment."""
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in fields})

    def resolved(self) -> JetSRExperiment:
        """Absolute paths."""
        absolute = {name: os.path.abspath(getattr(self, name)) if getattr(self, name) else None
                    for name in ("data", "other_data")}
        return dataclasses.replace(self, workdir=os.path.abspath(self.workdir), **absolute)
