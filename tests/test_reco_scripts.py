"""train/reco.py, baselines/regression.py and eval/reco.py together, as a user runs them."""

import pathlib
import subprocess
import sys

import h5py
import numpy as np
import pytest

from caloml import outputs
from caloml.reco import evaluation

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run(cwd, script, *flags, timeout=600):
    return subprocess.run([sys.executable, str(ROOT / script), *flags], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd)


SIZES = ("--num_train=60", "--num_validation=10", "--num_test=40")


@pytest.mark.slow
def test_network_and_baseline_runs_combine_into_one_report(tmp_path):
    proc = run(tmp_path, "train/reco.py", "--model=dnn", "--task=gamma_pi0", "--workdir=dnn",
               *SIZES, "--batch_size=40", "--epochs=1", "--noprogress", "--workers=1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "dnn" / "dnn_savedmodel" / "saved_model.pb").is_file()
    proc = run(tmp_path, "baselines/regression.py", "--method=linear", "--particle=photon",
               "--data=dnn/data", "--workdir=linear", *SIZES, "--noprogress")
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run(tmp_path, "eval/reco.py", "--runs=dnn,linear", "--workdir=report")
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = outputs.read_json(tmp_path / "report" / "metrics.json")
    photon = summary["regression"]["clic"]["variable"]["photon"]
    assert sorted(photon) == ["dnn", "linear"]
    assert sorted(summary["regression"]["clic"]["variable"]) == ["photon", "pi0"]
    table = (tmp_path / "report" / "summary.md").read_text()
    assert "DNN" in table and "Linear" in table
    # Both methods saw the same 40 test photons.
    dnn = evaluation.read_predictions(tmp_path / "dnn" / "predictions.npz")
    linear = evaluation.read_predictions(
        next((tmp_path / "linear").glob("predictions*.npz")))
    np.testing.assert_array_equal(dnn.energy_true_gev[dnn.pdg == 22], linear.energy_true_gev)


@pytest.mark.slow
def test_bad_flags_and_data_are_one_line_errors(tmp_path):
    proc = run(tmp_path, "train/reco.py", "--task=regression", "--workdir=run")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: --particle is needed")
    proc = run(tmp_path, "train/reco.py", "--model=resnet")
    assert proc.returncode != 0 and "--model" in proc.stderr and "Traceback" not in proc.stderr
    data = tmp_path / "data"
    data.mkdir()
    with h5py.File(data / "photon.h5", "w") as h5:   # an srgamma-like file, not clic
        h5["lr"] = np.zeros((4, 24, 24), np.float32)
    proc = run(tmp_path, "train/reco.py", f"--data={data}", "--workdir=run2")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()[-1:]
    assert "photon.h5" in line and "missing key 'ECAL'" in line
    assert not (tmp_path / "run2").exists()
    proc = run(tmp_path, "eval/reco.py", "--runs=nowhere")
    assert proc.returncode == 2 and "'nowhere' is not a directory" in proc.stderr
