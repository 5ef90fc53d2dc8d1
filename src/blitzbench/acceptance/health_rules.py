"""GPU health as rows of the verdict: each DCGM-style check (acceptance/gpu_health.py) on
each GPU, and the sustained stress's band, with their sources.

Like ``ranks-uniform`` these rules are not lines of the spec: they apply to every GPU a
run reads through NVML. Without NVML each check is one SKIPPED row with the reason; a
CPU-only run has no rows (there is no GPU to judge).
"""

from __future__ import annotations

from collections.abc import Sequence

from blitzbench.acceptance.gpu_health import judge_gpu_health
from blitzbench.acceptance.rules import RuleResult, Status
from blitzbench.acceptance.spec import BoundKind, Rule
from blitzbench.results.machine import GpuHealthRecord
from blitzbench.results.stress import StressRecord

__all__ = ["HEALTH_RULES", "STRESS_BAND", "STRESS_RULE", "health_rows"]

_SOURCES = {
    "reachable": "NVML reaches the GPU before and after the run (NVMLError_GpuIsLost: a "
                 "GPU that fell off the bus)",
    "ecc_errors": "no new ECC error between the readings before and after the run "
                  "(nvidia-smi -q, ECC Errors; DCGM's memory checks)",
    "pending_retirement": "no pending page retirement or row remap, no failed remap (DCGM "
                          "deployment check 'Page Retirement/Row Remap')",
    "pcie_width": "the PCIe link at its maximum width (nvmlDeviceGetMaxPcieLinkWidth; a "
                  "lost lane or a wrong slot reads x8 of x16)",
    "pcie_generation": "the PCIe link at its maximum generation under load "
                       "(nvmlDeviceGetMaxPcieLinkGeneration; nvidia-smi(1): it drops at "
                       "idle)",
    "throttle": "no HW slowdown, thermal slowdown or power brake during the load (NVML clock "
                "event reasons; DCGM reuses the bits)",
    "persistence_mode": "persistence mode on (DCGM deployment check 'Persistence Mode')",
}
HEALTH_RULES = {check: Rule(id=f"gpu-{check.replace('_', '-')}", metric=f"gpu.{check}",
                            op="==", bound=True, kind=BoundKind.ABSOLUTE, device="cuda",
                            source=source)
                for check, source in _SOURCES.items()}
#: The end of a sustained stress within 10% of its start: thermal or power throttling
#: takes clocks down by 15% or more (an H100 SXM's boost 1980 MHz against its 1755 MHz
#: base), a GPU holding its clocks stays within a few percent.
STRESS_BAND = 0.9
STRESS_RULE = Rule(id="gpu-sustained-stress", metric="gpu.stress_held", op=">=",
                   bound=STRESS_BAND, kind=BoundKind.ABSOLUTE, device="cuda",
                   source="the bf16 matmul back to back for 2 minutes (dcgmi diag -r 3 holds "
                          "each test for about as long): the throughput of its last windows "
                          "within 10% of its first")
_STATUS = {"PASS": Status.PASS, "FAIL": Status.FAIL, "SKIPPED": Status.SKIPPED}


def health_rows(record: GpuHealthRecord | None,
                stress: Sequence[StressRecord] = ()) -> list[RuleResult]:
    """The rows of the GPU checks and of each stress (none for a CPU-only run)."""
    if record is None:
        return []
    rows = [RuleResult(HEALTH_RULES[c.check], HEALTH_RULES[c.check].metric,
                       f"cuda:{c.device}" if c.device is not None else "cuda",
                       _STATUS[c.status], None, c.status.lower(), "", c.reason)
            for c in judge_gpu_health(record)]
    return rows + [_stress_row(s) for s in stress]


def _stress_row(stress: StressRecord) -> RuleResult:
    held = stress.held
    status = Status.PASS if held >= STRESS_BAND else Status.FAIL
    shown = (f"{held:.2f} of its start ({stress.end_tflops:.0f} vs "
             f"{stress.start_tflops:.0f} TFLOP/s)")
    detail = "" if status is Status.PASS else \
        "throughput fell as the stress went on: see the throttle check's samples"
    return RuleResult(STRESS_RULE, STRESS_RULE.metric, stress.device, status, held, shown,
                      "of start", detail)
