"""The baseline entry scripts, each run once on a tiny simulated sample."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from caloml import outputs
from caloml.reco import evaluation

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = ["--num_train=60", "--num_validation=20", "--workers=1", "--threads=1", "--noprogress"]


def run(script, *args, cwd):
    return subprocess.run([sys.executable, str(ROOT / "baselines" / script), *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


@pytest.mark.slow
def test_bdt_script(tmp_path):
    workdir = tmp_path / "bdt"
    proc = run("bdt.py", "--task=gamma_pi0", "--method=adaboost", f"--workdir={workdir}",
               "--seed=3", "--num_test=40", *TINY, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    config = outputs.read_json(workdir / "config.json")
    assert (config["task"], config["method"], config["seed"]) == ("gamma_pi0", "adaboost", 3)
    assert config["data"]["num_train"] == 60 and config["data"]["seed"] == 3
    metrics = outputs.read_json(workdir / "metrics.json")
    predictions = evaluation.read_predictions(workdir / "predictions_gamma_pi0.npz")
    assert predictions.method == "adaboost"
    assert sum(metrics["num_test"].values()) == predictions.num_events
    assert np.isfinite(metrics["test_auc"])
    assert (workdir / "bdt.joblib").exists()
    assert (workdir / "plots" / "feature_importance.pdf").exists()


@pytest.mark.slow
def test_regression_script(tmp_path):
    workdir = tmp_path / "regression"
    # 100 test photons: enough for the energy-response figure's bins of at least 10 events.
    proc = run("regression.py", "--method=xgboost", "--particle=photon",
               f"--workdir={workdir}", "--num_test=100", *TINY, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = outputs.read_json(workdir / "metrics.json")
    assert list(metrics["particles"]) == ["photon"]
    assert metrics["particles"]["photon"]["num_test"] == 100
    predictions = evaluation.read_predictions(workdir / "predictions_regression.npz")
    assert predictions.num_events == 100 and np.all(np.isfinite(predictions.energy_pred_gev))
    assert sorted(os.listdir(workdir)) == [
        "config.json", "data", "metrics.json", "plots", "predictions_regression.npz",
        "xgboost_photon.json"]


@pytest.mark.parametrize("script, args, message", [
    ("regression.py", ["--particle=muon"], "flag --particle=muon: value should be one of"),
    ("bdt.py", ["--n_iter=0"], "flag --n_iter=0: 0 is not a positive integer"),
    ("bdt.py", ["--data=/no/such/dir", "--task=e_pi"],
     "--data=/no/such/dir: no file 'electron.h5' for the electrons"),
])
def test_bad_flags_are_one_line_errors(tmp_path, script, args, message):
    proc = run(script, f"--workdir={tmp_path / 'out'}", *args, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
