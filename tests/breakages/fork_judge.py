"""Judge every CPU claim with one breakage applied, in a forked child of this process.

The self-test plants ~100 defects. A pytest subprocess per defect pays for an interpreter,
torch's import and pytest's collection each time (minutes in all on two cores); a fork
pays for none of them. A fork server imports torch and blitzbench once and forks; each
child applies its breakage, judges every CPU claim through claims/runner.py (the code
pytest's checks run) and sends the ids that did not pass through a pipe. One end-to-end
pytest run per route (tests/test_selftest.py) keeps the pytest route proven.

The ddp claim is judged in ranks forked from a fork server (a fresh interpreter), which a
patch in this process cannot reach:
it is left out here, as run_broken.py leaves it out of pytest's run. So is data.main_guard,
whose scripts run in fresh interpreters too (and cost ~18 s of CPU per judging: too much
to pay in each of ~100 children); its breakages go through ``pytest checks``.
"""

from __future__ import annotations

import multiprocessing
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from blitzbench.distributed import forked

#: Claims a fork cannot judge: their judge runs in processes of a fresh interpreter.
NOT_FORKABLE = frozenset({"ddp.replicas_identical", "data.main_guard"})
#: A child judging every CPU claim takes ~4 s on an idle 2-core machine, ~12 s loaded.
CHILD_TIMEOUT_S = 240
#: Children are forked from multiprocessing's fork server, a fresh interpreter that has
#: imported torch and blitzbench and run nothing: forking the pytest process itself would
#: copy an OpenMP thread pool that earlier tests started, and a child's first parallel op
#: then waits forever on threads that do not exist in it (GNU libgomp is not fork-safe).
CONTEXT = multiprocessing.get_context("forkserver")
# The process has one fork server, shared with the DDP claim's ranks (forked.py): add to
# its preload list, so whichever starts it first, both find their modules imported.
forked.preload(["blitzbench.claims", "blitzbench.claims.runner",
                "blitzbench.workloads.cifar", "breakages"])


@dataclass(frozen=True)
class Judged:
    """The claims a child judged, those that did not pass, and what it printed on a crash."""

    failed: frozenset[str]
    judged: frozenset[str]
    log: str = ""


def forkable_claim_ids() -> frozenset[str]:
    from blitzbench.claims import ALL_CLAIMS, Scope

    return frozenset(c.id for c in ALL_CLAIMS
                     if c.scope is Scope.EACH_DEVICE and c.id not in NOT_FORKABLE)


def _judge_here(name: str) -> dict[str, object]:
    """In the child: apply the breakage and judge every forkable claim on the CPU."""
    import torch

    from blitzbench.claims import ALL_CLAIMS
    from blitzbench.claims.runner import MatrixCell, evaluate
    from blitzbench.workloads.cifar import resolve_data_source
    from breakages import BY_NAME

    if name != "none":
        BY_NAME[name].apply()
    data, cpu, failed, judged = resolve_data_source(None), torch.device("cpu"), [], []
    for claim in ALL_CLAIMS:
        if claim.id in forkable_claim_ids():
            cell = MatrixCell(claim, "cpu", evaluate(claim, cpu, data))
            judged.append(claim.id)
            if not cell.passed:
                failed.append(claim.id)
    return {"failed": failed, "judged": judged}


def _child(name: str, conn: Connection) -> None:
    """In the child: judge, send the answer (or the crash) through the pipe."""
    # A child of the fork server inherits its start method, so DataLoader workers would
    # start from the server, without this child's breakage, and disagree with the
    # patched main process. Forked from here, as on a user's Linux machine, they carry it.
    multiprocessing.set_start_method("fork", force=True)
    import torch

    torch.set_num_threads(1)  # two children share two cores: no oversubscription
    try:
        payload = _judge_here(name)
    except BaseException:  # a crash is reported, and the claims count as not judged
        payload = {"failed": [], "judged": [], "log": traceback.format_exc()[-3000:]}
    conn.send(payload)
    conn.close()


def start(name: str) -> tuple[BaseProcess, Connection]:
    """Fork a child judging with breakage ``name`` from the fork server."""
    receiver, sender = CONTEXT.Pipe(duplex=False)
    # not a daemon: the data claims start DataLoader workers, which daemons may not have
    process = CONTEXT.Process(target=_child, args=(name, sender), daemon=False,
                              name=f"breakage-{name}")
    process.start()
    sender.close()
    return process, receiver


def collect(process: BaseProcess, receiver: Connection,
            timeout_s: float = CHILD_TIMEOUT_S) -> Judged:
    """Read a child's answer and reap it; a child past ``timeout_s`` is killed."""
    try:
        answer = receiver.recv() if receiver.poll(timeout_s) else {
            "failed": [], "judged": [], "log": f"killed after {timeout_s:.0f} s"}
    except EOFError:
        answer = {"failed": [], "judged": [], "log": f"died (exit {process.exitcode})"}
    receiver.close()
    if process.is_alive() and answer.get("log", "").startswith("killed"):
        process.kill()
    process.join(10)
    return Judged(frozenset(answer["failed"]), frozenset(answer["judged"]),
                  answer.get("log", ""))


def judge_with(names: list[str], parallel: int = 2) -> dict[str, Judged]:
    """Each breakage in its own child, ``parallel`` children at a time."""
    results: dict[str, Judged] = {}
    pending, running = list(names), []
    while pending or running:
        while pending and len(running) < parallel:
            name = pending.pop(0)
            running.append((name, *start(name)))
        name, process, receiver = running.pop(0)
        results[name] = collect(process, receiver)
    return results
