"""The pages of issue "a newcomer's first hour": each item a test can see without a
browser (tests/test_report_browser.py opens the pages in Chromium).

Figures are made up here, except the H200 speed-ups, read from the committed reference."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from test_report import _fake_results, _m

from blitzbench.report.benchmarks import benchmark_blocks
from blitzbench.report.document import Paragraph, Verdict
from blitzbench.report.loop_bounds import loop_bounds
from blitzbench.report.markdown import render_markdown
from blitzbench.report.plots import HOLLOW_LABEL, HOLLOW_NOTE, PLOTS, lenet_rate_plot, speedup_plot
from blitzbench.report.run_time import run_time_blocks
from blitzbench.report.sections import build_document
from blitzbench.results.reader import read_run
from blitzbench.results.records import Measurement, RunResults

REFERENCE = Path(__file__).parents[1] / "reports" / "reference" / "h200" / "accept-quick"


def _rate(benchmark: str, images_per_s: float, **params: Any) -> Measurement:
    return Measurement(benchmark, "cpu", {"batch_size": 4, **params},
                       (4 / images_per_s,) * 3, {"images_per_s": images_per_s})


def test_a_loop_faster_than_its_parts_is_not_called_bound_by_them() -> None:
    """The issue's loop ran at 1.96x its own overlapped bound and read "step-bound (the
    parts overlap)"; no loop outruns its slower part, so no bound is named."""
    rows = [_rate("training_loop.epoch_slice", 1960.0, num_workers=2, images=512),
            _rate("loading.dataloader", 5000.0, num_workers=2, images=512, pin_memory=False),
            _rate("lenet.train_step", 1000.0, variant="eager")]
    (bound,) = loop_bounds(rows)
    assert bound.loop_rate / bound.overlapped_bound == pytest.approx(1.96)
    assert bound.above_bound and not bound.diagnosis.startswith("step-bound")
    assert bound.diagnosis.startswith("not diagnosed: the loop ran at 1.96x")


def test_the_h200_speedup_axis_is_labelled_more_than_at_1_and_2() -> None:
    figure = speedup_plot(read_run(REFERENCE).results.benchmarks)
    assert figure is not None
    figure.savefig(io.BytesIO(), format="png")
    (ax,) = figure.axes
    low, high = ax.get_ylim()
    labels = [t.get_text() for t in ax.get_yticklabels()
              if t.get_text() and low <= t.get_position()[1] <= high]
    assert len(labels) >= 4, labels


def test_hollow_markers_are_explained_in_the_legend_and_every_caption() -> None:
    rows = [_m("lenet.train_step", "cpu", 1e-4 * b, b, variant="eager") for b in (4, 64)]
    rows.append(_m("lenet.train_step", "cpu", 2e-3, 64, spread=0.3, variant="channels_last"))
    (ax,) = lenet_rate_plot(rows).axes
    assert HOLLOW_LABEL in [t.get_text() for t in ax.get_legend().get_texts()]
    drawn = [p for p in PLOTS if p.name in ("loader_workers", "lenet_batch", "cuda_speedup")]
    assert all(HOLLOW_NOTE in p.caption for p in drawn) and "contention" in HOLLOW_NOTE


def test_peaks_are_listed_only_where_a_column_divides_by_them() -> None:
    cpu = Measurement("tensor_ops.add_out", "cpu", {"size": "2^22"}, (1e-3,) * 3,
                      {"gb_per_s": 10.0, "peak": "unknown device: cpu (no peak)"})
    assert not any(isinstance(b, Paragraph) and b.text.startswith("Peaks")
                   for b in benchmark_blocks([cpu]))
    gpu = Measurement("tensor_ops.add_out", "cuda:0", {"size": "2^22"}, (1e-4,) * 3,
                      {"gb_per_s": 4000.0, "fraction_of_peak": 0.83,
                       "peak": "4.8 TB/s (NVIDIA H200 datasheet)"})
    (peaks,) = [b for b in benchmark_blocks([cpu, gpu])
                if isinstance(b, Paragraph) and b.text.startswith("Peaks")]
    assert "cuda:0: 4.8 TB/s" in peaks.text and "unknown device" not in peaks.text


def test_the_run_time_names_every_step_the_terminal_names(tmp_path: Path) -> None:
    from blitzbench.commands.accept import _time_line

    steps = {"pre-flight": 3.1, "claims": 20.0, "tutorial": 12.0, "benchmarks": 360.0,
             "profile": 0.5}
    results = RunResults.from_json(_fake_results(tmp_path, acceptance={
        **_fake_results(tmp_path / "x")["acceptance"], "step_s": steps}))
    said = next(b.text for b in run_time_blocks(results) if isinstance(b, Paragraph))
    assert ("(pre-flight 3.10 s, claims 20 s, tutorial 12 s, benchmarks 360 s, profile "
            "500 ms)") in said
    assert _time_line(results).startswith("time: pre-flight 3.10 s, claims 20 s, tutorial "
                                          "12 s, benchmarks 360 s, profile 500 ms")


def test_the_verdict_box_carries_its_notes_in_both_renderings(tmp_path: Path) -> None:
    notes = ["3 of 40 figures noisy (IQR above 10% of the median)",
             "no performance rule was judged (12 skipped, noisy or inconclusive): this "
             "verdict rests on correctness alone"]
    data = _fake_results(tmp_path)
    data["acceptance"] = {**data["acceptance"], "verdict": "ACCEPTED", "notes": notes}
    doc = build_document(RunResults.from_json(data), [])
    (box,) = [b for b in doc.blocks if isinstance(b, Verdict)]
    assert box.notes == tuple(notes)
    quoted = render_markdown(doc).split("> **Verdict: ACCEPTED**", 1)[1].split("\n\n")[0]
    assert all(f"> - {note}" in quoted for note in notes)


def test_the_tutorial_table_shows_each_blocks_first_statement(tmp_path: Path) -> None:
    import json

    from blitzbench.report.document import Table
    from blitzbench.report.locations import Place
    from blitzbench.report.tutorial_blocks import tutorial_blocks
    from blitzbench.results.tutorial import TutorialResults

    post = tmp_path / "post.md"
    post.write_text("# a post\n\n```python\nimport torch\n# make one\nx = torch.rand(5, 3)\n"
                    "```\n\ntext\n\n```python\nprint(x)\n```\n")
    data = json.loads((Path(__file__).parents[1] / "reports" / "reference" / "drift" /
                       "torch213" / "tutorial.json").read_text())
    run = next(r for r in data["runs"] if not r.get("skipped"))
    run["path"], run["blocks"] = str(post), [{**run["blocks"][0], "index": 1, "line": 4},
                                             {**run["blocks"][1], "index": 2, "line": 12}]
    data["runs"] = [run]
    (table,) = [b for b in tutorial_blocks(TutorialResults.from_json(data), Place(tmp_path))
                if isinstance(b, Table)]
    assert table.header[:3] == ("block", "line", "first statement")
    assert [row[2].text for row in table.rows] == ["x = torch.rand(5, 3)", "print(x)"]
    run["path"] = str(tmp_path / "gone.md")  # a copy read where the tutorial is not
    (table,) = [b for b in tutorial_blocks(TutorialResults.from_json(data), Place(tmp_path))
                if isinstance(b, Table)]
    assert "first statement" not in table.header
