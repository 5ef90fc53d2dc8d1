"""Instruction counts of benchmark cases under callgrind: the record, its setup, the verdict.

A timing on a shared 2-core machine moves with the neighbours; the number of instructions
a case executes does not. ``--count-instructions`` runs each CPU case under valgrind's
callgrind (timing/instructions.py) and keeps, per case, the raw totals of its counted
rounds and of an empty round; the figure is instructions per call, the median over the
repetitions of ``(round - empty) / calls``.

What counts cannot see. Callgrind counts the instructions one serialized, emulated CPU
executes. A change that runs the same instructions slower is invisible to it: a
memory-bandwidth or cache regression (a layout that misses the cache, a copy that is now
strided), a threading regression (callgrind runs one thread at a time; blitzbench counts
with one intra-op thread), and a frequency or scheduling effect. Counts also follow the
code path valgrind's CPU offers (valgrind 3.19 has no AVX-512, so ATen picks its AVX2
kernels under it, whatever the host has): ``CountSetup.aten_cpu_capability`` records the
path counted. Timings stay the figure for those; counts are the figure that holds on a busy
machine.

Two counts are judged only on the same setup (:func:`setup_differences`): a different
torch, Python, CPU, ATen kernel path, valgrind or thread count changes the count without
any change in the code under test, so such a pair is *not comparable*, never SAME.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from blitzbench.results.checking import (
    MAX_FIGURE,
    MAX_SECONDS,
    _fail,
    _keys,
    _number,
    _object,
    _optional_number,
    _params,
    _records,
    _text,
    _whole,
)
from blitzbench.results.compare import Verdict, classify
from blitzbench.results.names import metric_prefix

__all__ = ["COUNT_THRESHOLD", "MAX_CALLS", "MAX_REPETITIONS", "CountComparison",
           "CountSetup", "CountsRecord", "InstructionCount", "compare_count_records",
           "compare_counts", "setup_differences"]

#: The smallest change in instructions per call called FASTER or SLOWER: 2%. In three runs
#: of scripts/instruction_counts_proof.py (2026-12-06, this VM), each counting the same
#: cases in three valgrind processes, a ``y.add_(x)`` read equal medians at 5x3 (6,813.1)
#: and within 0.0004% at 2^22 elements; ``x + y`` at 5x3 and a LeNet forward and training
#: step at batch 4 read medians at most 0.5% apart between processes, and the repetition
#: bounds lay within 0.991-1.006 (a training step counts one call per round, the widest).
#: The issue's earlier trial: a LeNet forward 0.1-0.23%. 2% is about twice the widest
#: bound and four times the largest median difference, and still flags a change of a
#: fiftieth of the work.
COUNT_THRESHOLD = 0.02
#: Calls in one counted round: above this a case is too cheap to count honestly (its
#: per-call figure would be the loop's own cost).
MAX_CALLS = 1 << 20
MAX_REPETITIONS = 1000
#: Instructions in one counted round: 10^13 is hours under valgrind, beyond any case.
MAX_INSTRUCTIONS = 10**13


@dataclass(frozen=True)
class CountSetup:
    """What a count depends on besides the code under test. ``cpu_flags_digest`` is a short
    digest of the host's sorted CPU flags (a list of 100+ names per record says no more for
    telling two setups apart); ``aten_cpu_capability`` is the kernel path ATen chose
    *under valgrind*, which may differ from the host's native one."""

    python_version: str
    torch_version: str
    cpu_model: str
    cpu_flags_digest: str
    aten_cpu_capability: str
    valgrind_version: str
    torch_threads: int

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, value: Any, where: str = "setup") -> CountSetup:
        data = _object(value, where)
        keys = tuple(f.name for f in fields(cls))
        _keys(data, keys, where)
        texts = {key: _text(data, key, where) for key in keys if key != "torch_threads"}
        threads = _whole(data.get("torch_threads"), f"{where}.torch_threads", 1 << 16)
        if threads < 1:
            raise _fail(f"{where}.torch_threads", "must be at least 1, got 0")
        return cls(**texts, torch_threads=threads)  # type: ignore[arg-type]


def setup_differences(a: CountSetup, b: CountSetup) -> tuple[str, ...]:
    """Why counts made on ``a`` and ``b`` are not comparable, one phrase per field that
    differs (``torch_version 2.14.1 vs 2.15.0``); empty when they are."""
    return tuple(f"{f.name} {getattr(a, f.name)} vs {getattr(b, f.name)}"
                 for f in fields(CountSetup) if getattr(a, f.name) != getattr(b, f.name))


@dataclass(frozen=True)
class InstructionCount:
    """One case's instruction count: the raw totals each repetition counted and the figure
    derived from them.

    Repetition ``i`` counted an empty round (``empty_instructions[i]``: the collection
    toggles and the loop's set-up) and a round of ``calls`` calls (``round_instructions[i]``);
    its per-call figure is their difference over ``calls``. ``error`` records a case that
    could not be counted (it raised, it runs its work in other processes, the valgrind
    process ended first) as a result, not a crash. ``wall_s`` is what counting it cost
    under valgrind: bookkeeping, never a figure.
    """

    benchmark: str
    device: str
    params: Mapping[str, Any] = field(default_factory=dict)
    calls: int = 0
    round_instructions: tuple[int, ...] = ()
    empty_instructions: tuple[int, ...] = ()
    setup: CountSetup | None = None
    error: str | None = None
    wall_s: float | None = None

    KEYS = ("benchmark", "device", "params", "calls", "round_instructions",
            "empty_instructions", "instructions_per_call", "setup", "error", "wall_s")

    def __post_init__(self) -> None:
        if len(self.round_instructions) != len(self.empty_instructions):
            raise ValueError(f"{len(self.round_instructions)} counted rounds against "
                             f"{len(self.empty_instructions)} empty rounds")

    @property
    def prefix(self) -> str:
        return metric_prefix(self.benchmark, self.params)

    @property
    def ok(self) -> bool:
        """Counted to the end: no error, at least one repetition, and its setup known."""
        return self.error is None and bool(self.round_instructions) and self.setup is not None

    @property
    def per_call(self) -> tuple[float, ...]:
        """Instructions per call, one figure per repetition."""
        if self.calls < 1:
            return ()
        return tuple((counted - empty) / self.calls for counted, empty
                     in zip(self.round_instructions, self.empty_instructions, strict=True))

    @property
    def instructions_per_call(self) -> float | None:
        """The figure: the median of :attr:`per_call` (None when not counted)."""
        return statistics.median(self.per_call) if self.ok else None

    def to_json(self) -> dict[str, Any]:
        """The record; ``instructions_per_call`` is written for readers and recomputed
        from the raw totals when read back."""
        return {"benchmark": self.benchmark, "device": self.device,
                "params": dict(self.params), "calls": self.calls,
                "round_instructions": list(self.round_instructions),
                "empty_instructions": list(self.empty_instructions),
                "instructions_per_call": self.instructions_per_call,
                "setup": self.setup.to_json() if self.setup else None,
                "error": self.error, "wall_s": self.wall_s}

    @classmethod
    def from_json(cls, value: Any, where: str = "instruction_count") -> InstructionCount:
        data = _object(value, where)
        _keys(data, cls.KEYS, where)
        error = _text(data, "error", where, required=False)
        rounds = _totals(data, "round_instructions", where)
        empties = _totals(data, "empty_instructions", where)
        if len(rounds) != len(empties):
            raise _fail(f"{where}.empty_instructions", f"has {len(empties)} totals, but "
                        f"round_instructions has {len(rounds)}")
        calls = _whole(data.get("calls", 0), f"{where}.calls", MAX_CALLS)
        _check_counted(rounds, empties, calls, error, where)
        _check_figure(data.get("instructions_per_call"), where)
        setup = data.get("setup")
        wall = data.get("wall_s")
        return cls(benchmark=_text(data, "benchmark", where),  # type: ignore[arg-type]
                   device=_text(data, "device", where),  # type: ignore[arg-type]
                   params=_params(data.get("params"), f"{where}.params"), calls=calls,
                   round_instructions=rounds, empty_instructions=empties,
                   setup=None if setup is None else CountSetup.from_json(setup,
                                                                         f"{where}.setup"),
                   error=error,
                   wall_s=None if wall is None else _number(wall, f"{where}.wall_s"))


def _totals(data: Mapping[str, Any], key: str, where: str) -> tuple[int, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or len(value) > MAX_REPETITIONS:
        raise _fail(f"{where}.{key}", f"must be a list of at most {MAX_REPETITIONS} "
                                      f"instruction totals")
    return tuple(_whole(item, f"{where}.{key}[{index}]", MAX_INSTRUCTIONS)
                 for index, item in enumerate(value))


def _check_counted(rounds: tuple[int, ...], empties: tuple[int, ...], calls: int,
                   error: str | None, where: str) -> None:
    """A counted record has calls and rounds that cost more than their empty round."""
    if error is not None:
        return
    if not rounds:
        raise _fail(f"{where}.round_instructions", "is empty, and no error says why")
    if calls < 1:
        raise _fail(f"{where}.calls", "must be at least 1 for a counted case, got 0")
    for index, (counted, empty) in enumerate(zip(rounds, empties, strict=True)):
        if counted <= empty:
            raise _fail(f"{where}.round_instructions[{index}]",
                        f"= {counted} is not above its empty round's {empty}")


def _check_figure(value: Any, where: str) -> None:
    if value is not None:
        _number(value, f"{where}.instructions_per_call", MAX_FIGURE)


@dataclass(frozen=True)
class CountComparison:
    """B's instructions per call against A's: the verdict and what it rests on.

    ``verdict`` is None when the two cannot be judged (different setups, a side not
    counted): ``reason`` says why, and such a pair is never a pass. ``low`` and ``high``
    bound the ratio by the repetitions' extremes (B's smallest over A's largest, and the
    reverse); with one repetition a side they equal the ratio.
    """

    verdict: Verdict | None
    ratio: float
    low: float
    high: float
    threshold: float
    repetitions: tuple[int, int]
    reason: str = ""

    @property
    def comparable(self) -> bool:
        return self.verdict is not None

    @property
    def label(self) -> str:
        """``SLOWER``, ``SAME``, ... or ``NOT COMPARABLE``."""
        return self.verdict.value if self.verdict is not None else "NOT COMPARABLE"

    def evidence(self) -> str:
        """``1.250x instructions (1.249-1.251 over 3 vs 3 repetitions), threshold 2%``."""
        if not self.comparable:
            return self.reason
        text = (f"{self.ratio:.3f}x instructions ({self.low:.3f}-{self.high:.3f} over "
                f"{self.repetitions[0]} vs {self.repetitions[1]} repetitions), threshold "
                f"{self.threshold:.0%}; counts cannot see memory-bandwidth, cache or "
                f"threading changes")
        return f"{text}; {self.reason}" if self.reason else text


def compare_counts(a: InstructionCount, b: InstructionCount, *,
                   threshold: float = COUNT_THRESHOLD) -> CountComparison:
    """Judge B's count against A's for the same case: SLOWER when B executes at least
    ``1 + threshold`` times A's instructions per call and every repetition agrees, FASTER
    the mirror image, SAME when all repetitions lie within the threshold, NOISY when the
    repetitions straddle it (results/compare.py's :func:`classify` on the repetition
    bounds), and not comparable when the setups differ or a side was not counted."""
    if a.prefix != b.prefix or a.device != b.device:
        raise ValueError(f"counts of different cases: {a.prefix} on {a.device} against "
                         f"{b.prefix} on {b.device}")
    repetitions = (len(a.per_call), len(b.per_call))
    missing = _not_counted(a, "A") or _not_counted(b, "B")
    if missing:
        return _not_comparable(threshold, repetitions, missing)
    assert a.setup is not None and b.setup is not None  # ok implies a setup
    differences = setup_differences(a.setup, b.setup)
    if differences:
        return _not_comparable(threshold, repetitions,
                               f"counted on different setups: {'; '.join(differences)}")
    ratio = statistics.median(b.per_call) / statistics.median(a.per_call)
    low, high = min(b.per_call) / max(a.per_call), max(b.per_call) / min(a.per_call)
    verdict = classify(ratio, low, high, threshold)
    reason = ("the repetitions straddle the threshold" if verdict is Verdict.NOISY else "")
    return CountComparison(verdict, ratio, low, high, threshold, repetitions, reason)


def _not_counted(count: InstructionCount, side: str) -> str:
    if count.ok:
        return ""
    return f"not counted in {side}: {count.error or 'no repetitions or no setup'}"


def _not_comparable(threshold: float, repetitions: tuple[int, int],
                    reason: str) -> CountComparison:
    nan = math.nan
    return CountComparison(None, nan, nan, nan, threshold, repetitions, reason)


@dataclass(frozen=True)
class CountsRecord:
    """A run's instruction counts (``--count-instructions``): one per counted CPU case, or
    why none were taken (``skipped``: valgrind missing, with the install line), and what
    counting cost (one valgrind process: its start-up and wall seconds)."""

    counts: tuple[InstructionCount, ...] = ()
    skipped: str = ""
    interpreter: str = ""
    startup_s: float | None = None
    wall_s: float | None = None

    KEYS = ("counts", "skipped", "interpreter", "startup_s", "wall_s")

    def by_key(self) -> dict[tuple[str, str], InstructionCount]:
        """(prefix, device) -> count."""
        return {(count.prefix, count.device): count for count in self.counts}

    def to_json(self) -> dict[str, Any]:
        return {"counts": [count.to_json() for count in self.counts], "skipped": self.skipped,
                "interpreter": self.interpreter, "startup_s": self.startup_s,
                "wall_s": self.wall_s}

    @classmethod
    def from_json(cls, value: Any, where: str = "instructions") -> CountsRecord:
        data = _object(value, where)
        _keys(data, cls.KEYS, where)
        return cls(_records(data, "counts", where, InstructionCount.from_json),
                   _text(data, "skipped", where, required=False, empty=True) or "",
                   _text(data, "interpreter", where, required=False, empty=True) or "",
                   _optional_number(data, "startup_s", where, MAX_SECONDS),
                   _optional_number(data, "wall_s", where, MAX_SECONDS))


def compare_count_records(a: CountsRecord, b: CountsRecord, *,
                          threshold: float = COUNT_THRESHOLD
                          ) -> list[tuple[InstructionCount, InstructionCount,
                                          CountComparison]]:
    """Every case counted in both records, judged B against A, in A's order."""
    theirs = b.by_key()
    return [(count, theirs[key], compare_counts(count, theirs[key], threshold=threshold))
            for key, count in a.by_key().items() if key in theirs]
