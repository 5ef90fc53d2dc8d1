"""A Jupyter notebook (nbformat 4 JSON), read with the json module: its code cells and
the text they stored as output (``stream`` on stdout, and ``execute_result`` /
``display_data`` as ``text/plain``). A file that is not JSON, or not a notebook, is one
:class:`~blitzbench.errors.NotebookFormatError` line naming where it breaks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from blitzbench.errors import NotebookFormatError

__all__ = ["parse"]

NBFORMAT_MAJOR = 4  # nbformat 4 has been the notebook format since Jupyter 2015
TEXT_OUTPUTS = ("execute_result", "display_data")


def _joined(value: Any) -> str:
    """nbformat stores multi-line strings as a list of lines or as one string."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    if isinstance(value, str):
        return value
    raise ValueError("a source or text must be a string or a list of strings")


def _output_text(outputs: Any) -> str | None:
    if not isinstance(outputs, list):
        raise ValueError("outputs must be a list")
    pieces = []
    for output in outputs:
        if not isinstance(output, Mapping):
            raise ValueError("an output must be an object")
        kind = output.get("output_type")
        if kind == "stream" and output.get("name") == "stdout":
            pieces.append(_joined(output.get("text", "")))
        elif kind in TEXT_OUTPUTS and "text/plain" in (output.get("data") or {}):
            pieces.append(_joined(output["data"]["text/plain"]) + "\n")
    text = "".join(pieces)
    return text.rstrip("\n") if text.strip() else None


def _cells(text: str, where: str) -> list[Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookFormatError(f"notebook {where} is not valid JSON (line {exc.lineno}, "
                                  f"column {exc.colno}: {exc.msg}): re-save it from Jupyter "
                                  f"or repair the file") from None
    if not isinstance(document, Mapping) or not isinstance(document.get("cells"), list):
        raise NotebookFormatError(f"notebook {where} has no list of cells: it is not an "
                                  f"nbformat {NBFORMAT_MAJOR} notebook")
    major = document.get("nbformat")
    if major != NBFORMAT_MAJOR:
        raise NotebookFormatError(f"notebook {where} is nbformat {major!r}; blitzbench reads "
                                  f"nbformat {NBFORMAT_MAJOR}: convert it with `jupyter "
                                  f"nbconvert --to notebook`")
    return document["cells"]


def parse(text: str, where: str = "") -> list[tuple[str, str | None, int]]:
    """(code, expected output or None, cell number) for every non-empty code cell."""
    blocks = []
    for number, cell in enumerate(_cells(text, where), start=1):
        try:
            if not isinstance(cell, Mapping):
                raise ValueError("a cell must be an object")
            if cell.get("cell_type") != "code":
                continue
            code = _joined(cell.get("source", ""))
            expected = _output_text(cell.get("outputs", []))
        except ValueError as exc:
            raise NotebookFormatError(f"notebook {where} cell {number}: {exc}: re-save it "
                                      f"from Jupyter or repair the file") from None
        if code.strip():
            blocks.append((code.rstrip("\n") + "\n", expected, number))
    return blocks
