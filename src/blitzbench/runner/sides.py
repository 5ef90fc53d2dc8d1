"""The two sides of an A/B run: what the user named, and the worker process of each.

A side is written as a shell would: environment assignments, then an interpreter and its
arguments (``"PYTHONPATH=patches .tox/torch213/bin/python"``, ``"python3 -X dev"``). Each
side gets one long-lived worker (runner/ab_worker.py) in its own process group, spoken to
one JSON line at a time with a deadline: a worker that hangs is killed with its group (and
its DataLoader workers), one that dies is named with the last line it wrote to stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blitzbench.errors import UsageError

__all__ = ["SideError", "SideSpec", "Worker", "parse_side"]

#: The worker's entry, as ``-c`` code rather than ``-m``: runpy would run a second copy of
#: the module as __main__ (a patch applied to the importable one, e.g. a planted fault in a
#: sitecustomize, would not take effect there).
WORKER_CODE = "from blitzbench.runner.ab_worker import main; main()"
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
#: How long a worker may take to answer ``hello`` (an interpreter importing torch and
#: building the catalog: 3-8 s on the 2-core VM, far more under load) and any other
#: request (a DataLoader case's build and warm-up: seconds).
HELLO_TIMEOUT_S = 180.0
REQUEST_TIMEOUT_S = 300.0
STDERR_TAIL_CHARS = 400
INTERPRETER_HINT = ("a side is a Python interpreter with blitzbench and torch installed "
                    "(pip install -e . in its environment)")


class SideError(Exception):
    """A side's worker died, hung or refused: the message names the side and why."""


@dataclass(frozen=True)
class SideSpec:
    """One side as the user wrote it: ``env`` assignments in front of ``command``."""

    name: str
    command: tuple[str, ...]
    env: Mapping[str, str]

    @property
    def text(self) -> str:
        return " ".join([*(f"{k}={shlex.quote(v)}" for k, v in self.env.items()),
                         *map(shlex.quote, self.command)])


def parse_side(name: str, text: str) -> SideSpec:
    """``NAME=value ... interpreter [args]``; the interpreter must exist and run."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"side {name} {text!r} cannot be read as a command ({exc}): "
                         f"quote it as a shell would") from None
    env: dict[str, str] = {}
    while words and ASSIGNMENT.match(words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    if not words:
        raise UsageError(f"side {name} {text!r} names no interpreter: write e.g. "
                         f"'PYTHONPATH=patches .venv/bin/python'")
    found = shutil.which(words[0])
    if found is None:
        raise UsageError(f"side {name}: {words[0]!r} is not an executable: give the path "
                         f"of a Python interpreter that can import blitzbench")
    return SideSpec(name, (str(Path(found).absolute()) if os.sep in words[0] else words[0],
                           *words[1:]), env)


class Worker:
    """A side's worker process: start it, ask it, stop it (with its whole group)."""

    def __init__(self, side: SideSpec) -> None:
        self.side = side
        # the worker's stderr, read back for the reason it died; open as long as it lives
        self.log = tempfile.TemporaryFile(mode="w+", prefix="blitzbench-ab-")  # noqa: SIM115
        self.process = subprocess.Popen(
            [*side.command, "-c", WORKER_CODE], env={**os.environ, **side.env},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
            bufsize=1, start_new_session=True)

    def ask(self, request: Mapping[str, Any], timeout_s: float | None = None
            ) -> dict[str, Any]:
        """Send one request; its answer, or SideError when the worker died or hung."""
        self.send(request)
        return self.receive(str(request["op"]), timeout_s)

    def send(self, request: Mapping[str, Any]) -> None:
        """Write one request. A worker already gone is not an error here: what it wrote
        before it went, or its end, is what :meth:`receive` reports."""
        assert self.process.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError):
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()

    def receive(self, op: str, timeout_s: float | None = None) -> dict[str, Any]:
        """The answer to the request sent last (two workers can be asked at once), within
        ``timeout_s`` (default REQUEST_TIMEOUT_S)."""
        assert self.process.stdout is not None
        timeout_s = REQUEST_TIMEOUT_S if timeout_s is None else timeout_s
        ready, _, _ = select.select([self.process.stdout], [], [], timeout_s)
        if not ready:
            self.kill()
            raise SideError(f"side {self.side.name} gave no answer to {op} in "
                            f"{timeout_s:.0f} s: its worker was killed")
        line = self.process.stdout.readline()
        if not line:
            raise self._died()
        try:
            answer = json.loads(line)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            self.kill()
            raise SideError(f"side {self.side.name} answered {line.strip()[:80]!r}, not "
                            f"blitzbench's worker protocol: {INTERPRETER_HINT}")
        return answer

    def _died(self) -> SideError:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        code = self.process.returncode
        how = f"exit code {code}" if code is None or code >= 0 else \
            f"signal {signal.Signals(-code).name}"
        tail = self.stderr_tail()
        hint = f" ({INTERPRETER_HINT})" if "No module named" in tail or code == 0 else ""
        return SideError(f"side {self.side.name}'s worker ended ({how}): {tail}{hint}")

    def stderr_tail(self) -> str:
        """The last line the worker wrote to stderr (the reason it failed, usually)."""
        self.log.flush()
        self.log.seek(0)
        lines = [line.strip() for line in self.log.read().splitlines() if line.strip()]
        return (lines[-1] if lines else "no message")[:STDERR_TAIL_CHARS]

    def stop(self, grace_s: float = 5.0) -> None:
        """Ask the worker to quit; kill its group if it does not within ``grace_s``."""
        if self.process.poll() is None:
            with contextlib.suppress(BrokenPipeError, OSError, ValueError):
                assert self.process.stdin is not None
                self.process.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.process.stdin.close()
            deadline = time.monotonic() + grace_s
            while self.process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
        self.kill()

    def kill(self) -> None:
        """SIGKILL the worker's process group (its DataLoader workers too) and reap it."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(Exception):
                stream.close()  # type: ignore[union-attr]
        self.log.close()
