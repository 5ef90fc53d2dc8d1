"""``pytest --blitz-tutorial PATH``: a tutorial's code blocks as test items, one per block
and device (``block-3-line-12[cpu]``), run in order in one namespace per device.

The items pull verdicts from one run per device as they go (the first item starts the
worker), so the report streams. RUNS AS WRITTEN and RUNS WITH A SHIM pass (the shim is
named in the item's properties), OUTPUT DIFFERS and FAILS fail with their one line, NOT
RUN and a device torch cannot see skip with the reason: a block that did not run never
passes. ``--device`` and ``--data-root`` are the blitzbench plugin's options. A path that is
not a tutorial, or a malformed notebook, is a usage error (one line).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from blitzbench.errors import BlitzError

__all__ = ["TutorialBlockItem", "TutorialFile"]

OPTION = "--blitz-tutorial"
TIMEOUT_OPTION = "--blitz-tutorial-timeout"
DEFAULT_TIMEOUT_S = 300.0  # as `blitzbench tutorial` (commands/tutorial.py)
_TUTORIAL = pytest.StashKey[Path]()
_VERDICTS = pytest.StashKey[list]()  # (item label, verdict) in the order items ran


class BlockVerdictFailure(Exception):
    """A block whose verdict is OUTPUT DIFFERS or FAILS."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("blitzbench tutorial")
    group.addoption(OPTION, default=None, metavar="PATH",
                    help="collect a tutorial's code blocks (Markdown post, sphinx-gallery "
                         ".py, .ipynb) as test items, one per block and device")
    group.addoption(TIMEOUT_OPTION, default=DEFAULT_TIMEOUT_S, type=float, metavar="N",
                    help=f"time limit per tutorial block, in seconds (default "
                         f"{DEFAULT_TIMEOUT_S:g})")


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption(OPTION, None)
    if path:
        from blitzbench.tutorial.sources import read_tutorial

        try:
            read_tutorial(Path(path))  # not a tutorial: a usage error before collection
        except BlitzError as exc:
            raise pytest.UsageError(str(exc)) from None
        resolved = Path(path).resolve()
        config.stash[_TUTORIAL] = resolved
        config.stash[_VERDICTS] = []
        config.args[:] = [str(resolved)]  # collect the tutorial, not the testpaths


def _is_tutorial(config: pytest.Config, path: Path) -> bool:
    return _TUTORIAL in config.stash and Path(path).resolve() == config.stash[_TUTORIAL]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Any:
    if file_path.suffix != ".py" and _is_tutorial(parent.config, file_path):
        return TutorialFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> Any:
    """A sphinx-gallery tutorial is a .py: read it as a tutorial, never import it."""
    if _is_tutorial(parent.config, module_path):
        return TutorialFile.from_parent(parent, path=module_path)
    return None


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Every block's verdict in one list, the shims named, as `blitzbench tutorial` says."""
    verdicts = config.stash.get(_VERDICTS, [])
    if not verdicts:
        return
    terminalreporter.section("blitzbench tutorial: block verdicts")
    for label, verdict in verdicts:
        detail = f": {verdict.detail}" if verdict.detail else ""
        terminalreporter.write_line(f"{label}: {verdict.verdict}{detail}")


class TutorialFile(pytest.File):
    """The tutorial: one item per (device, block); one lazy run per device."""

    def collect(self) -> Iterator[TutorialBlockItem]:
        from blitzbench.tutorial.sources import read_tutorial

        try:
            self.tutorial = read_tutorial(self.path)
            self.devices, self.skipped = self._plan()
        except BlitzError as exc:
            raise pytest.UsageError(str(exc)) from None
        self.runs: dict[str, Iterator] = {}
        self.verdicts: dict[str, list] = {}
        for device in [*self.devices, *self.skipped]:
            for block in self.tutorial.blocks:
                yield TutorialBlockItem.from_parent(
                    self, name=f"block-{block.index}-line-{block.line}[{device}]",
                    block=block, device=device)

    def _plan(self) -> tuple[list[str], list[str]]:
        from blitzbench.tutorial.plan import plan_data, plan_devices

        self.data = plan_data(self.config.getoption("--data-root", None))
        return plan_devices(self.config.getoption("--device", "all") or "all", strict=False)

    def verdict(self, device: str, index: int) -> Any:
        """Block ``index``'s verdict on ``device``, running the blocks up to it."""
        from blitzbench.tutorial.verdicts import iter_verdicts

        if device not in self.runs:
            timeout_s = self.config.getoption(TIMEOUT_OPTION, DEFAULT_TIMEOUT_S)
            self.runs[device] = iter_verdicts(self.tutorial, device, self.data, timeout_s)
            self.verdicts[device] = []
        done = self.verdicts[device]
        while len(done) < index:
            done.append(next(self.runs[device]))
        return done[index - 1]

    def teardown(self) -> None:
        for run in self.runs.values():
            run.close()  # ends the generator: its worker's process group is killed


class TutorialBlockItem(pytest.Item):
    def __init__(self, *, block: Any, device: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.block, self.device = block, device

    def runtest(self) -> None:
        from blitzbench.results.tutorial import NOT_RUN, PASSING
        from blitzbench.tutorial.plan import no_cuda_reason

        if self.device in self.parent.skipped:
            pytest.skip(f"{self.device}: {no_cuda_reason()}")
        verdict = self.parent.verdict(self.device, self.block.index)
        self.config.stash[_VERDICTS].append((f"{self.block.label} [{self.device}]", verdict))
        self.user_properties += [("verdict", verdict.verdict), ("seconds", verdict.seconds),
                                 *(("shim", s) for s in verdict.shims)]
        if verdict.verdict == NOT_RUN:
            pytest.skip(f"NOT RUN: {verdict.detail}")
        if verdict.verdict not in PASSING:
            raise BlockVerdictFailure(f"{verdict.verdict}: {verdict.detail}")

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, BlockVerdictFailure):
            return f"{self.block.label} on {self.device}: {excinfo.value}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.block.line - 1, f"{self.block.label} [{self.device}]"
