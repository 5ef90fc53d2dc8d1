"""The records of a tutorial run: one verdict per code block, one run per device.

``blitzbench tutorial`` writes them to ``tutorial.json`` and ``blitzbench drift`` reads them
back from run folders someone may have handed us, so ``from_json`` checks every field like
the rest of :mod:`blitzbench.results` (one :class:`~blitzbench.errors.UsageError` line naming
the field). Like the rest of this package it imports nothing of blitzbench but errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from blitzbench.errors import ResultsFormatError, UsageError
from blitzbench.results.checking import (
    MAX_SECONDS,
    _choice,
    _fail,
    _keys,
    _number,
    _object,
    _records,
    _text,
    _whole,
)

__all__ = [
    "FAILS",
    "FAILURE_KINDS",
    "NOT_RUN",
    "OUTPUT_DIFFERS",
    "PASSING",
    "RUNS_AS_WRITTEN",
    "RUNS_WITH_A_SHIM",
    "TUTORIAL_FORMAT_VERSION",
    "TUTORIAL_VERDICTS",
    "BlockVerdict",
    "TutorialResults",
    "TutorialRun",
    "verdict_counts",
]

RUNS_AS_WRITTEN = "RUNS AS WRITTEN"
RUNS_WITH_A_SHIM = "RUNS WITH A SHIM"
OUTPUT_DIFFERS = "OUTPUT DIFFERS"
FAILS = "FAILS"
NOT_RUN = "NOT RUN"
TUTORIAL_VERDICTS = (RUNS_AS_WRITTEN, RUNS_WITH_A_SHIM, OUTPUT_DIFFERS, FAILS, NOT_RUN)
#: The verdicts that count as "the block runs" (a named shim is stated, never hidden).
PASSING = (RUNS_AS_WRITTEN, RUNS_WITH_A_SHIM)
#: Why a block FAILS: an exception, the time limit, the process died, it asked for input,
#: it wrote outside its working folder. "" for blocks that did not fail.
FAILURE_KINDS = ("", "error", "timeout", "crash", "input", "outside-write")
TUTORIAL_FORMAT_VERSION = 1
TUTORIAL_FORMATS = ("markdown", "gallery", "notebook")


@dataclass(frozen=True)
class BlockVerdict:
    """One code block of a tutorial, run on one device: its verdict and the one-line why."""

    index: int  # 1-based, in the tutorial's order
    line: int  # where the block starts in the source (1-based; a notebook's cell number)
    verdict: str
    detail: str = ""  # the difference, the error, the shims: one line
    shims: tuple[str, ...] = ()
    failure: str = ""  # one of FAILURE_KINDS
    seconds: float = 0.0  # the block's own run (the try that counted)
    #: wall time on the block in all: failed tries, rolling back (a fresh worker replaying
    #: the blocks before it) and the shimmed run
    spent_seconds: float = 0.0

    KEYS = ("index", "line", "verdict", "detail", "shims", "failure", "seconds",
            "spent_seconds")

    @property
    def passed(self) -> bool:
        return self.verdict in PASSING

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "line": self.line, "verdict": self.verdict,
                "detail": self.detail, "shims": list(self.shims), "failure": self.failure,
                "seconds": round(self.seconds, 4),
                "spent_seconds": round(self.spent_seconds, 4)}

    @classmethod
    def from_json(cls, value: Any, where: str = "block") -> BlockVerdict:
        data = _object(value, where)
        _keys(data, cls.KEYS, where)
        shims = data.get("shims") or []
        if not isinstance(shims, list) or not all(isinstance(s, str) and s for s in shims):
            raise _fail(f"{where}.shims", "must be a list of shim names")
        verdict = _choice(data, "verdict", TUTORIAL_VERDICTS, where)
        failure = _choice({"failure": data.get("failure", "")}, "failure", FAILURE_KINDS,
                          where)
        if (verdict == FAILS) != bool(failure):
            raise _fail(f"{where}.failure", "must name why exactly when the verdict is FAILS")
        return cls(index=_whole(data.get("index"), f"{where}.index"),
                   line=_whole(data.get("line"), f"{where}.line"), verdict=verdict,
                   detail=_text(data, "detail", where, required=False, empty=True) or "",
                   shims=tuple(shims), failure=failure,
                   seconds=_number(data.get("seconds", 0.0), f"{where}.seconds", MAX_SECONDS),
                   spent_seconds=_number(data.get("spent_seconds", 0.0),
                                         f"{where}.spent_seconds", MAX_SECONDS))


@dataclass(frozen=True)
class TutorialRun:
    """A tutorial's blocks run in order on one device, or why that device was skipped."""

    path: str
    format: str
    device: str
    blocks: tuple[BlockVerdict, ...] = ()
    skipped: str = ""  # the reason the device was not run ("" when it was)
    seconds: float = 0.0

    KEYS = ("path", "format", "device", "blocks", "skipped", "seconds")

    @property
    def first_failure(self) -> BlockVerdict | None:
        return next((b for b in self.blocks if b.verdict == FAILS), None)

    @property
    def passed(self) -> bool:
        """Every block runs (as written or with a named shim); a skipped device is not a
        pass, it is reported as skipped."""
        return not self.skipped and all(b.passed for b in self.blocks)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "device": self.device,
                "skipped": self.skipped, "seconds": round(self.seconds, 3),
                "blocks": [b.to_json() for b in self.blocks]}

    @classmethod
    def from_json(cls, value: Any, where: str = "run") -> TutorialRun:
        data = _object(value, where)
        _keys(data, cls.KEYS, where)
        blocks = _records(data, "blocks", where, BlockVerdict.from_json)
        if [b.index for b in blocks] != list(range(1, len(blocks) + 1)):
            raise _fail(f"{where}.blocks", "must be numbered 1, 2, 3... in order")
        skipped = _text(data, "skipped", where, required=False, empty=True) or ""
        # a device skipped because no tutorial was found has no path to name
        return cls(path=_text(data, "path", where, empty=bool(skipped)),
                   device=_text(data, "device", where),
                   format=_choice(data, "format", TUTORIAL_FORMATS, where), blocks=blocks,
                   skipped=skipped,
                   seconds=_number(data.get("seconds", 0.0), f"{where}.seconds", MAX_SECONDS))


@dataclass(frozen=True)
class TutorialResults:
    """What ``tutorial.json`` holds: the runs (one per device) and the installed releases."""

    runs: tuple[TutorialRun, ...]
    torch: str
    torchvision: str
    data_source: str = ""
    timeout_s: float = 0.0

    KEYS = ("format_version", "runs", "torch", "torchvision", "data_source", "timeout_s")

    def to_json(self) -> dict[str, Any]:
        return {"format_version": TUTORIAL_FORMAT_VERSION, "torch": self.torch,
                "torchvision": self.torchvision, "data_source": self.data_source,
                "timeout_s": self.timeout_s, "runs": [r.to_json() for r in self.runs]}

    @classmethod
    def from_json(cls, value: Any, where: str = "tutorial.json") -> TutorialResults:
        data = _object(value, where)
        _keys(data, cls.KEYS, where)
        version = data.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise UsageError(f"{where}.format_version must be a positive whole number")
        if version > TUTORIAL_FORMAT_VERSION:
            raise ResultsFormatError(f"{where} is format {version}, newer than this "
                                     f"blitzbench reads ({TUTORIAL_FORMAT_VERSION}): upgrade "
                                     f"blitzbench")
        return cls(runs=_records(data, "runs", where, TutorialRun.from_json),
                   torch=_text(data, "torch", where), torchvision=_text(data, "torchvision",
                                                                        where),
                   data_source=_text(data, "data_source", where, required=False,
                                     empty=True) or "",
                   timeout_s=_number(data.get("timeout_s", 0.0), f"{where}.timeout_s",
                                     MAX_SECONDS))


def verdict_counts(blocks: Sequence[BlockVerdict]) -> Mapping[str, int]:
    """How many blocks got each verdict, in TUTORIAL_VERDICTS order, zeros left out."""
    counts = {v: sum(b.verdict == v for b in blocks) for v in TUTORIAL_VERDICTS}
    return {v: n for v, n in counts.items() if n}
