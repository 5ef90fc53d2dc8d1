"""A :class:`~blitzbench.report.document.Document` as one self-contained HTML page.

Self-contained, so the single file can be mailed or attached to a CI run: the style sheet
is inline, there is no script, and each plot is embedded as a PNG data URI (the PNG files
stay beside report.md, which links them). Opening it fetches nothing.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

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

__all__ = ["STYLE", "render_html"]

STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1f2328; background: #fff; margin: 0; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; word-break: break-all; }
h2 { font-size: 20px; margin: 36px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #d0d7de; }
h3 { font-size: 16px; margin: 24px 0 6px; }
.subtitle { color: #57606a; margin: 0 0 12px; }
nav { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 12px;
      margin: 12px 0; }
nav a { margin-right: 16px; }
a { color: #0969da; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
       background: #f6f8fa; padding: 1px 4px; border-radius: 4px; overflow-wrap: anywhere; }
td code { overflow-wrap: normal; }
.scroll { overflow-x: auto; margin: 8px 0 16px; }
table { border-collapse: collapse; font-size: 13px; max-width: 100%; }
caption { text-align: left; color: #57606a; padding: 4px 0; font-style: italic; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; vertical-align: top; text-align: left; }
th { background: #f6f8fa; position: sticky; top: 0; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.good { color: #1a7f37; font-weight: 600; }
.bad { color: #cf222e; font-weight: 600; }
.warn { color: #9a6700; font-weight: 600; }
.info { color: #0550ae; }
.muted { color: #6e7781; }
p.warn, p.bad { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px;
                padding: 8px 12px; }
p.bad { background: #ffebe9; border-color: #ff8182; }
p.good { background: #dafbe1; border: 1px solid #4ac26b; border-radius: 6px;
         padding: 8px 12px; }
figure { margin: 16px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #d0d7de; border-radius: 6px; }
figcaption { color: #57606a; font-size: 13px; }
.verdict { border: 2px solid #d0d7de; border-radius: 8px; padding: 12px 16px; margin: 8px 0;
           font-size: 17px; }
.verdict.good { background: #dafbe1; border-color: #4ac26b; color: #1f2328; }
.verdict.bad { background: #ffebe9; border-color: #ff8182; color: #1f2328; }
.verdict strong { font-size: 22px; margin-right: 12px; }
.verdict .facts { display: block; color: #57606a; font-size: 14px; }
.verdict .notes { margin: 6px 0 0; padding-left: 20px; font-size: 14px; color: #7d4e00; }
@media (max-width: 900px) { main { padding: 12px; } th, td { padding: 3px 4px; } }
"""

INLINE_CODE = re.compile(r"`([^`]+)`")
#: a long id (``tensor_ops.add_out[scale=memory,size=2^28].gb_per_s``) may break after
#: these, never inside a word.
BREAK_AFTER = re.compile(r"([.,\[\]=/])")


def render_html(doc: Document, folder: Path | None = None) -> str:
    """The page; each figure is read from ``folder`` (the report's folder) and embedded,
    or referenced by its relative path when there is no folder."""
    body = "\n".join(_block(b, folder) for b in doc.blocks)
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(doc.title)}</title>\n<style>{STYLE}</style>\n</head>\n"
            f"<body>\n<main>\n<h1>{html.escape(doc.title)}</h1>\n"
            f"<p class=\"subtitle\">{html.escape(doc.subtitle)}</p>\n{_nav(doc)}\n{body}\n"
            f"</main>\n</body>\n</html>\n")


def _nav(doc: Document) -> str:
    links = [f'<a href="#{html.escape(b.anchor)}">{html.escape(b.text)}</a>'
             for b in doc.blocks if isinstance(b, Heading) and b.level == 2 and b.anchor]
    return f"<nav>{' '.join(links)}</nav>" if links else ""


def _block(block: Block, folder: Path | None = None) -> str:
    if isinstance(block, Heading):
        anchor = f' id="{html.escape(block.anchor)}"' if block.anchor else ""
        return f"<h{block.level}{anchor}>{html.escape(block.text)}</h{block.level}>"
    if isinstance(block, Paragraph):
        tone = f' class="{block.tone}"' if block.tone else ""
        return f"<p{tone}>{_inline(block.text)}</p>"
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Verdict):
        notes = "".join(f"<li>{_inline(note)}</li>" for note in block.notes)
        return (f'<div class="verdict {block.tone}" id="verdict"><strong>'
                f'{html.escape(block.verdict)}</strong><span class="counts">'
                f'{html.escape(block.counts)}</span><span class="facts">'
                f"{_inline(block.facts)}</span>"
                + (f'<ul class="notes">{notes}</ul>' if notes else "") + "</div>")
    if isinstance(block, Figure):
        src = _image_source(block.path, folder)
        return (f'<figure><img src="{src}" alt="{html.escape(block.caption)}">'
                f"<figcaption>{html.escape(block.caption)}</figcaption></figure>")
    if isinstance(block, LinkList):
        items = "".join(f'<li><a href="{html.escape(href)}">{html.escape(text)}</a> '
                        f"<code>{html.escape(href)}</code></li>" for text, href in block.items)
        return f"<ul>{items}</ul>"
    raise TypeError(f"unknown block {block!r}")


def _image_source(path: str, folder: Path | None) -> str:
    """A data URI holding the PNG (the page travels alone), or the relative path."""
    if folder is None:
        return html.escape(path)
    encoded = base64.b64encode((folder / path).read_bytes()).decode("ascii")
    return f"data:image/png;base64,{encoded}"


def _table(table: Table) -> str:
    caption = f"<caption>{html.escape(table.caption)}</caption>" if table.caption else ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
    rows = "".join("<tr>" + "".join(_cell(c, i in table.numeric) for i, c in enumerate(row))
                   + "</tr>" for row in table.rows)
    return (f'<div class="scroll"><table>{caption}<thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>")


def _cell(cell: Cell, numeric: bool) -> str:
    classes = " ".join(c for c in (cell.tone, "num" if numeric else "") if c)
    attr = f' class="{classes}"' if classes else ""
    text = html.escape(cell.text)
    if cell.code and text:
        text = "<code>" + BREAK_AFTER.sub(r"\1<wbr>", text) + "</code>"
    return f"<td{attr}>{text}</td>"


def _inline(text: str) -> str:
    """Escape, then show `backticked` spans as code (the Markdown convention)."""
    return INLINE_CODE.sub(lambda m: f"<code>{m.group(1)}</code>", html.escape(text))
