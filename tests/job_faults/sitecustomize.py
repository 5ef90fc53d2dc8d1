"""Faults planted in the ranks of a torchrun job of ``blitzbench accept``, for
tests/test_accept_torchrun.py. Python imports ``sitecustomize`` from its path as an
interpreter starts; this folder is on ``PYTHONPATH`` only in the jobs of those tests, so
production code reads none of these variables.

- ``JOB_FAULT_KILL=RANK:POINT``: rank RANK kills itself with SIGKILL at POINT: ``claims``
  (after its claim step: mid-run, while the others measure) or ``gather`` (as the other
  ranks enter the gather). A signal at a named point, not a timer, so the test does not
  race the run; the rank prints :data:`KILL_LINE` first, the moment the test times from.
- ``JOB_FAULT_VERSIONS=RANK:JSON``: rank RANK reports the versions in JSON
  (``1:{"torch": "9.9.9"}``) in the job's version check: a rank with another install,
  without installing one.

torchrun's agent imports this too; it has no ``RANK`` and is left alone.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys

KILL_ENV = "JOB_FAULT_KILL"
VERSIONS_ENV = "JOB_FAULT_VERSIONS"
KILL_LINE = "blitzbench: planted fault: rank"


def _wanted(variable: str) -> str | None:
    """The value after ``RANK:`` when the variable names this rank."""
    rank, _, value = os.environ.get(variable, "").partition(":")
    return value if rank and rank == os.environ.get("RANK") else None


def _kill(point: str) -> None:
    print(f"{KILL_LINE} {os.environ['RANK']} kills itself at {point}", file=sys.stderr,
          flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def _plant_kill(point: str) -> None:
    from blitzbench.runner import job

    method = {"claims": "run_claims", "gather": "_wait_for_every_rank"}[point]
    original = getattr(job.Job, method)

    def killing(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        _kill(point)
        return result

    setattr(job.Job, method, killing)


def _plant_versions(versions_json: str) -> None:
    from blitzbench.runner import job

    versions = json.loads(versions_json)
    original = job.own_facts

    def other_install(world, environment):
        facts = original(world, environment)
        return dataclasses.replace(facts, versions={**facts.versions, **versions})

    job.own_facts = other_install


if os.environ.get("RANK") is not None:
    if (point := _wanted(KILL_ENV)) is not None:
        _plant_kill(point)
    if (versions := _wanted(VERSIONS_ENV)) is not None:
        _plant_versions(versions)
