"""``python -m caloml.jets``: writes a valid jets file, rejects bad input in one line."""

import subprocess
import sys

import numpy as np
import pytest

from caloml.data import jets as jets_data
from caloml.io import hdf5


def _run(*args):
    return subprocess.run([sys.executable, "-m", "caloml.jets", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
def test_cli_writes_a_jets_file(tmp_path):
    out = tmp_path / "top.h5"
    result = _run("--process=top", "--num_jets=2", "--seed=1", "--workers=1", f"--output={out}")
    assert result.returncode == 0, result.stderr
    assert jets_data.check_file(out) == 2
    attrs = hdf5.read_attrs(out)
    assert attrs["process"] == "top" and attrs["seed"] == 1 and attrs["num_jets"] == 2
    data = jets_data.read_jets(out, 8)
    assert (data["is_top"] == 1).all()
    assert ((data["jet"][:, 0] >= 550) & (data["jet"][:, 0] <= 650)).all()
    assert np.all(data["lr"].sum(axis=(1, 2)) > 0)
    assert "FastJet release" not in result.stdout  # the library prints nothing


@pytest.mark.parametrize("args, message", [
    (["--process=higgs"], "--process=higgs: value should be one of <top|qcd>"),
    (["--process=top", "--pt_min=700"], "--pt_min=700 must be below --pt_max=650"),
    (["--process=top", "--num_jets=0"], "--num_jets=0"),
    (["--process=top", "--output=/nonexistent-dir/x.h5"], "does not exist"),
])
def test_cli_rejects_bad_input_with_a_short_error(tmp_path, args, message):
    if not any(a.startswith("--output") for a in args):
        args = [*args, f"--output={tmp_path / 'x.h5'}"]
    result = _run(*args)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) <= 2, result.stderr  # absl adds "Pass --helpshort ..." to flag errors
    assert not (tmp_path / "x.h5").exists()


def test_cli_names_the_window_when_no_jet_passes(tmp_path):
    result = _run("--process=qcd", "--num_jets=1", "--eta_max=0.01", "--max_tries=16",
                  "--workers=1", f"--output={tmp_path / 'x.h5'}")
    assert result.returncode != 0
    assert "550-650 GeV and |eta| < 0.01" in result.stderr and "after 16 events" in result.stderr
    assert "Traceback" not in result.stderr
    # Besides the progress bar, one line: the error.
    lines = [line for line in result.stderr.splitlines() if line.strip() and "jet/s]" not in line]
    assert len(lines) == 1 and lines[0].startswith("error: qcd: 0 of 1 jets"), result.stderr
    assert not (tmp_path / "x.h5").exists()
