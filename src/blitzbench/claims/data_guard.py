"""The ``data.main_guard`` claim: what ``if __name__ == "__main__":`` does for a DataLoader
with worker processes.

The post wraps its loader loop in the guard and says the guard turns multiprocessing on.
It turns nothing on: a worker started by *spawn* or *forkserver* imports the script again
(as ``__mp_main__``), and the guard keeps that import from running the script's top level,
which would start workers of its own while the worker is still starting (CPython stops it
with the "bootstrapping phase" RuntimeError). A worker started by *fork* is a copy of the
running script and imports nothing, so it needs no guard.

Judged, not read from the documentation: blitzbench's own loader script
(claims/guard_script.py), guarded and unguarded, runs in a fresh interpreter under every
start method this Python offers (``multiprocessing.get_all_start_methods()``), a
DataLoader of 2 workers over the CIFAR-10 in use (claims/guard_runs.py runs them, in the
background from :func:`warm_main_guard`). The verdict:

- HOLDS: the guarded script runs under every method and the unguarded one fails under
  every method: the guard is needed wherever a loader starts workers.
- CONDITIONAL: the guarded script runs under every method and the unguarded one fails
  under some: the evidence names where the guard is needed and this Python's default.
- FAILS: the guarded script fails under some method (the guard is not what makes the loader
  work there), or the unguarded one runs under every method (the guard changes nothing on
  this platform, so it cannot be what turns multiprocessing on).
- ERROR (never FAILS): the judge could not judge: a script could not be started or could
  not read the data set, a guarded script ran out of time, a loader's workers did not start
  by the method asked, or not every offered method was tried.

An unguarded run that fails in any way while its guarded twin ran counts as needing the
guard (the two scripts differ in nothing else); its reason is kept in the evidence. The
expected verdict, CONDITIONAL, is that of Linux and macOS, which offer fork besides spawn
and forkserver; Windows offers spawn alone, where the claim would hold.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Sequence
from typing import Any

import torch

from blitzbench.claims.guard_runs import PARALLEL, TIME_LIMIT_S, RunPlan, ScriptBatch
from blitzbench.claims.guard_script import RunEnd, ScriptRun
from blitzbench.claims.model import ClaimContext, InputSpace, Outcome, Verdict
from blitzbench.devices import device_label
from blitzbench.errors import BlitzError
from blitzbench.workloads.cifar import DataSource, resolve_data_source, tutorial_split

__all__ = ["GUARD_SPACE", "WORKERS", "collect_runs", "guard_outcome",
           "offered_start_methods", "run_plans", "warm_main_guard"]

WORKERS = 2  # the tutorial's num_workers
#: Where each start method is the default, for the advice in the summary: "spawn ... The
#: default on Windows and macOS" (docs.python.org/3/library/multiprocessing.html, "Contexts
#: and start methods"); forkserver is the default on POSIX but macOS from Python 3.14
#: (docs.python.org/3/whatsnew/3.14.html, "multiprocessing").
DEFAULT_ELSEWHERE = "spawn is the default on Windows and macOS, forkserver on Linux from " \
                    "Python 3.14"
#: Runs that wait longest first, so their idle seconds overlap the others: torch notices a
#: dead fork-served worker only at its 5 s check; spawn's workers import torch afresh.
_SLOWEST_FIRST = {"forkserver": 0, "spawn": 1}

#: Batches started by warm_main_guard, by (device, data source): each judged once.
_WARMED: dict[tuple[str, DataSource], ScriptBatch] = {}


def offered_start_methods() -> tuple[str, ...]:
    """The start methods this platform offers, its default first (as multiprocessing's
    documentation of ``get_all_start_methods`` says)."""
    return tuple(multiprocessing.get_all_start_methods())


def run_plans(methods: Sequence[str]) -> list[RunPlan]:
    """Each method guarded and unguarded, the runs that wait longest first."""
    ordered = sorted(methods, key=lambda m: _SLOWEST_FIRST.get(m, len(_SLOWEST_FIRST)))
    return [RunPlan(method, guarded) for method in ordered for guarded in (False, True)]


def _start(device: str, source: DataSource) -> ScriptBatch:
    return ScriptBatch(run_plans(offered_start_methods()), source.root, device).start()


def warm_main_guard(device: torch.device) -> None:
    """Start the runs for the default data source (synthetic CIFAR-10; a judge handed
    another starts its own). The set is written first if absent, so that no two scripts
    race to write it."""
    try:
        source = resolve_data_source(None)
        tutorial_split(source, False)
    except BlitzError:
        return  # the judge meets the same error and reports it
    key = (device_label(device), source)
    if key not in _WARMED:
        _WARMED[key] = _start(key[0], source)


def collect_runs(ctx: ClaimContext) -> tuple[list[ScriptRun], dict[str, float]]:
    """Every run's end for this cell (the warmed batch, else a new one) and the timing:
    how long the runs took from their start, and how long the judge waited for them."""
    tutorial_split(ctx.data, False)  # a broken data set is the user's DataError, as elsewhere
    device = device_label(ctx.device)
    warmed = {key: _WARMED.pop(key) for key in list(_WARMED) if key[0] == device}
    for (_, source), other in warmed.items():
        if source != ctx.data:
            other.stop()  # warmed for the default data set; this cell reads another
    batch = warmed.get((device, ctx.data)) or _start(device, ctx.data)
    waiting = time.monotonic()
    runs = batch.wait()
    return runs, {"runs_wall_s": round(batch.finished - batch.started, 2),
                  "judge_waited_s": round(time.monotonic() - waiting, 2)}


def guard_outcome(runs: Sequence[ScriptRun], offered: Sequence[str], data: str,
                  **timing: float) -> Outcome:
    """The verdict on a cell's runs (see the module's docstring)."""
    order = {method: index for index, method in enumerate(offered)}
    runs = sorted(runs, key=lambda r: (order.get(r.method, len(order)), r.guarded))
    evidence = _evidence(runs, offered, data, timing)
    problem = _unjudgeable(runs, offered)
    if problem:
        return Outcome(Verdict.ERROR, f"could not judge: {problem}", evidence, len(runs))
    broken = [r for r in runs if r.guarded and r.end is not RunEnd.RAN]
    if broken:
        return Outcome(Verdict.FAILS, f"contradicted: with the guard the loader still fails "
                       f"under {_joined([r.method for r in broken])} ({broken[0].reason}) "
                       f"({data})", evidence, len(runs))
    needed, not_needed = evidence["guard_needed_under"], evidence["guard_not_needed_under"]
    if not needed:
        return Outcome(Verdict.FAILS, f"contradicted: the unguarded script ran under every "
                       f"start method ({_joined(offered)}): the guard turns nothing on here "
                       f"({data})", evidence, len(runs))
    unguarded = {r.method: r for r in runs if not r.guarded}
    condition = _condition([unguarded[m] for m in needed], not_needed,
                           evidence["default_start_method"], evidence["python"])
    verdict = Verdict.CONDITIONAL if not_needed else Verdict.HOLDS
    return Outcome(verdict, f"{condition}; guarded, the loader ran under all {len(offered)} "
                   f"({data}). Keep the guard: {DEFAULT_ELSEWHERE}", evidence, len(runs))


def _unjudgeable(runs: Sequence[ScriptRun], offered: Sequence[str]) -> str | None:
    """Why these runs cannot judge the claim, or None."""
    tried = sorted((r.method, r.guarded) for r in runs)
    if tried != sorted((m, g) for m in offered for g in (False, True)):
        return (f"runs under {_joined(sorted({r.method for r in runs}))}, but this Python "
                f"offers {_joined(offered)}: each guarded and unguarded once")
    for run in runs:
        if run.end in (RunEnd.NOT_STARTED, RunEnd.NO_DATA) or (
                run.guarded and run.end is RunEnd.TIMED_OUT):
            return f"the {run.variant} script under {run.method}: {run.end.value}: {run.reason}"
        if run.end is RunEnd.RAN and not run.honoured:
            return (f"the {run.variant} loader was asked for {run.method}, its workers "
                    f"started by {_joined(sorted(set(run.workers_started_by)))}")
    return None


def _condition(failed: Sequence[ScriptRun], not_needed: Sequence[str], default: str,
               python: str) -> str:
    """Where the guard is needed (``failed``: the unguarded runs that did not run), in
    words a person acts on."""
    needed = [run.method for run in failed]
    ends = sorted({run.end.value for run in failed})
    said = f"needed under {_joined(needed)}, where each worker re-imports the script " \
           f"(unguarded: {', '.join(ends)})"
    if not not_needed:
        return f"{said}: every start method this Python {python} offers"
    own = f", this Python's default ({python})" if default in not_needed else ""
    where = f"; this Python's default {default} needs it" if default in needed else ""
    return f"{said}; not needed under {_joined(not_needed)}{own}{where}"


def _evidence(runs: Sequence[ScriptRun], offered: Sequence[str], data: str,
              timing: dict[str, float]) -> dict[str, Any]:
    """Per start method how each variant ended, where the guard is needed, the default."""
    by_method = {m: {r.variant: (r.end.value if r.end is RunEnd.RAN
                                 else f"{r.end.value}: {r.reason}")
                     for r in runs if r.method == m} for m in offered}
    unguarded = {r.method: r for r in runs if not r.guarded}
    needed = [m for m in offered if m in unguarded and unguarded[m].end is not RunEnd.RAN]
    reported = {r.default_start_method for r in runs if r.default_start_method}
    pythons = {r.python for r in runs if r.python}
    return {"start_methods": list(offered),
            "default_start_method": reported.pop() if len(reported) == 1 else "unknown",
            "python": pythons.pop() if len(pythons) == 1 else "unknown",
            "by_method": by_method, "guard_needed_under": needed,
            "guard_not_needed_under": [m for m in offered if m in unguarded
                                       and m not in needed],
            "workers": WORKERS, "data_set": data, "runs": [r.to_json() for r in runs],
            "parallel_runs": PARALLEL, "time_limit_s": TIME_LIMIT_S, **timing}


def _joined(words: Sequence[str]) -> str:
    """``spawn``, ``spawn and forkserver``, ``fork, spawn and forkserver``."""
    words = list(words)
    if len(words) <= 1:
        return "".join(words) or "none"
    return f"{', '.join(words[:-1])} and {words[-1]}"


GUARD_SPACE = InputSpace(
    "the loader script in a fresh interpreter", workers=(WORKERS,),
    examples=2 * len(offered_start_methods()),
    facets=(("start methods", offered_start_methods()),
            ("scripts", ("guarded", "unguarded"))))
