"""Tests of caloml.benchmarks, caloml.plotting, caloml.reports and their entry scripts."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from caloml import benchmarks, outputs, plotting, reports

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHOWERS_SCRIPT = ROOT / "eval" / "srgamma_showers.py"
BENCHMARK_SCRIPT = ROOT / "eval" / "benchmark_sim.py"
RESULT_KEYS = {
    "geometry", "particle", "energy_gev", "workers", "mode", "num_showers", "seconds",
    "seconds_all", "showers_per_s", "showers_per_s_per_worker", "target",
    "target_showers_per_s", "passed",
}


def _run(script: pathlib.Path, *args: str, cwd: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(script), *args], cwd=cwd, capture_output=True, text=True,
        timeout=300,
    )


# --- benchmarks --------------------------------------------------------------------------------


def test_default_configs_grid():
    configs = benchmarks.default_configs()
    in_memory = [c for c in configs if not c.to_file]
    assert len(in_memory) == 2 * 2 * 2  # particles × energies × workers
    assert {(c.particle, c.energy_gev, c.workers) for c in configs if c.to_file} == {
        ("photon", 50.0, 2), ("pi0", 50.0, 2)
    }


def test_standard_configs_cover_both_geometries():
    configs = benchmarks.standard_configs()
    assert configs[:10] == benchmarks.default_configs()
    calogan = [c for c in configs if c.geometry == "calogan"]
    assert {(c.particle, c.energy_gev, c.workers, c.to_file) for c in calogan} == {
        (p, (1.0, 100.0), w, False) for p in ("positron", "photon", "piplus") for w in (1, 2)
    } | {(p, (1.0, 100.0), 2, True) for p in ("positron", "photon", "piplus")}
    assert benchmarks.standard_configs(["calogan"]) == calogan
    with pytest.raises(ValueError, match="no benchmark grid"):
        benchmarks.standard_configs(["atlas"])
    assert benchmarks.energy_text((1.0, 100.0)) == "1-100"
    assert benchmarks.energy_text(50.0) == "50"


def test_target_for():
    srgamma, calogan = benchmarks.TARGETS["srgamma"], benchmarks.TARGETS["calogan"]
    assert benchmarks.target_for(1, srgamma) == ("per_core", 1500.0)
    assert benchmarks.target_for(2, srgamma) == ("two_workers", 3000.0)
    assert benchmarks.target_for(4, srgamma) == ("per_core*4", 6000.0)
    assert benchmarks.target_for(2, calogan) == ("two_workers", 5000.0)


def test_benchmark_simulator_tiny(tmp_path):
    configs = [
        benchmarks.SimConfig("srgamma", "photon", 50.0, workers=1),
        benchmarks.SimConfig("srgamma", "pi0", 50.0, workers=2, to_file=True),
        benchmarks.SimConfig("calogan", "positron", (1.0, 100.0), workers=2),
    ]
    result = benchmarks.benchmark_simulator(configs, num_showers=300, seed=3, repeats=2)
    path = tmp_path / "benchmark.json"
    outputs.write_json(path, result)
    loaded = json.loads(path.read_text())
    assert loaded["targets"] == benchmarks.TARGETS
    assert loaded["machine"]["cpu_count"] >= 1
    assert loaded["machine"]["numpy"] == np.__version__
    assert [r["mode"] for r in loaded["results"]] == ["memory", "file", "memory"]
    for r in loaded["results"]:
        assert RESULT_KEYS <= set(r)
        assert r["num_showers"] == 300
        assert r["seconds"] > 0 and len(r["seconds_all"]) == 2
        assert r["seconds"] == min(r["seconds_all"])
        assert r["showers_per_s"] == pytest.approx(300 / r["seconds"])
        assert r["showers_per_s_per_worker"] == pytest.approx(r["showers_per_s"] / r["workers"])
    memory, file, ranged = loaded["results"]
    assert memory["passed"] == (memory["showers_per_s"] >= memory["target_showers_per_s"])
    # File runs include HDF5 writing and are reported without a target.
    assert file["passed"] is None and file["target_showers_per_s"] is None
    assert file["file_bytes"] > 0
    assert ranged["energy_gev"] == [1.0, 100.0] and ranged["target_showers_per_s"] == 5000.0
    assert loaded["all_passed"] == (memory["passed"] and ranged["passed"])
    table = benchmarks.format_table(loaded)
    assert len(table.splitlines()) == 2 + len(configs)
    assert not list(tmp_path.glob("*.tmp-*"))


def test_benchmark_rejects_bad_arguments():
    config = benchmarks.SimConfig("srgamma", "photon", 50.0)
    with pytest.raises(ValueError, match="num_showers"):
        benchmarks.benchmark_simulator([config], num_showers=0)
    with pytest.raises(ValueError, match="repeats"):
        benchmarks.benchmark_simulator([config], num_showers=10, repeats=0)


@pytest.mark.slow
def test_benchmark_script(tmp_path):
    out = tmp_path / "bench.json"
    proc = _run(BENCHMARK_SCRIPT, f"--output={out}", "--num_showers=200", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    # srgamma 10; calogan: 3 particles × (1, 2 workers, file); clic: 2 particles × (2 energies ×
    # (1, 2 workers) + file).
    assert len(result["results"]) == 10 + 9 + 10
    assert "showers/s" in proc.stderr  # the table is logged


# --- outputs -----------------------------------------------------------------------------------


def test_write_json_atomic_and_numpy(tmp_path):
    path = tmp_path / "m.json"
    outputs.write_json(path, {"a": np.float32(0.5), "b": np.arange(3), "c": np.int64(2)})
    assert json.loads(path.read_text()) == {"a": 0.5, "b": [0, 1, 2], "c": 2}
    with pytest.raises(TypeError):
        outputs.write_json(path, {"bad": object()})
    assert json.loads(path.read_text())["c"] == 2  # the old file survives a failed write
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


# --- observables of the report ----------------------------------------------------------------


def test_core_and_window_fractions_hand_computed():
    lr = np.zeros((2, 24, 24), np.float32)
    lr[0, 10, 10] = 6.0  # hottest
    lr[0, 11, 10] = 2.0  # in 3x3
    lr[0, 12, 12] = 1.0  # in 5x5
    lr[0, 20, 20] = 1.0  # outside 5x5 and outside the best 6x6 window
    lr[1, 0, 0] = 3.0  # hottest at a corner: squares are clipped
    lr[1, 1, 1] = 1.0
    fractions = reports.core_fractions(lr)
    np.testing.assert_allclose(fractions[1], [0.6, 0.75])
    np.testing.assert_allclose(fractions[3], [0.8, 1.0])
    np.testing.assert_allclose(fractions[5], [0.9, 1.0])
    np.testing.assert_allclose(reports.window_fraction(lr), [0.9, 1.0])
    empty = reports.core_fractions(np.zeros((1, 24, 24)))
    assert np.isnan(empty[1][0])
    with pytest.raises(ValueError, match="odd"):
        reports.core_fractions(lr, sizes=(2,))


def test_shower_metrics_keys():
    rng = np.random.default_rng(0)
    hr = rng.exponential(0.01, (4, 96, 96)).astype(np.float32)
    lr = hr.reshape(4, 24, 4, 24, 4).sum(axis=(2, 4))
    arrays = {"hr": hr, "lr": lr, "energy": np.full(4, hr.sum(axis=(1, 2)).max()),
              "opening_angle_rad": np.full(4, 0.01), "leakage_gev": np.ones(4)}
    metrics = reports.shower_metrics(arrays, {"pi0_fraction_kept": 0.9})
    assert metrics["num_showers"] == 4
    assert metrics["pi0_fraction_kept"] == 0.9
    assert metrics["mean_opening_angle_deg"] == pytest.approx(np.degrees(0.01))
    assert metrics["mean_leakage_gev"] == 1.0
    assert "mean_shower_max_x0" not in metrics  # no truth array, no metric
    assert 0 < metrics["core_1x1_fraction"] < metrics["core_3x3_fraction"] <= 1


# --- plotting ---------------------------------------------------------------------------------


def test_centred_average_moves_hottest_crystal_to_centre():
    lr = np.zeros((3, 24, 24))
    for i, (r, c) in enumerate([(3, 4), (12, 12), (22, 1)]):
        lr[i, r, c] = 10.0
        lr[i, r, c + 1] = 1.0  # right neighbour, clipped away for none of these
    hr = np.repeat(np.repeat(lr, 4, axis=1), 4, axis=2) / 16.0
    averages = plotting.centred_average({"hr": hr, "lr": lr}, reference="lr", half_size=2)
    assert averages["lr"].shape == (5, 5) and averages["hr"].shape == (20, 20)
    expected = np.zeros((5, 5))
    expected[2, 2], expected[2, 3] = 10.0, 1.0
    np.testing.assert_allclose(averages["lr"], expected)
    np.testing.assert_allclose(averages["hr"][8:12, 8:12], 10.0 / 16.0)
    np.testing.assert_allclose(averages["hr"].sum(), 11.0)
    # A shower in the corner: cells shifted in from outside the window count as zero.
    corner = np.zeros((1, 24, 24))
    corner[0, 0, 0], corner[0, 0, 1], corner[0, 1, 0] = 10.0, 1.0, 2.0
    expected = np.zeros((3, 3))
    expected[1, 1], expected[1, 2], expected[2, 1] = 10.0, 1.0, 2.0
    np.testing.assert_allclose(plotting.centred_average({"lr": corner}, half_size=1)["lr"],
                               expected)
    with pytest.raises(ValueError, match="not a multiple"):
        plotting.centred_average({"lr": lr, "hr": np.zeros((3, 50, 50))})


def _toy_data(num: int = 4, seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    data = {}
    for particle in ("photon", "pi0"):
        hr = np.zeros((num, 96, 96), np.float32)
        centre = rng.integers(30, 66, size=(num, 2))
        for i, (r, c) in enumerate(centre):
            hr[i, r - 2 : r + 3, c - 2 : c + 3] = rng.exponential(1.0, (5, 5))
        data[particle] = {"hr": hr, "lr": hr.reshape(num, 24, 4, 24, 4).sum(axis=(2, 4)),
                          "energy": np.full(num, 50.0, np.float32)}
    return data


@pytest.mark.slow
def test_plots_write_png_and_pdf(tmp_path):
    data = _toy_data()
    windows = {p: np.array([[5, 6]] * 4) for p in data}
    paths = plotting.plot_srgamma_examples(data, tmp_path / "examples", num_examples=1,
                                           windows=windows)
    paths += plotting.plot_srgamma_averages(data, tmp_path / "averages")
    assert sorted(os.path.basename(p) for p in paths) == [
        "averages.pdf", "averages.png", "examples.pdf", "examples.png"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(os.path.basename(p) for p in paths)
    for path in paths:
        assert os.path.getsize(path) > 1000
    # A third image kind (super-resolved) adds a row.
    for arrays in data.values():
        arrays["sr"] = arrays["hr"] * 0.9
    fig = plotting.plot_srgamma_averages(data, None)
    assert len(fig.axes) >= 9
    with pytest.raises(ValueError, match="images"):
        plotting.plot_srgamma_examples({"photon": {"energy": np.ones(3)}}, None)


# --- eval/srgamma_showers.py -------------------------------------------------------------------


@pytest.fixture(scope="module")
def showers_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("showers") / "run"
    proc = _run(SHOWERS_SCRIPT, f"--workdir={workdir}", "--num_showers=300", "--seed=5",
                cwd=workdir.parent)
    assert proc.returncode == 0, proc.stderr
    return workdir


@pytest.mark.slow
def test_srgamma_showers_outputs(showers_run):
    workdir = showers_run
    config = json.loads((workdir / "config.json").read_text())
    assert config["num_showers"] == 300 and config["energy_gev"] == 50.0
    assert config["seeds"] == {"photon": 5, "pi0": 6}
    for name in ("examples", "averages"):
        for ext in ("png", "pdf"):
            assert (workdir / "plots" / f"{name}.{ext}").stat().st_size > 1000
    metrics = json.loads((workdir / "metrics.json").read_text())
    photon, pi0 = metrics["particles"]["photon"], metrics["particles"]["pi0"]
    for m in (photon, pi0):
        assert m["num_showers"] == 300
        assert 0.95 < m["window_6x6_fraction"] <= 1.0
        assert 0 < m["core_1x1_fraction"] < m["core_3x3_fraction"] < m["core_5x5_fraction"] <= 1
        assert 0.9 < m["image_energy_fraction"] <= 1.0
        assert 5 < m["mean_shower_max_x0"] < 15  # a few X0 into 25.8 X0 of PbWO4
        assert 0 <= m["mean_leakage_gev"] < 2.5  # below 5 % of 50 GeV
        assert 0 <= m["mean_out_of_window_gev"] < 2.5
    assert 0.9 < pi0["pi0_fraction_kept"] <= 1.0
    assert photon["mean_opening_angle_rad"] == 0.0
    assert 0 < pi0["mean_opening_angle_deg"] < 2.0  # the opening-angle cut
    assert photon["core_1x1_fraction"] > pi0["core_1x1_fraction"]  # pi0 showers are wider
    assert not list(workdir.rglob("*.tmp-*"))


@pytest.mark.slow
def test_srgamma_showers_rerun_reuses_data_and_reads_given_data(showers_run, tmp_path):
    data = showers_run / "data"
    mtimes = {p.name: p.stat().st_mtime_ns for p in data.glob("*.h5")}
    assert set(mtimes) == {"photon.h5", "pi0.h5"}
    proc = _run(SHOWERS_SCRIPT, f"--workdir={showers_run}", "--num_showers=300", "--seed=5",
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "reusing" in proc.stderr
    assert {p.name: p.stat().st_mtime_ns for p in data.glob("*.h5")} == mtimes
    # --data reads the files instead of simulating; fewer showers than the files hold is fine.
    other = tmp_path / "from_data"
    proc = _run(SHOWERS_SCRIPT, f"--workdir={other}", f"--data={data}", "--num_showers=100",
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (other / "data").exists()
    metrics = json.loads((other / "metrics.json").read_text())
    assert metrics["particles"]["pi0"]["num_showers"] == 100
    assert metrics["energy_gev"] is None


@pytest.mark.parametrize("energy", ["0.5", "abc", "5"])
def test_srgamma_showers_bad_energy_is_one_line(tmp_path, energy):
    workdir = tmp_path / "run"
    proc = _run(SHOWERS_SCRIPT, f"--workdir={workdir}", f"--energy={energy}", cwd=tmp_path)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert "energy" in lines[0]
    if energy == "5":
        # Within the flag's range, but below the pi0 threshold of the 2° opening-angle cut:
        # the library's error, in one line, before anything is written.
        assert len(lines) == 1 and lines[0].startswith("error:") and "pi0" in lines[0]
        assert not workdir.exists()
    else:
        # absl's flag parser: the error line plus its "Pass --helpshort" hint.
        assert lines[0].startswith("FATAL Flags parsing error: flag --energy")


def test_srgamma_showers_missing_data_dir_is_one_line(tmp_path):
    proc = _run(SHOWERS_SCRIPT, f"--workdir={tmp_path / 'run'}",
                f"--data={tmp_path / 'nowhere'}", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: data directory {str(tmp_path / 'nowhere')!r} does not exist"
    ]


@pytest.mark.slow
def test_clic_validation_report(tmp_path):
    result = reports.clic_validation(num_showers=32, seed=3, workers=1,
                                     energies_gev=(10.0, 100.0, 400.0))
    electron = result["electron"]
    assert set(electron) == {"10", "100", "400"}
    for point in electron.values():
        assert point["mean_sum_over_e"] == pytest.approx(1.0, abs=0.03)
    # The resolution shrinks with energy, and the fit gives a W/Si-like stochastic term.
    assert electron["10"]["sigma_over_e"] > electron["400"]["sigma_over_e"]
    assert 0.08 < result["electron_resolution"]["stochastic"] < 0.25
    assert result["hcal_ecal"]["electron_below_0.1"] > 0.95
    assert result["pi0_opening_below_0.01"]["lowest_energy_passing"] > 27.0
    for slope in result["incidence_slope"].values():
        assert slope["median_dy_dz"] == pytest.approx(slope["cot_theta"], abs=0.02)
