"""Speed of the SR-GAN of paper 000: generator inference, training step, input pipeline.

:func:`benchmark_srgan` measures, in one run on the default TensorFlow device:

1. the device's achievable FP32 rate, from a large square ``tf.matmul`` (2n³ FLOP);
2. generator inference at several batch sizes (a ``tf.function`` forward pass with
   ``training=False``, with and without XLA), as seconds per batch and per image, images/s,
   achieved FLOP/s (analytic FLOP per image × images/s) and the fraction of the matmul rate;
3. one training iteration of :class:`~caloml.srgan.trainer.SRGANTrainer` (its Keras train
   function, the compiled ``strategy.run(train_step)`` that ``fit`` calls every step; and
   ``fit`` itself) against a minimal hand-written ``tf.function`` step doing the same updates
   on the same networks (5 WGAN-GP critic updates and one generator update, two Adam
   optimizers);
4. the share of the step time spent waiting on the input pipeline: the trainer on the real
   :func:`~caloml.srgan.trainer.training_dataset` against the trainer on one batch repeated
   from memory;
5. the training time of the paper (200,000 events, ~5,000 epochs) projected from the step
   time measured here.

Machines are shared, and interference only ever adds time, so times are the fastest of
several repeats, and what is compared is measured interleaved: the inference variants repeat
by repeat, the matmul before and after everything else, the training variants step by step
in rotating order. Training ratios are medians of the per-round ratios (both sides measured
seconds apart), with the ratios of the fastest steps beside them. The result is a
JSON-serialisable dict with one section per device kind (``"cpu"``, ``"gpu"``); the kind not
measured is None, with a note.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from caloml import benchmarking
from caloml.srgan import config as config_lib
from caloml.srgan import networks
from caloml.srgan import trainer as trainer_lib
from caloml.training import losses

# Goals of the SR-GAN speed issue.
GOALS = {
    # Generator inference at batch ≥ 256 reaches this fraction of the device's matmul rate.
    "inference_fraction_of_matmul": 0.70,
    "inference_min_batch_size": 256,
    # fit / train_step of SRGANTrainer at most this much slower than a hand-written step.
    "trainer_overhead_ratio": 1.10,
    # At most this share of the step time is spent waiting for the input pipeline.
    "input_wait_share": 0.05,
}
# Paper 000 §4: 100,000 photons + 100,000 pi0, "up to around 5,000" epochs, ~10 days on an A40.
PAPER_TRAINING = {"events": 200_000, "epochs": 5_000, "reported_days": 10.0,
                  "reported_device": "NVIDIA A40"}
LR_SHAPE = (config_lib.LR_SIZE, config_lib.LR_SIZE, 1)
HR_SHAPE = (config_lib.HR_SIZE, config_lib.HR_SIZE, 1)


@dataclasses.dataclass(frozen=True)
class BenchmarkSettings:
    """What :func:`benchmark_srgan` runs (defaults: ≲ 5 minutes on two CPU cores).

    Attributes:
        batch_sizes: generator inference batch sizes.
        steps: timed training steps per repeat.
        repeats: timed repeats of every measurement; the fastest counts. Training runs
            ``steps × repeats`` rounds of one step of every variant.
        matmul_size: n of the n × n float32 matmul that gives the device's FP32 rate.
        min_seconds: shortest timed repeat of the matmul and of inference; short calls are
            looped until a repeat lasts this long.
        num_events: events held by the real input pipeline (its shuffle buffer).
        seed: seed of the weights and of the random inputs.
        jit_compile: inference variants timed: plain ``tf.function`` (False) and XLA (True).
        gan: training configuration (batch size, critic steps, loss weights).
    """

    batch_sizes: tuple[int, ...] = (1, 32, 256, 1024)
    steps: int = 5
    repeats: int = 3
    matmul_size: int = 4096
    min_seconds: float = 0.5
    num_events: int = 16_000
    seed: int = 1
    jit_compile: tuple[bool, ...] = (False, True)
    gan: config_lib.SRGANConfig = config_lib.SRGANConfig()

    def __post_init__(self):
        if not self.batch_sizes or min(self.batch_sizes) < 1:
            raise ValueError(f"batch sizes must be at least 1, got {self.batch_sizes}")
        for name in ("steps", "repeats", "matmul_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.num_events < self.gan.critic_steps * self.gan.batch_size:
            raise ValueError(
                f"num_events={self.num_events} is fewer than one training step needs "
                f"({self.gan.critic_steps} × {self.gan.batch_size})"
            )


@dataclasses.dataclass
class Networks:
    """The networks timed, with the analytic FLOP count of the generator.

    Attributes:
        generator: [B, 6, 6, 1] → [B, 24, 24, 1].
        critic: [B, 24, 24, 1] → [B, 1].
        features: frozen [B, 24, 24, 1] → Φ.
        generator_flops_per_image: analytic FLOP of one generator forward pass.
        flops_source: where that number comes from.
    """

    generator: keras.Model
    critic: keras.Model
    features: keras.Model
    generator_flops_per_image: float
    flops_source: str


def paper_networks(seed: int = 1) -> Networks:
    """The networks of paper 000 (:mod:`caloml.srgan.networks`), freshly initialised."""
    keras.utils.set_random_seed(seed)
    generator_config = config_lib.GeneratorConfig()
    generator = networks.SRGenerator(generator_config)
    critic = networks.SRCritic(config_lib.CriticConfig())
    features = networks.perceptual_features(
        networks.PhotonPionClassifier(config_lib.ClassifierConfig.for_input("hr"))
    )
    flops = float(networks.generator_flops(generator_config, lr_size=LR_SHAPE[0]))
    return Networks(generator, critic, features, flops, "caloml.srgan.networks.generator_flops")











def inference_variant(jit_compile: bool) -> str:
    """Name of an inference variant: ``"xla"`` or ``"tf_function"``."""
    return "xla" if jit_compile else "tf_function"


def benchmark_inference(generator: keras.Model, batch_sizes: Sequence[int],
                        flops_per_image: float, jit_compile: Sequence[bool] = (False, True),
                        repeats: int = 3, min_seconds: float = 0.5, seed: int = 1,
                        matmul_size: int | None = None) -> dict[str, Any]:
    """Times ``generator(lr, training=False)`` in a ``tf.function`` per batch size.

    At every batch size the variants (with and without XLA) and, with ``matmul_size``, the
    reference matmul are timed interleaved, so each row's ``fraction_of_matmul`` compares
    rates measured under the same load.

    Args:
        generator: [B, 6, 6, 1] → [B, 24, 24, 1].
        batch_sizes: batch sizes to time.
        flops_per_image: analytic FLOP of one forward pass.
        jit_compile: variants to time.
        repeats: repeats per batch size and variant; the fastest counts.
        min_seconds: shortest repeat (short calls are looped).
        seed: seed of the random LR inputs and of the matmul.
        matmul_size: n of the reference n × n float32 matmul; None leaves it out.

    Returns:
        ``{"rows": per variant (:func:`inference_variant`) one dict per batch size with
        batch_size, jit_compile, seconds_per_batch, seconds_per_batch_all, calls,
        seconds_per_image, images_per_s, flops_per_s and, with the matmul, matmul_flops_per_s
        and fraction_of_matmul; "matmul": the matmul timings as a :func:`matmul_rate`
        result, or None}``.
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
        lr = tf.random.stateless_uniform((batch_size, *LR_SHAPE), seed=(seed, batch_size))
        fns = {name: (lambda f=forward, x=lr: f(x)) for name, forward in forwards.items()}
        if matmul is not None:
            fns["matmul"] = matmul
        timings = benchmarking.time_interleaved(fns, repeats, min_seconds)
        if matmul is not None:
            reference = timings.pop("matmul")
            matmul_runs.append({"size": matmul_size, "flops": matmul_flops, **reference,
                                "flops_per_s": matmul_flops / reference["seconds"]})
        for name, timing in timings.items():
            seconds = timing["seconds"]
            images_per_s = batch_size / seconds
            row = {
                "batch_size": int(batch_size),
                "jit_compile": name == "xla",
                "seconds_per_batch": seconds,
                "seconds_per_batch_all": timing["seconds_all"],
                "calls": timing["calls"],
                "seconds_per_image": seconds / batch_size,
                "images_per_s": images_per_s,
                "flops_per_s": flops_per_image * images_per_s,
            }
            if matmul is not None:
                row["matmul_flops_per_s"] = matmul_runs[-1]["flops_per_s"]
                row["fraction_of_matmul"] = row["flops_per_s"] / row["matmul_flops_per_s"]
            rows[name].append(row)
            logging.info("generator batch %d, %s: %.3g s/batch, %.0f images/s, %.1f GFLOP/s%s",
                         batch_size, name, seconds, images_per_s, row["flops_per_s"] / 1e9,
                         f" ({100 * row['fraction_of_matmul']:.0f}% of matmul)"
                         if matmul is not None else "")
    return {"rows": rows, "matmul": benchmarking.best_matmul(matmul_runs) if matmul_runs else None}


def handwritten_train_step(networks: Networks, config: config_lib.SRGANConfig,
                           jit_compile: bool = False) -> Callable[[dict], tuple]:
    """A minimal ``tf.function`` doing the updates of ``SRGANTrainer.train_step``.

    ``config.critic_steps`` WGAN-GP critic updates (Eq. 2), then one generator update with the
    adversarial and perceptual losses (Eq. 3), with two fresh Adam optimizers; no metrics, no
    strategy, no Keras trainer. The reference for the trainer's overhead.

    Args:
        networks: the networks (their weights are updated).
        config: loss weights, critic steps, batch size and Adam settings.
        jit_compile: compile the step with XLA (set it as the trainer does).

    As in the trainer, the SR images of all critic steps come from one generator call (the
    generator does not change during the critic steps).

    Returns:
        ``step(batch) -> (critic_loss, generator_loss)`` on a batch of
        :func:`~caloml.srgan.trainer.training_dataset`.
    """
    generator, critic, features = networks.generator, networks.critic, networks.features
    generator_optimizer = trainer_lib.make_optimizer(config)
    critic_optimizer = trainer_lib.make_optimizer(config)
    generator_optimizer.build(generator.trainable_variables)
    critic_optimizer.build(critic.trainable_variables)

    def critic_update(hr, sr, alpha):
        with tf.GradientTape() as tape:
            distance = losses.wasserstein_critic_loss(critic(hr, training=True),
                                                      critic(sr, training=True))
            penalty = losses.gradient_penalty(critic, hr, sr, alpha)
            loss = tf.reduce_mean(distance + config.lambda_gp * penalty)
        grads = tape.gradient(loss, critic.trainable_variables)
        critic_optimizer.apply_gradients(zip(grads, critic.trainable_variables, strict=True))
        return loss

    @tf.function(jit_compile=jit_compile)
    def step(batch):
        lr, hr, alpha = batch["lr"], batch["hr"], batch["gp_alpha"]
        shape = tf.shape(lr)
        flat = tf.reshape(lr, tf.concat([[shape[0] * shape[1]], shape[2:]], 0))
        sr_all = tf.reshape(generator(flat, training=False),
                            tf.concat([shape[:2], tf.shape(hr)[2:]], 0))
        for k in range(config.critic_steps):
            critic_loss = critic_update(hr[:, k], sr_all[:, k], alpha[:, k])
        with tf.GradientTape() as tape:
            sr = generator(lr[:, -1], training=True)
            adversarial = losses.generator_adversarial_loss(critic(sr, training=False))
            perceptual = losses.perceptual_loss(features(hr[:, -1], training=False),
                                                features(sr, training=False))
            generator_loss = tf.reduce_mean(config.lambda_adv * adversarial
                                            + config.lambda_per * perceptual)
        grads = tape.gradient(generator_loss, generator.trainable_variables)
        generator_optimizer.apply_gradients(zip(grads, generator.trainable_variables, strict=True))
        return critic_loss, generator_loss

    return step


def random_events(num_events: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random (LR, HR) training arrays of the right shapes: [N, 6, 6, 1], [N, 24, 24, 1]."""
    rng = np.random.default_rng(seed)
    hr = rng.exponential(size=(num_events, *HR_SHAPE)).astype(np.float32)
    lr = hr.reshape(num_events, 6, 4, 6, 4, 1).sum(axis=(2, 4))
    return lr, hr


def benchmark_training(networks: Networks, config: config_lib.SRGANConfig, rounds: int,
                       num_events: int = 16_000, seed: int = 1,
                       fit_steps: int | None = None) -> dict[str, Any]:
    """Times the trainer against a hand-written step, and real against cached input.

    Variants, each called once untimed first (tracing):

    - ``trainer``: the trainer's Keras train function (what ``fit`` calls every step:
      ``strategy.run(train_step)`` in a ``tf.function``) on one batch repeated from memory;
    - ``trainer_real_input``: the same on :func:`~caloml.srgan.trainer.training_dataset`;
    - ``handwritten``: :func:`handwritten_train_step` on the repeated batch.

    Every round times one step of every variant, in an order rotating from round to round.
    Then ``fit`` on the repeated batch runs ``fit_steps`` (default ``rounds``) timed steps,
    each followed by one step of the train function, for the cost of ``fit``'s own loop
    (``trainer_fit``).

    Returns:
        Per variant and for ``trainer_fit``: ``seconds_per_step`` (the fastest step: the
        code's own cost), ``seconds_per_step_median``, ``seconds_per_step_all`` (per round)
        and ``first_step_seconds`` (with the tracing); ``jit_compile`` (the trainer's,
        mirrored by the hand-written steps); ``pipeline_only`` (seconds per batch of the real
        pipeline iterated alone).
    """
    lr, hr = random_events(num_events, seed)
    real = trainer_lib.training_dataset(lr, hr, config, seed=seed)
    cached = tf.data.Dataset.from_tensors(next(iter(real))).repeat()

    trainer = trainer_lib.SRGANTrainer(networks.generator, networks.critic, networks.features,
                                       config)
    trainer.compile(trainer_lib.make_optimizer(config), trainer_lib.make_optimizer(config))
    jit_compile = bool(trainer.jit_compile)
    trainer.make_train_function()
    train_function = trainer.train_function

    def trainer_on(dataset):
        iterator = iter(trainer.distribute_strategy.experimental_distribute_dataset(dataset))
        return lambda: train_function(iterator)

    def step_on(step, dataset):
        iterator = iter(dataset)
        return lambda: step(next(iterator))

    variants = {
        "trainer": trainer_on(cached),
        "handwritten": step_on(handwritten_train_step(networks, config, jit_compile), cached),
    }
    variants["trainer_real_input"] = trainer_on(real)

    result = benchmarking.time_rotating(variants, rounds)

    result["trainer_fit"] = benchmarking.fit_overhead(trainer, cached, variants["trainer"],
                                                      fit_steps or rounds)
    result["jit_compile"] = jit_compile

    iterator = iter(real)
    next(iterator)  # fills the shuffle buffer
    pipeline = benchmarking.time_interleaved({"pipeline": lambda: next(iterator)["hr"]}, 3,
                                             min_seconds=0.2, warmup=0)["pipeline"]
    result["pipeline_only"] = {"seconds_per_batch": pipeline["seconds"],
                               "seconds_per_batch_all": pipeline["seconds_all"],
                               "num_events": num_events}
    return result


def _inference_summary(inference: dict[str, list[dict]], min_batch: int,
                       goal: float) -> dict[str, Any]:
    """Goal check per variant, the fastest variant per batch size and the one to use.

    The goal is judged on ``fraction_of_matmul`` (rates measured interleaved).

    The variant to use is the fastest at the largest batch size measured (at or above
    ``min_batch`` when there is one).
    """
    summary: dict[str, Any] = {"goal_fraction_of_matmul": goal, "min_batch_size": min_batch}
    for name, rows in inference.items():
        large = [r for r in rows if r["batch_size"] >= min_batch]
        worst = min((r["fraction_of_matmul"] for r in large), default=None)
        summary[name] = {
            "min_fraction_at_large_batch": worst,
            "min_fraction_of_best_matmul_at_large_batch": min(
                (r["fraction_of_best_matmul"] for r in large), default=None),
            "passed": None if worst is None else bool(worst >= goal),
        }
    rates: dict[int, dict[str, float]] = {}
    for name, rows in inference.items():
        for r in rows:
            rates.setdefault(r["batch_size"], {})[name] = r["images_per_s"]
    summary["fastest_by_batch_size"] = {
        str(b): max(by_name, key=by_name.get) for b, by_name in sorted(rates.items())
    }
    recommended = summary["fastest_by_batch_size"][str(max(rates))]
    summary["recommended"] = recommended
    summary["passed"] = summary[recommended]["passed"]
    return summary


def benchmark_srgan(settings: BenchmarkSettings = BenchmarkSettings(),
                    networks: Networks | None = None) -> dict[str, Any]:
    """Runs the whole SR-GAN speed benchmark on the default TensorFlow device.

    Args:
        settings: what to run.
        networks: the networks to time; default :func:`paper_networks`.

    Returns:
        A JSON-serialisable dict: ``benchmark``, ``machine`` (:func:`machine_info`),
        ``settings``, ``goals``, ``paper``, ``device`` (the kind measured), ``cpu`` and
        ``gpu`` (the section of the device measured; None for the other, explained by
        ``notes``), ``summary`` (the goals, pass or fail) and ``notes``. A section holds
        ``matmul`` (the best of all its runs: before inference, interleaved with it, after
        training), ``generator_flops``, ``inference`` (per variant, one row per batch size,
        with ``fraction_of_matmul``, against the matmul timed interleaved with it, which the
        goal is judged on, and ``fraction_of_best_matmul``), ``inference_summary``,
        ``training``
        (:func:`benchmark_training`), ``trainer_overhead`` (``ratio``: median per-round ratio
        of the trainer's step to the hand-written step), ``input_pipeline`` (``wait_share``:
        median per-round (real − cached) / real, floored at 0) and ``projection`` (the paper's
        training at the fastest real-input step).
    """
    if networks is None:
        networks = paper_networks(settings.seed)
    gan = settings.gan
    device = benchmarking.device_kind()
    logging.info("SR-GAN benchmark on %s", device)
    machine = benchmarking.machine_info()

    def measure_matmul():
        return benchmarking.matmul_rate(settings.matmul_size, settings.repeats,
                                        settings.min_seconds, settings.seed)

    matmul_runs = [measure_matmul()]
    counted = benchmarking.graph_flops(networks.generator, LR_SHAPE)
    flops = {
        "per_image": networks.generator_flops_per_image,
        "source": networks.flops_source,
        "graph_count": counted,
        "graph_count_relative_difference": counted / networks.generator_flops_per_image - 1.0,
        "parameters": int(networks.generator.count_params()),
    }
    measured = benchmark_inference(
        networks.generator, settings.batch_sizes, networks.generator_flops_per_image,
        settings.jit_compile, repeats=settings.repeats, min_seconds=settings.min_seconds,
        seed=settings.seed, matmul_size=settings.matmul_size,
    )
    inference = measured["rows"]
    matmul_runs.append(measured["matmul"])
    training = benchmark_training(networks, gan, settings.steps * settings.repeats,
                                  settings.num_events, settings.seed,
                                  fit_steps=settings.steps)
    matmul_runs.append(measure_matmul())
    matmul = benchmarking.with_best_matmul_fraction(inference, matmul_runs)
    inference_summary = _inference_summary(inference, GOALS["inference_min_batch_size"],
                                           GOALS["inference_fraction_of_matmul"])

    steps = {name: training[name]["seconds_per_step_all"] for name in training
             if isinstance(training[name], dict) and "seconds_per_step_all" in training[name]}
    fastest = {name: min(values) for name, values in steps.items()}
    overhead = benchmarking.trainer_overhead(training, GOALS["trainer_overhead_ratio"])
    real, cached = np.asarray(steps["trainer_real_input"]), np.asarray(steps["trainer"])
    wait_share = max(0.0, float(np.median((real - cached) / real)))
    t_real = fastest["trainer_real_input"]
    pipeline_seconds = training["pipeline_only"]["seconds_per_batch"]
    input_pipeline = {
        "seconds_per_step_real": t_real,
        "seconds_per_step_cached": fastest["trainer"],
        "wait_share": wait_share,
        "wait_share_fastest": max(0.0, t_real - fastest["trainer"]) / t_real,
        "goal": GOALS["input_wait_share"],
        "passed": bool(wait_share <= GOALS["input_wait_share"]),
        # Producing a batch alone, as a share of the step: the wait if nothing overlapped.
        "pipeline_only_seconds_per_batch": pipeline_seconds,
        "pipeline_only_share_of_step": pipeline_seconds / t_real,
    }
    events_per_step = gan.critic_steps * gan.batch_size
    steps_per_epoch = PAPER_TRAINING["events"] // events_per_step
    seconds = steps_per_epoch * PAPER_TRAINING["epochs"] * t_real
    projection = {
        "events": PAPER_TRAINING["events"],
        "epochs": PAPER_TRAINING["epochs"],
        "events_per_step": events_per_step,
        "steps_per_epoch": steps_per_epoch,
        "seconds_per_step": t_real,
        "seconds": seconds,
        "days": seconds / 86400.0,
        "days_at_median_step": (steps_per_epoch * PAPER_TRAINING["epochs"]
                                * training["trainer_real_input"]["seconds_per_step_median"]
                                / 86400.0),
        "paper_days": PAPER_TRAINING["reported_days"],
        "paper_device": PAPER_TRAINING["reported_device"],
    }
    section = {
        "matmul": matmul,
        "generator_flops": flops,
        "inference": inference,
        "inference_summary": inference_summary,
        "training": training,
        "trainer_overhead": overhead,
        "input_pipeline": input_pipeline,
        "projection": projection,
    }
    other, other_note = benchmarking.unmeasured_device(device)
    notes = {other: other_note}
    machine["load_average_1min_end"] = benchmarking.load_average()
    return {
        "benchmark": "sr_gan",
        "machine": machine,
        "settings": dataclasses.asdict(settings),
        "goals": dict(GOALS),
        "paper": dict(PAPER_TRAINING),
        "device": device,
        device: section,
        other: None,
        "summary": {
            "device": device,
            "inference_fraction_of_matmul": inference_summary["passed"],
            "inference_recommended": inference_summary["recommended"],
            "trainer_overhead_ratio": overhead["passed"],
            "input_wait_share": input_pipeline["passed"],
            "projected_paper_training_days": projection["days"],
        },
        "notes": notes,
    }


def format_summary(result: dict[str, Any]) -> str:
    """A text table of the main figures of :func:`benchmark_srgan`."""
    section = result[result["device"]]
    peak = section["matmul"]["flops_per_s"]
    lines = [
        f"device {result['device']}: matmul {section['matmul']['size']}² "
        f"{peak / 1e9:.1f} GFLOP/s; generator "
        f"{section['generator_flops']['per_image'] / 1e6:.1f} MFLOP/image",
        f"{'variant':<12} {'batch':>6} {'s/batch':>10} {'images/s':>10} {'GFLOP/s':>8} "
        f"{'of matmul':>9} {'of best':>8}",
    ]
    for name, rows in section["inference"].items():
        for r in rows:
            lines.append(
                f"{name:<12} {r['batch_size']:>6d} {r['seconds_per_batch']:>10.4g} "
                f"{r['images_per_s']:>10.1f} {r['flops_per_s'] / 1e9:>8.1f} "
                f"{100 * r['fraction_of_matmul']:>8.0f}% "
                f"{100 * r['fraction_of_best_matmul']:>7.0f}%"
            )

    def verdict(passed):
        return "n/a" if passed is None else ("pass" if passed else "FAIL")

    inference, overhead = section["inference_summary"], section["trainer_overhead"]
    pipeline, projection = section["input_pipeline"], section["projection"]
    training = section["training"]
    lines += [
        f"inference ≥ {100 * inference['goal_fraction_of_matmul']:.0f}% of matmul at batch ≥ "
        f"{inference['min_batch_size']} ({inference['recommended']}): "
        f"{verdict(inference['passed'])}",
        f"training step (fastest): trainer {training['trainer']['seconds_per_step']:.3f} s, "
        f"hand-written {training['handwritten']['seconds_per_step']:.3f} s; median paired "
        f"ratio {overhead['ratio']:.3f} (goal ≤ {overhead['goal']:.2f}): "
        f"{verdict(overhead['passed'])}; fit / train function "
        f"{overhead['fit_to_train_function']:.3f}",
        f"input wait share {100 * pipeline['wait_share']:.1f}% (fastest steps: real "
        f"{pipeline['seconds_per_step_real']:.3f} s, cached "
        f"{pipeline['seconds_per_step_cached']:.3f} s; goal ≤ {100 * pipeline['goal']:.0f}%): "
        f"{verdict(pipeline['passed'])}",
        f"paper training ({projection['steps_per_epoch']} steps × {projection['epochs']} "
        f"epochs): {projection['days']:.1f} days here (paper: {projection['paper_days']:g} days "
        f"on an {projection['paper_device']})",
    ]
    return "\n".join(lines)
