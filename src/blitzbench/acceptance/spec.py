"""Acceptance specs: TOML files of rules, parsed strictly.

A spec is a list of ``[[rule]]`` tables. Each rule names a metric (or a ``*`` pattern over
metric names), the devices it applies to, a comparison and a bound::

    version = 1
    description = "what this spec is for"

    [[rule]]
    id = "hbm-bandwidth"                      # unique; names the rule in tables and junit
    metric = "tensor_add[size=2^28].gb_per_s" # see blitzbench.acceptance.metrics
    device = "cuda"                           # all | cpu | cuda | cuda:N
    gpu = "H200"                              # optional: only GPUs whose name contains this
    op = ">="                                 # >= | <= | ==
    kind = "peak_fraction"                    # absolute | peak_fraction | baseline
    bound = 0.85
    source = "H200 raw add measured 4.29 of 4.8 TB/s = 0.89"

``absolute`` compares the metric itself; ``peak_fraction`` compares the metric's fraction
of the device's nominal peak; ``baseline`` compares the percentage by which the metric is
worse than in the ``--baseline`` run (op must be ``<=``). Anything a user could get wrong
(unknown key, wrong type, NaN, a huge number, an unknown metric) is a one-line
:class:`~blitzbench.errors.UsageError`, raised before any measurement starts.
"""

from __future__ import annotations

import difflib
import enum
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from blitzbench.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads TOML through the tomli backport
    import tomli as tomllib

__all__ = [
    "DEFAULT_SPEC_NAME",
    "MAX_ABS_BOUND",
    "BoundKind",
    "Rule",
    "Spec",
    "default_spec_path",
    "load_spec",
    "metric_pattern",
    "parse_spec",
]

DEFAULT_SPEC_NAME = "default_spec.toml"
SPEC_VERSION = 1
MAX_SPEC_BYTES = 1 << 20  # a spec is a page of rules; anything larger is not a spec
MAX_RULES = 1000
#: Bounds beyond this are typos or hostile input (no rate blitzbench measures gets near it).
MAX_ABS_BOUND = 1e12
MAX_PEAK_FRACTION = 2.0  # a measured fraction of nominal peak above 2 means a wrong peak
MAX_SLOWDOWN_PCT = 100.0
OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda measured, bound: measured >= bound,
    "<=": lambda measured, bound: measured <= bound,
    "==": lambda measured, bound: measured == bound,
}
RULE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}$")
DEVICE_RE = re.compile(r"^(all|cpu|cuda|cuda:\d{1,3})$")
TOP_KEYS = {"version": int, "description": str, "rule": list}
RULE_KEYS: dict[str, type | tuple[type, ...]] = {
    "id": str, "metric": str, "device": str, "gpu": str, "op": str, "kind": str,
    "bound": (int, float, bool), "source": str,
}
REQUIRED_RULE_KEYS = ("id", "metric", "op", "bound")
MAX_TEXT = 500


class BoundKind(str, enum.Enum):
    """What a rule's bound is measured in."""

    ABSOLUTE = "absolute"  # the metric's own unit (images/s, GB/s, true/false)
    PEAK_FRACTION = "peak_fraction"  # fraction of the device's nominal peak (0..1)
    BASELINE = "baseline"  # percent worse than the --baseline run, by median


@dataclass(frozen=True)
class Rule:
    """One line of a spec: ``metric`` on ``device`` ``op`` ``bound`` (of ``kind``)."""

    id: str
    metric: str
    op: str
    bound: float
    kind: BoundKind = BoundKind.ABSOLUTE
    device: str = "all"
    gpu: str | None = None
    source: str = ""

    def describe_bound(self, unit: str = "") -> str:
        """``>= 0.85 of peak``, ``<= 10% slower than baseline``, ``>= 20 GB/s``."""
        bound = _fmt(self.bound)
        if self.kind is BoundKind.PEAK_FRACTION:
            return f"{self.op} {bound} of peak"
        if self.kind is BoundKind.BASELINE:
            return f"{self.op} {bound}% slower than baseline"
        if self.op == "==" and self.metric.startswith("claims."):
            return "as expected" if self.bound == 1 else "not as expected"
        if self.op == "==" and self.metric.startswith("tutorial."):
            return "every block runs" if self.bound == 1 else "some block fails"
        return f"{self.op} {bound}{' ' + unit if unit else ''}"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "metric": self.metric, "device": self.device, "gpu": self.gpu,
                "op": self.op, "bound": self.bound, "kind": self.kind.value,
                "source": self.source}


@dataclass(frozen=True)
class Spec:
    """A parsed, validated spec and where it came from."""

    path: str
    description: str
    rules: tuple[Rule, ...]

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "description": self.description,
                "rules": [r.to_json() for r in self.rules]}


def default_spec_path() -> Path:
    """The spec shipped with blitzbench (package data)."""
    return Path(str(resources.files("blitzbench.acceptance") / DEFAULT_SPEC_NAME))


def metric_pattern(pattern: str) -> re.Pattern[str]:
    """A metric pattern as a regex: ``*`` matches anything, every other character is
    literal (metric names contain ``[`` and ``]``, which fnmatch would read as a class)."""
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$")


def load_spec(path: Path | None, known_metrics: Iterable[str]) -> Spec:
    """Read and validate a spec file (the shipped default when ``path`` is None)."""
    path = Path(path) if path is not None else default_spec_path()
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise UsageError(f"spec {path}: {size} bytes, larger than any spec "
                             f"({MAX_SPEC_BYTES} bytes at most)")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"spec {path}: file not found: pass an existing TOML file to "
                         f"--spec") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"spec {path}: cannot read ({exc})") from None
    return parse_spec(text, str(path), known_metrics)


def parse_spec(text: str, origin: str, known_metrics: Iterable[str]) -> Spec:
    """Parse spec text; every metric pattern must match a metric blitzbench knows."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"spec {origin}: malformed TOML: {exc}") from None
    _check_keys(data, TOP_KEYS, f"spec {origin}")
    version = data.get("version", SPEC_VERSION)
    if version != SPEC_VERSION:
        raise UsageError(f"spec {origin}: version {version!r} is not supported "
                         f"(this blitzbench reads version {SPEC_VERSION})")
    tables = data.get("rule", [])
    if not tables:
        raise UsageError(f"spec {origin}: no [[rule]] tables: a spec needs at least one rule")
    if len(tables) > MAX_RULES:
        raise UsageError(f"spec {origin}: {len(tables)} rules, more than {MAX_RULES}")
    known = sorted(set(known_metrics))
    rules = tuple(_parse_rule(t, i, origin, known) for i, t in enumerate(tables, 1))
    _check_unique_ids(rules, origin)
    return Spec(origin, _text(data.get("description", ""), f"spec {origin}: description"),
                rules)


def _parse_rule(table: Any, index: int, origin: str, known: list[str]) -> Rule:
    where = f"spec {origin}: rule {index}"
    if not isinstance(table, dict):
        raise UsageError(f"{where}: expected a [[rule]] table, got {type(table).__name__}")
    if isinstance(table.get("id"), str) and RULE_ID_RE.match(table["id"]):
        where = f"spec {origin}: rule {table['id']!r}"
    _check_keys(table, RULE_KEYS, where)
    missing = [k for k in REQUIRED_RULE_KEYS if k not in table]
    if missing:
        raise UsageError(f"{where}: missing {', '.join(missing)}")
    rule_id = table["id"]
    if not RULE_ID_RE.match(rule_id):
        raise UsageError(f"{where}: id {rule_id[:40]!r} must be 1-80 letters, digits, "
                         f"'_', '.', '-'")
    kind = _kind(table.get("kind", BoundKind.ABSOLUTE.value), where)
    op = _op(table["op"], kind, where)
    return Rule(
        id=rule_id,
        metric=_metric(table["metric"], known, where),
        op=op,
        bound=_bound(table["bound"], kind, op, where),
        kind=kind,
        device=_device(table.get("device", "all"), where),
        gpu=_text(table.get("gpu", ""), f"{where}: gpu").strip() or None,
        source=_text(table.get("source", ""), f"{where}: source"),
    )


def _check_keys(table: Mapping[str, Any], allowed: Mapping[str, Any], where: str) -> None:
    for key, value in table.items():
        if key not in allowed:
            hint = difflib.get_close_matches(key, list(allowed), n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise UsageError(f"{where}: unknown key {key[:40]!r}{suggestion}; known keys: "
                             f"{', '.join(allowed)}")
        expected = allowed[key]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            names = (expected,) if isinstance(expected, type) else expected
            wanted = " or ".join(t.__name__ for t in names)
            raise UsageError(f"{where}: {key} must be {wanted}, got {type(value).__name__}")


def _kind(value: str, where: str) -> BoundKind:
    try:
        return BoundKind(value)
    except ValueError:
        choices = ", ".join(k.value for k in BoundKind)
        raise UsageError(f"{where}: kind {value[:40]!r} is not one of {choices}") from None


def _op(value: str, kind: BoundKind, where: str) -> str:
    if value not in OPS:
        raise UsageError(f"{where}: op {value[:20]!r} is not one of {', '.join(OPS)}")
    if kind is BoundKind.BASELINE and value != "<=":
        raise UsageError(f"{where}: a baseline bound is a largest slowdown in percent: "
                         f"use op = \"<=\"")
    return value


def _bound(value: float | int | bool, kind: BoundKind, op: str, where: str) -> float:
    if isinstance(value, bool):
        if kind is not BoundKind.ABSOLUTE or op != "==":
            raise UsageError(f"{where}: a true/false bound needs op = \"==\" and kind = "
                             f"\"absolute\"")
        return 1.0 if value else 0.0
    if isinstance(value, int) and abs(value) > MAX_ABS_BOUND:
        raise UsageError(f"{where}: bound {str(value)[:20]}... is out of range "
                         f"(|bound| <= {MAX_ABS_BOUND:.0e})")
    bound = float(value)
    if not math.isfinite(bound):
        raise UsageError(f"{where}: bound {value} is not a finite number")
    if abs(bound) > MAX_ABS_BOUND:
        raise UsageError(f"{where}: bound {value:.3g} is out of range "
                         f"(|bound| <= {MAX_ABS_BOUND:.0e})")
    if kind is BoundKind.PEAK_FRACTION and not 0 < bound <= MAX_PEAK_FRACTION:
        raise UsageError(f"{where}: a peak_fraction bound is a fraction of nominal peak, "
                         f"0 < bound <= {MAX_PEAK_FRACTION:g}; got {bound:g}")
    if kind is BoundKind.BASELINE and not 0 <= bound < MAX_SLOWDOWN_PCT:
        raise UsageError(f"{where}: a baseline bound is a slowdown in percent, "
                         f"0 <= bound < {MAX_SLOWDOWN_PCT:g}; got {bound:g}")
    return bound


def _device(value: str, where: str) -> str:
    text = value.strip().lower()
    if not DEVICE_RE.match(text):
        raise UsageError(f"{where}: device {value[:40]!r} is not one of all, cpu, cuda, "
                         f"cuda:N")
    return text


def _metric(pattern: str, known: list[str], where: str) -> str:
    if not pattern or len(pattern) > MAX_TEXT:
        raise UsageError(f"{where}: metric must be a non-empty name of at most "
                         f"{MAX_TEXT} characters")
    regex = metric_pattern(pattern)
    if not any(regex.match(name) for name in known):
        hint = difflib.get_close_matches(pattern, known, n=1, cutoff=0.6)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise UsageError(f"{where}: unknown metric {pattern[:80]!r}{suggestion}: "
                         f"`blitzbench accept --list-metrics` lists them")
    return pattern


def _text(value: str, where: str) -> str:
    if len(value) > MAX_TEXT:
        raise UsageError(f"{where}: longer than {MAX_TEXT} characters")
    return value


def _check_unique_ids(rules: Iterable[Rule], origin: str) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise UsageError(f"spec {origin}: rule id {rule.id!r} is used twice")
        seen.add(rule.id)


def _fmt(value: float) -> str:
    return f"{value:g}"
