"""`blitzbench accept` end to end, in-process, with the measuring steps replaced by
Measurement records built here (the real steps are timed by the benchmarks' own tests)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import torch

from blitzbench.cli import main
from blitzbench.commands import accept as accept_command
from blitzbench.results.names import RESULTS_FILE
from blitzbench.results.records import ClaimCell, Measurement
from blitzbench.results.tutorial import TutorialResults
from blitzbench.runner import plan, steps
from blitzbench.workloads import catalog

STEP_64 = "lenet.train_step[batch_size=64,variant=eager].images_per_s"
CLAIMS = [ClaimCell("tensors.add_forms", "cpu", "HOLDS", "HOLDS", True,
                    "x + y, torch.add and out= agree")]


class FakeBench:
    """Stands in for workloads.measure.measure: a chosen images/s and spread per case."""

    def __init__(self, images_per_s: float = 1000.0, spread: float = 0.0,
                 interrupt_at: int | None = None) -> None:
        self.images_per_s, self.spread, self.interrupt_at = images_per_s, spread, interrupt_at
        self.calls: list[str] = []

    def __call__(self, case, earlier=(), repeats=1) -> Measurement:
        self.calls.append(case.id)
        if self.interrupt_at is not None and len(self.calls) > self.interrupt_at:
            raise KeyboardInterrupt
        batch = case.params["batch_size"]
        median = batch / self.images_per_s
        s = self.spread
        times = (median * (1 - s), median * (1 - s / 2), median, median * (1 + s / 2),
                 median * (1 + s))
        return Measurement(case.benchmark, case.device, dict(case.params), times,
                           {"images_per_s": self.images_per_s})



@pytest.fixture(autouse=True)
def quiet_machine(monkeypatch):
    """A quiet machine: these tests are about the verdict, not the test machine's load
    (the busy-machine tests below set their own)."""
    from conftest import fake_machine

    return fake_machine(monkeypatch, others_cores=0.0)


@pytest.fixture
def fake_steps(monkeypatch, data_source):
    """Two real catalog cases (the eager LeNet step at batch 4 and 64 on the CPU), fake
    figures, no claim run, no profile, no plots."""
    cases = [c for c in catalog.cases("quick", [torch.device("cpu")], data_source)
             if c.benchmark == "lenet.train_step" and c.params["variant"] == "eager"]
    assert len(cases) == 2
    bench = FakeBench()
    monkeypatch.setattr(plan, "plan_cases", lambda level, devices, data: cases)
    monkeypatch.setattr(steps, "_measure", bench)
    monkeypatch.setattr(steps, "run_claims", lambda devices, data, keep=None: CLAIMS)
    monkeypatch.setattr(steps, "run_profile", lambda *args: None)
    monkeypatch.setattr(steps, "load_tutorial", lambda option: None)  # no tutorial step
    monkeypatch.setattr(accept_command, "render_report", lambda folder: None)
    return bench


def spec_file(tmp_path: Path, bound: str = "100", op: str = ">=") -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(f"""
[[rule]]
id = "lenet-floor"
metric = "{STEP_64}"
device = "cpu"
op = "{op}"
bound = {bound}
source = "test bound"

[[rule]]
id = "claims"
metric = "claims.all_as_expected"
op = "=="
bound = true

[[rule]]
id = "gpu-bandwidth"
metric = "tensor_ops.add_out[scale=memory,size=*].gb_per_s"
device = "cuda"
op = ">="
kind = "peak_fraction"
bound = 0.85
""")
    return path


def accept(tmp_path: Path, *extra: str) -> int:
    return main(["accept", "--device", "cpu", "--out", str(tmp_path / "reports"),
                 "--preflight", "0.05", "--settle", "0", *extra])


def run_folder(tmp_path: Path) -> Path:
    (folder,) = sorted((tmp_path / "reports" / "runs").iterdir())
    return folder


def test_accepted_run_writes_results_and_junit(tmp_path, fake_steps, capsys):
    assert accept(tmp_path, "--spec", str(spec_file(tmp_path))) == 0
    out, err = capsys.readouterr()
    assert "ACCEPTED" in out and "lenet-floor" in out
    assert re.search(r"time: pre-flight [\d.]+ m?s, claims ", err)  # units as the page
    assert "slowest case lenet.train_step on cpu (batch_size=" in err
    results = json.loads((run_folder(tmp_path) / RESULTS_FILE).read_text())
    assert all(r["wall_s"] >= 0 for r in results["benchmarks"])
    assert set(results["acceptance"]["step_s"]) == {"pre-flight", "claims", "benchmarks",
                                                    "profile"}
    assert results["complete"] is True and results["command"] == "accept"
    acceptance = results["acceptance"]
    assert acceptance["verdict"] == "ACCEPTED" and acceptance["level"] == "quick"
    statuses = {r["rule"]: r["status"] for r in acceptance["rules"]}
    assert statuses == {"lenet-floor": "PASS", "claims": "PASS", "gpu-bandwidth": "SKIPPED"}
    row = next(r for r in acceptance["rules"] if r["rule"] == "lenet-floor")
    assert set(row) >= {"rule", "metric", "device", "op", "bound", "bound_kind", "measured",
                        "unit", "status", "detail", "source"}
    assert row["measured"] == pytest.approx(1000.0) and row["source"] == "test bound"
    suite = ET.parse(run_folder(tmp_path) / "junit.xml").getroot().find("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "0"


def test_failing_rule_exits_1_with_a_junit_failure_naming_rule_bound_and_value(
        tmp_path, fake_steps, capsys):
    assert accept(tmp_path, "--spec", str(spec_file(tmp_path, bound="5000"))) == 1
    assert "REJECTED" in capsys.readouterr().out
    root = ET.parse(run_folder(tmp_path) / "junit.xml").getroot()
    failures = root.findall(".//failure")
    assert len(failures) == 1
    message = failures[0].get("message")
    assert "rule 'lenet-floor'" in message
    assert "bound >= 5000 images/s" in message
    assert "measured 1,000 images/s" in message
    assert root.find(".//testcase[@classname='blitzbench.accept.lenet-floor']/failure") \
        is not None


def test_noisy_figure_is_reported_noisy_with_its_repeats(tmp_path, fake_steps, capsys):
    fake_steps.spread = 0.4  # IQR/median 40%: noisy in every repeat
    # a rule that cannot be judged makes the run INCONCLUSIVE (exit 8), never ACCEPTED
    assert accept(tmp_path, "--spec", str(spec_file(tmp_path, bound="990"))) == 8
    out = capsys.readouterr().out
    assert "NOISY" in out and "INCONCLUSIVE: " in out and "figures noisy" in out
    repeats = catalog.LEVEL_REPEATS["quick"]
    # repeats are passes over the whole list, not one case's rounds back to back
    assert [c.split("-")[2] for c in fake_steps.calls] == \
        ["batch_size=4", "batch_size=64"] * repeats
    results = json.loads((run_folder(tmp_path) / RESULTS_FILE).read_text())
    assert [b["blocks"] for b in results["benchmarks"]] == [[5] * repeats] * 2
    row = next(r for r in results["acceptance"]["rules"] if r["rule"] == "lenet-floor")
    assert row["status"] == "NOISY"


def test_noisy_figure_is_remeasured_once_without_repeats(tmp_path, fake_steps, capsys,
                                                         monkeypatch):
    monkeypatch.setitem(catalog.LEVEL_REPEATS, "quick", 1)
    fake_steps.spread = 0.4  # IQR/median 40%: noisy both times
    # a rule that cannot be judged makes the run INCONCLUSIVE (exit 8), never ACCEPTED
    assert accept(tmp_path, "--spec", str(spec_file(tmp_path, bound="990"))) == 8
    out = capsys.readouterr().out
    assert "NOISY" in out and "INCONCLUSIVE: " in out and "figures noisy" in out
    # only the batch-64 case feeds a rule, so only it is measured a second time
    assert [c.split("-")[2] for c in fake_steps.calls] == ["batch_size=4", "batch_size=64",
                                                            "batch_size=64"]
    results = json.loads((run_folder(tmp_path) / RESULTS_FILE).read_text())
    row = next(r for r in results["acceptance"]["rules"] if r["rule"] == "lenet-floor")
    assert row["status"] == "NOISY" and "noisy" in row["detail"]
    remeasured = {b["params"]["batch_size"]: b["extra"].get("remeasured")
                  for b in results["benchmarks"]}
    assert remeasured == {4: None, 64: True}
    assert all(b["noisy"] for b in results["benchmarks"])
    skipped = ET.parse(run_folder(tmp_path) / "junit.xml").getroot().findall(".//skipped")
    assert any("NOISY" in s.get("message") for s in skipped)


def test_interrupt_keeps_finished_results_and_exits_130(tmp_path, fake_steps, capsys):
    fake_steps.interrupt_at = 1
    assert accept(tmp_path, "--spec", str(spec_file(tmp_path))) == 130
    results = json.loads((run_folder(tmp_path) / RESULTS_FILE).read_text())
    assert results["complete"] is False and results["interrupted"] is True
    assert len(results["benchmarks"]) == 1
    assert results["claims"] == [c.to_json() for c in CLAIMS]
    assert "acceptance" not in results
    assert not list(run_folder(tmp_path).glob(".*.tmp"))


def test_save_baseline_then_compare_with_it(tmp_path, fake_steps, capsys):
    spec = str(spec_file(tmp_path))
    assert accept(tmp_path, "--spec", spec, "--save-baseline") == 0
    (saved,) = (tmp_path / "reports" / "baselines").iterdir()
    assert (saved / RESULTS_FILE).is_file()
    baseline_spec = tmp_path / "baseline.toml"
    baseline_spec.write_text(f'[[rule]]\nid = "no-slower"\nmetric = "{STEP_64}"\n'
                             f'op = "<="\nkind = "baseline"\nbound = 10\n')
    fake_steps.images_per_s = 700.0  # each step takes 1000/700 = 1.43 times as long
    assert accept(tmp_path, "--spec", str(baseline_spec), "--baseline", str(saved)) == 1
    out = capsys.readouterr().out
    assert "42.9% slower" in out and "FAIL" in out


def test_list_metrics_prints_the_catalog(tmp_path, capsys):
    assert accept(tmp_path, "--list-metrics") == 0
    names = capsys.readouterr().out.split()
    assert STEP_64 in names and "claims.all_as_expected" in names
    assert "lenet.cuda_crossover_batch_size" in names
    assert not (tmp_path / "reports").exists()


# the real report rendered: 14-18 s here (2026-12-06); CI runs it
@pytest.mark.slow
def test_report_is_rendered_into_the_run_folder(tmp_path, fake_steps, monkeypatch, capsys):
    monkeypatch.undo()  # keep the fake steps, render the real report
    from conftest import fake_machine

    fake_machine(monkeypatch)
    cases = [c for c in catalog.cases("quick", [torch.device("cpu")], plan_data())
             if c.benchmark == "lenet.train_step" and c.params["variant"] == "eager"]
    monkeypatch.setattr(plan, "plan_cases", lambda level, devices, data: cases)
    monkeypatch.setattr(steps, "_measure", FakeBench())
    monkeypatch.setattr(steps, "run_claims", lambda devices, data, keep=None: CLAIMS)
    monkeypatch.setattr(steps, "run_profile", lambda *args: None)
    assert accept(tmp_path, "--spec", str(spec_file(tmp_path))) == 0
    markdown = (run_folder(tmp_path) / "report.md").read_text()
    assert "lenet-floor" in markdown and "ACCEPTED" in markdown
    assert (run_folder(tmp_path) / "report.html").is_file()


def plan_data():
    from blitzbench.workloads.cifar import resolve_data_source

    return resolve_data_source(None)


def test_only_cases_feeding_an_applicable_rule_are_remeasured(data_source):
    from blitzbench.acceptance.spec import load_spec

    spec = load_spec(None, plan.known_metrics(data_source))
    devices = [torch.device("cpu"), torch.device("cuda", 0)]
    cases = catalog.cases("quick", devices, data_source)
    gpu = plan.judged_by(spec, cases, ["cpu", "cuda:0"], {"cuda:0": "NVIDIA H200"},
                         baseline=False)
    judged = {(c.benchmark, c.device) for c in cases if gpu(c)}
    assert ("lenet.train_step", "cpu") in judged  # feeds the CUDA speedup
    assert ("tensor_ops.h2d_copy", "cuda:0") in judged
    assert ("tensor_ops.empty", "cuda:0") not in judged
    # the quick level sweeps 0, 1 and 2 workers: the loader scaling rule reads them
    assert ("loading.dataloader", "cpu") in judged
    cpu_cases = [c for c in cases if c.device == "cpu"]
    cpu_only = plan.judged_by(spec, cpu_cases, ["cpu"], {}, baseline=False)
    # without a GPU the loader rules and the CPU rules (STREAM, fp32 GEMM) read benchmarks
    assert {c.benchmark for c in cpu_cases if cpu_only(c)} == {
        "loading.dataloader", "loading.dataloader_steady", "tensor_ops.stream_copy",
        "tensor_ops.stream_triad", "tensor_ops.matmul"}
    with_baseline = plan.judged_by(spec, cpu_cases, ["cpu"], {}, baseline=True)
    assert any(with_baseline(c) for c in cpu_cases if c.benchmark == "lenet.train_step")


# --- the tutorial's own blocks as an acceptance step ------------------------------------

TUTORIALS = Path(__file__).parent / "tutorials"
REAL_LOAD_TUTORIAL = steps.load_tutorial  # before fake_steps replaces it


def tutorial_spec(tmp_path: Path) -> Path:
    path = tmp_path / "tutorial-spec.toml"
    path.write_text('[[rule]]\nid = "tutorial-blocks-run"\nmetric = "tutorial.all_blocks_run"'
                    '\nop = "=="\nbound = true\n')
    return path


@pytest.fixture
def real_tutorial_step(fake_steps, monkeypatch):
    """fake_steps, but the tutorial step real: load_tutorial back to the real one."""
    monkeypatch.setattr(steps, "load_tutorial", REAL_LOAD_TUTORIAL)
    return fake_steps


def test_the_tutorials_blocks_are_a_rule_and_a_report_section(tmp_path, real_tutorial_step):
    code = accept(tmp_path, "--spec", str(tutorial_spec(tmp_path)),
                  "--tutorial", str(TUTORIALS / "basics.md"))
    folder = run_folder(tmp_path)
    results = json.loads((folder / RESULTS_FILE).read_text())
    (run,) = results["tutorial"]["runs"]
    assert code == 0 and run["device"] == "cpu" and run["blocks"]
    assert {b["verdict"] for b in run["blocks"]} <= {"RUNS AS WRITTEN", "RUNS WITH A SHIM"}
    (rule,) = results["acceptance"]["rules"]
    assert (rule["rule"], rule["status"]) == ("tutorial-blocks-run", "PASS")
    assert "tutorial" in results["acceptance"]["step_s"]
    from blitzbench.report.render import render_run

    render_run(folder)
    markdown = (folder / "report.md").read_text()
    assert "The tutorial's own code" in markdown and "RUNS AS WRITTEN" in markdown
    # no absolute path of the measuring machine: not the tutorial's, not the data set's
    assert str(TUTORIALS) not in markdown and str(Path.home()) not in markdown


def test_a_block_that_kills_its_worker_rejects_the_machine(tmp_path, real_tutorial_step,
                                                           capsys):
    code = accept(tmp_path, "--spec", str(tutorial_spec(tmp_path)),
                  "--tutorial", str(TUTORIALS / "kills_itself.md"))
    results = json.loads((run_folder(tmp_path) / RESULTS_FILE).read_text())
    (rule,) = results["acceptance"]["rules"]
    verdicts = [b["verdict"] for b in results["tutorial"]["runs"][0]["blocks"]]
    assert code == 1 and rule["status"] == "FAIL"
    assert "FAILS" in verdicts and verdicts[-1] == "NOT RUN"  # never counted as passed
    assert "REJECTED" in capsys.readouterr().out


def test_no_tutorial_is_skipped_with_the_reason_never_passed(tmp_path, real_tutorial_step,
                                                             monkeypatch):
    monkeypatch.setattr(steps, "PROJECT_ROOT", tmp_path)  # no shared post beside it
    monkeypatch.delenv(steps.TUTORIAL_ENV, raising=False)
    assert accept(tmp_path, "--spec", str(tutorial_spec(tmp_path))) == 0
    results = json.loads((run_folder(tmp_path) / RESULTS_FILE).read_text())
    (rule,) = results["acceptance"]["rules"]
    assert rule["status"] == "SKIPPED" and "--tutorial PATH" in rule["detail"]
    assert TutorialResults.from_json(results["tutorial"]).runs[0].skipped  # reads back


def test_a_missing_tutorial_is_one_line_before_any_run_folder(tmp_path, real_tutorial_step,
                                                              capsys):
    from blitzbench.errors import NotATutorialError

    code = accept(tmp_path, "--tutorial", str(tmp_path / "absent.md"))
    err = capsys.readouterr().err.strip()
    assert code == NotATutorialError.exit_code and len(err.splitlines()) == 1
    assert "absent.md" in err and not (tmp_path / "reports" / "runs").exists()


# --- a busy machine -------------------------------------------------------------------


def _rules(tmp_path: Path) -> dict[str, dict]:
    results = json.loads((run_folder(tmp_path) / RESULTS_FILE).read_text())
    return {r["rule"]: r for r in results["acceptance"]["rules"]}


def test_a_busy_preflight_measures_nothing_and_is_inconclusive(tmp_path, fake_steps,
                                                                monkeypatch, capsys):
    from conftest import fake_machine

    fake_machine(monkeypatch, others_cores=1.9)  # a neighbour on both cores
    assert accept(tmp_path, "--spec", str(spec_file(tmp_path))) == 8
    rules = _rules(tmp_path)
    assert rules["lenet-floor"]["status"] == "INCONCLUSIVE"
    assert "busy before the run" in rules["lenet-floor"]["detail"]
    assert "neighbour (pid 4242" in rules["lenet-floor"]["detail"]
    assert rules["claims"]["status"] == "PASS"  # correctness is not a busy machine's
    assert fake_steps.calls == []  # no performance case was measured
    out = capsys.readouterr().out
    assert "INCONCLUSIVE: 1 PASS" in out and "performance figures were not measured" in out


def test_a_case_measured_on_a_busy_machine_is_inconclusive(tmp_path, fake_steps,
                                                           monkeypatch):
    from conftest import fake_machine

    fake_machine(monkeypatch, others_cores=1.9)
    code = accept(tmp_path, "--spec", str(spec_file(tmp_path)), "--preflight", "0")
    rules = _rules(tmp_path)
    assert code == 8 and rules["lenet-floor"]["status"] == "INCONCLUSIVE"
    assert "in 8 of 8 repeats" in rules["lenet-floor"]["detail"]
    results = json.loads((run_folder(tmp_path) / RESULTS_FILE).read_text())
    assert all(len(b["machine"]) == 8 for b in results["benchmarks"])  # a state a repeat


@pytest.mark.parametrize(("bound", "status", "code"), [("100", "PASS", 0),
                                                        ("5000", "FAIL", 1)])
def test_force_judges_a_busy_machine_and_says_so(tmp_path, fake_steps, monkeypatch, bound,
                                                 status, code):
    from conftest import fake_machine

    fake_machine(monkeypatch, others_cores=1.9)
    assert accept(tmp_path, "--spec", str(spec_file(tmp_path, bound=bound)),
                  "--force") == code
    row = _rules(tmp_path)["lenet-floor"]
    assert row["status"] == status and "measured on a busy machine (--force)" in \
        row["detail"]
    results = json.loads((run_folder(tmp_path) / RESULTS_FILE).read_text())
    assert results["preflight"]["forced"] is True
    assert any("measured anyway (--force)" in n for n in results["acceptance"]["notes"])


def test_ctrl_c_in_the_preflight_keeps_the_folder_marked_interrupted(tmp_path, fake_steps,
                                                                      monkeypatch, capsys):
    from conftest import fake_machine

    monitor = fake_machine(monkeypatch)

    def interrupted(start, end=None, *, torch_threads=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(monitor, "state", interrupted)
    assert accept(tmp_path, "--spec", str(spec_file(tmp_path))) == 130
    results = json.loads((run_folder(tmp_path) / RESULTS_FILE).read_text())
    assert results["interrupted"] is True and results["complete"] is False
    assert fake_steps.calls == []
    err = capsys.readouterr().err
    assert "run folder (incomplete)" in err and "Traceback" not in err
