"""The tutorial's loop: the one-thread variant, and what the report says bounds a loop.

The report figures here are made up (images/s chosen to land in each diagnosis); the
one-thread case is measured for real on the CPU.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from blitzbench.report.document import Paragraph, Table
from blitzbench.report.loop_bounds import LoopBound, loop_bound_blocks, loop_bounds
from blitzbench.results.records import Measurement
from blitzbench.workloads import catalog
from blitzbench.workloads.measure import measure
from blitzbench.workloads.training_loop import SINGLE_THREAD

CPU = torch.device("cpu")


def _row(benchmark: str, images_per_s: float, device: str = "cpu", **params: object
         ) -> Measurement:
    return Measurement(benchmark, device, {"batch_size": 4, **params}, (4 / images_per_s,) * 3,
                       {"images_per_s": images_per_s})


def _parts(loop: float, loader: float = 1600.0, step: float = 2000.0,
           single: float | None = None) -> list[Measurement]:
    rows = [_row("training_loop.epoch_slice", loop, num_workers=2, images=512),
            _row("loading.dataloader", loader, num_workers=2, images=512, pin_memory=False),
            _row("loading.dataloader", 9e9, num_workers=0, images=512, pin_memory=False),
            _row("lenet.train_step", step, variant="eager"),
            _row("lenet.train_step", 9e9, variant="cuda_graph")]
    if single is not None:
        rows.append(_row("training_loop.epoch_slice", single, num_workers=2, images=512,
                         torch_threads=1))
    return rows


@pytest.mark.parametrize(("loop", "words"), [
    (1550.0, "loader-bound (the parts overlap)"),
    (1200.0, "partly overlapped (the loader is the slower part)"),
    (880.0, "serial (loader and step take turns)"),
    (243.0, "contention"),
])
def test_a_loop_is_judged_against_its_parts(loop: float, words: str) -> None:
    (bound,) = loop_bounds(_parts(loop))
    assert bound.overlapped_bound == pytest.approx(1600.0)
    assert bound.serial_bound == pytest.approx(1 / (1 / 1600 + 1 / 2000))  # 888.9
    assert bound.diagnosis.startswith(words)
    assert bound.contended is (words == "contention")


def test_the_step_bound_loop_and_the_one_thread_column() -> None:
    (bound,) = loop_bounds(_parts(1900.0, loader=5000.0, single=2100.0))
    assert bound.diagnosis.startswith("step-bound") and bound.single_thread_rate == 2100.0
    paragraph, table = loop_bound_blocks(_parts(243.0, single=700.0))[1:]
    assert isinstance(paragraph, Paragraph) and paragraph.tone == "warn"
    assert "1 of 1 loops run slower than their parts" in paragraph.text
    assert isinstance(table, Table) and [c.text for c in table.rows[0]][-1] == "700"


def test_a_noisy_part_is_said_beside_the_diagnosis() -> None:
    rows = _parts(1550.0)
    t = rows[1].median_s  # the loader alone: same median, a spread as wide as itself
    rows[1] = dataclasses.replace(rows[1], times_s=(t / 2, t / 2, t, 2 * t, 2 * t))
    (bound,) = loop_bounds(rows)
    assert bound.noisy and not loop_bounds(_parts(1550.0))[0].noisy
    table = loop_bound_blocks(rows)[-1]
    assert isinstance(table, Table)
    assert table.rows[0][9].text.endswith("(noisy figures: read with care)")


def test_no_section_without_both_parts() -> None:
    rows = [r for r in _parts(243.0) if r.benchmark != "loading.dataloader"]
    assert loop_bounds(rows) == [] and loop_bound_blocks(rows) == []
    assert LoopBound("cpu", 4, 2, 1.0, 2.0, 2.0).slower_part == "step"


def test_the_one_thread_loop_runs_with_one_thread_and_restores_the_count(data_source) -> None:
    """With more than one intra-op thread the catalog adds a one-thread loop; measuring it
    runs with one thread and gives the count back (set here: an earlier test in this
    process may have left torch at one thread)."""
    outer = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        (case,) = [c for c in catalog.cases("quick", [CPU], data_source, family="training_loop")
                   if c.params.get("torch_threads") == SINGLE_THREAD]
        result = measure(case, min_rounds=1, max_time_s=0.0, warmup=0)
        assert result.error is None and result.extra["torch_threads"] == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(outer)
