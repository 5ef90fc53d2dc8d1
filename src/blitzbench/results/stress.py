"""A sustained stress's record: throughput window by window, and the band it must hold.

DCGM's diagnostics run each stress for minutes and watch for a GPU that cannot hold its
clocks (thermal or power throttling shows as falling throughput long before an error).
blitzbench's is the bf16 matmul back to back; the judge compares the end of the stress
with its start (runner/gpu_watch.py measures, acceptance/health_rules.py judges).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from blitzbench.results.checking import (
    MAX_FIGURE,
    MAX_SECONDS,
    _fail,
    _keys,
    _number,
    _object,
    _text,
    _whole,
)

__all__ = ["EDGE_WINDOWS", "StressRecord"]

#: Windows averaged at each end: one window can be a clock's first ramp or a hiccup.
EDGE_WINDOWS = 3


@dataclass(frozen=True)
class StressRecord:
    """TFLOP/s of each window of a sustained matmul on ``device``."""

    device: str
    n: int
    window_s: float
    tflops: tuple[float, ...]

    KEYS = ("device", "n", "window_s", "tflops")

    @property
    def start_tflops(self) -> float:
        return statistics.median(self.tflops[:EDGE_WINDOWS])

    @property
    def end_tflops(self) -> float:
        return statistics.median(self.tflops[-EDGE_WINDOWS:])

    @property
    def held(self) -> float:
        """End over start: 1.0 held, 0.8 lost a fifth of its throughput."""
        return self.end_tflops / self.start_tflops

    def to_json(self) -> dict[str, Any]:
        return {"device": self.device, "n": self.n, "window_s": self.window_s,
                "tflops": list(self.tflops)}

    @classmethod
    def from_json(cls, value: Any, where: str = "stress") -> StressRecord:
        data = _object(value, where)
        _keys(data, cls.KEYS, where)
        windows = data.get("tflops")
        if not isinstance(windows, list) or len(windows) < 2 * EDGE_WINDOWS:
            raise _fail(f"{where}.tflops", f"must be a list of at least {2 * EDGE_WINDOWS} "
                                           f"window figures")
        return cls(_text(data, "device", where), _whole(data.get("n"), f"{where}.n", 1 << 20),
                   _number(data.get("window_s"), f"{where}.window_s", MAX_SECONDS,
                           positive=True),
                   tuple(_number(v, f"{where}.tflops[{i}]", MAX_FIGURE, positive=True)
                         for i, v in enumerate(windows)))
