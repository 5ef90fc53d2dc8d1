"""The child process that runs a tutorial's blocks: one namespace, one block per message.

Started by :mod:`blitzbench.tutorial.execute` as ``python -m blitzbench.tutorial.worker
CMD_FD REPLY_FD`` in its own process group, in a fresh temporary folder, stdin on
/dev/null. It reads one JSON message per line from CMD_FD (``{"code", "name",
"preludes", "display_last"}``), execs the code in the namespace the earlier blocks left,
and answers one JSON line on REPLY_FD (``{"ok", "stdout", "error", "kind", "seconds"}``).

While a block runs, an audit hook (PEP 578) refuses what a tutorial block must not do here:
writing, renaming or removing files outside the working folder (kind ``outside-write``) and
opening a network connection (so ``download=True`` can never download: it fails, and the
data shim points it at the local data set). ``input()`` raises at once (kind ``input``).
This module imports only the standard library: the blocks import what they need.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import json
import os
import socket
import sys
import time
import traceback
from typing import Any

__all__ = ["InputRequested", "NetworkDisabled", "OutsideWrite", "main"]

ERROR_CHARS = 300  # of an exception's message: the verdict is one line
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
PATH_EVENTS = ("os.remove", "os.rmdir", "os.mkdir", "os.truncate", "shutil.rmtree",
               "os.symlink", "os.link", "os.chmod")
ALLOWED_OUTSIDE = ("/dev/",)  # /dev/null, /dev/shm (DataLoader workers' shared memory)
LOCAL_HOSTS = (None, "", "localhost", "127.0.0.1", "::1", b"localhost", b"127.0.0.1")


class InputRequested(EOFError):
    """input() in a block: there is no one to answer."""


class OutsideWrite(PermissionError):
    """A block touched a file outside its working folder."""


class NetworkDisabled(ConnectionRefusedError):
    """A block opened a network connection (a download)."""


_GUARD = {"active": False, "root": ""}


def _outside(path: Any) -> str | None:
    """The absolute path when ``path`` lies outside the working folder, else None."""
    if isinstance(path, int) or path is None:
        return None
    full = os.path.realpath(os.path.join(_GUARD["root"], os.fsdecode(path)))
    if full == _GUARD["root"] or full.startswith(_GUARD["root"] + os.sep) or \
            full.startswith(ALLOWED_OUTSIDE):
        return None
    return full


def _audit(event: str, args: tuple) -> None:
    if not _GUARD["active"]:
        return
    paths: tuple = ()
    if event == "open":
        path, mode, flags = args
        writes = (flags or 0) & WRITE_FLAGS or (mode and any(c in mode for c in "wax+"))
        paths = (path,) if writes else ()
    elif event in PATH_EVENTS:
        paths = args[:1]
    elif event == "os.rename":
        paths = args[:2]
    elif event == "socket.connect" and isinstance(args[1], tuple):
        raise NetworkDisabled(f"network disabled for tutorial blocks: connect to "
                              f"{args[1][0]} refused (no download)")
    elif event == "socket.getaddrinfo" and args[0] not in LOCAL_HOSTS:
        raise NetworkDisabled(f"network disabled for tutorial blocks: looking up "
                              f"{args[0]!r} refused (no download)")
    for path in paths:
        full = _outside(path)
        if full is not None:
            raise OutsideWrite(f"writes outside its working folder: {event} {full}")


def _no_input(prompt: Any = "") -> str:
    raise InputRequested(f"asks for input ({str(prompt)[:60]!r}) but stdin is closed")


def _kind(exc: BaseException) -> str:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, InputRequested):
            return "input"
        if isinstance(seen, OutsideWrite):
            return "outside-write"
        seen = seen.__cause__ or seen.__context__
    return "error"


def _error_line(exc: BaseException, name: str) -> str:
    """``line N: Type: message`` with N the line inside the block, on one line."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == name]
    where = f"line {frames[-1].lineno}: " if frames else ""
    message = " ".join(str(exc).split())[:ERROR_CHARS]
    return f"{where}{type(exc).__name__}: {message}" if message else \
        f"{where}{type(exc).__name__}"


def _compiled(code: str, name: str, display_last: bool) -> list:
    tree = ast.parse(code, name)
    if display_last and tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Interactive(body=[tree.body.pop()])
        return [compile(tree, name, "exec"), compile(last, name, "single")]
    return [compile(tree, name, "exec")]


def _run(message: dict, namespace: dict) -> dict:
    for prelude in message.get("preludes", []):
        exec(prelude, {"__name__": "blitzbench_shim"})
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            _GUARD["active"] = True
            try:
                for code in _compiled(message["code"], message["name"],
                                      message.get("display_last", False)):
                    exec(code, namespace)
            finally:
                _GUARD["active"] = False
    except BaseException as exc:  # a block may raise anything, SystemExit included
        return {"ok": False, "stdout": out.getvalue(), "kind": _kind(exc),
                "error": _error_line(exc, message["name"]),
                "seconds": time.perf_counter() - started}
    return {"ok": True, "stdout": out.getvalue(), "error": "", "kind": "",
            "seconds": time.perf_counter() - started}


def main(argv: list[str]) -> int:
    commands = os.fdopen(int(argv[0]), "r", encoding="utf-8")
    replies = os.fdopen(int(argv[1]), "w", encoding="utf-8")
    _GUARD["root"] = os.path.realpath(os.getcwd())
    builtins.input = _no_input
    sys.addaudithook(_audit)
    socket.setdefaulttimeout(10)  # a connection attempt the guard misses cannot hang
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    replies.write(json.dumps({"ready": True}) + "\n")
    replies.flush()
    for line in commands:
        replies.write(json.dumps(_run(json.loads(line), namespace)) + "\n")
        replies.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
