"""Kill drill: a tiny SR-GAN run killed (SIGKILL) at every phase ends as a run never killed.

The driver (tests/support/killed_run.py) makes the training kill itself at an exact point of
each phase, so the drill has no timing races. One work directory goes through all the kills in
turn; after the final rerun every output must be there and load, no temporary file or process
of the killed runs may be left, and the generator must have the weights of an uninterrupted
run with the same flags.
"""

import os
import pathlib
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

import caloml  # noqa: F401  (registers the Keras classes of the .keras exports)
from caloml import outputs
from caloml.training import callbacks

ROOT = pathlib.Path(__file__).resolve().parents[2]
DRIVER = ROOT / "tests" / "support" / "killed_run.py"
# 20 GAN steps per epoch, 4 epochs; two simulator workers, so the data phase has children.
FLAGS = [
    "--energy=20", "--num_train=160", "--num_classifier_train=100", "--num_val=50",
    "--num_test_photon=40", "--num_test_pi0=60", "--classifier_sizes=100",
    "--classifier_epochs=1", "--num_rrdb=1", "--batch_size=8", "--critic_steps=2",
    "--workers=2", "--pretrain_epochs=1", "--epochs=4", "--noprogress",
]
# In the order a run reaches them (each rerun gets further).
PHASES = ("simulation", "classifier_export", "epoch_end", "checkpoint_write", "mid_epoch",
          "export", "evaluation")
EXPORTS = ("generator", "classifier_hr", "classifier_lr", "classifier_sr")


def _train(workdir, *prefix, env=None):
    return subprocess.run([sys.executable, *prefix, "train/sr_gan.py", f"--workdir={workdir}",
                           *FLAGS], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)


def _gone(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _assert_selection_in_history(workdir):
    selection = workdir / "selection.json"
    if selection.exists():
        epochs = [e["epoch"] for e in callbacks.read_history(str(workdir / "history.json"))]
        assert outputs.read_json(selection)["epoch"] in epochs


@pytest.mark.slow
def test_a_run_killed_at_every_phase_ends_as_a_run_never_killed(tmp_path):
    reference = _train(tmp_path / "reference")
    assert reference.returncode == 0, reference.stderr[-3000:]

    workdir = tmp_path / "run"
    for phase in PHASES:
        pids = tmp_path / f"{phase}.pids"
        env = dict(os.environ, KILLED_RUN_PIDS=str(pids))
        killed = _train(workdir, str(DRIVER), phase, env=env)
        assert killed.returncode == -signal.SIGKILL, f"{phase}: {killed.stderr[-3000:]}"
        children = pids.read_text().split()
        deadline = time.monotonic() + 10
        while not all(map(_gone, children)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(map(_gone, children)), f"{phase}: processes {children} outlived their parent"
        _assert_selection_in_history(workdir)
        if phase == "simulation":
            assert len(children) == 2  # the simulator's workers
            assert list((workdir / "data").glob("*.tmp-*"))
        if phase == "classifier_export":
            # The SavedModel is in place but the .keras file is not: not a complete export.
            assert (workdir / "classifier_hr_savedmodel" / "saved_model.pb").exists()
            assert not (workdir / "classifier_hr.keras").exists()
        if phase == "epoch_end":
            history = callbacks.read_history(str(workdir / "history.json"))
            assert [e["epoch"] for e in history] == [1, 2]
            assert (workdir / "checkpoints" / "checkpoint").read_text().count("ckpt-1") >= 1

    final = _train(workdir)
    assert final.returncode == 0, final.stderr[-3000:]
    assert "removed" in final.stderr and "temporary files of killed runs" in final.stderr

    # Every output is there and loads; nothing temporary is left.
    assert not list(workdir.rglob(f"*{outputs.TMP_MARKER}*"))
    assert not list(workdir.rglob("*_temp"))
    for name in EXPORTS:
        model = keras.saving.load_model(workdir / f"{name}.keras")
        loaded = tf.saved_model.load(str(workdir / f"{name}_savedmodel"))
        shape = [1, *(size or 6 for size in model.inputs[0].shape[1:])]  # free sizes: LR
        x = np.random.default_rng(0).random(shape, dtype=np.float32)
        np.testing.assert_allclose(loaded.serve(x), model(x), rtol=1e-5, atol=1e-6)
    history = callbacks.read_history(str(workdir / "history.json"))
    assert [e["epoch"] for e in history] == [1, 2, 3, 4]
    _assert_selection_in_history(workdir)
    assert sorted(p.name for p in (workdir / "snapshots").iterdir()) == [
        "generator_epoch_1.weights.h5", "generator_epoch_2.weights.h5"]
    metrics = outputs.read_json(workdir / "metrics.json")
    assert metrics["epochs_trained"] == 4
    assert len(list((workdir / "plots").glob("*.png"))) == len(
        list((workdir / "plots").glob("*.pdf"))) >= 7

    # The same generator (and selection, and history) as the run that was never killed.
    ours = keras.saving.load_model(workdir / "generator.keras").get_weights()
    theirs = keras.saving.load_model(tmp_path / "reference" / "generator.keras").get_weights()
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert outputs.read_json(workdir / "selection.json") == outputs.read_json(
        tmp_path / "reference" / "selection.json")
    theirs = callbacks.read_history(str(tmp_path / "reference" / "history.json"))
    for mine, other in zip(history, theirs, strict=True):
        assert mine.keys() == other.keys()
        np.testing.assert_allclose([mine[k] for k in mine], [other[k] for k in mine],
                                   rtol=1e-4)
