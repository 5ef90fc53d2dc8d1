"""GPU health, judged DCGM-style from recorded NVML readings: PASS, FAIL or SKIPPED per
check and per GPU, each with the one line that says why.

The checks, and where they come from:

- ``reachable``: NVML could reach the GPU before and after the run (a GPU that falls
  off the bus answers ``NVMLError_GpuIsLost``).
- ``ecc_errors``: no new ECC error, corrected or uncorrected, between the readings
  before and after the run (``nvidia-smi -q`` "ECC Errors"; a volatile counter that went
  down was reset by a driver reload, and then counts from zero).
- ``pending_retirement``: no page retirement pending, no row remap pending or failed
  (DCGM's deployment check "Page Retirement/Row Remap": a pending one needs a GPU reset,
  a failed remap needs service). Pre-Ampere GPUs retire pages, Ampere and later remap
  rows; the one the GPU does not support reads NotSupported and is left out.
- ``pcie_width`` and ``pcie_generation``: the link at the most the GPU and its slot allow
  (``nvmlDeviceGetMaxPcieLinkWidth``/``Generation``; DCGM's PCIe checks). The width is
  the most seen in any reading or sample: x8 of x16 is a lost lane or a wrong slot. The
  generation drops when the GPU idles ("These may be reduced when the GPU is not in use",
  nvidia-smi(1), GPU Link Info), so below its maximum it FAILs only when seen under load
  (a stress sample) and is SKIPPED when only idle readings were taken.
- ``throttle``: no thermal or power-brake slowdown during the stress samples (NVML's
  clock event reasons: HW slowdown, HW and SW thermal slowdown, HW power brake). The SW
  power cap is a GPU running at its power limit, as a full load does: reported, not
  failed.
- ``persistence_mode``: on (DCGM's deployment check "Persistence Mode"): without it the
  driver unloads between runs and each run starts cold.

Without NVML every check is SKIPPED once, with the reason the record carries.
"""

from __future__ import annotations

from collections.abc import Sequence

from blitzbench.results.machine import GpuHealthRecord, GpuReading, GpuSample, HealthCheck

__all__ = ["CHECKS", "THROTTLE_REASONS", "judge_gpu_health"]

CHECKS = ("reachable", "ecc_errors", "pending_retirement", "pcie_width", "pcie_generation",
          "throttle", "persistence_mode")
#: NVML clock event reason bits (nvml.h, nvmlClocksEventReasons; DCGM's
#: DCGM_CLOCKS_EVENT_REASON_* are the same values) that fail the throttle check.
THROTTLE_REASONS = {
    0x08: "HW slowdown",
    0x20: "SW thermal slowdown",
    0x40: "HW thermal slowdown",
    0x80: "HW power brake",
}
SW_POWER_CAP = 0x04
_ECC_KINDS = ("uncorrected", "corrected")


def judge_gpu_health(record: GpuHealthRecord) -> tuple[HealthCheck, ...]:
    """Every check on every GPU of the record (each SKIPPED once without NVML)."""
    if record.unavailable or not record.devices():
        reason = record.unavailable or "no GPU was read"
        return tuple(HealthCheck(check, None, "SKIPPED", reason) for check in CHECKS)
    checks: list[HealthCheck] = []
    for index in record.devices():
        before = _reading(record.before, index)
        after = _reading(record.after, index)
        samples = tuple(s for s in record.samples if s.index == index)
        checks += [
            _reachable(index, before, after),
            _ecc(index, before, after),
            _pending(index, after or before),
            _width(index, (before, after), samples),
            _generation(index, (before, after), samples),
            _throttle(index, samples),
            _persistence(index, after or before),
        ]
    return tuple(checks)


def _reading(readings: Sequence[GpuReading], index: int) -> GpuReading | None:
    return next((r for r in readings if r.index == index), None)


def _check(check: str, index: int, status: str, reason: str) -> HealthCheck:
    return HealthCheck(check, index, status, f"GPU {index}: {reason}")


def _refused(reading: GpuReading | None, *fields: str) -> str:
    """What NVML answered instead of the fields, or that there was no reading."""
    if reading is None:
        return "no reading"
    names = sorted({reading.errors[f] for f in (*fields, "handle") if f in reading.errors})
    return ", ".join(names) or "not read"


def _reachable(index: int, before: GpuReading | None,
               after: GpuReading | None) -> HealthCheck:
    lost = [f"{when} ({reading.errors['handle']})"
            for when, reading in (("before the run", before), ("after the run", after))
            if reading is not None and "handle" in reading.errors]
    if lost:
        return _check("reachable", index, "FAIL", "NVML could not reach it "
                      + " and ".join(lost))
    if before is None or after is None:
        missing = "before" if before is None else "after"
        return _check("reachable", index, "SKIPPED", f"no reading {missing} the run")
    return _check("reachable", index, "PASS", "reached before and after the run")


def _ecc(index: int, before: GpuReading | None, after: GpuReading | None) -> HealthCheck:
    if before is None or after is None:
        return _check("ecc_errors", index, "SKIPPED",
                      f"ECC counts need a reading before and after the run "
                      f"({'before' if before is None else 'after'} missing)")
    new = {kind: _new_errors(before, after, kind) for kind in _ECC_KINDS}
    if all(count is None for count in new.values()):
        fields = [f"ecc_{c}_{k}" for c in ("volatile", "aggregate") for k in _ECC_KINDS]
        return _check("ecc_errors", index, "SKIPPED", f"ECC counters not readable "
                      f"({_refused(after, *fields)}: ECC off, or a card without it)")
    text = ", ".join(f"{'?' if n is None else n} new {kind}" for kind, n in new.items())
    if any(n for n in new.values()):
        return _check("ecc_errors", index, "FAIL", f"ECC errors during the run: {text}")
    return _check("ecc_errors", index, "PASS", f"no new ECC error ({text})")


def _new_errors(before: GpuReading, after: GpuReading, kind: str) -> int | None:
    """New errors of one kind: the larger of the volatile and aggregate increases (a
    volatile counter that went down was reset by a driver reload: all of it is new)."""
    found = []
    for counter in ("volatile", "aggregate"):
        field = f"ecc_{counter}_{kind}"
        old, now = getattr(before, field), getattr(after, field)
        if old is not None and now is not None:
            found.append(now - old if now >= old else now)
    return max(found) if found else None


def _pending(index: int, reading: GpuReading | None) -> HealthCheck:
    fields = ("retired_pages_pending", "remap_pending", "remap_failure")
    known = {f: getattr(reading, f) for f in fields} if reading is not None else {}
    if all(v is None for v in known.values()):
        return _check("pending_retirement", index, "SKIPPED", f"neither page retirement "
                      f"nor row remapping readable ({_refused(reading, *fields)})")
    words = {"retired_pages_pending": "a page retirement is pending (reset the GPU)",
             "remap_pending": "a row remap is pending (reset the GPU)",
             "remap_failure": "a row remap failed (the GPU needs service)"}
    found = [words[f] for f, v in known.items() if v]
    if found:
        return _check("pending_retirement", index, "FAIL", "; ".join(found))
    assert reading is not None
    counts = _retired_counts(reading)
    return _check("pending_retirement", index, "PASS",
                  "no pending retirement or remap" + (f" ({counts})" if counts else ""))


def _retired_counts(reading: GpuReading) -> str:
    parts = [f"{value} {label}" for label, value in (
        ("pages retired for single-bit errors", reading.retired_pages_sbe),
        ("for double-bit errors", reading.retired_pages_dbe),
        ("rows remapped for correctable errors", reading.remapped_rows_correctable),
        ("for uncorrectable errors", reading.remapped_rows_uncorrectable))
        if value is not None]
    return ", ".join(parts)


def _link_max(readings: Sequence[GpuReading | None], field: str) -> int | None:
    return max((getattr(r, field) for r in readings
                if r is not None and getattr(r, field) is not None), default=None)


def _seen(readings: Sequence[GpuReading | None], samples: Sequence[GpuSample],
          field: str) -> list[int]:
    return [v for v in (*(getattr(r, field) for r in readings if r is not None),
                        *(getattr(s, field) for s in samples)) if v is not None]


def _width(index: int, readings: Sequence[GpuReading | None],
           samples: Sequence[GpuSample]) -> HealthCheck:
    most, seen = _link_max(readings, "pcie_width_max"), _seen(readings, samples, "pcie_width")
    if most is None or not seen:
        refused = _refused(next((r for r in readings if r is not None), None),
                           "pcie_width", "pcie_width_max")
        return _check("pcie_width", index, "SKIPPED", f"PCIe link width not readable "
                      f"({refused})")
    if max(seen) < most:
        return _check("pcie_width", index, "FAIL", f"PCIe link x{max(seen)} of x{most}: a "
                      f"lost lane, or a slot narrower than the GPU")
    return _check("pcie_width", index, "PASS", f"PCIe link x{max(seen)} of x{most}")


def _generation(index: int, readings: Sequence[GpuReading | None],
                samples: Sequence[GpuSample]) -> HealthCheck:
    most = _link_max(readings, "pcie_generation_max")
    seen = _seen(readings, samples, "pcie_generation")
    under_load = [s.pcie_generation for s in samples if s.pcie_generation is not None]
    if most is None or not seen:
        refused = _refused(next((r for r in readings if r is not None), None),
                           "pcie_generation", "pcie_generation_max")
        return _check("pcie_generation", index, "SKIPPED", f"PCIe link generation not "
                      f"readable ({refused})")
    if max(seen) >= most:
        return _check("pcie_generation", index, "PASS", f"PCIe Gen{max(seen)} of "
                      f"Gen{most}")
    if under_load:
        return _check("pcie_generation", index, "FAIL", f"PCIe Gen{max(under_load)} under "
                      f"load, Gen{most} possible")
    return _check("pcie_generation", index, "SKIPPED", f"PCIe Gen{max(seen)} of Gen{most} "
                  f"at idle, where the link slows down to save power; no sample under "
                  f"load was taken")


def _throttle(index: int, samples: Sequence[GpuSample]) -> HealthCheck:
    read = [s for s in samples if s.clock_event_reasons is not None]
    if not read:
        why = "no sample during the stress" if not samples else \
            "clock event reasons not readable in any sample"
        return _check("throttle", index, "SKIPPED", why)
    counts = {name: sum(1 for s in read if s.clock_event_reasons & bit)
              for bit, name in THROTTLE_REASONS.items()}
    capped = sum(1 for s in read if s.clock_event_reasons & SW_POWER_CAP)
    seen = _peaks(samples) + (f"; at its power cap in {capped}" if capped else "")
    found = [f"{name} in {n} of {len(read)} samples" for name, n in counts.items() if n]
    if found:
        return _check("throttle", index, "FAIL", f"{', '.join(found)} ({seen})")
    return _check("throttle", index, "PASS", f"no thermal or power-brake slowdown in "
                                             f"{len(read)} samples ({seen})")


def _peaks(samples: Sequence[GpuSample]) -> str:
    temps = [s.temperature_c for s in samples if s.temperature_c is not None]
    power = [s.power_w for s in samples if s.power_w is not None]
    clocks = [s.sm_clock_mhz for s in samples if s.sm_clock_mhz is not None]
    parts = ([f"peak {max(temps):.0f} °C"] if temps else []) + \
        ([f"{max(power):.0f} W"] if power else []) + \
        ([f"SM clock {min(clocks)}-{max(clocks)} MHz"] if clocks else [])
    return ", ".join(parts) or "no temperature, power or clock read"


def _persistence(index: int, reading: GpuReading | None) -> HealthCheck:
    mode = reading.persistence_mode if reading is not None else None
    if mode is None:
        return _check("persistence_mode", index, "SKIPPED", f"persistence mode not "
                      f"readable ({_refused(reading, 'persistence_mode')})")
    if not mode:
        return _check("persistence_mode", index, "FAIL", "persistence mode is off: the "
                      "driver unloads between runs and each starts cold (nvidia-smi -pm 1)")
    return _check("persistence_mode", index, "PASS", "persistence mode is on")
