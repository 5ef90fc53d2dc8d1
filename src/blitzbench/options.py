"""Command-line options shared by several subcommands, parsed once, checked once.

Parsing here is syntax only and loads no torch (``--help`` stays fast): ``--device`` becomes
a :class:`DeviceChoice`, which the runner checks against the machine once
(runner/session.py); ``-k`` becomes a :class:`CaseFilter` every part of a run reads.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from blitzbench.errors import DeviceError
from blitzbench.results.names import DEVICE_CHOICES_HELP

__all__ = ["EVERYTHING", "CaseFilter", "DeviceChoice", "add_case_filter", "add_data_root",
           "add_device", "add_out", "add_threshold", "case_filter", "device_choice",
           "positive_int"]

T = TypeVar("T")


@dataclass(frozen=True)
class DeviceChoice:
    """A ``--device`` value, syntax checked: ``all``, ``cpu``, ``cuda`` or ``cuda:N``.

    Whether the machine has that device is the runner's question (it needs torch)."""

    text: str

    @property
    def cpu_only(self) -> bool:
        return self.text == "cpu"

    @property
    def index(self) -> int | None:
        """N of ``cuda:N`` (None for ``all``, ``cpu`` and a bare ``cuda``)."""
        return int(self.text.split(":", 1)[1]) if self.text.startswith("cuda:") else None

    def __str__(self) -> str:
        return self.text


def device_choice(text: str) -> DeviceChoice:
    """argparse type of ``--device``: an unknown device is a DeviceError (exit 4), raised
    while the command line is parsed, before anything is imported or measured."""
    cleaned = (text or "all").strip().lower()
    kind, _, index = cleaned.partition(":")
    if cleaned in ("all", "cpu", "cuda") or (kind == "cuda" and index.isdigit()):
        return DeviceChoice(cleaned)
    raise DeviceError(f"unknown device {text!r}: use {DEVICE_CHOICES_HELP}")


def add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", type=device_choice, default=DeviceChoice("all"),
                        help=f"devices: {DEVICE_CHOICES_HELP}")


@dataclass(frozen=True)
class CaseFilter:
    """``-k PATTERN``: the benchmark cases, claims and world figures a run keeps, by a
    regular expression searched in their names (``tensor_ops.add_out[scale=tutorial,
    size=5x3]``, ``tensors.add_forms``, ``collectives.all_reduce``). No pattern keeps all."""

    pattern: str | None = None

    @property
    def narrowed(self) -> bool:
        return self.pattern is not None

    def matches(self, name: str) -> bool:
        return self.pattern is None or re.search(self.pattern, name) is not None

    def keep(self, items: Iterable[T], name: Callable[[T], str]) -> list[T]:
        """``items`` whose ``name`` matches, in order."""
        return [item for item in items if self.matches(name(item))]


#: The filter that keeps everything (no ``-k``).
EVERYTHING = CaseFilter()


def case_filter(text: str) -> CaseFilter:
    """argparse type of ``-k``: a regular expression that compiles."""
    try:
        re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a regular expression ({exc})"
                                         ) from None
    return CaseFilter(text)


def add_case_filter(parser: argparse.ArgumentParser, what: str) -> None:
    """``-k PATTERN`` (default: everything)."""
    parser.add_argument("-k", dest="select", type=case_filter, default=EVERYTHING,
                        metavar="PATTERN",
                        help=f"only the {what} whose name matches this regular expression "
                             f"(searched, e.g. 'lenet|add_out'); default: all")


def add_data_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", type=Path, default=None, metavar="DIR",
                        help="folder holding cifar-10-batches-py/ (default: a synthetic "
                             "CIFAR-10 in the real on-disk format, written once to the cache)")


def add_out(parser: argparse.ArgumentParser, default_help: str = "reports") -> None:
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help=f"reports folder (default: $BLITZBENCH_REPORTS or {default_help})")


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    return _checked(text, int, "an integer", lambda v: v >= 1,
                    "{value} is invalid: use a positive integer")

def add_threshold(parser: argparse.ArgumentParser, default_pct: float, meaning: str) -> None:
    """``--threshold PCT``: the smallest change that counts, as a percentage (0-100)."""
    parser.add_argument("--threshold", type=_percentage, default=default_pct, metavar="PCT",
                        help=f"{meaning}, in percent (default {default_pct:g})")


def _percentage(text: str) -> float:
    """argparse type: a percentage strictly between 0 and 100."""
    return _checked(text, float, "a number", lambda v: 0 < v < 100,
                    "{value:g} is out of range: use a percentage between 0 and 100")


def _checked(text: str, kind: Callable[[str], Any], kind_name: str,
             valid: Callable[[Any], bool], problem: str) -> Any:
    """``kind(text)`` when it parses and is ``valid``; else argparse's one-line error."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {kind_name}") from None
    if not valid(value):
        raise argparse.ArgumentTypeError(problem.format(value=value))
    return value
