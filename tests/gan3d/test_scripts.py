"""train/gan3d.py and eval/gan3d.py on tiny setups: kill, resume, outputs, exports, errors."""

import json
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from killing import kill_after_first_checkpoint

from caloml import outputs
from caloml.training import callbacks

ROOT = pathlib.Path(__file__).resolve().parents[2]
# 16 training events in batches of 8 (2 steps per epoch) of the fixed-angle 25³ model, whose
# steps take seconds; the anglegan test below runs the default networks once.
TINY = ["--architecture=energygan", "--num_train=16", "--num_test=8", "--num_eval=10",
        "--batch_size=8", "--runtime_batch_sizes=1,2", "--workers=1", "--noprogress"]
FIGURES = ["example_showers", "sampling_fraction", "hits", "profiles", "profiles_log",
           "second_moments", "longitudinal_fractions", "relative_errors", "measured_angle",
           "runtime"]
LOAD_WITHOUT_CALOML = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    loaded = tf.saved_model.load(sys.argv[1])
    inputs = {"energy": tf.fill((3, 1), 150.0), "latent": tf.random.normal((3, int(sys.argv[2])))}
    if sys.argv[3] == "1":
        inputs["angle"] = tf.fill((3, 1), 1.5)
    out = loaded.serve(inputs)
    print(json.dumps({"caloml": "caloml" in sys.modules,
                      "shape": list(out["ecal"].shape), "min": float(tf.reduce_min(out["ecal"]))}))
""")


def _command(script, workdir, *extra):
    return [sys.executable, str(ROOT / script), f"--workdir={workdir}", *extra]


def _run(command, cwd, timeout=900):
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _load_without_caloml(workdir, noise_dim, angle):
    proc = _run([sys.executable, "-c", LOAD_WITHOUT_CALOML,
                 str(workdir / "generator_savedmodel"), str(noise_dim), str(int(angle))],
                workdir, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_killed_training_resumes_and_writes_every_output(tmp_path):
    workdir = tmp_path / "run"
    planned = _command("train/gan3d.py", workdir, *TINY, "--epochs=1000")
    kill_after_first_checkpoint(planned, tmp_path, workdir)
    assert not (workdir / "generator.keras").exists()

    second = _run(_command("train/gan3d.py", workdir, *TINY, "--epochs=2"), tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resumed from" in second.stderr
    history = callbacks.read_history(str(workdir / "history.json"))
    assert [entry["epoch"] for entry in history] == [1, 2]
    assert {"discriminator_loss", "generator_loss", "generator_energy_mape",
            "generator_ecal_sum_mape"} <= set(history[-1])
    for figure in FIGURES:
        for ext in ("png", "pdf"):
            assert (workdir / "plots" / f"{figure}.{ext}").is_file(), figure
    config = json.loads((workdir / "config.json").read_text())
    assert config["generator"]["architecture"] == "energygan"
    assert config["gan"]["loss_weights"] == [2.0, 0.1, 0.0, 0.1, 0.0]
    text = (workdir / "metrics.json").read_text()
    assert "Infinity" not in text and "NaN" not in text  # strict JSON
    metrics = outputs.read_json(workdir / "metrics.json")
    assert metrics["num_events"] == 8  # --num_eval=10 of the 8 test events
    assert [row["batch_size"] for row in metrics["runtime"]["rows"]] == [1, 2]
    assert metrics["reco"] is None
    assert not list(workdir.rglob("*.tmp-*"))

    loaded = _load_without_caloml(workdir, 200, angle=False)
    assert loaded == {"caloml": False, "shape": [3, 25, 25, 25], "min": loaded["min"]}
    assert loaded["min"] >= 0.0

    changed = _run(_command("train/gan3d.py", workdir, *TINY, "--epochs=2",
                            "--loss_weights=3,0.1,0,0.1,0"), tmp_path, timeout=300)
    assert changed.returncode == 2
    assert "gan.loss_weights" in changed.stderr and "Traceback" not in changed.stderr



@pytest.mark.slow  # imports TensorFlow (~10 s)
def test_evaluating_a_directory_without_a_run_is_one_line(tmp_path):
    proc = _run(_command("eval/gan3d.py", tmp_path / "nothing"), tmp_path, 300)
    _one_line_error(proc, "config.json", "train/gan3d.py --workdir")


@pytest.mark.slow
def test_the_default_anglegan_run_end_to_end(tmp_path):
    workdir = tmp_path / "angle"
    # The assessment is the energygan run's above (and tests/gan3d/test_evaluation.py's).
    proc = _run(_command("train/gan3d.py", workdir, "--num_train=4", "--num_test=4",
                         "--batch_size=2", "--epochs=1", "--noevaluate", "--workers=1",
                         "--noprogress"), tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    history = callbacks.read_history(str(workdir / "history.json"))
    assert {"generator_angle_mae_rad", "generator_bins_mape"} <= set(history[-1])
    assert all(np.isfinite(v) for v in history[-1].values() if isinstance(v, float))
    assert not (workdir / "metrics.json").exists()
    loaded = _load_without_caloml(workdir, 254, angle=True)
    assert loaded["shape"] == [3, 51, 51, 25] and not loaded["caloml"]


def _one_line_error(proc, *fragments):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in last, last
    return last


@pytest.mark.parametrize("flag, fragments", [
    ("--loss_weights=3,0.1", ("--loss_weights expects 'paper', 'tf2_port' or 5 numbers",)),
    ("--energy=200", ("--energy expects 'low,high'",)),
    ("--architecture=wgan", ("--architecture", "anglegan")),
    ("--runtime_batch_sizes=1,x", ("--runtime_batch_sizes expects integers",)),
])
def test_bad_flags_are_one_line_and_nothing_is_written(tmp_path, flag, fragments):
    proc = _run(_command("train/gan3d.py", tmp_path / "w", flag), tmp_path, 300)
    _one_line_error(proc, *fragments)
    assert not (tmp_path / "w").exists()


@pytest.mark.slow  # imports TensorFlow (~10 s)
def test_a_file_without_mtheta_points_to_the_conversion_script(tmp_path):
    import h5py

    path = tmp_path / "clic_like.h5"
    with h5py.File(path, "w") as f:
        f["ECAL"] = np.zeros((20, 51, 51, 25), np.float32)
        f["energy"] = np.full(20, 150.0, np.float32)
        f["sum"] = np.zeros(20, np.float32)
    proc = _run(_command("train/gan3d.py", tmp_path / "w", f"--data={path}", "--num_train=8",
                         "--num_test=4", "--batch_size=4"), tmp_path, 300)
    _one_line_error(proc, str(path), "prepare_3dgan_data.py")
    assert not (tmp_path / "w").exists()
