"""Atomic outputs and strict JSON with noted infinite/NaN values."""

import json
import math
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from caloml import errors, outputs


def test_write_json_is_strict_and_read_json_restores_non_finite_values(tmp_path):
    path = tmp_path / "metrics.json"
    document = {"rejection": {"0.9": np.float32(12.5), "0.95": math.inf},
                "ks": [0.1, float("nan")], "low": -np.inf, "name/with~chars": np.inf,
                "counts": np.arange(3), "n": np.int64(2)}
    outputs.write_json(path, document)
    text = path.read_text()
    raw = json.loads(text)  # strict JSON: no Infinity or NaN tokens
    assert "Infinity" not in text and "NaN" not in text
    assert raw["rejection"] == {"0.9": 12.5, "0.95": None}
    assert raw["non_finite"] == {"/rejection/0.95": "inf", "/ks/1": "nan", "/low": "-inf",
                                 "/name~1with~0chars": "inf"}
    back = outputs.read_json(path)
    assert back["rejection"]["0.95"] == math.inf and back["low"] == -math.inf
    assert math.isnan(back["ks"][1]) and back["name/with~chars"] == math.inf
    assert back["counts"] == [0, 1, 2] and back["n"] == 2
    assert "non_finite" not in back


def test_a_finite_document_has_no_note_and_lists_cannot_hide_infinities(tmp_path):
    outputs.write_json(tmp_path / "a.json", {"x": 1.5})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 1.5}
    with pytest.raises(ValueError, match="must be an object"):
        outputs.write_json(tmp_path / "b.json", [1.0, math.inf])
    assert not (tmp_path / "b.json").exists()


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "m.json"
    outputs.write_json(path, {"c": 2})
    with pytest.raises(TypeError, match="cannot write object"):
        outputs.write_json(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"c": 2}
    assert os.listdir(tmp_path) == ["m.json"]


def test_temporary_names_keep_every_suffix(tmp_path):
    name = outputs.temporary_name(tmp_path / "generator.weights.h5")
    assert name.endswith(".weights.h5") and outputs.TMP_MARKER in os.path.basename(name)
    with outputs.atomic_path(tmp_path / "plot.png") as tmp:
        assert tmp.endswith(".png")
        open(tmp, "w").write("x")
    assert os.listdir(tmp_path) == ["plot.png"]


def test_check_writable_names_the_problem(tmp_path):
    with pytest.raises(errors.OutputError, match="does not exist"):
        outputs.check_writable(tmp_path / "missing" / "x.json")
    with pytest.raises(errors.OutputError, match="is a directory"):
        outputs.check_writable(tmp_path)
    assert isinstance(errors.OutputError("x"), OSError)


def test_atomic_directory_replaces_the_old_directory_only_when_complete(tmp_path):
    target = tmp_path / "model_savedmodel"
    with outputs.atomic_directory(target) as tmp:
        assert outputs.TMP_MARKER in tmp and os.path.isdir(tmp)
        (pathlib.Path(tmp) / "a.pb").write_text("first")
    assert sorted(os.listdir(target)) == ["a.pb"]
    with pytest.raises(RuntimeError, match="disk full"), outputs.atomic_directory(target) as tmp:
        (pathlib.Path(tmp) / "b.pb").write_text("half")
        raise RuntimeError("disk full")
    assert sorted(os.listdir(target)) == ["a.pb"]
    with outputs.atomic_directory(target) as tmp:
        (pathlib.Path(tmp) / "c.pb").write_text("second")
    assert sorted(os.listdir(target)) == ["c.pb"]
    assert sorted(os.listdir(tmp_path)) == ["model_savedmodel"]


def _dead_pid():
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    dead = _dead_pid()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "data").mkdir()
        stale = [tmp_path / "data" / f"photon.tmp-{dead}-0a1b.h5",
                 tmp_path / f"generator_savedmodel.tmp-{dead}", tmp_path / f"a.tmp-{dead}.png"]
        stale[0].write_text("half a file")
        stale[1].mkdir()
        (stale[1] / "saved_model.pb").write_text("half")
        stale[2].write_text("x")
        kept = [tmp_path / f"b.tmp-{alive.pid}.png", tmp_path / f"c.tmp-{os.getpid()}.png",
                tmp_path / "notes.txt"]
        for path in kept:
            path.write_text("x")
        removed = outputs.remove_stale_temporaries(tmp_path)
        assert sorted(removed) == sorted(map(str, stale))
        assert not any(p.exists() for p in stale) and all(p.exists() for p in kept)
    finally:
        alive.kill()
        alive.wait()


def test_a_single_file_writer_removes_only_its_own_leftovers(tmp_path):
    dead = _dead_pid()
    (tmp_path / "sub").mkdir()
    mine = tmp_path / f"photon.tmp-{dead}-1234abcd.h5"
    others = [tmp_path / f"pi0.tmp-{dead}-1234abcd.h5", tmp_path / "sub" / f"photon.tmp-{dead}.h5"]
    for path in (mine, *others):
        path.write_text("x")
    assert outputs.remove_stale_temporaries(tmp_path, recursive=False, stem="photon") == [
        str(mine)]
    assert all(p.exists() for p in others)
