"""`blitzbench compare RUN_A RUN_B --html` and `blitzbench report RUN --against BASELINE`:
the comparison as a page, rendering exactly the rows compare computed (issue 12).

Every figure here is made up in the test."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from test_compare_cli import ENV, SPREAD, run_folder

from blitzbench.cli import main
from blitzbench.errors import EXIT_NOT_JUDGED
from blitzbench.report.comparison import comparison_plot
from blitzbench.report.formatting import fmt_duration_s
from blitzbench.report.html import render_html
from blitzbench.results.compare import compare_measurements
from blitzbench.results.names import RESULTS_FILE
from blitzbench.results.records import FORMAT_VERSION, Measurement

ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)


def _rows(page: str) -> dict[str, list[str]]:
    """benchmark -> the row's cell texts (verdict, case, params, device, A, B, B/A, CI,
    change, could detect, why NOISY), from the page's tables."""
    found = {}
    for row in ROW.findall(page):
        cells = [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in CELL.findall(row)]
        if cells:
            found[cells[1]] = cells
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
        assert cells[0] == figure["verdict"]  # status first
        assert cells[6] == f"{figure['ratio']:.3f}"
        assert cells[7] == f"{figure['ci_low']:.3f}–{figure['ci_high']:.3f}"
        assert cells[9] == f"{figure['detectable_change']:.0%}"
    step = rows["lenet.train_step"]
    assert step[4:6] == ["10 ms", "12.5 ms"] and step[8] == "+25.0%"  # each in its unit
    assert rows["tensor_ops.add_out"][4] == "10.0 µs"
    assert '<td class="bad">SLOWER</td>' in page and '<td class="muted">SAME</td>' in page
    assert "<h2 id=\"lenet\">lenet</h2>" in page
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


def test_the_ratio_plot_colours_each_verdict(
        tmp_path: Path) -> None:
    from blitzbench.commands.compare import compare_runs
    from blitzbench.results.reader import read_run

    a, b = run_folder(tmp_path, "a", 0.010, 1e-5), run_folder(tmp_path, "b", 0.0125, 1e-5)
    rows = compare_runs(read_run(a), read_run(b), 0.05)
    figure = comparison_plot(rows)
    assert sorted(t.get_text() for t in figure.legends[0].get_texts()) == [
        "SAME", "SLOWER", "within ±5% (SAME)"]


def _repeats_folder(root: Path, name: str, repeat_medians_s: list[float]) -> Path:
    """A run whose one case was measured in repeats of 10 rounds around the given
    medians (as `accept` measures: ``blocks``)."""
    times = tuple(m * k for m in repeat_medians_s for k in SPREAD[:10])
    record = Measurement("lenet.train_step", "cpu", {"batch_size": 64}, times,
                         blocks=(10,) * len(repeat_medians_s))
    folder = root / name
    folder.mkdir()
    (folder / RESULTS_FILE).write_text(json.dumps({
        "format_version": FORMAT_VERSION, "environment": ENV,
        "benchmarks": [record.to_json()]}))
    return folder


def test_the_figures_shown_are_those_the_ratio_is_computed_from(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's page read A 288 µs, B 300 µs, B/A 0.138: pooled medians beside a ratio
    of repeat medians. Here B's pooled median is A's (two of three repeats at 1 ms) while
    its repeats' geometric mean is 2.15 ms: the page, the table and the JSON show 2.15 ms,
    and B/A is B over A as shown."""
    a = _repeats_folder(tmp_path, "a", [1e-3, 1e-3, 1e-3])
    b = _repeats_folder(tmp_path, "b", [1e-3, 1e-3, 10e-3])
    main(["compare", str(a), str(b), "--format", "json", "--html"])
    (figure,) = json.loads(capsys.readouterr().out)["figures"]
    assert figure["median_b_s"] == pytest.approx(1e-3)  # the pooled median: not shown
    assert figure["b_s"] == pytest.approx(10e-3 ** (1 / 3) * 1e-3 ** (2 / 3))
    assert figure["ratio"] == pytest.approx(figure["b_s"] / figure["a_s"])
    assert figure["estimator"] == "geometric mean of the repeats' medians"
    page = (b / "compare-a.html").read_text()
    cells = _rows(page)["lenet.train_step"]
    assert cells[4:7] == [fmt_duration_s(figure["a_s"]), fmt_duration_s(figure["b_s"]),
                          f"{figure['ratio']:.3f}"]
    assert cells[5:7] == ["2.15 ms", "2.154"]
    assert "geometric mean of the repeats' medians" in html.unescape(page)
    main(["compare", str(a), str(b), "--all"])
    assert "A 1.00 ms, B 2.15 ms (geometric mean of the repeats' medians)" in " ".join(
        capsys.readouterr().out.split())


def test_a_noisy_figure_says_why_everywhere_and_exits_8(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _repeats_folder(tmp_path, "a", [1e-3, 1.02e-3, 0.98e-3])
    b = _repeats_folder(tmp_path, "b", [0.8e-3, 1.3e-3, 1.05e-3])
    assert main(["compare", str(a), str(b), "--html"]) == EXIT_NOT_JUDGED
    table = " ".join(capsys.readouterr().out.split())
    assert table.startswith("compare: 0 FASTER, 0 SLOWER, 0 SAME, 1 NOISY")
    assert "NOISY lenet.train_step[batch_size=64] on cpu" in table
    assert "why NOISY: the interval" in table and "could detect" in table
    assert main(["compare", str(a), str(b), "--format", "json"]) == EXIT_NOT_JUDGED
    (figure,) = json.loads(capsys.readouterr().out)["figures"]
    assert figure["why"].startswith("the interval") and figure["detectable_change"] > 0.05
    cells = _rows((b / "compare-a.html").read_text())["lenet.train_step"]
    assert cells[0] == "NOISY" and cells[-1] == figure["why"]


def test_times_read_in_their_own_unit_beside_others(tmp_path: Path) -> None:
    """8 ms was printed as 7,969,265 ns when the group's typical time was nanoseconds."""
    from blitzbench.commands.compare import compare_runs
    from blitzbench.report.comparison import comparison_document
    from blitzbench.results.reader import read_run

    records = [Measurement("tensor_ops.matmul", "cpu", {"n": 512},
                           tuple(7.969265e-3 * k for k in SPREAD)),
               *(Measurement("tensor_ops.empty", "cpu", {"size": i},
                             tuple(1e-8 * k for k in SPREAD)) for i in range(3))]
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / RESULTS_FILE).write_text(json.dumps({
            "format_version": FORMAT_VERSION, "environment": ENV,
            "benchmarks": [m.to_json() for m in records]}))
    rows = compare_runs(read_run(tmp_path / "a"), read_run(tmp_path / "b"), 0.05)
    page = render_html(comparison_document("a", "b", rows, "", [], None))
    cells = _rows(page)
    assert cells["tensor_ops.matmul"][4:6] == ["7.97 ms", "7.97 ms"]
    assert cells["tensor_ops.empty"][4] == "10 ns"
    assert "7,969" not in page


def test_the_ratio_plot_keeps_the_band_visible_and_its_labels_apart() -> None:
    """Ratios of 20x and 0.002x beside figures near 1: the axis stays around 1 (the ±5%
    band a visible stripe), the outliers are arrows at the edge labelled with their
    ratio, and no two tick labels overlap."""
    import io

    from blitzbench.report.comparison import AXIS_LIMIT

    factors = [20.0, 0.002, 1.0, 1.3, 0.97, 1.04, 0.6, 1.12]
    rows = []
    for i, factor in enumerate(factors):
        # case names as long as the real ones (the axis must not shrink beside them)
        params = {"batch_size": 64, "images": 512, "num_workers": i, "pin_memory": False}
        a = Measurement("loading.dataloader_steady", "cpu", params,
                        tuple(1e-3 * k for k in SPREAD))
        b = Measurement("loading.dataloader_steady", "cpu", params,
                        tuple(factor * 1e-3 * k for k in SPREAD))
        rows.append((a, b, compare_measurements(a, b)))
    figure = comparison_plot(rows)
    figure.savefig(io.BytesIO(), format="png")  # lay out, so extents are real
    renderer = figure._get_renderer()
    (ax,) = figure.axes
    assert ax.get_xlim() == pytest.approx((1 / AXIS_LIMIT, AXIS_LIMIT))
    box = ax.get_window_extent(renderer)
    (band,) = [p for p in ax.patches if p.get_label().startswith("within")]
    assert band.get_window_extent(renderer).width > 0.05 * box.width
    for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
        extents = [t.get_window_extent(renderer) for t in labels if t.get_text()]
        assert len(extents) >= 4
        assert not any(e.overlaps(f) for i, e in enumerate(extents) for f in extents[i + 1:])
    beyond = sorted(t.get_text() for t in ax.texts if t.get_gid() == "beyond-label")
    assert beyond == ["0.002×", "20×"]
