"""Settings of the end-to-end reconstruction study (paper 003 §5), as frozen dataclasses.

Belayneh et al., "Calorimetry with deep learning: particle simulation and reconstruction for
collider physics", §5 and appendices C–K; the original code is Triforce_CaloML (PyTorch,
REFERENCES.md §3). Every default cites the paper's section; values the paper does not give are
taken from Triforce and marked so. This module imports neither TensorFlow nor Keras, so entry
scripts can read the defaults before the flags are parsed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from caloml import checks
from caloml.checks import as_config
from caloml.data import reco as reco_data
from caloml.data.reco import DataConfig
from caloml.errors import InputError
from caloml.observables import expert

# ============================================================================================
# Network configurations (§5.1–5.2, appendices E and G)
# ============================================================================================

# §2, REC dataset: the ECAL window the networks see is 25 × 25 × 25 cells (x, y, layer) and the
# HCAL window H × H × 60.
ECAL_CELLS = (25, 25, 25)
HCAL_LAYERS = 60
# §2: the REC dataset's HCAL window, 11 × 11 × 60.
HCAL_WINDOW = 11
# The HCAL window of Triforce's default options (the hyper-parameter scans, §5.2): with it the
# DNN and the scan-default CNN have §5.2's parameter counts exactly.
PAPER_COUNT_HCAL_WINDOW = 5
NETWORKS = ("dnn", "cnn", "googlenet")
# Appendix E's third inception branch: "1×1×1 then 5×5×5". Triforce builds it as two stacked
# 3×3×3 convolutions (the receptive field of one 5×5×5, fewer weights), which is what gives
# §5.2's 14,956,286 parameters; a single 5×5×5 convolution gives 15,289,646.
BRANCH3_KINDS = ("3x3x3_twice", "5x5x5")


def _check_dropout(config: Any) -> None:
    # A rate of 1 would zero every hidden activation: Keras refuses it, and so do we, earlier.
    checks.finite(config, "dropout", low=0.0)
    if config.dropout >= 1.0:
        raise InputError(f"dropout must be < 1, got {config.dropout!r} "
                         f"({type(config).__name__})")


def _check_optimiser(config: Any) -> None:
    checks.finite(config, "learning_rate", low=0.0, strict_low=True)
    checks.finite(config, "decay", low=0.0)


@dataclasses.dataclass(frozen=True)
class DNNConfig:
    """The dense network (§5.1); defaults are §5.2's best settings.

    Attributes:
        hidden_layers: hidden ``Dense(units) → ReLU → dropout`` layers after the input layer
            (§5.2: 4). The input layer ``Dense(units)`` on the flat cells and scalars has no
            activation, as in Triforce's ``Combined_DNN``.
        units: neurons of the input and hidden layers (§5.2: 512).
        dropout: dropout probability after every hidden layer (§5.2: 0.04).
        hcal_window: lateral size H of the H × H × 60 HCAL input (§2: 11). 5, Triforce's
            scan default, gives §5.2's 9,823,774 parameters (:meth:`paper_count`).
        learning_rate: Adam's learning rate (§5.2: 2e-4).
        decay: the "decay rate" (§5.2: 0), PyTorch Adam's L2 ``weight_decay`` in Triforce.
    """

    hidden_layers: int = 4  # §5.2
    units: int = 512  # §5.2
    dropout: float = 0.04  # §5.2
    hcal_window: int = HCAL_WINDOW  # §2
    learning_rate: float = 2e-4  # §5.2
    decay: float = 0.0  # §5.2

    def __post_init__(self):
        checks.positive_int(self, "units", "hcal_window")
        checks.positive_int(self, "hidden_layers", minimum=0)
        _check_dropout(self)
        _check_optimiser(self)

    @classmethod
    def paper_count(cls, **overrides: Any) -> DNNConfig:
        """The DNN whose parameter count §5.2 gives (9,823,774): the best settings, HCAL 5 × 5."""
        return cls(**{"hcal_window": PAPER_COUNT_HCAL_WINDOW, **overrides})


@dataclasses.dataclass(frozen=True)
class CNNConfig:
    """The 3-D convolutional network (§5.1); defaults are §5.2's best settings.

    Attributes:
        ecal_filters: filters of the ECAL convolution (§5.2: 6).
        ecal_kernel: cubic kernel size of the ECAL convolution (§5.2: 6 × 6 × 6).
        hcal_filters: filters of the HCAL convolution (§5.1: 3).
        hcal_kernel: kernel of the HCAL convolution along (x, y, layer) (§5.1: 2 × 2 × 6).
        pool: cubic max-pooling size and stride after each convolution (§5.1: 2 × 2 × 2).
        hidden_layers: ``Dense(units) → ReLU → dropout`` layers, the first on the flattened
            convolutions and the scalars (§5.2: 4).
        units: neurons per hidden layer (§5.2: 512).
        dropout: dropout probability after every hidden layer (§5.2: 0.12).
        hcal_window: lateral size H of the H × H × 60 HCAL input (§2: 11).
        learning_rate: Adam's learning rate (§5.2: 4e-4).
        decay: the "decay rate" (§5.2: 0), PyTorch Adam's L2 ``weight_decay`` in Triforce.
    """

    ecal_filters: int = 6  # §5.2
    ecal_kernel: int = 6  # §5.2
    hcal_filters: int = 3  # §5.1
    hcal_kernel: tuple[int, int, int] = (2, 2, 6)  # §5.1
    pool: int = 2  # §5.1
    hidden_layers: int = 4  # §5.2
    units: int = 512  # §5.2
    dropout: float = 0.12  # §5.2
    hcal_window: int = HCAL_WINDOW  # §2
    learning_rate: float = 4e-4  # §5.2
    decay: float = 0.0  # §5.2

    def __post_init__(self):
        checks.positive_int(self, "ecal_filters", "ecal_kernel", "hcal_filters", "pool",
                            "hidden_layers", "units", "hcal_window")
        _check_dropout(self)
        _check_optimiser(self)
        kernel = self.hcal_kernel
        if (not isinstance(kernel, tuple) or len(kernel) != 3
                or not all(isinstance(k, int) and not isinstance(k, bool) and k >= 1
                           for k in kernel)):
            raise InputError(f"hcal_kernel must be three positive integers (x, y, layer), "
                             f"got {kernel!r} (CNNConfig)")
        # Valid convolutions then floor pooling: every axis must keep at least one cell.
        for name, cells, kernel in (
                ("ECAL", ECAL_CELLS, (self.ecal_kernel,) * 3),
                ("HCAL", (self.hcal_window, self.hcal_window, HCAL_LAYERS), self.hcal_kernel)):
            pooled = [(n - k + 1) // self.pool for n, k in zip(cells, kernel, strict=True)]
            if min(pooled) < 1:
                raise InputError(
                    f"the {name} convolution {kernel} and pooling {self.pool} leave nothing of "
                    f"{'×'.join(map(str, cells))} cells (CNNConfig)")

    @classmethod
    def paper_count(cls, **overrides: Any) -> CNNConfig:
        """The CNN whose parameter count §5.2 gives (3,003,692).

        That count is the scan-default network (3 ECAL filters of 4 × 4 × 4, HCAL 5 × 5, as in
        Triforce's default options), not the stated best one (6 filters of 6 × 6 × 6, HCAL
        11 × 11: 4,903,295 parameters).
        """
        return cls(**{"ecal_filters": 3, "ecal_kernel": 4,
                      "hcal_window": PAPER_COUNT_HCAL_WINDOW, **overrides})


@dataclasses.dataclass(frozen=True)
class GoogLeNetConfig:
    """The GoogLeNet-like network (§5.1, appendix E); defaults are §5.2's best settings.

    Attributes:
        dense_units: neurons of the hidden dense layer (§5.2: 1024).
        dropout: dropout probability after the hidden dense layer (Triforce's best options:
            0.01; its GoogLeNet never applies it, see the README's deviations).
        learning_rate: Adam's learning rate (§5.2: 1e-4).
        decay: the "decay rate" (§5.2: 0.01), PyTorch Adam's L2 ``weight_decay`` in Triforce.
        branch3: the third inception branch after its 1 × 1 × 1 reduction: two 3 × 3 × 3
            convolutions (Triforce; §5.2's parameter count) or one 5 × 5 × 5 (appendix E's text).
        micro_batch: events per forward/backward pass; gradients are summed over the batch
            (§5.2: batches of 1000 split into 100 mini-batches of 10 for GPU memory).
        channel_divisor: divides every convolution's filter count (at least 1 filter is kept).
            1 is the paper's network; larger values give small networks of the same shape for
            tests and smoke runs (the paper-size network takes seconds per shower on a CPU).
    """

    dense_units: int = 1024  # §5.2
    dropout: float = 0.01  # Triforce BestHyperparameterValues/combined_GN.py
    learning_rate: float = 1e-4  # §5.2
    decay: float = 0.01  # §5.2
    branch3: str = "3x3x3_twice"  # Triforce GoogLeNet.py; appendix E says 5×5×5
    micro_batch: int = 10  # §5.2
    channel_divisor: int = 1  # caloml: 1 = the paper's widths

    def __post_init__(self):
        checks.positive_int(self, "dense_units", "micro_batch", "channel_divisor")
        _check_dropout(self)
        _check_optimiser(self)
        if self.branch3 not in BRANCH3_KINDS:
            raise InputError(f"branch3 must be one of {', '.join(BRANCH3_KINDS)}, "
                             f"got {self.branch3!r} (GoogLeNetConfig)")

    @classmethod
    def paper_count(cls, **overrides: Any) -> GoogLeNetConfig:
        """The GoogLeNet whose parameter count §5.2 gives (14,956,286): the defaults."""
        return cls(**overrides)


NETWORK_CONFIGS = {"dnn": DNNConfig, "cnn": CNNConfig, "googlenet": GoogLeNetConfig}


# ============================================================================================
# Training and the experiment (§5, §5.2; Triforce Options/BestHyperparameterValues)
# ============================================================================================

TASKS = ("gamma_pi0", "e_pi", "regression")
# Triforce trains DNN and CNN for 100 epochs, GoogLeNet for 10 (REFERENCES.md §3.2).
DEFAULT_EPOCHS = {"dnn": 100, "cnn": 100, "googlenet": 10}
# §5.2: batches of 1000 events (GoogLeNet's split into micro-batches: GoogLeNetConfig).
BATCH_SIZE = 1000
# Settings a rerun in the same work directory may change (resume).
RESUMABLE_CHANGES = ("epochs", "data.workers", "strategy", "evaluate", "progress",
                     "shuffle_buffer")
# Events in the shuffle buffer of the training stream (~92 kB each with the 11 × 11 HCAL).
SHUFFLE_BUFFER = 4096


@dataclasses.dataclass(frozen=True)
class LossWeights:
    """Weights of the per-event loss terms (§5).

    Attributes:
        classification: cross entropy of the two classes (§5: 1; 0 in a regression-only run).
        energy: squared error of the energy in units of 100 GeV (§5: "multiplying the energy
            component of the loss function by a factor of 200 gave the best results").
        direction: squared error of Triforce's ``10 (truth − reco)`` η and φ outputs (§3.2:
            "only the energy determination is considered": 0; Triforce trains η with 10).
    """

    classification: float = 1.0
    energy: float = 200.0
    direction: float = 0.0

    def __post_init__(self):
        checks.finite(self, "classification", "energy", "direction", low=0.0)


@dataclasses.dataclass(frozen=True)
class RecoExperiment:
    """One reconstruction network trained on one task, then evaluated on the test split.

    Attributes:
        workdir: all outputs; rerunning with the same settings resumes.
        model: ``dnn``, ``cnn`` or ``googlenet``.
        task: ``gamma_pi0``, ``e_pi`` (classification and regression of both particles) or
            ``regression`` (one ``particle``, no classification loss).
        particle: the particle of a ``regression`` run.
        data: the samples.
        network: the model's network settings (None: its paper defaults).
        epochs: training epochs (None: 100, GoogLeNet 10).
        batch_size: events per update (§5.2: 1000).
        micro_batch: events per forward/backward pass, gradients summed (None: the network
            config's, GoogLeNet 10 (§5.2), the others the whole batch).
        loss: the loss weights.
        shuffle_buffer: events in the training stream's shuffle buffer.
        seed: seed of the initialisation and the shuffling (the data's is ``data.seed``).
        strategy: ``tf.distribute`` strategy name.
        progress: progress bars.
        evaluate: write predictions, metrics.json and plots at the end.
    """

    workdir: str
    model: str = "dnn"
    task: str = "gamma_pi0"
    particle: str | None = None
    data: DataConfig = DataConfig()
    network: Any = None
    epochs: int | None = None
    batch_size: int = BATCH_SIZE
    micro_batch: int | None = None
    loss: LossWeights = LossWeights()
    shuffle_buffer: int = SHUFFLE_BUFFER
    seed: int = 1
    strategy: str = "auto"
    progress: bool = True
    evaluate: bool = True

    def __post_init__(self):
        if self.model not in NETWORKS:
            raise InputError(f"unknown model {self.model!r}; expected one of {list(NETWORKS)}")
        if self.task not in TASKS:
            raise InputError(f"unknown task {self.task!r}; expected one of {list(TASKS)}")
        if (self.task == "regression") != (self.particle is not None):
            raise InputError("--particle is needed by --task=regression and only by it "
                             f"(task {self.task!r}, particle {self.particle!r})")
        checks.positive_int(self, "batch_size", "shuffle_buffer")
        checks.positive_int(self, "seed", minimum=0)
        if self.epochs is not None:
            checks.positive_int(self, "epochs")
        if self.micro_batch is not None:
            checks.positive_int(self, "micro_batch")
            if self.batch_size % self.micro_batch:
                raise InputError(f"batch_size={self.batch_size} must be a multiple of "
                                 f"micro_batch={self.micro_batch}")

    def resolved(self) -> RecoExperiment:
        """The settings with every default filled in (what config.json records)."""
        network = as_config(NETWORK_CONFIGS[self.model], self.network)
        loss = as_config(LossWeights, self.loss)
        if self.task == "regression":
            loss = dataclasses.replace(loss, classification=0.0)
        micro = self.micro_batch or getattr(network, "micro_batch", None)
        if micro is not None:
            micro = min(micro, self.batch_size)
        return dataclasses.replace(
            self, network=network, loss=loss, micro_batch=micro,
            epochs=self.epochs or DEFAULT_EPOCHS[self.model])

    @classmethod
    def from_json(cls, values: dict) -> RecoExperiment:
        values = {k: v for k, v in values.items() if k != "caloml_version"}
        values["loss"] = as_config(LossWeights, values.get("loss"))
        values["data"] = as_config(DataConfig, values.get("data"))
        return cls(**values).resolved()


# ============================================================================================
# Baselines (§5.3.1, appendices C and D)
# ============================================================================================

CLASSIFICATION_METHODS = ("xgboost", "adaboost")
REGRESSION_METHODS = ("linear", "xgboost")
REGRESSION_PARTICLES = (*reco_data.PARTICLES, "all")


def _check_range(config: Any, name: str, low: float, positive: bool = False) -> None:
    value = getattr(config, name)
    if (not isinstance(value, tuple) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            or not all(math.isfinite(v) for v in value) or not low <= value[0] < value[1]
            or (positive and value[0] <= 0)):
        raise InputError(f"{name} must be a (low, high) pair with {low:g} "
                         f"{'<' if positive else '≤'} low < high, got {value!r} "
                         f"({type(config).__name__})")


def _check_choice(config: Any, name: str, choices: Sequence[str]) -> None:
    value = getattr(config, name)
    if value not in choices:
        raise InputError(f"{name} must be one of {list(choices)}, got {value!r} "
                         f"({type(config).__name__})")


@dataclasses.dataclass(frozen=True)
class BDTConfig:
    """The classification baseline (paper 003 §5.3.1, appendix C).

    Attributes:
        task: ``gamma_pi0`` or ``e_pi`` (:data:`caloml.data.reco.TASKS`; class 1 is the pion).
        method: ``xgboost`` (the paper: a BDT "optimized using the scikit-optimize package") or
            ``adaboost`` (Triforce ``BDT.py``).
        data: the events (train split: fit and cross-validation; test split: evaluation).
        n_iter: BayesSearchCV points (the paper does not give it; caloml's choice).
        cv_folds: stratified folds of the search's cross-validation (caloml's choice).
        max_depth_range, learning_rate_range, n_estimators_range, subsample_range,
        colsample_bytree_range, min_child_weight_range, gamma_range: the search space
            (caloml's choice; the learning rate and the minimum child weight are searched on a
            log scale).
        adaboost_n_estimators: Triforce ``BDT.py``: 800 stumps.
        adaboost_learning_rate: Triforce ``BDT.py``: 0.5.
        hit_threshold: cell energy above which a cell counts as a hit (Triforce: 0.1, in the
            files' units).
        seed: seed of the search, the folds and the trees.
        threads: XGBoost threads.
        geometry: calorimeter geometry written with the predictions (None: ``clic``, or the
            target of resampled files, :func:`caloml.data.reco.geometry_of`).
        progress: progress bars while simulating.
    """

    task: str = "gamma_pi0"
    method: str = "xgboost"
    data: reco_data.DataConfig = dataclasses.field(default_factory=reco_data.DataConfig)
    n_iter: int = 50
    cv_folds: int = 3
    max_depth_range: tuple[int, int] = (2, 10)
    learning_rate_range: tuple[float, float] = (0.01, 0.5)
    n_estimators_range: tuple[int, int] = (50, 1000)
    subsample_range: tuple[float, float] = (0.5, 1.0)
    colsample_bytree_range: tuple[float, float] = (0.3, 1.0)
    min_child_weight_range: tuple[float, float] = (0.5, 20.0)
    gamma_range: tuple[float, float] = (0.0, 5.0)
    adaboost_n_estimators: int = 800
    adaboost_learning_rate: float = 0.5
    hit_threshold: float = expert.DEFAULT_HIT_THRESHOLD
    seed: int = 1
    threads: int = 2
    geometry: str | None = None
    progress: bool = False

    def __post_init__(self):
        _check_choice(self, "task", tuple(reco_data.TASKS))
        _check_choice(self, "method", CLASSIFICATION_METHODS)
        checks.positive_int(self, "n_iter", "adaboost_n_estimators", "threads")
        checks.positive_int(self, "cv_folds", minimum=2)
        checks.positive_int(self, "seed", minimum=0)
        checks.finite(self, "adaboost_learning_rate", low=0.0, strict_low=True)
        checks.finite(self, "hit_threshold")
        _check_range(self, "max_depth_range", 1)
        _check_range(self, "learning_rate_range", 0.0, positive=True)
        _check_range(self, "n_estimators_range", 1)
        _check_range(self, "subsample_range", 0.0, positive=True)
        _check_range(self, "colsample_bytree_range", 0.0, positive=True)
        _check_range(self, "min_child_weight_range", 0.0, positive=True)
        _check_range(self, "gamma_range", 0.0)
        for name in ("subsample_range", "colsample_bytree_range"):
            if getattr(self, name)[1] > 1:
                raise InputError(f"{name} must lie in (0, 1], got {getattr(self, name)!r} "
                                 "(BDTConfig)")


@dataclasses.dataclass(frozen=True)
class RegressionConfig:
    """The energy-regression baselines (paper 003 appendix D).

    Attributes:
        method: ``linear`` (Eq. 2) or ``xgboost``.
        particle: one of :data:`caloml.data.reco.PARTICLES`, or ``all`` (one model each).
        data: the events (train: fit; validation: early stopping; test: evaluation).
        max_depth: appendix D: "maximum tree depth of 3".
        learning_rate: appendix D: "learning rate η = 0.3 (default)".
        min_child_weight: appendix D: "minimum child weight of 1 (default)".
        num_rounds: appendix D: "maximum 1000 iterations".
        early_stopping_rounds: appendix D: stop when the loss has not improved in 10.
        pion_min_sum_fraction: appendix D: π± need ``E_ECAL + E_HCAL > fraction · E`` (sums in
            the files' units, E in GeV, as Triforce ``clean_chpi``): 0.3.
        em_cleaning: Triforce's ``clean_varangle`` for e, γ, π⁰ (``E_ECAL + E_HCAL >
            em_min_sum_fraction · E`` and ``E_HCAL / E_ECAL < em_max_hcal_ecal_ratio``). Off:
            the paper does not mention it and Triforce applied it to its older "varangle"
            samples only.
        em_min_sum_fraction: Triforce: 0.66.
        em_max_hcal_ecal_ratio: Triforce: 0.4.
        hit_threshold: as :class:`BDTConfig`.
        seed: seed of the trees.
        threads: XGBoost threads.
        geometry: calorimeter geometry written with the predictions (None: ``clic``, or the
            target of resampled files, :func:`caloml.data.reco.geometry_of`).
        progress: progress bars while simulating.
    """

    method: str = "xgboost"
    particle: str = "all"
    data: reco_data.DataConfig = dataclasses.field(default_factory=reco_data.DataConfig)
    max_depth: int = 3
    learning_rate: float = 0.3
    min_child_weight: float = 1.0
    num_rounds: int = 1000
    early_stopping_rounds: int = 10
    pion_min_sum_fraction: float = 0.3
    em_cleaning: bool = False
    em_min_sum_fraction: float = 0.66
    em_max_hcal_ecal_ratio: float = 0.4
    hit_threshold: float = expert.DEFAULT_HIT_THRESHOLD
    seed: int = 1
    threads: int = 2
    geometry: str | None = None
    progress: bool = False

    def __post_init__(self):
        _check_choice(self, "method", REGRESSION_METHODS)
        _check_choice(self, "particle", REGRESSION_PARTICLES)
        checks.positive_int(self, "max_depth", "num_rounds", "early_stopping_rounds",
                            "threads")
        checks.positive_int(self, "seed", minimum=0)
        checks.finite(self, "learning_rate", low=0.0, strict_low=True)
        checks.finite(self, "min_child_weight", "pion_min_sum_fraction",
                      "em_min_sum_fraction", low=0.0)
        checks.finite(self, "em_max_hcal_ecal_ratio", low=0.0, strict_low=True)
        checks.finite(self, "hit_threshold")

    @property
    def particles(self) -> tuple[str, ...]:
        """The particles regressed, one model each."""
        return reco_data.PARTICLES if self.particle == "all" else (self.particle,)
