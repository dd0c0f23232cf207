"""Speed and memory of the 3DGAN (paper 003 §4): generation, training step, streamed data.

:func:`benchmark_gan3d` measures, in one run on the default TensorFlow device:

1. the device's achievable FP32 rate, from a large square ``tf.matmul`` (2n³ FLOP);
2. generator inference at batch 1, 64, 256 and 1024 (a ``tf.function`` forward pass with
   ``training=False``), as ms per shower, showers/s, achieved FLOP/s (the analytic FLOP of
   :func:`~caloml.gan3d.networks.generator_flops` × showers/s) and the fraction of the matmul
   rate timed interleaved with it (goal: the generator's time at most 1.5× what that rate
   allows, i.e. a fraction ≥ 1 / 1.5), beside the paper's 13 ms (Xeon 8180), 4 ms (GTX 1080)
   and Geant4's 17 s per shower;
3. one training iteration of :class:`~caloml.gan3d.trainer.Gan3DTrainer` (its Keras train
   function, and ``fit``) against a minimal hand-written ``tf.function`` step doing the same
   updates on the same networks (goal: at most 1.10×);
4. the peak resident memory of a fresh process streaming one epoch of 3DGAN files of 1× and
   4× the shuffle buffer through :func:`caloml.data.threedgan.training_dataset`: bounded when
   the peak does not grow with the file.

Times are the fastest of several repeats (interference only adds time); what is compared is
measured interleaved, and ratios are medians of per-round ratios. The result is a
JSON-serialisable dict with one section per device kind; the kind not measured is None, with a
note.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from caloml import benchmarking
from caloml.data import threedgan
from caloml.errors import InputError
from caloml.gan3d import config as config_lib
from caloml.gan3d import networks as networks_lib
from caloml.gan3d import trainer as trainer_lib
from caloml.io import hdf5, schema

# Goals of the 3DGAN issue.
GOALS = {
    # The generator's time per shower at most this many times its FLOPs at the matmul rate.
    "generator_time_to_matmul_time": 1.5,
    # The trainer's step at most this much slower than a hand-written step.
    "trainer_overhead_ratio": 1.10,
}
PAPER_RUNTIME_MS = config_lib.PAPER_RUNTIME_MS
GIB = 2.0**30
# Largest batch generated in one call (larger batches run as chunks; see benchmark_inference).
MAX_CHUNK = 64


@dataclasses.dataclass(frozen=True)
class BenchmarkSettings:
    """What :func:`benchmark_gan3d` runs (defaults: about 15 minutes on two CPU cores).

    Attributes:
        architecture: the networks timed (``anglegan``, ``paper_text`` or ``energygan``).
        batch_sizes: generator inference batch sizes.
        steps: timed training steps per repeat.
        repeats: timed repeats of every measurement; the fastest counts.
        matmul_size: n of the n × n float32 matmul that gives the device's FP32 rate.
        min_seconds: shortest timed repeat (short calls are looped).
        seed: seed of the weights, the random inputs and the synthetic files.
        train_batch_size: batch of the timed training steps (the paper's 64 takes about a
            minute per step on two cores; the overhead ratio does not depend on it).
        shuffle_buffer: events in the shuffle buffer of the memory measurement.
        file_multiples: sizes of the streamed files, in shuffle buffers.
    """

    architecture: str = "anglegan"
    batch_sizes: tuple[int, ...] = config_lib.BENCHMARK_BATCH_SIZES
    steps: int = 2
    repeats: int = 2
    matmul_size: int = 4096
    min_seconds: float = 0.5
    seed: int = 1
    train_batch_size: int = 8
    shuffle_buffer: int = 256
    file_multiples: tuple[int, ...] = (1, 4)

    def __post_init__(self):
        for name in ("batch_sizes", "file_multiples"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.architecture not in config_lib.ARCHITECTURES:
            raise InputError(f"BenchmarkSettings: unknown architecture {self.architecture!r}; "
                             f"expected one of {', '.join(config_lib.ARCHITECTURES)}")
        for name in ("batch_sizes", "file_multiples"):
            values = getattr(self, name)
            if not values or any(not isinstance(b, int) or b < 1 for b in values):
                raise InputError(f"BenchmarkSettings: {name} must be positive integers, got "
                                 f"{values}")
        for name in ("steps", "repeats", "matmul_size", "train_batch_size", "shuffle_buffer"):
            if getattr(self, name) < 1:
                raise InputError(f"BenchmarkSettings: {name} must be at least 1, got "
                                 f"{getattr(self, name)}")
        if self.min_seconds < 0:
            raise InputError(f"BenchmarkSettings: min_seconds must be ≥ 0, got "
                             f"{self.min_seconds}")

    def experiment(self) -> config_lib.Gan3DExperiment:
        """The paper-size configuration of ``architecture`` at ``train_batch_size``."""
        experiment = config_lib.for_architecture(self.architecture, workdir="benchmark")
        return dataclasses.replace(experiment, gan=dataclasses.replace(
            experiment.gan, batch_size=self.train_batch_size))


def generator_inputs(generator: keras.Model, batch_size: int, seed: int) -> dict[str, tf.Tensor]:
    """Random requests of the GEN dataset: E ~ U(100, 200) GeV, θ ~ U(1.047, 2.094) rad."""
    config = generator.config
    inputs = {
        "latent": tf.random.stateless_normal((batch_size, config.noise_dim),
                                             seed=(seed, batch_size)),
        "energy": tf.random.stateless_uniform((batch_size, 1), seed=(seed + 1, batch_size),
                                              minval=config_lib.GEN_ENERGY_GEV[0],
                                              maxval=config_lib.GEN_ENERGY_GEV[1]),
    }
    if config.conditions_on_angle:
        inputs["angle"] = tf.random.stateless_uniform(
            (batch_size, 1), seed=(seed + 2, batch_size), minval=config_lib.GEN_THETA_RAD[0],
            maxval=config_lib.GEN_THETA_RAD[1])
    return inputs


def benchmark_inference(generator: keras.Model, batch_sizes: Sequence[int],
                        flops_per_shower: float, repeats: int = 2, min_seconds: float = 0.5,
                        seed: int = 1, matmul_size: int | None = None,
                        max_chunk: int = MAX_CHUNK) -> list[dict[str, Any]]:
    """Times ``generator(inputs, training=False)`` in a ``tf.function`` per batch size.

    A batch larger than ``max_chunk`` is generated as consecutive chunks of ``max_chunk``
    showers (the row says ``chunk_size``): on a CPU, TensorFlow's Conv3D materialises the patch
    matrix of a whole batch (about 0.3 GB per 51×51×25 shower in the second convolution), so a
    batch of 256 does not fit in 24 GiB. At every batch size the forward pass and, with
    ``matmul_size``, the reference matmul are timed interleaved, so each row's
    ``fraction_of_matmul`` compares rates measured under the same load.

    Returns:
        One dict per batch size: batch_size, seconds_per_batch, seconds_per_batch_all, calls,
        ms_per_shower, showers_per_s, flops_per_s, the paper's figures, speedup_vs_geant4
        (Geant4's 17 s over ours) and, with the matmul, matmul (its timing),
        matmul_flops_per_s, fraction_of_matmul and time_to_matmul_time (its inverse: how many
        times the time that rate allows the generator takes).
    """
    forward = tf.function(lambda x: generator(x, training=False)["ecal"])
    matmul, matmul_flops = benchmarking.matmul(matmul_size, seed) if matmul_size else (None, None)
    rows = []
    for batch_size in batch_sizes:
        chunk = min(batch_size, max_chunk)
        inputs = generator_inputs(generator, batch_size, seed)
        chunks = [{key: value[start:start + chunk] for key, value in inputs.items()}
                  for start in range(0, batch_size, chunk)]

        def run(parts=chunks):
            return [forward(part) for part in parts][-1]

        fns = {"generator": run}
        if matmul is not None:
            fns["matmul"] = matmul
        timings = benchmarking.time_interleaved(fns, repeats, min_seconds)
        seconds = timings["generator"]["seconds"]
        ms_per_shower = 1e3 * seconds / batch_size
        row = {
            "batch_size": int(batch_size),
            "chunk_size": int(chunk),
            "seconds_per_batch": seconds,
            "seconds_per_batch_all": timings["generator"]["seconds_all"],
            "calls": timings["generator"]["calls"],
            "ms_per_shower": ms_per_shower,
            "showers_per_s": batch_size / seconds,
            "flops_per_s": flops_per_shower * batch_size / seconds,
            "paper_ms_per_shower": {"xeon_8180": PAPER_RUNTIME_MS["3dgan_xeon_8180"],
                                    "gtx_1080": PAPER_RUNTIME_MS["3dgan_gtx_1080"]},
            "speedup_vs_geant4": PAPER_RUNTIME_MS["geant4_xeon_8180"] / ms_per_shower,
        }
        if matmul is not None:
            reference = timings["matmul"]
            row["matmul"] = {"size": matmul_size, "flops": matmul_flops, **reference,
                             "flops_per_s": matmul_flops / reference["seconds"]}
            row["matmul_flops_per_s"] = row["matmul"]["flops_per_s"]
            row["fraction_of_matmul"] = row["flops_per_s"] / row["matmul_flops_per_s"]
            row["time_to_matmul_time"] = 1.0 / row["fraction_of_matmul"]
        rows.append(row)
        logging.info("generator batch %d: %.4g ms/shower, %.1f GFLOP/s%s", batch_size,
                     ms_per_shower, row["flops_per_s"] / 1e9,
                     f" ({100 * row['fraction_of_matmul']:.0f}% of matmul)"
                     if matmul is not None else "")
    return rows


def handwritten_train_step(generator: keras.Model, discriminator: keras.Model,
                           config: config_lib.Gan3DConfig,
                           jit_compile: bool = False) -> Callable[[dict], tuple]:
    """A minimal ``tf.function`` doing the updates of ``Gan3DTrainer.train_step``.

    A discriminator update on the real batch and one on a batch the generator makes in
    inference mode for the same requests, then ``config.generator_steps`` generator updates;
    the loss of :class:`~caloml.gan3d.trainer.Gan3DTrainer` written out (BCE of the logit,
    MAPE of E/100 and of the ECAL sum, MAE of the angle, MAPE of the bin counts with the real
    batch's counts, empty bins → 1, as targets) and averaged over the batch; two fresh RMSprop
    optimizers. No metrics, no strategy, no Keras trainer: the reference for the trainer's
    overhead.

    Returns:
        ``step(batch) -> (discriminator_loss, generator_loss)`` on a batch of
        :func:`caloml.data.threedgan.training_dataset`.
    """
    generator_optimizer, discriminator_optimizer = trainer_lib.make_optimizers(config)
    generator_optimizer.build(generator.trainable_variables)
    discriminator_optimizer.build(discriminator.trainable_variables)
    weights = dict(zip(config_lib.LOSS_TERMS, config.loss_weights, strict=True))
    angle = generator.config.conditions_on_angle
    scale = generator.config.energy_scale_gev

    def percentage(target, prediction):
        return 100.0 * tf.reduce_mean(tf.abs(target - prediction)
                                      / tf.maximum(tf.abs(target), 1e-7), axis=-1)

    def loss(images, labels, batch, real_bins):
        out = discriminator({"ecal_power": images}, training=True)
        per_event = weights["real"] * tf.nn.sigmoid_cross_entropy_with_logits(
            labels=labels, logits=out["real"][:, 0])
        per_event += weights["energy"] * percentage(batch["energy"] / scale, out["energy"])
        per_event += weights["ecal_sum"] * percentage(batch["ecal_sum"], out["ecal_sum"])
        if angle and weights["angle"] > 0:
            per_event += weights["angle"] * tf.abs(batch["angle"][:, 0] - out["angle"][:, 0])
        if real_bins is not None and weights["bins"] > 0:
            per_event += weights["bins"] * percentage(real_bins, out["bins"])
        return tf.reduce_mean(per_event), out

    def inputs_of(noise, batch):
        inputs = {"energy": batch["energy"], "latent": noise}
        if angle:
            inputs["angle"] = batch["angle"]
        return inputs

    def update(optimizer, network, tape, value):
        variables = network.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(value, variables), variables, strict=True))

    @tf.function(jit_compile=jit_compile)
    def step(batch):
        with tf.GradientTape() as tape:
            discriminator_loss, out = loss(batch["ecal_power"], batch["real_label"], batch, None)
        update(discriminator_optimizer, discriminator, tape, discriminator_loss)
        real_bins = tf.maximum(out["bins"], 1.0) if "bins" in out else None
        noise = batch["noise"]
        fake = generator(inputs_of(noise[:, 0], batch),
                         training=config.fake_batch_training_mode)["ecal_power"]
        with tf.GradientTape() as tape:
            discriminator_loss, _ = loss(fake, batch["fake_label"], batch, real_bins)
        update(discriminator_optimizer, discriminator, tape, discriminator_loss)
        for k in range(1, config.generator_steps + 1):
            with tf.GradientTape() as tape:
                images = generator(inputs_of(noise[:, k], batch), training=True)["ecal_power"]
                generator_loss, _ = loss(images, tf.ones_like(batch["real_label"]), batch,
                                         real_bins)
            update(generator_optimizer, generator, tape, generator_loss)
        return discriminator_loss, generator_loss

    return step


def write_synthetic_3dgan(path: str, num_events: int, seed: int,
                          window: tuple[int, int, int] = (51, 51, 25),
                          block_size: int = 256, hits: int = 1500) -> None:
    """A 3DGAN-layout file of random sparse showers (gzip), for memory and I/O timings.

    Every event has ``hits`` cells of exponential energies (mean 0.1) at random places (about
    the hit count of a 150 GeV electron), energy U(100, 200) GeV, θ U(1.047, 2.094) rad and
    ``mtheta`` equal to θ; ``sum`` is the cells' sum.
    """
    rng = np.random.default_rng(seed)
    cells_per_event = int(np.prod(window))
    with hdf5.H5Writer(path, schema.THREEDGAN, num_events,
                       attrs={"geometry": "clic", "particle": "electron", "synthetic": True}) as w:
        for start in range(0, num_events, block_size):
            n = min(block_size, num_events - start)
            cells = np.zeros((n, cells_per_event), np.float32)
            rows = np.repeat(np.arange(n), hits)
            cells[rows, rng.integers(0, cells_per_event, n * hits)] = rng.exponential(
                0.1, n * hits).astype(np.float32)
            theta = rng.uniform(*config_lib.GEN_THETA_RAD, n)
            arrays = {"ECAL": cells.reshape(n, *window),
                      "energy": rng.uniform(*config_lib.GEN_ENERGY_GEV, n),
                      "theta": theta, "mtheta": theta, "eta": -np.log(np.tan(theta / 2)),
                      "sum": cells.sum(axis=1, dtype=np.float64)}
            w.write(start, {key: np.asarray(value).astype(schema.THREEDGAN.field(key).dtype)
                            for key, value in arrays.items()})


def stream_peak_rss(path: str, num_events: int, shuffle_buffer: int, batch_size: int,
                    noise_dim: int, seed: int = 1) -> dict[str, Any]:
    """Streams one epoch of the 3DGAN file ``path`` and reads this process' peak RSS.

    Call it in a fresh process (:func:`caloml.benchmarking.run_in_fresh_process`):
    ``ru_maxrss`` is the peak of the whole process' life.

    Returns:
        ``{"events", "batches", "seconds", "rss_before_stream_bytes" (once the pipeline is
        built: TensorFlow's share), "peak_rss_bytes", "vm_hwm_bytes"}``.
    """
    files = threedgan.dataset_files(os.path.dirname(path), num_events=num_events, data=path,
                                    seed=seed)
    steps = threedgan.steps_per_epoch(files, 0, num_events, batch_size, 0.0)
    dataset = threedgan.training_dataset(
        files, 0, num_events, window=(51, 51, 25), batch_size=batch_size,
        power=config_lib.POWER, min_ecal_sum=0.0, shuffle_buffer=shuffle_buffer, seed=seed,
        first_epoch=0, noise_dim=noise_dim, generator_steps=2, label_flip=0.05)
    before = benchmarking.peak_rss_bytes()["ru_maxrss_bytes"]
    events = batches = 0
    start = time.perf_counter()
    for batch in dataset.take(steps):
        events += int(batch["energy"].shape[0])
        batches += 1
    seconds = time.perf_counter() - start
    after = benchmarking.peak_rss_bytes()
    return {"events": events, "batches": batches, "seconds": seconds,
            "rss_before_stream_bytes": before, "peak_rss_bytes": after["ru_maxrss_bytes"],
            "vm_hwm_bytes": after["vm_hwm_bytes"]}


def benchmark_stream_memory(settings: BenchmarkSettings, directory: str) -> dict[str, Any]:
    """Peak RSS of streaming files of ``file_multiples`` shuffle buffers, one process each."""
    window = (51, 51, 25)
    event_bytes = int(np.prod(window)) * 4
    # The paper's batch of 64, or one shuffle buffer if that is smaller.
    stream_batch = min(64, settings.shuffle_buffer)
    files = []
    for multiple in settings.file_multiples:
        events = multiple * settings.shuffle_buffer
        path = os.path.join(directory, f"x{multiple}", "electron_3dgan.h5")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        start = time.perf_counter()
        write_synthetic_3dgan(path, events, settings.seed + multiple, window)
        write_seconds = time.perf_counter() - start
        measured = benchmarking.run_in_fresh_process(
            "caloml.gan3d.benchmark", "stream_peak_rss",
            {"path": path, "num_events": events, "shuffle_buffer": settings.shuffle_buffer,
             "batch_size": stream_batch, "noise_dim": 254, "seed": settings.seed})
        files.append({"multiple": multiple, "events": events,
                      "file_array_bytes": events * event_bytes, "write_seconds": write_seconds,
                      **measured})
        logging.info("streamed %d events (%.2f GiB of ECAL arrays): peak RSS %.2f GiB",
                     measured["events"], events * event_bytes / GIB,
                     measured["peak_rss_bytes"] / GIB)
    smallest, largest = files[0], files[-1]
    return {
        "shuffle_buffer": settings.shuffle_buffer,
        "batch_size": stream_batch,
        "shuffle_buffer_bytes": settings.shuffle_buffer * event_bytes,
        "files": files,
        "rss_difference_bytes": largest["peak_rss_bytes"] - smallest["peak_rss_bytes"],
        "file_bytes_difference": largest["file_array_bytes"] - smallest["file_array_bytes"],
        "bounded": stream_bounded(files),
    }


def stream_bounded(files: Sequence[dict[str, Any]]) -> bool:
    """Whether streaming kept memory bounded: from the smallest to the largest file the peak RSS
    grows by less than half the array bytes the larger file adds (a pipeline that held the file
    in memory would grow by all of them, or more)."""
    smallest, largest = files[0], files[-1]
    return bool(largest["peak_rss_bytes"] - smallest["peak_rss_bytes"]
                < 0.5 * (largest["file_array_bytes"] - smallest["file_array_bytes"]))


def benchmark_training(generator: keras.Model, discriminator: keras.Model,
                       config: config_lib.Gan3DConfig, rounds: int, seed: int,
                       data_path: str, fit_steps: int | None = None) -> dict[str, Any]:
    """Times the trainer against a hand-written step on one batch repeated from memory.

    The batch is the first of :func:`caloml.data.threedgan.training_dataset` on the synthetic
    file ``data_path``. Variants (each called once untimed first, for the tracing): the
    trainer's Keras train function and :func:`handwritten_train_step`, one step each per round
    in alternating order; then ``fit`` for ``fit_steps`` steps, each paired with one step of the
    train function.
    """
    files = threedgan.dataset_files(os.path.dirname(data_path), num_events=config.batch_size,
                                    data=data_path, seed=seed)
    dataset = threedgan.training_dataset(
        files, 0, config.batch_size, window=generator.config.window,
        batch_size=config.batch_size, power=generator.config.power, min_ecal_sum=0.0,
        shuffle_buffer=config.batch_size, seed=seed, first_epoch=0,
        noise_dim=generator.config.noise_dim, generator_steps=config.generator_steps,
        label_flip=config.label_flip)
    cached = tf.data.Dataset.from_tensors(next(iter(dataset))).repeat()

    trainer = trainer_lib.Gan3DTrainer(generator, discriminator, config)
    trainer.compile(*trainer_lib.make_optimizers(config))
    result = benchmarking.time_trainer_against_handwritten(
        trainer, cached,
        lambda jit: handwritten_train_step(generator, discriminator, config, jit),
        rounds, fit_steps)
    result["batch_size"] = config.batch_size
    return result


def benchmark_gan3d(settings: BenchmarkSettings = BenchmarkSettings()) -> dict[str, Any]:
    """Runs the whole 3DGAN benchmark on the default TensorFlow device.

    Returns:
        A JSON-serialisable dict: ``benchmark``, ``machine``, ``settings``, ``goals``,
        ``paper`` (ms per shower), ``device``, ``cpu`` and ``gpu`` (the measured section; None
        for the other, explained by ``notes``), ``summary`` and ``notes``. The section holds
        ``matmul`` (best of its runs), ``generator_flops``, ``inference`` (one row per batch
        size, :func:`benchmark_inference`, with ``fraction_of_best_matmul``), ``training``
        (:func:`benchmark_training`), ``trainer_overhead`` and ``stream_memory``
        (:func:`benchmark_stream_memory`).
    """
    experiment = settings.experiment()
    device = benchmarking.device_kind()
    logging.info("3DGAN benchmark (%s) on %s", settings.architecture, device)
    machine = benchmarking.machine_info()

    def measure_matmul():
        return benchmarking.matmul_rate(settings.matmul_size, settings.repeats,
                                        settings.min_seconds, settings.seed)

    matmul_runs = [measure_matmul()]
    keras.utils.set_random_seed(settings.seed)
    generator = networks_lib.Gan3DGenerator(experiment.generator)
    discriminator = networks_lib.Gan3DDiscriminator(experiment.discriminator)
    flops_per_shower = float(networks_lib.generator_flops(experiment.generator))
    implemented = float(networks_lib.generator_flops(experiment.generator, implemented=True))
    flops = {"per_shower": flops_per_shower,
             "source": "caloml.gan3d.networks.generator_flops (the paper architecture's)",
             # What caloml computes: the upsampling and first convolution as one UpsampledConv3D.
             "per_shower_implemented": implemented,
             "parameters": int(generator.count_params())}
    inference = benchmark_inference(generator, settings.batch_sizes, flops_per_shower,
                                    settings.repeats, settings.min_seconds, settings.seed,
                                    settings.matmul_size)
    matmul_runs.extend(row["matmul"] for row in inference)
    with tempfile.TemporaryDirectory(prefix="gan3d_benchmark_") as directory:
        stream = benchmark_stream_memory(settings, directory)
        data_path = os.path.join(directory, "train", "electron_3dgan.h5")
        os.makedirs(os.path.dirname(data_path))
        # The files hold the 51×51×25 window; the 25³ model's pipeline crops it.
        write_synthetic_3dgan(data_path, experiment.gan.batch_size, settings.seed)
        training = benchmark_training(generator, discriminator, experiment.gan,
                                      settings.steps * settings.repeats, settings.seed,
                                      data_path, fit_steps=settings.steps)
    matmul_runs.append(measure_matmul())
    matmul = benchmarking.best_matmul(matmul_runs)
    for row in inference:
        row["fraction_of_best_matmul"] = row["flops_per_s"] / matmul["flops_per_s"]
        row["implemented_fraction_of_matmul"] = (row["fraction_of_matmul"] * implemented
                                                 / flops_per_shower)
    goal = GOALS["generator_time_to_matmul_time"]
    best = min(inference, key=lambda r: r["ms_per_shower"])
    best_fraction = max(r["fraction_of_matmul"] for r in inference)
    overhead = {**benchmarking.trainer_overhead(training, GOALS["trainer_overhead_ratio"]),
                "batch_size": experiment.gan.batch_size}
    section = {"matmul": matmul, "generator_flops": flops, "inference": inference,
               "training": training, "trainer_overhead": overhead, "stream_memory": stream}
    other, other_note = benchmarking.unmeasured_device(device)
    machine["load_average_1min_end"] = benchmarking.load_average()
    return {
        "benchmark": "gan3d",
        "machine": machine,
        "settings": dataclasses.asdict(settings),
        "goals": dict(GOALS),
        "paper": dict(PAPER_RUNTIME_MS),
        "device": device,
        device: section,
        other: None,
        "summary": {
            "device": device,
            "generator_time_to_matmul_time": 1.0 / best_fraction,
            "generator_time_to_matmul_time_passed": bool(1.0 / best_fraction <= goal),
            "best_ms_per_shower": best["ms_per_shower"],
            "best_batch_size": best["batch_size"],
            "best_speedup_vs_geant4": best["speedup_vs_geant4"],
            "trainer_overhead": overhead["ratio"],
            "trainer_overhead_ratio": overhead["passed"],
            "stream_memory_bounded": stream["bounded"],
        },
        "notes": {
            other: other_note,
            "paper": "the paper's 13 ms (Xeon 8180) and 4 ms (GTX 1080) per shower were "
                     "measured with the original Keras 2 code at an unstated batch size; "
                     "compare orders of magnitude",
        },
    }


def _ms(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.4g}"


def format_summary(result: dict[str, Any]) -> str:
    """A text table of the main figures of :func:`benchmark_gan3d`, beside the paper's."""
    section = result[result["device"]]
    summary, paper = result["summary"], result["paper"]
    lines = [
        f"device {result['device']}: matmul {section['matmul']['size']}² "
        f"{section['matmul']['flops_per_s'] / 1e9:.1f} GFLOP/s; generator "
        f"{section['generator_flops']['per_shower'] / 1e9:.2f} GFLOP/shower (computed: "
        f"{section['generator_flops']['per_shower_implemented'] / 1e9:.2f}), "
        f"{section['generator_flops']['parameters']:,} parameters; paper: "
        f"{paper['3dgan_xeon_8180']:g} ms (Xeon 8180), {paper['3dgan_gtx_1080']:g} ms "
        f"(GTX 1080), Geant4 {paper['geant4_xeon_8180'] / 1e3:g} s per shower",
        f"{'batch':>6} {'ms/shower':>10} {'GFLOP/s':>8} {'of matmul':>9} {'×Geant4':>8}",
    ]
    for r in section["inference"]:
        lines.append(f"{r['batch_size']:>6d} {_ms(r['ms_per_shower']):>10} "
                     f"{r['flops_per_s'] / 1e9:>8.1f} {100 * r['fraction_of_matmul']:>8.0f}% "
                     f"{r['speedup_vs_geant4']:>8.0f}")

    def verdict(passed):
        return "pass" if passed else "FAIL"

    overhead, training = section["trainer_overhead"], section["training"]
    stream = section["stream_memory"]
    lines += [
        f"generator time / time at the matmul rate: {summary['generator_time_to_matmul_time']:.2f}"
        f" (goal ≤ {result['goals']['generator_time_to_matmul_time']:g}): "
        f"{verdict(summary['generator_time_to_matmul_time_passed'])}",
        f"training step at batch {overhead['batch_size']} (fastest): trainer "
        f"{training['trainer']['seconds_per_step']:.3f} s, hand-written "
        f"{training['handwritten']['seconds_per_step']:.3f} s; median paired ratio "
        f"{overhead['ratio']:.3f} (goal ≤ {overhead['goal']:.2f}): {verdict(overhead['passed'])}",
        "streamed training files (shuffle buffer "
        f"{stream['shuffle_buffer']} events, {stream['shuffle_buffer_bytes'] / GIB:.2f} GiB): "
        + ", ".join(f"{f['multiple']}× → peak RSS {f['peak_rss_bytes'] / GIB:.2f} GiB"
                    for f in stream["files"])
        + f"; bounded: {verdict(stream['bounded'])}",
    ]
    return "\n".join(lines)
