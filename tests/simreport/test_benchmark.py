"""Simulator throughput benchmark (caloml.simreport.benchmark) and eval/benchmark.py --model=sim."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from caloml import outputs
from caloml.simreport import benchmark as benchmarks

ROOT = pathlib.Path(__file__).resolve().parents[2]
BENCHMARK_SCRIPT = ROOT / "eval" / "benchmark.py"
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
    proc = _run(BENCHMARK_SCRIPT, "--model=sim", f"--output={out}", "--num_showers=200",
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    # srgamma 10; calogan: 3 particles × (1, 2 workers, file); clic: 2 particles × (2 energies ×
    # (1, 2 workers) + file).
    assert len(result["results"]) == 10 + 9 + 10
    assert "showers/s" in proc.stderr  # the table is logged


def test_script_refuses_flags_of_the_other_model(tmp_path):
    proc = _run(BENCHMARK_SCRIPT, "--model=sim", "--steps=3", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --steps is an option of --model=sr_gan, --model=calogan, --model=gan3d, "
        "--model=jet_sr or --model=calpagan only"]
