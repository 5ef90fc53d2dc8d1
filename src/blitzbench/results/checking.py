"""Checking what a results file says, field by field: one helper per kind of value.

A results folder may be a file someone handed us; every reader in :mod:`blitzbench.results`
checks each field through these helpers, so a defect is one
:class:`~blitzbench.errors.UsageError` line naming the field (``benchmarks[3].times_s[1]``)
and never a crash further on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from blitzbench.errors import UsageError

__all__ = ["MAX_FIGURE", "MAX_RECORDS", "MAX_SECONDS", "MAX_TEXT", "PARAM_TYPES"]

MAX_SECONDS = 1e6  # a median above ~11 days is not a benchmark figure
MAX_FIGURE = 1e15  # above any rate blitzbench measures (images/s, GB/s, FLOP/s)
MAX_TEXT = 100_000  # an evidence summary or an error message, not a file's worth
MAX_RECORDS = 100_000
PARAM_TYPES = (str, int, float, bool)

T = TypeVar("T")


def _fail(where: str, problem: str) -> UsageError:
    return UsageError(f"{where} {problem}")


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, f"must be a JSON object, got {_json_type(value)}")
    return value


def _keys(data: Mapping[str, Any], known: Sequence[str], where: str) -> None:
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise _fail(where, f"has an unknown key {str(unknown[0])[:40]!r} (known: "
                           f"{', '.join(known)})")


def _text(data: Mapping[str, Any], key: str, where: str, *, required: bool = True,
          empty: bool = False) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (not value and not empty) or len(value) > MAX_TEXT:
        raise _fail(f"{where}.{key}", f"must be a {'' if empty else 'non-empty '}string, "
                                      f"got {_json_type(value)}")
    return value


def _flag(data: Mapping[str, Any], key: str, where: str, default: bool = False) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise _fail(f"{where}.{key}", f"must be true or false, got {_json_type(value)}")
    return value


def _number(value: Any, where: str, limit: float = MAX_FIGURE, *, positive: bool = False,
            signed: bool = False) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise _fail(where, f"must be a number, got {_json_type(value)}")
    low_ok = value > 0 if positive else (True if signed else value >= 0)
    if not math.isfinite(value) or abs(value) > limit or not low_ok:
        low = "0 < value" if positive else ("|value|" if signed else "0 <= value")
        raise _fail(where, f"= {value!r:.40} is out of range ({low} <= {limit:g})")
    return float(value)


def _optional_number(data: Mapping[str, Any], key: str, where: str,
                     limit: float = MAX_FIGURE, *, signed: bool = False) -> float | None:
    value = data.get(key)
    return None if value is None else _number(value, f"{where}.{key}", limit, signed=signed)


def _records(data: Mapping[str, Any], key: str, where: str,
             read: Callable[[Any, str], T], sep: str = ".") -> tuple[T, ...]:
    """A list section, each item read by ``read`` with its own path for messages."""
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(f"{where}{sep}{key}", f"must be a JSON list, got {_json_type(value)}")
    if len(value) > MAX_RECORDS:
        raise _fail(f"{where}{sep}{key}", f"has {len(value)} records, more than "
                                          f"{MAX_RECORDS}")
    return tuple(read(item, f"{where}{sep}{key}[{index}]") for index, item in enumerate(value))


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "list", str: "string", bool: "true/false",
             int: "number", float: "number", type(None): "null"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _params(value: Any, where: str) -> dict[str, Any]:
    params = dict(_object(value if value is not None else {}, where))
    for key, item in params.items():
        if not isinstance(item, PARAM_TYPES) or (isinstance(item, float)
                                                  and not math.isfinite(item)):
            raise _fail(f"{where}.{key}", "must be a string, a finite number or true/false")
    return params


def _extra(value: Any, where: str) -> dict[str, Any]:
    extra = dict(_object(value if value is not None else {}, where))
    for key, item in extra.items():
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            _number(item, f"{where}.{str(key)[:40]}", signed=True)
    return extra


def _choice(data: Mapping[str, Any], key: str, choices: Sequence[str], where: str) -> str:
    value = data.get(key)
    if value not in choices:
        raise _fail(f"{where}.{key}", f"must be one of {', '.join(choices)}, got "
                                      f"{str(value)[:40]!r}")
    return str(value)


def _whole(value: Any, where: str, limit: int = MAX_RECORDS) -> int:
    """A whole number from 0 to ``limit`` (a rank, a count)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= limit:
        raise _fail(where, f"must be a whole number from 0 to {limit}, got {value!r:.40}")
    return value
