"""A planted slowdown for the proofs (scripts/ab_proof.py, scripts/gate_proof.py): put this
folder on PYTHONPATH and name the case and its factor, and that case gets slower.

``BLITZBENCH_PLANT="lenet.train_step[batch_size=64,variant=eager]=1.25"``: every call of
the case's unit of work runs it, then busy-works for 0.25 of the time that call took, so
each call takes 1.25 times as long, smoothly (every call alike, whatever the machine's
load at that moment: the extra is measured on the call itself), and nothing else changes.
The extra work is Python spinning on the clock, so the instruction count grows too, by
the spin's instructions rather than by exactly 25%. Python imports ``sitecustomize`` from
its path as an interpreter starts, so the plant reaches every process of that
interpreter: ``pytest``, an A/B worker, a callgrind worker.
"""

from __future__ import annotations

import dataclasses
import os
import time

PLANT_ENV = "BLITZBENCH_PLANT"


def _parse(text: str) -> tuple[str, float]:
    case, _, factor = text.rpartition("=")
    if not case or float(factor) < 1:
        raise ValueError(f"{PLANT_ENV}={text!r}: write CASE=FACTOR with FACTOR >= 1, e.g. "
                         f"'lenet.forward[batch_size=4,variant=eager]=1.25'")
    return case, float(factor)


def _plant(case_prefix: str, factor: float) -> None:
    from blitzbench.results.names import metric_prefix
    from blitzbench.workloads import catalog

    original = catalog.cases

    def slowed(workload):
        def run():
            started = time.perf_counter()
            workload.run()
            until = time.perf_counter() + (factor - 1) * (time.perf_counter() - started)
            while time.perf_counter() < until:
                pass

        return dataclasses.replace(workload, run=run, stmt=None)

    def cases(*args, **kwargs):
        return [dataclasses.replace(c, build=lambda c=c: slowed(c.build()))
                if metric_prefix(c.benchmark, c.params) == case_prefix else c
                for c in original(*args, **kwargs)]

    catalog.cases = cases


if os.environ.get(PLANT_ENV):
    _plant(*_parse(os.environ[PLANT_ENV]))
