"""train/calogan.py and eval/calogan.py on a tiny setup: kill, resume, outputs, errors."""

import json
import pathlib
import subprocess
import sys

import h5py
import numpy as np
import pytest
from killing import kill_after_first_checkpoint

from caloml import outputs
from caloml.training import callbacks

ROOT = pathlib.Path(__file__).resolve().parents[2]
# 60 training showers in batches of 16 (3 steps per epoch); a small latent keeps the generator's
# dense layers small; the discriminator is the paper's.
TINY = ["--num_train=60", "--num_test=30", "--batch_size=16", "--latent_dim=8",
        "--num_response=10", "--workers=1", "--noprogress"]
FIGURES = ["average_images_positron", "shower_shapes_positron", "nearest_neighbours_positron",
           "nn_distances_positron", "energy_response_positron", "runtime"]


def _command(script, workdir, *extra):
    return [sys.executable, str(ROOT / script), f"--workdir={workdir}", *extra]


def _run(command, cwd, timeout=900):
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_killed_training_resumes_and_writes_every_output(tmp_path):
    workdir = tmp_path / "run"
    planned = _command("train/calogan.py", workdir, *TINY, "--epochs=1000")
    kill_after_first_checkpoint(planned, tmp_path, workdir)
    assert not (workdir / "generator.keras").exists()

    second = _run(_command("train/calogan.py", workdir, *TINY, "--epochs=3"), tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resumed from" in second.stderr
    history = callbacks.read_history(str(workdir / "history.json"))
    assert [entry["epoch"] for entry in history] == [1, 2, 3]
    assert {"discriminator_loss", "generator_loss", "generator_energy_error_gev",
            "discriminator_real_accuracy"} <= set(history[-1])
    assert (workdir / "generator.keras").is_file()
    assert (workdir / "generator_savedmodel" / "saved_model.pb").is_file()
    for figure in FIGURES:
        for ext in ("png", "pdf"):
            assert (workdir / "plots" / f"{figure}.{ext}").is_file()
    config = json.loads((workdir / "config.json").read_text())
    assert config["particles"] == ["positron"] and config["generator"]["latent_dim"] == 8
    assert config["gan"]["generator_learning_rate"] == 2e-4
    text = (workdir / "metrics.json").read_text()
    assert "Infinity" not in text and "NaN" not in text  # strict JSON
    metrics = outputs.read_json(workdir / "metrics.json")
    positron = metrics["particles"]["positron"]
    assert positron["num_test"] == 30 and positron["num_train"] == 60
    assert set(positron["energy_response"]) == {"10", "50", "90", "150", "200"}
    assert positron["energy_response"]["150"]["inside_training_range"] is False
    assert [row["batch_size"] for row in metrics["runtime"]["rows"]] == [1, 4, 128, 512, 1024]
    assert not list(workdir.rglob("*.tmp-*"))

    # Another setting is refused in one line; fewer epochs than trained too.
    changed = _run(_command("train/calogan.py", workdir, *TINY, "--epochs=3", "--noattention"),
                   tmp_path, timeout=300)
    assert changed.returncode == 2
    assert "generator.attention: True → False" in changed.stderr
    assert "Traceback" not in changed.stderr

    # Re-evaluation of the exported generator rewrites metrics.json.
    evaluation = _run(_command("eval/calogan.py", workdir), tmp_path, timeout=600)
    assert evaluation.returncode == 0, evaluation.stderr[-3000:]
    again = outputs.read_json(workdir / "metrics.json")
    assert again["particles"]["positron"]["shower_shapes"] == positron["shower_shapes"]


def _one_line_error(proc, *fragments):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in last, last
    return last


def test_an_unknown_particle_is_one_line(tmp_path):
    proc = _run(_command("train/calogan.py", tmp_path / "w", "--particle=kaon"), tmp_path, 300)
    _one_line_error(proc, "unknown particle 'kaon'", "positron, photon, piplus")
    assert not (tmp_path / "w").exists()


def _write_public_file(path, num=40, scale=1000.0, drop=None):
    rng = np.random.default_rng(0)
    energy = rng.uniform(1, 100, (num, 1))
    with h5py.File(path, "w") as f:
        for key, shape in (("layer_0", (3, 96)), ("layer_1", (12, 12)), ("layer_2", (12, 6))):
            if key == drop:
                continue
            cells = rng.random((num, *shape))
            cells *= (energy[:, :, None] * scale / 3) / cells.sum(axis=(1, 2))[:, None, None]
            f[key] = cells  # float64, as the public files may hold
        f["energy"] = energy
        f["overflow"] = np.zeros((num, 3))


@pytest.mark.slow  # imports TensorFlow (~10 s)
def test_bad_data_files_are_one_line_and_nothing_is_written(tmp_path):
    missing = tmp_path / "eplus_missing.hdf5"
    _write_public_file(missing, drop="layer_2")
    gev = tmp_path / "eplus_gev.hdf5"
    _write_public_file(gev, scale=1.0)
    for path, fragments in ((missing, ("has no 'layer_2'",)),
                            (gev, ("they look like GeV", "MeV"))):
        workdir = tmp_path / f"w_{path.stem}"
        proc = _run(_command("train/calogan.py", workdir, f"--data={path}", "--num_train=20",
                             "--num_test=10", "--batch_size=8"), tmp_path, 300)
        _one_line_error(proc, str(path), *fragments)
        assert not workdir.exists()
    good = tmp_path / "eplus.hdf5"
    _write_public_file(good)
    proc = _run(_command("train/calogan.py", tmp_path / "w2", f"--data={good}",
                         "--particle=positron,photon"), tmp_path, 300)
    _one_line_error(proc, "--data")
