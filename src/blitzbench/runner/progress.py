"""Progress of a run on stderr: a bar in a terminal, a line per section in a log.

A run is a list of sections (pre-flight, claims, tutorial, benchmarks, profile), each with
the steps it advances by and the seconds it is expected to take: claims and the tutorial's
blocks are one step each but weigh tens of seconds, a benchmark repeat well under one, so
counting steps alone put 267 steps on the bar and spent a third of the run on two of them.

The estimate of what is left is the plan's expected seconds still to come, scaled by how
this machine has kept to the plan so far (elapsed over the expected seconds of the work
done): a machine twice as slow as the one the plan was measured on is told twice the
time after its first section.

When stderr is not a terminal (a CI log, a pipe) rich's bar is silent; a line is printed
instead when a section starts, and within a section of many steps every
:data:`LINE_EVERY_S` seconds, each with the elapsed time and the estimate.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TextIO

__all__ = ["LINE_EVERY_S", "Advance", "Section", "Tracker", "accept_sections", "progress"]

Advance = Callable[[str], None]

#: In a log, a long section reports at most this often (seconds).
LINE_EVERY_S = 10.0

#: Seconds each section of ``accept --level quick --device cpu --force`` took on the
#: project's 2-core VM (2026-12-06, a neighbour busy): pre-flight 3.1 s, claims 58.2 s,
#: tutorial 51.6 s, benchmarks 165.3 s over 234 case repeats, profile 0.4 s. Only their
#: ratios matter: the estimate scales them by the machine's own pace (module docstring).
CLAIMS_S = 58.2
TUTORIAL_S = 51.6
BENCHMARK_STEP_S = 165.3 / 234
PROFILE_S = 0.4
#: a section whose weight was not measured (the GPU stress, instruction counts)
UNMEASURED_S = 10.0


@dataclass(frozen=True)
class Section:
    """A part of a run: the label its first step starts with (None: any step no other
    section claims, as a benchmark case's ``lenet.train_step cpu (repeat 1/3)``), how many
    steps it advances by and the seconds it is expected to take in all."""

    prefix: str | None
    name: str
    steps: int = 1
    seconds: float = UNMEASURED_S
    #: False for a section whose length says nothing of the machine's pace: the
    #: pre-flight, which waits out a lagging load average (up to minutes) doing nothing.
    paced: bool = True


def accept_sections(case_steps: int, *, preflight_s: float, tutorial: bool = True,
                    extra: Sequence[str] = ()) -> list[Section]:
    """``accept``'s plan: its sections in order, with their measured weights; ``extra``
    names optional sections (by the label they start with) that come before the profile."""
    sections = [Section("pre-flight", "pre-flight", 1, preflight_s, paced=False),
                Section("claims", "claims", 1, CLAIMS_S)]
    if tutorial:
        sections.append(Section("tutorial", "tutorial", 1, TUTORIAL_S))
    sections.append(Section(None, "benchmarks", case_steps, case_steps * BENCHMARK_STEP_S))
    sections += [Section(prefix, prefix.split(":")[0]) for prefix in extra]
    return [*sections, Section("profile", "profile", 1, PROFILE_S)]


class Tracker:
    """Where a run stands in its plan: which section, the steps done, and the estimate;
    in a log, the lines to print (see the module docstring)."""

    def __init__(self, sections: Sequence[Section], label: str, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sections, self.label, self.stream, self.clock = list(sections), label, stream, clock
        self.started = self.last_line = clock()
        self.index, self.done_in_section, self.skipped_s = -1, 0, 0.0
        #: seconds spent in, and planned for, the sections left that are not paced
        self.unpaced_s, self.unpaced_planned_s, self.entered = 0.0, 0.0, self.started

    @property
    def total_steps(self) -> int:
        return sum(s.steps for s in self.sections)

    def advance(self, label: str) -> None:
        """The step ``label`` begins (the one before it has ended)."""
        found = self._section_of(label)
        if found != self.index:
            self._enter(found)
        else:
            self.done_in_section += 1
            self._maybe_line(label)

    def expected_done_s(self) -> float:
        """Expected seconds of the work finished so far, by the plan."""
        if self.index < 0:
            return 0.0
        before = sum(s.seconds for s in self.sections[:self.index]) - self.skipped_s
        current = self.sections[self.index]
        return before + current.seconds * min(1.0, self.done_in_section / current.steps)

    def left_s(self) -> float:
        """The estimate of the seconds left: the plan's rest at this machine's pace."""
        planned = sum(s.seconds for s in self.sections) - self.skipped_s
        rest = max(0.0, planned - self.expected_done_s())
        done = self.expected_done_s() - self.unpaced_planned_s
        elapsed = self.clock() - self.started - self.unpaced_s
        if self.index >= 0 and not self.sections[self.index].paced:
            done -= self.sections[self.index].seconds
            elapsed -= self.clock() - self.entered
        return rest * (elapsed / done) if done > 0 and elapsed > 0 else rest

    def line(self, what: str) -> str:
        elapsed = self.clock() - self.started
        return (f"{self.label}: {what}; {elapsed:.0f} s elapsed, about "
                f"{self.left_s():.0f} s left")

    def finish(self) -> None:
        if self.stream is not None:
            elapsed = self.clock() - self.started
            print(f"{self.label}: done in {elapsed:.0f} s", file=self.stream, flush=True)

    def _section_of(self, label: str) -> int:
        """The section a step's label belongs to: the first later one that claims it by its
        prefix, else the current one while it has steps left, else the next catch-all."""
        later = range(self.index + 1, len(self.sections))
        for i in later:
            prefix = self.sections[i].prefix
            if prefix is not None and label.startswith(prefix):
                return i
        current = self.sections[self.index] if self.index >= 0 else None
        if current is not None and self.done_in_section + 1 < current.steps:
            return self.index
        return next((i for i in later if self.sections[i].prefix is None), self.index)

    def _enter(self, index: int) -> None:
        """Leave the current section (its unfinished steps will not come: a busy machine
        measures no benchmark) and any skipped between, and start section ``index``."""
        if self.index >= 0:
            current = self.sections[self.index]
            self.skipped_s += current.seconds * max(0.0, 1 - (self.done_in_section + 1)
                                                    / current.steps)
            if not current.paced:
                self.unpaced_s += self.clock() - self.entered
                self.unpaced_planned_s += current.seconds
        self.entered = self.clock()
        self.skipped_s += sum(s.seconds for s in self.sections[self.index + 1:index])
        self.index, self.done_in_section = index, 0
        section = self.sections[index]
        what = f"{section.name} (section {index + 1} of {len(self.sections)}"
        what += f", {section.steps} steps)" if section.steps > 1 else ")"
        self._print(what)

    def _maybe_line(self, label: str) -> None:
        if self.stream is None or self.clock() - self.last_line < LINE_EVERY_S:
            return
        section = self.sections[self.index]
        self._print(f"{section.name} {self.done_in_section + 1}/{section.steps}: {label}")

    def _print(self, what: str) -> None:
        if self.stream is not None:
            print(self.line(what), file=self.stream, flush=True)
            self.last_line = self.clock()


@contextlib.contextmanager
def progress(total: int | Sequence[Section], label: str = "accept") -> Iterator[Advance]:
    """Progress on stderr while the run goes on: a bar in a terminal, lines in a log.
    ``total`` is the run's plan (its sections), or a number of equal steps."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    sections = [Section(None, "run", total, float(total))] if isinstance(total, int) \
        else list(total)
    terminal = sys.stderr.isatty()
    tracker = Tracker(sections, label, stream=None if terminal else sys.stderr)
    bar = Progress(TextColumn(f"[bold]{label}[/]"), BarColumn(), TimeElapsedColumn(),
                   TextColumn("{task.description}"), TimeRemainingColumn(),
                   console=Console(stderr=True), disable=not terminal, transient=True)
    with bar:
        task = bar.add_task("starting", total=sum(s.seconds for s in sections) or 1.0)

        def advance(step: str) -> None:
            tracker.advance(step)
            bar.update(task, completed=tracker.expected_done_s(), description=step)

        yield advance
        tracker.finish()
        bar.update(task, completed=bar.tasks[0].total)
