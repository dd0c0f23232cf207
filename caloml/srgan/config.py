"""Settings of the SR-GAN for SR-γ study (paper 000), as frozen dataclasses of paper defaults.

Erdmann, van der Graaf, Mausolf, Nackenhorst, "SR-GAN for SR-gamma: super resolution of
photon calorimeter images at collider experiments". Every default cites the paper's section;
values the paper does not give are marked as caloml's choice (README, deviations). This module
imports neither TensorFlow nor Keras, so entry scripts can read the defaults before the flags
are parsed.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from caloml import checks, training
from caloml.checks import as_config
from caloml.data import preprocessing, srgamma
from caloml.errors import InputError

# §2: the 6×6 LR sub-image with the largest energy and its 4×4-finer HR counterpart.
LR_SIZE = preprocessing.WINDOW_SIZE
HR_SIZE = preprocessing.HR_WINDOW_SIZE
# §4: λ_per = 3e-2 at 20 GeV and 3e-1 at 50 GeV; other energies need it set explicitly.
PERCEPTUAL_WEIGHT = {"20": 3e-2, "50": 3e-1}
# §5: overlapping area of the photon and π⁰ width histograms ("with a binning as in Fig. 11").
PAPER_WIDTH_OVERLAP = {
    "20": {"LR": 0.52, "HR": 0.0053, "SR": 0.0090},
    "50": {"LR": 0.85, "HR": 0.19, "SR": 0.29},
}
# §4 and Fig. 8: the intermediate epoch whose average SR image the figure shows (the paper's
# 100; a run of fewer than 200 epochs shows its middle epoch instead).
PAPER_INTERMEDIATE_EPOCH = 100
PERCEPTUAL_FEATURES = ("pre_activation", "post_activation")


def perceptual_weight(energy_gev: float) -> float:
    """λ_per of paper 000 §4 for 20 or 50 GeV; raises InputError for other energies."""
    key = srgamma.paper_energy(energy_gev)
    if key is None:
        raise InputError(
            f"the paper gives lambda_per only at 20 and 50 GeV (3e-2, 3e-1); set --lambda_per "
            f"for {energy_gev:g} GeV"
        )
    return PERCEPTUAL_WEIGHT[key]


def intermediate_epoch(epochs: int) -> int:
    """The middle column of Fig. 8: epoch 100 (paper), or half the run if it is shorter."""
    return max(1, min(PAPER_INTERMEDIATE_EPOCH, epochs // 2))


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
        checks.positive_int(self, "filters", "kernel_size", "dense_blocks",
                            "convs_per_dense_block", "channels")
        checks.positive_int(self, "num_rrdb", "upsample_steps", minimum=0)
        checks.finite(self, "residual_scale", low=0.0)

    @property
    def upscale(self) -> int:
        """Factor by which the generator enlarges each lateral dimension (4 in the paper)."""
        return 2**self.upsample_steps


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
        checks.positive_int(self, "kernel_size", "dense_units", "image_size", "channels")
        if len(self.filters) != len(self.strides):
            raise InputError(f"{len(self.filters)} filters but {len(self.strides)} strides")


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
        checks.positive_int(self, "filters", "kernel_size", "num_convs", "image_size",
                            "dense_units", "channels")
        checks.finite(self, "l2", low=0.0)
        pools = self.num_convs if self.pool_after_each else 1
        if self.image_size // 2**pools < 1:
            raise InputError(f"{pools} 2×2 poolings leave nothing of a {self.image_size}² image")

    @classmethod
    def for_input(cls, kind: str, **overrides: Any) -> ClassifierConfig:
        """The paper's CNN for ``kind`` images: "hr" or "sr" (24×24) or "lr" (6×6), §5."""
        kind = kind.lower()
        if kind in ("hr", "sr"):
            return cls(**{"image_size": HR_SIZE, "pool_after_each": True, **overrides})
        if kind == "lr":
            return cls(**{"image_size": LR_SIZE, "pool_after_each": False, **overrides})
        raise InputError(f"kind must be 'hr', 'sr' or 'lr', got {kind!r}")


@dataclasses.dataclass(frozen=True)
class SRGANConfig:
    """Hyper-parameters of the adversarial training (defaults: paper 000 §3–4).

    Attributes:
        lambda_adv: weight of the adversarial generator loss, 1e-5.
        lambda_per: weight of the perceptual loss (3e-2 at 20 GeV, 3e-1 at 50 GeV).
        lambda_gp: gradient-penalty strength λ_GP, 1.
        critic_steps: critic mini-batches per generator mini-batch, 5.
        batch_size: global mini-batch size, 32.
        learning_rate, beta_1, beta_2: Adam for both networks, 1e-4, 0 and 0.9 (Gulrajani et
            al.'s WGAN-GP recommendations, adopted in §4).
        perceptual_features: Φ of the perceptual loss, taken from the HR classifier's third
            convolution (§3, "similar to the ESRGAN"): ``"pre_activation"`` before its ReLU, as
            ESRGAN takes its VGG features, or ``"post_activation"`` after it.
    """

    lambda_adv: float = 1e-5  # §4
    lambda_per: float = 3e-1  # §4, 50 GeV
    lambda_gp: float = 1.0  # §4
    critic_steps: int = 5  # §4
    batch_size: int = 32  # §4
    learning_rate: float = 1e-4  # §4
    beta_1: float = 0.0  # §4
    beta_2: float = 0.9  # §4
    perceptual_features: str = "pre_activation"  # §3 "similar to the ESRGAN"

    def __post_init__(self):
        checks.positive_int(self, "critic_steps", "batch_size")
        checks.finite(self, "lambda_adv", "lambda_per", "lambda_gp", low=0.0)
        checks.finite(self, "learning_rate", low=0.0, strict_low=True)
        checks.finite(self, "beta_1", "beta_2", low=0.0, high=1.0)
        if self.perceptual_features not in PERCEPTUAL_FEATURES:
            raise InputError(f"perceptual_features must be one of {PERCEPTUAL_FEATURES}, "
                             f"got {self.perceptual_features!r}")


@dataclasses.dataclass(frozen=True)
class ClassifierTraining:
    """How the photon/π⁰ CNNs are trained (paper 000 §5).

    Attributes:
        learning_rate: Adam's initial learning rate, 1e-3 (§5).
        batch_size: not given in the paper; 128.
        epochs: upper limit; training stops when the validation loss has not improved for
            ``patience`` epochs and the best weights are restored (the paper tunes each
            training by hand; early stopping is caloml's automatic equivalent).
        patience: see ``epochs``.
    """

    learning_rate: float = 1e-3  # §5
    batch_size: int = 128
    epochs: int = 50
    patience: int = 5

    def __post_init__(self):
        checks.positive_int(self, "batch_size", "epochs", "patience")
        checks.finite(self, "learning_rate", low=0.0, strict_low=True)


# Fields of SRGANExperiment that may change when a run is resumed; "gan.learning_rate" lets a
# diverged run continue from its last good checkpoint with a lower learning rate.
RESUMABLE_CHANGES = ("epochs", "workers", "strategy", "evaluate", "progress", "gan.learning_rate")


@dataclasses.dataclass(frozen=True)
class SRGANExperiment:
    """Settings of one SR-GAN study (defaults: paper 000).

    Attributes:
        workdir: all outputs; rerunning with the same settings resumes.
        energy_gev: particle energy (20 and 50 GeV in the paper).
        data: optional directory with ``photon.h5`` and ``pi0.h5`` in the srgamma layout;
            default: simulate them with the embedded simulator.
        epochs: GAN training epochs (one epoch = each GAN-training event seen once by the
            critic). The paper trains "up to around 5,000" epochs, ~10 days on an A40.
        num_train: GAN-training events per particle (100,000 photons + 100,000 π⁰, §4).
        num_classifier_train: classifier-training events per particle (100,000 in total, §5).
        num_val: validation events per particle (per-epoch KS test).
        num_test_photon, num_test_pi0: test events; None takes the paper's (footnote 3:
            25,000 each at 50 GeV, 100,000 photons and 1,000,000 π⁰ at 20 GeV).
        classifier_sizes: training-set sizes of the LR and SR CNNs of Fig. 13 (in total,
            half photons, half π⁰); sizes above 2 × num_classifier_train are skipped.
        seed: seed of the data, the initialisation and the shuffling.
        strategy: ``auto``, ``default``, ``mirrored`` or ``multi_worker``.
        lambda_per: perceptual-loss weight; None takes the paper's value for 20 or 50 GeV.
        generator: the generator's architecture (5 RRDBs; the paper scanned 1–10).
        gan: the remaining GAN hyper-parameters.
        classifier_training: how the CNNs are trained.
        pretrain_epochs: epochs of pixel-wise (L1) training of the generator before the GAN,
            as ESRGAN does for its PSNR-oriented initialisation. Not in paper 000 (default 0);
            it makes short CPU runs produce recognisable SR images.
        workers: simulator processes.
        evaluate: run the evaluation (figures and metrics.json) at the end.
        progress: progress bars for the simulation and the GAN epochs.
    """

    workdir: str
    energy_gev: float = 50.0
    data: str | None = None
    epochs: int = 5000
    num_train: int = 100_000
    num_classifier_train: int = 50_000
    num_val: int = 5_000
    num_test_photon: int | None = None
    num_test_pi0: int | None = None
    classifier_sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
    seed: int = 1
    strategy: str = "auto"
    lambda_per: float | None = None
    generator: GeneratorConfig = GeneratorConfig()
    gan: SRGANConfig = SRGANConfig()
    classifier_training: ClassifierTraining = ClassifierTraining()
    pretrain_epochs: int = 0
    workers: int = 2
    evaluate: bool = True
    progress: bool = False

    def __post_init__(self):
        # Everything that can be checked before any work starts (nothing is written before).
        checks.finite(self, "energy_gev", low=1.0, high=500.0)
        checks.positive_int(self, "epochs", "num_train", "num_classifier_train", "num_val",
                            "workers")
        checks.positive_int(self, "pretrain_epochs", "seed", minimum=0)
        for name in ("num_test_photon", "num_test_pi0"):
            if getattr(self, name) is not None:
                checks.positive_int(self, name)
        checks.finite(self, "lambda_per", low=0.0, optional=True)
        if self.strategy not in training.STRATEGIES:
            raise InputError(f"strategy must be one of {training.STRATEGIES}, "
                             f"got {self.strategy!r}")
        for size in self.classifier_sizes:
            # Half photons, half π⁰: at least one of each.
            if not isinstance(size, int) or isinstance(size, bool) or size < 2:
                raise InputError(f"classifier_sizes must be integers of at least 2 (half "
                                 f"photons, half π⁰), got {size!r}")
        needed = self.gan.critic_steps * self.gan.batch_size
        if 2 * self.num_train < needed:
            raise InputError(
                f"one GAN step needs critic_steps × batch_size = {self.gan.critic_steps} × "
                f"{self.gan.batch_size} = {needed} events, more than the 2 × num_train = "
                f"{2 * self.num_train} GAN-training photons and π⁰; lower batch_size or raise "
                "num_train")

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> SRGANExperiment:
        """Inverse of the ``config.json`` written by the experiment."""
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in values.items() if k in fields}
        values["gan"] = as_config(SRGANConfig, values.get("gan"))
        values["generator"] = as_config(GeneratorConfig, values.get("generator"))
        values["classifier_training"] = as_config(ClassifierTraining,
                                                  values.get("classifier_training"))
        values["classifier_sizes"] = tuple(values.get("classifier_sizes", ()))
        return cls(**values)

    @property
    def splits(self) -> srgamma.Splits:
        paper_test = srgamma.paper_test_events(self.energy_gev)
        test = {p: paper_test[p] if n is None else n
                for p, n in (("photon", self.num_test_photon), ("pi0", self.num_test_pi0))}
        return srgamma.Splits(self.num_train, self.num_classifier_train, self.num_val,
                              test["photon"], test["pi0"])

    def resolved(self) -> SRGANExperiment:
        """Absolute paths, the perceptual weight and the test sizes filled in."""
        lambda_per = self.lambda_per
        if lambda_per is None:
            lambda_per = perceptual_weight(self.energy_gev)
        splits = self.splits
        return dataclasses.replace(
            self,
            workdir=os.path.abspath(self.workdir),
            data=os.path.abspath(self.data) if self.data else None,
            lambda_per=lambda_per,
            num_test_photon=splits.test_photon,
            num_test_pi0=splits.test_pi0,
            gan=dataclasses.replace(self.gan, lambda_per=lambda_per),
        )
