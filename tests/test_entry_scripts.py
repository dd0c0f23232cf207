"""Every entry script as a user meets it: help and flag errors at once, quiet start-up."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPTS = sorted(str(p.relative_to(ROOT)) for d in ("train", "eval", "baselines")
                 for p in (ROOT / d).glob("*.py"))
COMMANDS = [[sys.executable, str(ROOT / s)] for s in SCRIPTS] + [
    [sys.executable, "-m", "caloml.sim"], [sys.executable, "-m", "caloml.jets"],
    [sys.executable, "-m", "caloml.events"]]
IDS = SCRIPTS + ["caloml.sim", "caloml.jets", "caloml.events"]
# Heavy libraries that --help and a flag error must not need.
HEAVY = ("tensorflow", "keras", "matplotlib", "sklearn", "xgboost")


@pytest.fixture(scope="module")
def without_heavy_imports(tmp_path_factory):
    """An environment in which importing any heavy library fails."""
    fake = tmp_path_factory.mktemp("fake_heavy")
    for name in HEAVY:
        (fake / name).mkdir()
        (fake / name / "__init__.py").write_text(
            f"raise ImportError('{name} imported before the flags were parsed')\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(fake), env.get("PYTHONPATH", "")])
    return env


def test_every_entry_script_is_covered():
    assert {"train/sr_gan.py", "eval/sr_gan.py", "eval/sim_report.py",
            "eval/benchmark.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_help_comes_before_any_heavy_import(command, without_heavy_imports, tmp_path):
    proc = subprocess.run([*command, "--helpshort"], capture_output=True, text=True,
                          timeout=120, env=without_heavy_imports, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr[-2000:]  # absl's exit code after the help
    assert "flags:" in proc.stdout and "ImportError" not in proc.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_an_unknown_flag_is_one_usage_error_before_any_heavy_import(
        command, without_heavy_imports, tmp_path):
    proc = subprocess.run([*command, "--no_such_flag=1"], capture_output=True, text=True,
                          timeout=120, env=without_heavy_imports, cwd=tmp_path)
    assert proc.returncode != 0
    assert "Unknown command line flag 'no_such_flag'" in proc.stderr
    assert "Traceback" not in proc.stderr and "ImportError" not in proc.stderr


@pytest.mark.slow
def test_tensorflow_start_up_lines_are_quiet(tmp_path):
    """A TensorFlow script that fails at once prints its one error line, nothing else."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run([sys.executable, str(ROOT / "eval" / "sr_gan.py"),
                           f"--workdir={tmp_path / 'missing'}"], capture_output=True, text=True,
                          timeout=300, env=env, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and "config.json' does not exist" in lines[0]
