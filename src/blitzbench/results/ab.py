"""The records of an A/B run (``blitzbench ab``): the two sides and each case's pairs.

A side is a Python interpreter that imports blitzbench, with environment assignments in
front (``PYTHONPATH=patches .tox/torch213/bin/python``). A case's record keeps every pair
(A's and B's per-call time in the slot of each, and which ran first), not a verdict: the
verdict is computed where it is read (results/paired.py), so the report, ``--format json``
and the pytest gate cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from blitzbench.results.checking import (
    MAX_SECONDS,
    _fail,
    _flag,
    _keys,
    _number,
    _object,
    _optional_number,
    _params,
    _records,
    _text,
    _whole,
)
from blitzbench.results.instructions import CountsRecord
from blitzbench.results.names import metric_prefix

__all__ = ["MAX_PAIRS", "ABRecord", "PairedCase", "Side", "split"]

T = TypeVar("T")

#: Pairs a case may hold: the full level takes at most a few hundred.
MAX_PAIRS = 100_000


@dataclass(frozen=True)
class Side:
    """One side of the comparison: how it was started and what it runs."""

    name: str  # "A" or "B"
    command: tuple[str, ...]  # the interpreter's argv (without the worker module)
    env: Mapping[str, str] = field(default_factory=dict)  # assignments in front of it
    versions: Mapping[str, str] = field(default_factory=dict)  # torch, blitzbench, python

    KEYS = ("name", "command", "env", "versions")

    @property
    def spec(self) -> str:
        """As the user wrote it: ``PYTHONPATH=p /usr/bin/python3``."""
        return " ".join([*(f"{k}={v}" for k, v in self.env.items()), *self.command])

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "command": list(self.command), "env": dict(self.env),
                "versions": dict(self.versions)}

    @classmethod
    def from_json(cls, value: Any, where: str = "side") -> Side:
        data = _object(value, where)
        _keys(data, cls.KEYS, where)
        command = data.get("command")
        if not isinstance(command, list) or not command or \
                not all(isinstance(part, str) and part for part in command):
            raise _fail(f"{where}.command", "must be a non-empty list of strings")
        return cls(_text(data, "name", where), tuple(command),
                   _strings(data.get("env"), f"{where}.env"),
                   _strings(data.get("versions"), f"{where}.versions"))


@dataclass(frozen=True)
class PairedCase:
    """One case measured on both sides, pair by pair.

    ``a_s[i]`` and ``b_s[i]`` are the per-call times (the median of the slot's rounds) of
    pair i, ``b_first[i]`` whether B's slot came first. ``calls`` per round and ``rounds``
    per slot are the same on both sides (one side's calibration decides them). ``blocks``
    splits the pairs by the build of the case that measured them (``(5, 5, 5)``: pairs
    0-4 from the first, and so on; empty: one), and ``builds`` splits the blocks by the pair
    of worker processes that built them (``(3, 3)``: blocks 0-2 from the first pair of
    processes; empty: each block from a pair of its own). ``error`` says why a case has no
    (or too few) pairs: a side that crashed or hung on it.
    """

    benchmark: str
    device: str
    params: Mapping[str, Any] = field(default_factory=dict)
    a_s: tuple[float, ...] = ()
    b_s: tuple[float, ...] = ()
    b_first: tuple[bool, ...] = ()
    calls: int = 0
    rounds: int = 0
    wall_s: float | None = None
    error: str | None = None
    blocks: tuple[int, ...] = ()
    builds: tuple[int, ...] = ()

    KEYS = ("benchmark", "device", "params", "a_s", "b_s", "b_first", "calls", "rounds",
            "wall_s", "error", "blocks", "builds")

    def __post_init__(self) -> None:
        if not len(self.a_s) == len(self.b_s) == len(self.b_first):
            raise ValueError(f"{self.prefix}: {len(self.a_s)} A times, {len(self.b_s)} B "
                             f"times and {len(self.b_first)} orders")
        if self.blocks and sum(self.blocks) != len(self.a_s):
            raise ValueError(f"{self.prefix}: blocks {self.blocks} do not add up to "
                             f"{len(self.a_s)} pairs")
        if self.builds and sum(self.builds) != len(self.blocks):
            raise ValueError(f"{self.prefix}: builds {self.builds} do not add up to "
                             f"{len(self.blocks)} blocks")

    def block_pairs(self) -> list[tuple[tuple[float, ...], tuple[float, ...]]]:
        """(A times, B times) of each build (one block when ``blocks`` is empty)."""
        sizes = self.blocks or ((self.pairs,) if self.pairs else ())
        return list(zip(split(self.a_s, sizes), split(self.b_s, sizes), strict=True))

    def process_blocks(self) -> list[list[tuple[tuple[float, ...], tuple[float, ...]]]]:
        """The builds of each pair of worker processes, in order."""
        blocks = self.block_pairs()
        return [list(part) for part in split(blocks, self.builds or (1,) * len(blocks))]

    @property
    def prefix(self) -> str:
        return metric_prefix(self.benchmark, self.params)

    @property
    def key(self) -> str:
        """``benchmark[params]@device``: what both sides call the case."""
        return f"{self.prefix}@{self.device}"

    @property
    def pairs(self) -> int:
        return len(self.a_s)

    @property
    def measured(self) -> str:
        """What each figure is: the per-call time of a slot of ``rounds`` rounds."""
        builds = len(self.blocks) or 1
        processes = len(self.builds) or builds
        return (f"per-call time, median of {self.rounds} round(s) of {self.calls} call(s) "
                f"per slot, A and B alternated in random order, {self.pairs} pairs from "
                f"{builds} build(s) of the case in {processes} pair(s) of worker processes")

    def to_json(self) -> dict[str, Any]:
        return {"benchmark": self.benchmark, "device": self.device,
                "params": dict(self.params), "a_s": list(self.a_s), "b_s": list(self.b_s),
                "b_first": list(self.b_first), "calls": self.calls, "rounds": self.rounds,
                "wall_s": self.wall_s, "error": self.error, "blocks": list(self.blocks),
                "builds": list(self.builds)}

    @classmethod
    def from_json(cls, value: Any, where: str = "case") -> PairedCase:
        data = _object(value, where)
        _keys(data, cls.KEYS, where)
        a_s, b_s = (_times(data.get(k), f"{where}.{k}") for k in ("a_s", "b_s"))
        orders = data.get("b_first") or []
        if not isinstance(orders, list) or not all(isinstance(o, bool) for o in orders):
            raise _fail(f"{where}.b_first", "must be a list of true/false")
        if not len(a_s) == len(b_s) == len(orders):
            raise _fail(where, f"has {len(a_s)} A times, {len(b_s)} B times and "
                               f"{len(orders)} orders: one of each per pair")
        blocks = _counts(data, "blocks", len(a_s), "pair", where)
        builds = _counts(data, "builds", len(blocks), "block", where)
        return cls(_text(data, "benchmark", where), _text(data, "device", where),
                   _params(data.get("params"), f"{where}.params"), a_s, b_s, tuple(orders),
                   _whole(data.get("calls", 0), f"{where}.calls", 1 << 30),
                   _whole(data.get("rounds", 0), f"{where}.rounds"),
                   _optional_number(data, "wall_s", where, MAX_SECONDS),
                   _text(data, "error", where, required=False), blocks, builds)


@dataclass(frozen=True)
class ABRecord:
    """The ``ab`` section of results.json: sides, settings, every case, and the cases
    only one side has (listed, not compared)."""

    a: Side
    b: Side
    threads: int
    level: str
    seed: int
    threshold: float
    cases: tuple[PairedCase, ...] = ()
    not_compared: tuple[str, ...] = ()
    complete: bool = False
    cores: tuple[int, ...] = ()  # the cores both sides were pinned to
    counts_a: CountsRecord | None = None  # --count-instructions: each side's counts
    counts_b: CountsRecord | None = None

    KEYS = ("a", "b", "threads", "level", "seed", "threshold", "cases", "not_compared",
            "complete", "cores", "counts_a", "counts_b")

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a.to_json(), "b": self.b.to_json(), "threads": self.threads,
                "level": self.level, "seed": self.seed, "threshold": self.threshold,
                "cases": [c.to_json() for c in self.cases],
                "not_compared": list(self.not_compared), "complete": self.complete,
                "cores": list(self.cores),
                "counts_a": None if self.counts_a is None else self.counts_a.to_json(),
                "counts_b": None if self.counts_b is None else self.counts_b.to_json()}

    @classmethod
    def from_json(cls, value: Any, where: str = "ab") -> ABRecord:
        data = _object(value, where)
        _keys(data, cls.KEYS, where)
        missing = data.get("not_compared") or []
        cores = data.get("cores") or []
        if not isinstance(cores, list):
            raise _fail(f"{where}.cores", "must be a list of core numbers")
        if not isinstance(missing, list) or not all(isinstance(m, str) for m in missing):
            raise _fail(f"{where}.not_compared", "must be a list of strings")
        return cls(Side.from_json(data.get("a"), f"{where}.a"),
                   Side.from_json(data.get("b"), f"{where}.b"),
                   _whole(data.get("threads"), f"{where}.threads", 4096),
                   _text(data, "level", where), _whole(data.get("seed"), f"{where}.seed",
                                                       1 << 62),
                   _number(data.get("threshold"), f"{where}.threshold", 1.0, positive=True),
                   _records(data, "cases", where, PairedCase.from_json),
                   tuple(missing), _flag(data, "complete", where),
                   tuple(_whole(c, f"{where}.cores[{i}]", 1 << 16)
                         for i, c in enumerate(cores)),
                   *(None if data.get(k) is None else
                     CountsRecord.from_json(data[k], f"{where}.{k}")
                     for k in ("counts_a", "counts_b")))


def _times(value: Any, where: str) -> tuple[float, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(where, "must be a list of per-call times in seconds")
    if len(value) > MAX_PAIRS:
        raise _fail(where, f"has {len(value)} pairs, more than {MAX_PAIRS}")
    return tuple(_number(t, f"{where}[{i}]", MAX_SECONDS, positive=True)
                 for i, t in enumerate(value))


def _strings(value: Any, where: str) -> dict[str, str]:
    data = _object(value if value is not None else {}, where)
    if not all(isinstance(v, str) for v in data.values()):
        raise _fail(where, "must map names to strings")
    return {str(k): v for k, v in data.items()}


def split(items: Sequence[T], sizes: Sequence[int]) -> list[tuple[T, ...]]:
    """``items`` cut into consecutive runs of ``sizes``."""
    found, start = [], 0
    for size in sizes:
        found.append(tuple(items[start:start + size]))
        start += size
    return found


def _counts(data: Mapping[str, Any], key: str, total: int, unit: str,
            where: str) -> tuple[int, ...]:
    """A list of positive counts adding up to ``total`` (``blocks``: pairs per build;
    ``builds``: blocks per process pair); empty when absent."""
    counts = data.get(key) or []
    if not isinstance(counts, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in counts) \
            or (counts and sum(counts) != total):
        raise _fail(f"{where}.{key}", f"must be positive {unit} counts adding up to {total}")
    return tuple(counts)
