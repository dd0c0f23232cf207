"""train/sr_gan.py and eval/sr_gan.py end to end, on a tiny setup: kill, resume, outputs."""

import json
import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest
from killing import kill_after_first_checkpoint

from caloml import outputs
from caloml.training import callbacks

ROOT = pathlib.Path(__file__).resolve().parents[2]
TINY = [
    "--energy=20", "--num_train=320", "--num_classifier_train=100", "--num_val=50",
    "--num_test_photon=40", "--num_test_pi0=60", "--classifier_sizes=100",
    "--classifier_epochs=1", "--num_rrdb=1", "--batch_size=8", "--critic_steps=2",
    "--workers=1", "--pretrain_epochs=1", "--epochs=4", "--noprogress",
]
FIGURES = ["ks_history", "training_history", "training_evolution", "examples", "shower_widths",
           "barycentre_distances", "rejection"]


def _command(script, workdir, *extra):
    return [sys.executable, str(ROOT / script), f"--workdir={workdir}", *extra]


@pytest.mark.slow
def test_killed_training_resumes_and_writes_every_output(tmp_path):
    workdir = tmp_path / "run"
    # Planned for 100 epochs, killed after the first checkpoint: it cannot finish in between.
    command = _command("train/sr_gan.py", workdir, *TINY)
    planned = [flag if not flag.startswith("--epochs") else "--epochs=100" for flag in command]
    kill_after_first_checkpoint(planned, tmp_path, workdir)
    assert not (workdir / "generator.keras").exists()

    # Resumed with fewer epochs than planned (but not fewer than trained).
    second = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resumed from" in second.stderr
    history = callbacks.read_history(str(workdir / "history.json"))
    assert [entry["epoch"] for entry in history] == [1, 2, 3, 4]
    assert {"critic_loss", "generator_loss", "val_ks_photon", "val_ks_pi0",
            "val_critic_accuracy", "val_rejection_at_0.9"} <= set(history[-1])

    assert (workdir / "generator_pretrained.weights.h5").is_file()
    for name in ("generator", "classifier_hr", "classifier_lr", "classifier_sr"):
        assert (workdir / f"{name}.keras").is_file()
        assert (workdir / f"{name}_savedmodel" / "saved_model.pb").is_file()
    # Fig. 8's generator states: after epoch 1 and after the intermediate epoch (4 // 2).
    assert sorted(p.name for p in (workdir / "snapshots").iterdir()) == [
        "generator_epoch_1.weights.h5", "generator_epoch_2.weights.h5"]
    for figure in FIGURES:
        for ext in ("png", "pdf"):
            assert (workdir / "plots" / f"{figure}.{ext}").stat().st_size > 1000
    config = json.loads((workdir / "config.json").read_text())
    assert config["energy_gev"] == 20.0 and config["lambda_per"] == 3e-2
    assert config["gan"]["perceptual_features"] == "pre_activation"
    text = (workdir / "metrics.json").read_text()
    assert "Infinity" not in text and "NaN" not in text  # strict JSON
    metrics = outputs.read_json(workdir / "metrics.json")
    selection = outputs.read_json(workdir / "selection.json")
    # The selected epoch is the one with the lowest mean validation KS in the history.
    ks_mean = [0.5 * (e["val_ks_photon"] + e["val_ks_pi0"]) for e in history]
    assert selection["epoch"] == int(np.nanargmin(ks_mean)) + 1 == metrics["selected_epoch"]
    assert metrics["epochs_trained"] == 4
    assert metrics["test_events"] == {"photon": 40, "pi0": 60}
    # Photon and π⁰ widths overlap more on the coarse LR crystals than on the HR cells.
    assert metrics["width_overlap"]["LR"] > metrics["width_overlap"]["HR"]
    assert metrics["paper_width_overlap"] == {"LR": 0.52, "HR": 0.0053, "SR": 0.0090}
    assert set(metrics["cnn_rejection"]) == {"LR_100", "SR_100"}
    assert not list(workdir.rglob("*.tmp-*"))

    # A finished run rerun with other settings is refused; a lower learning rate is accepted.
    changed = subprocess.run(
        _command("train/sr_gan.py", workdir, *TINY, "--num_rrdb=2"),
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert changed.returncode == 2
    assert "holds a run with other settings (generator.num_rrdb: 1 → 2)" in changed.stderr
    assert "Traceback" not in changed.stderr
    fewer = subprocess.run(_command("train/sr_gan.py", workdir, *TINY, "--epochs=2"),
                           cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert fewer.returncode == 2
    assert len(fewer.stderr.strip().splitlines()) == 1
    assert fewer.stderr.strip().endswith(
        "holds 4 trained epochs; rerun with --epochs=4 or more, or use a new --workdir")
    assert outputs.read_json(workdir / "config.json")["epochs"] == 4

    # Re-evaluation reuses the LR and SR CNNs of Fig. 13 (same generator) unless told not to.
    before = os.path.getmtime(workdir / "metrics.json")
    evaluation = subprocess.run(_command("eval/sr_gan.py", workdir), cwd=tmp_path,
                                capture_output=True, text=True, timeout=600)
    assert evaluation.returncode == 0, evaluation.stderr[-3000:]
    assert os.path.getmtime(workdir / "metrics.json") > before
    assert "reusing the LR CNN" in evaluation.stderr and "reusing the SR CNN" in evaluation.stderr
    retrained = subprocess.run(_command("eval/sr_gan.py", workdir, "--retrain_classifiers"),
                               cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert retrained.returncode == 0, retrained.stderr[-3000:]
    assert "reusing the LR CNN" not in retrained.stderr


@pytest.mark.slow
def test_a_lower_learning_rate_may_resume_a_run(tmp_path):
    workdir = tmp_path / "run"
    short = [flag for flag in TINY if not flag.startswith(("--epochs", "--pretrain"))]
    first = subprocess.run(_command("train/sr_gan.py", workdir, *short, "--epochs=1",
                                    "--noevaluate"), cwd=tmp_path, capture_output=True,
                           text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    second = subprocess.run(_command("train/sr_gan.py", workdir, *short, "--epochs=2",
                                     "--learning_rate=5e-5", "--noevaluate"),
                            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resumed from" in second.stderr
    assert json.loads((workdir / "config.json").read_text())["gan"]["learning_rate"] == 5e-5
    assert [e["epoch"] for e in callbacks.read_history(str(workdir / "history.json"))] == [1, 2]


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_multi_worker_only_the_chief_writes(tmp_path):
    """Two local workers under MultiWorkerMirroredStrategy: one work directory, the chief's."""
    workdir = tmp_path / "run"
    ports = _free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    flags = [flag for flag in TINY if not flag.startswith(("--epochs", "--pretrain"))]
    procs = []
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    for index in range(2):
        env = dict(os.environ, TMPDIR=str(temporary), TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}))
        procs.append(subprocess.Popen(
            _command("train/sr_gan.py", workdir, *flags, "--epochs=2", "--noevaluate",
                     "--strategy=multi_worker"),
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    errors = [p.communicate(timeout=900)[1] for p in procs]
    for proc, err in zip(procs, errors, strict=True):
        assert proc.returncode == 0, err[-3000:]
    assert [e["epoch"] for e in callbacks.read_history(str(workdir / "history.json"))] == [1, 2]
    assert (workdir / "generator_savedmodel" / "saved_model.pb").is_file()
    assert (workdir / "checkpoints" / "checkpoint").is_file()
    # The non-chief worker wrote into a temporary directory, which is gone.
    assert not list(temporary.glob("caloml-worker1-*"))
