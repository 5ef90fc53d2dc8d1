"""profiling/ranks.py: HTA on the committed H200 trace (one GPU rank: a real breakdown) and on
the traces of a two-rank gloo world started by torchrun (CPU only: what HTA can say, and a
note for what it cannot), plus the paths where HTA cannot run at all."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from blitzbench.distributed.local import run_local
from blitzbench.profiling.ranks import (
    NO_GPU_KERNELS,
    RANK_WORKER_PREFIX,
    analyze_ranks,
    find_rank_traces,
)
from blitzbench.profiling.session import KINETO_LOG_LEVEL_ENV, KINETO_QUIET

H200_TRACE_DIR = (Path(__file__).resolve().parents[1]
                  / "reports/reference/h200/profiler/accept-cuda0-train_step")
#: HTA rounds its percentages to two decimals; three of them may miss 100 by 0.01 each.
PERCENT_TOLERANCE = 0.05
#: summary.py's GPU busy time is the same union of the same kernels, so the two agree
#: to float noise; 1% leaves room for a kernel at a step's edge.
BUSY_TIME_TOLERANCE = 0.01
WORLD_SIZE = 2
CAPTURE_TARGET = "blitzbench.profiling.ranks:profile_ddp_rank"


def _rank_trace(rank: int | None) -> str:
    info = f', "distributedInfo": {{"backend": "gloo", "rank": {rank}}}' if rank is not None else ""
    return f'{{"schemaVersion": 1{info}, "traceEvents": []}}'


def test_h200_trace_has_a_real_gpu_breakdown() -> None:
    pytest.importorskip("hta")
    summary = analyze_ranks(H200_TRACE_DIR)
    (row,) = summary.ranks
    gpu = row.gpu
    assert gpu is not None, summary.notes
    assert row.rank == 0 and row.profiler_steps == 3
    assert gpu.compute_us > 0 and gpu.communication_us == 0
    assert gpu.compute_pct + gpu.non_compute_pct + gpu.idle_pct == pytest.approx(
        100, abs=PERCENT_TOLERANCE)
    assert gpu.compute_us + gpu.non_compute_us + gpu.idle_us == pytest.approx(gpu.span_us)
    assert row.comm_comp_overlap_pct is None  # no NCCL kernels: undefined, not 0
    assert summary.straggler is None
    assert any("one rank" in note for note in summary.notes)
    assert list(summary.trace_files.values()) == [p.name for p in
                                                  H200_TRACE_DIR.glob("*.pt.trace.json")]


def test_h200_busy_time_matches_the_hand_written_summary() -> None:
    """HTA's kernel time (compute + non-compute) is summary.py's GPU busy time, summed."""
    pytest.importorskip("hta")
    gpu = analyze_ranks(H200_TRACE_DIR).ranks[0].gpu
    assert gpu is not None
    by_hand = json.loads((H200_TRACE_DIR / "summary.json").read_text())
    busy_us = sum(step["gpu_busy_ms"] for step in by_hand["steps"]) * 1000
    assert gpu.compute_us + gpu.non_compute_us == pytest.approx(busy_us,
                                                                rel=BUSY_TIME_TOLERANCE)


@pytest.fixture(scope="module")
def gloo_traces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    trace_dir = tmp_path_factory.mktemp("gloo-traces")
    run = run_local(CAPTURE_TARGET, WORLD_SIZE, timeout_s=90, args=(str(trace_dir),),
                    env={KINETO_LOG_LEVEL_ENV: KINETO_QUIET})
    assert run.returncode == 0, run.output[-3000:]
    return trace_dir


@pytest.mark.slow  # a gloo world profiled: 9 s here; CI runs it
def test_gloo_world_writes_one_trace_per_rank(gloo_traces: Path) -> None:
    files, notes = find_rank_traces(gloo_traces)
    assert sorted(files) == list(range(WORLD_SIZE)) and notes == []
    for rank, path in files.items():
        assert path.name.startswith(f"{RANK_WORKER_PREFIX}{rank}.")


def test_gloo_world_summary_has_rows_or_says_why(gloo_traces: Path) -> None:
    pytest.importorskip("hta")
    summary = analyze_ranks(gloo_traces)
    json.dumps(summary.to_json())
    assert summary.ranks or summary.notes
    assert [row.rank for row in summary.ranks] == list(range(WORLD_SIZE))
    assert NO_GPU_KERNELS in summary.notes
    for row in summary.ranks:
        assert row.gpu is None and row.comm_comp_overlap_pct is None
        assert row.profiler_steps == 3 and row.host_step_ms and row.host_step_ms > 0
        assert row.host_collective_ms_per_step and row.host_collective_ms_per_step > 0
    if summary.straggler is None:  # the ranks' collective times too even to tell
        assert any("too even to name a straggler" in note for note in summary.notes)
    else:
        assert summary.straggler.method == "least_host_collective_time"


def test_an_empty_folder_is_a_note(tmp_path: Path) -> None:
    summary = analyze_ranks(tmp_path)
    assert summary.ranks == () and summary.notes == (f"no *.pt.trace.json in {tmp_path}",)


def test_traces_without_a_rank_are_left_out(tmp_path: Path) -> None:
    (tmp_path / "a.pt.trace.json").write_text(_rank_trace(None))
    (tmp_path / "b.pt.trace.json").write_text(_rank_trace(1))
    (tmp_path / "c.pt.trace.json").write_text(_rank_trace(1))
    (tmp_path / "summary.json").write_text('{"distributedInfo": {"rank": 0}}')
    files, notes = find_rank_traces(tmp_path)
    assert {r: p.name for r, p in files.items()} == {1: "b.pt.trace.json"}
    assert notes == ["a.pt.trace.json has no distributedInfo rank: left out",
                     "c.pt.trace.json is a second trace of rank 1: left out"]


def test_a_trace_hta_cannot_read_is_a_note_not_a_crash(tmp_path: Path) -> None:
    pytest.importorskip("hta")
    (tmp_path / "rank0.1.pt.trace.json").write_text(_rank_trace(0)[:-3] + "[{broken")
    summary = analyze_ranks(tmp_path)
    assert summary.ranks == () and summary.hta_version
    assert any(note.startswith("HTA loading the traces failed") for note in summary.notes)


def test_without_hta_the_summary_says_how_to_install_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rank0.1.pt.trace.json").write_text(_rank_trace(0))
    monkeypatch.setitem(sys.modules, "hta", None)  # import hta now raises ImportError
    summary = analyze_ranks(tmp_path)
    assert summary.hta_version is None and summary.ranks == ()
    assert "pip install 'holistictraceanalysis>=0.5' psutil" in summary.notes[-1]
