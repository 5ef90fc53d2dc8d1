"""GPU health judged from recorded NVML readings (tests/data/machine/h100_healthy.json and
GPUs derived from it that differ in one fault each), and the NVML reader on a stand-in
NVML library: a GPU that refuses one query, a GPU that is lost, no NVML at all.

No GPU is needed: the reader's library is a parameter, and the stand-in answers with
pynvml's own error classes. Each test takes milliseconds, the sampler's a quarter second.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import types
from pathlib import Path

import pynvml
import pytest

from blitzbench.acceptance.gpu_health import CHECKS, judge_gpu_health
from blitzbench.errors import UsageError
from blitzbench.machine.nvml import GpuSampler, Nvml
from blitzbench.results.machine import GpuHealthRecord, GpuReading, HealthCheck

DATA = Path(__file__).parent / "data" / "machine"


@pytest.fixture
def healthy() -> GpuHealthRecord:
    return GpuHealthRecord.from_json(json.loads((DATA / "h100_healthy.json").read_text()))


def statuses(record: GpuHealthRecord) -> dict[str, HealthCheck]:
    return {c.check: c for c in judge_gpu_health(record)}


def with_after(record: GpuHealthRecord, **changes) -> GpuHealthRecord:
    return dataclasses.replace(record, after=(dataclasses.replace(record.after[0],
                                                                  **changes),))


# --- judging recorded readings ----------------------------------------------------------

def test_a_healthy_gpu_passes_every_check(healthy):
    checks = statuses(healthy)
    assert {c: checks[c].status for c in CHECKS} == dict.fromkeys(CHECKS, "PASS")
    assert "Gen5 of Gen5" in checks["pcie_generation"].reason
    assert "x16 of x16" in checks["pcie_width"].reason
    assert "at its power cap in 4" in checks["throttle"].reason  # 0x4: reported, not failed


def test_thermal_and_power_brake_throttling_during_the_stress_fails(healthy):
    samples = tuple(dataclasses.replace(s, clock_event_reasons=0x40 | 0x80, sm_clock_mhz=990,
                                        temperature_c=91.0) if i >= 8 else s
                    for i, s in enumerate(healthy.samples))
    check = statuses(dataclasses.replace(healthy, samples=samples))["throttle"]
    assert check.status == "FAIL"
    assert "HW thermal slowdown in 4 of 12 samples" in check.reason
    assert "HW power brake in 4 of 12" in check.reason
    assert "peak 91 °C" in check.reason and "990-1980 MHz" in check.reason


def test_a_lost_lane_fails_the_width_and_not_the_generation(healthy):
    narrow = dataclasses.replace(
        healthy,
        before=(dataclasses.replace(healthy.before[0], pcie_width=8),),
        after=(dataclasses.replace(healthy.after[0], pcie_width=8),),
        samples=tuple(dataclasses.replace(s, pcie_width=8) for s in healthy.samples))
    checks = statuses(narrow)
    assert checks["pcie_width"].status == "FAIL"
    assert "x8 of x16" in checks["pcie_width"].reason
    assert checks["pcie_generation"].status == "PASS"


def test_the_generation_fails_only_under_load(healthy):
    slow = dataclasses.replace(healthy, samples=tuple(
        dataclasses.replace(s, pcie_generation=3) for s in healthy.samples))
    assert statuses(slow)["pcie_generation"].status == "FAIL"
    assert "Gen3 under load, Gen5 possible" in statuses(slow)["pcie_generation"].reason
    idle_only = dataclasses.replace(healthy, samples=())
    check = statuses(idle_only)["pcie_generation"]
    assert check.status == "SKIPPED" and "Gen1 of Gen5 at idle" in check.reason


def test_new_ecc_errors_between_before_and_after_fail(healthy):
    check = statuses(with_after(healthy, ecc_volatile_uncorrected=2,
                                ecc_aggregate_uncorrected=2))["ecc_errors"]
    assert check.status == "FAIL"
    assert "2 new uncorrected, 0 new corrected" in check.reason


def test_a_volatile_counter_reset_by_a_driver_reload_counts_from_zero(healthy):
    before = dataclasses.replace(healthy.before[0], ecc_volatile_corrected=7)
    reset = dataclasses.replace(healthy, before=(before,))
    assert statuses(reset)["ecc_errors"].status == "PASS"  # 7 -> 0: reset, nothing new
    grew = with_after(reset, ecc_volatile_corrected=1)
    assert statuses(grew)["ecc_errors"].status == "FAIL"


def test_a_pending_retirement_or_remap_fails(healthy):
    remap = statuses(with_after(healthy, remap_pending=True))["pending_retirement"]
    assert remap.status == "FAIL" and "row remap is pending" in remap.reason
    page = statuses(with_after(healthy, retired_pages_pending=True))["pending_retirement"]
    assert page.status == "FAIL" and "page retirement is pending" in page.reason
    failed = statuses(with_after(healthy, remap_failure=True))["pending_retirement"]
    assert failed.status == "FAIL" and "needs service" in failed.reason


def test_persistence_mode_off_fails(healthy):
    check = statuses(with_after(healthy, persistence_mode=False))["persistence_mode"]
    assert check.status == "FAIL" and "nvidia-smi -pm 1" in check.reason


def test_a_gpu_refusing_queries_skips_those_checks_naming_the_error(healthy):
    refused = "NVMLError_NotSupported"
    fields = ("ecc_volatile_corrected", "ecc_volatile_uncorrected", "ecc_aggregate_corrected",
              "ecc_aggregate_uncorrected", "remapped_rows_correctable",
              "remapped_rows_uncorrectable", "remap_pending", "remap_failure")
    consumer = dataclasses.replace(healthy.after[0], **dict.fromkeys(fields),
                                   errors={**healthy.after[0].errors,
                                           **dict.fromkeys(fields, refused)})
    record = dataclasses.replace(healthy, before=(dataclasses.replace(
        consumer, taken_s=healthy.before[0].taken_s),), after=(consumer,))
    checks = statuses(record)
    for name in ("ecc_errors", "pending_retirement"):
        assert checks[name].status == "SKIPPED"
        assert refused in checks[name].reason
    assert checks["throttle"].status == "PASS"  # the rest still judged


def test_a_gpu_lost_during_the_run_fails_reachable(healthy):
    lost = GpuReading(0, healthy.after[0].taken_s, errors={"handle": "NVMLError_GpuIsLost"})
    checks = statuses(dataclasses.replace(healthy, after=(lost,)))
    assert checks["reachable"].status == "FAIL"
    assert "after the run (NVMLError_GpuIsLost)" in checks["reachable"].reason


def test_without_nvml_every_check_is_skipped_once_with_the_reason():
    checks = judge_gpu_health(GpuHealthRecord(unavailable="NVML cannot be used here "
                                              "(NVMLError_LibraryNotFound: ...)"))
    assert [c.check for c in checks] == list(CHECKS)
    assert {c.status for c in checks} == {"SKIPPED"}
    assert all("LibraryNotFound" in c.reason and c.device is None for c in checks)


# --- records read back --------------------------------------------------------------------

def test_a_record_reads_back_equal(healthy):
    assert GpuHealthRecord.from_json(json.loads(json.dumps(healthy.to_json()))) == healthy
    check = judge_gpu_health(healthy)[0]
    assert HealthCheck.from_json(check.to_json()) == check


@pytest.mark.parametrize(("where", "value", "named"), [
    (("after", 0, "pcie_width"), -1, "gpu_health.after[0].pcie_width"),
    (("after", 0, "remap_pending"), "no", "gpu_health.after[0].remap_pending"),
    (("samples", 2, "power_w"), float("nan"), "gpu_health.samples[2].power_w"),
    (("before", 0, "errors"), {"colour": "NVMLError_NotSupported"},
     "gpu_health.before[0].errors"),
    (("before", 0, "fan_rpm"), 1200, "gpu_health.before[0]"),
])
def test_a_bad_field_is_one_line_naming_it(healthy, where, value, named):
    data = healthy.to_json()
    data[where[0]][where[1]][where[2]] = value
    with pytest.raises(UsageError) as raised:
        GpuHealthRecord.from_json(data)
    assert str(raised.value).startswith(named) and "\n" not in str(raised.value)


# --- the reader on a stand-in NVML ----------------------------------------------------------

class _Process:
    def __init__(self, pid: int, memory: int | None) -> None:
        self.pid, self.usedGpuMemory = pid, memory


def fake_nvml(count: int = 2, refuse: dict[str, type] | None = None,
              lost: frozenset[int] = frozenset(), processes=()) -> types.SimpleNamespace:
    """An NVML with ``count`` H100-like GPUs; ``refuse`` maps a function to the pynvml
    error it raises; ``lost`` GPUs cannot be reached."""
    def handle(index):
        if index in lost:
            raise pynvml.NVMLError_GpuIsLost()
        return index

    answers = {
        "nvmlInit": lambda: None, "nvmlShutdown": lambda: None,
        "nvmlDeviceGetCount": lambda: count, "nvmlDeviceGetHandleByIndex": handle,
        "nvmlSystemGetDriverVersion": lambda: "550.90.07",
        "nvmlDeviceGetName": lambda h: "NVIDIA H100 80GB HBM3",
        "nvmlDeviceGetUUID": lambda h: f"GPU-{h}",
        "nvmlDeviceGetPersistenceMode": lambda h: 1,
        "nvmlDeviceGetTotalEccErrors": lambda h, kind, counter: 0,
        "nvmlDeviceGetRetiredPages": lambda h, cause: [],
        "nvmlDeviceGetRetiredPagesPendingStatus": lambda h: 0,
        "nvmlDeviceGetRemappedRows": lambda h: (0, 0, 0, 0),
        "nvmlDeviceGetMaxPcieLinkGeneration": lambda h: 5,
        "nvmlDeviceGetMaxPcieLinkWidth": lambda h: 16,
        "nvmlDeviceGetCurrPcieLinkGeneration": lambda h: 5,
        "nvmlDeviceGetCurrPcieLinkWidth": lambda h: 16,
        "nvmlDeviceGetClockInfo": lambda h, clock: 1980,
        "nvmlDeviceGetMaxClockInfo": lambda h, clock: 1980,
        "nvmlDeviceGetCurrentClocksEventReasons": lambda h: 0,
        "nvmlDeviceGetPowerUsage": lambda h: 690_000,
        "nvmlDeviceGetTemperature": lambda h, sensor: 61,
        "nvmlDeviceGetComputeRunningProcesses": lambda h: [
            _Process(pid, memory) for device, pid, memory in processes if device == h],
    }
    for name, error in (refuse or {}).items():
        answers[name] = lambda *args, error=error: (_ for _ in ()).throw(error())
    constants = {k: getattr(pynvml, k) for k in dir(pynvml) if k.startswith("NVML_")}
    return types.SimpleNamespace(NVMLError=pynvml.NVMLError, **constants, **answers)


def test_the_reader_reads_every_field_of_a_healthy_gpu():
    with Nvml(fake_nvml(count=1)) as nvml:
        (reading,) = nvml.read_all()
    assert not reading.errors
    assert (reading.pcie_generation, reading.pcie_width_max, reading.power_w,
            reading.persistence_mode, reading.remap_pending) == (5, 16, 690.0, True, False)
    assert statuses(GpuHealthRecord(before=(reading,), after=(reading,)))[
        "pending_retirement"].status == "PASS"


def test_a_gpu_refusing_one_query_loses_that_field_only():
    refuse = {"nvmlDeviceGetRemappedRows": pynvml.NVMLError_NotSupported,
              "nvmlDeviceGetPowerUsage": pynvml.NVMLError_NoPermission}
    with Nvml(fake_nvml(count=1, refuse=refuse)) as nvml:
        (reading,) = nvml.read_all()
    assert reading.remap_pending is None and reading.power_w is None
    assert reading.errors == {
        "remapped_rows_correctable": "NVMLError_NotSupported",
        "remapped_rows_uncorrectable": "NVMLError_NotSupported",
        "remap_pending": "NVMLError_NotSupported", "remap_failure": "NVMLError_NotSupported",
        "power_w": "NVMLError_NoPermission"}
    assert reading.temperature_c == 61.0 and reading.ecc_volatile_uncorrected == 0
    assert GpuReading.from_json(reading.to_json()) == reading


def test_an_older_driver_without_clock_event_reasons_uses_the_throttle_reasons_name():
    lib = fake_nvml(count=1, refuse={
        "nvmlDeviceGetCurrentClocksEventReasons": pynvml.NVMLError_FunctionNotFound})
    lib.nvmlDeviceGetCurrentClocksThrottleReasons = lambda h: 0x40
    with Nvml(lib) as nvml:
        assert nvml.read(0).clock_event_reasons == 0x40


def test_a_lost_gpu_is_named_and_the_others_still_read():
    with Nvml(fake_nvml(count=2, lost=frozenset({1}))) as nvml:
        ok, lost = nvml.read_all()
    assert ok.errors == {} and ok.name == "NVIDIA H100 80GB HBM3"
    assert lost.errors == {"handle": "NVMLError_GpuIsLost"} and lost.name is None
    checks = judge_gpu_health(GpuHealthRecord(before=(ok, lost), after=(ok, lost)))
    assert [c.status for c in checks if c.device == 1 and c.check == "reachable"] == ["FAIL"]


def test_no_nvml_is_a_reason_not_an_error():
    lib = fake_nvml()
    lib.nvmlInit = lambda: (_ for _ in ()).throw(pynvml.NVMLError_LibraryNotFound())
    with Nvml(lib) as nvml:
        assert not nvml.available and nvml.read_all() == () and nvml.processes() == ()
    assert nvml.reason == ("NVML cannot be used here (NVMLError_LibraryNotFound: NVML "
                           "Shared Library Not Found)")


def test_the_real_nvml_here_says_why_it_cannot_be_used_or_reads_every_gpu():
    """On this VM (no driver) the reason; on a GPU node every GPU's reading."""
    with Nvml() as nvml:
        readings = nvml.read_all()
    if nvml.available:
        assert len(readings) == nvml.count and all("handle" not in r.errors for r in readings)
    else:
        assert nvml.reason and readings == ()


def test_the_sampler_samples_in_the_background_and_stops():
    with Nvml(fake_nvml(count=2)) as nvml, GpuSampler(nvml, interval_s=0.05) as sampler:
        time.sleep(0.25)
    samples = sampler.samples()
    assert {s.index for s in samples} == {0, 1} and len(samples) >= 4
    assert all(s.clock_event_reasons == 0 and s.power_w == 690.0 for s in samples)
    assert not any(t.name == "blitzbench-gpu-sampler" for t in threading.enumerate())
