"""Progress of a run on stderr: a bar in a terminal, silent in a log."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

__all__ = ["Advance", "progress"]

Advance = Callable[[str], None]


@contextlib.contextmanager
def progress(total: int, label: str = "accept") -> Iterator[Advance]:
    """A progress bar on stderr while the run goes on; silent when stderr is not a TTY."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(TextColumn(f"[bold]{label}[/]"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TextColumn("{task.description}"),
                   console=Console(stderr=True), disable=not sys.stderr.isatty(),
                   transient=True)
    with bar:
        task = bar.add_task("starting", total=total)
        started = [False]

        def advance(label: str) -> None:
            if started[0]:
                bar.advance(task)
            started[0] = True
            bar.update(task, description=label)

        yield advance
        bar.update(task, completed=total)
