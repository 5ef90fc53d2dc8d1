"""The errors a user can cause, each with its own exit code.

Anything raised as a :class:`BlitzError` is reported by the CLI as one line naming the
thing and the fix, with no traceback. Bugs raise ordinary exceptions and keep theirs.
"""

from __future__ import annotations

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "BlitzError",
    "DataError",
    "DeviceError",
    "OutputError",
    "ResultsFormatError",
    "UsageError",
]

EXIT_OK = 0
EXIT_FAILED = 1  # a check failed / the machine was rejected
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


class BlitzError(Exception):
    """A user-facing error: one line of text and a distinct exit code."""

    exit_code = 2


class UsageError(BlitzError):
    """Bad option value, malformed spec or baseline, missing run folder."""

    exit_code = 2


class DataError(BlitzError):
    """Missing, truncated or corrupt data set under --data-root."""

    exit_code = 3


class DeviceError(BlitzError):
    """A device that does not exist or is not available on this machine."""

    exit_code = 4


class OutputError(BlitzError):
    """The reports folder cannot be written (permissions, full disk)."""

    exit_code = 5


class ResultsFormatError(BlitzError):
    """A results folder written by a newer blitzbench (format version too high)."""

    exit_code = 6
