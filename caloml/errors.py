"""caloml's exceptions, in one place.

:class:`CalomlError` and its subclasses are the errors the project raises on purpose: bad input
from the user (a flag, a setting, a data file, a request the library cannot serve) or a training
that diverged. Entry scripts report exactly these in one line (:func:`caloml.cli.run`); any other
exception is a bug and keeps its traceback.

The input errors also derive from the built-in exception a Python caller would expect
(``ValueError``, ``FileNotFoundError``), so ``except ValueError`` keeps working around library
calls.
"""

from __future__ import annotations


class CalomlError(Exception):
    """Base class of the errors caloml raises on purpose."""


class InputError(CalomlError, ValueError):
    """A value given to caloml cannot be used: a setting, a request or a flag combination."""


class UsageError(InputError):
    """A command-line flag value or combination that cannot be used (named in the message)."""


class DataError(InputError):
    """A dataset file does not match the layout caloml expects (file, key and expectation named)."""


class MissingFileError(InputError, FileNotFoundError):
    """A file or directory the user pointed caloml at does not exist."""


class OutputError(InputError, OSError):
    """An output path cannot be written (a missing or read-only directory, a directory name)."""


class TrainingDiverged(CalomlError, RuntimeError):
    """A training loss became NaN or infinite; the last good checkpoint is kept."""
