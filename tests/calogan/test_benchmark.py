"""CaloGAN speed benchmark: the LC2D shapes, the hand-written step, a tiny run end to end."""

import dataclasses
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from calogan_tiny import TINY, TINY_GENERATOR, batch, tiny_networks

from caloml import errors, outputs
from caloml.calogan import benchmark as calogan_benchmark
from caloml.calogan import config, networks, trainer
from caloml.calogan.benchmark import LCShape
from caloml.layers.locally_connected import LocallyConnected2D

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Two small LC2D cases, one strided, at the CaloGAN's kernel sizes.
TINY_LC = (LCShape("generator", "tiny_lc", (5, 6, 3), 2, (2, 2)),
           LCShape("discriminator", "tiny_lc_strided", (5, 7, 2), 3, (3, 3), (1, 2)))


def test_lc_shapes_are_layers_of_the_paper_networks():
    generator = networks.CaloGANGenerator()
    discriminator = networks.CaloGANDiscriminator()
    nets = {"generator": generator, "discriminator": discriminator}
    for shape in calogan_benchmark.LC_SHAPES:
        layer = nets[shape.network].get_layer(shape.layer)
        assert isinstance(layer, LocallyConnected2D)
        assert tuple(layer.input.shape[1:]) == shape.input_shape
        assert tuple(layer.output.shape[1:]) == shape.output_shape
        assert (layer.filters, layer.kernel_size, layer.strides) == (
            shape.filters, shape.kernel_size, shape.strides)


def test_lc_shape_flops_and_output_shape_by_hand():
    generator_lc, _, strided = calogan_benchmark.LC_SHAPES[:3]
    # 5×98 → 4×97 positions, each 2·2·16 inputs × 6 filters.
    assert generator_lc.output_shape == (4, 97, 6)
    assert generator_lc.forward_flops(3) == 3 * 2 * 4 * 97 * 6 * (2 * 2 * 16)
    # 5×98 with a 3×3 window and strides (1, 2) → 3×48 positions, 3·3·64 inputs × 16 filters.
    assert strided.output_shape == (3, 48, 16)
    assert strided.forward_flops(1) == 2 * 3 * 48 * 16 * (3 * 3 * 64)


@pytest.mark.parametrize("fields, message", [
    ({"batch_sizes": (1, 0)}, "batch_sizes must be positive integers"),
    ({"steps": 0}, "steps must be at least 1"),
    ({"lc_batch_size": 0}, "lc_batch_size must be at least 1"),
    ({"jit_compile": ()}, "jit_compile must name at least one variant"),
])
def test_settings_reject_bad_values(fields, message):
    with pytest.raises(errors.InputError, match=message):
        calogan_benchmark.BenchmarkSettings(**fields)


def test_lc_shape_rejects_a_kernel_larger_than_its_input():
    with pytest.raises(errors.InputError, match=r"generator/x: input \(2, 9\) is smaller"):
        LCShape("generator", "x", (2, 9, 4), 3, (3, 3))
    with pytest.raises(errors.InputError, match="must be positive integers"):
        LCShape("generator", "x", (5, 9), 3, (3, 3))


def _weights(*models):
    return [v.numpy().copy() for model in models for v in model.weights]


@pytest.fixture
def functions_run_as(request):
    """Runs ``tf.function`` eagerly (fast, same Python code) or as traced graphs (slow)."""
    tf.config.run_functions_eagerly(request.param == "eager")
    yield request.param
    tf.config.run_functions_eagerly(False)


@pytest.mark.parametrize("num_classes, functions_run_as", [
    (1, "eager"),
    pytest.param(2, "eager", marks=pytest.mark.slow),
    pytest.param(1, "graph", marks=pytest.mark.slow),  # tracing the tiny step takes ~20 s
], indirect=["functions_run_as"])
def test_hand_written_step_makes_the_trainers_updates(num_classes, functions_run_as):
    """Same start, same batch: the hand-written step moves every weight as train_step does."""
    gan = dataclasses.replace(TINY, num_classes=num_classes)
    data = {key: tf.constant(value) for key, value in batch(gan, seed=3).items()}
    generator, discriminator = tiny_networks(num_classes=num_classes, seed=2)
    start = _weights(generator, discriminator)
    calogan_benchmark.handwritten_train_step(generator, discriminator, gan)(data)
    hand = _weights(generator, discriminator)
    for v, value in zip(generator.weights + discriminator.weights, start, strict=True):
        v.assign(value)
    model = trainer.CaloGANTrainer(generator, discriminator, gan)
    model.compile(*trainer.make_optimizers(gan))
    model.train_step(data)
    by_trainer = _weights(generator, discriminator)
    # Both networks moved (BN statistics included), and both steps moved them alike.
    moved = [not np.allclose(a, b) for a, b in zip(start, hand, strict=True)]
    assert sum(moved[:len(generator.weights)]) > len(generator.trainable_weights) // 2
    assert sum(moved[len(generator.weights):]) > len(discriminator.trainable_weights) // 2
    for a, b in zip(hand, by_trainer, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-4)


@pytest.mark.slow
def test_tiny_benchmark_writes_consistent_json(tmp_path):
    settings = calogan_benchmark.BenchmarkSettings(
        batch_sizes=(1, 4), steps=1, repeats=2, matmul_size=64, min_seconds=0.01,
        lc_shapes=TINY_LC, lc_batch_size=8, gan=TINY,
    )
    generator, discriminator = tiny_networks()
    flops = float(networks.generator_flops(TINY_GENERATOR))
    result = calogan_benchmark.benchmark_calogan(
        settings, calogan_benchmark.Networks(generator, discriminator, flops, "analytic"))
    path = tmp_path / "benchmark_calogan.json"
    outputs.write_json(path, result)
    result = json.loads(path.read_text())

    device = result["device"]
    assert device == ("gpu" if tf.config.list_physical_devices("GPU") else "cpu")
    other = "cpu" if device == "gpu" else "gpu"
    assert result[other] is None and result["notes"][other]
    for key in ("cpu_count", "cpu_model", "tensorflow", "intra_op_threads", "gpus"):
        assert key in result["machine"]
    assert result["settings"]["batch_sizes"] == [1, 4]
    assert result["settings"]["gan"]["batch_size"] == TINY.batch_size
    assert result["settings"]["lc_shapes"][1]["strides"] == [1, 2]
    slides = config.PAPER_RUNTIME_MS
    assert result["slides"]["geant4_cpu_ms_per_shower"] == slides["geant4_cpu"]
    assert result["slides"]["calogan_gpu"] == {str(b): ms for b, ms in
                                               slides["calogan_gpu"].items()}

    section = result[device]
    peak = section["matmul"]["flops_per_s"]
    assert section["matmul"]["flops"] == 2 * 64**3 and peak > 0
    assert section["generator_flops"]["per_shower"] == flops
    # The graph count finds every multiply-add the analytic count has.
    assert section["generator_flops"]["graph_count_relative_difference"] == 0
    assert set(section["inference"]) == {"tf_function", "xla"}
    for name, rows in section["inference"].items():
        assert [r["batch_size"] for r in rows] == [1, 4]
        for r in rows:
            assert r["jit_compile"] == (name == "xla")
            assert r["seconds_per_batch"] == min(r["seconds_per_batch_all"]) > 0
            assert math.isclose(r["ms_per_shower"] * r["batch_size"], 1e3 * r["seconds_per_batch"])
            assert math.isclose(r["showers_per_s"] * r["seconds_per_batch"], r["batch_size"])
            assert math.isclose(r["flops_per_s"], flops * r["showers_per_s"])
            assert math.isclose(r["fraction_of_matmul"],
                                r["flops_per_s"] / r["matmul_flops_per_s"])
            assert math.isclose(r["fraction_of_best_matmul"], r["flops_per_s"] / peak)
            assert math.isclose(r["speedup_vs_geant4"], slides["geant4_cpu"] / r["ms_per_shower"])
            assert r["slides_ms_per_shower"] == {
                "calogan_cpu": slides["calogan_cpu"].get(r["batch_size"]),
                "calogan_gpu": slides["calogan_gpu"].get(r["batch_size"])}
    for b in ("1", "4"):
        fastest = section["fastest_by_batch_size"][b]
        assert fastest["ms_per_shower"] == min(
            r["ms_per_shower"] for rows in section["inference"].values() for r in rows
            if str(r["batch_size"]) == b)

    lc2d = section["lc2d"]
    assert [r["name"] for r in lc2d] == ["generator/tiny_lc", "discriminator/tiny_lc_strided"]
    assert lc2d[1]["output_shape"] == [3, 3, 3]
    for r, shape in zip(lc2d, TINY_LC, strict=True):
        assert r["flops"] == 3 * shape.forward_flops(8)
        for variant in ("lc2d", "conv2d"):
            assert len(r[variant]["seconds_all"]) == settings.repeats
            assert math.isclose(r[variant]["flops_per_s"], r["flops"] / r[variant]["seconds"])
        expected = np.median(np.asarray(r["lc2d"]["seconds_all"])
                             / np.asarray(r["conv2d"]["seconds_all"]))
        assert math.isfinite(r["ratio"]) and r["ratio"] > 0
        assert math.isclose(r["ratio"], expected)
        assert math.isclose(r["ratio_fastest"], r["lc2d"]["seconds"] / r["conv2d"]["seconds"])
    lc_summary = section["lc2d_summary"]
    assert lc_summary["max_ratio"] == max(r["ratio"] for r in lc2d)
    assert lc_summary["passed"] == (lc_summary["max_ratio"] <= 3.0)

    training = section["training"]
    rounds = settings.steps * settings.repeats
    assert training["batch_size"] == TINY.batch_size
    for name in ("trainer", "handwritten", "trainer_fit"):
        steps = training[name]["seconds_per_step_all"]
        assert len(steps) == (settings.steps if name == "trainer_fit" else rounds)
        assert training[name]["seconds_per_step"] == min(steps) > 0
        assert training[name]["first_step_seconds"] > 0
    t = {name: np.asarray(training[name]["seconds_per_step_all"])
         for name in ("trainer", "handwritten")}
    overhead = section["trainer_overhead"]
    assert math.isfinite(overhead["ratio"]) and overhead["ratio"] > 0
    assert math.isclose(overhead["ratio"], np.median(t["trainer"] / t["handwritten"]))
    assert math.isclose(overhead["ratio_fastest"], t["trainer"].min() / t["handwritten"].min())
    assert overhead["goal"] == 1.10 and overhead["passed"] == (overhead["ratio"] <= 1.10)
    assert overhead["fit_to_train_function"] > 0
    summary = result["summary"]
    assert summary["trainer_overhead_ratio"] == overhead["passed"]
    assert summary["lc2d_to_conv2d_ratio"] == lc_summary["passed"]

    text = calogan_benchmark.format_summary(result)
    assert f"Geant4 {slides['geant4_cpu']:g} ms/shower" in text
    for row in text.splitlines():
        if row.split()[:2] == ["tf_function", "1"]:
            cells = row.split()
    for hardware in ("calogan_cpu", "calogan_gpu"):
        ms = slides[hardware].get(1)
        assert (f"{ms:.4g}" if ms is not None else "—") in cells
    assert "discriminator/tiny_lc_strided" in text and "hand-written" in text


@pytest.mark.parametrize("flags, message", [
    (["--model=sr_gan", "--train_batch_size=8"],
     "--train_batch_size is an option of --model=calogan, --model=gan3d, --model=jet_sr or "
     "--model=calpagan only"),
    (["--model=calogan", "--batch_sizes=1,x"],
     "--batch_sizes must be a comma-separated list of positive integers"),
    (["--model=calogan", "--num_train=5"], "--num_train is an option of --model=reco only"),
])
def test_script_rejects_bad_calogan_flags_in_one_line(flags, message):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "eval", "benchmark.py"), *flags],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
