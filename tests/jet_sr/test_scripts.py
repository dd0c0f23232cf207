"""train/jet_sr.py and eval/jet_sr.py on tiny Pythia samples: kill, resume, outputs, exports,
the RRDB scan (Fig. 11) and bad input (one long test: every run is reused by the next step)."""

import json
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from killing import kill_after_first_checkpoint

from caloml import outputs
from caloml.jets import generation
from caloml.training import callbacks

ROOT = pathlib.Path(__file__).resolve().parents[2]
# 30 training jets in batches of 15 (2 steps per epoch) of a one-RRDB generator with 8
# filters and small discriminators; the paper-size networks are counted in test_networks.
TINY = ["--num_train=30", "--num_test=8", "--num_eval=8", "--num_rrdb=1", "--filters=8",
        "--discriminator_filters=4,8,8,16", "--warmup_batches=1", "--reset_interval=2",
        "--workers=1", "--noprogress"]
FIGURES = ["average_images", "leading_constituents", "patches", "observables",
           "relative_differences"]
LOAD_WITHOUT_CALOML = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    loaded = tf.saved_model.load(sys.argv[1])
    lr = np.zeros((2, 20, 20, 1), np.float32)
    lr[:, 9, 10, 0] = [400.0, 0.0]
    lr[:, 10, 10, 0] = [150.0, 0.0]
    out = loaded.serve(tf.constant(lr))
    sr = out["sr"].numpy()
    print(json.dumps({"caloml": "caloml" in sys.modules, "shape": list(sr.shape),
                      "min": float(sr.min())}))
""")


@pytest.fixture(scope="module")
def jets_files(tmp_path_factory):
    """38 QCD jets (30 train + 8 test) and 8 top jets, generated with Pythia 8."""
    directory = tmp_path_factory.mktemp("jets")
    qcd, top = directory / "qcd.h5", directory / "top.h5"
    generation.generate_to_file(qcd, "qcd", 38, seed=5)
    generation.generate_to_file(top, "top", 8, seed=6)
    return qcd, top


def _run(command, cwd, timeout=900):
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _train(workdir, jets_files, *extra):
    qcd, top = jets_files
    return [sys.executable, str(ROOT / "train/jet_sr.py"), f"--workdir={workdir}",
            f"--data={qcd}", f"--other_data={top}", *TINY, *extra]


@pytest.mark.slow
def test_killed_training_resumes_writes_every_output_and_joins_an_rrdb_scan(tmp_path, jets_files):
    workdir = tmp_path / "run"
    kill_after_first_checkpoint(_train(workdir, jets_files, "--epochs=1000"), tmp_path, workdir)
    assert not (workdir / "generator.keras").exists()

    # The assessment is left to eval/jet_sr.py, which needs nothing but the work directory.
    second = _run(_train(workdir, jets_files, "--epochs=2", "--noevaluate"), tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resumed from" in second.stderr
    history = callbacks.read_history(str(workdir / "history.json"))
    assert [entry["epoch"] for entry in history] == [1, 2]
    assert {"generator_loss", "discriminator_loss", "hr_loss", "lr_loss", "patch_loss",
            "adversarial_loss", "gradient_penalty"} <= set(history[-1])
    # The SavedModel runs in a process that never imports caloml: SR is non-negative and 8×
    # the LR size.
    proc = _run([sys.executable, "-c", LOAD_WITHOUT_CALOML,
                 str(workdir / "generator_savedmodel")], tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded["caloml"] is False
    assert loaded["shape"] == [2, 160, 160, 1]
    assert loaded["min"] >= 0.0

    config = json.loads((workdir / "config.json").read_text())
    assert config["jets"] == "qcd" and config["generator"]["factor"] == 8
    assert config["discriminator"]["filters"] == [4, 8, 8, 16]
    assert not (workdir / "metrics.json").exists()

    assessed = _run([sys.executable, str(ROOT / "eval/jet_sr.py"), f"--workdir={workdir}"],
                    tmp_path)
    assert assessed.returncode == 0, assessed.stderr[-3000:]
    for pairing in ("qcd_on_qcd", "qcd_on_top"):
        for figure in FIGURES:
            for ext in ("png", "pdf"):
                assert (workdir / "plots" / f"{pairing}_{figure}.{ext}").is_file(), figure
    assert (workdir / "plots" / "factor_scan_qcd.png").is_file()
    text = (workdir / "metrics.json").read_text()
    assert "Infinity" not in text and "NaN" not in text  # strict JSON
    metrics = outputs.read_json(workdir / "metrics.json")
    assert metrics["trained_on"] == "qcd" and metrics["num_rrdb"] == 1
    assert set(metrics["qcd_on_qcd"]["closer_fraction"]) >= {"tau2", "tau3", "c02"}
    assert set(metrics["factor_scan"]) == {"qcd"}
    assert len(metrics["history"]["epochs"]) == 2  # the losses travel with the metrics
    assert not list(workdir.rglob("*.tmp-*"))

    # Fig. 11: this run (1 RRDB) and a 2-RRDB one, assessed side by side.
    deeper = tmp_path / "rrdb2"
    proc = _run(_train(deeper, jets_files, "--epochs=1", "--noevaluate", "--num_rrdb=2"),
                tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    output = tmp_path / "scan"
    proc = _run([sys.executable, str(ROOT / "eval/jet_sr.py"), f"--scan={workdir},{deeper}",
                 f"--output={output}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = outputs.read_json(output / "rrdb_scan.json")
    scan = result["scans"]["trained on QCD, applied to QCD"]
    assert scan["num_rrdb"] == [1, 2]
    assert np.asarray(scan["wasserstein_gev"]).shape == (2, 15)
    assert (output / "plots" / "rrdb_scan.png").is_file()


def _fails(command, cwd):
    proc = _run(command, cwd, timeout=300)
    assert proc.returncode != 0
    return proc.stderr.strip().splitlines()[-1]


def test_a_bad_factor_is_a_one_line_error(tmp_path):
    line = _fails([sys.executable, str(ROOT / "train/jet_sr.py"), f"--workdir={tmp_path}/w",
                   "--factor=3"], tmp_path)
    assert "--factor=3: the factor must be 2, 4 or 8" in line
    assert not (tmp_path / "w").exists()


def test_an_unknown_process_is_a_usage_error(tmp_path):
    line = _fails([sys.executable, str(ROOT / "train/jet_sr.py"), f"--workdir={tmp_path}/w",
                   "--jets=gluino"], tmp_path)
    assert "--jets" in line and "qcd" in line and "top" in line


@pytest.mark.slow
def test_a_file_of_another_layout_is_named_before_anything_is_written(tmp_path):
    from caloml.sim import core

    other = tmp_path / "calogan.h5"
    core.simulate_to_file(str(other), "calogan", "positron", 4, seed=1)
    line = _fails([sys.executable, str(ROOT / "train/jet_sr.py"), f"--workdir={tmp_path}/w",
                   f"--data={other}", *TINY], tmp_path)
    assert str(other) in line and "is a 'calogan'-layout file" in line and "hr [N, 160" in line
    assert not (tmp_path / "w").exists()


def test_eval_needs_one_of_workdir_or_scan(tmp_path):
    line = _fails([sys.executable, str(ROOT / "eval/jet_sr.py")], tmp_path)
    assert "give either --workdir" in line
