"""Checks of configuration values, shared by every system's frozen config dataclasses.

Each names the field, what was expected and what it got, and raises
:class:`~caloml.errors.InputError`, so a bad flag or config value ends before anything is
written or computed (entry scripts turn it into one line).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from caloml.errors import InputError


def _fail(config: Any, name: str, expected: str, value: Any) -> None:
    raise InputError(f"{name} must be {expected}, got {value!r} ({type(config).__name__})")


def positive_int(config: Any, *names: str, minimum: int = 1) -> None:
    """Every field in ``names`` is an int (not a bool) of at least ``minimum``."""
    for name in names:
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            _fail(config, name, "a positive integer" if minimum == 1 else
                  f"an integer of at least {minimum}", value)


def finite(config: Any, *names: str, low: float | None = None, high: float | None = None,
           strict_low: bool = False, optional: bool = False) -> None:
    """Every field in ``names`` is a finite number within ``[low, high]``.

    Args:
        strict_low: ``low`` itself is excluded (a learning rate > 0).
        optional: None is accepted (a default filled in later).
    """
    for name in names:
        value = getattr(config, name)
        if value is None and optional:
            continue
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            _fail(config, name, "a finite number", value)
        if low is not None and (value < low or (strict_low and value == low)):
            _fail(config, name, f"{'>' if strict_low else '≥'} {low:g}", value)
        if high is not None and value > high:
            _fail(config, name, f"≤ {high:g}", value)


def as_config(cls: type, value: Any) -> Any:
    """``value`` as a ``cls`` dataclass: None gives the defaults; a dict (from JSON) is parsed.

    Raises:
        InputError: ``value`` is neither None, a ``cls`` nor a dict, or the dict has unknown keys.
    """
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if isinstance(value, dict):
        fields = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(value) - fields)
        if unknown:
            raise InputError(f"{cls.__name__} has no setting {', '.join(unknown)}; "
                             f"expected some of {', '.join(sorted(fields))}")
        # JSON turns tuples into lists; the frozen dataclasses keep tuples (hashable, immutable).
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in value.items()})
    raise InputError(f"expected a {cls.__name__} or a dict, got {type(value).__name__}")
