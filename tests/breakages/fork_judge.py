"""Judge CPU claims with breakages applied, in forked children of a fork server.

The self-test plants ~100 defects. A pytest subprocess per defect pays for an interpreter,
torch's import and pytest's collection each time (minutes in all on two cores); a fork
pays for none of them. A fork server imports torch and blitzbench once and forks; each
child applies a job's breakages, judges the job's claims through claims/runner.py (the
code pytest's checks run) and sends back the ids that did not pass, and which attributes
of torch, numpy, torchvision and blitzbench (and which environment variables) the
breakages replaced: tests/breakages/grouping.py reads those to decide which breakages may
share a child without one patch undoing another's.

The ddp claim is judged in ranks forked from a fork server (a fresh interpreter), which a
patch in this process cannot reach: it is left out here, as run_broken.py leaves it out of
pytest's run. So is data.main_guard, whose scripts run in fresh interpreters too (and cost
~18 s of CPU per judging: too much to pay in each of ~100 children); its breakages go
through ``pytest checks``.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from blitzbench.distributed import forked

__all__ = ["CONTEXT", "NOT_FORKABLE", "Job", "Judged", "forkable_claim_ids", "judge_jobs",
           "patch_points", "replaced"]

#: Claims a fork cannot judge: their judge runs in processes of a fresh interpreter.
NOT_FORKABLE = frozenset({"ddp.replicas_identical", "data.main_guard"})
#: A child judging every CPU claim takes ~4 s on an idle 2-core machine, ~12 s loaded.
CHILD_TIMEOUT_S = 240
#: Where the breakages patch: attributes of these packages' modules and of the classes
#: they define (the patch points a breakage can replace; 138,000 of them, 0.08 s to read,
#: measured here 2026-12-06).
PATCHED_PACKAGES = ("torch", "numpy", "torchvision", "blitzbench", "PIL")
#: Children are forked from multiprocessing's fork server, a fresh interpreter that has
#: imported torch and blitzbench and run nothing: forking the pytest process itself would
#: copy an OpenMP thread pool that earlier tests started, and a child's first parallel op
#: then waits forever on threads that do not exist in it (GNU libgomp is not fork-safe).
CONTEXT = multiprocessing.get_context("forkserver")
# The process has one fork server, shared with the DDP claim's ranks (forked.py): add to
# its preload list, so whichever starts it first, both find their modules imported.
forked.preload(["blitzbench.claims", "blitzbench.claims.runner",
                "blitzbench.workloads.cifar", "breakages", "breakages.patch_baseline"])


@dataclass(frozen=True)
class Job:
    """One child's work: apply ``breakages`` (in order), then judge ``claims``."""

    key: str
    breakages: tuple[str, ...]
    claims: frozenset[str]
    #: Read what the breakages replaced (~140,000 attributes, ~0.13 s).
    reads_patches: bool = False


@dataclass(frozen=True)
class Judged:
    """The claims a child judged, those that did not pass, the patch points its breakages
    replaced, and what it printed on a crash."""

    failed: frozenset[str]
    judged: frozenset[str]
    log: str = ""
    patched: frozenset[str] = frozenset()
    #: The child's own time, from its start to its answer.
    seconds: float = 0.0


def forkable_claim_ids() -> frozenset[str]:
    from blitzbench.claims import ALL_CLAIMS, Scope

    return frozenset(c.id for c in ALL_CLAIMS
                     if c.scope is Scope.EACH_DEVICE and c.id not in NOT_FORKABLE)


def patch_points() -> dict[str, dict[str, int]]:
    """Every attribute a breakage could replace or add, by owner: the modules of
    PATCHED_PACKAGES, every class they hold (once, by its own qualified name) and the
    environment; each attribute with the identity of its value. Two readings differ where
    something was replaced or added."""
    owners = {"os.environ": {key: hash(value) for key, value in os.environ.items()}}
    classes: dict[int, type] = {}
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(PATCHED_PACKAGES):
            continue
        members = dict(getattr(module, "__dict__", {}))
        owners[name] = {attr: id(value) for attr, value in members.items()}
        # type(v), not isinstance: no attribute of v is read (torch's deprecated
        # ``reduce_op`` warns when its ``__class__`` is)
        classes.update((id(v), v) for v in members.values() if issubclass(type(v), type))
    for cls in classes.values():
        owner = f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', '?')}"
        owners[owner] = {attr: id(value) for attr, value in dict(cls.__dict__).items()}
    return owners


def replaced(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]) -> list[str]:
    """``owner:attribute`` of each attribute replaced or added between two readings (an
    owner first seen in ``after``, a module imported meanwhile, counts as new, not
    patched)."""
    return sorted(f"{owner}:{attr}" for owner, members in after.items() if owner in before
                  for attr, value in members.items() if before[owner].get(attr) != value)


def _judge_here(job: Job) -> dict[str, object]:
    """In the child: apply the job's breakages, note what they replaced, judge its claims."""
    import torch

    from blitzbench.claims import ALL_CLAIMS
    from blitzbench.claims.runner import MatrixCell, evaluate
    from blitzbench.workloads.cifar import resolve_data_source
    from breakages import BY_NAME
    from breakages.patch_baseline import BEFORE

    for name in job.breakages:
        BY_NAME[name].apply()
    patched = replaced(BEFORE, patch_points()) if job.reads_patches else []
    data, cpu, failed, judged = resolve_data_source(None), torch.device("cpu"), [], []
    for claim in ALL_CLAIMS:
        if claim.id in job.claims:
            cell = MatrixCell(claim, "cpu", evaluate(claim, cpu, data))
            judged.append(claim.id)
            if not cell.passed:
                failed.append(claim.id)
    return {"failed": failed, "judged": judged, "patched": patched}


def _child(job: Job, conn: Connection) -> None:
    """In the child: judge, send the answer (or the crash) through the pipe."""
    # A child of the fork server inherits its start method, so DataLoader workers would
    # start from the server, without this child's breakage, and disagree with the
    # patched main process. Forked from here, as on a user's Linux machine, they carry it.
    started = time.perf_counter()
    multiprocessing.set_start_method("fork", force=True)
    import torch

    torch.set_num_threads(1)  # two children share two cores: no oversubscription
    try:
        payload = _judge_here(job)
    except BaseException:  # a crash is reported, and the claims count as not judged
        payload = {"failed": [], "judged": [], "log": traceback.format_exc()[-3000:]}
    conn.send({**payload, "seconds": time.perf_counter() - started})
    conn.close()


def start(job: Job) -> tuple[BaseProcess, Connection]:
    """Fork a child doing ``job`` from the fork server."""
    receiver, sender = CONTEXT.Pipe(duplex=False)
    # not a daemon: the data claims start DataLoader workers, which daemons may not have
    process = CONTEXT.Process(target=_child, args=(job, sender), daemon=False,
                              name=f"breakage-{job.key}")
    process.start()
    sender.close()
    return process, receiver


def collect(process: BaseProcess, receiver: Connection) -> Judged:
    """Read the answer of a child that answered, died or ran past CHILD_TIMEOUT_S (then
    it is killed), and reap it."""
    try:
        answer = receiver.recv() if receiver.poll(0) else {
            "failed": [], "judged": [], "log": f"killed after {CHILD_TIMEOUT_S} s"}
    except EOFError:
        process.join(10)
        answer = {"failed": [], "judged": [], "log": f"died (exit {process.exitcode})"}
    receiver.close()
    if process.is_alive() and answer.get("log", "").startswith("killed"):
        process.kill()
    process.join(10)
    return Judged(frozenset(answer["failed"]), frozenset(answer["judged"]),
                  answer.get("log", ""), frozenset(answer.get("patched", ())),
                  answer.get("seconds", 0.0))


def judge_jobs(jobs: Iterable[Job], parallel: int = 2) -> dict[str, Judged]:
    """Each job in its own child, ``parallel`` children at a time (the next starts as soon
    as any one answers), by job key."""
    results: dict[str, Judged] = {}
    pending, running = list(jobs), {}
    while pending or running:
        while pending and len(running) < parallel:
            job = pending.pop(0)
            process, receiver = start(job)
            running[receiver] = (job.key, process, time.monotonic() + CHILD_TIMEOUT_S)
        soonest = min(deadline for _, _, deadline in running.values())
        ready = wait(list(running), timeout=max(0.0, soonest - time.monotonic()))
        for receiver in ready or [r for r, (*_, d) in running.items() if d == soonest]:
            key, process, _ = running.pop(receiver)
            results[key] = collect(process, receiver)
    return results
