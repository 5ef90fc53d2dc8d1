"""Small constructors that judges use to state outcomes."""

from __future__ import annotations

from typing import Any

from blitzbench.claims.model import Outcome, Verdict

__all__ = ["conditional", "error", "fails", "holds", "judged", "outdated", "skipped"]


def holds(summary: str, **evidence: Any) -> Outcome:
    return Outcome(Verdict.HOLDS, summary, evidence)


def fails(summary: str, **evidence: Any) -> Outcome:
    return Outcome(Verdict.FAILS, summary, evidence)


def conditional(summary: str, **evidence: Any) -> Outcome:
    return Outcome(Verdict.CONDITIONAL, summary, evidence)


def outdated(summary: str, **evidence: Any) -> Outcome:
    return Outcome(Verdict.OUTDATED, summary, evidence)


def skipped(summary: str, **evidence: Any) -> Outcome:
    return Outcome(Verdict.SKIPPED, summary, evidence)


def error(summary: str, **evidence: Any) -> Outcome:
    """The judge could not judge (it broke, or its statistics cannot decide): never a pass."""
    return Outcome(Verdict.ERROR, summary, evidence)


def judged(ok: bool, verdict_if_ok: Verdict, summary: str, **evidence: Any) -> Outcome:
    """``verdict_if_ok`` when every observation agreed, FAILS (same evidence) otherwise."""
    if ok:
        return Outcome(verdict_if_ok, summary, evidence)
    return Outcome(Verdict.FAILS, f"contradicted: {summary}", evidence)
