"""train/calpagan.py and eval/calpagan.py on tiny Pythia samples: kill, resume, outputs, the
SavedModel without caloml, and bad input (one long test: every run is reused by the next step)."""

import json
import pathlib
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest
from killing import kill_after_first_checkpoint

from caloml import outputs
from caloml.events import generation
from caloml.training import callbacks

ROOT = pathlib.Path(__file__).resolve().parents[2]
# 16 training events in batches of 8 (2 steps per epoch) of the paper-size networks, 8 held out,
# 8 events per process for the feature classifier.
TINY = ["--num_train=16", "--num_test=8", "--fid_events=8", "--batch_size=8",
        "--classifier_epochs=1", "--runtime_batch_sizes=1,2", "--workers=1", "--noprogress"]
LOAD_WITHOUT_CALOML = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    loaded = tf.saved_model.load(sys.argv[1])
    fast = np.zeros((2, 72, 72), np.float32)
    fast[0, 36, 10] = 80.0
    fast[0, 37, 10] = 20.0
    out = loaded.serve(tf.constant(fast)).numpy()
    print(json.dumps({"caloml": "caloml" in sys.modules, "shape": list(out.shape),
                      "min": float(out.min()), "empty_event_sum": float(out[1].sum())}))
""")


@pytest.fixture(scope="module")
def events_files(tmp_path_factory):
    """24 W+jets events (16 train + 8 test) and 16 dijet events (8 classifier + 8 test)."""
    directory = tmp_path_factory.mktemp("events")
    wjets, dijet = directory / "wjets.h5", directory / "dijet.h5"
    generation.generate_to_file(wjets, "wjets", 24, seed=5)
    generation.generate_to_file(dijet, "dijet", 16, seed=6)
    return wjets, dijet


def _run(command, cwd, timeout=900):
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _train(workdir, events_files, *extra):
    wjets, dijet = events_files
    return [sys.executable, str(ROOT / "train/calpagan.py"), f"--workdir={workdir}",
            f"--data={wjets}", f"--other_data={dijet}", *TINY, *extra]


@pytest.mark.slow
def test_killed_training_resumes_and_writes_every_output(tmp_path, events_files):
    workdir = tmp_path / "run"
    kill_after_first_checkpoint(_train(workdir, events_files, "--epochs=1000"), tmp_path,
                                workdir)
    assert not (workdir / "generator.keras").exists()
    assert (workdir / "fid_classifier.keras").is_file()  # trained once, before the GAN

    second = _run(_train(workdir, events_files, "--epochs=2", "--noevaluate"), tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resumed from" in second.stderr
    assert "training the Fréchet-distance feature classifier" not in second.stderr
    history = callbacks.read_history(str(workdir / "history.json"))
    assert [entry["epoch"] for entry in history] == [1, 2]
    assert {"generator_loss", "discriminator_loss", "l1_loss", "adversarial_loss"} <= set(
        history[-1])
    # The Fréchet curve: epoch 0 (untrained) and one entry per epoch, none twice after the kill.
    fid = outputs.read_json(workdir / "fid_history.json")["epochs"]
    assert [entry["epoch"] for entry in fid] == [0, 1, 2]
    assert set(fid[-1]["test"]) == {"fast-detailed", "detailed-calpagan", "fast-calpagan"}
    # The fast and detailed images do not change during training: nor does their distance.
    assert fid[0]["train"]["fast-detailed"] == pytest.approx(fid[2]["train"]["fast-detailed"])

    # The SavedModel translates fast GeV images in a process that never imports caloml.
    proc = _run([sys.executable, "-c", LOAD_WITHOUT_CALOML,
                 str(workdir / "generator_savedmodel")], tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded == {"caloml": False, "shape": [2, 72, 72], "min": loaded["min"],
                      "empty_event_sum": 0.0}
    assert loaded["min"] >= 0.0

    config = json.loads((workdir / "config.json").read_text())
    assert config["process"] == "wjets" and config["training"]["lambda_l1"] == 100.0
    assert config["discriminator"]["conditional"] is True
    assert not (workdir / "metrics.json").exists()

    assessed = _run([sys.executable, str(ROOT / "eval/calpagan.py"), f"--workdir={workdir}"],
                    tmp_path)
    assert assessed.returncode == 0, assessed.stderr[-3000:]
    for name in ("wjets_events", "wjets_observables", "dijet_events", "dijet_observables",
                 "frechet_history", "losses", "inference_time"):
        for ext in ("png", "pdf"):
            assert (workdir / "plots" / f"{name}.{ext}").is_file(), name
    text = (workdir / "metrics.json").read_text()
    assert "Infinity" not in text and "NaN" not in text  # strict JSON
    metrics = outputs.read_json(workdir / "metrics.json")
    assert metrics["trained_process"] == "wjets"
    assert metrics["processes"]["dijet"]["cross_process"] is True
    assert metrics["processes"]["wjets"]["num_events"] == 8
    assert [row["batch_size"] for row in metrics["inference"]["rows"]] == [1, 2]
    assert metrics["parameters"]["generator"] == 7_342_353
    assert metrics["threshold_gev"] > 0
    assert not list(workdir.rglob("*.tmp-*"))


@pytest.mark.slow
def test_bad_input_ends_in_one_line(tmp_path, events_files):
    wjets, dijet = events_files
    # A file whose fast and detailed images disagree in event count.
    broken = tmp_path / "broken.h5"
    broken.write_bytes(pathlib.Path(wjets).read_bytes())
    with h5py.File(broken, "r+") as f:
        detailed = f["detailed"][:-1]
        del f["detailed"]
        f.create_dataset("detailed", data=detailed)
    # Images of another grid size.
    coarse = tmp_path / "coarse.h5"
    coarse.write_bytes(pathlib.Path(wjets).read_bytes())
    with h5py.File(coarse, "r+") as f:
        for key in ("fast", "detailed"):
            small = f[key][:, :36, :36]
            del f[key]
            f.create_dataset(key, data=small)
    cases = [
        (["--process=zjets"], "process"),
        ([f"--data={broken}"], "both images must be of the same events"),
        ([f"--data={coarse}"], "grid size"),
        ([f"--data={dijet}", f"--other_data={wjets}"], "dijet"),
        (["--variant=pix2pix"], "variant"),
    ]
    for extra, expected in cases:
        workdir = tmp_path / f"bad_{expected.replace(' ', '_')}"
        proc = _run(_train(workdir, events_files, "--epochs=1", *extra), tmp_path)
        assert proc.returncode != 0, extra
        last = proc.stderr.strip().splitlines()[-1]
        assert expected in last, (extra, proc.stderr[-2000:])
        assert "Traceback" not in proc.stderr, extra
        assert not (workdir / "checkpoints").exists(), extra


def test_events_files_hold_both_renderings_of_the_same_events(events_files):
    """Both renderings of a row are of one Pythia event."""
    wjets, _ = events_files
    with h5py.File(wjets) as f:
        fast, detailed = f["fast"][:], f["detailed"][:]
    assert fast.shape == detailed.shape == (24, 72, 72)
    # The same events: an event's detailed image overlaps its own fast image (after a 3 x 3
    # smearing) far more than the next event's.
    def smooth(images):
        padded = np.pad(np.log1p(images), ((0, 0), (1, 1), (0, 0)))
        rows = padded[:, :-2] + padded[:, 1:-1] + padded[:, 2:]
        return rows + np.roll(rows, 1, axis=2) + np.roll(rows, -1, axis=2)

    a, b = smooth(fast).reshape(24, -1), smooth(detailed).reshape(24, -1)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    matched = np.sum(a * b, axis=1)
    shuffled = np.sum(a * np.roll(b, 1, axis=0), axis=1)
    assert np.all(matched > shuffled)
    assert matched.min() > 3 * shuffled.mean()
