"""Support for caloml's absl entry scripts: one-line errors, quiet TensorFlow start-up.

Flags are defined in the scripts (``train/``, ``eval/``, ``baselines/``, ``__main__.py``);
nothing else under ``caloml/`` imports ``absl.flags``. A script defines its flags importing
nothing heavy, so ``--help`` and flag errors come at once, and imports the library inside
``main``, after the flags are parsed::

    def main(argv):
        cli.import_tensorflow()
        from caloml.srgan import experiment
        ...

    if __name__ == "__main__":
        cli.run(main)
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import sys
import tempfile
from collections.abc import Callable, Sequence

from absl import app, flags
from absl import logging as absl_logging

from caloml import outputs
from caloml.errors import CalomlError, OutputError, UsageError

# TensorFlow's C++ logging: warnings and errors only (1 = no INFO; 2 = no WARNING either).
DEFAULT_TF_LOG_LEVEL = "2"
_TF_LOG_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
# What TensorFlow's shared libraries print while they load, before its logging honours the level:
# absl's banner and INFO/WARNING lines ("I0000 00:00:1796255072.55 3534 port.cc:153] oneDNN…"),
# and, on a machine without a GPU driver, the failed cuInit of the device search.
_STARTUP_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] "
    r"|E\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ cuda_platform\.cc:\d+\] failed call to cuInit)"
)
_user_set_tf_log_level = False


def run(main: Callable[[list[str]], None]) -> None:
    """``absl.app.run(main)``, with caloml's own errors printed as one line and exit code 2.

    Only :class:`~caloml.errors.CalomlError` (bad input, a diverged training) and absl's
    ``UsageError`` become ``error: <message>``; any other exception is a bug and keeps its
    traceback; a bad flag gives one such line too. Every float flag must be finite (absl's
    bounds let NaN through). Set
    ``CALOML_DEBUG=1`` to get the traceback of caloml's errors too. TensorFlow's
    C++ logging is set to warnings and errors unless ``TF_CPP_MIN_LOG_LEVEL`` is set.
    """
    global _user_set_tf_log_level
    _user_set_tf_log_level = _TF_LOG_VARIABLE in os.environ
    os.environ.setdefault(_TF_LOG_VARIABLE, DEFAULT_TF_LOG_LEVEL)

    @functools.wraps(main)
    def wrapped(argv):
        if len(argv) > 1:
            _fail(f"unexpected arguments: {' '.join(argv[1:])}")
        _check_finite_flags()
        try:
            return main(argv)
        except (CalomlError, app.UsageError) as e:
            if os.environ.get("CALOML_DEBUG"):
                raise
            _fail(str(e))

    app.run(wrapped, flags_parser=_parse_flags)


def _parse_flags(argv: list[str]) -> list[str]:
    """absl's flag parsing, with a bad flag reported as one line and exit code 2.

    (absl prints "FATAL Flags parsing error: …" and a hint on a second line, and exits with 1.)
    """
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        _fail(str(e))


def _check_finite_flags() -> None:
    """Fails on a float flag given as nan or ±inf, which absl's bounds checks let through."""
    for name in sorted(flags.FLAGS):
        flag = flags.FLAGS[name]
        if (isinstance(flag.parser, flags.FloatParser) and flag.value is not None
                and not math.isfinite(flag.value)):
            _fail(f"--{flag.name}={flag.value} must be a finite number")


def import_tensorflow() -> None:
    """Imports TensorFlow without the lines its libraries print while loading.

    TensorFlow 2.21 prints its start-up INFO lines (oneDNN, CUDA stub, CPU features) before its
    logging honours ``TF_CPP_MIN_LOG_LEVEL``, and prints them twice; its first device search
    reports a failed cuInit on machines without a GPU driver. This import (and device search)
    drops those lines and passes any other output on, and keeps TensorFlow's Python INFO
    messages (SavedModel export details) out of the log, unless the user set
    ``TF_CPP_MIN_LOG_LEVEL``.
    Call it at the start of ``main``, before importing the parts of caloml that use TensorFlow.
    """
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault(_TF_LOG_VARIABLE, DEFAULT_TF_LOG_LEVEL)
    if _user_set_tf_log_level:
        import tensorflow  # noqa: F401

        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
            _drop_tensorflow_info(os.path.dirname(tf.__file__))
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode(errors="replace").splitlines():
                if not _STARTUP_NOISE.match(line):
                    sys.stderr.write(line + "\n")


def _drop_tensorflow_info(package_dir: str) -> None:
    """Keeps TensorFlow's own Python INFO messages (SavedModel export details) out of the log.

    TensorFlow logs them through absl, like caloml, so they are told apart by the file that
    logs them: anything under ``package_dir`` below WARNING is dropped.
    """
    prefix = os.path.join(package_dir, "")

    def keep(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not record.pathname.startswith(prefix)

    absl_logging.get_absl_logger().addFilter(keep)
    tf_logger = logging.getLogger("tensorflow")
    tf_logger.setLevel(max(tf_logger.level, logging.WARNING))


def check_output_flag(flag: str, path: str) -> None:
    """Raises a :class:`~caloml.errors.UsageError` naming ``--flag`` if ``path`` is unwritable."""
    try:
        outputs.check_writable(path)
    except OutputError as e:
        raise UsageError(f"--{flag}: {e}") from None


def parse_numbers(flag: str, values: Sequence[str], kind: type = float,
                  minimum: float | None = None) -> tuple:
    """The values of a list flag as finite numbers of ``kind`` of at least ``minimum``.

    Raises:
        UsageError: naming ``--flag`` and what it expects.
    """
    what = "integers" if kind is int else "finite numbers"
    if minimum is not None:
        what += f" of at least {minimum:g}"
    try:
        numbers = tuple(kind(v) for v in values)
    except ValueError:
        numbers = ()
    if len(numbers) != len(values) or not all(math.isfinite(n) for n in numbers) or (
            minimum is not None and any(n < minimum for n in numbers)):
        raise UsageError(f"--{flag} expects {what}, got {','.join(values)}")
    return numbers


def _fail(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.exit(2)
