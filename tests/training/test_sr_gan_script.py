"""train/sr_gan.py and eval/sr_gan.py end to end, on a tiny setup: kill, resume, outputs."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TINY = [
    "--energy=20", "--num_train=320", "--num_classifier_train=100", "--num_val=50",
    "--num_test=50", "--classifier_sizes=100", "--classifier_epochs=1", "--num_rrdb=1",
    "--batch_size=8", "--critic_steps=2", "--workers=1", "--pretrain_epochs=1", "--epochs=3",
]
FIGURES = ["ks_history", "training_history", "average_images", "examples", "shower_widths",
           "barycentre_distances", "rejection"]


def _command(script, workdir, *extra):
    return [sys.executable, str(ROOT / script), f"--workdir={workdir}", *extra]


@pytest.mark.slow
def test_killed_training_resumes_and_writes_every_output(tmp_path):
    workdir = tmp_path / "run"
    command = _command("train/sr_gan.py", workdir, *TINY)
    first = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    # The manager's state file names a checkpoint only once it is complete.
    state = workdir / "checkpoints" / "checkpoint"

    def saved():
        return state.exists() and "ckpt-1" in state.read_text()

    deadline = time.monotonic() + 600
    while not saved() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.poll() is None, f"training ended before it could be killed: {first.stderr}"
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert not (workdir / "generator.keras").exists()

    second = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resumed from" in second.stderr
    history = json.loads((workdir / "history.json").read_text())
    assert [entry["epoch"] for entry in history] == [1, 2, 3]
    assert {"critic_loss", "generator_loss", "val_ks_photon", "val_ks_pi0"} <= set(history[-1])

    assert (workdir / "generator_pretrained.weights.h5").is_file()
    for name in ("generator", "classifier_hr", "classifier_lr", "classifier_sr"):
        assert (workdir / f"{name}.keras").is_file()
        assert (workdir / f"{name}_savedmodel" / "saved_model.pb").is_file()
    for figure in FIGURES:
        for ext in ("png", "pdf"):
            assert (workdir / "plots" / f"{figure}.{ext}").stat().st_size > 1000
    config = json.loads((workdir / "config.json").read_text())
    assert config["energy_gev"] == 20.0 and config["lambda_per"] == 3e-2
    metrics = json.loads((workdir / "metrics.json").read_text())
    selection = json.loads((workdir / "selection.json").read_text())
    assert metrics["selected_epoch"] == selection["epoch"] in (1, 2, 3)
    assert metrics["epochs_trained"] == 3
    assert set(metrics["width_overlap"]) == {"LR", "HR", "SR"}
    assert all(0.0 <= v <= 1.0 for v in metrics["width_overlap"].values())
    assert metrics["paper_width_overlap"] == {"LR": 0.52, "HR": 0.0053, "SR": 0.0090}
    assert set(metrics["cnn_rejection"]) == {"LR_100", "SR_100"}
    assert not list(workdir.rglob("*.tmp-*"))

    # A finished run rerun with more epochs continues; other settings are refused.
    changed = subprocess.run(
        _command("train/sr_gan.py", workdir, *TINY[:-1], "--epochs=3", "--num_rrdb=2"),
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert changed.returncode == 2
    assert "holds a run with other settings" in changed.stderr
    assert "Traceback" not in changed.stderr

    before = os.path.getmtime(workdir / "metrics.json")
    evaluation = subprocess.run(_command("eval/sr_gan.py", workdir), cwd=tmp_path,
                                capture_output=True, text=True, timeout=600)
    assert evaluation.returncode == 0, evaluation.stderr[-3000:]
    assert os.path.getmtime(workdir / "metrics.json") > before


@pytest.mark.slow
def test_bad_flags_are_one_line_errors(tmp_path):
    for flag, message in [("--energy=35", "set --lambda_per"),
                          ("--classifier_sizes=1k", "--classifier_sizes expects integers")]:
        proc = subprocess.run(_command("train/sr_gan.py", tmp_path / "x", flag), cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert message in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run(_command("eval/sr_gan.py", tmp_path / "missing"), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "config.json' does not exist" in proc.stderr and "Traceback" not in proc.stderr
