"""The parent's handle on one worker process: start it, send a block, wait for the answer
within a time limit, and kill it (with everything it started) on a timeout, a death or
Ctrl-C, so nothing is orphaned.

The worker runs in its own session and process group (``start_new_session``), so the
group, DataLoader workers included, is killed with one ``killpg``; a terminal's Ctrl-C
reaches only the parent, which then kills the group on its way out.

Killing is not the end: a killed process with a large heap takes a moment to tear down,
and once its parent is gone it is init's child, not ours. A DataLoader worker of the
tutorial's code, killed with the group, was seen tearing down for a second after the
worker exited, using 0.44 of the VM's 2 cores, where ``accept``'s next step judged it a
busy neighbour (2026-12-06). So :meth:`WorkerProcess.close` waits, up to
:data:`TEARDOWN_WAIT_S`, until every process of the group has ended.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["BlockTimedOut", "WorkerDied", "WorkerProcess"]

STARTUP_TIMEOUT_S = 60.0  # the worker imports only the standard library before "ready"
DEATH_WAIT_S = 5.0  # a process whose pipe closed has exited or is about to
#: The longest wait for a killed group's processes to finish ending (module docstring).
TEARDOWN_WAIT_S = 5.0
READ_CHUNK = 1 << 16


class BlockTimedOut(Exception):
    """The worker did not answer within the time limit (it has been killed)."""


class WorkerDied(Exception):
    """The worker's answer pipe closed: the process ended (the message says how)."""


class WorkerProcess:
    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        command_read, self._command_write = os.pipe()
        self._reply_read, reply_write = os.pipe()
        self._log = open(workdir / ".worker.log", "ab")  # noqa: SIM115 (closed in close())
        self._process = subprocess.Popen(
            [sys.executable, "-m", "blitzbench.tutorial.worker", str(command_read),
             str(reply_write)], pass_fds=(command_read, reply_write),
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log, cwd=workdir,
            env=env, start_new_session=True)
        os.close(command_read)
        os.close(reply_write)
        self._buffer = b""
        self._closed = False
        try:
            self.read_reply(STARTUP_TIMEOUT_S)
        except (BlockTimedOut, WorkerDied):
            log = (workdir / ".worker.log").read_text(errors="replace").strip()
            last = log.splitlines()[-1] if log else "no message"
            raise WorkerDied(f"crashed: the worker process did not start ({last})") from None

    def send(self, message: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Run one block; its reply, or BlockTimedOut / WorkerDied (worker then killed)."""
        try:
            os.write(self._command_write, (json.dumps(message) + "\n").encode("utf-8"))
        except BrokenPipeError:
            raise WorkerDied(self._death()) from None
        return self.read_reply(timeout_s)

    def read_reply(self, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close()
                raise BlockTimedOut(f"timed out after {timeout_s:g} s (the time limit; "
                                    f"the worker was killed)")
            ready, _, _ = select.select([self._reply_read], [], [], remaining)
            if ready:
                chunk = os.read(self._reply_read, READ_CHUNK)
                if not chunk:
                    raise WorkerDied(self._death())
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def _death(self) -> str:
        try:
            code = self._process.wait(DEATH_WAIT_S)
        except subprocess.TimeoutExpired:
            code = None
        self.close()
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else "?"
            return f"crashed: its process was killed by signal {-code} ({name})"
        return f"crashed: its process exited with status {code} in the middle of the block"

    def close(self) -> None:
        """Kill the worker's whole process group and release the pipes (idempotent)."""
        if self._closed:
            return
        self._closed = True
        group = _group_members(self._process.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait()
        _wait_gone(group, TEARDOWN_WAIT_S)
        for fd in (self._command_write, self._reply_read):
            os.close(fd)
        self._log.close()


def _group_members(pgid: int) -> list[Any]:
    """The processes of group ``pgid`` other than its leader (psutil handles)."""
    import psutil

    members = []
    for process in psutil.process_iter(["pid"]):
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if process.pid != pgid and os.getpgid(process.pid) == pgid:
                members.append(process)
    return members


def _wait_gone(processes: list[Any], timeout_s: float) -> None:
    """Until each of ``processes`` has ended (a zombie has: it uses no CPU), or
    ``timeout_s``."""
    import psutil

    deadline = time.monotonic() + timeout_s
    left = list(processes)
    while left and time.monotonic() < deadline:
        alive = []
        for process in left:
            with contextlib.suppress(psutil.Error):
                if process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
        left = alive
        if left:
            time.sleep(0.02)
