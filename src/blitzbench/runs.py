"""Run folders: where every command that produces results writes them.

A run folder is ``reports/runs/<UTC timestamp>-<host>-<suffix>/``; the random suffix keeps
two runs started in the same second apart. Every file is written to a temporary name in
the same folder and renamed into place, so a reader never sees half a file, whatever
interrupts the writer.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import json
import math
import os
import secrets
import socket
import tempfile
from pathlib import Path
from typing import Any

from blitzbench.errors import OutputError, ResultsFormatError, UsageError

__all__ = [
    "FORMAT_VERSION",
    "RESULTS_FILE",
    "RunRecorder",
    "create_run_folder",
    "default_reports_dir",
    "latest_run",
    "load_results",
    "read_json",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_text_atomic",
]

FORMAT_VERSION = 1
RESULTS_FILE = "results.json"
REPORTS_ENV = "BLITZBENCH_REPORTS"
#: results.json sections and the JSON type each has (the schema RunRecorder writes).
SECTION_TYPES: dict[str, type] = {"environment": dict, "data_source": dict, "acceptance": dict,
                                  "claims": list, "benchmarks": list, "profiles": list}
#: Fields of section records that are objects whenever present.
RECORD_OBJECT_FIELDS = {"benchmarks": ("params", "extra"), "claims": ("evidence",),
                        "profiles": ("summary",)}


def default_reports_dir() -> Path:
    """``$BLITZBENCH_REPORTS`` or ``./reports``."""
    return Path(os.environ.get(REPORTS_ENV, "reports"))


def create_run_folder(reports_dir: Path | None = None) -> Path:
    """Make a new, uniquely named run folder under ``<reports>/runs``."""
    runs = (reports_dir or default_reports_dir()) / "runs"
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
    runs = (reports_dir or default_reports_dir()) / "runs"
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


def read_json(path: Path) -> Any:
    """Read a JSON file a user handed us; any defect is a one-line UsageError."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: malformed JSON at line {exc.lineno}: {exc.msg}") from None


def load_results(run: Path) -> dict[str, Any]:
    """Load a run folder's ``results.json`` and check its format version."""
    run = Path(run)
    if not run.is_dir():
        raise UsageError(f"run folder {run} does not exist: pass a folder under reports/runs/")
    data = read_json(run / RESULTS_FILE)
    if not isinstance(data, dict):
        raise UsageError(f"{run / RESULTS_FILE}: expected a JSON object at the top")
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise UsageError(f"{run / RESULTS_FILE}: missing or non-integer format_version")
    if version > FORMAT_VERSION:
        raise ResultsFormatError(
            f"{run / RESULTS_FILE} has format version {version}, newer than this blitzbench "
            f"reads ({FORMAT_VERSION}): upgrade blitzbench"
        )
    _check_sections(data, run / RESULTS_FILE)
    return data


def _check_sections(data: dict[str, Any], path: Path) -> None:
    """Each section has the shape RunRecorder writes, so a hand-edited or hostile file is
    one UsageError line rather than a crash in whatever reads it next."""
    for key, kind in SECTION_TYPES.items():
        value = data.get(key)
        if value is not None and not isinstance(value, kind):
            raise UsageError(f"{path}: malformed '{key}': expected a JSON {_json_name(kind)}")
        if kind is list and value and not all(isinstance(v, dict) for v in value):
            raise UsageError(f"{path}: malformed '{key}': expected a list of objects")
    for key, fields in RECORD_OBJECT_FIELDS.items():
        for index, record in enumerate(data.get(key) or []):
            for field in fields:
                if record.get(field) is not None and not isinstance(record[field], dict):
                    raise UsageError(f"{path}: malformed '{key}[{index}].{field}': expected "
                                     f"a JSON object")


def _json_name(kind: type) -> str:
    return "list" if kind is list else "object"


def _write_atomic(path: Path, data: bytes) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _output_error(path.parent, exc) from None
    try:
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
    """Accumulates a run's results and rewrites ``results.json`` after each section.

    Results finished before an interruption are kept: the file on disk is always whole
    and says ``"complete": false`` until :meth:`finish` runs.
    """

    def __init__(self, folder: Path, command: str, **header: Any) -> None:
        from blitzbench import __version__
        from blitzbench.environment import fingerprint

        self.folder = Path(folder)
        self.data: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "blitzbench": __version__,
            "command": command,
            "run_id": self.folder.name,
            "started": _now(),
            "finished": None,
            "complete": False,
            "interrupted": False,
            "environment": fingerprint(),
            **header,
        }
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

    def set(self, key: str, value: Any) -> None:
        """Store one section (``claims``, ``benchmarks``, ``profiles``, ...) and save."""
        self.data[key] = value
        self.save()

    def extend(self, key: str, records: list[Any]) -> None:
        """Append records to a list section and save."""
        self.data.setdefault(key, []).extend(records)
        self.save()

    def save(self) -> Path:
        return write_json_atomic(self.folder / RESULTS_FILE, self.data)

    def finish(self, *, interrupted: bool = False) -> Path:
        self.data["finished"] = _now()
        self.data["complete"] = not interrupted
        self.data["interrupted"] = interrupted
        return self.save()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
