"""The loader script of the ``data.main_guard`` claim, and how one run of it ended.

blitzbench writes one script in two variants that differ in one line only: the guarded one
keeps its loading under ``if __name__ == "__main__":``, the unguarded one runs it at top
level. Everything else is the same text (the data set class, the loader, the worker hook),
so whatever tells the two runs apart is the guard. As in the post, the data set and the
DataLoader are built at top level; iterating the loader (which starts its workers) is what
the guard wraps.

The script is run as ``python script.py`` in a fresh interpreter and reads its settings from
``config.json`` beside it, not from ``sys.argv``: a fork server re-imports the script with
the server's own ``argv``, and a script that read its arguments would then fail on them,
not on what the guard is about.

The start method is chosen with the DataLoader's own ``multiprocessing_context=`` argument
rather than ``multiprocessing.set_start_method``: the argument sits on the same line in
both variants and sets no global state, so a worker that re-imports the unguarded script
runs the same line again harmlessly. ``set_start_method`` at top level would raise
"context has already been set" in such a worker, a failure of the script's own making that
would hide the bootstrapping error the claim is about (``force=True`` avoids it, but would
add a line only users of non-default methods write).

Each worker records, as it starts, whether its parent is the script and under which name
the script's module is loaded in it. From that the judge tells how the worker really
started (:func:`started_by`), so a loader that ignores the method it is given cannot pass
for one that honoured it.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BOOTSTRAP_MARK", "DATA_EXIT", "OUTPUT_FILE", "REPORT_FILE", "RunEnd", "ScriptRun",
           "classify_run", "exception_line", "script_text", "started_by", "write_run_folder"]

SCRIPT_FILE = "loader_script.py"
CONFIG_FILE = "config.json"
REPORT_FILE = "report.json"
OUTPUT_FILE = "output.txt"
#: The script's exit status when it cannot read the data set (the judge's problem, not the
#: guard's). 3 is DataError's exit code in blitzbench.errors.
DATA_EXIT = 3
#: Part of CPython's message when a process starts another before its own start-up
#: finished (the re-imported unguarded script starting workers): multiprocessing/spawn.py,
#: ``_check_not_importing_main`` (seen here on 3.11.7; the same words in 3.12's). One line
#: of it, so that the message's line breaks do not matter.
BOOTSTRAP_MARK = "finished its bootstrapping phase"
BATCHES_READ = 2  # one batch from each of the 2 workers
TEST_IMAGES = 16  # of the test split: pickled to each spawned worker, so kept small
#: An exception's last traceback line: ``RuntimeError: ...``, ``torch.OutOfMemoryError: ...``.
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit))\b:?(.*)$")
_PIDS = re.compile(r"\s*\(pids?(\(s\))? [\d, ]+\)|\bpid \d+\b")

_BODY = '''"""Written by blitzbench for its data.main_guard claim ({variant}): the tutorial's
loader (batch 4, 2 workers) over the first {images} images of CIFAR-10's test split, its
workers started by the start method named in config.json."""

import functools
import json
import multiprocessing
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

HERE = Path(__file__).resolve().parent
CONFIG = json.loads((HERE / "{config}").read_text())


class TestImages(Dataset):
    """The test split's first images, read from the CIFAR-10 pickle, normalized to [-1, 1]."""

    def __init__(self, root, count):
        try:
            with open(Path(root) / "cifar-10-batches-py" / "test_batch", "rb") as handle:
                entry = pickle.load(handle, encoding="latin1")
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            print(f"data set unreadable: {{exc}}", file=sys.stderr)
            sys.exit({data_exit})
        pixels = np.asarray(entry["data"][:count], dtype=np.uint8)
        self.images = pixels.reshape(-1, 3, 32, 32)
        self.labels = list(entry["labels"][:count])

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        image = torch.from_numpy(self.images[index]).float().div(255).sub(0.5).div(0.5)
        return image, self.labels[index]


def note_start(script_pid, worker_id):
    """In each worker as it starts: who its parent is and how the script is loaded."""
    facts = {{"worker": worker_id, "parent_is_script": os.getppid() == script_pid,
              "main_module": sys.modules["__main__"].__name__}}
    (HERE / f"worker-{{worker_id}}.json").write_text(json.dumps(facts))


def read_batches(loader, device):
    """{batches} batches, checked against the data set's items and, on a GPU, copied
    there from pinned memory and back."""
    batches, ok = iter(loader), True
    for number in range({batches}):
        images, labels = next(batches)
        first = number * loader.batch_size
        items = [loader.dataset[i] for i in range(first, first + len(labels))]
        ok = ok and torch.equal(images, torch.stack([image for image, _ in items]))
        ok = ok and labels.tolist() == [label for _, label in items]
        if device != "cpu":
            ok = ok and torch.equal(images.to(device, non_blocking=True).cpu(), images)
    del batches
    workers = [json.loads(path.read_text()) for path in sorted(HERE.glob("worker-*.json"))]
    return {{"batches_ok": ok, "workers": workers,
             "default_start_method": multiprocessing.get_start_method(),
             "python": sys.version.split()[0], "torch": torch.__version__}}


testset = TestImages(CONFIG["root"], {images})
loader = DataLoader(testset, batch_size=4, shuffle=False, num_workers=2,
                    multiprocessing_context=CONFIG["method"],
                    pin_memory=CONFIG["device"] != "cpu",
                    worker_init_fn=functools.partial(note_start, os.getpid()))
{guard}report = read_batches(loader, CONFIG["device"])
{indent}(HERE / "{report}").write_text(json.dumps(report))
'''


def script_text(guarded: bool) -> str:
    """The script, guarded or not: the same text but for the guard line and its indent."""
    return _BODY.format(
        variant="guarded" if guarded else "unguarded", images=TEST_IMAGES,
        config=CONFIG_FILE, report=REPORT_FILE, data_exit=DATA_EXIT, batches=BATCHES_READ,
        guard='if __name__ == "__main__":\n    ' if guarded else "",
        indent="    " if guarded else "")


def write_run_folder(folder: Path, *, guarded: bool, method: str, root: Path,
                     device: str) -> Path:
    """Write the script and its settings into ``folder``; the script's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG_FILE).write_text(json.dumps(
        {"root": str(root), "method": method, "device": device}))
    script = folder / SCRIPT_FILE
    script.write_text(script_text(guarded))
    return script


class RunEnd(str, enum.Enum):
    """How one run of the script ended."""

    RAN = "ran"  # exited 0 with its report: batches intact
    BOOTSTRAP = "bootstrapping RuntimeError"  # a re-imported script started workers
    ERROR = "error"  # failed another way (the reason says how)
    TIMED_OUT = "timed out"  # killed with its process group at the time limit
    NOT_STARTED = "not started"  # the interpreter could not be run
    NO_DATA = "no data"  # the script could not read the data set


@dataclass(frozen=True)
class ScriptRun:
    """One run: the start method asked for, the variant, how it ended and why (one line),
    its wall time, how each worker really started, and this Python's default method."""

    method: str
    guarded: bool
    end: RunEnd
    reason: str
    seconds: float
    workers_started_by: tuple[str, ...] = ()
    default_start_method: str | None = None
    python: str | None = None

    @property
    def variant(self) -> str:
        return "guarded" if self.guarded else "unguarded"

    @property
    def honoured(self) -> bool:
        """Every worker started the way asked (vacuous for a run that started none)."""
        return all(how == self.method for how in self.workers_started_by)

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "variant": self.variant, "end": self.end.value,
                "reason": self.reason, "seconds": round(self.seconds, 2),
                "workers_started_by": list(self.workers_started_by),
                "default_start_method": self.default_start_method, "python": self.python}


def started_by(facts: Mapping[str, Any]) -> str:
    """How a worker started, from what it recorded: a forked worker shares the script's
    module as ``__main__``; a spawned or fork-served one re-imported it as ``__mp_main__``,
    and only a fork-served one has the fork server, not the script, as its parent."""
    if facts.get("main_module") == "__main__":
        return "fork" if facts.get("parent_is_script") else "unknown"
    if facts.get("main_module") == "__mp_main__":
        return "spawn" if facts.get("parent_is_script") else "forkserver"
    return "unknown"


def classify_run(method: str, guarded: bool, *, returncode: int | None, output: str,
                 report: Mapping[str, Any] | None, seconds: float) -> ScriptRun:
    """How a finished run ended. ``returncode`` None: killed at the time limit."""
    def run(end: RunEnd, reason: str, **facts: Any) -> ScriptRun:
        return ScriptRun(method, guarded, end, reason, seconds, **facts)

    if returncode is None:
        return run(RunEnd.TIMED_OUT, f"killed after {seconds:.0f} s")
    if returncode == DATA_EXIT and "data set unreadable" in output:
        return run(RunEnd.NO_DATA, _last_line(output))
    if returncode == 0:
        return _finished(run, report)
    if BOOTSTRAP_MARK in output:
        return run(RunEnd.BOOTSTRAP, "each worker re-ran the script's top level and tried "
                   "to start workers of its own; the script then: "
                   f"{exception_line(output) or f'exit code {returncode}'}")
    return run(RunEnd.ERROR, exception_line(output) or f"exit code {returncode}")


def _finished(run: Any, report: Mapping[str, Any] | None) -> ScriptRun:
    """A run that exited 0: RAN if its report is whole and its batches intact."""
    workers = report.get("workers") if isinstance(report, Mapping) else None
    if not isinstance(workers, list) or not all(isinstance(w, Mapping) for w in workers):
        return run(RunEnd.ERROR, "exited 0 without a readable report")
    facts = {"workers_started_by": tuple(started_by(w) for w in workers),
             "default_start_method": str(report.get("default_start_method")),
             "python": str(report.get("python"))}
    if report.get("batches_ok") is not True:
        return run(RunEnd.ERROR, "batches differ from the data set's items", **facts)
    return run(RunEnd.RAN, f"{BATCHES_READ} batches from {len(workers)} workers", **facts)


def exception_line(output: str) -> str:
    """The last ``SomeError: message`` line of ``output``, pids left out (they differ from
    run to run), or ""."""
    for line in reversed(output.splitlines()):
        match = _EXCEPTION_LINE.match(line.strip())
        if match:
            return _PIDS.sub("", line.strip())
    return ""


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else ""
