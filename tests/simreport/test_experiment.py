"""eval/sim_report.py end to end, for each geometry: config, metrics, figures, errors."""

import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "eval" / "sim_report.py"


def _run(*args, cwd):
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def _figures(workdir, names):
    for name in names:
        for ext in ("png", "pdf"):
            path = workdir / "plots" / f"{name}.{ext}"
            assert path.stat().st_size > 1000, path
    assert not list(workdir.rglob("*.tmp-*"))


@pytest.fixture(scope="module")
def srgamma_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("showers") / "run"
    proc = _run("--geometry=srgamma", f"--workdir={workdir}", "--num_showers=300", "--seed=5",
                cwd=workdir.parent)
    assert proc.returncode == 0, proc.stderr
    return workdir


@pytest.mark.slow
def test_srgamma_report(srgamma_run):
    workdir = srgamma_run
    config = json.loads((workdir / "config.json").read_text())
    assert config["num_showers"] == 300 and config["energy_gev"] == 50.0
    assert config["geometry"] == "srgamma" and config["seed"] == 5
    _figures(workdir, ("examples", "averages"))
    metrics = json.loads((workdir / "metrics.json").read_text())
    photon, pi0 = metrics["particles"]["photon"], metrics["particles"]["pi0"]
    for m in (photon, pi0):
        assert m["num_showers"] == 300
        assert 0.95 < m["window_6x6_fraction"] <= 1.0
        assert 0 < m["core_1x1_fraction"] < m["core_3x3_fraction"] < m["core_5x5_fraction"] <= 1
        assert 5 < m["mean_shower_max_x0"] < 15  # a few X0 into 25.8 X0 of PbWO4
        assert 0 <= m["mean_leakage_gev"] < 2.5  # below 5 % of 50 GeV
    assert 0.9 < pi0["pi0_fraction_kept"] <= 1.0
    assert photon["mean_opening_angle_rad"] == 0.0
    assert 0 < pi0["mean_opening_angle_deg"] < 2.0  # the opening-angle cut
    assert photon["core_1x1_fraction"] > pi0["core_1x1_fraction"]  # pi0 showers are wider
    assert metrics["paper_reference"] == {"window_6x6_fraction": 0.99, "pi0_fraction_kept": 0.99}


@pytest.mark.slow
def test_srgamma_rerun_reuses_data_and_reads_given_data(srgamma_run, tmp_path):
    data = srgamma_run / "data"
    mtimes = {p.name: p.stat().st_mtime_ns for p in data.glob("*.h5")}
    assert set(mtimes) == {"photon.h5", "pi0.h5"}
    proc = _run("--geometry=srgamma", f"--workdir={srgamma_run}", "--num_showers=300",
                "--seed=5", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "reusing" in proc.stderr
    assert {p.name: p.stat().st_mtime_ns for p in data.glob("*.h5")} == mtimes
    # --data reads the files instead of simulating; fewer showers than the files hold is fine.
    other = tmp_path / "from_data"
    proc = _run("--geometry=srgamma", f"--workdir={other}", f"--data={data}",
                "--num_showers=100", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (other / "data").exists()
    metrics = json.loads((other / "metrics.json").read_text())
    assert metrics["particles"]["pi0"]["num_showers"] == 100
    assert metrics["energy_gev"] is None


@pytest.mark.slow
def test_clic_report(tmp_path):
    workdir = tmp_path / "clic"
    proc = _run("--geometry=clic", f"--workdir={workdir}", "--num_showers=16", "--workers=1",
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((workdir / "config.json").read_text())["num_showers"] == 16
    metrics = json.loads((workdir / "metrics.json").read_text())
    assert set(metrics["electron"]) == {"5", "10", "25", "50", "100", "200", "400"}
    assert 0.05 < metrics["electron_resolution"]["stochastic"] < 0.3
    _figures(workdir, ("electron_response", "hcal_ecal", "incidence_slopes"))


@pytest.mark.slow
def test_calogan_report(tmp_path):
    workdir = tmp_path / "calogan"
    proc = _run("--geometry=calogan", f"--workdir={workdir}", "--num_showers=32", "--workers=1",
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((workdir / "metrics.json").read_text())
    assert set(metrics["positron_layer_fractions"]) == {"1", "10", "100"}
    assert set(metrics) >= {"positron", "photon", "piplus", "geant4_comparison"}
    comparison = metrics["geant4_comparison"]
    assert len(comparison) == 23 and set(comparison["sparsity_layer0"]) == {
        "positron", "photon", "piplus"}
    for entry in comparison["sparsity_layer0"].values():
        assert 0 <= entry["separation_power"] <= 1 and 0 < entry["geant4_mean"] < 1
    _figures(workdir, ("layer_averages", "layer_fractions", "cell_spectra", "geant4_positron",
                       "geant4_photon", "geant4_piplus"))


@pytest.mark.parametrize("energy", ["0.5", "abc", "5"])
def test_srgamma_bad_energy_is_one_line(tmp_path, energy):
    workdir = tmp_path / "run"
    proc = _run("--geometry=srgamma", f"--workdir={workdir}", f"--energy={energy}", cwd=tmp_path)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert "energy" in lines[0]
    if energy == "5":
        # Within the flag's range, but below the π⁰ threshold of the 2° opening-angle cut:
        # the library's error, in one line, before anything is written.
        assert len(lines) == 1 and lines[0].startswith("error:") and "pi0" in lines[0]
        assert not workdir.exists()
    else:
        # absl's flag parser's message, in caloml's one line.
        assert lines == [lines[0]] and lines[0].startswith("error: flag --energy=")
        assert proc.returncode == 2


def test_missing_data_dir_and_flags_of_another_geometry_are_one_line(tmp_path):
    proc = _run(f"--workdir={tmp_path / 'run'}", f"--data={tmp_path / 'nowhere'}", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: --data={str(tmp_path / 'nowhere')!r} is not a directory; expected one with "
        "photon.h5 and pi0.h5"]
    proc = _run("--geometry=clic", "--energy=20", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --energy is an option of --geometry=srgamma only"]
