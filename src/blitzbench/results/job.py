"""The records of a torchrun job: where each record was measured, who took part, how the
job ended, and the rank x metric view that tells a slow rank from its peers.

A job of many ranks writes one run folder (rank 0's). Every benchmark row and claim cell
then carries its :class:`Placement` (host, rank, local rank, node rank; the device is the
record's own field), and results.json gains a ``job`` section, :class:`JobRecord`: the
world, each rank's device, hardware, pinned cores and final state, the one line that
says what ended the job early (a dead rank is named there), and the :class:`RankView`.
A run outside torchrun has none of this, and folders written before it load unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from blitzbench.results.checking import (
    MAX_FIGURE,
    MAX_SECONDS,
    _choice,
    _fail,
    _flag,
    _keys,
    _number,
    _object,
    _optional_number,
    _records,
    _text,
    _whole,
)

__all__ = ["RANK_STATES", "VERDICTS", "JobRecord", "Placement", "RankCell", "RankEntry",
           "RankView"]

#: How a rank ended: its records were gathered (finished); it stopped beating, presumed
#: killed (dead); torchrun or Ctrl-C stopped it (stopped); it raised an error (failed); it
#: was still alive, unfinished, when the job gave up (running); rank 0 could not tell, the
#: job's store having gone with the node that served it (unknown).
RANK_STATES = ("finished", "dead", "stopped", "failed", "running", "unknown")
#: The verdicts of results/compare.py's ``Verdict`` (which imports the records, so it
#: cannot be imported here; tests/test_job_records.py checks the two agree), and "" for a
#: figure with no peer to be compared with.
VERDICTS = ("FASTER", "SLOWER", "SAME", "NOISY", "")
MAX_WORLD = 1_000_000  # ranks in one job: far above any cluster


@dataclass(frozen=True)
class Placement:
    """Where in a torchrun job a record was measured. In results.json its four keys sit
    flat in the record they place (``host``, ``rank``, ``local_rank``, ``node_rank``),
    beside the record's own ``device``."""

    host: str
    rank: int
    local_rank: int
    node_rank: int

    KEYS = ("host", "rank", "local_rank", "node_rank")

    def label(self, device: str) -> str:
        """``cpu (rank 1 on node-a)``: a device among several ranks' alike ones."""
        return f"{device} (rank {self.rank} on {self.host})"

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "rank": self.rank, "local_rank": self.local_rank,
                "node_rank": self.node_rank}

    @classmethod
    def read(cls, data: Mapping[str, Any], where: str) -> Placement | None:
        """The placement keys of an enclosing record: all four, or none (a record written
        outside torchrun, or before placements existed)."""
        present = [key for key in cls.KEYS if data.get(key) is not None]
        if not present:
            return None
        if len(present) != len(cls.KEYS):
            missing = sorted(set(cls.KEYS) - set(present))
            raise _fail(where, f"has {', '.join(present)} but not {', '.join(missing)}: a "
                               f"placed record names host, rank, local_rank and node_rank")
        return cls(_text(data, "host", where),
                   *(_whole(data[key], f"{where}.{key}", MAX_WORLD) for key in cls.KEYS[1:]))


@dataclass(frozen=True)
class RankEntry:
    """One rank of the job: where it ran, on what, with which cores, and how it ended."""

    placement: Placement
    device: str
    hardware: str
    cores: tuple[int, ...] = ()
    threads: int = 0
    state: str = "running"
    detail: str = ""

    KEYS = (*Placement.KEYS, "device", "hardware", "cores", "threads", "state", "detail")

    @property
    def rank(self) -> int:
        return self.placement.rank

    @property
    def label(self) -> str:
        return self.placement.label(self.device)

    def to_json(self) -> dict[str, Any]:
        return {**self.placement.to_json(), "device": self.device, "hardware": self.hardware,
                "cores": list(self.cores), "threads": self.threads, "state": self.state,
                "detail": self.detail}

    @classmethod
    def from_json(cls, value: Any, where: str = "rank") -> RankEntry:
        data = _object(value, where)
        _keys(data, cls.KEYS, where)
        placement = Placement.read(data, where)
        if placement is None:
            raise _fail(where, "must name host, rank, local_rank and node_rank")
        cores = data.get("cores") or []
        if not isinstance(cores, list):
            raise _fail(f"{where}.cores", "must be a list of CPU core numbers")
        return cls(placement, _text(data, "device", where),
                   _text(data, "hardware", where, empty=True),
                   tuple(_whole(c, f"{where}.cores[{i}]", MAX_WORLD)
                         for i, c in enumerate(cores)),
                   _whole(data.get("threads", 0), f"{where}.threads", MAX_WORLD),
                   _choice(data, "state", RANK_STATES, where),
                   _text(data, "detail", where, required=False, empty=True) or "")


@dataclass(frozen=True)
class RankCell:
    """One case's figure on one rank, set against the other ranks of the same hardware.

    ``ratio`` is the rank's median time over the job's median (the median of the rank
    medians of that hardware): what a reader scans. ``verdict`` is what decides: this
    rank's per-round times tested against the other ranks' pooled (results/compare.py),
    empty when no other rank has the same hardware. ``flagged``: SLOWER beyond the
    view's threshold.
    """

    metric: str
    rank: int
    median_s: float
    ratio: float | None = None
    verdict: str = ""
    evidence: str = ""
    flagged: bool = False

    KEYS = ("metric", "rank", "median_s", "ratio", "verdict", "evidence", "flagged")

    def to_json(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.KEYS}

    @classmethod
    def from_json(cls, value: Any, where: str = "cell") -> RankCell:
        data = _object(value, where)
        _keys(data, cls.KEYS, where)
        return cls(_text(data, "metric", where), _whole(data.get("rank"), f"{where}.rank",
                                                        MAX_WORLD),
                   _number(data.get("median_s"), f"{where}.median_s", MAX_SECONDS,
                           positive=True),
                   _optional_number(data, "ratio", where, MAX_FIGURE),
                   _choice(data, "verdict", VERDICTS, where),
                   _text(data, "evidence", where, required=False, empty=True) or "",
                   _flag(data, "flagged", where))


@dataclass(frozen=True)
class RankView:
    """The rank x metric table: every case measured on two or more ranks, each rank's
    figure against its hardware's peers, tested at ``confidence`` with ``threshold``."""

    threshold: float
    confidence: float
    cells: tuple[RankCell, ...] = ()

    KEYS = ("threshold", "confidence", "cells")

    @property
    def flagged(self) -> tuple[RankCell, ...]:
        return tuple(c for c in self.cells if c.flagged)

    @property
    def metrics(self) -> tuple[str, ...]:
        """The cases in first-measured order."""
        return tuple(dict.fromkeys(c.metric for c in self.cells))

    def to_json(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "confidence": self.confidence,
                "cells": [c.to_json() for c in self.cells]}

    @classmethod
    def from_json(cls, value: Any, where: str = "rank_view") -> RankView:
        data = _object(value, where)
        _keys(data, cls.KEYS, where)
        return cls(_number(data.get("threshold"), f"{where}.threshold", 1.0),
                   _number(data.get("confidence"), f"{where}.confidence", 1.0),
                   _records(data, "cells", where, RankCell.from_json))


@dataclass(frozen=True)
class JobRecord:
    """A torchrun job: the world, every rank, what ended it early, and the rank view."""

    world_size: int
    nodes: int
    backend: str
    timeout_s: float
    ranks: tuple[RankEntry, ...] = ()
    failure: str = ""
    view: RankView | None = None

    KEYS = ("world_size", "nodes", "backend", "timeout_s", "ranks", "failure", "rank_view")

    @property
    def dead(self) -> tuple[RankEntry, ...]:
        return tuple(r for r in self.ranks if r.state == "dead")

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.placement.host for r in self.ranks))

    def entry(self, rank: int) -> RankEntry | None:
        return next((r for r in self.ranks if r.rank == rank), None)

    def to_json(self) -> dict[str, Any]:
        return {"world_size": self.world_size, "nodes": self.nodes, "backend": self.backend,
                "timeout_s": self.timeout_s, "ranks": [r.to_json() for r in self.ranks],
                "failure": self.failure,
                "rank_view": None if self.view is None else self.view.to_json()}

    @classmethod
    def from_json(cls, value: Any, where: str = "job") -> JobRecord:
        data = _object(value, where)
        _keys(data, cls.KEYS, where)
        view = data.get("rank_view")
        world_size = _whole(data.get("world_size"), f"{where}.world_size", MAX_WORLD)
        ranks = _records(data, "ranks", where, RankEntry.from_json)
        outside = [r.rank for r in ranks if r.rank >= world_size]
        if outside or len({r.rank for r in ranks}) != len(ranks):
            raise _fail(f"{where}.ranks", f"must name each rank below world_size "
                                          f"{world_size} once")
        return cls(world_size, _whole(data.get("nodes"), f"{where}.nodes", MAX_WORLD),
                   _text(data, "backend", where),
                   _number(data.get("timeout_s"), f"{where}.timeout_s", MAX_SECONDS,
                           positive=True),
                   ranks, _text(data, "failure", where, required=False, empty=True) or "",
                   None if view is None else RankView.from_json(view, f"{where}.rank_view"))
