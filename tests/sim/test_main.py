"""``python -m caloml.sim``: writes a valid file, rejects bad input in one line."""

import os
import subprocess
import sys

import numpy as np
import pytest

from caloml.io import hdf5, schema


def _run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "caloml.sim", *args], capture_output=True, text=True, cwd=cwd,
        timeout=120,
    )


def test_cli_writes_the_srgamma_layout(tmp_path):
    out = tmp_path / "pi0_50GeV.h5"
    result = _run("--geometry=srgamma", "--particle=pi0", "--energy=50", "--num_showers=300",
                  "--seed=1", f"--output={out}", "--workers=2")
    assert result.returncode == 0, result.stderr
    assert hdf5.validate_file(out, schema.SRGAMMA) == 300
    data = hdf5.read_arrays(out, schema.SRGAMMA)
    assert (data["pdg"] == 111).all()
    np.testing.assert_allclose(data["energy"], 50.0)
    assert hdf5.read_attrs(out)["particle"] == "pi0"


def test_cli_writes_the_calogan_layout(tmp_path):
    out = tmp_path / "eplus.hdf5"
    result = _run("--geometry=calogan", "--particle=positron", "--energy=1,100",
                  "--num_showers=300", f"--output={out}", "--workers=2", "--truth")
    assert result.returncode == 0, result.stderr
    assert hdf5.validate_file(out, schema.CALOGAN) == 300
    data = hdf5.read_arrays(out, schema.CALOGAN, keys=["energy", "leakage_gev"])
    assert data["energy"].shape == (300, 1)
    assert 1 <= data["energy"].min() and data["energy"].max() <= 100
    attrs = hdf5.read_attrs(out)
    assert attrs["geometry"] == "calogan" and attrs["particle"] == "positron"


def test_cli_records_only_the_options_given(tmp_path):
    out = tmp_path / "photon.h5"
    result = _run("--particle=photon", "--num_showers=10", "--gun_sigma_mm=0", f"--output={out}")
    assert result.returncode == 0, result.stderr
    attrs = hdf5.read_attrs(out)
    assert attrs["gun_sigma_mm"] == 0.0
    assert "max_opening_angle_deg" not in attrs and "gun_center_mm" not in attrs


@pytest.mark.parametrize(
    "args, message",
    [
        (["--energy=-5"], "--energy=-5 must be one value"),
        (["--geometry=calogan", "--particle=pi0"], "--particle=pi0 is not simulated"),
        (["--geometry=calogan", "--energy=0.5,100"], "within [1, 500] GeV"),
        (["--geometry=calogan", "--particle=positron", "--gun_sigma_mm=5"],
         "--gun_sigma_mm is not an option of --geometry=calogan"),
        (["--gun_center_mm=1"], "--gun_center_mm expects two numbers"),
        (["--particle=kaon"], "--particle=kaon is not simulated"),
        (["--geometry=atlas"], "--geometry=atlas"),
        (["--num_showers=0"], "--num_showers=0"),
        (["--output=/nonexistent-dir/x.h5"], "does not exist"),
    ],
)
def test_cli_rejects_bad_input_with_a_short_error(tmp_path, args, message):
    if not any(a.startswith("--output") for a in args):
        args = [*args, f"--output={tmp_path / 'x.h5'}"]
    result = _run("--num_showers=10", *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) <= 2, result.stderr  # absl adds "Pass --helpshort ..." to flag errors
    assert not (tmp_path / "x.h5").exists()


@pytest.mark.parametrize("flag", ["--gun_sigma_mm=nan", "--gun_center_mm=nan,0"])
def test_cli_rejects_a_non_finite_option_in_one_line(tmp_path, flag):
    result = _run(flag, f"--output={tmp_path / 'x.h5'}", "--num_showers=10", "--workers=1")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    name = flag[2:flag.index("=")]
    assert len(lines) == 1 and lines[0].startswith("error:") and name in lines[0], result.stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("target", ["directory", "below_a_file"])
def test_cli_rejects_an_unwritable_output(tmp_path, target):
    (tmp_path / "file.txt").write_text("keep me")
    output = tmp_path if target == "directory" else tmp_path / "file.txt" / "x.h5"
    result = _run("--num_showers=10", f"--output={output}")
    assert result.returncode != 0
    assert result.stderr.startswith("error: --output: cannot write") or "is a directory" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    assert (tmp_path / "file.txt").read_text() == "keep me"
