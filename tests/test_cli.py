"""caloml.cli: caloml's own errors in one line; a bug keeps its traceback."""

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import sys
    from caloml import cli, errors

    def main(argv):
        kind = sys.argv_kind
        if kind == "input":
            raise errors.InputError("--energy=3 is below the pi0 threshold")
        if kind == "data":
            raise errors.DataError("'x.h5': missing key 'hr'")
        if kind == "diverged":
            raise errors.TrainingDiverged("training diverged in epoch 3")
        if kind == "bug":
            raise ValueError("a library bug")
        if kind == "keyerror":
            {}["missing"]

    sys.argv_kind = sys.argv.pop(1)
    cli.run(main)
""")


def run(tmp_path, kind, debug=False):
    path = tmp_path / "script.py"
    path.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "CALOML_DEBUG"}
    if debug:
        env["CALOML_DEBUG"] = "1"
    return subprocess.run([sys.executable, str(path), kind], capture_output=True, text=True,
                          timeout=60, env=env)


@pytest.mark.parametrize("kind, message", [
    ("input", "error: --energy=3 is below the pi0 threshold"),
    ("data", "error: 'x.h5': missing key 'hr'"),
    ("diverged", "error: training diverged in epoch 3"),
])
def test_calomls_own_errors_are_one_line(tmp_path, kind, message):
    proc = run(tmp_path, kind)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [message]


@pytest.mark.parametrize("kind, name", [("bug", "ValueError: a library bug"),
                                        ("keyerror", "KeyError: 'missing'")])
def test_other_exceptions_keep_their_traceback(tmp_path, kind, name):
    proc = run(tmp_path, kind)
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and name in proc.stderr
    assert "error: " not in proc.stderr.splitlines()[-1]


def test_debug_shows_the_traceback_of_own_errors(tmp_path):
    proc = run(tmp_path, "input", debug=True)
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "InputError" in proc.stderr
