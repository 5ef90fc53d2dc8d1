"""Run folders: where every command that produces results writes them.

A run folder is ``reports/runs/<UTC timestamp>-<host>-<suffix>/``; the random suffix keeps
two runs started in the same second apart. Every file is written to a temporary name in
the same folder and renamed into place, so a reader never sees half a file, whatever
interrupts the writer. ``tempfile.mkstemp`` creates its file 0600; the file is given the
mode ``open()`` would have given it (0666 less the umask) before the rename, so a colleague
on the same host can read a run the umask lets them read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import errno
import json
import math
import os
import secrets
import socket
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from blitzbench.errors import OutputError, UsageError
from blitzbench.results.names import RESULTS_FILE, RUNS_FOLDER
from blitzbench.results.records import Environment, RunResults

__all__ = [
    "RunRecorder",
    "create_run_folder",
    "current_umask",
    "default_reports_dir",
    "latest_run",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_text_atomic",
]

REPORTS_ENV = "BLITZBENCH_REPORTS"
#: The mode open(2) asks for a new regular file; the umask then takes its bits away.
FILE_MODE = 0o666


def current_umask() -> int:
    """The process umask. POSIX offers no way to read it without setting it, so it is set
    and put back at once (the umask is per process; blitzbench writes from one thread)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_reports_dir() -> Path:
    """``$BLITZBENCH_REPORTS`` or ``./reports``."""
    return Path(os.environ.get(REPORTS_ENV, "reports"))


def create_run_folder(reports_dir: Path | None = None) -> Path:
    """Make a new, uniquely named run folder under ``<reports>/runs``."""
    runs = (reports_dir or default_reports_dir()) / RUNS_FOLDER
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    host = "".join(c if c.isalnum() or c in "-_" else "-" for c in socket.gethostname())[:40]
    folder = runs / f"{stamp}-{host}-{secrets.token_hex(3)}"
    try:
        folder.mkdir(parents=True, exist_ok=False)
    except OSError as exc:
        raise _output_error(runs, exc) from None
    return folder


def latest_run(reports_dir: Path | None = None) -> Path:
    """The most recent run folder (names sort by time)."""
    runs = (reports_dir or default_reports_dir()) / RUNS_FOLDER
    folders = sorted(p for p in runs.glob("*") if p.is_dir()) if runs.is_dir() else []
    if not folders:
        raise UsageError(f"no run folder under {runs}: run `blitzbench accept` first")
    return folders[-1]


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file and a rename."""
    return _write_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` (a PNG, say) to ``path`` via a temporary file and a rename."""
    return _write_atomic(path, data)


def write_json_atomic(path: Path, payload: Any) -> Path:
    """Write JSON (strict: NaN and infinity become null) via a temporary file and a rename."""
    text = json.dumps(_finite(payload), indent=2, sort_keys=False, default=str)
    return _write_atomic(path, (text + "\n").encode("utf-8"))


def _write_atomic(path: Path, data: bytes) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _output_error(path.parent, exc) from None
    try:
        os.fchmod(fd, FILE_MODE & ~current_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _remove_quietly(tmp)
        raise _output_error(path, exc) from None
    except BaseException:
        _remove_quietly(tmp)
        raise
    return path


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _output_error(path: Path, exc: OSError) -> OutputError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        why = "the disk is full"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = "permission denied"
    else:
        why = exc.strerror or str(exc)
    return OutputError(f"cannot write {path}: {why}: choose another folder with --out")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class RunRecorder:
    """Accumulates a run's records and rewrites ``results.json`` after each section.

    Results finished before an interruption are kept: the file on disk is always whole
    and says ``"complete": false`` until :meth:`finish` runs. The records and their JSON
    are those of :mod:`blitzbench.results.records`; this class only decides when to save.
    """

    def __init__(self, folder: Path, command: str, *, level: str | None = None,
                 data_source: Mapping[str, Any] | None = None,
                 settings: Mapping[str, Any] | None = None) -> None:
        from blitzbench import __version__
        from blitzbench.environment import fingerprint

        self.folder = Path(folder)
        self.results = RunResults(
            run_id=self.folder.name, command=command, environment=Environment(fingerprint()),
            data_source=dict(data_source) if data_source is not None else None, level=level,
            settings=dict(settings or {}), started=_now(), blitzbench=__version__)
        try:
            self.save()
        except OutputError:
            with contextlib.suppress(OSError):
                self.folder.rmdir()  # still empty: leave no trace of a run that never began
            raise

    def __enter__(self) -> RunRecorder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: Any) -> None:
        """A clean exit finishes the run; Ctrl-C or an error keeps what was saved and marks
        the run incomplete (and interrupted, for Ctrl-C)."""
        if exc_type is None:
            self.finish()
        elif issubclass(exc_type, KeyboardInterrupt):
            self.finish(interrupted=True)
        else:
            self.save()

    def set(self, section: str, value: Any) -> None:
        """Store one section (``claims``, ``benchmarks``, ``acceptance``, ...) and save."""
        self.results = dataclasses.replace(self.results, **{section: value})
        self.save()

    def extend(self, section: str, records: Iterable[Any]) -> None:
        """Append records to a list section and save."""
        self.set(section, (*getattr(self.results, section), *records))

    def save(self) -> Path:
        return write_json_atomic(self.folder / RESULTS_FILE, self.results.to_json())

    def finish(self, *, interrupted: bool = False) -> Path:
        self.results = dataclasses.replace(self.results, finished=_now(),
                                           complete=not interrupted, interrupted=interrupted)
        return self.save()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
