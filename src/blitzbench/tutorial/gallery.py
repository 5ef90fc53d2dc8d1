"""A sphinx-gallery script, the format PyTorch's own tutorials are written in.

sphinx-gallery splits a ``.py`` file into text and code: the module docstring is the
title text; a line ``# %%`` or a line of 20 or more ``#`` starts a text block, whose comment
lines run until the first line that is not a comment; the code runs from there to the next
separator. Expected output is quoted in comments: a comment line ``# Out:`` ends the code
before it, and the comment lines after it (without their ``#``, dedented, reST
``.. code-block::`` lines dropped) are that code's output; code after them is a new block.
"""

from __future__ import annotations

import re
import textwrap

__all__ = ["parse"]

SEPARATOR = re.compile(r"^(# %%.*|#{20,}\s*)$")
OUT_MARKER = re.compile(r"^#\s*(Out|Output)\s*:\s*$", re.IGNORECASE)
DOCSTRING_OPEN = re.compile(r'^[rRuU]?("""|\'\'\')')
DIRECTIVE = re.compile(r"^\s*\.\. code-block::")


def _skip_docstring(lines: list[str]) -> int:
    """Index of the first line after the module docstring (0 when there is none)."""
    start = 0
    while start < len(lines) and (not lines[start].strip() or lines[start].startswith("#")):
        start += 1
    opened = DOCSTRING_OPEN.match(lines[start]) if start < len(lines) else None
    if not opened:
        return 0
    quote = opened.group(1)
    rest = lines[start][opened.end():]
    if quote in rest:
        return start + 1
    for index in range(start + 1, len(lines)):
        if quote in lines[index]:
            return index + 1
    return len(lines)


def _output_text(comments: list[str]) -> str:
    stripped = [re.sub(r"^#", "", c) for c in comments]
    kept = [s for s in stripped if not DIRECTIVE.match(s)]
    return textwrap.dedent("\n".join(kept)).strip("\n")


class _Reader:
    """Walks the lines once; ``blocks`` collects [code lines, expected, first line]."""

    def __init__(self) -> None:
        self.blocks: list[list] = []
        self.code: list[str] = []
        self.code_start = 0
        self.output: list[str] | None = None
        self.in_text = False

    def flush(self) -> None:
        if self.output is not None and self.blocks:
            self.blocks[-1][1] = _output_text(self.output)
        self.output = None
        if "".join(self.code).strip():
            self.blocks.append(["\n".join(self.code).strip("\n") + "\n", None,
                                self.code_start])
        self.code = []

    def feed(self, number: int, line: str) -> None:
        if SEPARATOR.match(line):
            self.flush()
            self.in_text = True
        elif self.in_text and (line.startswith("#") or not line.strip()):
            pass
        elif OUT_MARKER.match(line):
            self.flush()
            self.output = []
        elif self.output is not None and (line.startswith("#") or not line.strip()):
            self.output.append(line)
        else:
            if self.output is not None:
                self.flush()
            self.in_text = False
            if not self.code and not line.strip():
                return  # a block starts at its first non-blank line
            if not self.code:
                self.code_start = number
            self.code.append(line)


def parse(text: str, where: str = "") -> list[tuple[str, str | None, int]]:
    """(code, expected output or None, first line) for every code block of the script."""
    lines = text.splitlines()
    reader = _Reader()
    for index in range(_skip_docstring(lines), len(lines)):
        reader.feed(index + 1, lines[index])
    reader.flush()
    return [(code, expected, line) for code, expected, line in reader.blocks]
