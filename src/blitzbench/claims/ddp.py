"""Claims about the tutorial's training step run data-parallel: DistributedDataParallel
keeps every rank's copy of LeNet identical because it averages the ranks' gradients.

The tutorial trains on one device; this section takes its step (workloads/lenet.py) into a
world of two ranks on this machine (distributed/ddp.py does the rank's side). A CPU world's
ranks are forked from a fork server that imported torch in the background while the other
claims were judged (distributed/forked.py: ~1 s instead of torchrun's ~10 s on two cores);
a CUDA world's ranks start afresh through torchrun, untouched by any CUDA state.
Nothing is assumed from DDP's documentation: each rank starts from weights of its own
seed, trains on its own batches, and reports digests and differences that the judge
compares here. A rank that cannot be started (no torch.distributed, no gloo, fewer GPUs
than ranks) makes the cell SKIPPED with the reason.

Parameters are compared bit for bit (equal SHA-256 digests, and a largest difference of
exactly 0), not within a tolerance: every rank starts from the same bytes (DDP broadcasts
rank 0's weights), receives the same all-reduced gradient bytes and runs the same SGD
arithmetic on them, so nothing legitimate can make two replicas differ by even one unit in
the last place, and a drift that a tolerance let through would compound step after step.
The gradient is compared within a float32 tolerance instead, since the reference sums the
same terms in another order (one pass over the global batch against two half-batch means
averaged).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from blitzbench.claims.data import data_label
from blitzbench.claims.model import Claim, ClaimContext, Outcome, Verdict
from blitzbench.claims.verdicts import error, judged, skipped
from blitzbench.devices import device_label
from blitzbench.distributed.ddp import (
    REPLICA_TARGET,
    ReplicaReport,
    local_world_env,
    local_world_unavailable,
    read_replica_reports,
    replica_report,
)
from blitzbench.distributed.forked import run_forked, warm
from blitzbench.distributed.local import LocalRun, run_local
from blitzbench.workloads.cifar import DataSource

__all__ = ["CLAIMS", "GRADIENT_TOLERANCE", "SECTION", "WORLD_SIZE", "judge_replica_run",
           "judge_reports"]

SECTION = "ddp"
WHERE = ("LeNet / 训练网络, run data-parallel: the step under DistributedDataParallel "
         "(beyond the note, which trains on one device)")
WORLD_SIZE = 2
#: Through torchrun, its start and two ranks importing torch take 10-20 s on two shared
#: cores; forked ranks whose server is still importing wait for it (~5 s).
JOB_TIMEOUT_S = 180.0
#: What a CPU world's fork server imports beyond distributed/forked.py's PRELOAD.
RANK_MODULES = ("blitzbench.distributed.ddp",)
#: DDP's gradient against the global batch's, as a share of the gradient's largest entry:
#: measured 1.0e-07 on the CPU (float32's epsilon is 1.2e-07); 100 times that leaves room
#: for another summation order (a GPU's kernels) while a gradient that was not averaged is
#: off by a large share of the scale (0.83 measured for one rank's own).
GRADIENT_TOLERANCE = 1e-5


def judge_replicas(ctx: ClaimContext) -> Outcome:
    device = device_label(ctx.device)
    reason = local_world_unavailable(device, WORLD_SIZE)
    if reason is not None:
        return skipped(f"no {WORLD_SIZE}-rank world on {device}: {reason}", device=device)
    launch = run_forked if _forked(device) else run_local
    run = launch(REPLICA_TARGET, WORLD_SIZE, timeout_s=JOB_TIMEOUT_S,
                 args=(ctx.data.kind, str(ctx.data.root), str(ctx.seed)),
                 env=local_world_env(device))
    return judge_replica_run(run, data_label(ctx.data))


def _forked(device: str) -> bool:
    """A CPU world's ranks are forked from the fork server; a CUDA world's start afresh
    through torchrun (no CUDA state inherited from the server's imports)."""
    return device == "cpu"


def warm_world(device: torch.device) -> None:
    """Start the fork server of a forked world (a torchrun world has nothing to start)."""
    if _forked(device_label(device)):
        warm(RANK_MODULES)


def judge_replica_run(run: LocalRun, data: str) -> Outcome:
    """The verdict on a finished replica job. A job that did not finish (a time-out, a
    rank that died, a store that never answered) could not judge the claim: ERROR with
    one line, never FAILS, and no traceback as evidence."""
    try:
        reports = read_replica_reports(run)
    except RuntimeError as exc:
        return error(f"{str(exc).splitlines()[0]} {_last_line(run.output)}".strip(),
                     returncode=run.returncode, cause=_last_line(run.output))
    return judge_reports(reports, data)


def _last_line(output: str) -> str:
    """The last line of a job's output that says something (an exception's message, or
    torchrun's one-line summary), without the traceback above it."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    meaningful = [line for line in lines if not line.startswith(("File ", "Traceback",
                                                                 "^", "~"))]
    return (meaningful or lines or [""])[-1][:300]


def world_part(world: Any, data: DataSource, seed: int) -> dict[str, Any]:
    """A rank's share of the claim on a world that already exists (a torchrun job)."""
    return replica_report(world, data, seed=seed).to_json()


def world_verdict(reports: Sequence[Mapping[str, Any]], data: DataSource) -> Outcome:
    """Rank 0's verdict on every rank's report (a job's own world)."""
    return judge_reports([ReplicaReport.from_json(dict(r)) for r in reports],
                         data_label(data))


def judge_reports(reports: Sequence[ReplicaReport], data: str) -> Outcome:
    """Replicas bitwise equal after every checked step, on ranks that saw different data,
    with DDP's gradient equal to the global batch's and unlike each rank's own."""
    first = reports[0]
    distinct_data = len({r.batch_sha256 for r in reports}) == len(reports)
    identical = [len({r.param_sha256[i] for r in reports}) == 1
                 and all(r.param_max_abs_diff[i] == 0 for r in reports)
                 for i in range(len(first.checked_steps))]
    averaged = max(r.grad_vs_global / r.grad_scale for r in reports)
    own = min(r.local_vs_ddp / r.grad_scale for r in reports)
    worst_diff = max(max(r.param_max_abs_diff) for r in reports)
    steps = " and ".join(f"step {n}: {same}" for n, same in
                         zip(first.checked_steps, identical, strict=True))
    ok = (distinct_data and all(identical) and averaged <= GRADIENT_TOLERANCE
          and own > GRADIENT_TOLERANCE)
    return judged(ok, Verdict.HOLDS,
                  f"{len(reports)} {first.backend} ranks on {first.device}, each its own "
                  f"batch of {first.batch_size} ({data}; batches differ: {distinct_data}): "
                  f"parameters bitwise identical after {steps} (max abs diff "
                  f"{worst_diff:.2g}); DDP's gradient "
                  f"is the global batch's to {averaged:.1e} of scale (tol "
                  f"{GRADIENT_TOLERANCE:.0e}), each rank's own is {own:.2f} of scale away",
                  world_size=len(reports), backend=first.backend, device=first.device,
                  batch_size=first.batch_size, data_set=data,
                  distinct_batches=distinct_data, checked_steps=list(first.checked_steps),
                  parameters_identical=identical, param_max_abs_diff=worst_diff,
                  grad_vs_global_of_scale=averaged, own_grad_vs_ddp_of_scale=own,
                  gradient_tolerance=GRADIENT_TOLERANCE,
                  ranks=[r.to_json() for r in reports])


CLAIMS: tuple[Claim, ...] = (
    Claim("ddp.replicas_identical", SECTION,
          "After DistributedDataParallel steps in which every rank trains on different "
          "images, all ranks hold bit-for-bit the same LeNet parameters, because backward "
          "replaces each rank's gradient with the ranks' average: the gradient of the whole "
          "global batch.",
          WHERE, Verdict.HOLDS, judge_replicas, warm=warm_world, world_part=world_part,
          world_verdict=world_verdict),
)
