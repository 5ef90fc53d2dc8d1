"""Rates derived from a median time and a workload's units (images, bytes, FLOP).

Unit names a workload may declare, per call:

- ``images``: images processed; gives ``images_per_s``.
- ``bytes``: bytes read plus written in the device's own memory; gives ``gb_per_s`` and,
  on a GPU in the peak table, ``fraction_of_peak`` of its nominal memory bandwidth.
- ``link_bytes``: bytes moved between host and device; gives ``gb_per_s`` only (the link's
  speed depends on the host, so there is no table peak for it).
- ``flop``: floating-point operations; gives ``tflop_per_s`` and, for bf16 work on a
  listed GPU, ``fraction_of_peak`` of its dense bf16 throughput; for fp32 work on the CPU,
  ``fraction_of_peak`` of the peak computed from its cores, clock and FMA units
  (timing/cpu_peak.py), or the reason there is none.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from blitzbench.timing.cpu_peak import NoCpuPeak, read_cpu_peak
from blitzbench.timing.peaks import describe_peak, peak_for

__all__ = ["KNOWN_UNITS", "derived_rates"]

KNOWN_UNITS = frozenset({"images", "bytes", "link_bytes", "flop"})
GIGA = 1e9
TERA = 1e12
CPU_PEAK_DTYPE = "float32"  # the dtype timing/cpu_peak.py counts lanes of
CPU_MEMORY_PEAK = ("unknown device: cpu (no nominal memory bandwidth: a process's share of "
                   "the host's memory channels cannot be known from inside it; STREAM is "
                   "judged against a floor in the spec)")


def derived_rates(units: Mapping[str, float], params: Mapping[str, Any], device: str,
                  seconds_per_call: float) -> dict[str, Any]:
    """The rates a reader wants from one median; empty when the time is not usable."""
    unknown = set(units) - KNOWN_UNITS
    if unknown:
        raise ValueError(f"unknown workload units {sorted(unknown)}: use {sorted(KNOWN_UNITS)}")
    if not seconds_per_call > 0 or math.isinf(seconds_per_call):
        return {}
    rates: dict[str, Any] = {}
    if "images" in units:
        rates["images_per_s"] = units["images"] / seconds_per_call
    if "bytes" in units:
        rates["gb_per_s"] = units["bytes"] / seconds_per_call / GIGA
        rates.update(_memory_peak(device, rates["gb_per_s"]))
    if "link_bytes" in units:
        rates["gb_per_s"] = units["link_bytes"] / seconds_per_call / GIGA
        rates["peak"] = "host-device link: no peak in blitzbench's table (depends on the host)"
    if "flop" in units:
        rates["tflop_per_s"] = units["flop"] / seconds_per_call / TERA
        rates.update(_compute_peak(device, params, rates["tflop_per_s"]))
    return rates


def _memory_peak(device: str, gb_per_s: float) -> dict[str, Any]:
    if torch.device(device).type == "cpu":
        return {"peak": CPU_MEMORY_PEAK}
    peak = _listed_peak(device)
    if peak is None:
        return {"peak": _unknown(device)}
    return {"fraction_of_peak": gb_per_s / peak.memory_gb_per_s,
            "peak_gb_per_s": peak.memory_gb_per_s, "peak": describe_peak(device)}


def _compute_peak(device: str, params: Mapping[str, Any], tflop_per_s: float) -> dict[str, Any]:
    if torch.device(device).type == "cpu":
        return _cpu_compute_peak(params, tflop_per_s)
    peak = _listed_peak(device)
    if peak is None:
        return {"peak": _unknown(device)}
    if params.get("dtype") != "bfloat16":
        return {"peak": f"{peak.name}: the table holds bf16 peaks only, this is "
                        f"{params.get('dtype', 'an unstated dtype')}"}
    return {"fraction_of_peak": tflop_per_s / peak.bf16_dense_tflop_per_s,
            "peak_tflop_per_s": peak.bf16_dense_tflop_per_s, "peak": describe_peak(device)}


def _cpu_compute_peak(params: Mapping[str, Any], tflop_per_s: float) -> dict[str, Any]:
    """fp32 work against the CPU's computed peak; any other dtype, or a CPU whose peak
    cannot be computed, carries only the reason."""
    if params.get("dtype") != CPU_PEAK_DTYPE:
        return {"peak": f"blitzbench computes the CPU's {CPU_PEAK_DTYPE} peak only, this is "
                        f"{params.get('dtype', 'an unstated dtype')}"}
    peak = read_cpu_peak()
    if isinstance(peak, NoCpuPeak):
        return {"peak": f"no computed CPU peak: {peak.reason}"}
    return {"fraction_of_peak": tflop_per_s / peak.tflop_per_s,
            "peak_tflop_per_s": peak.tflop_per_s, "peak": peak.describe()}


def _listed_peak(device: str):
    return peak_for(device) if torch.device(device).type == "cuda" else None


def _unknown(device: str) -> str:
    if torch.device(device).type == "cuda" and torch.cuda.is_available():
        return describe_peak(device)
    return f"unknown device: {device} (no peak in blitzbench's table)"
