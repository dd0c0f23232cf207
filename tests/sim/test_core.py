"""Seeding, sharding, validation and file output of the simulator."""

import math
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import caloml
from caloml import errors
from caloml.io import hdf5, schema
from caloml.sim import CHUNK_SIZE, simulate, simulate_to_file


def test_same_seed_gives_identical_arrays_whatever_the_number_of_workers():
    n = 2 * CHUNK_SIZE + 37  # chunks of unequal size
    one = simulate("srgamma", "pi0", n, 50.0, seed=12, workers=1, truth=True)
    two = simulate("srgamma", "pi0", n, 50.0, seed=12, workers=2, truth=True)
    assert set(one) == set(two)
    for key in one:
        np.testing.assert_array_equal(one[key], two[key], err_msg=key)
    assert one.attrs == two.attrs
    other = simulate("srgamma", "pi0", n, 50.0, seed=13)
    assert not np.array_equal(one["hr"], other["hr"])


def test_a_prefix_of_the_events_does_not_depend_on_the_total():
    small = simulate("srgamma", "photon", CHUNK_SIZE, 20.0, seed=1)
    large = simulate("srgamma", "photon", 2 * CHUNK_SIZE, 20.0, seed=1)
    np.testing.assert_array_equal(small["hr"], large["hr"][:CHUNK_SIZE])


def test_energy_range_is_uniform():
    data = simulate("srgamma", "photon", 2000, (10.0, 100.0), seed=2)
    assert data["energy"].min() >= 10 and data["energy"].max() <= 100
    assert data["energy"].mean() == pytest.approx(55.0, abs=1.5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(geometry="atlas"), "unknown geometry 'atlas'"),
        (dict(particle="kaon"), "unknown particle 'kaon'"),
        (dict(energy_gev=-5.0), "outside the 'srgamma' range"),
        (dict(energy_gev=800.0), "outside the 'srgamma' range"),
        (dict(energy_gev=(50.0, 20.0)), "outside the 'srgamma' range"),
        (dict(num_showers=0), "num_showers must be at least 1"),
        (dict(seed=-1), "seed must be non-negative"),
        (dict(particle="pi0", energy_gev=5.0), "smallest opening angle"),
        (dict(gun_sigma=3.0), "unexpected keyword argument 'gun_sigma'"),
    ],
)
def test_bad_requests_fail_before_any_work(kwargs, match):
    args = dict(geometry="srgamma", particle="photon", num_showers=10, energy_gev=50.0)
    args.update(kwargs)
    with pytest.raises((errors.InputError, TypeError), match=match):
        simulate(**args)


NAN, INF = math.nan, math.inf


@pytest.mark.parametrize(
    "geometry, particle, option, value",
    [
        ("srgamma", "photon", "gun_sigma_mm", NAN),
        ("srgamma", "photon", "gun_sigma_mm", INF),
        ("srgamma", "photon", "gun_center_mm", (NAN, 0.0)),
        ("srgamma", "photon", "gun_center_mm", [0.0, -INF]),
        ("srgamma", "pi0", "max_opening_angle_deg", NAN),
        ("srgamma", "pi0", "max_opening_angle_deg", INF),
        ("calogan", "positron", "gun_xy_mm", (0.0, NAN)),
        ("clic", "piplus", "magnetic_field_t", NAN),
        ("clic", "piplus", "magnetic_field_t", INF),
        ("clic", "photon", "theta_rad", (1.2, NAN)),
        ("clic", "photon", "theta_rad", np.float64(NAN)),
        ("clic", "piplus", "select_hcal_ecal_ratio", INF),
        ("clic", "pi0", "select_opening_angle_rad", NAN),
    ],
)
def test_non_finite_options_are_refused_by_name(geometry, particle, option, value):
    with pytest.raises(errors.InputError, match=f"^option {option} must be finite, got "):
        simulate(geometry, particle, 1, **{option: value})


@pytest.mark.parametrize(
    "geometry, particle, option, value, match",
    [
        ("srgamma", "photon", "gun_sigma_mm", -1.0, "gun_sigma_mm must be non-negative"),
        ("srgamma", "photon", "gun_center_mm", (1.0, 2.0, 3.0), "gun_center_mm must be"),
        ("srgamma", "photon", "max_opening_angle_deg", -2.0,
         r"max_opening_angle_rad must be positive .* \(-2 deg\)"),
        ("clic", "piplus", "magnetic_field_t", -4.0, "magnetic_field_t must be non-negative"),
    ],
)
def test_negative_options_are_refused(geometry, particle, option, value, match):
    with pytest.raises(errors.InputError, match=match):
        simulate(geometry, particle, 1, **{option: value})


def test_file_matches_in_memory_arrays_and_carries_attributes(tmp_path):
    path = tmp_path / "pi0.h5"
    attrs = simulate_to_file(path, "srgamma", "pi0", 300, 20.0, seed=3, workers=2, truth=True)
    memory = simulate("srgamma", "pi0", 300, 20.0, seed=3, truth=True)
    assert hdf5.validate_file(path, schema.SRGAMMA) == 300
    read = hdf5.read_arrays(path, schema.SRGAMMA, keys=list(memory))
    for key in memory:
        np.testing.assert_array_equal(read[key], memory[key], err_msg=key)
    file_attrs = hdf5.read_attrs(path)
    assert file_attrs["geometry"] == "srgamma" and file_attrs["particle"] == "pi0"
    assert file_attrs["seed"] == 3 and file_attrs["caloml_version"] == caloml.__version__
    assert file_attrs["pi0_fraction_kept"] == pytest.approx(attrs["pi0_fraction_kept"])
    assert os.listdir(tmp_path) == ["pi0.h5"]  # no temporary file left


def test_failed_run_leaves_an_existing_file_untouched(tmp_path, monkeypatch):
    path = tmp_path / "photon.h5"
    path.write_bytes(b"previous result")
    from caloml.sim import core

    calls = {"n": 0}
    original = core._run_chunk

    def failing(task):
        calls["n"] += 1
        if calls["n"] > 1:
            raise KeyboardInterrupt
        return original(task)

    monkeypatch.setattr(core, "_run_chunk", failing)
    with pytest.raises(KeyboardInterrupt):
        simulate_to_file(path, "srgamma", "photon", 3 * CHUNK_SIZE, 20.0, seed=0)
    assert path.read_bytes() == b"previous result"
    assert os.listdir(tmp_path) == ["photon.h5"]


def _stat(pid) -> tuple[str, int] | None:
    """(state letter, parent pid) from ``/proc/<pid>/stat``; None once the process is gone."""
    try:
        text = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone (or going) between a listing and the read
        return None
    state, ppid = text[text.rindex(")") + 2:].split()[:2]  # the name may hold spaces and ")"
    return state, int(ppid)


def _alive(pid: int) -> bool:
    # A killed worker reparented to a PID 1 that never reaps stays a zombie: it is dead.
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def _children(pid: int) -> list[int]:
    return [int(entry) for entry in os.listdir("/proc")
            if entry.isdigit() and (stat := _stat(entry)) and stat[1] == pid and stat[0] != "Z"]


def _wait_until(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.02)
    return result


def _kill_survivors(pids):
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")


@needs_proc
def test_workers_exit_when_the_cli_process_is_killed(tmp_path):
    log_path = tmp_path / "stderr.txt"
    with open(log_path, "w") as log:
        parent = subprocess.Popen(
            [sys.executable, "-m", "caloml.sim", "--geometry=srgamma", "--particle=photon",
             "--num_showers=200000", "--workers=2", f"--output={tmp_path / 'x.h5'}"],
            stdout=subprocess.DEVNULL, stderr=log,
        )
    workers = []
    try:
        def started():
            if parent.poll() is not None:
                pytest.fail(f"the simulator ended: {log_path.read_text()}")
            return len(_children(parent.pid)) >= 2

        _wait_until(started, 120, "the two workers")
        workers = _children(parent.pid)
        assert len(workers) == 2
        parent.kill()  # SIGKILL: no clean-up of the parent runs
        parent.wait()
        _wait_until(lambda: not any(_alive(pid) for pid in workers), 5, f"workers {workers}")
    finally:
        parent.kill()
        parent.wait()
        _kill_survivors(workers)


# A process that forks a child arming core._exit_with_parent, then waits to be killed.
_FORK_SCRIPT = """
import os, sys, time
from caloml.sim import core
parent = os.getpid()
if os.fork() == 0:
    if {platform!r}:
        sys.platform = {platform!r}
    core._exit_with_parent(parent)
    print(os.getpid(), flush=True)
    time.sleep(60)
    os._exit(0)
time.sleep(60)
"""


@needs_proc
@pytest.mark.parametrize("platform", ["", "darwin"], ids=["prctl", "polling_thread"])
def test_a_worker_exits_when_its_parent_is_killed(platform):
    parent = subprocess.Popen(
        [sys.executable, "-c", _FORK_SCRIPT.format(platform=platform)], stdout=subprocess.PIPE,
        text=True,
    )
    child = None
    try:
        child = int(parent.stdout.readline())
        assert _alive(child)
        parent.kill()
        parent.wait()
        # The polling thread looks every 0.5 s.
        _wait_until(lambda: not _alive(child), 5, f"child {child}")
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
        if child is not None:
            _kill_survivors([child])


@pytest.mark.skipif(sys.platform != "linux", reason="the check after prctl")
def test_a_worker_whose_parent_died_before_prctl_exits_at_once():
    # Our own pid is never our parent's: as if the parent had died and we had been reparented.
    script = textwrap.dedent("""
        import os
        from caloml.sim import core
        core._exit_with_parent(os.getpid())
        print("still running")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60)
    assert (result.returncode, result.stdout) == (1, ""), result.stderr
