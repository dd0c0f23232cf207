"""Starts a training command and kills it (SIGKILL) right after its first checkpoint."""

import signal
import subprocess
import time


def kill_after_first_checkpoint(command, cwd, workdir, timeout: float = 600) -> None:
    """Runs ``command`` until ``workdir/checkpoints`` names a complete checkpoint 1, then kills it.

    The checkpoint manager's state file names a checkpoint only once it is complete, so the
    run is killed with one complete checkpoint and whatever it was writing after it.
    """
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    state = workdir / "checkpoints" / "checkpoint"

    def saved():
        return state.exists() and "ckpt-1" in state.read_text()

    deadline = time.monotonic() + timeout
    while not saved() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert saved(), process.stderr.read()[-3000:]
