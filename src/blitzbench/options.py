"""Command-line options shared by several subcommands, parsed once, checked once."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from blitzbench.results.names import DEVICE_CHOICES_HELP

__all__ = ["add_data_root", "add_device", "add_out", "add_threshold", "positive_int"]


def add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="all", help=f"devices: {DEVICE_CHOICES_HELP}")


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
