"""Runs a trainer's mirrored-vs-one-device script and compares the two updates."""

import json
import subprocess
import sys

import numpy as np
import pytest


def assert_mirrored_update_equals_single_device(script: str) -> None:
    """Runs ``script`` (it prints ``{"default": ..., "mirrored": ...}`` with ``replicas``,
    ``weights`` and ``logs``) in a fresh process with two logical CPUs and compares."""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["default"]["replicas"] == 1 and result["mirrored"]["replicas"] == 2
    for a, b in zip(result["default"]["weights"], result["mirrored"]["weights"], strict=True):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-4, atol=1e-6)
    for key, value in result["default"]["logs"].items():
        assert result["mirrored"]["logs"][key] == pytest.approx(value, rel=1e-4, abs=1e-6)
