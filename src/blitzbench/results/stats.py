"""The statistics every figure carries: median, inter-quartile range, and the noise flag.

Pure Python (``statistics``), so readers of a results folder need neither torch nor numpy.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

__all__ = ["NOISY_IQR_FRACTION", "iqr", "is_noisy", "median"]

#: IQR/median above which a figure is flagged noisy (torch.utils.benchmark's
#: ``_IQR_WARN_THRESHOLD`` is the same 0.1).
NOISY_IQR_FRACTION = 0.10


def median(values: Sequence[float]) -> float:
    """The median, NaN for no values (a failed case has no figure)."""
    return statistics.median(values) if values else float("nan")


def iqr(values: Sequence[float]) -> float:
    """Inter-quartile range (0 for fewer than two values)."""
    if len(values) < 2:
        return 0.0
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q3 - q1


def is_noisy(median_value: float, spread: float) -> bool:
    """IQR/median above :data:`NOISY_IQR_FRACTION`."""
    return median_value > 0 and spread / median_value > NOISY_IQR_FRACTION
