"""The 3DGAN benchmark on tiny settings: its fields, its arithmetic and its summary."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from caloml.data import threedgan
from caloml.errors import InputError
from caloml.gan3d import benchmark
from caloml.gan3d import networks as networks_lib
from caloml.gan3d.config import for_architecture

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_synthetic_files_are_valid_3dgan_files(tmp_path):
    path = tmp_path / "s.h5"
    benchmark.write_synthetic_3dgan(str(path), 5, seed=1, block_size=2, hits=10)
    assert threedgan.check_file(str(path)) == 5
    files = threedgan.dataset_files(str(tmp_path), num_events=5, data=str(path), seed=1)
    events = threedgan.read_events(files, 0, 5)
    assert events["ECAL"].shape == (5, 51, 51, 25)
    assert ((events["ECAL"] > 0).sum(axis=(1, 2, 3)) <= 10).all()
    np.testing.assert_allclose(events["sum"], events["ECAL"].sum(axis=(1, 2, 3)), rtol=1e-5)
    np.testing.assert_array_equal(events["mtheta"], events["theta"])
    assert (events["energy"] >= 100).all() and (events["energy"] <= 200).all()


def test_settings_refuse_bad_values():
    with pytest.raises(InputError, match="unknown architecture 'wgan'"):
        benchmark.BenchmarkSettings(architecture="wgan")
    with pytest.raises(InputError, match="batch_sizes must be positive integers"):
        benchmark.BenchmarkSettings(batch_sizes=(0,))
    with pytest.raises(InputError, match="train_batch_size must be at least 1"):
        benchmark.BenchmarkSettings(train_batch_size=0)
    experiment = benchmark.BenchmarkSettings(architecture="energygan",
                                             train_batch_size=3).experiment()
    assert experiment.gan.batch_size == 3 and experiment.window == (25, 25, 25)


@pytest.mark.slow  # traces the 25³ networks' step and streams in two fresh processes (~1 min)
def test_benchmark_runs_and_its_ratios_follow_from_its_timings():
    settings = benchmark.BenchmarkSettings(
        architecture="energygan", batch_sizes=(1, 2), steps=1, repeats=1, matmul_size=128,
        min_seconds=0.0, train_batch_size=2, shuffle_buffer=8, file_multiples=(1, 4))
    result = benchmark.benchmark_gan3d(settings)
    json.dumps(result)  # JSON-serialisable
    assert result["device"] == "cpu" and result["gpu"] is None and "gpu" in result["notes"]
    section = result["cpu"]
    flops = networks_lib.generator_flops(for_architecture("energygan", workdir="x").generator)
    assert section["generator_flops"]["per_shower"] == flops
    rows = section["inference"]
    assert [r["batch_size"] for r in rows] == [1, 2]
    for r in rows:
        assert r["ms_per_shower"] == pytest.approx(1e3 * r["seconds_per_batch"] / r["batch_size"])
        assert r["fraction_of_matmul"] == pytest.approx(
            flops * r["batch_size"] / r["seconds_per_batch"] / r["matmul_flops_per_s"])
        assert r["speedup_vs_geant4"] == pytest.approx(17_000.0 / r["ms_per_shower"])
    summary = result["summary"]
    assert summary["generator_time_to_matmul_time"] == pytest.approx(
        1 / max(r["fraction_of_matmul"] for r in rows))
    overhead = section["trainer_overhead"]
    assert overhead["batch_size"] == 2 and overhead["ratio"] > 0
    stream = section["stream_memory"]
    assert [f["events"] for f in stream["files"]] == [8, 32]
    assert stream["batch_size"] == 8  # one shuffle buffer, smaller than 64
    assert [f["batches"] for f in stream["files"]] == [1, 4]
    assert stream["rss_difference_bytes"] == (stream["files"][1]["peak_rss_bytes"]
                                              - stream["files"][0]["peak_rss_bytes"])
    text = benchmark.format_summary(result)
    assert "ms/shower" in text and "13 ms (Xeon 8180)" in text and "bounded" in text


def test_script_refuses_options_of_other_models(tmp_path):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "eval", "benchmark.py"),
                           "--model=sim", "--architecture=energygan"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --architecture is an option of --model=gan3d only"]


def test_streaming_is_bounded_when_the_peak_grows_less_than_half_the_added_data():
    small = {"peak_rss_bytes": 1000, "file_array_bytes": 100}
    assert benchmark.stream_bounded([small, {"peak_rss_bytes": 1040,
                                             "file_array_bytes": 200}])
    # A pipeline holding the file in memory grows with it.
    assert not benchmark.stream_bounded([small, {"peak_rss_bytes": 1100,
                                                 "file_array_bytes": 200}])
