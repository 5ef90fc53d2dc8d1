"""The machine around a measurement: who else used the CPUs and GPUs, and how healthy the
GPUs were, as records every reader can load without torch; and :func:`busy`, the judge
that says whether a window of time was fit to be measured.

A benchmark figure from a shared machine is only as good as the machine was quiet. A
:class:`MachineState` covers one window (the pre-flight, or one benchmark case): the load
average at both ends, the CPU time the hypervisor stole, the CPU time everybody outside
this process tree used, the busiest of them by name, and the processes on the GPUs. The
GPU health records are what NVML said: :class:`GpuReading` before and after the run (ECC
counts, retired pages, remapped rows, PCIe link, driver, persistence mode, clocks) and
:class:`GpuSample` s taken in the background during the heaviest cases (clock event
reasons, SM clock, power, temperature, link). A field NVML refused is None, with the NVML
error named in ``errors``; the judging of those records is in acceptance/gpu_health.py.

Every record reads and writes itself in one place; ``from_json`` checks each field, so a
defect in a handed-over file is one :class:`~blitzbench.errors.UsageError` line naming it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from blitzbench.results.checking import (
    MAX_RECORDS,
    MAX_TEXT,
    _choice,
    _fail,
    _json_type,
    _keys,
    _number,
    _object,
    _optional_number,
    _records,
    _text,
    _whole,
)

__all__ = [
    "CHECK_STATUSES", "GPU_SOURCES", "LOAD_TOLERATED", "OTHERS_TOLERATED_CORES",
    "STEAL_BUSY_FRACTION", "BusyProcess", "GpuHealthRecord", "GpuProcess", "GpuReading",
    "GpuSample", "HealthCheck", "MachineState", "Preflight", "busy",
]

# --- thresholds ----------------------------------------------------------------------
# Measured with the monitor itself on the project's shared 2-core VM, 2026-12-07: 110
# windows of 5 s with nothing of ours beside us and 50 with a Python busy loop outside
# our process tree (tests/data/machine/vm_states.json keeps three of them).

#: CPU the others may use, in cores, beyond the cores this run's threads leave free.
#: torch runs one thread per core by default and its threads wait on each other, so a
#: neighbour on *any* core this run wants is contention (a LeNet batch-64 train step went
#: from 3.9 ms to ~227 ms with 2 threads on 2 cores and a busy neighbour, as the issue
#: measured on this VM). The 4 quiet windows read the others at 0.004-0.06 cores (kernel
#: threads, shells); the busy loop beside us read 0.96-1.0 cores when it had a core to
#: itself. 0.25 is four times the first and a quarter of the second. (The other 106
#: "idle" windows read 0.9-2.0 cores: the other engineers' test runs, rightly busy.)
OTHERS_TOLERATED_CORES = 0.25
#: CPU steal, as a fraction of all CPU time in the window, above which the hypervisor's
#: other guests are judged to have taken part of the run. Operators' rule of thumb: "if
#: steal time is greater than 10% for 20 minutes, the VM is likely in a state that it is
#: running slower than it should" (Scout, "Understanding CPU Steal Time - when should you
#: be worried?"); a benchmark figure counts as noisy at 10% spread (results/stats.py
#: NOISY_IQR_FRACTION), so half of that: steal alone must not move a figure that far.
#: This VM read 0.000-0.010 in all 160 windows.
STEAL_BUSY_FRACTION = 0.05
#: Pre-flight only: the 1-minute load average beyond our own use and the free cores.
#: It lags (an exponentially damped average over a minute, kernel/sched/loadavg.c) and
#: counts our own threads, so it is judged only before measuring, where it says that a
#: neighbour was busy in the last minute even if it paused during the few seconds of the
#: window. One busy process brings it towards 1.0 (0.63 after its first minute); this VM
#: read 0.12 at rest and 1.3-7.4 while the other engineers ran their tests.
LOAD_TOLERATED = 0.5

GPU_SOURCES = ("nvml", "none")
CHECK_STATUSES = ("PASS", "FAIL", "SKIPPED")
MAX_CORES = 1 << 20
MAX_PID = 1 << 32
MAX_COUNT = 1 << 64  # NVML counters are unsigned 64-bit
MAX_EPOCH_S = 1e11  # unix time, past the year 5000
MAX_CLOCK_MHZ = 100_000.0
MAX_POWER_W = 100_000.0
MAX_TEMPERATURE_C = 300.0
MAX_LOAD = 1e6


# --- the CPU side ----------------------------------------------------------------------

@dataclass(frozen=True)
class BusyProcess:
    """A process outside this process tree and the CPU it used in the window, in cores
    (CPU seconds per second: 1.0 is one core all the time)."""

    pid: int
    name: str
    cores: float

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "name": self.name, "cores": self.cores}

    @classmethod
    def from_json(cls, value: Any, where: str = "busy_process") -> BusyProcess:
        data = _object(value, where)
        _keys(data, ("pid", "name", "cores"), where)
        return cls(_whole(data.get("pid"), f"{where}.pid", MAX_PID),
                   _text(data, "name", where, empty=True) or "",
                   _number(data.get("cores"), f"{where}.cores", MAX_CORES))

    def label(self) -> str:
        return f"{self.name or '?'} (pid {self.pid}, {self.cores:.2f} cores)"


@dataclass(frozen=True)
class GpuProcess:
    """A compute process on a GPU that is not ours. ``name`` is "" when its pid is not
    visible from here (NVML reports the host's pids; a container sees its own)."""

    device: int
    pid: int
    name: str = ""
    memory_bytes: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"device": self.device, "pid": self.pid, "name": self.name,
                "memory_bytes": self.memory_bytes}

    @classmethod
    def from_json(cls, value: Any, where: str = "gpu_process") -> GpuProcess:
        data = _object(value, where)
        _keys(data, ("device", "pid", "name", "memory_bytes"), where)
        memory = data.get("memory_bytes")
        return cls(_whole(data.get("device"), f"{where}.device", MAX_CORES),
                   _whole(data.get("pid"), f"{where}.pid", MAX_PID),
                   _text(data, "name", where, required=False, empty=True) or "",
                   None if memory is None else _whole(memory, f"{where}.memory_bytes",
                                                      MAX_COUNT))

    def label(self) -> str:
        return f"{self.name or 'pid'} {self.pid} on GPU {self.device}"


@dataclass(frozen=True)
class MachineState:
    """The machine during one window of time (the pre-flight, or one benchmark case).

    ``start_s``/``end_s`` are unix times of the first and last sample that bound the
    window (a window shorter than the sampling interval is widened to them, and says so).
    ``others_cpu_fraction`` is the CPU time used outside this process tree as a fraction
    of the whole machine (all ``cores``): the kernel's busy time (/proc/stat) less the
    tree's own, so processes too short-lived to be seen one by one still count;
    ``busy_processes`` names the busiest of them that lived long enough to be seen.
    ``steal_fraction`` is None where the kernel keeps no steal counter (not Linux).
    ``gpu_source`` says who could tell the GPU processes ("nvml"), or "none" with the
    reason in ``gpu_note``.
    """

    start_s: float
    end_s: float
    cores: int
    samples: int = 2
    load1_start: float | None = None
    load1_end: float | None = None
    steal_fraction: float | None = None
    others_cpu_fraction: float | None = None
    own_cpu_fraction: float | None = None
    busy_processes: tuple[BusyProcess, ...] = ()
    torch_threads: int | None = None
    gpu_source: str = "none"
    gpu_note: str = ""
    gpu_processes: tuple[GpuProcess, ...] = ()

    KEYS = ("start_s", "end_s", "cores", "samples", "load1_start", "load1_end",
            "steal_fraction", "others_cpu_fraction", "own_cpu_fraction", "busy_processes",
            "torch_threads", "gpu_source", "gpu_note", "gpu_processes")

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def others_cores(self) -> float | None:
        """CPU the others used, in cores."""
        frac = self.others_cpu_fraction
        return None if frac is None else frac * self.cores

    @property
    def free_cores(self) -> float:
        """Cores this run's threads leave to the others: none when the thread count is
        unknown (torch's default is one thread per core)."""
        threads = self.torch_threads if self.torch_threads else self.cores
        return max(0.0, float(self.cores - threads))

    def to_json(self) -> dict[str, Any]:
        data = {key: getattr(self, key) for key in self.KEYS}
        data["busy_processes"] = [p.to_json() for p in self.busy_processes]
        data["gpu_processes"] = [p.to_json() for p in self.gpu_processes]
        return data

    @classmethod
    def from_json(cls, value: Any, where: str = "machine") -> MachineState:
        data = _object(value, where)
        _keys(data, cls.KEYS, where)
        start = _number(data.get("start_s"), f"{where}.start_s", MAX_EPOCH_S)
        end = _number(data.get("end_s"), f"{where}.end_s", MAX_EPOCH_S)
        if end < start:
            raise _fail(f"{where}.end_s", f"= {end!r} is before start_s = {start!r}")
        threads = data.get("torch_threads")
        return cls(
            start_s=start, end_s=end, cores=_positive(data.get("cores"), f"{where}.cores"),
            samples=_whole(data.get("samples", 2), f"{where}.samples", MAX_RECORDS),
            **{k: _optional_number(data, k, where, MAX_LOAD) for k in ("load1_start",
                                                                      "load1_end")},
            **{k: _optional_number(data, k, where, 1.0) for k in (
                "steal_fraction", "others_cpu_fraction", "own_cpu_fraction")},
            busy_processes=_records(data, "busy_processes", where, BusyProcess.from_json),
            torch_threads=None if threads is None else _positive(
                threads, f"{where}.torch_threads"),
            gpu_source=_choice(data, "gpu_source", GPU_SOURCES, where),
            gpu_note=_text(data, "gpu_note", where, required=False, empty=True) or "",
            gpu_processes=_records(data, "gpu_processes", where, GpuProcess.from_json))


def _positive(value: Any, where: str) -> int:
    if value == 0:
        raise _fail(where, "must be a whole number from 1, got 0")
    return _whole(value, where, MAX_CORES)


@dataclass(frozen=True)
class Preflight:
    """The window measured before the run, and why the machine was judged busy ("" when
    it was fit). ``forced`` records that the run measured anyway (``--force``)."""

    state: MachineState
    reason: str = ""
    forced: bool = False

    @property
    def busy(self) -> bool:
        return bool(self.reason)

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state.to_json(), "reason": self.reason, "forced": self.forced}

    @classmethod
    def from_json(cls, value: Any, where: str = "preflight") -> Preflight:
        data = _object(value, where)
        _keys(data, ("state", "reason", "forced"), where)
        forced = data.get("forced", False)
        if not isinstance(forced, bool):
            raise _fail(f"{where}.forced", f"must be true or false, got {_json_type(forced)}")
        return cls(MachineState.from_json(data.get("state"), f"{where}.state"),
                   _text(data, "reason", where, required=False, empty=True) or "", forced)


# --- judging a window -------------------------------------------------------------------

def busy(state: MachineState, *, judge_load: bool = False,
         gpu_devices: Collection[int] | None = None) -> str | None:
    """Why the window was too busy to measure in, or None when it was fit.

    Busy means: the others used more CPU than the cores our threads leave free, plus
    :data:`OTHERS_TOLERATED_CORES`; or the hypervisor stole more than
    :data:`STEAL_BUSY_FRACTION`; or another process held a GPU (of ``gpu_devices``, all
    when None). ``judge_load`` (pre-flight) adds the 1-minute load average beyond our own
    use and the free cores, plus :data:`LOAD_TOLERATED`. Reasons are joined by "; ".
    """
    reasons = [reason for reason in (_cpu_reason(state), _steal_reason(state),
                                     _gpu_reason(state, gpu_devices),
                                     _load_reason(state) if judge_load else None) if reason]
    return "; ".join(reasons) or None


def _cpu_reason(state: MachineState) -> str | None:
    others = state.others_cores
    if others is None or others <= state.free_cores + OTHERS_TOLERATED_CORES:
        return None
    named = ", ".join(p.label() for p in state.busy_processes[:3])
    threads = state.torch_threads or state.cores
    return (f"other processes used {others:.2f} of {state.cores} cores while this run's "
            f"{threads} threads wanted {min(threads, state.cores)}"
            + (f" ({named})" if named else ""))


def _steal_reason(state: MachineState) -> str | None:
    steal = state.steal_fraction
    if steal is None or steal <= STEAL_BUSY_FRACTION:
        return None
    return (f"the hypervisor stole {steal:.1%} of the CPU time (limit "
            f"{STEAL_BUSY_FRACTION:.0%})")


def _gpu_reason(state: MachineState, devices: Collection[int] | None) -> str | None:
    others = [p for p in state.gpu_processes if devices is None or p.device in devices]
    if not others:
        return None
    return "other processes on the GPU: " + ", ".join(p.label() for p in others[:4])


def _load_reason(state: MachineState) -> str | None:
    load = state.load1_end
    if load is None:
        return None
    own = (state.own_cpu_fraction or 0.0) * state.cores
    excess = load - own
    if excess <= state.free_cores + LOAD_TOLERATED:
        return None
    return (f"the 1-minute load average was {load:.2f} on {state.cores} cores "
            f"({excess:.2f} beyond this run's own use)")


# --- the GPU side -----------------------------------------------------------------------

#: The fields of a reading, by kind: whole numbers, true/false, text, decimal numbers.
READING_COUNTS = (
    "ecc_volatile_corrected", "ecc_volatile_uncorrected", "ecc_aggregate_corrected",
    "ecc_aggregate_uncorrected", "retired_pages_sbe", "retired_pages_dbe",
    "remapped_rows_correctable", "remapped_rows_uncorrectable", "pcie_generation",
    "pcie_generation_max", "pcie_width", "pcie_width_max", "sm_clock_mhz",
    "sm_clock_max_mhz", "memory_clock_mhz", "memory_clock_max_mhz", "clock_event_reasons")
READING_FLAGS = ("persistence_mode", "retired_pages_pending", "remap_pending",
                 "remap_failure")
READING_TEXTS = ("name", "uuid", "driver")
READING_FIGURES = ("power_w", "temperature_c")
SAMPLE_COUNTS = ("clock_event_reasons", "sm_clock_mhz", "pcie_generation", "pcie_width")
SAMPLE_FIGURES = READING_FIGURES
_LIMITS = {"power_w": MAX_POWER_W, "temperature_c": MAX_TEMPERATURE_C}


@dataclass(frozen=True)
class GpuReading:
    """What NVML said of one GPU at one moment (before or after the run), the way
    ``nvidia-smi -q`` shows it. A field NVML refused is None and ``errors`` names the NVML
    error (``{"remap_pending": "NVMLError_NotSupported"}``); ``errors["handle"]`` means
    the GPU itself could not be reached, and every field is None."""

    index: int
    taken_s: float
    name: str | None = None
    uuid: str | None = None
    driver: str | None = None
    persistence_mode: bool | None = None
    ecc_volatile_corrected: int | None = None
    ecc_volatile_uncorrected: int | None = None
    ecc_aggregate_corrected: int | None = None
    ecc_aggregate_uncorrected: int | None = None
    retired_pages_sbe: int | None = None
    retired_pages_dbe: int | None = None
    retired_pages_pending: bool | None = None
    remapped_rows_correctable: int | None = None
    remapped_rows_uncorrectable: int | None = None
    remap_pending: bool | None = None
    remap_failure: bool | None = None
    pcie_generation: int | None = None
    pcie_generation_max: int | None = None
    pcie_width: int | None = None
    pcie_width_max: int | None = None
    sm_clock_mhz: int | None = None
    sm_clock_max_mhz: int | None = None
    memory_clock_mhz: int | None = None
    memory_clock_max_mhz: int | None = None
    clock_event_reasons: int | None = None
    power_w: float | None = None
    temperature_c: float | None = None
    errors: Mapping[str, str] = field(default_factory=dict)

    FIELDS = (*READING_TEXTS, *READING_FLAGS, *READING_COUNTS, *READING_FIGURES)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"index": self.index, "taken_s": self.taken_s}
        data.update({key: getattr(self, key) for key in self.FIELDS})
        data["errors"] = dict(self.errors)
        return data

    @classmethod
    def from_json(cls, value: Any, where: str = "gpu_reading") -> GpuReading:
        data = _object(value, where)
        _keys(data, ("index", "taken_s", *cls.FIELDS, "errors"), where)
        return cls(index=_whole(data.get("index"), f"{where}.index", MAX_CORES),
                   taken_s=_number(data.get("taken_s"), f"{where}.taken_s", MAX_EPOCH_S),
                   errors=_errors(data.get("errors"), f"{where}.errors", cls.FIELDS),
                   **_optional_fields(data, where, READING_TEXTS, READING_FLAGS,
                                      READING_COUNTS, READING_FIGURES))


@dataclass(frozen=True)
class GpuSample:
    """One background sample of one GPU during the stress: why its clocks were held back
    (NVML's clock event reasons, a bit mask), its SM clock, power, temperature and link."""

    index: int
    t_s: float
    clock_event_reasons: int | None = None
    sm_clock_mhz: int | None = None
    pcie_generation: int | None = None
    pcie_width: int | None = None
    power_w: float | None = None
    temperature_c: float | None = None

    FIELDS = (*SAMPLE_COUNTS, *SAMPLE_FIGURES)

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "t_s": self.t_s,
                **{key: getattr(self, key) for key in self.FIELDS}}

    @classmethod
    def from_json(cls, value: Any, where: str = "gpu_sample") -> GpuSample:
        data = _object(value, where)
        _keys(data, ("index", "t_s", *cls.FIELDS), where)
        return cls(index=_whole(data.get("index"), f"{where}.index", MAX_CORES),
                   t_s=_number(data.get("t_s"), f"{where}.t_s", MAX_EPOCH_S),
                   **_optional_fields(data, where, (), (), SAMPLE_COUNTS, SAMPLE_FIGURES))


@dataclass(frozen=True)
class GpuHealthRecord:
    """The GPU health of a run: readings before and after, samples during the stress.
    ``unavailable`` says why there is nothing to judge (no NVML, no GPU); "" when read."""

    before: tuple[GpuReading, ...] = ()
    after: tuple[GpuReading, ...] = ()
    samples: tuple[GpuSample, ...] = ()
    unavailable: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"unavailable": self.unavailable,
                "before": [r.to_json() for r in self.before],
                "after": [r.to_json() for r in self.after],
                "samples": [s.to_json() for s in self.samples]}

    @classmethod
    def from_json(cls, value: Any, where: str = "gpu_health") -> GpuHealthRecord:
        data = _object(value, where)
        _keys(data, ("unavailable", "before", "after", "samples"), where)
        return cls(_records(data, "before", where, GpuReading.from_json),
                   _records(data, "after", where, GpuReading.from_json),
                   _records(data, "samples", where, GpuSample.from_json),
                   _text(data, "unavailable", where, required=False, empty=True) or "")

    def devices(self) -> tuple[int, ...]:
        return tuple(sorted({r.index for r in (*self.before, *self.after)}
                            | {s.index for s in self.samples}))


@dataclass(frozen=True)
class HealthCheck:
    """One GPU health check on one GPU (``device`` None: a check that could not run on
    any), PASS, FAIL or SKIPPED, with the one line that says why."""

    check: str
    device: int | None
    status: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "device": self.device, "status": self.status,
                "reason": self.reason}

    @classmethod
    def from_json(cls, value: Any, where: str = "health_check") -> HealthCheck:
        data = _object(value, where)
        _keys(data, ("check", "device", "status", "reason"), where)
        device = data.get("device")
        return cls(_text(data, "check", where),
                   None if device is None else _whole(device, f"{where}.device", MAX_CORES),
                   _choice(data, "status", CHECK_STATUSES, where),
                   _text(data, "reason", where, empty=True) or "")


def _optional_fields(data: Mapping[str, Any], where: str, texts: tuple[str, ...],
                     flags: tuple[str, ...], counts: tuple[str, ...],
                     figures: tuple[str, ...]) -> dict[str, Any]:
    """Each named field, None when absent, checked by its kind."""
    out: dict[str, Any] = {k: _text(data, k, where, required=False, empty=True)
                           for k in texts}
    for key in flags:
        value = data.get(key)
        if value is not None and not isinstance(value, bool):
            raise _fail(f"{where}.{key}", f"must be true, false or null, got "
                                          f"{_json_type(value)}")
        out[key] = value
    for key in counts:
        value = data.get(key)
        out[key] = None if value is None else _whole(value, f"{where}.{key}", MAX_COUNT)
    for key in figures:
        out[key] = _optional_number(data, key, where, _LIMITS[key], signed=True)
    return out


def _errors(value: Any, where: str, fields: tuple[str, ...]) -> dict[str, str]:
    """field -> the NVML error that refused it (``handle``: the GPU itself)."""
    errors = dict(_object(value if value is not None else {}, where))
    for key, error in errors.items():
        if key not in (*fields, "handle"):
            raise _fail(where, f"names an unknown field {str(key)[:40]!r}")
        if not isinstance(error, str) or not error or len(error) > MAX_TEXT:
            raise _fail(f"{where}.{key}", f"must be the NVML error's name, got "
                                          f"{_json_type(error)}")
    return errors
