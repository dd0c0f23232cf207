"""``python -m caloml.events``: writes a valid events file, rejects bad input in one line."""

import subprocess
import sys

import pytest

from caloml.data import events as events_data
from caloml.io import hdf5


def _run(*args):
    return subprocess.run([sys.executable, "-m", "caloml.events", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
def test_cli_writes_an_events_file(tmp_path):
    out = tmp_path / "wjets.h5"
    result = _run("--process=wjets", "--num_events=3", "--seed=1", "--workers=1",
                  "--pt_hat_min=60", f"--output={out}")
    assert result.returncode == 0, result.stderr
    assert events_data.check_file(out) == 3
    attrs = hdf5.read_attrs(out)
    assert attrs["process"] == "wjets" and attrs["seed"] == 1 and attrs["num_events"] == 3
    assert attrs["pt_hat_min_gev"] == 60.0
    data = events_data.read_events(out)
    assert (data["process"] == 1).all()
    for key in ("fast", "detailed"):
        assert (data[key].sum(axis=(1, 2)) > 0).all(), key
    # p̂T > 60 GeV: every event has a particle-level jet of 20 GeV or more.
    assert (data["num_truth_jets"] >= 1).all() and (data["truth_jets"][:, 0, 0] > 20).all()
    assert "event/s]" in result.stderr  # the progress bar
    assert "FastJet release" not in result.stdout  # the library prints nothing


@pytest.mark.parametrize("args, message", [
    (["--process=zjets"], "--process=zjets: value should be one of <wjets|dijet>"),
    (["--process=dijet", "--num_events=0"], "--num_events=0"),
    (["--process=dijet", "--pt_hat_min=0"], "--pt_hat_min=0"),
    (["--process=dijet", "--output=/nonexistent-dir/x.h5"], "does not exist"),
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

