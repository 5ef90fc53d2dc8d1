"""Run a tutorial's blocks in order, in one namespace, with a time limit per block, on one
device; shim a failing block and roll the namespace back before running it again.

Design: one long-lived worker process (:mod:`~blitzbench.tutorial.worker`) per tutorial
and device holds the namespace; the parent (:mod:`~blitzbench.tutorial.process`) sends it
one block at a time and kills its process group when a block runs past the limit or the
worker dies; the blocks after such a block are NOT RUN. Each run gets a fresh temporary
working folder (also its HOME and TMPDIR), never the user's, deleted afterwards.

Rolling back: a block that fails may have changed the namespace before it raised, so a
shimmed retry starts a fresh worker and replays the blocks that succeeded (as they ran,
with their shims, output discarded), then runs the shimmed block. Replaying costs the
earlier blocks' time again, but works on CUDA, where forking a snapshot of the process
cannot. A replay that fails (an earlier block's randomness changed its path) is reported
as the block's failure, naming the replay.

The device: the CPU run hides every GPU from the tutorial (CUDA_VISIBLE_DEVICES empty, so
its ``torch.cuda.is_available()`` branches are skipped); a ``cuda:i`` run shows it exactly
that GPU, as ``cuda:0``. Tutorial code chooses where its tensors live, as a learner's does.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blitzbench.tutorial.process import BlockTimedOut, WorkerDied, WorkerProcess
from blitzbench.tutorial.shims import Shim, applicable_shim
from blitzbench.tutorial.sources import Block

__all__ = ["Attempt", "DataPlan", "run_blocks"]

VISIBLE_DEVICES = "CUDA_VISIBLE_DEVICES"


@dataclass(frozen=True)
class DataPlan:
    """Where the data shim points CIFAR-10: ``kind`` synthetic or real, and its root."""

    kind: str
    root: str


@dataclass(frozen=True)
class Attempt:
    """How one block ended: the worker's reply (None when the worker timed out or died),
    the shims it ran with, the fatal reason, and its seconds."""

    reply: dict[str, Any] | None
    shims: tuple[str, ...] = ()
    fatal: str = ""  # "timeout" or "crash": the worker is gone
    fatal_detail: str = ""
    seconds: float = 0.0  # the try that counted
    spent_seconds: float = 0.0  # all tries, rollbacks and replays


def device_env(device: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """CUDA_VISIBLE_DEVICES for a run: empty for the CPU, the i-th visible GPU for cuda:i."""
    env = dict(os.environ if base is None else base)
    if device == "cpu":
        env[VISIBLE_DEVICES] = ""
        return env
    index = int(device.partition(":")[2] or 0)
    visible = [v for v in env.get(VISIBLE_DEVICES, "").split(",") if v.strip()]
    env[VISIBLE_DEVICES] = visible[index] if index < len(visible) else str(index)
    return env


def _worker_env(device: str, workdir: Path) -> dict[str, str]:
    import blitzbench

    env = device_env(device)
    (workdir / "tmp").mkdir()
    package_root = str(Path(blitzbench.__file__).resolve().parents[1])
    env.update(MPLBACKEND="Agg", MPLCONFIGDIR=str(workdir / "tmp"), HOME=str(workdir),
               TMPDIR=str(workdir / "tmp"), PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=os.pathsep.join(filter(None, [package_root,
                                                         env.get("PYTHONPATH")])))
    return env


@dataclass
class _Session:
    """The worker of one run, and the blocks that ran, to replay after a rollback."""

    workdir: Path
    env: dict[str, str]
    timeout_s: float
    data: DataPlan
    history: list[dict[str, Any]] = field(default_factory=list)
    worker: WorkerProcess | None = None

    def send(self, message: dict[str, Any]) -> dict[str, Any]:
        if self.worker is None:
            self.worker = WorkerProcess(self.workdir, self.env)
        return self.worker.send(message, self.timeout_s)

    def rollback(self) -> str:
        """A fresh worker with the namespace the succeeded blocks leave; "" or a problem."""
        self.close()
        for message in self.history:
            reply = self.send(message)
            if not reply["ok"]:
                return f"replaying {message['name'].strip('<>')} failed: {reply['error']}"
        return ""

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.worker = None


def _message(block: Block) -> dict[str, Any]:
    return {"code": block.code, "name": f"<tutorial block {block.index}>",
            "display_last": block.display_last, "preludes": []}


def _shimmed(message: dict[str, Any], shim: Shim, data: DataPlan) -> dict[str, Any]:
    if shim.prelude:
        _ensure_data(data)
        prelude = shim.prelude.format(kind=data.kind, root=data.root)
        return {**message, "preludes": [*message["preludes"], prelude]}
    return {**message, "code": shim.rewrite(message["code"])}


def _ensure_data(data: DataPlan) -> None:
    """Write the synthetic set now (once, into the cache), so the worker only reads it."""
    if data.kind == "synthetic":
        from blitzbench.workloads.cifar import DataSource

        DataSource("synthetic", Path(data.root)).dataset(train=False)


def _attempt(session: _Session, block: Block) -> Attempt:
    """Run the block as written; while it fails with an error a shim is for, roll the
    namespace back and run it with that shim too."""
    message, used, started = _message(block), (), time.perf_counter()
    reply = session.send(message)
    while not reply["ok"] and reply["kind"] == "error":
        shim = applicable_shim(message["code"], reply["error"], used)
        if shim is None:
            break
        message, used = _shimmed(message, shim, session.data), (*used, shim.name)
        problem = session.rollback()
        if problem:
            return Attempt({"ok": False, "kind": "error", "error": problem, "stdout": ""},
                           used, spent_seconds=time.perf_counter() - started)
        reply = session.send(message)
    if reply["ok"]:
        session.history.append(message)
    return Attempt(reply, used, seconds=reply.get("seconds", 0.0),
                   spent_seconds=time.perf_counter() - started)


def run_blocks(blocks: tuple[Block, ...], device: str, data: DataPlan,
               timeout_s: float) -> Iterator[tuple[Block, Attempt | None]]:
    """Each block with how it ended, in order; None for a block not run because an
    earlier one failed. The worker is killed however the caller stops iterating."""
    with tempfile.TemporaryDirectory(prefix="blitzbench-tutorial-",
                                     ignore_cleanup_errors=True) as folder:
        workdir = Path(folder).resolve()
        session = _Session(workdir, _worker_env(device, workdir), timeout_s, data)
        stopped = False
        try:
            for block in blocks:
                attempt = None if stopped else _guarded_attempt(session, block)
                stopped = stopped or attempt is None or attempt.fatal or \
                    not attempt.reply["ok"]
                yield block, attempt
        finally:
            session.close()


def _guarded_attempt(session: _Session, block: Block) -> Attempt:
    started = time.perf_counter()
    try:
        return _attempt(session, block)
    except BlockTimedOut as exc:
        spent = time.perf_counter() - started
        return Attempt(None, fatal="timeout", fatal_detail=str(exc), seconds=spent,
                       spent_seconds=spent)
    except WorkerDied as exc:
        session.close()
        spent = time.perf_counter() - started
        return Attempt(None, fatal="crash", fatal_detail=str(exc), seconds=spent,
                       spent_seconds=spent)
