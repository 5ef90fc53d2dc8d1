"""Bad input to `blitzbench accept`: each row is one line on stderr and exit 2 (6 for a
results folder from a newer blitzbench), before anything is measured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blitzbench.acceptance.baseline import compatibility_problems, load_baseline
from blitzbench.cli import main
from blitzbench.environment import fingerprint
from blitzbench.results.names import RESULTS_FILE
from blitzbench.results.records import (
    FORMAT_VERSION,
    MAX_ROUNDS_STORED,
    Environment,
    Measurement,
)
from blitzbench.runner import plan, steps

RECORD = Measurement("lenet.train_step", "cpu", {"batch_size": 64, "variant": "eager"},
                     (0.064,) * 5, {"images_per_s": 1000.0}).to_json()



@pytest.fixture(autouse=True)
def quiet_machine(monkeypatch):
    """A quiet machine: these tests are about the verdict, not the test machine's load
    (tests/test_acceptance_busy.py judges a busy one)."""
    from conftest import fake_machine

    return fake_machine(monkeypatch, others_cores=0.0)

@pytest.fixture(autouse=True)
def no_measuring(monkeypatch):
    """Bad input must be refused before any step runs."""
    def refuse(*args, **kwargs):
        raise AssertionError("a step ran although the input was bad")

    monkeypatch.setattr(plan, "plan_cases", refuse)
    for step in ("run_claims", "run_benchmarks", "run_profile", "run_tutorial"):
        monkeypatch.setattr(steps, step, refuse)


@pytest.fixture(scope="module")
def environment():
    return fingerprint()


def write_run(folder: Path, environment: dict, records: list | None = None,
              raw: str | None = None, **top) -> Path:
    folder.mkdir(parents=True)
    payload = {"format_version": FORMAT_VERSION, "command": "accept",
               "environment": environment, "benchmarks": [RECORD] if records is None
               else records, **top}
    (folder / RESULTS_FILE).write_text(raw if raw is not None else json.dumps(payload))
    return folder


def run_accept(tmp_path: Path, capsys, *args: str) -> tuple[int, str]:
    code = main(["accept", "--device", "cpu", "--out", str(tmp_path / "reports"),
                 "--preflight", "0.05", "--settle", "0", *args])
    err = capsys.readouterr().err.strip()
    return code, err


def bad_baselines(env: dict) -> dict[str, tuple[dict, str]]:
    """name -> (write_run keyword arguments, expected fragment of the error line)."""
    def record(**changes):
        return [{**RECORD, **changes}]

    def raw(version: int, text: str, value: str) -> dict:
        """A record whose field ``text`` is replaced by ``value`` in the JSON itself (NaN
        and 1e400 cannot be written by json.dumps)."""
        payload = json.dumps({"format_version": version, "environment": env,
                              "benchmarks": [{**RECORD, "median_s": 1}]})
        return {"raw": payload.replace(text, value, 1)}

    without_times = {k: v for k, v in RECORD.items() if k != "times_s"}
    other_gpu = {**env, "gpus": [{"index": 0, "name": "NVIDIA H200"}]}
    return {
        "missing folder": ({}, "does not exist"),
        "malformed JSON": ({"raw": "{not json"}, "malformed JSON"),
        "not an object": ({"raw": "[1, 2]"}, "expected a JSON object"),
        "no benchmarks": ({"records": []}, "has no benchmark records"),
        "per-round times missing": ({"records": [without_times]},
                                    "times_s must be a list of per-round times"),
        "per-round times empty": ({"records": record(times_s=[])}, "times_s is empty"),
        "per-round time negative": ({"records": record(times_s=[0.06, -0.06, 0.06])},
                                    "times_s[1] = -0.06 is out of range"),
        "per-round time NaN": (raw(2, "0.064", "NaN"), "times_s[0] = nan is out of range"),
        "per-round time of the wrong type": ({"records": record(times_s=["fast"])},
                                             "times_s[0] must be a number, got string"),
        "per-round times beyond any run": (
            {"records": record(times_s=[0.06] * (MAX_ROUNDS_STORED + 1))},
            f"more than {MAX_ROUNDS_STORED}"),
        "format 1: median of the wrong type": (raw(1, '"median_s": 1', '"median_s": "fast"'),
                                               "median_s must be a number"),
        "format 1: NaN median": (raw(1, '"median_s": 1', '"median_s": NaN'), "out of range"),
        "format 1: huge median": (raw(1, '"median_s": 1', '"median_s": 1e400'),
                                  "out of range"),
        "huge rate": ({"records": record(extra={"images_per_s": 1e300})}, "out of range"),
        "unknown key": ({"records": record(speed=1)}, "unknown key 'speed'"),
        "params not scalars": ({"records": record(params={"batch_size": [64]})},
                               "params.batch_size must be a string, a finite number"),
        "environment not an object": ({"environment": "cpu"},
                                      "environment must be a JSON object"),
        "other hardware": ({"environment": other_gpu}, "--force-baseline"),
        "other torch": ({"environment": {**env, "torch": "1.0.0"}}, "torch '1.0.0' there"),
    }


ROWS = sorted(bad_baselines({"gpus": []}))


@pytest.mark.parametrize("row", ROWS)
def test_bad_baseline_is_one_line_and_exit_2(row, tmp_path, capsys, environment):
    kwargs, expected = bad_baselines(environment)[row]
    folder = tmp_path / "baseline"
    if row != "missing folder":
        write_run(folder, kwargs.pop("environment", environment), **kwargs)
    code, err = run_accept(tmp_path, capsys, "--baseline", str(folder))
    assert code == 2, err
    assert err.startswith("blitzbench: error: ") and "\n" not in err
    assert expected in err
    assert not (tmp_path / "reports" / "runs").exists(), "no run folder for bad input"


def test_newer_results_format_is_its_own_exit_code(tmp_path, capsys, environment):
    folder = write_run(tmp_path / "baseline", environment, format_version=FORMAT_VERSION + 1)
    code, err = run_accept(tmp_path, capsys, "--baseline", str(folder))
    assert code == 6 and "upgrade blitzbench" in err


def test_a_baseline_from_elsewhere_is_compared_when_forced(tmp_path, environment):
    other = {**environment, "torch": "1.0.0"}
    baseline = load_baseline(write_run(tmp_path / "b", other))
    assert compatibility_problems(baseline, Environment(environment)) == [
        f"torch '1.0.0' there, {environment['torch']!r} here"]
    assert load_baseline(tmp_path / "b" / RESULTS_FILE).folder == tmp_path / "b"


def test_force_baseline_without_baseline_is_a_usage_error(tmp_path, capsys):
    code, err = run_accept(tmp_path, capsys, "--force-baseline")
    assert code == 2 and "--force-baseline needs --baseline" in err


SPEC_ROWS = {
    "unknown metric": ('[[rule]]\nid = "x"\nmetric = "lenet.nothing"\nop = ">="\n'
                       'bound = 1\n', "unknown metric 'lenet.nothing'"),
    "malformed bound": ('[[rule]]\nid = "x"\nmetric = "claims.all_as_expected"\n'
                        'op = "=="\nbound = "yes"\n', "bound must be"),
    "NaN bound": ('[[rule]]\nid = "x"\nmetric = "claims.all_as_expected"\nop = ">="\n'
                  'bound = nan\n', "not a finite number"),
    "unknown key": ('[[rule]]\nid = "x"\nmetric = "claims.all_as_expected"\nop = "=="\n'
                    'bound = true\nseverity = "high"\n', "unknown key 'severity'"),
}


@pytest.mark.parametrize("row", sorted(SPEC_ROWS))
def test_bad_spec_through_the_cli_is_one_line_and_exit_2(row, tmp_path, capsys):
    text, expected = SPEC_ROWS[row]
    spec = tmp_path / "spec.toml"
    spec.write_text(text)
    code, err = run_accept(tmp_path, capsys, "--spec", str(spec))
    assert code == 2 and "\n" not in err and expected in err


def test_missing_spec_file(tmp_path, capsys):
    code, err = run_accept(tmp_path, capsys, "--spec", str(tmp_path / "nope.toml"))
    assert code == 2 and "file not found" in err


def test_a_format_1_reference_still_loads_with_its_stored_statistics():
    reference = Path(__file__).parents[1] / "reports" / "reference" / "h200" / "accept-quick"
    baseline = load_baseline(reference)
    assert baseline.results.format_version == 1
    measured = [m for m in baseline.results.benchmarks if m.ok]
    assert measured and not any(m.has_times for m in measured)
    assert all(m.median_s > 0 and m.rounds > 0 for m in measured)
