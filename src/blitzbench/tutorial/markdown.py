"""The Markdown-like post: fenced ``python`` blocks are code, and a fenced block is the
output of the code block before it when the post marks it so.

How the shared post marks output (read from it, not assumed): the output is itself fenced
as ``python``, and the prose line right before it is a label, ``<u>输出</u>：`` ("output"),
with the colon sometimes inside the underline and sometimes outside. So a fence is output
when the last prose line before it is such a label, or when it carries an output language
(``output``, ``text``, none) and follows a code block with nothing but blank lines between.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["parse"]

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([\w+-]*)")
CODE_LANGUAGES = frozenset({"python", "py", "python3", "ipython", "ipython3"})
OUTPUT_LANGUAGES = frozenset({"", "output", "out", "text", "console", "none"})
TAG = re.compile(r"<[^>]+>|\*\*|__")
#: "输出" is Chinese for output; "结果" result; English labels as other posts write them.
OUTPUT_LABEL = re.compile(r"^(输出|运行结果|结果|outputs?|out|result)\s*[:：]?\s*$",
                          re.IGNORECASE)


@dataclass
class _Fence:
    language: str
    start: int  # first line inside the fence, 1-based
    lines: list[str] = field(default_factory=list)
    label_before: bool = False  # the last prose line before it was an output label
    right_after_code: bool = False  # only blank lines since a code fence closed


def _fences(text: str) -> list[_Fence]:
    """Every fenced block with what the prose before it says."""
    fences: list[_Fence] = []
    current: _Fence | None = None
    marker, last_prose, blank_since_code = "", "", False
    for number, line in enumerate(text.splitlines(), start=1):
        if current is not None:
            if line.strip().startswith(marker) and not line.strip().strip(marker[0]):
                fences.append(current)
                blank_since_code = current.language in CODE_LANGUAGES and \
                    not current.label_before
                current, last_prose = None, ""
            else:
                current.lines.append(line)
            continue
        opened = FENCE.match(line)
        if opened:
            marker = opened.group(1)
            label = bool(OUTPUT_LABEL.match(TAG.sub("", last_prose).strip()))
            current = _Fence(opened.group(2).lower(), number + 1, label_before=label,
                             right_after_code=blank_since_code)
        elif line.strip():
            last_prose, blank_since_code = line, False
    return fences


def _is_output(fence: _Fence) -> bool:
    return fence.label_before or (fence.right_after_code
                                  and fence.language in OUTPUT_LANGUAGES)


def parse(text: str, where: str = "") -> list[tuple[str, str | None, int]]:
    """(code, expected output or None, first line) for every code block of the post."""
    blocks: list[list] = []
    for fence in _fences(text):
        body = "\n".join(fence.lines)
        if _is_output(fence) and blocks:
            previous = blocks[-1][1]
            blocks[-1][1] = body if previous is None else f"{previous}\n{body}"
        elif fence.language in CODE_LANGUAGES and body.strip():
            blocks.append([body + "\n", None, fence.start])
    return [(code, expected, line) for code, expected, line in blocks]
