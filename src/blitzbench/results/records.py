"""The records a run writes to ``results.json``, each read and written in one place.

Every record is a frozen dataclass with one ``to_json`` and one ``from_json``; ``from_json``
checks what it reads (types, finite numbers in range, no unknown keys), because a results
folder may be a file someone handed us: a defect is one :class:`~blitzbench.errors.UsageError`
line naming the field, never a crash further on.

Format versions: 1 stored a measurement's median, IQR and round count but not its per-round
times; 2 stores the times too (the statistics are recomputed from them, and two runs can be
tested against each other, not only compared). Version-1 folders still load: their
measurements carry the stored summary and say they have no times.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from blitzbench.results import stats
from blitzbench.results.ab import ABRecord
from blitzbench.results.checking import (
    MAX_FIGURE,
    MAX_RECORDS,
    MAX_SECONDS,
    MAX_TEXT,
    PARAM_TYPES,
    _choice,
    _extra,
    _fail,
    _flag,
    _json_type,
    _keys,
    _number,
    _object,
    _optional_number,
    _params,
    _records,
    _text,
)
from blitzbench.results.instructions import CountsRecord
from blitzbench.results.job import JobRecord, Placement
from blitzbench.results.machine import GpuHealthRecord, MachineState, Preflight, busy
from blitzbench.results.names import (
    MEDIAN_FIELD,
    PEAK_FRACTION_FIELD,
    metric_prefix,
)
from blitzbench.results.stress import StressRecord
from blitzbench.results.tutorial import TutorialResults

__all__ = [
    "CLAIM_VERDICTS", "FINDING_STATUSES", "FORMAT_VERSION", "MAX_FIGURE", "MAX_RECORDS",
    "MAX_ROUNDS_STORED", "MAX_SECONDS", "MAX_TEXT", "PARAM_TYPES",
    "AcceptanceRecord", "ClaimCell", "Environment", "Finding", "JobRecord", "Measurement",
    "Placement", "ProfileEntry", "RoundSummary", "RunResults", "metric_prefix",
]

#: The results.json format this blitzbench writes (2: measurements keep per-round times).
FORMAT_VERSION = 2
OLDEST_FORMAT_VERSION = 1
#: Per-round times a record may hold: the runner stops at 10,000 rounds (timing/loop.py).
MAX_ROUNDS_STORED = 100_000
CLAIM_VERDICTS = ("HOLDS", "CONDITIONAL", "OUTDATED", "FAILS", "SKIPPED", "ERROR")
FINDING_STATUSES = ("PASS", "FAIL", "NOISY", "SKIPPED", "MISSING", "INCONCLUSIVE")
ACCEPTANCE_VERDICTS = ("ACCEPTED", "REJECTED", "INCONCLUSIVE")


# --- records ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RoundSummary:
    """What a format-1 record kept instead of its times: median, IQR and round count."""

    median_s: float
    iqr_s: float
    rounds: int


@dataclass(frozen=True)
class Measurement:
    """One benchmark case on one device: its per-round times and derived figures.

    ``times_s`` holds one per-call time per timed round; the median is the figure and the
    IQR its spread. ``extra`` holds the rates a reader wants (``images_per_s``,
    ``gb_per_s``, ``fraction_of_peak``, ...); ``error`` records a case that could not run
    (CUDA out of memory, a worker that died) as a result rather than a crash. ``wall_s``
    is what the case cost the run (build, warm-up, calibration, rounds, a re-measure):
    bookkeeping for sizing a run, never a figure. ``stored`` is set only for records read
    from a format-1 folder, which kept the summary and not the times.

    ``blocks`` splits ``times_s`` into the repeats it was measured in: ``(4, 4, 3)`` means
    rounds 0-3 came from the first repeat, 4-7 from the second, and so on. ``accept``
    measures each case in several repeats spread across the run (rebuilt each time), so
    the drift of a shared machine shows between repeats and ``compare`` can test against
    it; empty means one repeat.

    ``placement`` says which rank of a torchrun job measured it (None outside torchrun):
    in a job's folder several ranks' records share a device label, and ``site`` tells
    them apart.

    ``machine`` holds the state of the machine during each repeat (results/machine.py:
    the CPU others used, steal, the busiest processes, the threads this run used), so a
    figure says whether it was measured on a busy machine.
    """

    benchmark: str
    device: str
    params: Mapping[str, Any] = field(default_factory=dict)
    times_s: tuple[float, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    wall_s: float | None = None
    stored: RoundSummary | None = None
    blocks: tuple[int, ...] = ()
    placement: Placement | None = None
    machine: tuple[MachineState, ...] = ()

    KEYS = ("benchmark", "device", "params", "times_s", "blocks", "median_s", "iqr_s",
            "rounds", "noisy", "extra", "error", "wall_s", "machine", *Placement.KEYS)

    def busy_reason(self) -> str:
        """Why the machine was busy while this figure was measured ("" when it was not):
        the first busy repeat's reason, and how many repeats were busy."""
        reasons = [r for r in (busy(state) for state in self.machine) if r]
        if not reasons:
            return ""
        share = f" (in {len(reasons)} of {len(self.machine)} repeats)" \
            if len(self.machine) > 1 else ""
        return reasons[0] + share

    def __post_init__(self) -> None:
        if self.blocks and sum(self.blocks) != len(self.times_s):
            raise ValueError(f"blocks {self.blocks} do not add up to {len(self.times_s)} "
                             f"rounds")

    def block_times(self) -> tuple[tuple[float, ...], ...]:
        """The per-round times of each repeat (one repeat when ``blocks`` is empty)."""
        if not self.blocks:
            return (self.times_s,) if self.times_s else ()
        ends = list(itertools.accumulate(self.blocks))
        return tuple(self.times_s[end - size:end]
                     for size, end in zip(self.blocks, ends, strict=True))

    @property
    def family(self) -> str:
        return self.benchmark.split(".", 1)[0]

    @property
    def site(self) -> str:
        """The device, with the rank that measured it in a torchrun job's folder."""
        return self.placement.label(self.device) if self.placement else self.device

    @property
    def identity(self) -> tuple[str, str, int | None]:
        """Case, device and, in a torchrun job's folder, rank: what two runs' records
        share when they measured the same thing."""
        return self.prefix, self.device, self.placement.rank if self.placement else None

    @property
    def has_times(self) -> bool:
        return bool(self.times_s)

    @property
    def rounds(self) -> int:
        return self.stored.rounds if self.stored else len(self.times_s)

    @property
    def median_s(self) -> float:
        return self.stored.median_s if self.stored else stats.median(self.times_s)

    @property
    def iqr_s(self) -> float:
        return self.stored.iqr_s if self.stored else stats.iqr(self.times_s)

    @property
    def rel_spread(self) -> float:
        """IQR/median (0 without a figure)."""
        median = self.median_s
        return self.iqr_s / median if self.ok and median > 0 else 0.0

    @property
    def noisy(self) -> bool:
        return self.ok and stats.is_noisy(self.median_s, self.iqr_s)

    @property
    def ok(self) -> bool:
        """Measured to the end: no error and at least one round."""
        return self.error is None and self.rounds > 0

    @property
    def prefix(self) -> str:
        return metric_prefix(self.benchmark, self.params)

    def figure(self, name: str) -> float | None:
        """``median_s`` or a finite numeric ``extra`` figure; None when absent."""
        if not self.ok:
            return None
        value = self.median_s if name == MEDIAN_FIELD else self.extra.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value) if math.isfinite(value) else None

    @property
    def fraction_of_peak(self) -> float | None:
        return self.figure(PEAK_FRACTION_FIELD)

    def matches(self, benchmark: str, device: str | None = None, **params: Any) -> bool:
        """Same benchmark (and device), with every given parameter equal."""
        return (self.benchmark == benchmark and (device is None or self.device == device)
                and all(self.params.get(k) == v for k, v in params.items()))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "benchmark": self.benchmark, "device": self.device, "params": dict(self.params),
            "times_s": list(self.times_s), "median_s": self.median_s, "iqr_s": self.iqr_s,
            "rounds": self.rounds, "noisy": self.noisy, "extra": dict(self.extra),
            "error": self.error, "wall_s": self.wall_s}
        if self.blocks:
            data["blocks"] = list(self.blocks)
        if self.machine:
            data["machine"] = [state.to_json() for state in self.machine]
        if self.placement is not None:
            data.update(self.placement.to_json())
        if self.stored is not None:
            del data["times_s"]  # a format-1 record has none to write
        return data

    @classmethod
    def from_json(cls, value: Any, where: str = "measurement",
                  version: int = FORMAT_VERSION) -> Measurement:
        data = _object(value, where)
        _keys(data, cls.KEYS, where)
        error = _text(data, "error", where, required=False)
        common = dict(benchmark=_text(data, "benchmark", where),
                      device=_text(data, "device", where),
                      params=_params(data.get("params"), f"{where}.params"),
                      extra=_extra(data.get("extra"), f"{where}.extra"), error=error,
                      wall_s=_optional_number(data, "wall_s", where, MAX_SECONDS),
                      placement=Placement.read(data, where),
                      machine=_records(data, "machine", where, MachineState.from_json))
        _flag(data, "noisy", where)
        if version >= 2:
            times = _times(data.get("times_s"), f"{where}.times_s", failed=error is not None)
            return cls(**common, times_s=times,
                       blocks=_blocks(data.get("blocks"), len(times), f"{where}.blocks"))
        return cls(**common, stored=_stored_summary(data, where, failed=error is not None))


def _times(value: Any, where: str, *, failed: bool) -> tuple[float, ...]:
    """Per-round times: a list of positive finite seconds (empty only for a failed case)."""
    if value is None and failed:
        return ()
    if not isinstance(value, list):
        raise _fail(where, f"must be a list of per-round times in seconds, got "
                           f"{_json_type(value)}")
    if not value and not failed:
        raise _fail(where, "is empty: a measured case has at least one round")
    if len(value) > MAX_ROUNDS_STORED:
        raise _fail(where, f"has {len(value)} rounds, more than {MAX_ROUNDS_STORED}")
    return tuple(_number(t, f"{where}[{i}]", MAX_SECONDS, positive=True)
                 for i, t in enumerate(value))


def _blocks(value: Any, rounds: int, where: str) -> tuple[int, ...]:
    """Rounds per repeat: positive whole numbers adding up to the rounds (absent: one)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in value):
        raise _fail(where, f"must be a list of positive round counts, got {value!r:.80}")
    if sum(value) != rounds:
        raise _fail(where, f"adds up to {sum(value)} rounds, but times_s has {rounds}")
    return tuple(value)


def _stored_summary(data: Mapping[str, Any], where: str, *, failed: bool
                    ) -> RoundSummary:
    if failed:
        return RoundSummary(math.nan, 0.0, 0)
    rounds = data.get("rounds", 0)
    if not isinstance(rounds, int) or isinstance(rounds, bool) or \
            not 0 < rounds <= MAX_ROUNDS_STORED:
        raise _fail(f"{where}.rounds", f"must be a whole number from 1 to "
                                       f"{MAX_ROUNDS_STORED}")
    return RoundSummary(_number(data.get("median_s"), f"{where}.median_s", MAX_SECONDS,
                                positive=True),
                        _number(data.get("iqr_s", 0.0), f"{where}.iqr_s", MAX_SECONDS),
                        rounds)


@dataclass(frozen=True)
class ClaimCell:
    """One tutorial claim judged on one device, with the claim's own description."""

    claim: str
    device: str
    verdict: str
    expected: str
    passed: bool
    summary: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    section: str = ""
    statement: str = ""
    where: str = ""
    scope: str = ""
    placement: Placement | None = None
    coverage: str = ""  # the input space judged: "add_ in place: 240 inputs over ..."

    KEYS = ("id", "claim", "device", "verdict", "expected", "passed", "summary", "evidence",
            "section", "statement", "where", "scope", "coverage", *Placement.KEYS)

    @property
    def site(self) -> str:
        """The device, with the rank that judged it in a torchrun job's folder."""
        return self.placement.label(self.device) if self.placement else self.device

    @property
    def mark(self) -> str:
        """The verdict, flagged when it differs from the expected one."""
        return self.verdict if self.passed else f"{self.verdict} (expected {self.expected})"

    @property
    def skipped_unexpectedly(self) -> bool:
        """Skipped for want of a device or data, where a verdict was expected."""
        return self.verdict == "SKIPPED" and self.expected != "SKIPPED"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.claim, "section": self.section, "statement": self.statement,
                "where": self.where, "expected": self.expected, "scope": self.scope,
                "claim": self.claim, "device": self.device, "passed": self.passed,
                "verdict": self.verdict, "summary": self.summary,
                "evidence": dict(self.evidence),
                **({"coverage": self.coverage} if self.coverage else {}),
                **(self.placement.to_json() if self.placement else {})}

    @classmethod
    def from_json(cls, value: Any, where: str = "claim") -> ClaimCell:
        data = _object(value, where)
        _keys(data, cls.KEYS, where)
        claim = _text(data, "claim", where) if "claim" in data else _text(data, "id", where)
        verdict = _choice(data, "verdict", CLAIM_VERDICTS, where)
        passed = _flag(data, "passed", where)
        if passed and verdict == "ERROR":
            raise _fail(f"{where}.passed", "an ERROR verdict (the judge broke) is never passed")
        return cls(claim=claim, device=_text(data, "device", where), verdict=verdict,
                   expected=_choice(data, "expected", CLAIM_VERDICTS, where),
                   passed=passed,
                   summary=_text(data, "summary", where, empty=True),
                   evidence=dict(_object(data.get("evidence") or {}, f"{where}.evidence")),
                   placement=Placement.read(data, where),
                   **{k: _text(data, k, where, required=False, empty=True) or ""
                      for k in ("section", "statement", "where", "scope", "coverage")})


@dataclass(frozen=True)
class ProfileEntry:
    """One profiler capture: where its trace is (relative to the reports folder) and the
    summary read from it, or why it failed."""

    device: str
    workload: str
    trace_dir: str | None = None
    summary: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    KEYS = ("device", "workload", "trace_dir", "summary", "error")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"device": self.device, "workload": self.workload}
        if self.trace_dir is not None:
            data["trace_dir"] = self.trace_dir
        if self.summary:
            data["summary"] = dict(self.summary)
        if self.error is not None:
            data["error"] = self.error
        return data

    @classmethod
    def from_json(cls, value: Any, where: str = "profile") -> ProfileEntry:
        data = _object(value, where)
        _keys(data, cls.KEYS, where)
        return cls(_text(data, "device", where), _text(data, "workload", where),
                   _text(data, "trace_dir", where, required=False),
                   dict(_object(data.get("summary") or {}, f"{where}.summary")),
                   _text(data, "error", where, required=False))


@dataclass(frozen=True)
class Finding:
    """One acceptance rule judged on one metric on one device: a row of the verdict."""

    rule: str
    metric: str
    device: str
    status: str
    op: str = ""
    bound: float | None = None
    bound_kind: str = ""
    bound_text: str = ""
    measured: float | None = None
    shown: str = ""
    unit: str = ""
    detail: str = ""
    source: str = ""

    KEYS = ("rule", "metric", "device", "status", "op", "bound", "bound_kind", "bound_text",
            "measured", "shown", "unit", "detail", "source")

    def to_json(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.KEYS}

    @classmethod
    def from_json(cls, value: Any, where: str = "finding") -> Finding:
        data = _object(value, where)
        _keys(data, cls.KEYS, where)
        texts = {k: _text(data, k, where, required=False, empty=True) or ""
                 for k in ("op", "bound_kind", "bound_text", "shown", "unit", "detail",
                           "source")}
        return cls(_text(data, "rule", where), _text(data, "metric", where),
                   _text(data, "device", where),
                   _choice(data, "status", FINDING_STATUSES, where),
                   bound=_optional_number(data, "bound", where, signed=True),
                   measured=_optional_number(data, "measured", where, signed=True), **texts)


@dataclass(frozen=True)
class AcceptanceRecord:
    """The verdict of ``blitzbench accept`` and every finding behind it."""

    verdict: str
    level: str
    spec: str
    findings: tuple[Finding, ...] = ()
    spec_description: str = ""
    baseline: str | None = None
    counts: str = ""
    wall_s: float | None = None
    step_s: Mapping[str, float] = field(default_factory=dict)
    #: What a reader must know before trusting the verdict, one line each: how many
    #: figures were noisy, whether the machine was busy (runner/watch.py).
    notes: tuple[str, ...] = ()

    KEYS = ("verdict", "level", "spec", "spec_description", "baseline", "counts", "rules",
            "wall_s", "step_s", "notes")

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "level": self.level, "spec": self.spec,
                "spec_description": self.spec_description, "baseline": self.baseline,
                "counts": self.counts, "rules": [f.to_json() for f in self.findings],
                "wall_s": self.wall_s, "step_s": dict(self.step_s),
                "notes": list(self.notes)}

    @classmethod
    def from_json(cls, value: Any, where: str = "acceptance") -> AcceptanceRecord:
        data = _object(value, where)
        _keys(data, cls.KEYS, where)
        steps = _object(data.get("step_s") or {}, f"{where}.step_s")
        return cls(_choice(data, "verdict", ACCEPTANCE_VERDICTS, where),
                   _text(data, "level", where, empty=True),
                   _text(data, "spec", where, empty=True),
                   _records(data, "rules", where, Finding.from_json),
                   _text(data, "spec_description", where, required=False, empty=True) or "",
                   _text(data, "baseline", where, required=False, empty=True),
                   _text(data, "counts", where, required=False, empty=True) or "",
                   _optional_number(data, "wall_s", where, MAX_SECONDS),
                   {str(k): _number(v, f"{where}.step_s.{k}", MAX_SECONDS)
                    for k, v in steps.items()},
                   _texts(data.get("notes"), f"{where}.notes"))


@dataclass(frozen=True)
class Environment:
    """The fingerprint a run carries (``environment.fingerprint()``): without it a figure
    is not comparable with anything. Kept as the mapping it was written as; the facts
    readers compare are checked on the way in."""

    facts: Mapping[str, Any] = field(default_factory=dict)

    TEXT_KEYS = ("host", "cpu", "torch", "torchvision", "python", "platform", "numpy")
    #: What must agree for two runs' figures to be compared without --force.
    COMPARED_KEYS = ("torch", "cpu", "cpu_count")

    def get(self, key: str, default: Any = None) -> Any:
        return self.facts.get(key, default)

    @property
    def host(self) -> str:
        return str(self.facts.get("host") or "")

    @property
    def gpus(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(self.facts.get("gpus") or ())

    @property
    def gpu_names(self) -> dict[str, str]:
        """``cuda:0`` -> ``NVIDIA H200``."""
        return {f"cuda:{g.get('index')}": str(g.get("name")) for g in self.gpus}

    def hardware(self, device: str) -> str:
        """The hardware model behind a device label: only identical parts are peers."""
        if device == "cpu":
            return f"cpu: {self.facts.get('cpu')} x{self.facts.get('cpu_count')}"
        return self.gpu_names.get(device, device)

    def differences(self, other: Environment, here: str = "here",
                    there: str = "there") -> list[str]:
        """How ``other`` (there) differs from this one (here) in hardware and torch."""
        problems = [f"{key} {other.get(key)!r} {there}, {self.get(key)!r} {here}"
                    for key in self.COMPARED_KEYS if other.get(key) != self.get(key)]
        mine = [g.get("name") for g in self.gpus]
        theirs = [g.get("name") for g in other.gpus]
        if mine != theirs:
            problems.append(f"GPUs {theirs or 'none'} {there}, {mine or 'none'} {here}")
        return problems

    def to_json(self) -> dict[str, Any]:
        return dict(self.facts)

    @classmethod
    def from_json(cls, value: Any, where: str = "environment") -> Environment:
        data = _object(value, where)
        for key in cls.TEXT_KEYS:
            _text(data, key, where, required=False, empty=True)
        count = data.get("cpu_count")
        if count is not None:
            _number(count, f"{where}.cpu_count", MAX_RECORDS)
        gpus = data.get("gpus") or []
        if not isinstance(gpus, list):
            raise _fail(f"{where}.gpus", "must be a list of objects with a name and index")
        for index, gpu in enumerate(gpus):
            gpu = _object(gpu, f"{where}.gpus[{index}]")
            _text(gpu, "name", f"{where}.gpus[{index}]")
        return cls(dict(data))


@dataclass(frozen=True)
class RunResults:
    """A run folder's ``results.json``: the envelope (format version, command, times,
    environment) and the records of every section."""

    run_id: str
    command: str
    environment: Environment = field(default_factory=Environment)
    claims: tuple[ClaimCell, ...] = ()
    benchmarks: tuple[Measurement, ...] = ()
    profiles: tuple[ProfileEntry, ...] = ()
    acceptance: AcceptanceRecord | None = None
    data_source: Mapping[str, Any] | None = None
    level: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    started: str | None = None
    finished: str | None = None
    complete: bool = False
    interrupted: bool = False
    blitzbench: str = ""
    format_version: int = FORMAT_VERSION
    job: JobRecord | None = None  # a torchrun job's ranks (results/job.py)
    tutorial: TutorialResults | None = None  # the tutorial's own blocks (results/tutorial.py)
    ab: ABRecord | None = None  # an A/B run's sides and pairs (results/ab.py)
    preflight: Preflight | None = None  # the machine before the run (results/machine.py)
    instructions: CountsRecord | None = None  # counts under callgrind (results/instructions)
    gpu_health: GpuHealthRecord | None = None  # NVML readings (results/machine.py)
    stress: tuple[StressRecord, ...] = ()  # sustained stresses (results/stress.py)

    KEYS = ("format_version", "blitzbench", "command", "run_id", "started", "finished",
            "complete", "interrupted", "environment", "data_source", "level",
            "profile_settings", "claims", "benchmarks", "profiles", "acceptance", "job",
            "tutorial", "ab", "preflight", "instructions", "gpu_health", "stress")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format_version": FORMAT_VERSION, "blitzbench": self.blitzbench,
            "command": self.command, "run_id": self.run_id, "started": self.started,
            "finished": self.finished, "complete": self.complete,
            "interrupted": self.interrupted, "environment": self.environment.to_json()}
        if self.data_source is not None:
            data["data_source"] = dict(self.data_source)
        if self.level is not None:
            data["level"] = self.level
        if self.settings:
            data["profile_settings"] = dict(self.settings)
        for key in ("claims", "benchmarks", "profiles"):
            records = getattr(self, key)
            if records:
                data[key] = [r.to_json() for r in records]
        if self.acceptance is not None:
            data["acceptance"] = self.acceptance.to_json()
        if self.job is not None:
            data["job"] = self.job.to_json()
        if self.tutorial is not None:
            data["tutorial"] = self.tutorial.to_json()
        if self.ab is not None:
            data["ab"] = self.ab.to_json()
        if self.preflight is not None:
            data["preflight"] = self.preflight.to_json()
        if self.instructions is not None:
            data["instructions"] = self.instructions.to_json()
        if self.gpu_health is not None:
            data["gpu_health"] = self.gpu_health.to_json()
        if self.stress:
            data["stress"] = [s.to_json() for s in self.stress]
        return data

    @classmethod
    def from_json(cls, value: Any, where: str = "results.json") -> RunResults:
        data = _object(value, where)
        _keys(data, cls.KEYS, where)
        version = data.get("format_version", FORMAT_VERSION)  # the reader checked it
        acceptance = data.get("acceptance")
        job = data.get("job")
        tutorial = data.get("tutorial")
        ab = data.get("ab")
        found = data.get("preflight")
        counted = data.get("instructions")
        health = data.get("gpu_health")
        source = data.get("data_source")
        return cls(
            run_id=_text(data, "run_id", where, required=False, empty=True) or "",
            command=_text(data, "command", where, required=False, empty=True) or "",
            environment=Environment.from_json(data.get("environment") or {},
                                              f"{where}: environment"),
            claims=_records(data, "claims", where, ClaimCell.from_json, ": "),
            benchmarks=_records(data, "benchmarks", where,
                                lambda v, w: Measurement.from_json(v, w, version), ": "),
            profiles=_records(data, "profiles", where, ProfileEntry.from_json, ": "),
            acceptance=None if acceptance is None else
            AcceptanceRecord.from_json(acceptance, f"{where}: acceptance"),
            job=None if job is None else JobRecord.from_json(job, f"{where}: job"),
            tutorial=None if tutorial is None else
            TutorialResults.from_json(tutorial, f"{where}: tutorial"),
            ab=None if ab is None else ABRecord.from_json(ab, f"{where}: ab"),
            preflight=None if found is None else Preflight.from_json(found,
                                                                     f"{where}: preflight"),
            instructions=None if counted is None else CountsRecord.from_json(
                counted, f"{where}: instructions"),
            gpu_health=None if health is None else GpuHealthRecord.from_json(
                health, f"{where}: gpu_health"),
            stress=_records(data, "stress", where, StressRecord.from_json, ": "),
            data_source=None if source is None else
            dict(_object(source, f"{where}: data_source")),
            level=_text(data, "level", where, required=False),
            settings=dict(_object(data.get("profile_settings") or {},
                                  f"{where}: profile_settings")),
            started=_text(data, "started", where, required=False, empty=True),
            finished=_text(data, "finished", where, required=False, empty=True),
            complete=_flag(data, "complete", where),
            interrupted=_flag(data, "interrupted", where),
            blitzbench=_text(data, "blitzbench", where, required=False, empty=True) or "",
            format_version=version,
        )

    @property
    def measured(self) -> tuple[Measurement, ...]:
        """The benchmark records measured to the end."""
        return tuple(m for m in self.benchmarks if m.ok)



def _texts(value: Any, where: str) -> tuple[str, ...]:
    """A list of strings (absent: none)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(where, "must be a list of strings")
    return tuple(value)
