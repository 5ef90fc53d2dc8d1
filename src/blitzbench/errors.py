"""The errors a user can cause, each with its own exit code.

Anything raised as a :class:`BlitzError` is reported by the CLI as one line naming the
thing and the fix, with no traceback. Bugs raise ordinary exceptions and keep theirs.
"""

from __future__ import annotations

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_JUDGED",
    "EXIT_OK",
    "BlitzError",
    "BlockCrashedError",
    "BlockFailedError",
    "BlockInputError",
    "BlockOutsideWriteError",
    "BlockTimeoutError",
    "DataError",
    "DeviceError",
    "NotATutorialError",
    "NotebookFormatError",
    "OutputError",
    "RankFailedError",
    "ResultsFormatError",
    "SideStartError",
    "UsageError",
    "VersionMismatchError",
    "error_line",
]

EXIT_OK = 0
EXIT_FAILED = 1  # a finding: a check failed, the machine was rejected, a figure SLOWER
#: Nothing failed, but something could not be judged: a figure NOISY, a claim whose judge
#: broke (ERROR), a rule INCONCLUSIVE on a busy machine. Never a pass, never a failure:
#: the same number in every command, so a script can tell a finding from an inconclusive
#: run.
EXIT_NOT_JUDGED = 8
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


def error_line(message: str) -> str:
    """The one line a user error prints on stderr."""
    return f"blitzbench: error: {message}"


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


class VersionMismatchError(BlitzError):
    """The ranks of one torchrun job run different torch, blitzbench or Python versions:
    their figures would not be comparable, so the job is refused before it measures."""

    exit_code = 7


class SideStartError(BlitzError):
    """A side of ``blitzbench ab`` cannot start its worker: its interpreter cannot import
    blitzbench or torch, or it cannot build the cases (before any run folder exists)."""

    exit_code = 9


class RankFailedError(BlitzError):
    """A rank of a torchrun job died or failed before rank 0 gathered its records: the run
    folder is kept, marked incomplete, naming the rank (a failed run, hence exit 1)."""

    exit_code = EXIT_FAILED


class NotATutorialError(BlitzError):
    """``blitzbench tutorial PATH``: the path does not exist, or holds no code block in any
    format blitzbench reads (Markdown post, sphinx-gallery .py, .ipynb)."""

    exit_code = 20


class NotebookFormatError(BlitzError):
    """An .ipynb that is not valid JSON or not an nbformat 4 notebook."""

    exit_code = 21


class BlockFailedError(BlitzError):
    """A tutorial block raised (or printed something else than the tutorial shows): the
    run's table is printed, the blocks after a failing one are reported NOT RUN."""

    exit_code = EXIT_FAILED


class BlockTimeoutError(BlockFailedError):
    """A tutorial block ran past its time limit and its worker was killed."""

    exit_code = 22


class BlockCrashedError(BlockFailedError):
    """A tutorial block ended its own process (os._exit, a signal, a segfault)."""

    exit_code = 23


class BlockInputError(BlockFailedError):
    """A tutorial block called input(); its stdin is closed."""

    exit_code = 24


class BlockOutsideWriteError(BlockFailedError):
    """A tutorial block wrote (or removed) a file outside its temporary working folder."""

    exit_code = 25
