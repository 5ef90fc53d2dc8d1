"""Render report.md and a self-contained report.html for a run folder.

The plots are PNG files in the run folder's plots/ beside the reports (report.md links
them); report.html embeds them and needs nothing else. Links are resolved against the
files on disk where the run folder is now, wherever it was measured.
"""

from __future__ import annotations

from pathlib import Path

from blitzbench.report.locations import Place
from blitzbench.results.names import HTML_FILE, MARKDOWN_FILE, PLOTS_FOLDER
from blitzbench.results.reader import read_run
from blitzbench.runs import write_text_atomic

__all__ = ["render_run"]


def render_run(folder: Path) -> tuple[Path, Path]:
    """Read the run's results.json, draw its plots, write report.md and report.html.

    Each file is written whole or not at all (temporary file, then rename); the pages are
    written last, so they never reference a plot that is not there.
    """
    from blitzbench.report.html import render_html
    from blitzbench.report.markdown import render_markdown
    from blitzbench.report.plots import render_plots  # matplotlib: loaded only when drawing
    from blitzbench.report.sections import build_document

    stored = read_run(Path(folder))
    folder = stored.folder
    figures = render_plots(stored.results.benchmarks, folder / PLOTS_FOLDER,
                           prefix=f"{PLOTS_FOLDER}/")
    doc = build_document(stored.results, figures, Place(folder))
    markdown = write_text_atomic(folder / MARKDOWN_FILE, render_markdown(doc))
    page = write_text_atomic(folder / HTML_FILE, render_html(doc, folder))
    return markdown, page
