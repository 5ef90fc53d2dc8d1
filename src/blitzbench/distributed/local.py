"""A small world on this machine, started by torchrun itself (never a home-made launcher).

Tests and ``pytest benchmarks -k collectives`` need a job of two ranks: :func:`run_local`
runs ``python -m torch.distributed.run --standalone --nproc-per-node=N -m
blitzbench.distributed.entry TARGET OUTDIR`` (``--standalone`` rendezvous on a free
localhost port), gloo on the loopback interface. Every rank calls ``TARGET(world)`` (a
``module:function``) and writes what it returns as JSON to ``OUTDIR/rank-<r>.json``; the
caller reads them back in rank order. A job that outlives ``timeout_s`` is killed with
its whole process group, so no rank is left behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LOCAL_ENV", "LocalRun", "rank_file", "read_rank_result", "run_local"]

#: gloo picks its interface from the host name, which may not resolve to loopback.
LOCAL_ENV = {"GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}


@dataclass(frozen=True)
class LocalRun:
    """What a local job left: the exit code, each rank's result (None where it wrote
    none) and torchrun's output."""

    returncode: int
    results: tuple[Any, ...]
    output: str


def rank_file(outdir: Path, rank: int) -> Path:
    return Path(outdir) / f"rank-{rank}.json"


def run_local(target: str, nproc: int = 2, *, timeout_s: float = 120.0,
              args: tuple[str, ...] = (), env: dict[str, str] | None = None) -> LocalRun:
    """Run ``target`` (``module:function``) on ``nproc`` local ranks through torchrun."""
    with tempfile.TemporaryDirectory(prefix="blitzbench-world-") as outdir:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   f"--nproc-per-node={nproc}", "-m", "blitzbench.distributed.entry",
                   target, outdir, *args]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, start_new_session=True,
                                   env={**os.environ, **LOCAL_ENV, **(env or {})})
        try:
            output, _ = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            output += f"\nblitzbench: local world killed after {timeout_s:.0f} s"
        results = tuple(read_rank_result(Path(outdir), r) for r in range(nproc))
        return LocalRun(process.returncode, results, output)


def read_rank_result(outdir: Path, rank: int) -> Any:
    """What ``rank`` returned (None where it wrote nothing: it failed or was killed)."""
    path = rank_file(outdir, rank)
    return json.loads(path.read_text()) if path.exists() else None
