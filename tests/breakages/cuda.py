"""Breakages for the 'cuda' claims.

Only cuda.availability_guard is judged on the CPU. The other cuda claims have no CPU cell,
so no patch can turn a CPU run of ``pytest checks`` red for them; instead their comparison
helpers are run on the CPU against the same planted defects (a device that moves the
other operand silently, parameters perturbed on the way to the device, scaled gradients)
in tests/test_claims_cuda.py.
"""

from __future__ import annotations

import torch

from breakages.model import Breakage

GUARD = "cuda.availability_guard"


def _availability_lies() -> None:
    torch.cuda.is_available = lambda: True


def _cuda_stays_on_cpu() -> None:
    torch.Tensor.cuda = lambda self, *args, **kwargs: self


BREAKAGES: tuple[Breakage, ...] = (
    Breakage("cuda-availability-lies",
             "torch.cuda.is_available() answers True on a machine without a usable GPU",
             frozenset({GUARD}), _availability_lies),
    Breakage("cuda-tensor-stays-on-cpu",
             "Tensor.cuda() returns the CPU tensor unchanged (on a GPU machine it also "
             "breaks cuda.add_on_gpu)",
             frozenset({GUARD}), _cuda_stays_on_cpu),
)
