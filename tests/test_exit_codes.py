"""Exit codes that mean one thing: docs/exit-codes.md lists every code errors.py defines,
each command's ``--help`` lists the codes the table gives it (and cites no source file),
and "not judged" is 8 in ``accept --baseline`` as in ``compare``, ``fleet`` and ``ab``
(their own tests: test_compare_html.py, test_fleet.py, test_ab.py).

The accept run here is the in-process one of test_acceptance_cli.py: real catalog cases,
figures made up by its FakeBench."""

from __future__ import annotations

import argparse
import inspect
import itertools
import re
from pathlib import Path

import pytest
from test_acceptance_cli import (
    STEP_64,
    FakeBench,
    accept,
    fake_steps,
    quiet_machine,
    spec_file,
)

from blitzbench import errors
from blitzbench.cli import COMMANDS, build_parser
from blitzbench.runner import steps

__all__ = ["fake_steps", "quiet_machine"]  # fixtures used here, defined there

DOCS = Path(__file__).parents[1] / "docs" / "exit-codes.md"
ROW = re.compile(r"^\| (\d+) \| (.+) \| ([^|]+) \|$", re.M)
#: a source file cited in help text (``results/compare.py``): a reader of --help has none
SOURCE_FILE = re.compile(r"\b[\w-]+/[\w/-]*\.py\b")


def _table() -> dict[int, set[str]]:
    """code -> the commands the docs' table says return it."""
    table = {}
    for code, _, commands in ROW.findall(DOCS.read_text()):
        names = {c.strip() for c in commands.split(",")}
        table[int(code)] = set(COMMANDS) if names == {"every command"} else names
    return table


def _defined_codes() -> set[int]:
    constants = {value for name, value in vars(errors).items() if name.startswith("EXIT_")}
    raised = {cls.exit_code for _, cls in inspect.getmembers(errors, inspect.isclass)
              if issubclass(cls, errors.BlitzError)}
    return constants | raised


def _help(command: str) -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return " ".join(sub.choices[command].format_help().split())


def test_the_table_lists_every_code_and_every_command() -> None:
    table = _table()
    assert set(table) == _defined_codes()
    assert set().union(*table.values()) == set(COMMANDS)
    assert table[errors.EXIT_NOT_JUDGED] == {"accept", "fleet", "compare", "ab"}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_help_lists_its_exit_codes_and_cites_no_source_file(command: str) -> None:
    text = _help(command)
    assert not SOURCE_FILE.search(text), SOURCE_FILE.search(text)
    assert "Exit codes:" in text
    said = text.split("Exit codes:", 1)[1]
    codes = [code for code, commands in _table().items() if command in commands]
    missing = [code for code in codes if not re.search(rf"(^|[;:,] |\b){code} ", said)]
    assert not missing, f"{command} --help leaves out {missing}"


def test_a_noisy_figure_against_the_baseline_is_not_judged_not_passed(
        tmp_path: Path, fake_steps, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``accept --baseline``: the baseline rule's figure too spread to tell 10% is NOISY,
    the verdict INCONCLUSIVE, the exit 8 (not 0, not 1)."""
    assert accept(tmp_path, "--spec", str(spec_file(tmp_path)), "--save-baseline") == 0
    (saved,) = (tmp_path / "reports" / "baselines").iterdir()
    baseline_spec = tmp_path / "baseline.toml"
    baseline_spec.write_text(f'[[rule]]\nid = "no-slower"\nmetric = "{STEP_64}"\n'
                             f'op = "<="\nkind = "baseline"\nbound = 10\n')
    rates = itertools.cycle([700.0, 700.0, 1000.0, 1000.0, 1400.0, 1400.0])

    def drifting(case, earlier=(), repeats=1):  # each repeat of a case at another pace
        fake_steps.images_per_s = next(rates)
        return FakeBench.__call__(fake_steps, case, earlier, repeats)

    monkeypatch.setattr(steps, "_measure", drifting)
    capsys.readouterr()
    code = accept(tmp_path, "--spec", str(baseline_spec), "--baseline", str(saved))
    out = capsys.readouterr().out
    assert "no-slower" in out and "NOISY" in out and "INCONCLUSIVE: " in out
    assert code == errors.EXIT_NOT_JUDGED
