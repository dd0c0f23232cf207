"""caloml.benchmarking: FLOP counting by hand, timing bookkeeping, machine info."""

import subprocess
import sys

import keras
import numpy as np
import pytest

from caloml import benchmarking


def test_graph_flops_of_small_networks_by_hand():
    x = keras.Input((6, 6, 1))
    up = keras.layers.UpSampling2D(4)(keras.layers.Conv2D(4, 3, padding="same")(x))
    generator = keras.Model(x, keras.layers.Conv2D(1, 3, padding="same")(up))
    # Conv 1→4 at 6×6, conv 4→1 at 24×24: 2·9·(1·4·36 + 4·1·576).
    assert benchmarking.graph_flops(generator, (6, 6, 1)) == 2 * 9 * (4 * 36 + 4 * 576)
    y = keras.Input((24, 24, 1))
    strided = keras.layers.Conv2D(4, 3, strides=2, padding="same")(y)
    critic = keras.Model(y, keras.layers.Dense(1)(keras.layers.Flatten()(strided)))
    # Conv 1→4 with stride 2 (12×12 outputs), then Dense 576→1 on the flattened map.
    assert benchmarking.graph_flops(critic, (24, 24, 1)) == 2 * (9 * 4 * 144 + 576)


def test_best_matmul_keeps_the_fastest_repeat_of_all_runs():
    runs = [{"size": 8, "flops": 1024.0, "seconds": 2.0, "seconds_all": [2.0, 3.0],
             "calls": 1, "flops_per_s": 512.0},
            {"size": 8, "flops": 1024.0, "seconds": 1.0, "seconds_all": [1.0, 4.0],
             "calls": 1, "flops_per_s": 1024.0}]
    best = benchmarking.best_matmul(runs)
    assert best["seconds"] == 1.0 and best["flops_per_s"] == 1024.0
    assert best["seconds_all"] == [2.0, 3.0, 1.0, 4.0]
    assert best["flops_per_s_runs"] == [512.0, 1024.0]


def test_matmul_rate_is_flops_over_the_fastest_repeat():
    result = benchmarking.matmul_rate(64, repeats=2, min_seconds=0.001)
    assert result["flops"] == 2 * 64**3
    assert result["seconds"] == min(result["seconds_all"]) and len(result["seconds_all"]) == 2
    assert result["flops_per_s"] == pytest.approx(result["flops"] / result["seconds"])


def test_paired_ratio_and_step_summary():
    assert benchmarking.paired_ratio([2.0, 3.0, 10.0], [1.0, 1.0, 1.0]) == 3.0
    summary = benchmarking.step_summary([0.3, 0.1, 0.2], first_seconds=5.0)
    assert summary == {"seconds_per_step": 0.1, "seconds_per_step_median": 0.2,
                       "seconds_per_step_all": [0.3, 0.1, 0.2], "first_step_seconds": 5.0}


def test_machine_info_never_loads_tensorflow_itself():
    code = ("import sys, json; from caloml import benchmarking; info = benchmarking.machine_info();"
            "print(json.dumps(['tensorflow' in sys.modules, 'tensorflow' in info,"
            " info['cpu_count'] > 0]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[false, false, true]"
    # With TensorFlow loaded (this process), its settings are reported.
    info = benchmarking.machine_info()
    assert {"tensorflow", "keras", "intra_op_threads", "gpus"} <= set(info)
    assert info["numpy"] == np.__version__


def test_time_rotating_calls_each_variant_once_first_then_in_rotating_order():
    calls = []
    variants = {name: (lambda name=name: calls.append(name) or np.float32(0))
                for name in ("a", "b", "c")}
    result = benchmarking.time_rotating(variants, rounds=3)
    assert calls == ["a", "b", "c", "a", "b", "c", "b", "c", "a", "c", "a", "b"]
    for name in variants:
        assert len(result[name]["seconds_per_step_all"]) == 3
        assert result[name]["seconds_per_step"] == min(result[name]["seconds_per_step_all"])


def test_device_kind_and_the_note_of_the_unmeasured_device():
    import tensorflow as tf

    device = benchmarking.device_kind()
    assert device == ("gpu" if tf.config.list_physical_devices("GPU") else "cpu")
    assert benchmarking.unmeasured_device("cpu")[0] == "gpu"
    assert "no GPU visible" in benchmarking.unmeasured_device("cpu")[1]
    assert benchmarking.unmeasured_device("gpu") == (
        "cpu", "not measured: the benchmark runs on the default device (the GPU)")
