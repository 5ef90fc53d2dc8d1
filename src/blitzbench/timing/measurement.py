"""The record of one measured case, and the statistics it carries.

Every figure blitzbench reports is a median with its spread (IQR) and the number of
rounds behind it, and knows when it is too noisy to be taken as a fact.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["NOISY_IQR_FRACTION", "Measurement", "iqr", "is_noisy"]

#: IQR/median above which a figure is flagged noisy (torch.utils.benchmark warns at 0.1 too).
NOISY_IQR_FRACTION = 0.10


def iqr(values: Sequence[float]) -> float:
    """Inter-quartile range (0 for fewer than two values)."""
    if len(values) < 2:
        return 0.0
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q3 - q1


def is_noisy(median: float, spread: float) -> bool:
    return median > 0 and spread / median > NOISY_IQR_FRACTION


@dataclass(frozen=True)
class Measurement:
    """One workload case on one device: per-round times and derived figures.

    ``extra`` holds the rates a reader wants (``images_per_s``, ``gb_per_s``,
    ``fraction_of_peak``); ``error`` records a case that could not run (CUDA out of
    memory at a large batch, a worker that died) as a result rather than a crash.
    ``wall_s`` is what the case cost the run that measured it (build, warm-up,
    calibration, rounds, a re-measure): bookkeeping for sizing a run, never a figure.
    """

    benchmark: str
    device: str
    params: Mapping[str, Any] = field(default_factory=dict)
    times_s: tuple[float, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    wall_s: float | None = None

    @property
    def rounds(self) -> int:
        return len(self.times_s)

    @property
    def median_s(self) -> float:
        return statistics.median(self.times_s) if self.times_s else float("nan")

    @property
    def iqr_s(self) -> float:
        return iqr(self.times_s)

    @property
    def noisy(self) -> bool:
        return is_noisy(self.median_s, self.iqr_s)

    def to_json(self) -> dict[str, Any]:
        return {"benchmark": self.benchmark, "device": self.device,
                "params": dict(self.params), "median_s": self.median_s, "iqr_s": self.iqr_s,
                "rounds": self.rounds, "noisy": self.noisy, "extra": dict(self.extra),
                "error": self.error, "wall_s": self.wall_s}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], times_s: Sequence[float] = ()) -> Measurement:
        return cls(data["benchmark"], data["device"], data.get("params", {}), tuple(times_s),
                   data.get("extra", {}), data.get("error"), data.get("wall_s"))
