"""Reading callgrind's output files: the instruction total of one dump.

Callgrind writes a dump each time the program asks it to (torch's
``_valgrind_toggle_and_dump_stats``); with ``--callgrind-out-file=DIR/callgrind.%p.out``
the dumps of process ``PID`` are ``DIR/callgrind.PID.out.1``, ``.2``, ... and a last one
without a number at exit. Each file starts with a header (format described in valgrind's
manual, "Callgrind Format Specification"):

    # callgrind format
    version: 1
    creator: callgrind-3.19.0
    pid: 7552
    part: 2
    ...
    events: Ir
    summary: 212797

``summary`` holds the dump's total of each event, in the order of ``events``; a ``totals``
line at the end repeats it. blitzbench reads only the header: the per-function costs after
it are what ``callgrind_annotate`` is for, and a count needs only the total. Reading stops
at ``summary``, so a dump of a large program costs a few lines, not its whole file (this
matters inside the valgrind process, where Python runs ~50x slower).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["INSTRUCTIONS_EVENT", "OUT_FILE_PATTERN", "CallgrindFormatError", "DumpTotals",
           "dump_path", "parse_dump", "read_dump"]

#: Callgrind's event name for instructions executed ("I refs").
INSTRUCTIONS_EVENT = "Ir"
#: valgrind expands ``%p`` to the process id: a forked child never overwrites its parent.
OUT_FILE_PATTERN = "callgrind.%p.out"
#: Header lines read before giving up on a file that has no ``summary``: real headers
#: have about 20.
MAX_HEADER_LINES = 200


class CallgrindFormatError(ValueError):
    """A file that is not a callgrind dump, or one without an instruction total."""


@dataclass(frozen=True)
class DumpTotals:
    """One dump: its sequence number in the process (``part``) and instructions executed
    while collection was on since the previous dump."""

    part: int
    instructions: int


def dump_path(folder: str | Path, pid: int, part: int) -> Path:
    """Where dump ``part`` of process ``pid`` lands under :data:`OUT_FILE_PATTERN`."""
    return Path(folder) / f"{OUT_FILE_PATTERN.replace('%p', str(pid))}.{part}"


def parse_dump(lines: Iterable[str]) -> DumpTotals:
    """The part number and instruction total of a dump, from its header lines."""
    part: int | None = None
    events: list[str] = []
    for number, line in enumerate(lines):
        if number == 0 and not line.startswith("# callgrind format"):
            raise CallgrindFormatError(f"not a callgrind dump: first line {line[:60]!r}")
        key, _, value = line.strip().partition(":")
        if key == "part":
            part = _integer(value, "part")
        elif key == "events":
            events = value.split()
        elif key in ("summary", "totals"):
            return DumpTotals(1 if part is None else part, _instructions(value, events))
        if number >= MAX_HEADER_LINES:
            break
    raise CallgrindFormatError("no summary line in the callgrind dump's header")


def read_dump(path: str | Path) -> DumpTotals:
    """:func:`parse_dump` of the file at ``path``, reading only its header."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        return parse_dump(handle)


def _instructions(value: str, events: list[str]) -> int:
    if INSTRUCTIONS_EVENT not in events:
        raise CallgrindFormatError(f"the dump counts {events or 'no events'}, not "
                                   f"{INSTRUCTIONS_EVENT}")
    totals = value.split()
    index = events.index(INSTRUCTIONS_EVENT)
    if index >= len(totals):
        raise CallgrindFormatError(f"summary {value.strip()!r} has no {INSTRUCTIONS_EVENT}")
    return _integer(totals[index], INSTRUCTIONS_EVENT)


def _integer(text: str, name: str) -> int:
    try:
        number = int(text.strip())
    except ValueError:
        raise CallgrindFormatError(f"{name}: {text.strip()[:40]!r} is not a whole number") \
            from None
    if number < 0:
        raise CallgrindFormatError(f"{name}: {number} is negative")
    return number
