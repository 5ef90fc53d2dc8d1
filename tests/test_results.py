"""The results model: every record round-trips through its JSON, the reader checks what it
reads, and format-1 folders still load and render."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from blitzbench.acceptance.rules import Status
from blitzbench.claims.model import Verdict
from blitzbench.errors import ResultsFormatError, UsageError
from blitzbench.report.render import render_run
from blitzbench.results.derived import best_worker_counts, cuda_speedups, loader_scalings
from blitzbench.results.reader import read_run
from blitzbench.results.records import (
    CLAIM_VERDICTS,
    FINDING_STATUSES,
    FORMAT_VERSION,
    AcceptanceRecord,
    ClaimCell,
    Environment,
    Finding,
    Measurement,
    ProfileEntry,
    RunResults,
)
from blitzbench.runs import write_json_atomic

REFERENCE = Path(__file__).parents[1] / "reports" / "reference" / "h200" / "accept-quick"
STEP = Measurement("lenet.train_step", "cpu", {"batch_size": 64, "variant": "eager"},
                   (0.010, 0.011, 0.012), {"images_per_s": 5818.2, "calls_per_round": 1},
                   wall_s=1.5)
CELL = ClaimCell("scaling.always_1024", "cpu", "CONDITIONAL", "CONDITIONAL", True,
                 "y = 1024x for 50.9% of draws", {"share": 0.509}, "scaling",
                 "y ends at 1024 x", "autograd section", "each device")
PROFILE = ProfileEntry("cpu", "train_step", "profiler/RUN/cpu-train_step",
                       {"cpu_ms_per_step": 2.7})
FINDING = Finding("lenet-floor", "lenet.train_step[batch_size=64,variant=eager].images_per_s",
                  "cpu", "FAIL", ">=", 6000.0, "absolute", ">= 6000 images/s", 5818.2,
                  "5,818 images/s", "images/s", "measured 5,818", "test")


@pytest.mark.parametrize("record", [STEP, CELL, PROFILE, FINDING,
                                    Measurement("x.y", "cuda:0", error="out of memory")],
                         ids=lambda r: type(r).__name__)
def test_every_record_round_trips(record):
    assert type(record).from_json(json.loads(json.dumps(record.to_json()))) == record


def test_a_whole_run_round_trips():
    results = RunResults("RUN", "accept", Environment({"host": "h", "gpus": []}), (CELL,),
                         (STEP,), (PROFILE,),
                         AcceptanceRecord("REJECTED", "quick", "spec.toml", (FINDING,),
                                          counts="1 FAIL", wall_s=3.0, step_s={"claims": 1.0}),
                         {"kind": "synthetic"}, "quick", started="t0", complete=True)
    assert RunResults.from_json(json.loads(json.dumps(results.to_json()))) == results


def test_shared_vocabularies_agree_with_their_owners():
    assert set(CLAIM_VERDICTS) == {v.value for v in Verdict}
    assert set(FINDING_STATUSES) == {s.value for s in Status}


def test_a_measurement_keeps_its_times_and_recomputes_its_statistics():
    data = STEP.to_json()
    assert data["times_s"] == [0.010, 0.011, 0.012] and data["median_s"] == 0.011
    assert Measurement.from_json({**data, "median_s": 5.0}).median_s == 0.011


def test_a_format_1_folder_loads_and_renders(tmp_path):
    folder = tmp_path / "accept-quick"
    shutil.copytree(REFERENCE, folder)
    stored = read_run(folder)
    assert stored.results.format_version == 1 and stored.results.benchmarks
    assert all(not m.has_times for m in stored.results.benchmarks)
    markdown, page = render_run(folder)
    assert "## Benchmarks" in markdown.read_text() and page.is_file()


def test_newer_and_nonsense_versions_are_refused(tmp_path):
    write_json_atomic(tmp_path / "results.json", {"format_version": FORMAT_VERSION + 1})
    with pytest.raises(ResultsFormatError, match="upgrade blitzbench"):
        read_run(tmp_path)
    write_json_atomic(tmp_path / "results.json", {"format_version": 0})
    with pytest.raises(UsageError, match="not one blitzbench wrote"):
        read_run(tmp_path)


def test_derived_figures_are_computed_once_from_records():
    cpu = Measurement("lenet.train_step", "cpu", {"batch_size": 64}, (0.01,) * 3,
                      {"images_per_s": 6400.0})
    gpu = Measurement("lenet.train_step", "cuda:0", {"batch_size": 64}, (0.005,) * 3,
                      {"images_per_s": 12800.0})
    (speedup,) = cuda_speedups([cpu, gpu])
    assert speedup.ratio == pytest.approx(2.0) and speedup.device == "cuda:0"

    def loader(workers: int, rate: float) -> Measurement:
        return Measurement("loading.dataloader", "cpu", {"batch_size": 4,
                                                          "num_workers": workers},
                           (1.0,) * 3, {"images_per_s": rate})

    sweep = [loader(0, 900.0), loader(1, 1000.0), loader(2, 1500.0)]
    (scaling,) = loader_scalings(sweep)
    assert scaling.best_workers == 2 and scaling.efficiency == pytest.approx(0.75)
    assert best_worker_counts(sweep) == {"cpu": {4: 2}}
