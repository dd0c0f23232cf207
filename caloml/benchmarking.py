"""What every benchmark needs: machine info, FLOP counting, interleaved timing, the matmul rate.

Machines are shared and interference only ever adds time, so benchmarks keep the fastest of
several repeats and time whatever they compare interleaved (repeat by repeat), reporting
ratios measured in one run. The system packages' ``benchmark`` modules build on these.

TensorFlow is imported inside the functions that time or trace TensorFlow code: the simulator
benchmark imports this module too, and its worker processes are forked, which is safe only
before TensorFlow has started its threads.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from absl import logging
from threadpoolctl import threadpool_info

import caloml


def cpu_model() -> str | None:
    """The CPU's model name from ``/proc/cpuinfo``, or None where there is none."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def machine_info() -> dict[str, Any]:
    """What rates depend on: CPUs, load, Python/numpy, BLAS threads and, if loaded, TensorFlow.

    The TensorFlow part (versions, thread settings, GPUs, TF32) is filled in only when
    TensorFlow is already imported, so a numpy-only benchmark never loads it. Thread counts of
    0 mean TensorFlow's default (one per core).
    """
    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "caloml": caloml.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "blas_threads": {p["internal_api"]: p["num_threads"] for p in threadpool_info()},
    }
    if hasattr(os, "sched_getaffinity"):
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    if hasattr(os, "getloadavg"):
        info["load_average_1min"] = round(os.getloadavg()[0], 2)
    if "tensorflow" in sys.modules:
        import keras
        import tensorflow as tf

        info.update({
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
            "gpus": [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
                     for gpu in tf.config.list_physical_devices("GPU")],
            "tensor_float_32": bool(tf.config.experimental.tensor_float_32_execution_enabled()),
        })
    return info


def sync(value: Any) -> None:
    """Waits for a TensorFlow result (and everything queued before it on its device)."""
    import tensorflow as tf

    leaf = tf.nest.flatten(value)[0]
    np.asarray(tf.reshape(leaf, [-1])[:1])


def _calls_per_repeat(fn: Callable[[], Any], min_seconds: float) -> int:
    start = time.perf_counter()
    sync(fn())
    seconds = time.perf_counter() - start
    return max(1, math.ceil(min_seconds / max(seconds, 1e-9)))


def time_interleaved(fns: dict[str, Callable[[], Any]], repeats: int, min_seconds: float,
                     warmup: int = 1) -> dict[str, dict[str, Any]]:
    """Best seconds per call of every TensorFlow function, their repeats interleaved.

    After ``warmup`` calls each, every repeat times every function in turn; one repeat loops
    a function enough times to last ``min_seconds`` (calibrated on one call).

    Returns:
        Per name ``{"seconds": best per call, "seconds_all": per call in each repeat,
        "calls": per repeat}``.
    """
    for fn in fns.values():
        for _ in range(warmup):
            sync(fn())
    calls = {name: _calls_per_repeat(fn, min_seconds) for name, fn in fns.items()}
    per_call: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(calls[name]):
                out = fn()
            sync(out)
            per_call[name].append((time.perf_counter() - start) / calls[name])
    return {name: {"seconds": min(per_call[name]), "seconds_all": per_call[name],
                   "calls": calls[name]} for name in fns}


def matmul(size: int, seed: int) -> tuple[Callable[[], Any], float]:
    """A compiled ``size`` × ``size`` float32 matmul and its FLOP (2 n³)."""
    import tensorflow as tf

    a = tf.random.stateless_uniform((size, size), seed=(seed, 0), dtype=tf.float32)
    b = tf.random.stateless_uniform((size, size), seed=(seed, 1), dtype=tf.float32)
    return tf.function(lambda: tf.matmul(a, b)), 2.0 * size**3


def matmul_rate(size: int, repeats: int = 3, min_seconds: float = 0.5,
                seed: int = 1) -> dict[str, Any]:
    """The device's achievable FP32 rate: FLOP/s of a ``size`` × ``size`` float32 matmul.

    Returns:
        ``{"size", "flops", "seconds", "seconds_all", "calls", "flops_per_s"}``.
    """
    fn, flops = matmul(size, seed)
    timing = time_interleaved({"matmul": fn}, repeats, min_seconds)["matmul"]
    result = {"size": size, "flops": flops, **timing, "flops_per_s": flops / timing["seconds"]}
    logging.info("matmul %d²: %.1f GFLOP/s", size, result["flops_per_s"] / 1e9)
    return result


def best_matmul(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Merges several :func:`matmul_rate` results: the fastest repeat of all counts."""
    best = dict(max(runs, key=lambda r: r["flops_per_s"]))
    best["seconds"] = min(r["seconds"] for r in runs)
    best["seconds_all"] = [t for r in runs for t in r["seconds_all"]]
    best["flops_per_s_runs"] = [r["flops_per_s"] for r in runs]
    return best


def conv_flops(output_shape: Sequence[int], kernel_shape: Sequence[int]) -> int:
    """FLOP of a convolution: 2 per multiply-add, kernel volume × input channels per output.

    Args:
        output_shape: its output's shape (any batch and spatial dimensions, channels last).
        kernel_shape: ``[k..., c_in, c_out]``.
    """
    return 2 * int(np.prod(output_shape)) * int(np.prod(kernel_shape[:-1]))


def graph_flops(model: Any, input_shape: Sequence[int] | dict[str, Sequence[int]]) -> float:
    """FLOP of one forward pass of a Keras ``model`` on one example, counted from its TF graph.

    Counts 2 FLOP per multiply-add of every ``Conv2D``, ``Conv3D``, ``MatMul`` and
    ``BatchMatMul*`` op of the traced inference graph (activations, pooling, additions and
    normalisations, a few per cent of a convolutional network, are left out). An independent
    check of an analytic count.

    Args:
        model: the network.
        input_shape: one example's shape, e.g. ``(6, 6, 1)``, or one per input name for a
            network with a dict of inputs, e.g. ``{"ecal": (25, 25, 25, 1), "scalars": (4,)}``.
    """
    import tensorflow as tf

    if isinstance(input_shape, dict):
        spec = {name: tf.TensorSpec((1, *shape), tf.float32)
                for name, shape in input_shape.items()}
    else:
        spec = tf.TensorSpec((1, *input_shape), tf.float32)
    graph = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec).graph
    total = 0
    for op in graph.get_operations():
        if op.type in ("Conv2D", "Conv3D"):
            total += conv_flops(op.outputs[0].shape, op.inputs[1].shape)
        elif op.type in ("MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3"):
            a = op.inputs[0].shape
            transposed = op.get_attr("transpose_a" if op.type == "MatMul" else "adj_x")
            inner = a[-2] if transposed else a[-1]
            total += 2 * int(np.prod(op.outputs[0].shape)) * inner
    return float(total)


def step_summary(seconds: Sequence[float], first_seconds: float) -> dict[str, Any]:
    """Per-step times of one variant: fastest (the code's own cost), median, all, first."""
    return {
        "seconds_per_step": min(seconds),
        "seconds_per_step_median": float(np.median(seconds)),
        "seconds_per_step_all": list(seconds),
        "first_step_seconds": first_seconds,
    }


def paired_ratio(numerator: Sequence[float], denominator: Sequence[float]) -> float:
    """Median over rounds of numerator / denominator (each pair measured seconds apart)."""
    return float(np.median(np.asarray(numerator) / np.asarray(denominator)))


def time_rotating(variants: dict[str, Callable[[], Any]], rounds: int,
                  what: str = "training") -> dict[str, dict[str, Any]]:
    """Times steps of several variants: one untimed first call each, then rotating rounds.

    Each variant is called once first (its tracing, reported as ``first_step_seconds``); then
    every round times one call of each variant, in an order rotated by one from round to round,
    so that no variant always runs right after the same other one.

    Returns:
        ``{name: step_summary}`` (:func:`step_summary`) per variant.
    """
    first: dict[str, float] = {}
    for name, fn in variants.items():
        start = time.perf_counter()
        sync(fn())
        first[name] = time.perf_counter() - start
        logging.info("%s %s: first step %.1f s", what, name, first[name])
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            start = time.perf_counter()
            sync(variants[name]())
            seconds[name].append(time.perf_counter() - start)
        logging.info("%s round %d/%d: %s", what, r + 1, rounds,
                     ", ".join(f"{name} {seconds[name][-1]:.3f} s" for name in names))
    return {name: step_summary(seconds[name], first[name]) for name in variants}


def fit_overhead(model: Any, dataset: Any, train_function: Callable[[], Any],
                 steps: int) -> dict[str, Any]:
    """The cost of Keras ``fit``'s own loop: each ``fit`` step paired with one plain step.

    Runs ``model.fit`` for ``steps + 1`` steps on ``dataset`` (the first, with its tracing, is
    left out), timing every step and, right after it, one call of ``train_function`` (the
    model's compiled train function on its own).

    Returns:
        :func:`step_summary` of the ``fit`` steps with ``ratio_to_train_function``, the median
        of the paired ratios.
    """
    import keras

    class PairedClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.fit_seconds: list[float] = []
            self.other_seconds: list[float] = []

        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.fit_seconds.append(time.perf_counter() - self.start)
            start = time.perf_counter()
            sync(train_function())
            self.other_seconds.append(time.perf_counter() - start)

    clock = PairedClock()
    model.fit(dataset, epochs=1, steps_per_epoch=steps + 1, verbose=0, shuffle=False,
              callbacks=[clock])
    result = step_summary(clock.fit_seconds[1:], clock.fit_seconds[0])
    result["ratio_to_train_function"] = paired_ratio(clock.fit_seconds[1:],
                                                     clock.other_seconds[1:])
    return result


def with_best_matmul_fraction(inference: dict[str, list[dict[str, Any]]],
                              matmul_runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The best of ``matmul_runs``; adds ``fraction_of_best_matmul`` to every inference row.

    Args:
        inference: rows with ``flops_per_s``, per variant.
        matmul_runs: :func:`matmul_rate` results measured during the benchmark.

    Returns:
        The best matmul run (:func:`best_matmul`).
    """
    matmul = best_matmul(matmul_runs)
    for rows in inference.values():
        for row in rows:
            row["fraction_of_best_matmul"] = row["flops_per_s"] / matmul["flops_per_s"]
    return matmul


def time_trainer_against_handwritten(trainer: Any, cached: Any,
                                     make_step: Callable[[bool], Callable[[Any], Any]],
                                     rounds: int, fit_steps: int | None = None
                                     ) -> dict[str, Any]:
    """Times a compiled Keras trainer's train function against a hand-written step, then ``fit``.

    Variants (each called once untimed first, for the tracing): ``trainer``, the trainer's Keras
    train function (what ``fit`` calls every step: ``strategy.run(train_step)`` in a
    ``tf.function``), and ``handwritten``, ``make_step(jit_compile)`` with the trainer's
    ``jit_compile``, one step each per round in alternating order (:func:`time_rotating`); then
    ``fit`` for ``fit_steps`` (default ``rounds``) steps, each paired with one step of the train
    function (:func:`fit_overhead`).

    Args:
        trainer: a compiled ``keras.Model`` trainer.
        cached: a ``tf.data.Dataset`` repeating one batch.
        make_step: ``jit_compile -> step(batch)``, the hand-written step on the same networks.
        rounds: timed rounds.
        fit_steps: timed ``fit`` steps.

    Returns:
        :func:`time_rotating`'s result with ``trainer_fit`` and ``jit_compile`` added.
    """
    jit_compile = bool(trainer.jit_compile)
    trainer.make_train_function()
    train_function = trainer.train_function
    iterator = iter(trainer.distribute_strategy.experimental_distribute_dataset(cached))
    batches = iter(cached)
    step = make_step(jit_compile)
    variants = {"trainer": lambda: train_function(iterator),
                "handwritten": lambda: step(next(batches))}
    result: dict[str, Any] = time_rotating(variants, rounds)
    result["trainer_fit"] = fit_overhead(trainer, cached, variants["trainer"],
                                         fit_steps or rounds)
    result["jit_compile"] = jit_compile
    return result


def trainer_overhead(training: dict[str, Any], goal: float) -> dict[str, Any]:
    """The trainer's step against the hand-written one, from :func:`time_rotating` results.

    Args:
        training: with ``trainer`` and ``handwritten`` step summaries and ``trainer_fit``
            (:func:`fit_overhead`).
        goal: the largest acceptable median paired ratio.

    Returns:
        ``ratio`` (median per-round ratio), ``ratio_fastest``, ``goal``, ``passed`` and
        ``fit_to_train_function``.
    """
    trainer, handwritten = training["trainer"], training["handwritten"]
    ratio = paired_ratio(trainer["seconds_per_step_all"], handwritten["seconds_per_step_all"])
    return {
        "ratio": ratio,
        "ratio_fastest": trainer["seconds_per_step"] / handwritten["seconds_per_step"],
        "goal": goal,
        "passed": bool(ratio <= goal),
        "fit_to_train_function": training["trainer_fit"]["ratio_to_train_function"],
    }


def device_kind() -> str:
    """``"gpu"`` when TensorFlow sees a GPU (the default device then), else ``"cpu"``."""
    import tensorflow as tf

    return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"


def unmeasured_device(device: str) -> tuple[str, str]:
    """The device kind a benchmark on ``device`` did not measure, and the note that says why."""
    if device == "gpu":
        return "cpu", "not measured: the benchmark runs on the default device (the GPU)"
    return "gpu", "no GPU visible to TensorFlow on this machine; GPU figures not measured"


def load_average() -> float | None:
    """The 1-minute load average (None where the OS has none): how busy the machine was."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def peak_rss_bytes() -> dict[str, int | None]:
    """This process' peak resident memory: ``ru_maxrss`` and, on Linux, ``VmHWM``.

    Returns:
        ``{"ru_maxrss_bytes", "vm_hwm_bytes"}`` (the latter None without ``/proc``).
    """
    # ru_maxrss is in kilobytes on Linux.
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    hwm = None
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {"ru_maxrss_bytes": maxrss, "vm_hwm_bytes": hwm}


_CHILD = ("import importlib, json, sys\n"
          "module, function, kwargs = json.loads(sys.argv[1])\n"
          "fn = getattr(importlib.import_module(module), function)\n"
          "print(json.dumps(fn(**kwargs)))\n")
# Linux carries a process' peak RSS across fork and exec: a child started from the benchmark
# process would report the benchmark's own peak (GiB of networks and data) as its ru_maxrss.
# A small launcher process in between starts the measured child from a few MiB instead.
_LAUNCHER = ("import subprocess, sys\n"
             "proc = subprocess.run([sys.executable, '-c', sys.argv[1], sys.argv[2]])\n"
             "sys.exit(proc.returncode)\n")


def run_in_fresh_process(module: str, function: str, kwargs: dict[str, Any],
                         timeout_s: float = 900.0) -> Any:
    """``module.function(**kwargs)`` in a fresh Python process; its JSON-able result.

    For peak-memory measurements (:func:`peak_rss_bytes` inside ``function``): the process is
    started through a small launcher process, so that its ``ru_maxrss`` does not inherit the
    caller's peak.

    Raises:
        RuntimeError: with the end of the child's stderr when it fails.
    """
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    proc = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, _CHILD, json.dumps([module, function, kwargs])],
        capture_output=True, text=True, timeout=timeout_s, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{module}.{function} failed in its process ({proc.returncode}):\n"
                           f"{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
