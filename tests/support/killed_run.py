"""Runs an entry script and kills it with SIGKILL at a chosen phase: the kill drill's driver.

    python killed_run.py PHASE SCRIPT [FLAGS...]

The phase's patch wraps one library call so that the process kills itself at that exact
point (deterministic, unlike a timed kill from outside); the rest runs unchanged. Before it
dies, the process writes the pids of its children (simulator workers) to ``$KILLED_RUN_PIDS``.
"""

import os
import runpy
import signal
import sys

PHASES = ("simulation", "classifier_export", "epoch_end", "checkpoint_write", "mid_epoch",
          "export", "evaluation")


def _children():
    """Pids of this process's children (from /proc)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == os.getpid():
                        pids.append(entry)
            except (OSError, IndexError, ValueError):
                pass
    return pids


def _die():
    with open(os.environ["KILLED_RUN_PIDS"], "w") as f:
        f.write(" ".join(_children()))
    os.kill(os.getpid(), signal.SIGKILL)


def _after(owner, name, condition):
    """Kills the process once ``owner.name(...)`` returns and ``condition(*args)`` holds."""
    original = getattr(owner, name)

    def wrapped(*args, **kwargs):
        result = original(*args, **kwargs)
        if condition(*args, **kwargs):
            _die()
        return result

    setattr(owner, name, wrapped)


def _before(owner, name, condition):
    """Kills the process when ``owner.name(...)`` is called and ``condition(*args)`` holds."""
    original = getattr(owner, name)

    def wrapped(*args, **kwargs):
        if condition(*args, **kwargs):
            _die()
        return original(*args, **kwargs)

    setattr(owner, name, wrapped)


def install(phase):
    if phase == "simulation":
        # After the first chunk of the photon file: a half-written temporary file, live workers.
        from caloml.io import hdf5

        _after(hdf5.H5Writer, "write", lambda writer, start, arrays: True)
    elif phase == "classifier_export":
        # The HR classifier's SavedModel is in place, its .keras file written but not renamed.
        import keras

        _after(keras.Model, "save", lambda model, path, *a, **k:
               os.path.basename(path).startswith("classifier_hr"))
    elif phase == "epoch_end":
        # Epoch 2 is validated and in history.json, but not checkpointed.
        from caloml.training import checkpoint

        _before(checkpoint.Checkpointer, "on_epoch_end", lambda cb, epoch, *a, **k: epoch == 1)
    elif phase == "checkpoint_write":
        # The files of checkpoint 3 are written, the manager's state file not yet updated.
        from tensorflow.python.checkpoint import checkpoint_management

        _before(checkpoint_management.CheckpointManager, "_record_state",
                lambda manager: manager.latest_checkpoint.endswith("ckpt-3"))
    elif phase == "mid_epoch":
        # At the tenth step of epoch 4.
        import keras

        seen = {}
        _before(keras.callbacks.TensorBoard, "on_epoch_begin",
                lambda callback, epoch, logs=None: seen.update(epoch=epoch))
        _before(keras.callbacks.TensorBoard, "on_train_batch_end",
                lambda callback, batch, logs=None: seen.get("epoch") == 3 and batch == 9)
    elif phase == "export":
        # The generator's SavedModel is in place, its .keras file written but not renamed.
        import keras

        _after(keras.Model, "save", lambda model, path, *a, **k:
               os.path.basename(path).startswith("generator.tmp-"))
    elif phase == "evaluation":
        # The third figure file of the evaluation is written, not yet renamed.
        from matplotlib import figure

        calls = []
        _after(figure.Figure, "savefig", lambda *a, **k: calls.append(1) or len(calls) == 3)
    else:
        raise SystemExit(f"unknown phase {phase!r}; expected one of {PHASES}")


if __name__ == "__main__":
    phase, script, *flags = sys.argv[1:]
    install(phase)
    sys.argv = [script, *flags]
    runpy.run_path(script, run_name="__main__")
