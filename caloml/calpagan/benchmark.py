"""Speed of the CALPAGAN study (paper 002): the two renderings, translation, training.

:func:`benchmark_calpagan` measures, in one run:

1. the event data (:mod:`caloml.events`) of ``wjets`` and ``dijet``: Pythia 8 alone, the fast
   (Delphes-style) and the detailed (shower) rendering of the same events, as events/s on one
   core, and the whole generation (:func:`caloml.events.generation.generate`: Pythia, both
   renderings, truth jets) with 1 and 2 worker processes, against the issue's ≥ 30 events/s on
   2 cores. It runs in a fresh Python process, which never starts TensorFlow's threads before
   forking its workers; the same seed makes the same events for any number of workers;
2. the device's achievable FP32 rate, from a large square ``tf.matmul`` (2n³ FLOP);
3. the exported translation (:class:`~caloml.calpagan.networks.FastToDetailed`: max
   normalisation, noise, the paper-size U-Net, back to GeV) at batch 1, 64 and 512, as ms per
   event, events/s, achieved FLOP/s (the U-Net's convolution FLOP counted from its graph) and the
   fraction of the matmul rate timed interleaved with it (paper Fig. 13: ms/event vs batch);
4. one training iteration of :class:`~caloml.calpagan.trainer.CalpaganTrainer` (its Keras train
   function, and ``fit``) against a minimal hand-written ``tf.function`` step doing the same
   updates on the same paper-size networks (goal: at most 1.10×), on one batch repeated from
   memory.

Times are the fastest of several repeats; what is compared is measured interleaved, and ratios
are medians of per-round ratios. The result is a JSON-serialisable dict with one section per
device kind; the kind not measured is None, with a note.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from caloml import benchmarking
from caloml.calpagan import config as config_lib
from caloml.calpagan import networks as networks_lib
from caloml.calpagan import trainer as trainer_lib
from caloml.errors import InputError
from caloml.events import detailed, fast, generation, towers
from caloml.jets import generation as jet_generation

GOALS = {
    # Both renderings with Pythia on 2 cores (the issue).
    "events_per_s_two_workers": 30.0,
    # The trainer's step at most this much slower than a hand-written step.
    "trainer_overhead_ratio": 1.10,
}
# Inference batch sizes of the issue (paper Fig. 13 goes from 1 to 512).
BATCH_SIZES = (1, 64, 512)


@dataclasses.dataclass(frozen=True)
class BenchmarkSettings:
    """What :func:`benchmark_calpagan` runs (defaults: about 5 minutes on two CPU cores).

    Attributes:
        processes: processes whose events are timed.
        num_events: events per process and worker count (chunks of 128: 512 events give each
            of 2 workers two chunks).
        workers: worker-process counts of the generation.
        batch_sizes: translation batch sizes.
        steps: timed training steps per repeat.
        repeats: timed repeats of every measurement; the fastest counts.
        matmul_size: n of the n × n float32 matmul giving the FP32 rate.
        min_seconds: shortest timed repeat (short calls are looped).
        seed: seed of the events, the weights and the random inputs.
        train_batch_size: batch of the timed training steps (the original code's 64 takes a
            few seconds per step on two CPU cores).
    """

    processes: tuple[str, ...] = generation.PROCESSES
    num_events: int = 512
    workers: tuple[int, ...] = (1, 2)
    batch_sizes: tuple[int, ...] = BATCH_SIZES
    steps: int = 3
    repeats: int = 2
    matmul_size: int = 4096
    min_seconds: float = 0.5
    seed: int = 1
    train_batch_size: int = 16

    def __post_init__(self):
        for name in ("processes", "workers", "batch_sizes"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.processes or any(p not in generation.PROCESSES for p in self.processes):
            raise InputError(f"BenchmarkSettings: processes must be some of "
                             f"{', '.join(generation.PROCESSES)}, got {self.processes}")
        for name in ("workers", "batch_sizes"):
            values = getattr(self, name)
            if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                                 for v in values):
                raise InputError(f"BenchmarkSettings: {name} must be positive integers, got "
                                 f"{values}")
        for name in ("num_events", "steps", "repeats", "matmul_size", "train_batch_size"):
            if getattr(self, name) < 1:
                raise InputError(f"BenchmarkSettings: {name} must be at least 1, got "
                                 f"{getattr(self, name)}")


# ------------------------------------------------------------------------------------------
# Event data
# ------------------------------------------------------------------------------------------


def _rate(num_events: int, seconds: float) -> dict[str, float]:
    return {"seconds": float(seconds), "events_per_s": num_events / seconds,
            "ms_per_event": 1e3 * seconds / num_events}


def time_components(process: str, num_events: int, seed: int) -> dict[str, Any]:
    """Times Pythia, the fast and the detailed rendering of the same events on one core.

    Returns:
        ``process``, ``num_events``, ``particles_per_event`` and per component (``pythia``
        with its initialisation apart, ``fast``, ``detailed``, ``truth``: truth jets and the
        bookkeeping sum) ``{seconds, events_per_s, ms_per_event}``.
    """
    start = time.perf_counter()
    pythia = generation.make_pythia(process, seed + 1, generation.DEFAULT_PT_HAT_MIN_GEV)
    init_seconds = time.perf_counter() - start
    charges = jet_generation._Charges(pythia)
    start = time.perf_counter()
    particles = generation._generate_particles(pythia, num_events)
    charge = charges(particles["pdg_id"])
    pythia_seconds = time.perf_counter() - start
    args = (particles["event"], particles["pdg_id"], charge, particles["momentum_gev"],
            num_events)
    rng = np.random.default_rng(seed)
    timings = {"pythia": {**_rate(num_events, pythia_seconds),
                          "initialisation_seconds": init_seconds}}
    for name, render in (("fast", fast.render), ("detailed", detailed.render)):
        start = time.perf_counter()
        render(*args, rng)
        timings[name] = _rate(num_events, time.perf_counter() - start)
    start = time.perf_counter()
    generation.truth_jets(particles["event"], particles["pdg_id"], particles["momentum_gev"],
                          num_events)
    generation.calo_truth_gev(*args[:4], num_events)
    timings["truth"] = _rate(num_events, time.perf_counter() - start)
    return {"process": process, "num_events": num_events,
            "particles_per_event": len(particles["event"]) / num_events, **timings}


def time_generation(processes: Sequence[str], num_events: int, workers: Sequence[int],
                    seed: int) -> dict[str, Any]:
    """Times the components per process and the whole generation per worker count.

    Call it in a fresh process (:func:`caloml.benchmarking.run_in_fresh_process`): its workers
    are forked, which is safe only before TensorFlow has started its threads.

    Returns:
        ``components`` (one :func:`time_components` per process) and ``rows`` (process,
        workers, num_events, seconds, events_per_s, ms_per_event, same_as_one_worker: whether
        the images equal the one-worker run's, as the seeding promises).
    """
    components = [time_components(p, num_events, seed) for p in processes]
    rows = []
    for process in processes:
        reference = None
        for count in workers:
            start = time.perf_counter()
            events = generation.generate(process, num_events, seed=seed, workers=count)
            seconds = time.perf_counter() - start
            digest = (events["fast"].sum(dtype=np.float64),
                      events["detailed"].sum(dtype=np.float64))
            reference = digest if reference is None else reference
            rows.append({"process": process, "workers": int(count),
                         "num_events": int(num_events), **_rate(num_events, seconds),
                         "same_as_first": bool(digest == reference)})
            logging.info("%s events, %d worker(s): %.1f events/s", process, count,
                         rows[-1]["events_per_s"])
    return {"components": components, "rows": rows}


def benchmark_generation(settings: BenchmarkSettings) -> dict[str, Any]:
    """:func:`time_generation` in a fresh process, with the 2-worker goal's verdict."""
    result = benchmarking.run_in_fresh_process(
        "caloml.calpagan.benchmark", "time_generation",
        {"processes": list(settings.processes), "num_events": settings.num_events,
         "workers": list(settings.workers), "seed": settings.seed})
    two = [r["events_per_s"] for r in result["rows"] if r["workers"] == 2]
    goal = GOALS["events_per_s_two_workers"]
    result["slowest_two_workers_events_per_s"] = min(two) if two else None
    result["goal"] = goal
    result["passed"] = None if not two else bool(min(two) >= goal)
    return result


# ------------------------------------------------------------------------------------------
# Translation
# ------------------------------------------------------------------------------------------


def random_events(num: int, seed: int, towers_per_event: int = 300) -> np.ndarray:
    """Random sparse fast images ``[num, 72, 72]`` float32 (timings do not depend on content):
    ``towers_per_event`` towers of exponential energy (mean 5 GeV) per event."""
    rng = np.random.default_rng(seed)
    size = towers.NUM_ETA * towers.NUM_PHI
    images = np.zeros((num, size), np.float32)
    rows = np.repeat(np.arange(num), towers_per_event)
    images[rows, rng.integers(0, size, num * towers_per_event)] = rng.exponential(
        5.0, num * towers_per_event)
    return images.reshape(num, *towers.IMAGE_SHAPE)


def benchmark_inference(model: keras.Model, batch_sizes: Sequence[int], flops_per_event: float,
                        repeats: int, min_seconds: float, seed: int,
                        matmul_size: int | None) -> list[dict[str, Any]]:
    """Times ``model(fast)`` in a ``tf.function`` per batch size, interleaved with the matmul.

    Returns:
        One dict per batch size: batch_size, seconds_per_batch, ms_per_event, events_per_s,
        flops_per_s, peak_rss_bytes and, with the matmul, matmul, matmul_flops_per_s,
        fraction_of_matmul.
    """
    forward = tf.function(lambda x: model(x, training=False))
    matmul, matmul_flops = benchmarking.matmul(matmul_size, seed) if matmul_size else (None, None)
    rows = []
    for batch_size in batch_sizes:
        images = tf.constant(random_events(batch_size, seed + batch_size))
        fns: dict[str, Callable[[], Any]] = {"translation": lambda x=images: forward(x)}
        if matmul is not None:
            fns["matmul"] = matmul
        timings = benchmarking.time_interleaved(fns, repeats, min_seconds)
        seconds = timings["translation"]["seconds"]
        row = {"batch_size": int(batch_size), "seconds_per_batch": seconds,
               "seconds_per_batch_all": timings["translation"]["seconds_all"],
               "ms_per_event": 1e3 * seconds / batch_size,
               "events_per_s": batch_size / seconds,
               "flops_per_s": flops_per_event * batch_size / seconds,
               "peak_rss_bytes": benchmarking.peak_rss_bytes()["ru_maxrss_bytes"]}
        if matmul is not None:
            reference = timings["matmul"]
            row["matmul"] = {"size": matmul_size, "flops": matmul_flops, **reference,
                             "flops_per_s": matmul_flops / reference["seconds"]}
            row["matmul_flops_per_s"] = row["matmul"]["flops_per_s"]
            row["fraction_of_matmul"] = row["flops_per_s"] / row["matmul_flops_per_s"]
        rows.append(row)
        logging.info("translation batch %d: %.4g ms/event, %.1f GFLOP/s", batch_size,
                     row["ms_per_event"], row["flops_per_s"] / 1e9)
    return rows


# ------------------------------------------------------------------------------------------
# Training
# ------------------------------------------------------------------------------------------


def handwritten_train_step(generator: keras.Model, discriminator: keras.Model,
                           training: config_lib.TrainingConfig,
                           jit_compile: bool = False) -> Callable[[dict], tuple]:
    """A minimal ``tf.function`` doing the updates of ``CalpaganTrainer.train_step``.

    The generator's forward pass on [condition, noise]; the discriminator's BCE on real and
    (stopped) generated images and its Adam update; the generator's BCE + λ·L1 against the
    updated discriminator and its Adam update; batch means, no metrics, no strategy, no Keras
    trainer: the reference for the trainer's overhead.

    Returns:
        ``step(batch) -> (discriminator_loss, generator_loss)`` on ``{"condition", "target",
        "noise"}`` batches ``[B, 72, 72, 1]``.
    """
    generator_optimizer, discriminator_optimizer = trainer_lib.make_optimizers(training)
    generator_optimizer.build(generator.trainable_variables)
    discriminator_optimizer.build(discriminator.trainable_variables)
    conditional = discriminator.config.conditional
    relu_fakes = discriminator.config.relu_fakes

    def critic(condition, image, generated):
        if generated and relu_fakes:
            image = tf.nn.relu(image)
        x = tf.concat([condition, image], axis=-1) if conditional else image
        return discriminator(x, training=True)

    @tf.function(jit_compile=jit_compile)
    def step(batch):
        condition, target = batch["condition"], batch["target"]
        with tf.GradientTape() as generator_tape:
            generated = generator(tf.concat([condition, batch["noise"]], axis=-1),
                                  training=True)
            with generator_tape.stop_recording():
                with tf.GradientTape() as discriminator_tape:
                    fake = tf.stop_gradient(generated)
                    discriminator_loss = tf.reduce_mean(0.5 * (
                        trainer_lib.patch_bce(critic(condition, target, False), 1.0)
                        + trainer_lib.patch_bce(critic(condition, fake, True), 0.0)))
                variables = discriminator.trainable_variables
                discriminator_optimizer.apply_gradients(zip(
                    discriminator_tape.gradient(discriminator_loss, variables), variables,
                    strict=True))
            generator_loss = tf.reduce_mean(
                trainer_lib.patch_bce(critic(condition, generated, True), 1.0)
                + training.lambda_l1 * trainer_lib.l1_per_example(target, generated))
        variables = generator.trainable_variables
        generator_optimizer.apply_gradients(zip(
            generator_tape.gradient(generator_loss, variables), variables, strict=True))
        return discriminator_loss, generator_loss

    return step


def benchmark_training(settings: BenchmarkSettings) -> dict[str, Any]:
    """Times the trainer against :func:`handwritten_train_step` on one batch from memory.

    Returns:
        :func:`caloml.benchmarking.time_trainer_against_handwritten`'s result with
        ``batch_size`` and the two networks' parameter counts.
    """
    training = config_lib.TrainingConfig(batch_size=settings.train_batch_size)
    keras.utils.set_random_seed(settings.seed)
    generator = networks_lib.UNetGenerator(config_lib.GeneratorConfig())
    discriminator = networks_lib.PatchDiscriminator(config_lib.DiscriminatorConfig())
    fast_images = random_events(training.batch_size, settings.seed)
    condition, target, _ = networks_lib.normalise_pair(fast_images, 0.8 * fast_images,
                                                       training.normalisation)
    rng = np.random.default_rng(settings.seed)
    batch = {"condition": tf.constant(condition[..., None]),
             "target": tf.constant(target[..., None]),
             "noise": tf.constant(rng.random(condition[..., None].shape, np.float32))}
    cached = tf.data.Dataset.from_tensors(batch).repeat()
    trainer = trainer_lib.CalpaganTrainer(generator, discriminator, training, seed=settings.seed)
    trainer.compile(*trainer_lib.make_optimizers(training))
    result = benchmarking.time_trainer_against_handwritten(
        trainer, cached,
        lambda jit: handwritten_train_step(generator, discriminator, training, jit),
        settings.steps * settings.repeats, settings.steps)
    result["batch_size"] = training.batch_size
    result["generator_parameters"] = int(generator.count_params())
    result["discriminator_parameters"] = int(discriminator.count_params())
    return result


# ------------------------------------------------------------------------------------------
# The whole benchmark
# ------------------------------------------------------------------------------------------


def benchmark_calpagan(settings: BenchmarkSettings = BenchmarkSettings()) -> dict[str, Any]:
    """Runs the whole CALPAGAN benchmark (networks on the default device).

    Returns:
        A JSON-serialisable dict: ``benchmark``, ``machine``, ``settings``, ``goals``,
        ``generation`` (:func:`benchmark_generation`), ``device``, ``cpu`` and ``gpu`` (the
        measured section; None for the other, explained by ``notes``), ``summary`` and
        ``notes``. The section holds ``matmul`` (best of its runs), ``flops``, ``inference``
        (one row per batch size, with ``fraction_of_best_matmul``), ``training`` and
        ``trainer_overhead``.
    """
    device = benchmarking.device_kind()
    logging.info("CALPAGAN benchmark on %s", device)
    machine = benchmarking.machine_info()
    generated = benchmark_generation(settings)

    def measure_matmul():
        return benchmarking.matmul_rate(settings.matmul_size, settings.repeats,
                                        settings.min_seconds, settings.seed)

    matmul_runs = [measure_matmul()]
    keras.utils.set_random_seed(settings.seed)
    generator = networks_lib.UNetGenerator(config_lib.GeneratorConfig())
    model = networks_lib.FastToDetailed(generator, output_scale=1.0, seed=settings.seed)
    flops_per_event = float(benchmarking.graph_flops(generator, (*towers.IMAGE_SHAPE, 2)))
    flops = {"per_event": flops_per_event,
             "source": "caloml.benchmarking.graph_flops (the U-Net's Conv2D ops)",
             "parameters": int(sum(np.prod(w.shape) for w in generator.trainable_weights))}
    inference = benchmark_inference(model, settings.batch_sizes, flops_per_event,
                                    settings.repeats, settings.min_seconds, settings.seed,
                                    settings.matmul_size)
    matmul_runs.extend(row["matmul"] for row in inference)
    training = benchmark_training(settings)
    matmul_runs.append(measure_matmul())
    matmul = benchmarking.with_best_matmul_fraction({"translation": inference}, matmul_runs)
    overhead = {**benchmarking.trainer_overhead(training, GOALS["trainer_overhead_ratio"]),
                "batch_size": training["batch_size"]}
    section = {"matmul": matmul, "flops": flops, "inference": inference, "training": training,
               "trainer_overhead": overhead}
    other, other_note = benchmarking.unmeasured_device(device)
    machine["load_average_1min_end"] = benchmarking.load_average()
    return {
        "benchmark": "calpagan",
        "machine": machine,
        "settings": dataclasses.asdict(settings),
        "goals": dict(GOALS),
        "generation": generated,
        "device": device,
        device: section,
        other: None,
        "summary": {
            "device": device,
            "events_per_s": {f"{r['process']}_{r['workers']}_workers": r["events_per_s"]
                             for r in generated["rows"]},
            "events_per_s_two_workers_passed": generated["passed"],
            "ms_per_event": {str(r["batch_size"]): r["ms_per_event"] for r in inference},
            "best_fraction_of_matmul": max(r["fraction_of_matmul"] for r in inference),
            "trainer_overhead": overhead["ratio"],
            "trainer_overhead_passed": overhead["passed"],
        },
        "notes": {
            other: other_note,
            "generation": "components: one core, the same Pythia events rendered by each "
                          "rendering (pythia excludes its initialisation); rows: the whole "
                          "generation (Pythia initialisation per 128-event chunk, both "
                          "renderings, truth jets) in a fresh process",
            "inference": "FastToDetailed: per-event max normalisation, noise channel, the "
                         "paper-size U-Net, back to GeV; FLOP are the U-Net's convolutions; "
                         "fraction_of_matmul compares with the tf.matmul timed interleaved",
            "training": f"paper-size networks at batch {training['batch_size']} (the original "
                        "code's 64 only scales the time), on random sparse events",
        },
    }


def _value(value: float | None, fmt: str = ".4g") -> str:
    return "—" if value is None or not math.isfinite(value) else format(value, fmt)


def format_summary(result: dict[str, Any]) -> str:
    """A text table of the main figures of :func:`benchmark_calpagan`."""
    generated = result["generation"]
    section = result[result["device"]]

    def verdict(passed):
        return "n/a" if passed is None else ("pass" if passed else "FAIL")

    lines = [f"{'process':<7} {'particles':>9} {'pythia':>8} {'fast':>8} {'detailed':>9} "
             "(ms/event, one core)"]
    for c in generated["components"]:
        lines.append(f"{c['process']:<7} {c['particles_per_event']:>9.0f} "
                     f"{c['pythia']['ms_per_event']:>8.2f} {c['fast']['ms_per_event']:>8.2f} "
                     f"{c['detailed']['ms_per_event']:>9.2f}")
    for r in generated["rows"]:
        lines.append(f"{r['process']:<7} {r['workers']} worker(s): {r['events_per_s']:.1f} "
                     f"events/s{'' if r['same_as_first'] else ' (events differ!)'}")
    lines.append(f"slowest with 2 workers: {_value(generated['slowest_two_workers_events_per_s'])}"
                 f" events/s (goal ≥ {generated['goal']:g}): {verdict(generated['passed'])}")
    flops = section["flops"]
    lines.append(f"device {result['device']}: matmul {section['matmul']['size']}² "
                 f"{section['matmul']['flops_per_s'] / 1e9:.1f} GFLOP/s; U-Net "
                 f"{flops['per_event'] / 1e9:.2f} GFLOP/event, {flops['parameters']:,} "
                 "parameters")
    for r in section["inference"]:
        lines.append(f"batch {r['batch_size']:>4d}: {_value(r['ms_per_event'])} ms/event, "
                     f"{r['flops_per_s'] / 1e9:.1f} GFLOP/s "
                     f"({100 * r['fraction_of_best_matmul']:.0f}% of the best matmul)")
    overhead, training = section["trainer_overhead"], section["training"]
    lines.append(f"training step at batch {overhead['batch_size']} (fastest): trainer "
                 f"{training['trainer']['seconds_per_step']:.3f} s, hand-written "
                 f"{training['handwritten']['seconds_per_step']:.3f} s; median paired ratio "
                 f"{overhead['ratio']:.3f} (goal ≤ {overhead['goal']:.2f}): "
                 f"{verdict(overhead['passed'])}")
    return "\n".join(lines)
