"""Printed output read back into items: a tensor's repr parsed into shape, dtype,
``requires_grad``, ``grad_fn`` and values; any other line normalized so that what changes
from run to run (object addresses, timestamps, download progress) does not count.

Reading text, not tensors, keeps this side free of torch: the tutorial's output is text.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

__all__ = ["PrintedTensor", "TextLine", "parse_printed"]

NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|inf|nan)"
                    r"|True|False")
KWARG = re.compile(r"(\w+)=(<[^>]*>|'[^']*'|\([^)]*\)|[^,]+)")
ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?")
SIZE = re.compile(r"torch\.Size\(\s*[\[(]([^\])]*)[\])]\s*\)")
#: Lines a download or a progress bar prints: torchvision's messages and tqdm's bars.
PROGRESS = re.compile(r"^(Downloading|Extracting|Files already downloaded|Using downloaded)"
                      r"|\d+%\|.*\|")


@dataclass(frozen=True)
class PrintedTensor:
    text: str
    shape: tuple[int, ...] | None  # None when torch summarized it ("...")
    values: tuple[float, ...] | None
    #: half a unit of each value's last printed digit (0 for "27.": torch prints a float
    #: without decimals only when it is whole)
    half_units: tuple[float, ...] | None
    dtype: str | None  # printed only when not the default
    requires_grad: bool
    grad_fn: str | None

    def describe(self) -> str:
        parts = [f"shape {self.shape}" if self.shape is not None else "summarized"]
        parts += [f"dtype={self.dtype}"] if self.dtype else []
        parts += ["requires_grad"] if self.requires_grad else []
        parts += [f"grad_fn={self.grad_fn}"] if self.grad_fn else []
        return f"tensor({', '.join(parts)})"


@dataclass(frozen=True)
class TextLine:
    text: str


def _closing(text: str, start: int) -> int:
    """Index of the parenthesis closing the one opened just before ``start``."""
    depth = 1
    for index in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            return index
    return len(text)


def _data_end(inner: str) -> int:
    if not inner.startswith("["):
        return inner.find(",") if "," in inner else len(inner)
    depth = 0
    for index, char in enumerate(inner):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if depth == 0:
            return index + 1
    return len(inner)


def _half_unit(token: str) -> float:
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2]) if "." in mantissa else 0
    if decimals == 0:
        return 0.0
    return 0.5 * 10.0 ** (int(exponent or 0) - decimals)


def _value(token: str) -> float:
    return float(token == "True") if token in ("True", "False") else float(token)


def _shape_and_values(data: str) -> tuple:
    if "..." in data:
        return None, None, None
    tokens = [m.group() for m in NUMBER.finditer(data)]
    nested = ast.literal_eval(NUMBER.sub("0", data)) if data.strip() else None
    shape: list[int] = []
    while isinstance(nested, list):
        shape.append(len(nested))
        nested = nested[0] if nested else None
    return (tuple(shape), tuple(_value(t) for t in tokens),
            tuple(_half_unit(t) for t in tokens))


def _tensor(text: str) -> PrintedTensor:
    inner = text[len("tensor("):-1].strip()
    cut = _data_end(inner)
    kwargs = dict(KWARG.findall(inner[cut:]))
    try:
        shape, values, half_units = _shape_and_values(inner[:cut])
    except (ValueError, SyntaxError):
        shape, values, half_units = None, None, None
    if "size" in kwargs:  # an empty tensor prints its shape: tensor([], size=(0, 3))
        shape = tuple(int(n) for n in re.findall(r"\d+", kwargs["size"]))
    grad_fn = kwargs.get("grad_fn", "").strip("<>") or None
    return PrintedTensor(text=" ".join(text.split()), shape=shape, values=values,
                         half_units=half_units,
                         dtype=kwargs.get("dtype"), grad_fn=grad_fn,
                         requires_grad=kwargs.get("requires_grad") == "True")


def normalize_line(line: str) -> str:
    line = ADDRESS.sub("0x…", line)
    line = TIMESTAMP.sub("<time>", line)
    line = SIZE.sub(lambda m: f"torch.Size([{', '.join(m.group(1).replace(',', ' ').split())}])",
                    line)
    return " ".join(line.split())


def _text_items(text: str) -> list[TextLine]:
    lines = (normalize_line(line) for line in text.splitlines())
    return [TextLine(line) for line in lines if line and not PROGRESS.search(line)]


def parse_printed(text: str) -> list[PrintedTensor | TextLine]:
    """The tensors and the other lines of printed text, in order."""
    items: list[PrintedTensor | TextLine] = []
    position = 0
    for found in re.finditer(r"\btensor\(", text):
        if found.start() < position:
            continue
        end = _closing(text, found.end())
        items += _text_items(text[position:found.start()])
        items.append(_tensor(text[found.start():end + 1]))
        position = end + 1
    return items + _text_items(text[position:])
