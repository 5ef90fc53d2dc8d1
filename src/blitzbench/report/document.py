"""A report as a list of plain blocks, built once and rendered to Markdown and to HTML.

Keeping the content apart from the two renderers means report.md and report.html can
never disagree about what a run found.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Block", "Cell", "Document", "Figure", "Heading", "LinkList", "Paragraph", "Table",
           "Tone", "Verdict"]

#: a cell's tone colours it in HTML and is spelled out in Markdown only through its text.
Tone = str  # "good", "bad", "warn", "muted" or ""


@dataclass(frozen=True)
class Cell:
    """A table cell: text, an optional tone, and whether it is code (an id, a path)."""

    text: str
    tone: Tone = ""
    code: bool = False


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str = ""


@dataclass(frozen=True)
class Paragraph:
    text: str
    tone: Tone = ""


@dataclass(frozen=True)
class Table:
    """Rows of cells under a header; ``numeric`` columns are right-aligned."""

    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    numeric: frozenset[int] = frozenset()
    caption: str = ""


@dataclass(frozen=True)
class Figure:
    """A PNG next to the report, by a path relative to the report's folder."""

    path: str
    caption: str


@dataclass(frozen=True)
class LinkList:
    """Links to local files or folders (relative paths), each with its text."""

    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Verdict:
    """The box a reader decides from: the verdict, its counts (``11 PASS, 7 SKIPPED``, as
    the terminal prints them), the run's facts (level, spec, wall time) and the notes that
    qualify it (how many figures were noisy, no performance rule judged, a busy machine):
    inside the box, so that an ACCEPTED is never read without them."""

    verdict: str
    counts: str
    facts: str
    tone: Tone = ""
    notes: tuple[str, ...] = ()


Block = Heading | Paragraph | Table | Figure | LinkList | Verdict


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)
