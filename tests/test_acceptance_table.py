"""The verdict table in a log (200 columns, no terminal): metric and rule names are printed
whole, never folded mid-word, so a reader can copy one into ``--spec`` or grep for it."""

from __future__ import annotations

import io

from rich.console import Console

from blitzbench.acceptance.rules import RuleResult, Status
from blitzbench.acceptance.spec import Rule
from blitzbench.acceptance.table import LOG_WIDTH, print_verdict

LONG_METRIC = "collectives.all_reduce.out_of_place.bytes_268435456.bus_bandwidth_gb_per_s"


def _row(detail: str) -> RuleResult:
    rule = Rule(id="interconnect-busbw", metric=LONG_METRIC, op=">=", bound=0.6)
    return RuleResult(rule=rule, metric=LONG_METRIC, device="cuda:0", status=Status.PASS,
                      measured=123.4, shown="123.4", unit="GB/s", detail=detail)


def test_metric_names_are_not_folded_in_a_log() -> None:
    out = io.StringIO()
    console = Console(file=out, width=LOG_WIDTH, color_system=None)
    print_verdict([_row("a long explanation " * 12)], "ACCEPTED", "verdict", console)
    lines = out.getvalue().splitlines()
    assert any(LONG_METRIC in line for line in lines), out.getvalue()
    assert any("interconnect-busbw" in line for line in lines)
