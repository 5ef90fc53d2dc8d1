"""Every terminal table at 80, 100 and 160 columns: no line wider than the terminal, no
word broken across lines, every status visible at the start of its row (issue "a
newcomer's first hour": accept's verdict was unreadable below about 160 columns, claims
squeezed its evidence to 7 characters, profile printed ``train_ste|p``).

The tables are drawn from the committed H200 reference run and the committed drift
folders (real records), with a few records made up here where the reference has no such
case (a FAILS claim, a NOISY comparison, an A/B run, a name longer than a line)."""

from __future__ import annotations

import io
import json
import random
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from blitzbench.acceptance import table as acceptance_table
from blitzbench.acceptance.fleet import judge_fleet, load_fleet
from blitzbench.acceptance.rules import RuleResult, Status
from blitzbench.acceptance.spec import Rule
from blitzbench.commands.compare import compare_runs
from blitzbench.commands.fleet import fleet_rows
from blitzbench.report import terminal
from blitzbench.report.ab import print_ab
from blitzbench.report.comparison import status_rows
from blitzbench.report.terminal import (
    StatusRow,
    print_claim_matrix,
    print_profile_summaries,
    print_status_rows,
    wrap_whole,
)
from blitzbench.results.ab import ABRecord, PairedCase, Side
from blitzbench.results.drift import drift_table, read_release_run
from blitzbench.results.names import RESULTS_FILE
from blitzbench.results.paired import judge_record
from blitzbench.results.reader import read_run
from blitzbench.results.records import ClaimCell
from blitzbench.results.tutorial import TutorialResults
from blitzbench.tutorial.render import print_drift, print_runs

ROOT = Path(__file__).parents[1] / "reports" / "reference"
REFERENCE = ROOT / "h200" / "accept-quick"
DRIFT = ROOT / "drift"
WIDTHS = (80, 100, 160)
#: 78 characters: with the 4-column indent of a detail line, wider than 80
LONG_METRIC = ("collectives.all_reduce.out_of_place.bytes_268435456.bus_bandwidth_gb_per_s"
               "_avg")


@dataclass(frozen=True)
class Drawn:
    """A table to draw on a console, the statuses its rows start with, and the words its
    text is made of (each must come out whole)."""

    draw: Callable[[Console], None]
    statuses: tuple[str, ...]
    words: tuple[str, ...]


def _words(texts: Iterable[str]) -> tuple[str, ...]:
    return tuple(word for text in texts for word in text.split())


@pytest.fixture(scope="module")
def reference_copy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The reference run (a format-1 record: median, IQR and rounds) and a copy of it on
    another host with the LeNet step 40% slower and the matmuls' spread 30 times wider:
    SLOWER, SAME and NOISY figures to draw."""
    root = tmp_path_factory.mktemp("runs")
    first = Path(shutil.copytree(REFERENCE, root / "h200-a"))
    data = json.loads((REFERENCE / RESULTS_FILE).read_text())
    for record in data["benchmarks"]:
        if record["benchmark"] == "lenet.train_step":
            record["median_s"] *= 1.4
            record["iqr_s"] *= 1.4
        elif record["benchmark"] == "tensor_ops.matmul":
            record["iqr_s"] *= 30
    data["environment"]["host"] = "other-node"
    second = root / "h200-b"
    second.mkdir()
    (second / RESULTS_FILE).write_text(json.dumps(data))
    return first, second


def _accept_rows() -> list[RuleResult]:
    """The reference's verdict rows, and one of each status with long names and detail."""
    stored = read_run(REFERENCE).results.acceptance
    assert stored is not None
    rows = [RuleResult(Rule(f.rule, f.metric, f.op, f.bound or 0.0), f.metric, f.device,
                       Status(f.status), f.measured, f.shown, f.unit, f.detail)
            for f in stored.findings]
    for status in Status:
        rule = Rule(f"interconnect-busbw-{status.value.lower()}", LONG_METRIC, ">=", 0.6)
        rows.append(RuleResult(rule, LONG_METRIC, "cuda:0", status, 123.4, "123.4", "GB/s",
                               f"measured on {LONG_METRIC} " + "a long explanation " * 9))
    return rows


def _accept() -> Drawn:
    rows = _accept_rows()
    notes = ("the machine was busy while 3 of 59 cases were measured (first: "
             f"{LONG_METRIC} on cuda:0)",)
    texts = [f"{r.rule.id} on {r.device}: {r.shown} (bound {r.bound_text}) {r.metric} - "
             f"{r.detail}" for r in rows]
    return Drawn(lambda c: acceptance_table.print_verdict(rows, "INCONCLUSIVE", "verdict", c,
                                                          notes),
                 tuple(r.status.value for r in rows), _words([*texts, *notes]))


def _claims() -> Drawn:
    cells = list(read_run(REFERENCE).results.claims)
    cells.append(ClaimCell("numpy_bridge.from_numpy_shares_memory", "cpu", "FAILS", "HOLDS",
                           False, "evidence made up here " * 8))
    return Drawn(lambda c: print_claim_matrix(cells, "synthetic", c),
                 tuple(cell.verdict for cell in cells),
                 _words(f"{c.claim} on {c.site} {c.summary}" for c in cells))


def _profile() -> Drawn:
    profiles = [p for p in read_run(REFERENCE).results.profiles]
    assert profiles, "the reference has a profiler capture"
    return Drawn(lambda c: print_profile_summaries(profiles, c),
                 tuple("ERROR" if p.error else "TRACED" for p in profiles),
                 _words(f"{p.workload} on {p.device}" for p in profiles))


def _compare(runs: tuple[Path, Path]) -> Drawn:
    rows = compare_runs(read_run(runs[0]), read_run(runs[1]), 0.05)
    shown = status_rows(rows)
    assert {"SLOWER", "SAME", "NOISY"} <= {r.status for r in shown}
    return Drawn(lambda c: print_status_rows(shown, c), tuple(r.status for r in shown),
                 _words(t for r in shown for t in (r.head, *r.below)))


def _fleet(runs: tuple[Path, Path]) -> Drawn:
    rows = fleet_rows(judge_fleet(load_fleet(list(runs))), show_all=True)
    assert {"DIVERGENT", "WITHIN"} <= {r.status for r in rows}
    return Drawn(lambda c: print_status_rows(rows, c, "nodes: h200-a, other-node"),
                 tuple(r.status for r in rows),
                 _words(t for r in rows for t in (r.head, *r.below)))


def _ab() -> Drawn:
    rng = random.Random(3)
    same = [(t, t * rng.uniform(0.99, 1.01)) for t in (rng.uniform(1, 2) for _ in range(40))]
    wide = [(t, t * rng.uniform(0.5, 1.8)) for t in (rng.uniform(1, 2) for _ in range(12))]
    cases = (PairedCase("lenet.train_step", "cpu", {"batch_size": 64, "variant": "eager"},
                        tuple(a for a, _ in same), tuple(1.3 * b for _, b in same),
                        (False,) * 40),
             PairedCase("tensor_ops.add_out", "cpu", {"scale": "memory", "size": "2^22"},
                        tuple(a for a, _ in wide), tuple(b for _, b in wide), (True,) * 12),
             PairedCase("loading.dataloader", "cpu", {"batch_size": 4, "num_workers": 2},
                        error="side B's worker ended (signal SIGKILL) " * 3))
    record = ABRecord(Side("A", ("python",)), Side("B", ("python",)), 1, "quick", 0, 0.05,
                      cases, complete=True)
    judged = judge_record(record)
    return Drawn(lambda c: print_ab(record, show_all=True, console=c),
                 tuple(c.verdict.value for _, c in judged),
                 _words(f"{case.prefix} on {case.device}" for case, _ in judged))


def _tutorial() -> Drawn:
    results = TutorialResults.from_json(json.loads((DRIFT / "torch213" / "tutorial.json")
                                                   .read_text()))
    runs = [run for run in results.runs if not run.skipped]
    return Drawn(lambda c: print_runs(results.runs, c),
                 tuple(b.verdict.split()[0] for run in runs for b in run.blocks),
                 _words(b.detail for run in runs for b in run.blocks))


def _drift() -> Drawn:
    table = drift_table([read_release_run(f) for f in sorted(DRIFT.iterdir()) if f.is_dir()])
    latest = [next(cell.verdict for release in reversed(table.releases)
                   if (cell := table.cell(key, release)) is not None) for key in table.rows]
    return Drawn(lambda c: print_drift(table, c), tuple(v.split()[0] for v in latest),
                 _words(table.rows))


TABLES = ("accept", "claims", "profile", "compare", "fleet", "ab", "tutorial", "drift")


def _drawn(name: str, runs: tuple[Path, Path]) -> Drawn:
    if name in ("compare", "fleet"):
        return {"compare": _compare, "fleet": _fleet}[name](runs)
    return {"accept": _accept, "claims": _claims, "profile": _profile, "ab": _ab,
            "tutorial": _tutorial, "drift": _drift}[name]()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", TABLES)
def test_every_table_reads_at_this_width(name: str, width: int,
                                         reference_copy: tuple[Path, Path],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    drawn = _drawn(name, reference_copy)
    out = io.StringIO()
    drawn.draw(Console(file=out, width=width, color_system=None))
    text = out.getvalue() + capsys.readouterr().out  # ab prints its summary line itself
    lines = text.splitlines()
    too_wide = [line for line in lines if cell_len(line) > width and not line.startswith(
        "ab: ")]  # ab's summary line is for scripts: one line, never wrapped
    assert not too_wide, too_wide[:3]
    tokens = set(text.split())
    broken = sorted({w for w in drawn.words if cell_len(w) <= width and w not in tokens})
    assert not broken, broken[:5]
    missing = sorted({s for s in drawn.statuses if not any(line.startswith(s)
                                                           for line in lines)})
    assert not missing, missing


def test_a_name_longer_than_the_line_is_cut_after_its_dots_only() -> None:
    lines = wrap_whole(f"see {LONG_METRIC} now", 40, 4)
    assert all(len(line) <= 40 for line in lines)
    pieces = [line.strip() for line in lines if line.strip() not in ("see", "now")]
    assert "".join(pieces) == LONG_METRIC
    assert all(piece.endswith(".") for piece in pieces[:-1]), pieces


def test_a_long_name_moves_left_rather_than_break() -> None:
    (line,) = wrap_whole(LONG_METRIC, 80, 4)
    assert line.strip() == LONG_METRIC and len(line) == 80


def test_the_verdict_table_wraps_as_the_other_tables_do() -> None:
    """acceptance/ cannot import report/ (tests/test_imports.py): both take their wrapping
    and their log width from the one module below them."""
    assert acceptance_table.wrap_whole is terminal.wrap_whole is wrap_whole
    assert acceptance_table.LOG_WIDTH == terminal.LOG_WIDTH


def test_a_status_row_keeps_its_status_when_the_name_is_too_long_to_sit_beside() -> None:
    out = io.StringIO()
    print_status_rows([StatusRow("NOISY", "", LONG_METRIC, ("why",))],
                      Console(file=out, width=80, color_system=None))
    first, second, third = out.getvalue().splitlines()
    assert first == "NOISY" and second.strip() == LONG_METRIC and third == "    why"
