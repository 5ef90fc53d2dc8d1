"""Issue 12: a report that can be trusted, shared and moved.

Each test here would have caught a defect seen in the committed reference report: links
that go nowhere, images missing when the page travels alone, files only their owner can
read, absolute paths of the measuring machine, a verdict hard to read, plots that mix
families or repeat a legend label. The run folders are made up in the test (fake records,
no measurement).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from test_report import _fake_measurements, _fake_results

from blitzbench.cli import main
from blitzbench.report.plots import PLOTS
from blitzbench.report.render import render_run
from blitzbench.report.sections import ACCEPTANCE_HEADER, bound_text
from blitzbench.results.names import HTML_FILE, MARKDOWN_FILE, PLOTS_FOLDER
from blitzbench.results.records import Finding, Measurement
from blitzbench.runs import write_json_atomic, write_text_atomic

MD_LINK = re.compile(r"\]\(([^)#]+)\)")
HTML_REF = re.compile(r"""(?:src|href)="([^"#]+)\"""")
#: an absolute path, not a URL (``https://x/y``) and not shortened (``.../x``, ``~/x``)
ABSOLUTE = re.compile(r"(?<![\w.~:/])/(?:[\w.-]+/)+[\w.-]+")


def _write_run(reports: Path, run_id: str = "RUN", **overrides: Any) -> Path:
    folder = reports / "runs" / run_id
    folder.mkdir(parents=True)
    write_json_atomic(folder / "results.json", _fake_results(reports, **overrides))
    return folder


def _local_refs(folder: Path) -> list[str]:
    refs = MD_LINK.findall((folder / MARKDOWN_FILE).read_text())
    refs += [r for r in HTML_REF.findall((folder / HTML_FILE).read_text())
             if not r.startswith("data:")]
    return [unquote(r) for r in refs if "://" not in r]


def _assert_links_resolve(folder: Path) -> None:
    for ref in _local_refs(folder):
        assert (folder / ref).exists(), f"{ref} in the report goes nowhere"


def test_links_resolve_in_the_standard_layout(tmp_path: Path) -> None:
    folder = _write_run(tmp_path / "reports")
    render_run(folder)
    _assert_links_resolve(folder)
    text = (folder / MARKDOWN_FILE).read_text()
    assert "](../../profiler/RUN/cpu-train_step)" in text
    assert "`tensorboard --logdir ../../profiler/RUN`" in text


def test_a_copied_run_folder_links_nothing_that_is_not_there(tmp_path: Path,
                                                             capsys: Any) -> None:
    """Issue 12: a folder copied elsewhere printed ``tensorboard --logdir /profiler``."""
    folder = _write_run(tmp_path / "reports")
    copy = tmp_path / "mail" / "RUN"
    shutil.copytree(folder, copy)
    assert main(["report", str(copy)]) == 0
    assert "/profiler" not in capsys.readouterr().out
    _assert_links_resolve(copy)
    text = (copy / MARKDOWN_FILE).read_text()
    assert "tensorboard" not in text and "Not kept with this copy of the run" in text


def test_a_renamed_trace_folder_is_found_by_its_summary(tmp_path: Path) -> None:
    """The committed reference keeps its trace in ``h200/profiler/accept-cuda0-...`` next
    to the run folder, not at the recorded ``profiler/<run-id>/...``."""
    reports = tmp_path / "reports"
    folder = _write_run(reports)
    kept = tmp_path / "reference" / "profiler" / "accept-cpu-train_step"
    kept.mkdir(parents=True)
    (kept / "summary.json").write_text(json.dumps(
        {"device": "cpu", "workload": "train_step", "cpu_ms_per_step": 2.5}))
    other = kept.parent / "other"
    other.mkdir()
    (other / "summary.json").write_text(json.dumps(
        {"device": "cpu", "workload": "train_step", "cpu_ms_per_step": 9.9}))
    moved = shutil.copytree(folder, tmp_path / "reference" / "accept-quick")
    render_run(moved)
    _assert_links_resolve(moved)
    text = (moved / MARKDOWN_FILE).read_text()
    assert "](../profiler/accept-cpu-train_step)" in text and "profiler/other" not in text
    assert "`tensorboard --logdir ../profiler`" in text


def test_report_html_travels_alone(tmp_path: Path) -> None:
    """Issue 12: report.html copied alone showed four broken images."""
    folder = _write_run(tmp_path / "reports")
    render_run(folder)
    alone = tmp_path / "alone"
    alone.mkdir()
    page = shutil.copy(folder / HTML_FILE, alone)
    images = re.findall(r'<img src="([^"]+)"', Path(page).read_text())
    assert len(images) == len(PLOTS)
    assert all(src.startswith("data:image/png;base64,iVBORw0KGgo") for src in images)
    assert sorted(p.name for p in (folder / PLOTS_FOLDER).iterdir()) == sorted(
        f"{spec.name}.png" for spec in PLOTS)  # still beside report.md for its links


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_files_honour_the_umask(tmp_path: Path, umask: int) -> None:
    """Issue 12: every file was 0600 whatever the umask (tempfile.mkstemp's mode)."""
    old = os.umask(umask)
    try:
        path = write_text_atomic(tmp_path / "f.txt", "x")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_no_absolute_path_of_the_measuring_machine(tmp_path: Path) -> None:
    """Issue 12: the verdict box showed the spec's absolute path, the environment the
    data set's; paths are relative to the run folder, ``~/...`` or shortened."""
    acceptance = _fake_results(tmp_path / "x")["acceptance"]
    folder = _write_run(tmp_path / "reports", data_source={
        "kind": "synthetic", "root": "/tmp/blitzbench-cache/synthetic-cifar10"},
        acceptance={**acceptance, "spec": "/work/main/src/blitzbench/default_spec.toml",
                    "baseline": str(Path.home() / "runs" / "base")})
    render_run(folder)
    for name in (MARKDOWN_FILE, HTML_FILE):
        text = re.sub(r"data:image/png;base64,[\w+/=]+", "", (folder / name).read_text())
        assert not ABSOLUTE.findall(text), name
        assert ".../blitzbench-cache/synthetic-cifar10" in text
        assert "~/runs/base" in text and "blitzbench/default_spec.toml (shipped)" in text


def test_the_verdict_box_has_counts_wall_time_and_words_not_operators(tmp_path: Path) -> None:
    folder = _write_run(tmp_path / "reports")
    render_run(folder)
    page = (folder / HTML_FILE).read_text()
    box = re.search(r'<div class="verdict bad" id="verdict">(.*?)</div>', page)
    assert box is not None
    assert "REJECTED" in box.group(1) and "1 FAIL" in box.group(1)
    assert "the run took 400 s" in box.group(1)
    assert ACCEPTANCE_HEADER[0] == "status"  # first: in view at 800 px


@pytest.mark.parametrize(("fields", "text"), [
    ({"metric": "claims.all_as_expected", "op": "==", "bound": 1.0,
      "bound_kind": "absolute"}, "as expected"),
    ({"metric": "tutorial.all_blocks_run", "op": "==", "bound": 1.0,
      "bound_kind": "absolute"}, "every block runs"),
    ({"metric": "x", "op": "<=", "bound": 15.0, "bound_kind": "baseline"},
     "<= 15% slower than baseline"),
    ({"metric": "x", "op": ">=", "bound": 0.85, "bound_kind": "peak_fraction"},
     ">= 0.85 of peak"),
    ({"metric": "x", "op": ">=", "bound": 20.0, "bound_kind": "absolute", "unit": "GB/s"},
     ">= 20 GB/s"),
])
def test_bounds_read_as_the_terminal_words_them(fields: dict[str, Any], text: str) -> None:
    """Issue 12: the page read "== 1 (absolute)" where the terminal says "as expected"."""
    from blitzbench.acceptance.spec import BoundKind, Rule

    finding = Finding("r", device="cpu", status="PASS", **fields)
    assert bound_text(finding) == text
    rule = Rule("r", fields["metric"], fields["op"], fields["bound"],
                BoundKind(fields["bound_kind"]))
    assert rule.describe_bound(fields.get("unit", "")) == text  # the terminal's own words


def _plotted_series(figure: Any) -> list[Any]:
    return [line for ax in figure.axes for line in ax.get_lines() if line.get_gid()]


def _with_the_loop(rows: list[Measurement]) -> list[Measurement]:
    """The loop has a num_workers parameter too: it once joined the loader plot."""
    loop = Measurement("training_loop.epoch_slice", "cpu",
                       {"batch_size": 4, "num_workers": 2}, (1.0, 1.0, 1.0),
                       {"images_per_s": 243.0})
    matmul = Measurement("tensor_ops.matmul", "cuda:0", {"n": 8192, "dtype": "bfloat16"},
                         (1e-3,) * 3, {"tflop_per_s": 723.0, "fraction_of_peak": 0.73})
    tiny = Measurement("tensor_add", "cuda:0", {"scale": "tutorial", "size": "5x3"},
                       (1e-5,) * 3, {"gb_per_s": 0.02, "fraction_of_peak": 4e-6})
    return [*rows, loop, matmul, tiny]


@pytest.mark.parametrize("spec", PLOTS, ids=[s.name for s in PLOTS])
def test_each_plot_shows_one_family_with_unique_labels_and_plain_ticks(spec: Any) -> None:
    figure = spec.draw(_with_the_loop(_fake_measurements()))
    assert figure is not None
    families = {"loader_workers": ("loading.",), "lenet_batch": ("lenet.",),
                "cuda_speedup": ("lenet.",), "bandwidth_fraction": ("tensor_",)}[spec.name]
    for ax in figure.axes:
        assert ax.get_title().endswith("?") or figure.get_suptitle().endswith("?")  # a question
        assert ax.get_xlabel() and (ax.get_ylabel() or ax.get_yticklabels())
        labels = [t.get_text() for t in ax.get_legend().get_texts()] if ax.get_legend() else []
        assert len(labels) == len(set(labels)), labels
        styles = [(line.get_color(), line.get_marker()) for line in ax.get_lines()
                  if not line.get_label().startswith("_")]
        assert len(styles) == len(set(styles)), "two series share colour and marker"
        figure.canvas.draw()
        ticks = [t.get_text() for t in ax.get_yticklabels() + ax.get_xticklabels()]
        assert not any("times" in t or "×" in t or "^" in t for t in ticks if "2^" not in t)
    gids = {line.get_gid() for line in _plotted_series(figure)}
    gids |= {p.get_gid() for ax in figure.axes for p in ax.patches}
    gids.discard(None)
    assert gids and all(g.startswith(families) for g in gids), gids


def test_the_bandwidth_plot_has_only_bandwidth_probes_with_value_labels() -> None:
    """Issue 12: the bf16 matmul (TFLOP/s) and empty 5x3 rows sat among GB/s bars."""
    figure = PLOTS[3].draw(_with_the_loop(_fake_measurements()))
    (ax,) = figure.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["tensor_add 268435456 cuda:0"]
    assert [t.get_text() for t in ax.texts] == ["67% (3200 GB/s)"]


REFERENCE = Path(__file__).parents[1] / "reports" / "reference" / "h200" / "accept-quick"


def test_the_committed_reference_report_links_resolve_and_needs_nothing_beside_it() -> None:
    """The committed H200 report, as re-rendered from its own results.json: every link
    goes somewhere in the repository, its trace link reaches the kept CUDA trace, and
    the page carries its plots."""
    _assert_links_resolve(REFERENCE)
    text = (REFERENCE / MARKDOWN_FILE).read_text()
    assert "](../profiler/accept-cuda0-train_step)" in text
    assert "`tensorboard --logdir ../profiler`" in text
    page = (REFERENCE / HTML_FILE).read_text()
    assert page.count('<img src="data:image/png;base64,') == len(PLOTS)
    for name in (MARKDOWN_FILE, HTML_FILE):
        body = re.sub(r"data:image/png;base64,[\w+/=]+", "", (REFERENCE / name).read_text())
        assert not ABSOLUTE.findall(body), name
