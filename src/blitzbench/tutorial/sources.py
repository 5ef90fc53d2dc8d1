"""A tutorial read into code blocks, whatever its format: one record for the three readers.

The format is told by the file name (``.ipynb`` a notebook, ``.py`` a sphinx-gallery
script, anything else the Markdown-like post); a path that does not exist, or that holds no
code block, is a one-line :class:`~blitzbench.errors.NotATutorialError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from blitzbench.errors import NotATutorialError

__all__ = ["FORMATS", "Block", "Tutorial", "read_tutorial"]

FORMATS = ("markdown", "gallery", "notebook")


@dataclass(frozen=True)
class Block:
    """One code block: its code, the output the tutorial shows for it (None: shows none),
    where it starts in the source (a notebook: the cell's number) and the format."""

    index: int
    code: str
    expected: str | None
    line: int
    format: str

    @property
    def display_last(self) -> bool:
        """A notebook shows a cell's last expression; a script or a post does not."""
        return self.format == "notebook"

    @property
    def label(self) -> str:
        where = "cell" if self.format == "notebook" else "line"
        return f"block {self.index} ({where} {self.line})"


@dataclass(frozen=True)
class Tutorial:
    path: Path
    format: str
    blocks: tuple[Block, ...]


def tutorial_format(path: Path) -> str:
    suffix = path.suffix.lower()
    return {".ipynb": "notebook", ".py": "gallery"}.get(suffix, "markdown")


def read_tutorial(path: Path) -> Tutorial:
    """The tutorial's blocks, numbered from 1 in order."""
    from blitzbench.tutorial import gallery, markdown, notebook

    path = Path(path)
    if not path.is_file():
        raise NotATutorialError(f"tutorial {path} does not exist (or is not a file): give "
                                f"the path of a Markdown post, a sphinx-gallery .py or an "
                                f".ipynb")
    fmt = tutorial_format(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise NotATutorialError(f"tutorial {path} is not UTF-8 text: give a Markdown post, "
                                f"a sphinx-gallery .py or an .ipynb") from None
    reader = {"markdown": markdown.parse, "gallery": gallery.parse,
              "notebook": notebook.parse}[fmt]
    pieces = reader(text, str(path))
    blocks = tuple(Block(i, code, expected, line, fmt)
                   for i, (code, expected, line) in enumerate(pieces, start=1))
    if not blocks:
        raise NotATutorialError(f"{path} holds no code block (read as {fmt}): is it a "
                                f"tutorial? Markdown needs ```python fences, a gallery "
                                f"script code between its comment blocks, a notebook code "
                                f"cells")
    return Tutorial(path, fmt, blocks)
