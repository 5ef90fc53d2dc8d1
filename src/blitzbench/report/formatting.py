"""Numbers as a person reads them: a unit that fits, three significant figures."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["fmt_bytes", "fmt_duration_s", "fmt_fraction", "fmt_ms", "fmt_number",
           "fmt_params", "fmt_value", "is_number"]

BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")
KIB = 1024
TIME_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))
MISSING = "–"
WHOLE_BELOW = 1e15  # a float holding a whole number prints as one (6.0 -> 6)
THOUSANDS_FROM = 10_000  # 1024 stays 1024; 50000 becomes 50,000


def is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def fmt_number(value: Any, digits: int = 3) -> str:
    """Three significant figures, thousands separated; integers as they are."""
    if not is_number(value):
        return MISSING if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= THOUSANDS_FROM else str(value)
    if value == 0:
        return "0"
    if float(value).is_integer() and abs(value) < WHOLE_BELOW:
        return fmt_number(int(value))
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(digits - 1 - magnitude, 0)
    return f"{value:,.{decimals}f}"


def fmt_duration_s(seconds: Any) -> str:
    """A duration in s, ms, µs or ns, whichever reads best."""
    if not is_number(seconds):
        return MISSING
    if seconds == 0:
        return "0 s"  # a step that did not run: not "0 ns"
    for scale, unit in TIME_UNITS:
        if abs(seconds) >= scale:
            return f"{fmt_number(seconds / scale)} {unit}"
    return f"{fmt_number(seconds / TIME_UNITS[-1][0])} {TIME_UNITS[-1][1]}"


def fmt_ms(milliseconds: Any) -> str:
    return fmt_duration_s(milliseconds / 1000.0) if is_number(milliseconds) else MISSING


#: below this a fraction of peak reads as "< 0.1%" (a 5x3 add is launch time, not bandwidth)
SMALLEST_FRACTION = 0.001


def fmt_fraction(value: Any) -> str:
    """A fraction of a peak as a percentage: 0.883 -> 88%, 0.0000076 -> < 0.1%."""
    if not is_number(value):
        return MISSING
    if 0 < abs(value) < SMALLEST_FRACTION:
        return f"< {SMALLEST_FRACTION:.1%}"
    return f"{value:.0%}" if abs(value) >= 0.1 else f"{value:.1%}"


def fmt_bytes(count: Any) -> str:
    if not is_number(count):
        return MISSING
    value, unit = float(count), BYTE_UNITS[0]
    for unit in BYTE_UNITS:
        if abs(value) < KIB or unit == BYTE_UNITS[-1]:
            break
        value /= KIB
    return f"{int(value)} {unit}" if unit == "B" else f"{fmt_number(value)} {unit}"


def fmt_value(value: Any) -> str:
    """Any JSON value in one short line."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if is_number(value):
        return fmt_number(value)
    if isinstance(value, Mapping):
        return fmt_params(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt_value(v) for v in value)
    return MISSING if value is None else str(value)


def fmt_params(params: Mapping[str, Any]) -> str:
    """``batch_size=64, variant=eager`` in name order."""
    return ", ".join(f"{k}={fmt_value(v)}" for k, v in sorted(params.items())) or MISSING
