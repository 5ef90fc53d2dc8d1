"""A :class:`~blitzbench.report.document.Document` as GitHub-flavoured Markdown."""

from __future__ import annotations

from blitzbench.report.document import (
    Block,
    Cell,
    Document,
    Figure,
    Heading,
    LinkList,
    Paragraph,
    Table,
    Verdict,
)

__all__ = ["render_markdown"]

TONE_PREFIX = {"warn": "**Warning:** ", "bad": "**Attention:** "}


def render_markdown(doc: Document) -> str:
    parts = [f"# {doc.title}", f"_{doc.subtitle}_"]
    parts += [_block(b) for b in doc.blocks]
    return "\n\n".join(p for p in parts if p) + "\n"


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"{'#' * block.level} {block.text}"
    if isinstance(block, Paragraph):
        return TONE_PREFIX.get(block.tone, "") + block.text
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Figure):
        return f"![{block.caption}]({block.path})\n\n_{block.caption}_"
    if isinstance(block, LinkList):
        return "\n".join(f"- [{text}]({href})" for text, href in block.items)
    if isinstance(block, Verdict):
        facts = f" ({block.facts})" if block.facts else ""
        notes = "".join(f"\n>\n> - {note}" for note in block.notes)
        return f"> **Verdict: {block.verdict}**: {block.counts}{facts}{notes}"
    raise TypeError(f"unknown block {block!r}")


def _table(table: Table) -> str:
    header = "| " + " | ".join(table.header) + " |"
    rule = "|" + "".join(" ---: |" if i in table.numeric else " --- |"
                         for i in range(len(table.header)))
    rows = ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    caption = [f"_{table.caption}_", ""] if table.caption else []
    return "\n".join([*caption, header, rule, *rows])


def _cell(cell: Cell) -> str:
    text = cell.text.replace("|", "\\|").replace("\n", " ")
    return f"`{text}`" if cell.code and text else text
