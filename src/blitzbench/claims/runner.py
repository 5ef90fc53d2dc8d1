"""Judge claims on devices and collect the claim matrix."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import torch

from blitzbench.claims.model import Claim, ClaimContext, Outcome, Scope, Verdict
from blitzbench.devices import cuda_available, device_label, parse_devices, planned_devices
from blitzbench.errors import BlitzError
from blitzbench.results.records import ClaimCell
from blitzbench.seeding import DEFAULT_SEED, seed_everything
from blitzbench.workloads.cifar import DataSource

__all__ = ["MatrixCell", "applies", "evaluate", "iter_matrix", "judge_all", "run_matrix"]


@dataclass(frozen=True)
class MatrixCell:
    """One claim judged on one device."""

    claim: Claim
    device: str
    outcome: Outcome

    @property
    def passed(self) -> bool:
        """A skip is neither a pass nor a failure; everything else must match."""
        return self.outcome.verdict in (self.claim.expected, Verdict.SKIPPED)

    def record(self) -> ClaimCell:
        """The cell as results.json stores it, with the claim's own description."""
        return ClaimCell(claim=self.claim.id, device=self.device,
                         verdict=self.outcome.verdict.value,
                         expected=self.claim.expected.value, passed=self.passed,
                         summary=self.outcome.summary, evidence=dict(self.outcome.evidence),
                         section=self.claim.section, statement=self.claim.statement,
                         where=self.claim.where, scope=self.claim.scope.value)


def applies(claim: Claim, device: torch.device) -> bool:
    """CUDA-scoped claims (CPU-vs-GPU agreement, device mixing) have no CPU cell."""
    return not (claim.scope is Scope.CUDA and device.type != "cuda")


def evaluate(claim: Claim, device: torch.device, data: DataSource,
             seed: int = DEFAULT_SEED) -> Outcome:
    """Judge one claim on one device.

    An unexpected exception inside a judge is a FAILS verdict carrying the exception: a
    PyTorch release that removes an API must turn the check red, not crash the matrix.
    User errors (a corrupt --data-root) propagate so the CLI can report them.
    """
    if device.type == "cuda" and not cuda_available():
        return Outcome(Verdict.SKIPPED, "no CUDA device: torch.cuda.is_available() is False",
                       {"torch_cuda_build": torch.version.cuda})
    seed_everything(seed)
    try:
        return claim.judge(ClaimContext(device=device, data=data, seed=seed))
    except BlitzError:
        raise
    except Exception as exc:
        return Outcome(Verdict.FAILS, f"judge raised {type(exc).__name__}: {exc}"[:300],
                       {"exception": type(exc).__name__, "message": str(exc)[:1000]})


def iter_matrix(claims: Sequence[Claim], devices: Iterable[torch.device],
                data: DataSource) -> Iterator[MatrixCell]:
    """Every applicable (claim, device) pair, claims in tutorial order, one at a time so a
    caller can save each cell as it is judged."""
    devices = list(devices)
    for claim in claims:
        for device in devices:
            if applies(claim, device):
                yield MatrixCell(claim, device_label(device), evaluate(claim, device, data))


def run_matrix(claims: Sequence[Claim], devices: Iterable[torch.device],
               data: DataSource) -> list[MatrixCell]:
    """The whole matrix as a list."""
    return list(iter_matrix(claims, devices, data))


def judge_all(device_spec: str, data: DataSource) -> Iterator[MatrixCell]:
    """The matrix for ``--device``, one cell at a time; "all" includes a skipped CUDA
    column without a GPU."""
    from blitzbench.claims import ALL_CLAIMS

    devices = planned_devices() if device_spec == "all" else parse_devices(device_spec)
    return iter_matrix(ALL_CLAIMS, devices, data)
