"""SR-GAN speed benchmark: a tiny run end to end, FLOP counts, the entry script's errors."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import srgan_tiny
import tensorflow as tf

from caloml import benchmarking, outputs
from caloml.srgan import benchmark as benchmarks_srgan
from caloml.srgan import config, networks, trainer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY_GAN = config.SRGANConfig(batch_size=8, critic_steps=2)


def tiny_networks(seed=0):
    """The tiny generator, critic and features of the tests, with their FLOP count."""
    generator, critic, features = srgan_tiny.tiny_networks(seed)
    flops = benchmarking.graph_flops(generator, (6, 6, 1))
    return benchmarks_srgan.Networks(generator, critic, features, flops, "graph_flops")


def test_graph_count_matches_the_analytic_count_of_the_paper_generator():
    generator = networks.SRGenerator(config.GeneratorConfig())
    analytic = networks.generator_flops(config.GeneratorConfig(), lr_size=6)
    assert benchmarking.graph_flops(generator, (6, 6, 1)) == analytic


@pytest.mark.slow
def test_tiny_benchmark_writes_consistent_json(tmp_path):
    settings = benchmarks_srgan.BenchmarkSettings(
        batch_sizes=(1, 4), steps=2, repeats=2, matmul_size=64, min_seconds=0.01,
        num_events=64, gan=TINY_GAN,
    )
    result = benchmarks_srgan.benchmark_srgan(settings, networks=tiny_networks())
    path = tmp_path / "benchmark_sr_gan.json"
    outputs.write_json(path, result)
    result = json.loads(path.read_text())

    device = result["device"]
    assert device == ("gpu" if tf.config.list_physical_devices("GPU") else "cpu")
    other = "cpu" if device == "gpu" else "gpu"
    assert result[other] is None and result["notes"][other]
    machine = result["machine"]
    for key in ("cpu_count", "cpu_model", "tensorflow", "intra_op_threads", "inter_op_threads",
                "gpus"):
        assert key in machine
    assert result["settings"]["batch_sizes"] == [1, 4]

    section = result[device]
    peak = section["matmul"]["flops_per_s"]
    assert peak > 0
    assert section["matmul"]["flops"] == 2 * 64**3
    assert math.isclose(peak, section["matmul"]["flops"] / section["matmul"]["seconds"])
    assert section["matmul"]["seconds"] == min(section["matmul"]["seconds_all"])
    assert peak == max(section["matmul"]["flops_per_s_runs"])
    flops = section["generator_flops"]["per_image"]
    assert flops > 0 and section["generator_flops"]["graph_count_relative_difference"] == 0
    assert set(section["inference"]) == {"tf_function", "xla"}
    for name, rows in section["inference"].items():
        assert [r["batch_size"] for r in rows] == [1, 4]
        for r in rows:
            assert r["jit_compile"] == (name == "xla")
            assert r["seconds_per_batch"] > 0
            assert math.isclose(r["images_per_s"] * r["seconds_per_batch"], r["batch_size"])
            assert math.isclose(r["seconds_per_image"] * r["batch_size"], r["seconds_per_batch"])
            assert math.isclose(r["flops_per_s"], flops * r["images_per_s"])
            assert math.isclose(r["fraction_of_matmul"],
                                r["flops_per_s"] / r["matmul_flops_per_s"])
            assert r["matmul_flops_per_s"] <= peak
            assert math.isclose(r["fraction_of_best_matmul"], r["flops_per_s"] / peak)
    inference = section["inference_summary"]
    # No batch ≥ 256 was measured: the goal is recorded, but neither passed nor failed.
    assert inference["goal_fraction_of_matmul"] == 0.70 and inference["passed"] is None
    assert inference["recommended"] == inference["fastest_by_batch_size"]["4"]

    training = section["training"]
    rounds = settings.steps * settings.repeats
    names = ("trainer", "handwritten", "trainer_real_input")
    assert len(training["trainer_fit"]["seconds_per_step_all"]) == settings.steps
    for name in (*names, "trainer_fit"):
        steps = training[name]["seconds_per_step_all"]
        assert len(steps) == (settings.steps if name == "trainer_fit" else rounds)
        assert min(steps) > 0
        assert training[name]["seconds_per_step"] == min(steps)
        assert training[name]["first_step_seconds"] > 0
    t = {name: np.asarray(training[name]["seconds_per_step_all"]) for name in names}
    overhead = section["trainer_overhead"]
    assert math.isclose(overhead["ratio"], np.median(t["trainer"] / t["handwritten"]))
    assert math.isclose(overhead["ratio_fastest"], t["trainer"].min() / t["handwritten"].min())
    assert overhead["goal"] == 1.10 and overhead["passed"] == (overhead["ratio"] <= 1.10)
    assert overhead["fit_to_train_function"] > 0
    pipeline = section["input_pipeline"]
    real, cached = t["trainer_real_input"], t["trainer"]
    expected = max(0.0, np.median((real - cached) / real))
    assert math.isclose(pipeline["wait_share"], expected, abs_tol=1e-12)
    assert pipeline["goal"] == 0.05 and pipeline["passed"] == (pipeline["wait_share"] <= 0.05)
    assert pipeline["pipeline_only_seconds_per_batch"] > 0
    projection = section["projection"]
    assert projection["events_per_step"] == 2 * 8
    assert projection["steps_per_epoch"] == 200_000 // 16
    assert math.isclose(projection["days"] * 86400, projection["steps_per_epoch"] * 5000
                        * real.min())
    summary = result["summary"]
    assert summary["trainer_overhead_ratio"] == overhead["passed"]
    assert summary["input_wait_share"] == pipeline["passed"]
    assert "matmul" in benchmarks_srgan.format_summary(result)


def test_hand_written_step_makes_the_trainers_updates():
    """Same start, same batch: the hand-written step moves the weights as train_step does."""
    batch = next(iter(trainer.training_dataset(*benchmarks_srgan.random_events(32, 0), TINY_GAN,
                                               seed=1)))
    nets = tiny_networks()
    start = [v.numpy() for v in nets.generator.weights + nets.critic.weights]
    benchmarks_srgan.handwritten_train_step(nets, TINY_GAN)(batch)
    hand = [v.numpy() for v in nets.generator.weights + nets.critic.weights]
    for v, value in zip(nets.generator.weights + nets.critic.weights, start, strict=True):
        v.assign(value)
    model = trainer.SRGANTrainer(nets.generator, nets.critic, nets.features, TINY_GAN)
    model.compile(trainer.make_optimizer(TINY_GAN), trainer.make_optimizer(TINY_GAN))
    model.train_step(batch)
    for a, b in zip(hand, nets.generator.weights + nets.critic.weights, strict=True):
        assert abs(a - b.numpy()).max() < 1e-5


@pytest.mark.slow
@pytest.mark.parametrize("flag, message", [
    ("--batch_sizes=1,x", "--batch_sizes must be a comma-separated list of positive integers"),
    ("--output=/nonexistent/dir/b.json", "--output: cannot write"),
])
def test_script_rejects_bad_flags_in_one_line(flag, message):
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "eval", "benchmark.py"), "--model=sr_gan", flag],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode != 0
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
