"""A local world whose ranks are forked from a warm fork server instead of started by torchrun.

Why: the ddp claim needs a two-rank world every time ``pytest checks`` runs. Through torchrun
(:func:`~blitzbench.distributed.local.run_local`) one interpreter for torchrun and one per
rank each import torch and torchvision: ~8 of the claim's 10 s on two cores, more than the
other 29 claims together. multiprocessing's fork server imports them once, in the background
from the moment :func:`warm` is called (while other claims are judged), and forks each rank
from that state in milliseconds.

Why a fork server and not a plain fork of the caller: the caller has run torch code, and
forking it would copy an OpenMP thread pool whose threads do not exist in the child (GNU
libgomp is not fork-safe: a child's first parallel op can wait forever). The server is a
fresh interpreter that has imported its modules and run nothing else.

The contract is run_local's: each rank sees the variables torchrun exports (``RANK``,
``LOCAL_RANK``, ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``/``MASTER_PORT`` on a
free loopback port, as ``torchrun --standalone`` picks one), runs
:func:`blitzbench.distributed.entry.main`, and writes its result to ``OUTDIR/rank-<r>.json``;
the caller gets a :class:`~blitzbench.distributed.local.LocalRun`. As under torchrun, a rank
that fails stops the others, a job past ``timeout_s`` is killed, and Ctrl-C in the caller
kills every rank: no rank outlives the call.

Only for CPU worlds (gloo): a rank that takes a GPU should start from an interpreter that
has touched nothing of CUDA, which torchrun guarantees and a server's imports need not.
The environment a rank sees is the caller's at the time of the call, but anything applied
at interpreter start (``sitecustomize``) is the caller's at the time the server started.
As with any forkserver or spawn start, each rank imports the caller's main script again:
a script that judges claims must keep its top level under ``if __name__ == "__main__":``
(``blitzbench``, ``python -m blitzbench`` and pytest do).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from pathlib import Path

from blitzbench.distributed.local import LOCAL_ENV, LocalRun, read_rank_result

__all__ = ["PRELOAD", "preload", "run_forked", "warm"]

CONTEXT = multiprocessing.get_context("forkserver")
#: What the server imports before it forks a rank: what every rank's entry needs.
PRELOAD = ("torch", "torchvision", "blitzbench.distributed.entry")
#: torchrun's ``--standalone`` rendezvous host: the loopback interface only.
MASTER_ADDR = "127.0.0.1"
#: How long a rank that is told to stop (SIGKILL) may take to be reaped.
REAP_TIMEOUT_S = 10.0


#: Every module asked for so far, in order: multiprocessing keeps one fork server and one
#: preload list per process, so each request adds to the list instead of replacing it.
_REQUESTED: list[str] = list(PRELOAD)


def preload(modules: Sequence[str]) -> None:
    """Have the fork server import ``modules`` too, if it has not started yet (once it
    runs, its imports are fixed: a child imports what is missing itself)."""
    _REQUESTED.extend(m for m in modules if m not in _REQUESTED)
    CONTEXT.set_forkserver_preload(list(_REQUESTED))


def warm(modules: Sequence[str] = ()) -> None:
    """Start the fork server now (a no-op when it runs): it imports :data:`PRELOAD`, every
    module :func:`preload` was given and ``modules`` in the background, so the first world
    does not wait for torch's import."""
    preload(modules)
    multiprocessing.forkserver.ensure_running()


def run_forked(target: str, nproc: int = 2, *, timeout_s: float = 120.0,
               args: tuple[str, ...] = (), env: dict[str, str] | None = None) -> LocalRun:
    """Run ``target`` (``module:function``) on ``nproc`` ranks forked from the fork server."""
    warm((target.partition(":")[0],))
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="blitzbench-world-") as outdir:
        ranks = [CONTEXT.Process(target=_rank_main, name=f"blitzbench-rank-{rank}",
                                 args=(target, outdir, args,
                                       _rank_env(rank, nproc, port, env),
                                       str(_log_file(Path(outdir), rank))))
                 for rank in range(nproc)]
        try:
            for process in ranks:
                process.start()
            note = _wait(ranks, timeout_s)
        finally:
            _stop(ranks)
        output = _rank_output(Path(outdir), nproc) + (f"\nblitzbench: {note}" if note else "")
        results = tuple(read_rank_result(Path(outdir), r) for r in range(nproc))
        return LocalRun(_returncode(ranks), results, output)


def _rank_env(rank: int, nproc: int, port: int, env: dict[str, str] | None) -> dict[str, str]:
    """What torchrun would export to this rank, over the caller's environment."""
    return {**os.environ, **LOCAL_ENV, **(env or {}),
            "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(nproc),
            "LOCAL_WORLD_SIZE": str(nproc), "GROUP_RANK": "0",
            "MASTER_ADDR": MASTER_ADDR, "MASTER_PORT": str(port)}


def _rank_main(target: str, outdir: str, args: tuple[str, ...], environ: dict[str, str],
               log: str) -> None:
    """In the forked rank: take the job's environment and output file, then run the entry.

    The server imported torch before ``OMP_NUM_THREADS`` was the job's, so the thread count
    is set again here (one thread per rank: the ranks are the parallelism).
    """
    os.environ.clear()
    os.environ.update(environ)
    descriptor = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.close(descriptor)
    import torch

    from blitzbench.distributed import entry

    if environ.get("OMP_NUM_THREADS", "").isdigit():
        torch.set_num_threads(int(environ["OMP_NUM_THREADS"]))
    sys.exit(entry.main([target, outdir, *args]))


def _wait(ranks: list[BaseProcess], timeout_s: float) -> str:
    """Wait until every rank has ended, one has failed, or the time is up; say which.

    The ranks still running are listed once per turn and that same list is waited on: a
    second ``is_alive()`` could see a rank end in between, and ``wait`` on no sentinel at
    all sleeps its whole timeout (seen: jobs of 0.3 s held to the deadline, 1 in ~10).
    """
    deadline = time.monotonic() + timeout_s
    while running := [p for p in ranks if p.is_alive()]:
        failed = [p for p in ranks if p.exitcode not in (None, 0)]
        if failed:
            return (f"{failed[0].name} exited with code {failed[0].exitcode}: the other "
                    f"ranks were stopped")
        left = deadline - time.monotonic()
        if left <= 0:
            return f"local world killed after {timeout_s:.0f} s"
        wait([p.sentinel for p in running], timeout=left)
    return ""


def _stop(ranks: list[BaseProcess]) -> None:
    """Kill every rank still running and reap them all (also on Ctrl-C in the caller)."""
    for process in ranks:
        if process.pid is not None and process.is_alive():
            process.kill()
    for process in ranks:
        if process.pid is not None:
            process.join(REAP_TIMEOUT_S)


def _returncode(ranks: list[BaseProcess]) -> int:
    """0 when every rank exited 0, else the first other code (negative: killed by signal;
    a rank that never started counts as 1)."""
    codes = [1 if p.exitcode is None else p.exitcode for p in ranks]
    return next((code for code in codes if code != 0), 0)


def _free_port() -> int:
    """A port free on the loopback interface now (the same race ``torchrun --standalone``
    accepts: another program could take it before rank 0 binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((MASTER_ADDR, 0))
        return probe.getsockname()[1]


def _log_file(outdir: Path, rank: int) -> Path:
    return outdir / f"rank-{rank}.log"


def _rank_output(outdir: Path, nproc: int) -> str:
    """Every rank's output, each line prefixed with its rank as torchrun's ``--tee`` does."""
    lines = []
    for rank in range(nproc):
        path = _log_file(outdir, rank)
        if path.exists():
            text = path.read_text(errors="replace")
            lines += [f"[rank{rank}]: {line}" for line in text.splitlines()]
    return "\n".join(lines)

