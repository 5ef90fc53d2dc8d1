"""Whose fault an exception is: the install's (a verdict on the tutorial) or the judge's.

FAILS means the tutorial's statement is false on this install, and nothing else may produce
it. A judge that breaks on its own (a bug in blitzbench, a DataLoader worker killed from
outside, memory running out) has not judged: that is ERROR, with the input it broke on.

The line is drawn by where the exception arises: inside torch, torchvision or numpy (the
innermost Python frame is theirs, or an attribute of theirs is gone, as when PyTorch removes
an API) it is an observation of the install; anywhere else it is the judge's. An exception
that torch's C++ core raises straight into a judge's frame cannot be told apart from the
judge's own, so judges wrap calls into torch with :func:`observe`, which turns the library's
exceptions into observations.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["LIBRARY_PACKAGES", "JudgeError", "Observed", "observe", "raised_by_library",
           "where_raised"]

#: Top-level packages whose exceptions are facts about this install.
LIBRARY_PACKAGES = frozenset({"torch", "torchvision", "numpy"})
#: Exceptions from the machine around a judge, never from the statement judged: a worker
#: killed from outside (ConnectionResetError, seen in data.loader), a full disk, memory.
ENVIRONMENT_ERRORS: tuple[type[BaseException], ...] = (OSError, MemoryError)


class JudgeError(Exception):
    """The judge's own code raised on an input: the claim is ERROR, not FAILS."""

    def __init__(self, example: str, cause: BaseException) -> None:
        super().__init__(f"judge raised {type(cause).__name__} on input {example}: {cause}")
        self.example = example
        self.cause = cause


@dataclass(frozen=True)
class Observed:
    """What one call into the library gave: its value, or the exception it raised."""

    value: Any = None
    raised: BaseException | None = None

    @property
    def text(self) -> str:
        """``raised RuntimeError: ...`` or the value's repr, short enough for evidence."""
        if self.raised is not None:
            return f"raised {type(self.raised).__name__}: {self.raised}"[:200]
        return repr(self.value)[:200]


def observe(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Observed:
    """Call ``call`` (a torch, torchvision or numpy callable) and keep what it raised as an
    observation. Pass the library's callable itself, never a lambda of the judge's."""
    try:
        return Observed(value=call(*args, **kwargs))
    except Exception as exc:  # the library's exception is the observation
        return Observed(raised=exc)


def _module_of(value: Any) -> str:
    if isinstance(value, types.ModuleType):
        return value.__name__
    return getattr(type(value), "__module__", "") or ""


def where_raised(exc: BaseException) -> str:
    """``module:line`` of the innermost Python frame the exception passed through."""
    tb = exc.__traceback__
    if tb is None:
        return "unknown"
    while tb.tb_next is not None:
        tb = tb.tb_next
    return f"{tb.tb_frame.f_globals.get('__name__', '?')}:{tb.tb_lineno}"


def raised_by_library(exc: BaseException) -> bool:
    """True when ``exc`` is a fact about torch/torchvision/numpy on this install: raised in
    their code, or a missing attribute (a removed API) of one of their objects."""
    if isinstance(exc, (*ENVIRONMENT_ERRORS, JudgeError)):
        return False
    if isinstance(exc, AttributeError) and hasattr(exc, "obj") \
            and _module_of(exc.obj).split(".")[0] in LIBRARY_PACKAGES:
        return True
    return where_raised(exc).split(".")[0].split(":")[0] in LIBRARY_PACKAGES
