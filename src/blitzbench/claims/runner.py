"""Judge claims on devices and collect the claim matrix."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import torch

from blitzbench.claims.faults import JudgeError, raised_by_library, where_raised
from blitzbench.claims.model import Claim, ClaimContext, Outcome, Scope, Verdict
from blitzbench.devices import cuda_available, device_label
from blitzbench.errors import BlitzError
from blitzbench.results.records import ClaimCell
from blitzbench.seeding import DEFAULT_SEED, seed_everything
from blitzbench.workloads.cifar import DataSource

__all__ = ["MatrixCell", "applies", "evaluate", "iter_matrix", "judge_all", "run_matrix",
           "warm_up"]


@dataclass(frozen=True)
class MatrixCell:
    """One claim judged on one device."""

    claim: Claim
    device: str
    outcome: Outcome

    @property
    def passed(self) -> bool:
        """A skip is neither a pass nor a failure; everything else must match. ERROR (the
        judge could not judge) is never a pass."""
        if self.outcome.verdict is Verdict.ERROR:
            return False
        return self.outcome.verdict in (self.claim.expected, Verdict.SKIPPED)

    @property
    def coverage(self) -> str:
        """The input space covered (``add_ in place: 240 inputs over ...``), or ""."""
        inputs = self.claim.inputs
        return inputs.coverage(self.outcome.inputs_tried) if inputs is not None else ""

    def record(self) -> ClaimCell:
        """The cell as results.json stores it, with the claim's own description."""
        return ClaimCell(claim=self.claim.id, device=self.device,
                         verdict=self.outcome.verdict.value,
                         expected=self.claim.expected.value, passed=self.passed,
                         summary=self.outcome.summary, evidence=dict(self.outcome.evidence),
                         section=self.claim.section, statement=self.claim.statement,
                         where=self.claim.where, scope=self.claim.scope.value,
                         coverage=self.coverage)


def applies(claim: Claim, device: torch.device) -> bool:
    """CUDA-scoped claims (CPU-vs-GPU agreement, device mixing) have no CPU cell."""
    return not (claim.scope is Scope.CUDA and device.type != "cuda")


def evaluate(claim: Claim, device: torch.device, data: DataSource,
             seed: int = DEFAULT_SEED) -> Outcome:
    """Judge one claim on one device.

    An exception escaping a judge never crashes the matrix. Raised by torch, torchvision or
    numpy (a PyTorch release that removed an API) it is FAILS carrying the exception; raised
    by the judge's own code it is ERROR with the input (claims/faults.py). User errors (a
    corrupt --data-root) propagate so the CLI can report them.
    """
    if device.type == "cuda" and not cuda_available():
        return Outcome(Verdict.SKIPPED, "no CUDA device: torch.cuda.is_available() is False",
                       {"torch_cuda_build": torch.version.cuda})
    seed_everything(seed)
    try:
        return claim.judge(ClaimContext(device=device, data=data, seed=seed))
    except BlitzError:
        raise
    except Exception as exc:  # every escape becomes a verdict or an ERROR
        return escaped(exc)


def escaped(exc: Exception) -> Outcome:
    """The outcome of an exception that escaped a judge: FAILS when the library raised it,
    ERROR (never a pass) when the judge itself broke, with the input it broke on."""
    evidence = {"exception": type(exc).__name__, "message": str(exc)[:1000],
                "raised_at": where_raised(exc.cause if isinstance(exc, JudgeError) else exc)}
    if isinstance(exc, JudgeError):
        evidence["input"] = exc.example
        return Outcome(Verdict.ERROR, str(exc)[:300], evidence)
    if raised_by_library(exc):
        return Outcome(Verdict.FAILS, f"judge raised {type(exc).__name__}: {exc}"[:300],
                       evidence)
    return Outcome(Verdict.ERROR, f"the judge itself broke ({type(exc).__name__} at "
                                  f"{evidence['raised_at']}): {exc}"[:300], evidence)


def iter_matrix(claims: Sequence[Claim], devices: Iterable[torch.device],
                data: DataSource) -> Iterator[MatrixCell]:
    """Every applicable (claim, device) pair, claims in tutorial order, one at a time so a
    caller can save each cell as it is judged."""
    cells = [(claim, device) for claim in claims for device in devices
             if applies(claim, device)]
    warm_up(cells)
    for claim, device in cells:
        yield MatrixCell(claim, device_label(device), evaluate(claim, device, data))


def warm_up(cells: Iterable[tuple[Claim, torch.device]]) -> None:
    """Start every cell's background set-up (:attr:`Claim.warm`) before the first judging."""
    for claim, device in cells:
        if claim.warm is not None and (device.type != "cuda" or cuda_available()):
            claim.warm(device)


def run_matrix(claims: Sequence[Claim], devices: Iterable[torch.device],
               data: DataSource) -> list[MatrixCell]:
    """The whole matrix as a list."""
    return list(iter_matrix(claims, devices, data))


def judge_all(devices: Iterable[torch.device], data: DataSource,
              keep: Callable[[str], bool] = lambda claim_id: True) -> Iterator[MatrixCell]:
    """Every claim ``keep`` accepts (by id) on ``devices``, one cell at a time."""
    from blitzbench.claims import ALL_CLAIMS

    return iter_matrix([c for c in ALL_CLAIMS if keep(c.id)], devices, data)
