"""Speed of the jet super-resolution study (paper 001): jet generation, SR inference, training.

:func:`benchmark_jet_sr` measures, in one run:

1. jet generation (:func:`caloml.jets.generation.generate`: Pythia 8, the detector model,
   FastJet and the selection) of ``qcd`` and ``top`` jets with 1 and 2 worker processes, as
   selected jets/s, ms per generated event and acceptance (selected jets per event), beside
   the issue's reference of about 22 ms per tt̄ event with p̂T > 500 GeV on one core (the goal
   for ``top`` on one core). It runs in a fresh Python process, which never starts
   TensorFlow's threads before forking its workers and keeps the CPUs' other work out of it;
   the same seed makes the same jets for any number of workers, so both counts do the same work;
2. the device's achievable FP32 rate, from a large square ``tf.matmul`` (2n³ FLOP);
3. inference of the paper-size :class:`~caloml.jet_sr.networks.JetSRGenerator` (f = 8, 20×20
   → 160×160) at batch 1, 32 and 256 (a ``tf.function`` forward pass with ``training=False``),
   as ms per image, images/s, achieved FLOP/s (the analytic FLOP of :func:`generator_flops` ×
   images/s) and the fraction of the matmul rate timed interleaved with it;
4. one training iteration of :class:`~caloml.jet_sr.trainer.JetSRTrainer` (its Keras train
   function, and ``fit``) against a minimal hand-written ``tf.function`` step doing the same
   updates on the same networks (:func:`handwritten_train_step`; goal: at most 1.10×), on one
   batch repeated from memory. The paper-size step (batch 15) takes about a minute on two CPU
   cores, so the step is timed at a smaller batch with fewer RRDBs and the original code's
   discriminators (both in the settings); the ratio is what is compared.

Times are the fastest of several repeats (interference only adds time); what is compared is
measured interleaved, and ratios are medians of per-round ratios. The result is a
JSON-serialisable dict with one section per device kind; the kind not measured is None, with a
note. The generation runs on the CPU whatever the device.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from caloml import benchmarking
from caloml.errors import InputError
from caloml.jet_sr import config as config_lib
from caloml.jet_sr import networks as networks_lib
from caloml.jet_sr import trainer as trainer_lib
from caloml.jet_sr.config import PIXEL_SHUFFLE, STREAMS
from caloml.jets import generation

# Goals of the jet super-resolution issue.
GOALS = {
    # The trainer's step at most this much slower than a hand-written step.
    "trainer_overhead_ratio": 1.10,
    # Generating tt̄ jets on one core: at most the measured ms per event.
    "top_ms_per_event_one_core": 22.0,
}
# The measurement: Pythia 8 tt̄ events with p̂T > 500 GeV, one core.
REFERENCE = {"top_ms_per_event_one_core": 22.0, "pt_hat_min_gev": 500.0}
# Inference batch sizes of the issue.
BATCH_SIZES = (1, 32, 256)
# Largest batch generated in one call: a 256-image batch of 160×160×64 float32 activations is
# 1.7 GB per tensor; in chunks of 64 the forward pass keeps under 2 GB (see benchmark_inference).
MAX_CHUNK = 64


@dataclasses.dataclass(frozen=True)
class BenchmarkSettings:
    """What :func:`benchmark_jet_sr` runs (defaults: 7–9 minutes on two CPU cores).

    Attributes:
        processes: jet processes whose generation is timed (``qcd``, ``top``).
        num_jets: selected jets per process and worker count (chunks of 64: 256 jets give
            each of 2 workers two chunks).
        workers: worker-process counts of the generation.
        batch_sizes: generator inference batch sizes.
        max_chunk: largest batch the generator runs in one call (larger batches are chunks).
        steps: timed training steps per repeat.
        repeats: timed repeats of every measurement; the fastest counts. Training runs
            ``steps × repeats`` rounds of one step of every variant.
        matmul_size: n of the n × n float32 matmul that gives the device's FP32 rate.
        min_seconds: shortest timed repeat (short calls are looped).
        seed: seed of the jets, the weights and the random inputs.
        generator: the generator whose inference is timed (the paper's, f = 8).
        train_batch_size: batch of the timed training steps (the paper's 15 with the
            paper-size networks takes about 55 s per step on two cores).
        train_generator: the generator of the timed training steps (2 RRDBs instead of 10).
        train_discriminator: the discriminators of the timed training steps (the original
            code's 16, 32, 32, 64 filters instead of the paper's 64, 128, 256, 512).
    """

    processes: tuple[str, ...] = ("qcd", "top")
    num_jets: int = 256
    workers: tuple[int, ...] = (1, 2)
    batch_sizes: tuple[int, ...] = BATCH_SIZES
    max_chunk: int = MAX_CHUNK
    steps: int = 2
    repeats: int = 2
    matmul_size: int = 4096
    min_seconds: float = 0.5
    seed: int = 1
    generator: config_lib.GeneratorConfig = config_lib.GeneratorConfig()
    train_batch_size: int = 4
    train_generator: config_lib.GeneratorConfig = config_lib.GeneratorConfig(num_rrdb=2)
    train_discriminator: config_lib.DiscriminatorConfig = config_lib.DiscriminatorConfig(
        filters=config_lib.ORIGINAL_DISCRIMINATOR_FILTERS)

    def __post_init__(self):
        for name in ("processes", "workers", "batch_sizes"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        for name, cls in (("generator", config_lib.GeneratorConfig),
                          ("train_generator", config_lib.GeneratorConfig),
                          ("train_discriminator", config_lib.DiscriminatorConfig)):
            object.__setattr__(self, name, config_lib.as_config(cls, getattr(self, name)))
        if not self.processes or any(p not in generation.PROCESSES for p in self.processes):
            raise InputError(f"BenchmarkSettings: processes must be some of "
                             f"{', '.join(generation.PROCESSES)}, got {self.processes}")
        for name in ("workers", "batch_sizes"):
            values = getattr(self, name)
            if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                                 for v in values):
                raise InputError(f"BenchmarkSettings: {name} must be positive integers, got "
                                 f"{values}")
        for name in ("num_jets", "max_chunk", "steps", "repeats", "matmul_size",
                     "train_batch_size"):
            if getattr(self, name) < 1:
                raise InputError(f"BenchmarkSettings: {name} must be at least 1, got "
                                 f"{getattr(self, name)}")
        if not self.min_seconds >= 0:
            raise InputError(f"BenchmarkSettings: min_seconds must be ≥ 0, got "
                             f"{self.min_seconds}")

    def training(self) -> config_lib.JetSRConfig:
        """The paper's training settings at ``train_batch_size``, after the warm-up (the step
        that trains the generator against the discriminators, and the discriminators)."""
        return config_lib.JetSRConfig(batch_size=self.train_batch_size, warmup_batches=0)


# ------------------------------------------------------------------------------------------
# Jet generation
# ------------------------------------------------------------------------------------------


def generation_row(process: str, workers: int, num_jets: int, seconds: float,
                   num_events: int) -> dict[str, Any]:
    """The figures of one timed generation.

    Args:
        process: ``qcd`` or ``top``.
        workers: worker processes.
        num_jets: selected jets made.
        seconds: wall-clock seconds.
        num_events: events Pythia generated for them.

    Returns:
        ``process, workers, num_jets, num_events_generated, seconds, jets_per_s,
        events_per_s, ms_per_event`` (wall clock), ``core_ms_per_event`` (CPU-core time per
        event, wall × workers: what one core spends) and ``acceptance`` (jets per event).
    """
    return {
        "process": process,
        "workers": int(workers),
        "num_jets": int(num_jets),
        "num_events_generated": int(num_events),
        "seconds": float(seconds),
        "jets_per_s": num_jets / seconds,
        "events_per_s": num_events / seconds,
        "ms_per_event": 1e3 * seconds / num_events,
        "core_ms_per_event": 1e3 * seconds * workers / num_events,
        "acceptance": num_jets / num_events,
    }


def time_generation(processes: Sequence[str], num_jets: int, workers: Sequence[int],
                    seed: int) -> list[dict[str, Any]]:
    """Times :func:`caloml.jets.generation.generate` per process and worker count.

    Call it in a fresh process (:func:`caloml.benchmarking.run_in_fresh_process`): its workers
    are forked, which is safe only before TensorFlow has started its threads.

    Returns:
        One :func:`generation_row` per process and worker count (in that order), with the
        generation's ``pt_hat_min_gev``.
    """
    rows = []
    for process in processes:
        for count in workers:
            start = time.perf_counter()
            jets = generation.generate(process, num_jets, seed=seed, workers=count)
            seconds = time.perf_counter() - start
            row = generation_row(process, count, num_jets, seconds,
                                 int(jets.attrs["num_events_generated"]))
            row["pt_hat_min_gev"] = float(jets.attrs["pt_hat_min_gev"])
            rows.append(row)
            logging.info("%s jets, %d worker(s): %.1f jets/s, %.2f ms/event, acceptance %.3f",
                         process, count, row["jets_per_s"], row["ms_per_event"],
                         row["acceptance"])
    return rows


def generation_summary(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Speed-ups over one worker and the one-core tt̄ figure against the issue's reference.

    Returns:
        ``speedup`` ``{process: {workers: jets/s over one worker's}}`` (for processes timed
        with one worker), ``same_events`` (whether every worker count of a process generated
        the same events, as the seeding promises), ``top_ms_per_event_one_core`` (None
        unless ``top`` ran on one worker), its ``goal`` and ``passed`` (None without it).
    """
    by_process: dict[str, dict[int, Mapping[str, Any]]] = {}
    for row in rows:
        by_process.setdefault(row["process"], {})[row["workers"]] = row
    speedup = {process: {str(w): row["jets_per_s"] / runs[1]["jets_per_s"]
                         for w, row in runs.items()}
               for process, runs in by_process.items() if 1 in runs}
    same = {process: len({row["num_events_generated"] for row in runs.values()}) == 1
            for process, runs in by_process.items()}
    top = by_process.get("top", {}).get(1)
    ms = None if top is None else top["ms_per_event"]
    goal = GOALS["top_ms_per_event_one_core"]
    return {"speedup": speedup, "same_events": same, "top_ms_per_event_one_core": ms,
            "goal": goal, "passed": None if ms is None else bool(ms <= goal)}


def benchmark_generation(settings: BenchmarkSettings) -> dict[str, Any]:
    """:func:`time_generation` in a fresh process, with its :func:`generation_summary`."""
    rows = benchmarking.run_in_fresh_process(
        "caloml.jet_sr.benchmark", "time_generation",
        {"processes": list(settings.processes), "num_jets": settings.num_jets,
         "workers": list(settings.workers), "seed": settings.seed})
    for row in rows:
        logging.info("%s jets, %d worker(s): %.1f jets/s, %.2f ms/event, acceptance %.3f",
                     row["process"], row["workers"], row["jets_per_s"], row["ms_per_event"],
                     row["acceptance"])
    return {"rows": rows, **generation_summary(rows), "reference": dict(REFERENCE)}


# ------------------------------------------------------------------------------------------
# Inference
# ------------------------------------------------------------------------------------------


def _conv(pixels: int, kernel: int, channels_in: int, channels_out: int) -> int:
    """FLOP of a stride-1 convolution over ``pixels`` output pixels (2 per multiply-add)."""
    return 2 * pixels * kernel * kernel * channels_in * channels_out


def transposed_conv_flops(config: config_lib.GeneratorConfig, lr_size: int) -> int:
    """FLOP of the generator's transposed convolutions on one ``lr_size``² image: every input
    pixel's channels spread over a ``k × k`` window of the output (2 per multiply-add)."""
    total, size, filters = 0, lr_size, config.filters
    for step in config.upsampling_steps:
        if step != PIXEL_SHUFFLE:
            total += _conv(size * size, config.transposed_kernel_size, filters, filters)
        size *= 2
    return total


def generator_flops(config: config_lib.GeneratorConfig, lr_size: int) -> int:
    """Analytic FLOP of one :class:`~caloml.jet_sr.networks.JetSRGenerator` forward pass.

    Counts 2 FLOP per multiply-add of every convolution: the first convolution, the RRDBs
    (convolution k of a dense block sees k · filters channels), the body convolution, the
    up-sampling steps (a pixel shuffle's convolution to 4 · filters; a transposed
    convolution, :func:`transposed_conv_flops`) and the two convolutions at the HR size.
    Activations, additions, the power scalings and the pixel shuffles are left out.

    Args:
        config: the generator.
        lr_size: lateral size of the LR input (20 for f = 8).

    Returns:
        FLOP per image (17,275,750,400 for the paper's generator on 20×20 inputs).
    """
    f, k = config.filters, config.kernel_size
    lr_pixels = lr_size * lr_size
    convs = config.convs_per_dense_block
    dense_block = sum(_conv(lr_pixels, k, j * f, f) for j in range(1, convs + 1))
    total = _conv(lr_pixels, k, 1, f)
    total += config.num_rrdb * config.dense_blocks * dense_block
    total += _conv(lr_pixels, k, f, f)
    size = lr_size
    for step in config.upsampling_steps:
        if step == PIXEL_SHUFFLE:
            total += _conv(size * size, k, f, 4 * f)
        size *= 2
    total += transposed_conv_flops(config, lr_size)
    hr_pixels = size * size
    total += _conv(hr_pixels, k, f, f) + _conv(hr_pixels, k, f, 1)
    return total


def random_jets(num: int, factor: int, seed: int, hr_size: int = config_lib.HR_SIZE,
                hits: int = 60) -> dict[str, np.ndarray]:
    """Random sparse jet images in the training layout (timings do not depend on the content).

    Every HR image has ``hits`` pixels (a jet's typical constituent count) of exponential pT
    (mean 10 GeV) at random places; the LR image is its f×f sum pooling.

    Returns:
        ``lr`` ``[num, hr_size / f, hr_size / f, 1]``, ``hr`` ``[num, hr_size, hr_size, 1]``
        (GeV) and ``gp_epsilon`` ``[num, 2]`` (the ε of Eq. 8 per stream), float32.
    """
    rng = np.random.default_rng(seed)
    hr = np.zeros((num, hr_size * hr_size), np.float32)
    rows = np.repeat(np.arange(num), hits)
    hr[rows, rng.integers(0, hr_size * hr_size, num * hits)] = rng.exponential(
        10.0, num * hits).astype(np.float32)
    hr = hr.reshape(num, hr_size, hr_size, 1)
    size = hr_size // factor
    lr = hr.reshape(num, size, factor, size, factor, 1).sum(axis=(2, 4))
    return {"lr": lr, "hr": hr, "gp_epsilon": rng.random((num, len(STREAMS)), np.float32)}


def benchmark_inference(generator: keras.Model, batch_sizes: Sequence[int],
                        flops_per_image: float, repeats: int = 2, min_seconds: float = 0.5,
                        seed: int = 1, matmul_size: int | None = None,
                        max_chunk: int = MAX_CHUNK) -> list[dict[str, Any]]:
    """Times ``generator(lr, training=False)["sr"]`` in a ``tf.function`` per batch size.

    A batch larger than ``max_chunk`` is generated as consecutive chunks of ``max_chunk``
    images (the row says ``chunk_size``): every 160×160×64 float32 activation of a batch of
    256 is 1.7 GB, and chunks of 64 cost no speed on a CPU (the time per image is flat from a
    batch of 8 on). At every batch size the forward pass and, with ``matmul_size``, the
    reference matmul are timed interleaved, so each row's ``fraction_of_matmul`` compares rates
    measured under the same load.

    Args:
        generator: LR ``[B, h, w, 1]`` → ``{"sr_power", "sr"}``.
        batch_sizes: batch sizes to time.
        flops_per_image: analytic FLOP of one SR image (:func:`generator_flops`).
        repeats: repeats per batch size; the fastest counts.
        min_seconds: shortest repeat (short calls are looped).
        seed: seed of the random LR images and of the matmul.
        matmul_size: n of the reference n × n float32 matmul; None leaves it out.
        max_chunk: largest batch of one call.

    Returns:
        One dict per batch size: batch_size, chunk_size, seconds_per_batch,
        seconds_per_batch_all, calls, ms_per_image, images_per_s, flops_per_s,
        peak_rss_bytes (this process' peak so far) and, with the matmul, matmul (its timing),
        matmul_flops_per_s, fraction_of_matmul and time_to_matmul_time (its inverse).
    """
    factor = generator.config.factor
    forward = tf.function(lambda x: generator(x, training=False)["sr"])
    matmul, matmul_flops = benchmarking.matmul(matmul_size, seed) if matmul_size else (None, None)
    rows = []
    for batch_size in batch_sizes:
        chunk = min(batch_size, max_chunk)
        lr = tf.constant(random_jets(batch_size, factor, seed + batch_size)["lr"])
        chunks = [lr[start:start + chunk] for start in range(0, batch_size, chunk)]

        def run(parts=chunks):
            return [forward(part) for part in parts][-1]

        fns: dict[str, Callable[[], Any]] = {"generator": run}
        if matmul is not None:
            fns["matmul"] = matmul
        timings = benchmarking.time_interleaved(fns, repeats, min_seconds)
        seconds = timings["generator"]["seconds"]
        row = {
            "batch_size": int(batch_size),
            "chunk_size": int(chunk),
            "seconds_per_batch": seconds,
            "seconds_per_batch_all": timings["generator"]["seconds_all"],
            "calls": timings["generator"]["calls"],
            "ms_per_image": 1e3 * seconds / batch_size,
            "images_per_s": batch_size / seconds,
            "flops_per_s": flops_per_image * batch_size / seconds,
            "peak_rss_bytes": benchmarking.peak_rss_bytes()["ru_maxrss_bytes"],
        }
        if matmul is not None:
            reference = timings["matmul"]
            row["matmul"] = {"size": matmul_size, "flops": matmul_flops, **reference,
                             "flops_per_s": matmul_flops / reference["seconds"]}
            row["matmul_flops_per_s"] = row["matmul"]["flops_per_s"]
            row["fraction_of_matmul"] = row["flops_per_s"] / row["matmul_flops_per_s"]
            row["time_to_matmul_time"] = 1.0 / row["fraction_of_matmul"]
        rows.append(row)
        logging.info("generator batch %d: %.4g ms/image, %.1f GFLOP/s%s", batch_size,
                     row["ms_per_image"], row["flops_per_s"] / 1e9,
                     f" ({100 * row['fraction_of_matmul']:.0f}% of matmul)"
                     if matmul is not None else "")
    return rows


# ------------------------------------------------------------------------------------------
# Training
# ------------------------------------------------------------------------------------------


def handwritten_train_step(generator: keras.Model,
                           discriminators: Mapping[str, Sequence[keras.Model]],
                           config: config_lib.JetSRConfig,
                           jit_compile: bool = False) -> Callable[[dict], tuple]:
    """A minimal ``tf.function`` doing the updates of ``JetSRTrainer.train_step`` after the
    warm-up.

    The generator's forward pass; per stream s of ``config.streams`` the losses of Eq. 6
    (L_HR, L_LR, L_patch, L_adv) and of the discriminators (Eq. 7 + λ_reg Eq. 8, C = C1 + C2)
    from the trainer module's loss functions, batch means over the batch; the batch mean of
    the per-example losses; one gradient of each loss at the same point and three fresh Adam
    optimizers (generator, first and second discriminators). No metrics, no warm-up switch, no
    strategy, no Keras trainer: the reference for the trainer's overhead.

    Args:
        generator: LR → ``{"sr_power", "sr"}`` (its weights are updated).
        discriminators: ``{stream: (first, second)}`` (their weights are updated).
        config: loss weights and Adam settings (``hr_loss`` either way).
        jit_compile: compile the step with XLA (set it as the trainer does).

    Returns:
        ``step(batch) -> (discriminator_loss, generator_loss)`` on a batch ``{"lr": [B, h, w,
        1], "hr": [B, f·h, f·w, 1], "gp_epsilon": [B, 2]}``.
    """
    factor, power = generator.config.factor, generator.config.power
    pairs = [tuple(discriminators[s]) for s in config.streams]
    generator_optimizer, first_optimizer, second_optimizer = trainer_lib.make_optimizers(config)
    first_vars = [v for pair in pairs for v in pair[0].trainable_variables]
    second_vars = [v for pair in pairs for v in pair[1].trainable_variables]
    generator_optimizer.build(generator.trainable_variables)
    first_optimizer.build(first_vars)
    second_optimizer.build(second_vars)

    def batch_mean(values):
        return tf.reduce_mean(values, axis=0)

    @tf.function(jit_compile=jit_compile)
    def step(batch):
        lr, hr, epsilon = batch["lr"], batch["hr"], batch["gp_epsilon"]
        with tf.GradientTape(persistent=True) as tape:
            outputs = generator(lr, training=True)
            sr_lr = networks_lib.sum_pool(outputs["sr"], factor)
            images = {
                "std": (outputs["sr"], sr_lr, hr, lr),
                "pow": (outputs["sr_power"], trainer_lib.safe_power(sr_lr, power),
                        tf.pow(tf.maximum(hr, 0.0), power), tf.pow(tf.maximum(lr, 0.0), power)),
            }
            generator_loss = discriminator_loss = 0.0
            for s, (first, second) in zip(config.streams, pairs, strict=True):
                sr_s, sr_lr_s, hr_s, lr_s = images[s]
                if config.hr_loss == "per_image":
                    hr_term = trainer_lib.l1_per_image(sr_s, hr_s)
                else:
                    hr_term = tf.reduce_mean(tf.abs(batch_mean(sr_s) - batch_mean(hr_s)))
                lr_term = trainer_lib.l1_per_image(sr_lr_s, lr_s)
                maps = [batch_mean(trainer_lib.patch_map(x, factor, config.patch_threshold,
                                                         config.patch_sharpness))
                        for x in (sr_s, hr_s)]
                patch_term = tf.reduce_mean(tf.square(maps[0] - maps[1]))

                def critic(x, training=True, first=first, second=second):
                    return first(x, training=training) + second(x, training=training)

                c_real, c_fake = critic(hr_s), critic(sr_s)
                mean_real, mean_fake = batch_mean(c_real), batch_mean(c_fake)
                adversarial = trainer_lib.ragan_generator_loss(c_real, c_fake, mean_real,
                                                               mean_fake)
                penalty = trainer_lib.gradient_penalty(critic, hr_s, tf.stop_gradient(sr_s),
                                                       epsilon[:, STREAMS.index(s)])
                generator_loss += config.stream_weight(s) * tf.reduce_mean(
                    config.lambda_hr * hr_term + config.lambda_lr * lr_term
                    + config.lambda_adv * adversarial) + (
                    config.stream_weight(s) * config.lambda_patch * patch_term)
                discriminator_loss += tf.reduce_mean(
                    trainer_lib.ragan_discriminator_loss(c_real, c_fake, mean_real, mean_fake)
                    + config.lambda_reg * penalty)
        generator_grads = tape.gradient(generator_loss, generator.trainable_variables)
        discriminator_grads = tape.gradient(discriminator_loss, first_vars + second_vars)
        del tape
        generator_optimizer.apply_gradients(
            zip(generator_grads, generator.trainable_variables, strict=True))
        first_optimizer.apply_gradients(
            zip(discriminator_grads[:len(first_vars)], first_vars, strict=True))
        second_optimizer.apply_gradients(
            zip(discriminator_grads[len(first_vars):], second_vars, strict=True))
        return discriminator_loss, generator_loss

    return step


def benchmark_training(generator: keras.Model,
                       discriminators: Mapping[str, Sequence[keras.Model]],
                       config: config_lib.JetSRConfig, rounds: int, seed: int,
                       fit_steps: int | None = None) -> dict[str, Any]:
    """Times the trainer against a hand-written step on one batch repeated from memory.

    The batch is :func:`random_jets` of ``config.batch_size`` jets, with its ε, so both steps
    compute the same losses. Variants (each called once untimed first, for the tracing): the
    trainer's Keras train function (``strategy.run(train_step)`` in a ``tf.function``, what
    ``fit`` calls every step) and :func:`handwritten_train_step`, one step each per round in
    rotating order; then ``fit`` for ``fit_steps`` (default ``rounds``) steps, each paired with
    one step of the train function.

    Returns:
        Per variant and for ``trainer_fit``: ``seconds_per_step`` (the fastest step),
        ``seconds_per_step_median``, ``seconds_per_step_all`` and ``first_step_seconds``;
        ``trainer_fit`` also has ``ratio_to_train_function``; ``jit_compile`` (the trainer's,
        mirrored by the hand-written step), ``batch_size``, ``generator_parameters`` and
        ``discriminator_parameters`` (all four discriminators).
    """
    batch = {key: tf.constant(value) for key, value in
             random_jets(config.batch_size, generator.config.factor, seed).items()}
    cached = tf.data.Dataset.from_tensors(batch).repeat()
    trainer = trainer_lib.JetSRTrainer(generator, discriminators, config, seed=seed)
    trainer.compile(*trainer_lib.make_optimizers(config))
    result = benchmarking.time_trainer_against_handwritten(
        trainer, cached,
        lambda jit: handwritten_train_step(generator, discriminators, config, jit),
        rounds, fit_steps)
    result["batch_size"] = config.batch_size
    result["generator_parameters"] = int(generator.count_params())
    result["discriminator_parameters"] = int(sum(network.count_params()
                                                 for s in config.streams
                                                 for network in discriminators[s]))
    return result


# ------------------------------------------------------------------------------------------
# The whole benchmark
# ------------------------------------------------------------------------------------------


def benchmark_jet_sr(settings: BenchmarkSettings = BenchmarkSettings()) -> dict[str, Any]:
    """Runs the whole jet super-resolution benchmark (networks on the default device).

    Returns:
        A JSON-serialisable dict: ``benchmark``, ``machine``, ``settings``, ``goals``,
        ``generation`` (:func:`benchmark_generation`: rows per process and worker count,
        speed-ups, the one-core tt̄ ms per event against the reference; on the CPU whatever
        the device), ``device``, ``cpu`` and ``gpu`` (the measured section; None for the
        other, explained by ``notes``), ``summary`` and ``notes``. The section holds
        ``matmul`` (best of its runs), ``generator_flops``, ``inference`` (one row per batch
        size, :func:`benchmark_inference`, with ``fraction_of_best_matmul``), ``training``
        (:func:`benchmark_training`) and ``trainer_overhead``.
    """
    device = benchmarking.device_kind()
    logging.info("jet SR benchmark on %s", device)
    machine = benchmarking.machine_info()
    generated = benchmark_generation(settings)

    def measure_matmul():
        return benchmarking.matmul_rate(settings.matmul_size, settings.repeats,
                                        settings.min_seconds, settings.seed)

    matmul_runs = [measure_matmul()]
    keras.utils.set_random_seed(settings.seed)
    generator = networks_lib.JetSRGenerator(settings.generator)
    lr_size = config_lib.lr_size(settings.generator.factor)
    flops_per_image = float(generator_flops(settings.generator, lr_size))
    counted = benchmarking.graph_flops(generator, (lr_size, lr_size, 1))
    flops = {
        "per_image": flops_per_image,
        "source": "caloml.jet_sr.benchmark.generator_flops (analytic)",
        "lr_size": lr_size,
        "hr_size": lr_size * settings.generator.factor,
        # benchmarking.graph_flops counts Conv2D ops; a transposed convolution is a
        # Conv2DBackpropInput op, which it leaves out.
        "graph_count": counted,
        "graph_count_without": "transposed convolutions",
        "transposed_conv_flops": float(transposed_conv_flops(settings.generator, lr_size)),
        "parameters": int(generator.count_params()),
    }
    inference = benchmark_inference(generator, settings.batch_sizes, flops_per_image,
                                    settings.repeats, settings.min_seconds, settings.seed,
                                    settings.matmul_size, settings.max_chunk)
    matmul_runs.extend(row["matmul"] for row in inference)
    del generator

    training_config = settings.training()
    keras.utils.set_random_seed(settings.seed)
    train_generator = networks_lib.JetSRGenerator(settings.train_generator)
    discriminators = networks_lib.make_discriminators(settings.train_discriminator,
                                                      training_config.streams)
    training = benchmark_training(train_generator, discriminators, training_config,
                                  settings.steps * settings.repeats, settings.seed,
                                  fit_steps=settings.steps)
    matmul_runs.append(measure_matmul())
    matmul = benchmarking.with_best_matmul_fraction({"generator": inference}, matmul_runs)
    overhead = {**benchmarking.trainer_overhead(training, GOALS["trainer_overhead_ratio"]),
                "batch_size": training_config.batch_size,
                "num_rrdb": settings.train_generator.num_rrdb,
                "discriminator_filters": list(settings.train_discriminator.filters)}
    best = min(inference, key=lambda r: r["ms_per_image"])
    section = {"matmul": matmul, "generator_flops": flops, "inference": inference,
               "training": training, "trainer_overhead": overhead}
    other, other_note = benchmarking.unmeasured_device(device)
    machine["load_average_1min_end"] = benchmarking.load_average()
    return {
        "benchmark": "jet_sr",
        "machine": machine,
        "settings": dataclasses.asdict(settings),
        "goals": dict(GOALS),
        "generation": generated,
        "device": device,
        device: section,
        other: None,
        "summary": {
            "device": device,
            "top_ms_per_event_one_core": generated["top_ms_per_event_one_core"],
            "top_ms_per_event_one_core_passed": generated["passed"],
            "jets_per_s": {f"{r['process']}_{r['workers']}_workers": r["jets_per_s"]
                           for r in generated["rows"]},
            "best_ms_per_image": best["ms_per_image"],
            "best_batch_size": best["batch_size"],
            "best_fraction_of_matmul": max(r["fraction_of_matmul"] for r in inference),
            "trainer_overhead": overhead["ratio"],
            "trainer_overhead_ratio": overhead["passed"],
        },
        "notes": {
            other: other_note,
            "generation": "Pythia 8 + detector model + FastJet + selection in a fresh process "
                          "(ms_per_event: wall clock per generated event, Pythia's "
                          "initialisation of each 64-jet chunk included; core_ms_per_event: "
                          "times the workers); the issue's 22 ms per tt̄ event was measured "
                          "with p̂T > 500 GeV, the generation cuts at the row's pt_hat_min_gev",
            "inference": "fraction_of_matmul compares with the tf.matmul timed interleaved "
                         "with each batch size; on a CPU TensorFlow's convolutions (oneDNN) "
                         "can run faster than its matmul, a fraction above 1",
            "training": f"timed at batch {training_config.batch_size} with "
                        f"{settings.train_generator.num_rrdb} RRDBs and discriminators of "
                        f"filters {list(settings.train_discriminator.filters)} (the paper's: "
                        "batch 15, 10 RRDBs, (64, 128, 256, 512), about a minute per step on "
                        "two CPU cores), after the warm-up, on synthetic jets; the ratio is "
                        "what is compared",
        },
    }


def _ms(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.4g}"


def format_summary(result: dict[str, Any]) -> str:
    """A text table of the main figures of :func:`benchmark_jet_sr`."""
    generated = result["generation"]
    section = result[result["device"]]

    def verdict(passed):
        return "n/a" if passed is None else ("pass" if passed else "FAIL")

    lines = [f"{'process':<8} {'workers':>7} {'jets':>5} {'events':>7} {'s':>7} "
             f"{'jets/s':>7} {'ms/event':>9} {'acceptance':>10}"]
    for r in generated["rows"]:
        lines.append(f"{r['process']:<8} {r['workers']:>7d} {r['num_jets']:>5d} "
                     f"{r['num_events_generated']:>7d} {r['seconds']:>7.1f} "
                     f"{r['jets_per_s']:>7.2f} {r['ms_per_event']:>9.2f} "
                     f"{r['acceptance']:>10.3f}")
    lines.append(
        f"tt̄ ms/event on one core: {_ms(generated['top_ms_per_event_one_core'])} (goal ≤ "
        f"{generated['goal']:g}, the issue's figure at p̂T > "
        f"{generated['reference']['pt_hat_min_gev']:g} GeV): {verdict(generated['passed'])}; "
        "speed-up over one worker: "
        + (", ".join(f"{p} ×{w} {s:.2f}" for p, by in generated["speedup"].items()
                     for w, s in by.items() if w != "1") or "—"))
    flops = section["generator_flops"]
    lines += [
        f"device {result['device']}: matmul {section['matmul']['size']}² "
        f"{section['matmul']['flops_per_s'] / 1e9:.1f} GFLOP/s; generator "
        f"{flops['lr_size']}² → {flops['hr_size']}² {flops['per_image'] / 1e9:.2f} GFLOP/image, "
        f"{flops['parameters']:,} parameters",
        f"{'batch':>6} {'chunk':>6} {'ms/image':>9} {'images/s':>9} {'GFLOP/s':>8} "
        f"{'of matmul':>9}",
    ]
    for r in section["inference"]:
        lines.append(f"{r['batch_size']:>6d} {r['chunk_size']:>6d} {_ms(r['ms_per_image']):>9} "
                     f"{r['images_per_s']:>9.3g} {r['flops_per_s'] / 1e9:>8.1f} "
                     f"{100 * r['fraction_of_matmul']:>8.0f}%")
    overhead, training = section["trainer_overhead"], section["training"]
    lines.append(
        f"training step at batch {overhead['batch_size']}, {overhead['num_rrdb']} RRDBs, "
        f"discriminators {'/'.join(map(str, overhead['discriminator_filters']))} (fastest): "
        f"trainer {training['trainer']['seconds_per_step']:.3f} s, hand-written "
        f"{training['handwritten']['seconds_per_step']:.3f} s; median paired ratio "
        f"{overhead['ratio']:.3f} (goal ≤ {overhead['goal']:.2f}): {verdict(overhead['passed'])}; "
        f"fit / train function {overhead['fit_to_train_function']:.3f}")
    return "\n".join(lines)
