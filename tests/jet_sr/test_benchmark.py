"""The jet SR benchmark: its FLOP count, its arithmetic, the hand-written step, a tiny run."""

import dataclasses
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from caloml import benchmarking, errors, outputs
from caloml.jet_sr import benchmark, config, networks, trainer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# f = 4: one pixel shuffle and one transposed convolution.
TINY_GENERATOR = config.GeneratorConfig(factor=4, num_rrdb=1, filters=4, dense_blocks=1,
                                        convs_per_dense_block=2)
TRAIN_GENERATOR = config.GeneratorConfig(factor=2, num_rrdb=1, filters=4, dense_blocks=1,
                                         convs_per_dense_block=2)
TRAIN_DISCRIMINATOR = config.DiscriminatorConfig(filters=(4, 4))
GAN = config.JetSRConfig(batch_size=4, warmup_batches=0, reset_interval=0, patch_sharpness=5.0)


# ---------------------------------------------------------------------------- FLOP count


def test_generator_flops_by_hand():
    # 5×5 LR, 4 filters, 3×3 kernels; 2 FLOP per multiply-add.
    by_hand = (2 * 25 * 9 * 1 * 4  # conv_first
               + 2 * 25 * 9 * 4 * 4 + 2 * 25 * 9 * 8 * 4  # dense block: 4 then 8 channels in
               + 2 * 25 * 9 * 4 * 4  # conv_body
               + 2 * 25 * 9 * 4 * 16  # pixel shuffle's convolution to 4 × 4 channels, 5×5
               + 2 * 100 * 2 * 2 * 4 * 4  # transposed 2×2 convolution on 10×10
               + 2 * 400 * 9 * 4 * 4  # conv_hr, 20×20
               + 2 * 400 * 9 * 4 * 1)  # conv_last
    assert benchmark.generator_flops(TINY_GENERATOR, 5) == by_hand == 216_200
    assert benchmark.transposed_conv_flops(TINY_GENERATOR, 5) == 12_800
    # The paper's generator on 20×20 jets.
    assert benchmark.generator_flops(config.GeneratorConfig(), 20) == 17_275_750_400


def test_graph_count_misses_exactly_the_transposed_convolutions():
    generator = networks.JetSRGenerator(TINY_GENERATOR)
    counted = benchmarking.graph_flops(generator, (5, 5, 1))
    assert counted + benchmark.transposed_conv_flops(TINY_GENERATOR, 5) == (
        benchmark.generator_flops(TINY_GENERATOR, 5))
    # With pixel shuffles only, the graph finds every multiply-add.
    shuffles = dataclasses.replace(TINY_GENERATOR, upsampling=("pixel_shuffle",) * 2)
    assert benchmark.transposed_conv_flops(shuffles, 5) == 0
    assert benchmarking.graph_flops(networks.JetSRGenerator(shuffles), (5, 5, 1)) == (
        benchmark.generator_flops(shuffles, 5))


# ---------------------------------------------------------------------------- settings, rows


@pytest.mark.parametrize("fields, message", [
    ({"processes": ("ttbar",)}, "processes must be some of top, qcd"),
    ({"processes": ()}, "processes must be some of"),
    ({"workers": (1, 0)}, "workers must be positive integers"),
    ({"batch_sizes": ()}, "batch_sizes must be positive integers"),
    ({"num_jets": 0}, "num_jets must be at least 1"),
    ({"max_chunk": 0}, "max_chunk must be at least 1"),
    ({"train_batch_size": 0}, "train_batch_size must be at least 1"),
    ({"min_seconds": -1.0}, "min_seconds must be ≥ 0"),
    ({"generator": {"factor": 3}}, "the factor must be 2, 4 or 8"),
])
def test_settings_reject_bad_values(fields, message):
    with pytest.raises((errors.InputError, errors.UsageError), match=message):
        benchmark.BenchmarkSettings(**fields)


def test_settings_train_after_the_warm_up_at_their_batch():
    settings = benchmark.BenchmarkSettings(train_batch_size=3, generator={"num_rrdb": 4})
    assert settings.generator == config.GeneratorConfig(num_rrdb=4)
    training = settings.training()
    assert training.batch_size == 3 and training.warmup_batches == 0
    assert training.streams == ("std", "pow")
    assert settings.train_discriminator.filters == config.ORIGINAL_DISCRIMINATOR_FILTERS
    json.dumps(dataclasses.asdict(settings))


def test_generation_row_arithmetic():
    row = benchmark.generation_row("top", 2, 128, seconds=4.0, num_events=500)
    assert row["jets_per_s"] == 32.0 and row["events_per_s"] == 125.0
    assert row["ms_per_event"] == 8.0 and row["core_ms_per_event"] == 16.0
    assert row["acceptance"] == pytest.approx(0.256)


def test_generation_summary_speedups_and_verdicts():
    rows = [benchmark.generation_row("qcd", 1, 64, 8.0, 280),
            benchmark.generation_row("qcd", 2, 64, 5.0, 280),
            benchmark.generation_row("top", 1, 64, 6.0, 250),  # 24 ms per event
            benchmark.generation_row("top", 2, 64, 4.0, 251)]
    summary = benchmark.generation_summary(rows)
    assert summary["speedup"] == {"qcd": {"1": 1.0, "2": 1.6}, "top": {"1": 1.0, "2": 1.5}}
    assert summary["same_events"] == {"qcd": True, "top": False}
    assert summary["top_ms_per_event_one_core"] == 24.0
    assert summary["goal"] == 22.0 and summary["passed"] is False
    faster = [benchmark.generation_row("top", 1, 64, 5.0, 250)]  # 20 ms per event
    assert benchmark.generation_summary(faster)["passed"] is True
    # Without tt̄ on one core there is no verdict, and no speed-up without one worker.
    qcd_two = benchmark.generation_summary([rows[1]])
    assert qcd_two["passed"] is None and qcd_two["top_ms_per_event_one_core"] is None
    assert qcd_two["speedup"] == {}


def test_random_jets_are_sum_pooled_sparse_images():
    jets = benchmark.random_jets(3, 4, seed=2, hr_size=16, hits=5)
    assert jets["hr"].shape == (3, 16, 16, 1) and jets["lr"].shape == (3, 4, 4, 1)
    assert ((jets["hr"] > 0).sum(axis=(1, 2, 3)) <= 5).all()
    np.testing.assert_allclose(jets["lr"], networks.sum_pool(jets["hr"], 4), rtol=1e-6)
    assert jets["gp_epsilon"].shape == (3, 2)
    assert ((jets["gp_epsilon"] >= 0) & (jets["gp_epsilon"] < 1)).all()


# ---------------------------------------------------------------------------- training step


def _weights(models):
    return [v.numpy().copy() for model in models for v in model.weights]


@pytest.fixture
def eager_functions():
    """Runs the ``tf.function`` steps eagerly: the same Python code, without the tracing."""
    tf.config.run_functions_eagerly(True)
    yield
    tf.config.run_functions_eagerly(False)


@pytest.mark.parametrize("gan", [
    GAN,
    dataclasses.replace(GAN, hr_loss="batch_mean", lambda_std=0.0),
], ids=["both_streams", "pow_stream_batch_mean"])
def test_hand_written_step_makes_the_trainers_updates(gan, eager_functions):
    """Same start, same batch and ε: the hand-written step moves every weight as train_step."""
    keras.utils.set_random_seed(3)
    generator = networks.JetSRGenerator(TRAIN_GENERATOR)
    discriminators = networks.make_discriminators(TRAIN_DISCRIMINATOR, gan.streams)
    models = [generator, *(d for s in gan.streams for d in discriminators[s])]
    data = {key: tf.constant(value) for key, value in
            benchmark.random_jets(4, 2, seed=5, hr_size=8, hits=20).items()}
    start = _weights(models)
    benchmark.handwritten_train_step(generator, discriminators, gan)(data)
    hand = _weights(models)
    for v, value in zip([v for m in models for v in m.weights], start, strict=True):
        v.assign(value)
    model = trainer.JetSRTrainer(generator, discriminators, gan, seed=0)
    model.compile(*trainer.make_optimizers(gan))
    model.train_step(data)
    by_trainer = _weights(models)
    moved = [not np.allclose(a, b) for a, b in zip(start, hand, strict=True)]
    # Every network moved (the patch responses' biases get no gradient, see networks).
    sizes = np.cumsum([0] + [len(m.weights) for m in models])
    for first, last in zip(sizes[:-1], sizes[1:], strict=True):
        assert sum(moved[first:last]) >= (last - first) - 1
    for a, b in zip(hand, by_trainer, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6, rtol=1e-4)


# ---------------------------------------------------------------------------- end to end


@pytest.mark.slow  # generates jets in a fresh process and traces two tiny training steps
def test_tiny_benchmark_writes_consistent_json(tmp_path):
    settings = benchmark.BenchmarkSettings(
        processes=("top",), num_jets=4, workers=(1, 2), batch_sizes=(1, 3), max_chunk=2,
        steps=1, repeats=2, matmul_size=64, min_seconds=0.0,
        generator=dataclasses.replace(TRAIN_GENERATOR, factor=8),
        train_batch_size=2, train_generator=dataclasses.replace(TRAIN_GENERATOR, factor=8),
        train_discriminator=TRAIN_DISCRIMINATOR)
    result = benchmark.benchmark_jet_sr(settings)
    path = tmp_path / "benchmark_jet_sr.json"
    outputs.write_json(path, result)
    result = json.loads(path.read_text())

    device = result["device"]
    assert device == ("gpu" if tf.config.list_physical_devices("GPU") else "cpu")
    other = "cpu" if device == "gpu" else "gpu"
    assert result[other] is None and result["notes"][other]
    assert result["settings"]["train_discriminator"]["filters"] == [4, 4]
    assert result["goals"] == {"trainer_overhead_ratio": 1.10, "top_ms_per_event_one_core": 22.0}

    generated = result["generation"]
    rows = generated["rows"]
    assert [(r["process"], r["workers"], r["num_jets"]) for r in rows] == [
        ("top", 1, 4), ("top", 2, 4)]
    # The same seed makes the same jets from the same events with any number of workers.
    assert generated["same_events"] == {"top": True}
    for r in rows:
        assert r["ms_per_event"] == pytest.approx(1e3 * r["seconds"] / r["num_events_generated"])
        assert r["acceptance"] == pytest.approx(4 / r["num_events_generated"])
        assert r["pt_hat_min_gev"] == pytest.approx(495.0)
    assert generated["top_ms_per_event_one_core"] == rows[0]["ms_per_event"]
    assert generated["passed"] == (rows[0]["ms_per_event"] <= 22.0)

    section = result[device]
    flops = benchmark.generator_flops(settings.generator, 20)
    assert section["generator_flops"]["per_image"] == flops
    assert section["generator_flops"]["graph_count"] + section["generator_flops"][
        "transposed_conv_flops"] == flops
    inference = section["inference"]
    assert [(r["batch_size"], r["chunk_size"]) for r in inference] == [(1, 1), (3, 2)]
    for r in inference:
        assert r["seconds_per_batch"] == min(r["seconds_per_batch_all"]) > 0
        assert r["ms_per_image"] == pytest.approx(1e3 * r["seconds_per_batch"] / r["batch_size"])
        assert r["fraction_of_matmul"] == pytest.approx(
            flops * r["batch_size"] / r["seconds_per_batch"] / r["matmul_flops_per_s"])
        assert r["fraction_of_best_matmul"] == pytest.approx(
            r["flops_per_s"] / section["matmul"]["flops_per_s"])
        assert r["fraction_of_best_matmul"] <= r["fraction_of_matmul"] * (1 + 1e-12)

    training, overhead = section["training"], section["trainer_overhead"]
    assert len(training["trainer"]["seconds_per_step_all"]) == 2  # steps × repeats rounds
    ratios = np.asarray(training["trainer"]["seconds_per_step_all"]) / np.asarray(
        training["handwritten"]["seconds_per_step_all"])
    assert overhead["ratio"] == pytest.approx(float(np.median(ratios)))
    assert overhead["passed"] == (overhead["ratio"] <= 1.10)
    assert overhead["batch_size"] == training["batch_size"] == 2
    assert overhead["discriminator_filters"] == [4, 4]
    # Four discriminators of the tiny architecture were trained.
    one = networks.MarkovianDiscriminator(TRAIN_DISCRIMINATOR).count_params()
    assert training["discriminator_parameters"] == 4 * one

    summary = result["summary"]
    assert summary["trainer_overhead"] == overhead["ratio"]
    assert summary["jets_per_s"] == {"top_1_workers": rows[0]["jets_per_s"],
                                     "top_2_workers": rows[1]["jets_per_s"]}
    assert summary["best_ms_per_image"] == min(r["ms_per_image"] for r in inference)
    text = benchmark.format_summary(result)
    verdict = "pass" if overhead["passed"] else "FAIL"
    assert f"(goal ≤ 1.10): {verdict}" in text
    assert "ms/event" in text and "top ×2" in text and "20² → 160²" in text


def test_script_refuses_options_of_other_models(tmp_path):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "eval", "benchmark.py"),
                           "--model=sim", "--num_jets=10"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --num_jets is an option of --model=jet_sr only"]
