"""Speed of the CaloGAN (paper 004): generator inference, LC2D against Conv2D, training step.

:func:`benchmark_calogan` measures, in one run on the default TensorFlow device:

1. the device's achievable FP32 rate, from a large square ``tf.matmul`` (2n³ FLOP);
2. generator inference at the slides' batch sizes (1, 4, 128, 512, 1024; a ``tf.function``
   forward pass with ``training=False``, with and without XLA), as ms per shower, showers/s,
   achieved FLOP/s (analytic FLOP per shower × showers/s) and the fraction of the matmul rate,
   beside the slides' runtime table (Geant4 1772 ms per shower; the CaloGAN on CPU and GPU);
3. forward + backward passes (gradients with respect to the inputs and the weights) of the
   CaloGAN's own locally-connected layers (:class:`~caloml.layers.locally_connected.
   LocallyConnected2D`) against a ``Conv2D`` of the same filters, kernel and strides on the
   same input: what unshared weights cost (goal: at most 3× the convolution);
4. one training iteration of :class:`~caloml.calogan.trainer.CaloGANTrainer` (its Keras train
   function, the compiled ``strategy.run(train_step)`` that ``fit`` calls every step; and
   ``fit`` itself) against a minimal hand-written ``tf.function`` step doing the same updates
   on the same networks (a discriminator update on a real and one on a fake batch, then two
   generator updates, two Adam optimizers; goal: at most 1.10×).

Machines are shared, and interference only ever adds time, so times are the fastest of several
repeats, and what is compared is measured interleaved: the inference variants and the matmul
repeat by repeat, each LC2D with its Conv2D repeat by repeat, the training variants step by step
in rotating order. Ratios are medians of the per-repeat (per-round) ratios, both sides measured
seconds apart, with the ratios of the fastest repeats beside them. The result is a
JSON-serialisable dict with one section per device kind (``"cpu"``, ``"gpu"``); the kind not
measured is None, with a note.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from absl import logging
from keras import layers

from caloml import benchmarking
from caloml.calogan import config as config_lib
from caloml.calogan import networks as networks_lib
from caloml.calogan import trainer as trainer_lib
from caloml.calogan.config import LAYER_KEYS, LAYER_SHAPES
from caloml.errors import InputError
from caloml.layers.locally_connected import LocallyConnected2D

# Goals of the CaloGAN speed issue.
GOALS = {
    # Forward + backward of each of the CaloGAN's LC2D layers at most this many times a Conv2D
    # of the same shapes.
    "lc2d_to_conv2d_ratio": 3.0,
    # The trainer's step at most this much slower than a hand-written step.
    "trainer_overhead_ratio": 1.10,
}
# The slides' runtime table (ms per shower); see caloml.calogan.config.PAPER_RUNTIME_MS.
PAPER_RUNTIME_MS = config_lib.PAPER_RUNTIME_MS


@dataclasses.dataclass(frozen=True)
class LCShape:
    """One locally-connected layer of the CaloGAN, timed against a Conv2D of its shapes.

    Attributes:
        network: ``"generator"`` or ``"discriminator"``.
        layer: the layer's name in that network (:mod:`caloml.calogan.networks`).
        input_shape: ``[rows, columns, channels]`` of its input.
        filters: output channels.
        kernel_size: ``(rows, columns)`` of the window.
        strides: ``(rows, columns)`` steps of the window.
    """

    network: str
    layer: str
    input_shape: tuple[int, int, int]
    filters: int
    kernel_size: tuple[int, int]
    strides: tuple[int, int] = (1, 1)

    def __post_init__(self):
        for name in ("input_shape", "kernel_size", "strides"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if (len(self.input_shape) != 3 or len(self.kernel_size) != 2 or len(self.strides) != 2
                or any(not isinstance(v, int) or v < 1 for v in
                       (*self.input_shape, *self.kernel_size, *self.strides, self.filters))):
            raise InputError(f"LCShape {self.name}: input_shape (rows, columns, channels), "
                             f"kernel_size, strides and filters must be positive integers, got "
                             f"{self}")
        if any(n < k for n, k in zip(self.input_shape[:2], self.kernel_size, strict=True)):
            raise InputError(f"LCShape {self.name}: input {self.input_shape[:2]} is smaller "
                             f"than the kernel {self.kernel_size}")

    @property
    def name(self) -> str:
        """``network/layer``."""
        return f"{self.network}/{self.layer}"

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """``[out_rows, out_columns, filters]`` of the valid window."""
        (rows, columns, _), (kh, kw), (sh, sw) = self.input_shape, self.kernel_size, self.strides
        return (rows - kh) // sh + 1, (columns - kw) // sw + 1, self.filters

    def forward_flops(self, batch_size: int) -> int:
        """FLOP of one forward pass of a batch (the same for the LC2D and the Conv2D)."""
        kernel = (*self.kernel_size, self.input_shape[2], self.filters)
        return benchmarking.conv_flops((batch_size, *self.output_shape), kernel)


# The CaloGAN's widest locally-connected layers (the first of each generator stream, and the
# first two of the discriminator's layer-0 stream and the first of its layer-1 stream): the
# generator's pre-images have a margin of 2 cells (3×96 → 5×98), the discriminator pads by 1.
LC_SHAPES = (
    LCShape("generator", "layer0_lc1", (5, 98, 16), 6, (2, 2)),
    LCShape("generator", "layer1_lc1", (14, 14, 16), 6, (2, 2)),
    LCShape("discriminator", "layer_0_lc1", (5, 98, 64), 16, (3, 3), (1, 2)),
    LCShape("discriminator", "layer_1_lc1", (14, 14, 64), 16, (3, 3), (1, 2)),
    LCShape("discriminator", "layer_0_lc2", (5, 50, 16), 8, (2, 2)),
)


@dataclasses.dataclass(frozen=True)
class BenchmarkSettings:
    """What :func:`benchmark_calogan` runs (defaults: ≲ 5 minutes on two CPU cores).

    Attributes:
        batch_sizes: generator inference batch sizes (the slides' runtime table).
        steps: timed training steps per repeat.
        repeats: timed repeats of every measurement; the fastest counts. Training runs
            ``steps × repeats`` rounds of one step of every variant.
        matmul_size: n of the n × n float32 matmul that gives the device's FP32 rate.
        min_seconds: shortest timed repeat of the matmul, of inference and of the LC2D and
            Conv2D passes; short calls are looped until a repeat lasts this long.
        seed: seed of the weights and of the random inputs.
        jit_compile: inference variants timed: plain ``tf.function`` (False) and XLA (True).
        lc_shapes: the locally-connected layers timed against a Conv2D.
        lc_batch_size: batch of the LC2D and Conv2D passes (the paper's training batch, 256).
        gan: training configuration; its batch size is the training step's (64 by default, a
            quarter of the paper's 256, so that the paper-size networks' steps fit the time).
    """

    batch_sizes: tuple[int, ...] = config_lib.RUNTIME_BATCH_SIZES
    steps: int = 3
    repeats: int = 3
    matmul_size: int = 4096
    min_seconds: float = 0.5
    seed: int = 1
    jit_compile: tuple[bool, ...] = (False, True)
    lc_shapes: tuple[LCShape, ...] = LC_SHAPES
    lc_batch_size: int = 256
    gan: config_lib.CaloGANConfig = config_lib.CaloGANConfig(batch_size=64)

    def __post_init__(self):
        for name in ("batch_sizes", "jit_compile", "lc_shapes"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.batch_sizes or any(not isinstance(b, int) or b < 1
                                       for b in self.batch_sizes):
            raise InputError(f"BenchmarkSettings: batch_sizes must be positive integers, got "
                             f"{self.batch_sizes}")
        for name in ("steps", "repeats", "matmul_size", "lc_batch_size"):
            if getattr(self, name) < 1:
                raise InputError(f"BenchmarkSettings: {name} must be at least 1, got "
                                 f"{getattr(self, name)}")
        if not self.jit_compile:
            raise InputError("BenchmarkSettings: jit_compile must name at least one variant")
        if self.min_seconds < 0:
            raise InputError(f"BenchmarkSettings: min_seconds must be ≥ 0, got "
                             f"{self.min_seconds}")


@dataclasses.dataclass
class Networks:
    """The networks timed, with the analytic FLOP count of the generator.

    Attributes:
        generator: ``{"latent", "energy"}`` → ``{"layer_0", "layer_1", "layer_2"}``.
        discriminator: showers and requested energy → ``{"real", "total_energy"}``.
        generator_flops_per_shower: analytic FLOP of one generated shower.
        flops_source: where that number comes from.
    """

    generator: keras.Model
    discriminator: keras.Model
    generator_flops_per_shower: float
    flops_source: str


def paper_networks(seed: int = 1) -> Networks:
    """The networks of paper 004 (:mod:`caloml.calogan.networks`), freshly initialised."""
    keras.utils.set_random_seed(seed)
    generator_config = config_lib.GeneratorConfig()
    generator = networks_lib.CaloGANGenerator(generator_config)
    discriminator = networks_lib.CaloGANDiscriminator(config_lib.DiscriminatorConfig())
    flops = float(networks_lib.generator_flops(generator_config))
    return Networks(generator, discriminator, flops, "caloml.calogan.networks.generator_flops")


def generator_inputs(generator: keras.Model, batch_size: int, seed: int) -> dict[str, tf.Tensor]:
    """Random generator inputs: z ~ N(0, 1), energies U(1, 100) GeV, particle 0.

    Returns:
        ``{"latent": [batch, latent_dim], "energy": [batch, 1]}`` (and ``"particle"``
        ``[batch, 1]`` int32 for an ACGAN generator).
    """
    latent_dim = generator.config.latent_dim
    low, high = config_lib.TRAINING_ENERGY_GEV
    inputs = {
        "latent": tf.random.stateless_normal((batch_size, latent_dim), seed=(seed, batch_size)),
        "energy": tf.random.stateless_uniform((batch_size, 1), seed=(seed + 1, batch_size),
                                              minval=low, maxval=high),
    }
    if generator.config.num_classes > 1:
        inputs["particle"] = tf.zeros((batch_size, 1), tf.int32)
    return inputs


def inference_variant(jit_compile: bool) -> str:
    """Name of an inference variant: ``"xla"`` or ``"tf_function"``."""
    return "xla" if jit_compile else "tf_function"


def slides_runtime(batch_size: int) -> dict[str, float | None]:
    """The slides' CaloGAN ms per shower at ``batch_size``, per hardware (None: not given).

    Returns:
        ``{"calogan_cpu": ms or None, "calogan_gpu": ms or None}`` (the keys of
        :data:`PAPER_RUNTIME_MS` other than Geant4's).
    """
    return {hardware: by_batch.get(batch_size) for hardware, by_batch in PAPER_RUNTIME_MS.items()
            if isinstance(by_batch, dict)}


def benchmark_inference(generator: keras.Model, batch_sizes: Sequence[int],
                        flops_per_shower: float, jit_compile: Sequence[bool] = (False, True),
                        repeats: int = 3, min_seconds: float = 0.5, seed: int = 1,
                        matmul_size: int | None = None) -> dict[str, Any]:
    """Times ``generator(inputs, training=False)`` in a ``tf.function`` per batch size.

    At every batch size the variants (with and without XLA) and, with ``matmul_size``, the
    reference matmul are timed interleaved, so each row's ``fraction_of_matmul`` compares
    rates measured under the same load.

    Args:
        generator: ``{"latent": [B, latent], "energy": [B, 1]}`` → three layer images.
        batch_sizes: batch sizes to time.
        flops_per_shower: analytic FLOP of one generated shower.
        jit_compile: variants to time.
        repeats: repeats per batch size and variant; the fastest counts.
        min_seconds: shortest repeat (short calls are looped).
        seed: seed of the random inputs and of the matmul.
        matmul_size: n of the reference n × n float32 matmul; None leaves it out.

    Returns:
        ``{"rows": per variant (:func:`inference_variant`) one dict per batch size with
        batch_size, jit_compile, seconds_per_batch, seconds_per_batch_all, calls,
        ms_per_shower, showers_per_s, flops_per_s, the slides' ms per shower at that batch
        size (``slides_ms_per_shower``, :func:`slides_runtime`), ``speedup_vs_geant4`` (the
        slides' Geant4 ms per shower over ours) and, with the matmul, matmul_flops_per_s and
        fraction_of_matmul; "matmul": the matmul timings as a :func:`matmul_rate` result, or
        None}``.
    """
    forwards = {
        inference_variant(jit): tf.function(lambda x: generator(x, training=False),
                                            jit_compile=jit)
        for jit in jit_compile
    }
    matmul, matmul_flops = benchmarking.matmul(matmul_size, seed) if matmul_size else (None, None)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in forwards}
    matmul_runs = []
    for batch_size in batch_sizes:
        inputs = generator_inputs(generator, batch_size, seed)
        fns = {name: (lambda f=forward, x=inputs: f(x)) for name, forward in forwards.items()}
        if matmul is not None:
            fns["matmul"] = matmul
        timings = benchmarking.time_interleaved(fns, repeats, min_seconds)
        if matmul is not None:
            reference = timings.pop("matmul")
            matmul_runs.append({"size": matmul_size, "flops": matmul_flops, **reference,
                                "flops_per_s": matmul_flops / reference["seconds"]})
        for name, timing in timings.items():
            seconds = timing["seconds"]
            showers_per_s = batch_size / seconds
            ms_per_shower = 1e3 * seconds / batch_size
            row = {
                "batch_size": int(batch_size),
                "jit_compile": name == "xla",
                "seconds_per_batch": seconds,
                "seconds_per_batch_all": timing["seconds_all"],
                "calls": timing["calls"],
                "ms_per_shower": ms_per_shower,
                "showers_per_s": showers_per_s,
                "flops_per_s": flops_per_shower * showers_per_s,
                "slides_ms_per_shower": slides_runtime(batch_size),
                "speedup_vs_geant4": PAPER_RUNTIME_MS["geant4_cpu"] / ms_per_shower,
            }
            if matmul is not None:
                row["matmul_flops_per_s"] = matmul_runs[-1]["flops_per_s"]
                row["fraction_of_matmul"] = row["flops_per_s"] / row["matmul_flops_per_s"]
            rows[name].append(row)
            logging.info("generator batch %d, %s: %.4g ms/shower, %.1f GFLOP/s%s", batch_size,
                         name, ms_per_shower, row["flops_per_s"] / 1e9,
                         f" ({100 * row['fraction_of_matmul']:.0f}% of matmul)"
                         if matmul is not None else "")
    return {"rows": rows, "matmul": benchmarking.best_matmul(matmul_runs) if matmul_runs else None}


def _forward_backward(layer: layers.Layer, x: tf.Tensor,
                      upstream: tf.Tensor) -> Callable[[], list[tf.Tensor]]:
    """A call of a ``tf.function`` giving the gradients of ``Σ upstream · layer(x)``.

    Returns:
        ``fn() -> [d/dx, d/d(each trainable weight)]``.
    """

    @tf.function
    def step(inputs):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = layer(inputs)
        return tape.gradient(outputs, [inputs, *layer.trainable_variables],
                             output_gradients=upstream)

    return lambda: step(x)


def benchmark_lc2d(shapes: Sequence[LCShape], batch_size: int = 256, repeats: int = 3,
                   min_seconds: float = 0.5, seed: int = 1) -> list[dict[str, Any]]:
    """Forward + backward of each LC2D against a Conv2D of the same shapes, interleaved.

    Each pass (a ``tf.function``) computes the layer's output on a random
    ``[batch, rows, columns, channels]`` input and its gradients with respect to the input,
    the kernel and the bias for a fixed random upstream gradient. The Conv2D has the same
    filters, kernel, strides and ``valid`` padding, and does the same multiply-adds with
    shared weights.

    Args:
        shapes: the layers to time.
        batch_size: examples per pass.
        repeats: interleaved repeats; the fastest counts.
        min_seconds: shortest repeat (short calls are looped).
        seed: seed of the weights, the inputs and the upstream gradients.

    Returns:
        One dict per shape: its fields (:class:`LCShape`), ``name``, ``output_shape``,
        ``batch_size``, ``flops`` (forward + backward: 3 × the forward multiply-adds × 2),
        per variant (``lc2d``, ``conv2d``) ``seconds``, ``seconds_all``, ``calls`` and
        ``flops_per_s``; ``ratio`` (median over repeats of LC2D / Conv2D seconds) and
        ``ratio_fastest`` (fastest over fastest).
    """
    keras.utils.set_random_seed(seed)
    results = []
    for index, shape in enumerate(shapes):
        x = tf.random.stateless_normal((batch_size, *shape.input_shape), seed=(seed, index))
        upstream = tf.random.stateless_normal((batch_size, *shape.output_shape),
                                              seed=(seed + 1, index))
        variants = {
            "lc2d": LocallyConnected2D(shape.filters, shape.kernel_size, strides=shape.strides),
            "conv2d": layers.Conv2D(shape.filters, shape.kernel_size, strides=shape.strides,
                                    padding="valid"),
        }
        fns = {}
        for name, layer in variants.items():
            layer.build((None, *shape.input_shape))
            fns[name] = _forward_backward(layer, x, upstream)
        timings = benchmarking.time_interleaved(fns, repeats, min_seconds)
        flops = 3 * shape.forward_flops(batch_size)
        row = {"name": shape.name, **dataclasses.asdict(shape),
               "output_shape": shape.output_shape, "batch_size": batch_size, "flops": flops}
        for name, timing in timings.items():
            row[name] = {**timing, "flops_per_s": flops / timing["seconds"]}
        row["ratio"] = benchmarking.paired_ratio(timings["lc2d"]["seconds_all"],
                                                 timings["conv2d"]["seconds_all"])
        row["ratio_fastest"] = timings["lc2d"]["seconds"] / timings["conv2d"]["seconds"]
        logging.info("%s %s: LC2D %.3g ms, Conv2D %.3g ms, ratio %.2f", shape.name,
                     shape.input_shape, 1e3 * timings["lc2d"]["seconds"],
                     1e3 * timings["conv2d"]["seconds"], row["ratio"])
        results.append(row)
    return results


def handwritten_train_step(generator: keras.Model, discriminator: keras.Model,
                           config: config_lib.CaloGANConfig,
                           jit_compile: bool = False) -> Callable[[dict], tuple]:
    """A minimal ``tf.function`` doing the updates of ``CaloGANTrainer.train_step``.

    A discriminator update on the all-real batch, one on an all-fake batch made by the
    generator in inference mode, then ``config.generator_steps`` generator updates on fresh
    draws; per-shower loss BCE(logit) + λ_E |E − Σ cells| (+ the class loss of an ACGAN),
    averaged over the batch; two fresh Adam optimizers
    (:func:`~caloml.calogan.trainer.make_optimizers`). No metrics, no strategy, no Keras
    trainer: the reference for the trainer's overhead.

    Args:
        generator: the generator (its weights are updated).
        discriminator: the discriminator (its weights are updated).
        config: loss weights, generator steps and Adam settings.
        jit_compile: compile the step with XLA (set it as the trainer does).

    Returns:
        ``step(batch) -> (discriminator_loss, generator_loss)`` (the last of each) on a batch
        of :func:`~caloml.calogan.trainer.training_dataset`.
    """
    generator_optimizer, discriminator_optimizer = trainer_lib.make_optimizers(config)
    generator_optimizer.build(generator.trainable_variables)
    discriminator_optimizer.build(discriminator.trainable_variables)
    acgan = config.num_classes > 1

    def loss(images, energy, real, particle):
        outputs = discriminator({**images, "energy": energy}, training=True)
        logit = outputs["real"][:, 0]
        labels = tf.ones_like(logit) if real else tf.zeros_like(logit)
        per_shower = (tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logit)
                      + config.energy_weight
                      * tf.abs(energy[:, 0] - outputs["total_energy"][:, 0]))
        if acgan:
            per_shower += config.class_weight * tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=particle, logits=outputs["particle"])
        return tf.reduce_mean(per_shower)

    def generator_inputs_of(noise, energy, particle):
        inputs = {"latent": noise, "energy": energy}
        if acgan:
            inputs["particle"] = particle[:, None]
        return inputs

    def update(optimizer, network, tape, value):
        variables = network.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(value, variables), variables, strict=True))

    @tf.function(jit_compile=jit_compile)
    def step(batch):
        real_images = {key: batch[key] for key in LAYER_KEYS}
        with tf.GradientTape() as tape:
            discriminator_loss = loss(real_images, batch["energy"], True, batch["particle"])
        update(discriminator_optimizer, discriminator, tape, discriminator_loss)
        noise, energy, particle = batch["noise"], batch["fake_energy"], batch["fake_particle"]
        fake_images = generator(generator_inputs_of(noise[:, 0], energy[:, 0], particle[:, 0]),
                                training=config.fake_batch_training_mode)
        with tf.GradientTape() as tape:
            discriminator_loss = loss(fake_images, energy[:, 0], False,
                                      batch["fake_particle_target"])
        update(discriminator_optimizer, discriminator, tape, discriminator_loss)
        for k in range(1, config.generator_steps + 1):
            with tf.GradientTape() as tape:
                images = generator(generator_inputs_of(noise[:, k], energy[:, k], particle[:, k]),
                                   training=True)
                generator_loss = loss(images, energy[:, k], True, particle[:, k])
            update(generator_optimizer, generator, tape, generator_loss)
        return discriminator_loss, generator_loss

    return step


def random_showers(num: int, seed: int, num_classes: int = 1) -> dict[str, np.ndarray]:
    """Random sparse showers in the layout of the training data, energies near their sums.

    Returns:
        ``layer_0/1/2`` ``[num, rows, columns]`` GeV (40% of cells hit, exponential energies),
        ``energy`` ``[num, 1]`` GeV and ``particle`` ``[num]`` int32.
    """
    rng = np.random.default_rng(seed)
    showers = {}
    for key, shape in zip(LAYER_KEYS, LAYER_SHAPES, strict=True):
        hits = rng.random((num, *shape)) < 0.4
        showers[key] = (rng.exponential(0.2, (num, *shape)) * hits).astype(np.float32)
    total = sum(showers[key].reshape(num, -1).sum(axis=1) for key in LAYER_KEYS)
    showers["energy"] = (total * rng.uniform(0.9, 1.1, num)).astype(np.float32)[:, None]
    showers["particle"] = rng.integers(0, num_classes, num).astype(np.int32)
    return showers


def benchmark_training(networks: Networks, config: config_lib.CaloGANConfig, rounds: int,
                       seed: int = 1, fit_steps: int | None = None) -> dict[str, Any]:
    """Times the trainer against a hand-written step on one batch repeated from memory.

    Variants, each called once untimed first (tracing):

    - ``trainer``: the trainer's Keras train function (what ``fit`` calls every step:
      ``strategy.run(train_step)`` in a ``tf.function``);
    - ``handwritten``: :func:`handwritten_train_step` on the same networks.

    Every round times one step of each, in an order alternating from round to round. Then
    ``fit`` runs ``fit_steps`` (default ``rounds``) timed steps, each followed by one step of
    the train function, for the cost of ``fit``'s own loop (``trainer_fit``).

    Returns:
        Per variant and for ``trainer_fit``: ``seconds_per_step`` (the fastest step: the
        code's own cost), ``seconds_per_step_median``, ``seconds_per_step_all`` (per round)
        and ``first_step_seconds`` (with the tracing); ``trainer_fit`` also has
        ``ratio_to_train_function``; ``jit_compile`` (the trainer's, mirrored by the
        hand-written step) and ``batch_size``.
    """
    generator, discriminator = networks.generator, networks.discriminator
    showers = random_showers(config.batch_size, seed, config.num_classes)
    real = trainer_lib.training_dataset(showers, config, generator.config.latent_dim, seed=seed)
    cached = tf.data.Dataset.from_tensors(next(iter(real))).repeat()

    trainer = trainer_lib.CaloGANTrainer(generator, discriminator, config)
    trainer.compile(*trainer_lib.make_optimizers(config))
    result = benchmarking.time_trainer_against_handwritten(
        trainer, cached,
        lambda jit: handwritten_train_step(generator, discriminator, config, jit),
        rounds, fit_steps)
    result["batch_size"] = config.batch_size
    return result


def benchmark_calogan(settings: BenchmarkSettings = BenchmarkSettings(),
                      networks: Networks | None = None) -> dict[str, Any]:
    """Runs the whole CaloGAN speed benchmark on the default TensorFlow device.

    Args:
        settings: what to run.
        networks: the networks to time; default :func:`paper_networks`.

    Returns:
        A JSON-serialisable dict: ``benchmark``, ``machine`` (:func:`machine_info`),
        ``settings``, ``goals``, ``slides`` (the slides' runtime table), ``device`` (the kind
        measured), ``cpu`` and ``gpu`` (the section of the device measured; None for the
        other, explained by ``notes``), ``summary`` (the goals, pass or fail, and the
        headline figures) and ``notes``. A section holds ``matmul`` (the best of all its
        runs: before inference, interleaved with it, after training), ``generator_flops``,
        ``inference`` (per variant, one row per batch size, with ``fraction_of_matmul``
        against the matmul timed interleaved with it, ``fraction_of_best_matmul`` and the
        slides' figures), ``fastest_by_batch_size`` (per batch size the fastest variant's ms
        per shower beside the slides'), ``lc2d`` (:func:`benchmark_lc2d`), ``lc2d_summary``
        (the worst ratio against the goal), ``training`` (:func:`benchmark_training`) and
        ``trainer_overhead`` (``ratio``: median per-round ratio of the trainer's step to the
        hand-written step).
    """
    if networks is None:
        networks = paper_networks(settings.seed)
    device = benchmarking.device_kind()
    logging.info("CaloGAN benchmark on %s", device)
    machine = benchmarking.machine_info()

    def measure_matmul():
        return benchmarking.matmul_rate(settings.matmul_size, settings.repeats,
                                        settings.min_seconds, settings.seed)

    matmul_runs = [measure_matmul()]
    generator = networks.generator
    input_shapes = {"latent": (generator.config.latent_dim,), "energy": (1,)}
    if generator.config.num_classes > 1:
        input_shapes["particle"] = (1,)
    counted = benchmarking.graph_flops(generator, input_shapes)
    flops = {
        "per_shower": networks.generator_flops_per_shower,
        "source": networks.flops_source,
        "graph_count": counted,
        "graph_count_relative_difference": counted / networks.generator_flops_per_shower - 1.0,
        "parameters": int(generator.count_params()),
    }
    measured = benchmark_inference(
        generator, settings.batch_sizes, networks.generator_flops_per_shower,
        settings.jit_compile, repeats=settings.repeats, min_seconds=settings.min_seconds,
        seed=settings.seed, matmul_size=settings.matmul_size,
    )
    inference = measured["rows"]
    matmul_runs.append(measured["matmul"])
    lc2d = benchmark_lc2d(settings.lc_shapes, settings.lc_batch_size, settings.repeats,
                          settings.min_seconds, settings.seed)
    training = benchmark_training(networks, settings.gan, settings.steps * settings.repeats,
                                  settings.seed, fit_steps=settings.steps)
    matmul_runs.append(measure_matmul())
    matmul = benchmarking.with_best_matmul_fraction(inference, matmul_runs)

    fastest_by_batch_size = {}
    for batch_size in settings.batch_sizes:
        row, name = min(((row, name) for name, rows in inference.items() for row in rows
                         if row["batch_size"] == batch_size),
                        key=lambda pair: pair[0]["ms_per_shower"])
        fastest_by_batch_size[str(batch_size)] = {
            "variant": name,
            "ms_per_shower": row["ms_per_shower"],
            "fraction_of_matmul": row["fraction_of_matmul"],
            "slides_ms_per_shower": row["slides_ms_per_shower"],
            "speedup_vs_geant4": row["speedup_vs_geant4"],
        }

    worst = max(lc2d, key=lambda r: r["ratio"], default=None)
    lc2d_summary = {
        "goal": GOALS["lc2d_to_conv2d_ratio"],
        "ratios": {r["name"]: r["ratio"] for r in lc2d},
        "max_ratio": None if worst is None else worst["ratio"],
        "worst": None if worst is None else worst["name"],
        "passed": None if worst is None else bool(worst["ratio"] <= GOALS["lc2d_to_conv2d_ratio"]),
    }

    overhead = {**benchmarking.trainer_overhead(training, GOALS["trainer_overhead_ratio"]),
                "batch_size": settings.gan.batch_size}
    section = {
        "matmul": matmul,
        "generator_flops": flops,
        "inference": inference,
        "fastest_by_batch_size": fastest_by_batch_size,
        "lc2d": lc2d,
        "lc2d_summary": lc2d_summary,
        "training": training,
        "trainer_overhead": overhead,
    }
    other, other_note = benchmarking.unmeasured_device(device)
    notes = {
        other: other_note,
        "slides": "the slides' runtime table (caloml.calogan.config.PAPER_RUNTIME_MS) was "
                  "measured on other hardware with the original Keras 2 code; compare orders "
                  "of magnitude",
    }
    machine["load_average_1min_end"] = benchmarking.load_average()
    best = min(fastest_by_batch_size.values(), key=lambda r: r["ms_per_shower"])
    return {
        "benchmark": "calogan",
        "machine": machine,
        "settings": dataclasses.asdict(settings),
        "goals": dict(GOALS),
        "slides": {"geant4_cpu_ms_per_shower": PAPER_RUNTIME_MS["geant4_cpu"],
                   **{hardware: {str(b): ms for b, ms in by_batch.items()}
                      for hardware, by_batch in PAPER_RUNTIME_MS.items()
                      if isinstance(by_batch, dict)}},
        "device": device,
        device: section,
        other: None,
        "summary": {
            "device": device,
            "lc2d_to_conv2d_ratio": lc2d_summary["passed"],
            "lc2d_max_ratio": lc2d_summary["max_ratio"],
            "trainer_overhead_ratio": overhead["passed"],
            "trainer_overhead": overhead["ratio"],
            "best_ms_per_shower": best["ms_per_shower"],
            "best_speedup_vs_geant4": best["speedup_vs_geant4"],
        },
        "notes": notes,
    }


def _ms(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.4g}"


def _speedup(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"


def format_summary(result: dict[str, Any]) -> str:
    """A text table of the main figures of :func:`benchmark_calogan`, beside the slides'."""
    section = result[result["device"]]
    peak = section["matmul"]["flops_per_s"]
    slides = result["slides"]
    hardware = [key for key in slides if key != "geant4_cpu_ms_per_shower"]
    lines = [
        f"device {result['device']}: matmul {section['matmul']['size']}² "
        f"{peak / 1e9:.1f} GFLOP/s; generator "
        f"{section['generator_flops']['per_shower'] / 1e6:.1f} MFLOP/shower; slides: Geant4 "
        f"{slides['geant4_cpu_ms_per_shower']:g} ms/shower on a CPU",
        f"{'variant':<12} {'batch':>6} {'ms/shower':>10} {'GFLOP/s':>8} {'of matmul':>9} "
        f"{'of best':>8} {'×Geant4':>8} "
        + " ".join(f"{'slides ' + h.removeprefix('calogan_'):>10}" for h in hardware),
    ]
    for name, rows in section["inference"].items():
        for r in rows:
            lines.append(
                f"{name:<12} {r['batch_size']:>6d} {r['ms_per_shower']:>10.4g} "
                f"{r['flops_per_s'] / 1e9:>8.1f} {100 * r['fraction_of_matmul']:>8.0f}% "
                f"{100 * r['fraction_of_best_matmul']:>7.0f}% "
                f"{_speedup(r['speedup_vs_geant4']):>8} "
                + " ".join(f"{_ms(r['slides_ms_per_shower'].get(h)):>10}" for h in hardware)
            )

    def verdict(passed):
        return "n/a" if passed is None else ("pass" if passed else "FAIL")

    lc2d, overhead = section["lc2d_summary"], section["trainer_overhead"]
    training = section["training"]
    lines.append(f"LC2D / Conv2D forward+backward at batch "
                 f"{section['lc2d'][0]['batch_size'] if section['lc2d'] else '—'} "
                 f"(goal ≤ {lc2d['goal']:g}): {verdict(lc2d['passed'])}")
    for r in section["lc2d"]:
        lines.append(
            f"  {r['name']:<28} {'×'.join(map(str, r['input_shape']))} → "
            f"{'×'.join(map(str, r['output_shape']))}: LC2D {1e3 * r['lc2d']['seconds']:.3g} ms, "
            f"Conv2D {1e3 * r['conv2d']['seconds']:.3g} ms, ratio {r['ratio']:.2f}"
        )
    lines.append(
        f"training step at batch {overhead['batch_size']} (fastest): trainer "
        f"{training['trainer']['seconds_per_step']:.3f} s, hand-written "
        f"{training['handwritten']['seconds_per_step']:.3f} s; median paired ratio "
        f"{overhead['ratio']:.3f} (goal ≤ {overhead['goal']:.2f}): {verdict(overhead['passed'])}; "
        f"fit / train function {overhead['fit_to_train_function']:.3f}"
    )
    return "\n".join(lines)
