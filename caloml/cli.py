"""Support for caloml's absl entry scripts: one-line errors instead of usage dumps or tracebacks.

Flags themselves are defined in the scripts (nothing under ``caloml/`` imports ``absl.flags``).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable

from absl import app

from caloml.data.hdf5 import DataError
from caloml.errors import TrainingDiverged


class UsageError(Exception):
    """A flag value or combination of flags that cannot be used; reported in one line."""


# Errors that mean "bad input" (or a diverged training) rather than "bug": reported as
# ``error: <message>``, exit code 2.
# Set CALOML_DEBUG=1 to get the traceback instead.
INPUT_ERRORS = (
    UsageError, app.UsageError, DataError, ValueError, OSError, KeyError, TrainingDiverged
)


def run(main: Callable[[list[str]], None]) -> None:
    """``absl.app.run(main)``, with input errors printed as one line and exit code 2."""

    @functools.wraps(main)
    def wrapped(argv):
        if len(argv) > 1:
            _fail(f"unexpected arguments: {' '.join(argv[1:])}")
        try:
            return main(argv)
        except INPUT_ERRORS as e:
            if os.environ.get("CALOML_DEBUG"):
                raise
            message = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
            _fail(message)

    app.run(wrapped)


def _fail(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.exit(2)
