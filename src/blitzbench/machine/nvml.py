"""Reading GPU health through NVML (nvidia-ml-py), the library nvidia-smi and DCGM read.

:class:`Nvml` opens NVML once and reads, per GPU, what ``nvidia-smi -q`` and DCGM's
deployment checks look at (:class:`~blitzbench.results.machine.GpuReading`): ECC counts,
retired pages and whether a retirement is pending, remapped rows (the successor of page
retirement since Ampere), the PCIe link against the most this GPU *and slot* allow
(``nvmlDeviceGetMaxPcieLinkGeneration``/``Width``), driver, persistence mode, clocks and
clock event reasons; and the light sample (reasons, SM clock, power, temperature, link)
that :class:`GpuSampler` takes in the background during the heaviest cases.

A GPU that refuses one query leaves that field None with the NVML error named (consumer
cards answer ``NVMLError_NotSupported`` to ECC and row remapping; pre-Ampere cards to row
remapping, Ampere and later to page retirement), and the other fields are still read. No
NVML at all (no driver, the library missing, no GPU) is :attr:`Nvml.reason`: one line for
the rules that must then be SKIPPED.

The library is a parameter (``library=pynvml`` by default) so the tests can hand in a GPU
that refuses a query; nothing else differs between them and a real run.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from blitzbench.results.machine import GpuReading, GpuSample

__all__ = ["GPU_SAMPLE_S", "GpuSampler", "Nvml", "error_name"]

#: Background sampling period during the stress: a throttle that lasts a quarter second
#: is seen, and a benchmark case of a few seconds gets a dozen samples or more; each is
#: 7 NVML queries per GPU (its cost on a GPU node is yet to be measured).
GPU_SAMPLE_S = 0.25
#: NVML's "enabled" (NVML_FEATURE_ENABLED) for persistence mode and pending retirement.
_ENABLED = 1
_MAX_SAMPLES = 200_000  # ~14 hours of one GPU at GPU_SAMPLE_S


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _reasons(nv: Any, handle: Any) -> int:
    """Clock event reasons (R535+), or the older name of the same bit mask."""
    try:
        return int(nv.nvmlDeviceGetCurrentClocksEventReasons(handle))
    except AttributeError:  # an nvidia-ml-py older than the new name
        pass
    except nv.NVMLError as exc:  # a driver older than the new name
        if error_name(exc) != "NVMLError_FunctionNotFound":
            raise
    return int(nv.nvmlDeviceGetCurrentClocksThrottleReasons(handle))


def _ecc(kind: str, counter: str) -> Callable[[Any, Any], int]:
    def read(nv: Any, handle: Any) -> int:
        return int(nv.nvmlDeviceGetTotalEccErrors(
            handle, getattr(nv, f"NVML_MEMORY_ERROR_TYPE_{kind}"),
            getattr(nv, f"NVML_{counter}_ECC")))
    return read


def _remapped(nv: Any, handle: Any) -> tuple[int, int, bool, bool]:
    correctable, uncorrectable, pending, failure = nv.nvmlDeviceGetRemappedRows(handle)
    return int(correctable), int(uncorrectable), bool(pending), bool(failure)


#: (fields, query): each query fills its fields, or leaves them None with its error named.
_DEVICE_QUERIES: tuple[tuple[tuple[str, ...], Callable[[Any, Any], Any]], ...] = (
    (("name",), lambda nv, h: _text(nv.nvmlDeviceGetName(h))),
    (("uuid",), lambda nv, h: _text(nv.nvmlDeviceGetUUID(h))),
    (("persistence_mode",), lambda nv, h: nv.nvmlDeviceGetPersistenceMode(h) == _ENABLED),
    (("ecc_volatile_corrected",), _ecc("CORRECTED", "VOLATILE")),
    (("ecc_volatile_uncorrected",), _ecc("UNCORRECTED", "VOLATILE")),
    (("ecc_aggregate_corrected",), _ecc("CORRECTED", "AGGREGATE")),
    (("ecc_aggregate_uncorrected",), _ecc("UNCORRECTED", "AGGREGATE")),
    (("retired_pages_sbe",), lambda nv, h: len(nv.nvmlDeviceGetRetiredPages(
        h, nv.NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS))),
    (("retired_pages_dbe",), lambda nv, h: len(nv.nvmlDeviceGetRetiredPages(
        h, nv.NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR))),
    (("retired_pages_pending",),
     lambda nv, h: nv.nvmlDeviceGetRetiredPagesPendingStatus(h) == _ENABLED),
    (("remapped_rows_correctable", "remapped_rows_uncorrectable", "remap_pending",
      "remap_failure"), _remapped),
    (("pcie_generation_max",), lambda nv, h: int(nv.nvmlDeviceGetMaxPcieLinkGeneration(h))),
    (("pcie_width_max",), lambda nv, h: int(nv.nvmlDeviceGetMaxPcieLinkWidth(h))),
    (("sm_clock_max_mhz",), lambda nv, h: int(nv.nvmlDeviceGetMaxClockInfo(
        h, nv.NVML_CLOCK_SM))),
    (("memory_clock_mhz",), lambda nv, h: int(nv.nvmlDeviceGetClockInfo(
        h, nv.NVML_CLOCK_MEM))),
    (("memory_clock_max_mhz",), lambda nv, h: int(nv.nvmlDeviceGetMaxClockInfo(
        h, nv.NVML_CLOCK_MEM))),
)
#: What both a reading and a background sample hold.
_SAMPLE_QUERIES: tuple[tuple[tuple[str, ...], Callable[[Any, Any], Any]], ...] = (
    (("clock_event_reasons",), _reasons),
    (("sm_clock_mhz",), lambda nv, h: int(nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_SM))),
    (("pcie_generation",), lambda nv, h: int(nv.nvmlDeviceGetCurrPcieLinkGeneration(h))),
    (("pcie_width",), lambda nv, h: int(nv.nvmlDeviceGetCurrPcieLinkWidth(h))),
    (("power_w",), lambda nv, h: nv.nvmlDeviceGetPowerUsage(h) / 1000.0),  # mW
    (("temperature_c",), lambda nv, h: float(nv.nvmlDeviceGetTemperature(
        h, nv.NVML_TEMPERATURE_GPU))),
)


def error_name(exc: BaseException) -> str:
    """``NVMLError_NotSupported``; the bare class with its code when NVML's is unknown."""
    name = type(exc).__name__
    return f"{name}({getattr(exc, 'value', '?')})" if name == "NVMLError" else name


class Nvml:
    """NVML, opened once: :meth:`read` a GPU's health, :meth:`sample` it, list the
    compute :meth:`processes`. Use as a context manager (nvmlInit ... nvmlShutdown).

    When NVML cannot be used, :attr:`reason` says why in one line and :attr:`count` is 0;
    nothing raises, so the caller records the reason and SKIPs the GPU rules.
    """

    def __init__(self, library: Any = None) -> None:
        self.lib, self.reason, self.count, self._open = library, "", 0, False
        self.driver: str | None = None

    def __enter__(self) -> Nvml:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> Nvml:
        if self.lib is None:
            try:
                import pynvml
            except ImportError:
                self.reason = "nvidia-ml-py is not installed (pip install nvidia-ml-py)"
                return self
            self.lib = pynvml
        try:
            self.lib.nvmlInit()
            self._open = True
            self.count = int(self.lib.nvmlDeviceGetCount())
            self.driver = self._ask({}, "driver", lambda: _text(
                self.lib.nvmlSystemGetDriverVersion()))
        except self.lib.NVMLError as exc:
            self.reason = f"NVML cannot be used here ({error_name(exc)}: {exc})"
            self.count = 0
            return self
        if not self.count:
            self.reason = "NVML found no NVIDIA GPU"
        return self

    def close(self) -> None:
        if self._open:
            self._open = False
            with contextlib.suppress(self.lib.NVMLError):  # the driver went away under us
                self.lib.nvmlShutdown()

    @property
    def available(self) -> bool:
        return self._open and self.count > 0

    def read_all(self) -> tuple[GpuReading, ...]:
        """A reading of every GPU NVML sees (none when it is unavailable)."""
        return tuple(self.read(index) for index in range(self.count))

    def read(self, index: int) -> GpuReading:
        """One GPU's health now; a refused query leaves its fields None, named in
        ``errors``; a GPU that cannot be reached at all has ``errors["handle"]``."""
        taken = time.time()
        errors: dict[str, str] = {}
        handle = self._ask(errors, "handle", lambda: self.lib.nvmlDeviceGetHandleByIndex(
            index))
        if handle is None:
            return GpuReading(index, taken, driver=self.driver, errors=errors)
        values = self._run(handle, (*_DEVICE_QUERIES, *_SAMPLE_QUERIES), errors)
        return GpuReading(index, taken, driver=self.driver, errors=errors, **values)

    def sample(self, index: int) -> GpuSample:
        """The light background sample: reasons, SM clock, link, power, temperature."""
        taken = time.time()
        handle = self._ask({}, "handle", lambda: self.lib.nvmlDeviceGetHandleByIndex(
            index))
        values = {} if handle is None else self._run(handle, _SAMPLE_QUERIES, {})
        return GpuSample(index, taken, **values)

    def processes(self) -> tuple[tuple[int, int, int | None], ...]:
        """(GPU index, pid, GPU memory in bytes or None) of every compute process."""
        found = []
        for index in range(self.count):
            running = self._ask({}, "processes", lambda i=index: (
                self.lib.nvmlDeviceGetComputeRunningProcesses(
                    self.lib.nvmlDeviceGetHandleByIndex(i))))
            for proc in running or ():
                memory = getattr(proc, "usedGpuMemory", None)
                found.append((index, int(proc.pid), None if memory is None else int(memory)))
        return tuple(found)

    def _run(self, handle: Any, queries: Iterable[tuple[tuple[str, ...], Callable]],
             errors: dict[str, str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for fields, query in queries:
            answer = self._ask(errors, fields, lambda q=query: q(self.lib, handle))
            if answer is not None:
                values.update(zip(fields, answer if len(fields) > 1 else (answer,),
                                  strict=True))
        return values

    def _ask(self, errors: dict[str, str], fields: str | tuple[str, ...],
             call: Callable[[], Any]) -> Any:
        """``call()``, or None with the NVML error recorded against each field."""
        try:
            return call()
        except self.lib.NVMLError as exc:
            for name in (fields,) if isinstance(fields, str) else fields:
                errors[name] = error_name(exc)
            return None


class GpuSampler:
    """Samples every GPU every ``interval_s`` seconds from a daemon thread, between
    :meth:`start` and :meth:`stop` (or as a context manager): clock event reasons, SM
    clock, power, temperature and link, for the throttle rule of the heaviest cases.
    :meth:`samples` returns those taken in a window of unix time."""

    def __init__(self, nvml: Nvml, interval_s: float = GPU_SAMPLE_S) -> None:
        self.nvml, self.interval_s = nvml, interval_s
        self.error = ""  # the last sampling error that was not NVML's
        self._samples: list[GpuSample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="blitzbench-gpu-sampler",
                                        daemon=True)

    def __enter__(self) -> GpuSampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> GpuSampler:
        if self.nvml.available:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10 * self.interval_s + 5)

    def samples(self, start_s: float = 0.0, end_s: float = float("inf")
                ) -> tuple[GpuSample, ...]:
        with self._lock:
            return tuple(s for s in self._samples if start_s <= s.t_s <= end_s)

    def _run(self) -> None:
        while True:
            try:
                taken = [self.nvml.sample(index) for index in range(self.nvml.count)]
            except Exception as exc:  # NVML's own refusals are caught per field already
                self.error, taken = f"{type(exc).__name__}: {exc}"[:300], []
            with self._lock:
                self._samples.extend(taken)
                del self._samples[:max(0, len(self._samples) - _MAX_SAMPLES)]
            if self._stop.wait(self.interval_s):
                return
