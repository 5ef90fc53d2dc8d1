"""Judge every CPU claim with one breakage applied, in a forked child of this process.

The self-test plants ~100 defects. A pytest subprocess per defect pays for an interpreter,
torch's import and pytest's collection each time (minutes in all on two cores); a fork
pays for none of them. The parent imports torch and blitzbench once and forks; each child
applies its breakage, judges every CPU claim through claims/runner.py (the code pytest's
checks run) and writes the ids that did not pass into a pipe, then exits without running
any cleanup of the parent's. One end-to-end pytest run per path (tests/test_selftest.py)
keeps the pytest route proven.

The ddp claim is judged in torchrun's ranks, which a patch in this process cannot reach:
it is left out here, as run_broken.py leaves it out of pytest's run.
"""

from __future__ import annotations

import json
import os
import select
import signal
import time
import traceback
from dataclasses import dataclass

#: Claims a fork cannot judge: their judge runs in processes started afresh (torchrun).
NOT_FORKABLE = frozenset({"ddp.replicas_identical"})
#: A child judging every CPU claim takes ~10 s on a loaded 2-core machine.
CHILD_TIMEOUT_S = 240


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


def start(name: str) -> tuple[int, int]:
    """Fork a child judging with breakage ``name``; returns (pid, read end of its pipe)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into the parent's code (pytest, the loop)
        os.close(read_end)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        try:
            payload = _judge_here(name)
        except BaseException:  # a crash is reported, and the claims count as not judged
            payload = {"failed": [], "judged": [], "log": traceback.format_exc()[-3000:]}
        os.write(write_end, json.dumps(payload).encode())
        os.close(write_end)
        os._exit(0)
    os.close(write_end)
    return pid, read_end


def collect(pid: int, read_end: int, timeout_s: float = CHILD_TIMEOUT_S) -> Judged:
    """Read a child's answer and reap it; a child past ``timeout_s`` is killed."""
    chunks, deadline = [], time.monotonic() + timeout_s
    while True:
        ready, _, _ = select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            os.kill(pid, signal.SIGKILL)
            chunks = [json.dumps({"failed": [], "judged": [],
                                  "log": f"killed after {timeout_s:.0f} s"}).encode()]
            break
        chunk = os.read(read_end, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    answer = json.loads(b"".join(chunks) or b'{"failed": [], "judged": [], "log": "no answer"}')
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
        name, pid, read_end = running.pop(0)
        results[name] = collect(pid, read_end)
    return results
