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


# --- beyond the tutorial's example (x.cuda() behind is_available()) ---------------------


def _to_cuda_string_stays() -> None:
    """x.to('cuda') returns x, still on the CPU (x.cuda() still refuses)."""
    original = torch.Tensor.to

    def to(self, *args, **kwargs):
        if args and args[0] == "cuda":
            return self
        return original(self, *args, **kwargs)

    torch.Tensor.to = to


def _device_count_lies() -> None:
    torch.cuda.device_count = lambda: 1


def _factory_ignores_cuda() -> None:
    """torch.ones(..., device='cuda') makes a CPU tensor."""
    original = torch.ones

    def ones(*args, device=None, **kwargs):
        if device == "cuda":
            device = "cpu"
        return original(*args, device=device, **kwargs)

    torch.ones = ones


BREAKAGES: tuple[Breakage, ...] = (
    Breakage("cuda-availability-lies",
             "torch.cuda.is_available() answers True on a machine without a usable GPU",
             frozenset({GUARD}), _availability_lies),
    Breakage("cuda-tensor-stays-on-cpu",
             "Tensor.cuda() returns the CPU tensor unchanged (on a GPU machine it also "
             "breaks cuda.add_on_gpu)",
             frozenset({GUARD}), _cuda_stays_on_cpu),
    Breakage("cuda-to-string-stays-on-cpu", "x.to('cuda') returns the CPU tensor",
             frozenset({GUARD}), _to_cuda_string_stays, True),
    Breakage("cuda-device-count-lies", "torch.cuda.device_count() answers 1 without a GPU",
             frozenset({GUARD}), _device_count_lies, True),
    Breakage("cuda-factory-ignores-device", "torch.ones(device='cuda') makes a CPU tensor",
             frozenset({GUARD}), _factory_ignores_cuda, True),
)
