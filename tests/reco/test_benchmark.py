"""caloml.reco.benchmark and eval/benchmark.py --model=reco."""

from __future__ import annotations

import json
import math
import pathlib
import subprocess
import sys

import h5py
import keras
import numpy as np
import pytest

from caloml import benchmarking, outputs
from caloml.data import reco as data_reco
from caloml.errors import InputError
from caloml.io import hdf5, schema
from caloml.reco import benchmark
from caloml.reco import networks as networks_lib
from caloml.reco.config import BDTConfig, CNNConfig, DNNConfig, GoogLeNetConfig

ROOT = pathlib.Path(__file__).resolve().parents[2]
BENCHMARK_SCRIPT = ROOT / "eval" / "benchmark.py"
TINY_DNN = DNNConfig(units=16, hidden_layers=1, hcal_window=3)
TINY_CNN = CNNConfig(units=16, hidden_layers=1, hcal_window=3, ecal_filters=2, ecal_kernel=3)
TINY_GOOGLENET = GoogLeNetConfig(channel_divisor=64, dense_units=8, micro_batch=2)


def tiny_settings(**overrides) -> benchmark.BenchmarkSettings:
    values = dict(batch_size=8, googlenet_batch_size=4, repeats=2, min_seconds=0.01,
                  matmul_size=64, dnn=TINY_DNN, cnn=TINY_CNN, googlenet=TINY_GOOGLENET,
                  num_train=20, num_validation=10, num_test=10, resample_showers=50,
                  shuffle_buffer=8, file_multiples=(4, 8), block_size=16)
    values.update(overrides)
    return benchmark.BenchmarkSettings(**values)


# --- FLOP and memory counts --------------------------------------------------------------------


def _two_input_model() -> keras.Model:
    a = keras.Input((4, 4, 4, 1), name="a")
    b = keras.Input((3,), name="b")
    conv = keras.layers.Conv3D(2, 2, name="conv")(a)  # valid: 3 × 3 × 3 × 2
    x = keras.layers.Concatenate()([keras.layers.Flatten()(conv), b])
    return keras.Model({"a": a, "b": b}, keras.layers.Dense(5, name="dense")(x))


def test_flops_of_a_tiny_two_input_network_by_hand():
    model = _two_input_model()
    # Conv3D: 27 positions × 2 filters × (2³ kernel × 1 channel) multiply-adds; Dense: (54 + 3)
    # inputs × 5 units.
    expected = 2 * (27 * 2 * 8) + 2 * (54 + 3) * 5
    assert benchmarking.graph_flops(model, {"a": (4, 4, 4, 1), "b": (3,)}) == expected
    assert benchmark.layer_flops(model) == expected


def test_flops_of_the_tiny_cnn_by_hand_both_ways():
    net = networks_lib.build_network("cnn", TINY_CNN)
    ecal_conv = 2 * 23**3 * 2 * 27  # 2 filters of 3³ on 25³ → 23³
    hcal_conv = 2 * (2 * 2 * 55 * 3) * (2 * 2 * 6)  # 3 filters of 2×2×6 on 3×3×60
    flat = 11**3 * 2 + 1 * 1 * 27 * 3 + 4  # pooled ECAL, pooled HCAL, scalars
    dense = 2 * flat * 16 + 2 * (16 + 4 + 1) * 5  # hidden layer; head on [hidden, scalars, 1]
    expected = ecal_conv + hcal_conv + dense
    flops = benchmark.network_flops(net)
    assert flops["per_shower"] == expected
    assert flops["layer_count"] == expected and flops["relative_difference"] == 0.0
    assert flops["parameters"] == net.count_params()


def test_graph_and_layer_counts_agree_on_googlenet():
    net = networks_lib.build_network("googlenet", TINY_GOOGLENET)
    counted = benchmarking.graph_flops(net, benchmark.input_shapes(net))
    assert counted > 0 and benchmark.layer_flops(net) == counted


def test_activation_memory_by_hand():
    memory = benchmark.activation_memory(_two_input_model(), batch_size=1000)
    # conv 54, flatten 54, concatenate 57, dense 5 float32 values per shower.
    assert memory["bytes_per_shower_all_layers"] == 4 * (54 + 54 + 57 + 5)
    assert memory["bytes_per_shower_largest_layer"] == 4 * 57
    assert memory["largest_layer"].startswith("concatenate")
    assert memory["gib_all_layers"] == 4 * 170 * 1000 / 2**30


# --- inference ----------------------------------------------------------------------------------


def test_micro_batched_inference_gives_the_one_call_outputs():
    keras.utils.set_random_seed(3)
    net = networks_lib.build_network("dnn", TINY_DNN)
    inputs = benchmark.random_inputs(net, 6, seed=2)
    assert inputs["hcal"].shape == (6, 3, 3, 60, 1) and inputs["scalars"].shape == (6, 4)
    whole = benchmark.inference_function(net, inputs)()
    pieces = benchmark.inference_function(net, inputs, micro_batch=4)()  # 4 + 2 showers
    for key in ("logits", "energy", "direction"):
        np.testing.assert_allclose(pieces[key], whole[key], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("names", [
    ("dnn",), pytest.param(("dnn", "googlenet"), marks=pytest.mark.slow)])
def test_inference_rows_follow_from_their_timings(names):
    result = benchmark.benchmark_inference(tiny_settings(networks=names))
    rows = result["networks"]
    assert list(rows) == list(names)
    assert rows["dnn"]["batch_size"] == 8 and rows["dnn"]["micro_batch"] is None
    rates = []
    for name, row in rows.items():
        assert row["seconds_per_batch"] == min(row["seconds_all"])
        assert len(row["seconds_all"]) == 2
        assert math.isclose(row["showers_per_s"], row["batch_size"] / row["seconds_per_batch"])
        assert row["flops_per_shower"] == result["flops"][name]["per_shower"]
        assert math.isclose(row["fraction_of_matmul"], row["flops_per_shower"]
                            * row["showers_per_s"] / row["matmul_flops_per_s"])
        # The best matmul of the run is at least as fast as the one timed with any network.
        assert row["fraction_of_best_matmul"] <= row["fraction_of_matmul"]
        rates.append(row["matmul_flops_per_s"])
    assert result["matmul"]["flops_per_s"] == max(rates)
    if "googlenet" not in names:
        assert result["googlenet_memory"] is None
        return
    assert rows["googlenet"]["batch_size"] == 4 and rows["googlenet"]["micro_batch"] == 2
    memory = result["googlenet_memory"]
    net = networks_lib.build_network("googlenet", TINY_GOOGLENET)
    assert memory == {**benchmark.activation_memory(net, 8),
                      "machine_memory_gib": memory["machine_memory_gib"],
                      "fits_in_machine_memory": memory["fits_in_machine_memory"]}
    assert memory["fits_in_machine_memory"] is True  # a few MiB


# --- BDTs and resampler -------------------------------------------------------------------------


def test_search_centre_is_the_middle_of_the_search_ranges():
    centre = benchmark.search_centre(BDTConfig())
    assert centre == pytest.approx({
        "max_depth": 6, "learning_rate": math.sqrt(0.01 * 0.5), "n_estimators": 525,
        "subsample": 0.75, "colsample_bytree": 0.65, "min_child_weight": math.sqrt(0.5 * 20.0),
        "gamma": 2.5})
    assert isinstance(centre["max_depth"], int) and isinstance(centre["n_estimators"], int)


def test_resampler_rows_judge_the_goal():
    result = benchmark.benchmark_resampler(["cms"], num_showers=20, repeats=2)
    row = result["cms"]
    assert row["showers_per_s"] == max(row["showers_per_s_all"]) > 0
    assert row["goal"] == 2000.0 and row["passed"] == (row["showers_per_s"] >= 2000.0)


# --- synthetic files and streaming --------------------------------------------------------------


def test_event_sizes_by_hand():
    # ECAL 51·51·25 and HCAL 11·11·60 float32 cells, ten 4-byte scalars.
    assert benchmark.clic_bytes_per_event() == (51 * 51 * 25 + 11 * 11 * 60) * 4 + 10 * 4
    # Cropped ECAL 25³, HCAL 11·11·60, 4 scalars, label, energy, 2 direction values.
    assert benchmark.stream_bytes_per_event(11) == (25**3 + 11 * 11 * 60 + 4 + 1 + 1 + 2) * 4


def test_synthetic_files_are_valid_sparse_and_pass_the_selection(tmp_path):
    path = str(tmp_path / "pi0.h5")
    benchmark.write_synthetic_clic(path, "pi0", 5, seed=1, block_size=3)
    assert hdf5.validate_file(path, schema.CLIC) == 5
    arrays = hdf5.read_arrays(path, schema.CLIC)
    hits = (arrays["ECAL"] > 0).reshape(5, -1).sum(axis=1)
    # 200 random cells per event; a cell drawn twice counts once.
    assert np.all(hits <= benchmark.SYNTHETIC_ECAL_HITS) and np.all(hits >= 190)
    assert np.all(arrays["pdgID"] == 111) and np.all(arrays["openingAngle"] < 0.01)
    assert data_reco.selected(arrays, "pi0").all()
    with h5py.File(path) as f:
        assert f["ECAL"].compression == "gzip" and f.attrs["particle"] == "pi0"
    with pytest.raises(InputError, match="synthetic files are of"):
        benchmark.write_synthetic_clic(str(tmp_path / "e.h5"), "electron", 1, seed=1)


@pytest.mark.slow
def test_stream_rss_of_a_fresh_process_is_its_own(tmp_path):
    for i, particle in enumerate(("photon", "pi0")):
        benchmark.write_synthetic_clic(str(tmp_path / f"{particle}.h5"), particle, 18, seed=i)
    # This process holds 1 GiB more than the child will: a child started from it directly would
    # inherit that peak as its ru_maxrss.
    ballast = np.ones(2**27)
    result = benchmark.measure_stream_rss(str(tmp_path), num_events=16, shuffle_buffer=4,
                                          batch_size=5, block_size=8)
    assert ballast.sum() == 2**27
    assert result["events"] == 32 and result["batches"] == 7  # ⌈32 / 5⌉
    assert result["peak_rss_bytes"] >= result["rss_before_stream_bytes"] > 0
    own = benchmarking.peak_rss_bytes()
    assert own["ru_maxrss_bytes"] > 2**30
    # The child's ru_maxrss is its own peak (VmHWM of its image), not this process' peak.
    assert result["peak_rss_bytes"] == pytest.approx(result["vm_hwm_bytes"], rel=0.05)
    assert result["peak_rss_bytes"] < own["ru_maxrss_bytes"]


# --- settings, the whole run and the script ----------------------------------------------------


@pytest.mark.parametrize("overrides, message", [
    ({"networks": ("rnn",)}, "networks must be distinct names"),
    ({"networks": ("dnn", "dnn")}, "networks must be distinct names"),
    ({"file_multiples": ()}, "file_multiples must be positive integers"),
    ({"resample_targets": ("lhcb",)}, "resample_targets must be of"),
    ({"batch_size": 0}, "batch_size must be a positive integer"),
])
def test_settings_refuse_bad_values(overrides, message):
    with pytest.raises(InputError, match=message):
        benchmark.BenchmarkSettings(**overrides)


@pytest.mark.slow
def test_tiny_run_writes_consistent_json(tmp_path):
    result = benchmark.benchmark_reco(tiny_settings(workdir=str(tmp_path)))
    outputs.write_json(tmp_path / "b.json", result)
    document = json.loads((tmp_path / "b.json").read_text())
    assert document["benchmark"] == "reco" and document["device"] in ("cpu", "gpu")
    assert "tensorflow" in document["machine"] and document["settings"]["batch_size"] == 8

    rows = result["inference"]["networks"]
    assert list(rows) == ["dnn", "cnn", "googlenet"]
    for name, row in rows.items():
        assert math.isclose(row["showers_per_s"], row["batch_size"] / row["seconds_per_batch"])
        assert result["summary"]["showers_per_s"][name] == row["showers_per_s"]

    bdt = result["bdt"]
    assert bdt["events"] == {"train": 40, "validation": 20, "test": 20}
    projection = bdt["xgboost"]["search_projection"]
    assert projection["fits"] == 50 * 3 + 1
    assert math.isclose(projection["seconds"], projection["fits"] * bdt["xgboost"]["fit_seconds"])
    assert bdt["xgboost"]["fit_seconds"] == min(bdt["xgboost"]["fit_seconds_all"])
    assert len(bdt["xgboost"]["fit_seconds_all"]) == 2
    assert len(bdt["adaboost"]["fit_seconds_all"]) == 1
    assert bdt["adaboost"]["n_estimators"] == 800
    regressor = bdt["xgboost_regressor"]
    assert regressor["max_depth"] == 3 and regressor["best_iteration"] < regressor["rounds"]
    assert regressor["rounds"] <= 1000

    stream = result["stream_memory"]
    assert stream["shuffle_buffer_bytes"] == 8 * benchmark.stream_bytes_per_event(11)
    for f in stream["files"]:
        assert f["events_streamed"] == 2 * f["multiple"] * 8  # both particles' train rows
        assert f["file_array_bytes"] == f["events_per_file"] * benchmark.clic_bytes_per_event()
        assert f["peak_rss_bytes"] > 0
    small, large = stream["files"]
    assert stream["rss_difference_bytes"] == large["peak_rss_bytes"] - small["peak_rss_bytes"]
    assert result["summary"]["resampler_all_passed"] == all(
        r["passed"] for r in result["resampler"].values())
    assert (tmp_path / "stream_data" / "x8" / "pi0.h5").exists()

    text = benchmark.format_summary(result)
    assert f"{rows['cnn']['showers_per_s']:>10.1f}" in text
    assert "resampler cms" in text and "files of 8 buffers" in text


def _run_script(*args: str, cwd: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCHMARK_SCRIPT), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, message", [
    (["--model=reco", "--steps=3"],
     "error: --steps is an option of --model=sr_gan, --model=calogan, --model=gan3d, "
     "--model=jet_sr or --model=calpagan only"),
    (["--model=sim", "--shuffle_buffer=3"],
     "error: --shuffle_buffer is an option of --model=reco or --model=gan3d only"),
    (["--model=sim", "--matmul_size=64"],
     "error: --matmul_size is an option of --model=sr_gan, --model=reco, --model=calogan, "
     "--model=gan3d, --model=jet_sr or --model=calpagan only"),
])
def test_script_refuses_options_of_other_models_in_one_line(tmp_path, args, message):
    proc = _run_script(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [message]
