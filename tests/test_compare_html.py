"""`blitzbench compare RUN_A RUN_B --html` and `blitzbench report RUN --against BASELINE`:
the comparison as a page, rendering exactly the rows compare computed (issue 12).

Every figure here is made up in the test."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from test_compare_cli import run_folder

from blitzbench.cli import main
from blitzbench.report.comparison import comparison_plot, group_unit

ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)


def _rows(page: str) -> dict[str, list[str]]:
    """benchmark -> the row's cell texts, from the page's tables."""
    found = {}
    for row in ROW.findall(page):
        cells = [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in CELL.findall(row)]
        if cells:
            found[cells[0]] = cells
    return found


def test_the_page_shows_what_compare_computed(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    a, b = run_folder(tmp_path, "a", 0.010, 1e-5), run_folder(tmp_path, "b", 0.0125, 1e-5)
    assert main(["compare", str(a), str(b), "--format", "json", "--html"]) == 1
    computed = {f["benchmark"]: f for f in json.loads(capsys.readouterr().out)["figures"]}
    page = (b / "compare-a.html").read_text()
    rows = _rows(page)
    for benchmark, figure in computed.items():
        cells = rows[benchmark]
        assert cells[5] == f"{figure['ratio']:.3f}"
        assert cells[6] == f"{figure['ci_low']:.3f}–{figure['ci_high']:.3f}"
        assert cells[-1] == figure["verdict"]
    step = rows["lenet.train_step"]
    assert step[3:5] == ["10", "12.5"] and step[7] == "+25.0%"  # ms, stated once per group
    assert '<td class="bad">SLOWER</td>' in page and '<td class="muted">SAME</td>' in page
    assert "<h2 id=\"lenet\">lenet</h2>" in page and "A (ms)" in page and "A (µs)" in page
    assert page.count('<img src="data:image/png;base64,') == 1  # the ratio plot, embedded
    assert "1 SLOWER" in page


def test_report_against_a_baseline_writes_the_same_page(tmp_path: Path) -> None:
    a, b = run_folder(tmp_path, "a", 0.010, 1e-5), run_folder(tmp_path, "b", 0.0125, 1e-5)
    assert main(["compare", str(a), str(b), "--html", str(tmp_path / "c.html")]) == 1
    assert main(["report", str(b), "--against", str(a)]) == 0
    strip = re.compile(r"data:image/png;base64,[\w+/=]+")
    assert strip.sub("", (b / "compare-a.html").read_text()) == strip.sub(
        "", (tmp_path / "c.html").read_text())


def test_different_hardware_is_refused_in_one_line(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    a, b = run_folder(tmp_path, "a", 0.010), run_folder(tmp_path, "b", 0.010)
    data = json.loads((b / "results.json").read_text())
    data["environment"]["cpu"] = "Other CPU"
    (b / "results.json").write_text(json.dumps(data))
    assert main(["report", str(b), "--against", str(a)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--force" in err[0]
    assert not (b / "compare-a.html").exists()


def test_the_ratio_plot_colours_each_verdict_and_the_unit_fits_the_group(
        tmp_path: Path) -> None:
    from blitzbench.commands.compare import compare_runs
    from blitzbench.results.reader import read_run

    a, b = run_folder(tmp_path, "a", 0.010, 1e-5), run_folder(tmp_path, "b", 0.0125, 1e-5)
    rows = compare_runs(read_run(a), read_run(b), 0.05)
    (ax,) = comparison_plot(rows).axes
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == [
        "SAME", "SLOWER", "within ±5% (SAME)"]
    assert group_unit(rows[:1]) == (1e-3, "ms") and group_unit(rows[1:]) == (1e-6, "µs")
