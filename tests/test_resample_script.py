"""eval/resample.py end to end on a tiny CLIC file, and its flag errors."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from caloml import outputs
from caloml.data import resample
from caloml.io import hdf5, schema

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = str(ROOT / "eval" / "resample.py")


def tiny_clic_file(path: pathlib.Path, n: int = 3) -> dict[str, np.ndarray]:
    """A CLIC-layout file of ``n`` Gaussian showers around the window centre."""
    rng = np.random.default_rng(7)
    centres = np.arange(51) + 0.5
    lateral = np.exp(-0.5 * ((centres[:, None] - 25.5) ** 2 + (centres[None, :] - 26.0) ** 2)
                     / 1.5**2)
    profile = np.arange(1, 26) * np.exp(-np.arange(1, 26) / 5.0)
    ecal = (lateral[None, :, :, None] * profile[None, None, None, :]
            * rng.uniform(1.0, 10.0, size=(n, 1, 1, 1))).astype(np.float32)
    arrays = {"ECAL": ecal, "HCAL": rng.gamma(1.0, 0.01, (n, 11, 11, 60)).astype(np.float32)}
    for f in schema.CLIC.fields:
        if f.key not in arrays and not f.optional:
            arrays[f.key] = np.ones(n, np.dtype(f.dtype))
    hdf5.write_arrays(path, schema.CLIC, arrays, attrs={"particle": "photon"})
    return arrays


def run(tmp_path, *flags):
    return subprocess.run([sys.executable, SCRIPT, *flags], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)


def test_resample_script_writes_the_file_metrics_and_figure(tmp_path):
    arrays = tiny_clic_file(tmp_path / "showers.h5")
    workdir = tmp_path / "run"
    proc = run(tmp_path, f"--data={tmp_path / 'showers.h5'}", "--target=atlas_printed",
               f"--workdir={workdir}", "--timing_showers=20", "--hcal=keep", "--noprogress")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = workdir / "showers_atlas_printed.h5"
    result = hdf5.read_arrays(out, schema.CLIC)
    np.testing.assert_array_equal(result["ECAL"],
                                  resample.resample_ecal(arrays["ECAL"], "atlas_printed"))
    np.testing.assert_array_equal(result["HCAL"], arrays["HCAL"])
    assert hdf5.read_attrs(out)["resampled_to"] == "atlas_printed"

    config = json.loads((workdir / "config.json").read_text())
    assert (config["target"], config["hcal"], config["simulated"]) == (
        "atlas_printed", "keep", False)
    assert config["target_geometry"]["layers"][2]["cell_eta"] == 0.5
    metrics = outputs.read_json(workdir / "metrics.json")
    before = arrays["ECAL"].sum(axis=(1, 2, 3), dtype=np.float64)
    after = result["ECAL"].sum(axis=(1, 2, 3), dtype=np.float64)
    ratio = after / before
    assert metrics["num_events"] == 3 and metrics["num_empty"] == 0
    assert abs(metrics["energy_ratio_mean"] - ratio.mean()) < 1e-12
    assert abs(metrics["energy_ratio_std"] - ratio.std()) < 1e-12
    assert metrics["fraction_within_1_percent"] == 1.0  # contained showers keep their energy
    assert metrics["example_event"] == int(np.argmax(before))
    assert metrics["showers_per_s"] > 0
    for ext in ("png", "pdf"):
        assert (workdir / "plots" / f"resample_example.{ext}").is_file()
    assert "showers/s" in proc.stderr


def test_num_showers_with_data_is_a_usage_error(tmp_path):
    tiny_clic_file(tmp_path / "showers.h5")
    proc = run(tmp_path, "--data=showers.h5", "--num_showers=5", "--workdir=run")
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: --num_showers sets the size of the simulated file; "
                                   "it cannot be used with --data")
    assert not (tmp_path / "run").exists()


def test_bad_data_file_is_one_line(tmp_path):
    (tmp_path / "notes.h5").write_text("not hdf5")
    proc = run(tmp_path, "--data=missing.h5", "--workdir=run")
    assert (proc.returncode, proc.stderr.strip()) == (2, "error: --data=missing.h5 does not exist")
    proc = run(tmp_path, "--data=notes.h5", "--workdir=run", "--target=cms")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: ") and "notes.h5" in line and "not a readable HDF5 file" in line


@pytest.mark.slow
def test_a_data_directory_is_resampled_file_by_file_under_the_same_names(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    photons = tiny_clic_file(data / "photon.h5", n=2)
    pions = tiny_clic_file(data / "pi0.h5", n=3)
    workdir = tmp_path / "atlas"
    proc = run(tmp_path, f"--data={data}", "--target=cms", f"--workdir={workdir}",
               "--timing_showers=20", "--noprogress")
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name, arrays in (("photon.h5", photons), ("pi0.h5", pions)):
        result = hdf5.read_arrays(workdir / name, schema.CLIC)
        np.testing.assert_array_equal(result["ECAL"],
                                      resample.resample_ecal(arrays["ECAL"], "cms"))
        assert not result["HCAL"].any()  # dropped by default (paper §5.4)
        assert (workdir / "plots" / f"resample_example_{name[:-3]}.png").is_file()
    metrics = outputs.read_json(workdir / "metrics.json")
    assert sorted(metrics) == ["photon.h5", "pi0.h5"]
    assert metrics["pi0.h5"]["num_events"] == 3
    # The data directory itself is never the output.
    proc = run(tmp_path, f"--data={data}", f"--workdir={data}", "--timing_showers=20")
    assert proc.returncode == 2 and "would replace the originals" in proc.stderr
