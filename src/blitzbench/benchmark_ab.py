"""``pytest benchmarks --blitz-ab PYTHON``: each benchmark case a test that fails when this
interpreter is SLOWER than the other one, judged as ``blitzbench ab`` judges.

The A/B run is one sitting for the whole session (runner/ab.py): on the first case a
test asks for, both sides measure every case the session collected, A (``PYTHON``) and B
(this interpreter, with this process's environment: a patch on PYTHONPATH reaches it)
alternating in slots, over several pairs of worker processes; every test then reads its
case's verdict at the Bonferroni level over the session's cases (results/paired.py).
SLOWER fails the test with the evidence; NOISY skips it, saying it could not be judged
(never a pass); FASTER and SAME pass. The run folder goes under ``<rootdir>/reports``
like any run, for ``blitzbench report``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import pytest

from blitzbench.results.compare import DEFAULT_THRESHOLD, Verdict

if TYPE_CHECKING:
    from blitzbench.results.ab import ABRecord
    from blitzbench.results.compare import Comparison
    from blitzbench.workloads.catalog import Case

__all__ = ["AB_OPTION", "AB_THRESHOLD_OPTION", "add_options", "judge_case"]

AB_OPTION = "--blitz-ab"
AB_THRESHOLD_OPTION = "--blitz-ab-threshold"
_VERDICTS = pytest.StashKey[dict]()


def add_options(group: Any) -> None:
    group.addoption(AB_OPTION, default=None, metavar="PYTHON",
                    help="judge each case A/B against this other interpreter (a side as "
                         "for `blitzbench ab`: 'PYTHONPATH=old .venv/bin/python'): a test "
                         "fails when this interpreter is SLOWER")
    group.addoption(AB_THRESHOLD_OPTION, type=float, default=100 * DEFAULT_THRESHOLD,
                    metavar="PCT", help="with --blitz-ab: the smallest change called "
                                        "SLOWER, in percent (default 5)")


def judge_case(request: pytest.FixtureRequest, case: Case) -> None:
    """Pass, fail (SLOWER) or skip (NOISY: not judged) this case's test."""
    verdicts = _session_verdicts(request)
    key = f"{_prefix(case)}@{case.device}"
    comparison = verdicts.get(key)
    if comparison is None:
        pytest.skip(f"not judged: the other side has no case {key}")
    if comparison.verdict is Verdict.SLOWER:
        pytest.fail(f"SLOWER than {request.config.getoption(AB_OPTION)}: "
                    f"{comparison.evidence()}", pytrace=False)
    if comparison.verdict is Verdict.NOISY:
        pytest.skip(f"NOISY, not judged: {comparison.evidence()}")


def _session_verdicts(request: pytest.FixtureRequest) -> dict[str, Comparison]:
    """The session's A/B verdicts by case key, measured on the first call."""
    config = request.config
    if _VERDICTS not in config.stash:
        record = _run(request.session, config)
        from blitzbench.results.paired import judge_record

        config.stash[_VERDICTS] = {case.key: c for case, c in judge_record(record)}
    return config.stash[_VERDICTS]


def _run(session: pytest.Session, config: pytest.Config) -> ABRecord:
    from blitzbench.options import EVERYTHING
    from blitzbench.runner.ab import run_pairs, settings_for, shared_keys, start_sides
    from blitzbench.runner.session import RunInputs, open_recorder, recording
    from blitzbench.runner.sides import SideSpec, parse_side

    inputs = _inputs(config)
    wanted = _collected_keys(session)
    specs = [parse_side("A", config.getoption(AB_OPTION)), SideSpec("B", (sys.executable,),
                                                                    {})]
    level = config.getoption("--blitz-level")
    sides = start_sides(specs, settings_for(inputs, level, 1, 0))
    try:
        keys, not_compared = shared_keys(sides, EVERYTHING)
        keys = [key for key in keys if key in wanted]
        recorder = open_recorder(RunInputs(inputs.devices, inputs.devices, inputs.data,
                                           inputs.reports), "ab", level=level)
        with recording(recorder):
            record = run_pairs(sides, keys, [k for k in not_compared
                                             if k.rsplit(":", 1)[0] in wanted],
                               threshold=config.getoption(AB_THRESHOLD_OPTION) / 100,
                               save=lambda found: recorder.set("ab", found))
        recorder.finish()
    finally:
        sides.stop()
    return record


def _inputs(config: pytest.Config) -> Any:
    from blitzbench.pytest_plugin import selected_devices
    from blitzbench.runner.session import RunInputs
    from blitzbench.workloads.cifar import resolve_data_source

    devices = tuple(d for d in selected_devices(config) if d.type == "cpu" or _usable(d))
    return RunInputs(devices, devices, resolve_data_source(config.getoption("--data-root")),
                     config.rootpath / "reports")


def _usable(device: Any) -> bool:
    from blitzbench.devices import cuda_available

    return cuda_available()


def _collected_keys(session: pytest.Session) -> set[str]:
    keys = set()
    for item in session.items:
        case = getattr(getattr(item, "callspec", None), "params", {}).get("case")
        if case is not None and hasattr(case, "benchmark"):
            keys.add(f"{_prefix(case)}@{case.device}")
    return keys


def _prefix(case: Case) -> str:
    from blitzbench.results.names import metric_prefix

    return metric_prefix(case.benchmark, case.params)
