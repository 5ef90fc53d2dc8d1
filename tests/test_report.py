"""`blitzbench report`: tables, plots and pages from a run's results.json.

Every figure here is made up in the test (synthetic Measurement records with invented
times); nothing is a measured result.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import matplotlib.image
import pytest

from blitzbench.cli import main
from blitzbench.report.benchmarks import benchmark_blocks
from blitzbench.report.document import Heading, Paragraph, Table
from blitzbench.report.formatting import fmt_bytes, fmt_duration_s, fmt_number
from blitzbench.report.plots import (
    HOLLOW_LABEL,
    bandwidth_plot,
    lenet_rate_plot,
    loader_plot,
    render_plots,
    speedup_plot,
)
from blitzbench.report.render import render_run
from blitzbench.report.run_time import family_times, run_time_blocks, slowest_cases
from blitzbench.results.names import HTML_FILE, MARKDOWN_FILE, PLOTS_FOLDER
from blitzbench.results.records import FORMAT_VERSION, Measurement, RunResults
from blitzbench.runs import write_json_atomic

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FETCH = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
LOCAL_REF = re.compile(r"""(?:src|href)\s*=\s*"([^"#][^"]*)\"""", re.IGNORECASE)


def _m(benchmark: str, device: str, seconds: float, batch: int, spread: float = 0.01,
       **params: Any) -> Measurement:
    """A fake Measurement: five rounds around ``seconds``, images/s derived from them."""
    times = tuple(seconds * (1 + spread * k) for k in (-2, -1, 0, 1, 2))
    return Measurement(benchmark, device, {"batch_size": batch, **params}, times,
                       {"images_per_s": batch / seconds})


def _fake_measurements() -> list[Measurement]:
    rows = [_m("loading.dataloader", "cpu", 0.001 * (1 + w), batch, num_workers=w)
            for batch in (4, 64) for w in (0, 1, 2)]
    rows[2] = _m("loading.dataloader", "cpu", 0.004, 4, spread=0.2, num_workers=2)  # a noisy one
    for batch in (4, 64, 256, 1024):
        rows.append(_m("lenet.train_step", "cpu", 1e-4 * batch, batch, variant="eager"))
        rows.append(_m("lenet.train_step", "cuda:0", 1e-3 + 1e-6 * batch, batch,
                       variant="eager"))
        rows.append(_m("lenet.train_step", "cuda:0", 2e-4 + 1e-6 * batch, batch,
                       variant="cuda_graph"))
    rows.append(_m("lenet.forward", "cpu", 1e-5, 4, variant="eager"))
    rows.append(Measurement("lenet.train_step", "cuda:0", {"batch_size": 4096,
                            "variant": "eager"}, error="CUDA out of memory (fake)"))
    rows.append(Measurement("tensor_add", "cuda:0", {"numel": 2**28}, (1e-3, 1e-3, 1.1e-3),
                            {"gb_per_s": 3200.0, "fraction_of_peak": 0.67}))
    return rows


def _fake_results(tmp_reports: Path, **overrides: Any) -> dict[str, Any]:
    claims = [{"claim": "tensors.rand_range", "device": d, "expected": "HOLDS", "passed": True,
               "verdict": "HOLDS", "summary": "min 0.0001, max 0.9998 over 10^6 draws (fake)",
               "evidence": {}} for d in ("cpu", "cuda:0")]
    claims.append({"claim": "autograd.variable", "device": "cpu", "expected": "OUTDATED",
                   "passed": False, "verdict": "FAILS", "summary": "fake | with a pipe",
                   "evidence": {}})
    trace_dir = "profiler/RUN/cpu-train_step"
    (tmp_reports / trace_dir).mkdir(parents=True)
    results = {
        "format_version": FORMAT_VERSION, "blitzbench": "0.0.test", "command": "accept",
        "run_id": "RUN", "started": "2026-01-01T00:00:00+00:00",
        "finished": "2026-01-01T00:01:00+00:00", "complete": True, "interrupted": False,
        "environment": {"host": "testhost", "torch": "2.x", "cudnn": 92400, "cpu_count": 2,
                        "gpus": [{"index": 0, "name": "Fake GPU", "capability": "9.0",
                                  "memory_bytes": 80 * 2**30, "multiprocessors": 132,
                                  "driver": "1.0"}]},
        "data_source": {"kind": "synthetic", "root": "/cache/synthetic-cifar10"},
        "claims": claims,
        "benchmarks": [{**m.to_json(), "wall_s": 0.5 + index}  # case k took 0.5 + k s
                       for index, m in enumerate(_fake_measurements())],
        "profiles": [{"device": "cpu", "workload": "train_step", "trace_dir": trace_dir,
                      "summary": {"cpu_ms_per_step": 2.5, "peak_memory_bytes": {"cpu": 4096},
                                  "top_cpu_operators": [{"name": "aten::mm",
                                                         "calls_per_step": 6.0,
                                                         "self_ms_per_step": 0.5,
                                                         "share": 0.4}]}}],
        "acceptance": {"verdict": "REJECTED", "level": "quick", "spec": "default",
                       "wall_s": 400.0,
                       "step_s": {"claims": 20.0, "benchmarks": 360.0, "profile": 15.0},
                       "rules": [{"rule": "lenet-speedup", "metric": "lenet.cuda_speedup",
                                  "device": "cuda:0", "op": ">=", "bound": 1.0,
                                  "bound_kind": "absolute", "measured": 0.8, "unit": "x",
                                  "status": "FAIL", "detail": "fake", "source": "spec"}]},
    }
    results.update(overrides)
    return results


def _run_folder(tmp_path: Path, **overrides: Any) -> Path:
    reports = tmp_path / "reports"
    folder = reports / "runs" / "RUN"
    folder.mkdir(parents=True)
    write_json_atomic(folder / "results.json", _fake_results(reports, **overrides))
    return folder


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = _run_folder(tmp_path_factory.mktemp("rendered"))
    render_run(folder)
    return folder


# --- formatting and tables ----------------------------------------------------------------


def test_numbers_read_as_a_person_reads_them() -> None:
    assert fmt_duration_s(0.00123) == "1.23 ms"
    assert fmt_duration_s(2.5e-7) == "250 ns"
    assert fmt_bytes(1536) == "1.50 KiB" and fmt_bytes(12) == "12 B"
    assert fmt_number(6.0) == "6" and fmt_number(1024) == "1024"
    assert fmt_number(50000) == "50,000" and fmt_number(None) == "–"


def test_records_round_trip_and_recompute_from_their_times() -> None:
    m = _m("lenet.train_step", "cpu", 0.01, 64, spread=0.2, variant="eager")
    row = Measurement.from_json(m.to_json())
    assert row == m and row.rounds == 5
    assert row.noisy is True and row.figure("images_per_s") == pytest.approx(6400)
    with_times = Measurement.from_json({**m.to_json(), "median_s": 99})
    assert with_times.median_s == pytest.approx(m.median_s)  # recomputed from the times


def _results(tmp_path: Path, **overrides: Any) -> RunResults:
    return RunResults.from_json(_fake_results(tmp_path, **overrides))


def test_benchmark_tables_show_median_iqr_rounds_noisy_and_errors() -> None:
    rows = _fake_measurements()
    tables = [b for b in benchmark_blocks(rows) if isinstance(b, Table)]
    assert next(t.header for t in tables) == ("device", "params", "median", "IQR", "rounds",
                                              "noisy", "images/s")
    texts = [[c.text for c in row] for t in tables for row in t.rows]
    assert any(r[5] == "noisy" for r in texts) and any(r[5] == "no" for r in texts)
    assert any(r[2] == "error" and "out of memory" in r[-1] for r in texts)
    assert sum(len(t.rows) for t in tables) == len(rows)


def test_rates_have_their_own_columns_and_the_peak_is_cited_once() -> None:
    """Issue 12: rates sat in a raw key=value column, every CUDA row repeated the
    datasheet citation, one cell read fraction_of_peak=0.00000762."""
    peak = "4.8 TB/s, NVIDIA H200 datasheet (fake citation)"
    rows = [Measurement("tensor_ops.add_out", "cuda:0", {"size": size}, (t, t, t),
                        {"gb_per_s": gb, "fraction_of_peak": fraction, "peak": peak,
                         "calls_per_round": 7})
            for size, t, gb, fraction in (("5x3", 1e-5, 0.0366, 7.62e-6),
                                          ("2^28", 1e-3, 4259.0, 0.887))]
    blocks = benchmark_blocks(rows)
    (table,) = [b for b in blocks if isinstance(b, Table)]
    assert table.header[-2:] == ("GB/s", "of peak")
    assert [[c.text for c in row][-2:] for row in table.rows] == [["0.0366", "< 0.1%"],
                                                                  ["4259", "89%"]]
    texts = " ".join(c.text for row in table.rows for c in row[2:])  # past device, params
    assert "=" not in texts and peak not in texts
    said = " ".join(b.text for b in blocks if isinstance(b, Paragraph))
    assert said.count(peak) == 1


def test_run_time_adds_up_per_family_and_names_the_slowest_cases(tmp_path: Path) -> None:
    records = _results(tmp_path).benchmarks
    families = family_times(records)
    assert sum(f.wall_s for f in families) == pytest.approx(sum(r.wall_s for r in records))
    assert sum(f.cases for f in families) == len(records)
    assert [f.wall_s for f in families] == sorted((f.wall_s for f in families), reverse=True)
    # the fake cases took 0.5 + k s, so the last five recorded are the slowest
    assert [r.wall_s for r in slowest_cases(records)] == [
        r.wall_s for r in reversed(records[-5:])]
    heading, steps, by_family, slowest = run_time_blocks(_results(tmp_path / "b"))
    assert isinstance(heading, Heading) and isinstance(steps, Paragraph)
    assert steps.text.startswith("The run took 400 s (claims 20 s, benchmarks 360 s, profile")
    assert isinstance(by_family, Table) and len(by_family.rows) == len(families)
    assert isinstance(slowest, Table) and len(slowest.rows) == 5


def test_run_time_section_says_why_it_is_empty_without_wall_times(tmp_path: Path) -> None:
    """Issue 12: the reference report lost "Where the time went" without a word of why."""
    results = _fake_results(tmp_path)
    results["benchmarks"] = [{k: v for k, v in r.items() if k != "wall_s"}
                             for r in results["benchmarks"]]
    heading, why = run_time_blocks(RunResults.from_json(results))
    assert isinstance(heading, Heading) and heading.text == "Where the time went"
    assert isinstance(why, Paragraph) and "no wall time per benchmark case" in why.text
    assert "The run took 400 s (claims 20 s, benchmarks 360 s" in why.text
    assert run_time_blocks(RunResults.from_json({**results, "benchmarks": []})) == []


# --- plots --------------------------------------------------------------------------------


def test_each_plot_draws_its_records_and_skips_when_absent() -> None:
    rows = _fake_measurements()
    loader = loader_plot(rows)
    assert loader is not None
    (ax,) = loader.axes
    labels = sorted(line.get_label() for line in ax.get_legend().get_lines())
    assert [label for label in labels if label != HOLLOW_LABEL] == [
        "cpu, batch 4", "cpu, batch 64"]
    forward, step = lenet_rate_plot(rows).axes  # one panel per benchmark, in name order
    assert forward.get_title().startswith("lenet.forward")
    assert step.get_title().startswith("lenet.train_step")
    assert step.get_xscale() == "log" and step.get_yscale() == "log"
    series = [x for x in step.get_legend().get_lines() if x.get_label() != HOLLOW_LABEL]
    assert len(series) == 3  # cpu eager, cuda eager, cuda graph
    assert len([x for x in forward.get_legend().get_lines()
                if x.get_label() != HOLLOW_LABEL]) == 1
    speed = speedup_plot(rows).axes[0]
    (line,) = [x for x in speed.get_lines() if x.get_label().startswith("lenet")]
    ratios = list(line.get_ydata())
    assert ratios[0] < 1 < ratios[-1]  # fake data: CPU wins at batch 4, CUDA at 1024
    assert bandwidth_plot(rows).axes[0].patches[0].get_width() == pytest.approx(0.67)
    cpu_only = [r for r in rows if r.device == "cpu" and r.benchmark != "loading.dataloader"]
    assert speedup_plot(cpu_only) is None and loader_plot(cpu_only) is None
    assert bandwidth_plot(cpu_only) is None and lenet_rate_plot([]) is None


def test_render_plots_writes_png_files(tmp_path: Path) -> None:
    rows = _fake_measurements()
    figures = render_plots(rows, tmp_path, prefix="plots/")
    assert [f.path for f in figures] == ["plots/loader_workers.png", "plots/lenet_batch.png",
                                         "plots/cuda_speedup.png",
                                         "plots/bandwidth_fraction.png"]
    for figure in figures:
        path = tmp_path / Path(figure.path).name
        assert path.read_bytes()[:8] == PNG_MAGIC
        assert matplotlib.image.imread(path).shape[1] > 300
    assert not list(tmp_path.glob(".*.tmp"))


# --- the pages ----------------------------------------------------------------------------


def test_markdown_has_every_section(rendered: Path) -> None:
    text = (rendered / MARKDOWN_FILE).read_text()
    for heading in ("## Acceptance verdict", "## Environment", "## Claim matrix", "## Plots",
                    "## Benchmarks", "## Profiler captures", "## Where the time went"):
        assert heading in text
    assert "synthetic CIFAR-10" in text and "Fake GPU" in text and "92400" in text
    assert "| `tensors.rand_range` | HOLDS | HOLDS | HOLDS |" in text
    assert "FAILS (expected OUTDATED)" in text and "fake \\| with a pipe" in text
    assert "](../../profiler/RUN/cpu-train_step)" in text
    assert "REJECTED" in text and "lenet.cuda_speedup" in text


def test_html_is_self_contained_and_its_images_exist(rendered: Path) -> None:
    page = (rendered / HTML_FILE).read_text()
    assert not FETCH.search(page), "the page fetches from a network"
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert "@import" not in page and "url(" not in page
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) == 4
    for ref in LOCAL_REF.findall(page):
        assert ref.startswith("data:") or (rendered / ref).exists(), f"{ref} is missing"
    assert all(ref.startswith("data:image/png;base64,") for ref in images)
    markdown = (rendered / MARKDOWN_FILE).read_text()
    assert len(re.findall(rf"\]\({PLOTS_FOLDER}/\w+\.png\)", markdown)) == 4


def test_a_run_without_benchmarks_has_no_plots(tmp_path: Path) -> None:
    folder = _run_folder(tmp_path, benchmarks=[], acceptance=None)
    render_run(folder)
    page = (folder / HTML_FILE).read_text()
    assert "<img" not in page and "Acceptance verdict" not in page
    assert not (folder / PLOTS_FOLDER).exists()


def test_report_command_defaults_to_the_latest_run(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    folder = _run_folder(tmp_path)
    assert main(["report", "--out", str(tmp_path / "reports")]) == 0
    assert (folder / HTML_FILE).is_file() and str(folder / HTML_FILE) in capsys.readouterr().out


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "code", "words"), [
    (None, 2, "file not found"),
    ("{not json", 2, "malformed JSON"),
    ("[1, 2]", 2, "JSON object"),
    (json.dumps({"format_version": FORMAT_VERSION + 1}), 6, "newer"),
])
def test_bad_run_folders_are_one_line_with_an_exit_code(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, code: int,
        words: str) -> None:
    folder = tmp_path / "runs" / "bad"
    folder.mkdir(parents=True)
    if content is not None:
        (folder / "results.json").write_text(content)
    assert main(["report", str(folder)]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]
    assert sorted(p.name for p in folder.iterdir()) == (["results.json"] if content else [])


def test_missing_run_folder_and_empty_reports(tmp_path: Path) -> None:
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert main(["report", "--out", str(tmp_path)]) == 2


def test_traces_across_ranks_show_hta_per_rank_the_straggler_and_the_notes():
    from blitzbench.report.profiles import profile_blocks
    from blitzbench.results.records import ProfileEntry

    gpu = {"span_us": 9300.0, "compute_us": 379.5, "non_compute_us": 0.0, "idle_us": 8920.5,
           "communication_us": 120.0, "memory_us": 0.0, "compute_pct": 4.08,
           "non_compute_pct": 0.0, "idle_pct": 95.92}
    summary = {"hta_version": "0.5.0", "trace_dir": "t", "trace_files": {},
               "ranks": [{"rank": 0, "profiler_steps": 3, "host_step_ms": 8.45,
                          "host_collective_ms_per_step": 5.0, "gpu": gpu,
                          "comm_comp_overlap_pct": 31.5},
                         {"rank": 1, "profiler_steps": 3, "host_step_ms": 8.7,
                          "host_collective_ms_per_step": None, "gpu": None,
                          "comm_comp_overlap_pct": None}],
               "straggler": {"rank": 1, "method": "hta", "reason": "slowest collectives"},
               "notes": ["rank 1 has no GPU kernels"]}
    entry = ProfileEntry("2 ranks (nccl)", "ddp_ranks", "runs/x/profiler/ddp_ranks",
                         ProfileEntry.from_json({"device": "d", "workload": "w",
                                                 "summary": summary}).summary)
    blocks = profile_blocks([entry])
    (table,) = [b for b in blocks if isinstance(b, Table)]
    assert [row[0].text for row in table.rows] == ["0", "1"]
    assert [c.text for c in table.rows[0]][4:] == ["4.1%", "120 µs", "95.9%", "31.5%"]
    texts = [b.text for b in blocks if isinstance(b, Paragraph)]
    assert "Straggler: rank 1 (hta): slowest collectives" in texts
    assert "rank 1 has no GPU kernels" in texts
    assert isinstance(blocks[0], Heading) and blocks[0].text == "Profiler captures"
