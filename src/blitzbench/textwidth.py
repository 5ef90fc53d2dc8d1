"""Text wrapped whole for a terminal of a given width: one place for the verdict table
(acceptance/table.py) and every other terminal table (report/terminal.py), which import
nothing of each other.

A word is never broken: a line that does not fit its indent moves left as far as it
must, and a name longer than the whole width (no name blitzbench prints is) is cut after
its dots, commas, brackets, equals signs and slashes."""

from __future__ import annotations

import re
import textwrap

__all__ = ["LOG_WIDTH", "MIN_ROOM", "NAME_BREAK", "wrap_whole"]

#: Width when the output is a file or a CI log (rich would assume 80 columns; a log is
#: read in a browser, where long lines wrap anyway). A terminal's own width wins.
LOG_WIDTH = 120
#: Below this much room a line is not worth wrapping into (a very narrow terminal).
MIN_ROOM = 20
#: A name longer than a whole line is cut after one of these, never inside a word.
NAME_BREAK = re.compile(r"(?<=[.,\[\]=/])")


def wrap_whole(text: str, width: int, indent: int = 0) -> list[str]:
    """``text`` as lines of at most ``width`` characters, each indented by ``indent``
    (see the module docstring for what happens to a word that does not fit)."""
    room = max(MIN_ROOM, width - indent)
    lines = []
    for line in textwrap.wrap(text, room, break_long_words=False, break_on_hyphens=False):
        if len(line) <= room:
            lines.append(" " * indent + line)
        elif len(line) <= width:
            lines.append(" " * min(indent, width - len(line)) + line)
        else:
            lines += _cut_name(line, width)
    return lines


def _cut_name(name: str, width: int) -> list[str]:
    """A name longer than a line, in pieces ending after a dot, comma or bracket."""
    pieces, line = [], ""
    for part in NAME_BREAK.split(name):
        if line and len(line) + len(part) > width:
            pieces.append(line)
            line = ""
        line += part
    return [*pieces, line] if line else pieces
