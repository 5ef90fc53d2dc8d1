"""The tutorial's tensor operations, at its own size (5x3) and at a memory-system size.

At 5x3 a figure is the per-call overhead of PyTorch's dispatcher; at the memory size
(2^24 float32 elements on the CPU, 2^22 at the quick level; 2^28 on a GPU, 1 GiB per
tensor, many times any L2) it is the memory system. Views (``t_``, ``x[:, 1]``),
``.numpy()`` and ``torch.from_numpy`` cost the same at both sizes (O(1), zero-copy);
``torch.tensor(a)`` copies and grows with the size. ``x + y`` allocates its result each
call, ``torch.add(..., out=)`` and ``add_`` do not: on the CPU the difference is the page
faults of a fresh 64 MiB buffer. The quick level's 16 MiB tensors fit a large L3, so the
CPU's memory bandwidth a rule judges is STREAM's copy and triad at 4x the last-level cache
on every core (workloads/stream.py, listed here as ``tensor_ops.stream_*``).

Every workload here is one Python statement (``x + y``) with its globals: the timing loop
compiles it into its body as ``torch.utils.benchmark`` does, so a 5x3 figure is the
operation's cost and not that of a Python call around it. ``run`` is compiled from the
same statement, for untimed use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch

from blitzbench.results.names import MEMORY_PARAM, SCALE_PARAM, SIZE_PARAM
from blitzbench.timing.cpu_peak import usable_physical_cores
from blitzbench.timing.workload import Workload, statement_workload
from blitzbench.workloads import stream
from blitzbench.workloads.catalog import DEEPER, LEVELS, QUICK, Case, make_case
from blitzbench.workloads.stream import use_threads

if TYPE_CHECKING:
    from blitzbench.workloads.cifar import DataSource

__all__ = ["COLUMNS", "CPU_MEMORY_LOG2", "CPU_QUICK_MEMORY_LOG2", "GPU_MEMORY_LOG2", "cases"]

TUTORIAL_SHAPE = (5, 3)
COLUMNS = 4096  # memory-size tensors are (elements / 4096, 4096), so x[:, 1] is a column
CPU_MEMORY_LOG2 = 24  # 64 MiB per float32 tensor: beyond the CPU's last-level cache
CPU_QUICK_MEMORY_LOG2 = 22  # 16 MiB: the quick level's smaller CPU size
GPU_MEMORY_LOG2 = 28  # 1 GiB per tensor: ~17x an H200's 60 MB L2
H2D_LOG2 = 26  # 256 MiB host-to-device copy
CPU_MATMUL_N = dict(zip(LEVELS, (512, 1024, 1024), strict=True))
GPU_MATMUL_N = 8192  # bf16, 1.1 TFLOP per product: compute-bound on any current GPU
FLOAT32_BYTES = 4
SEED = 0

EVERY = LEVELS  # the operation is measured at every level

Builder = Callable[[tuple[int, ...], torch.device], Workload]


def _generator(device: torch.device) -> torch.Generator:
    """A seeded generator on the device itself: 1 GiB of random numbers made on the host
    and copied over would cost seconds per case."""
    return torch.Generator(device).manual_seed(SEED)


def _operands(shape: tuple[int, ...], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    generator = _generator(device)
    return (torch.rand(shape, generator=generator, device=device),
            torch.rand(shape, generator=generator, device=device))


def _operand(shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    return torch.rand(shape, generator=_generator(device), device=device)


def _elements(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape))


def build_empty(shape: tuple[int, ...], device: torch.device) -> Workload:
    return statement_workload("torch.empty(shape, device=device)",
                              {"torch": torch, "shape": shape, "device": device})


def build_rand(shape: tuple[int, ...], device: torch.device) -> Workload:
    return statement_workload("torch.rand(shape, device=device)",
                              {"torch": torch, "shape": shape, "device": device},
                              {"bytes": FLOAT32_BYTES * _elements(shape)})


def _add_bytes(shape: tuple[int, ...]) -> dict[str, float]:
    return {"bytes": 3 * FLOAT32_BYTES * _elements(shape)}  # read x and y, write the sum


def _binary(stmt: str, shape: tuple[int, ...], device: torch.device) -> Workload:
    x, y = _operands(shape, device)
    return statement_workload(stmt, {"torch": torch, "x": x, "y": y}, _add_bytes(shape))


def build_add_operator(shape: tuple[int, ...], device: torch.device) -> Workload:
    return _binary("x + y", shape, device)


def build_add_function(shape: tuple[int, ...], device: torch.device) -> Workload:
    return _binary("torch.add(x, y)", shape, device)


def build_add_out(shape: tuple[int, ...], device: torch.device) -> Workload:
    x, y = _operands(shape, device)
    result = torch.empty(shape, device=device)
    return statement_workload("torch.add(x, y, out=result)",
                              {"torch": torch, "x": x, "y": y, "result": result},
                              _add_bytes(shape))


def build_add_inplace(shape: tuple[int, ...], device: torch.device) -> Workload:
    # y accumulates x once per execution, timed or not: both paths share this y.
    return _binary("y.add_(x)", shape, device)


def build_transpose_inplace(shape: tuple[int, ...], device: torch.device) -> Workload:
    # Each execution flips the one x between shape and its transpose, as the tutorial's
    # repeated t_() would; run() and the compiled loop flip the same tensor.
    return statement_workload("x.t_()", {"x": _operand(shape, device)})


def build_index_column(shape: tuple[int, ...], device: torch.device) -> Workload:
    return statement_workload("x[:, 1]", {"x": _operand(shape, device)})


def build_to_numpy(shape: tuple[int, ...], device: torch.device) -> Workload:
    return statement_workload("x.numpy()", {"x": _operand(shape, device)})


def _array(shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(SEED).random(shape, dtype=np.float32)


def build_from_numpy(shape: tuple[int, ...], device: torch.device) -> Workload:
    return statement_workload("torch.from_numpy(array)", {"torch": torch, "array": _array(shape)})


def build_tensor_copy(shape: tuple[int, ...], device: torch.device) -> Workload:
    array = _array(shape)
    return statement_workload("torch.tensor(array)", {"torch": torch, "array": array},
                              {"bytes": 2 * FLOAT32_BYTES * array.size})


def _h2d(pinned: bool) -> Builder:
    def build(shape: tuple[int, ...], device: torch.device) -> Workload:
        host = torch.rand(shape)
        if pinned:
            host = host.pin_memory()
        target = torch.empty(shape, device=device)
        return statement_workload("target.copy_(host, non_blocking=pinned)",
                                  {"target": target, "host": host, "pinned": pinned},
                                  {"link_bytes": FLOAT32_BYTES * host.numel()})
    return build


def _matmul(n: int, device: torch.device, dtype: torch.dtype) -> Callable[[], Workload]:
    """``a @ b``, 2n^3 FLOP. On the CPU with one intra-op thread per usable physical core
    until the teardown: the cores its computed peak counts (timing/cpu_peak.py)."""
    def build() -> Workload:
        restore = use_threads(usable_physical_cores()) if device.type == "cpu" else None
        a, b = (t.to(dtype) for t in _operands((n, n), device))
        workload = statement_workload("a @ b", {"a": a, "b": b}, {"flop": 2.0 * n ** 3})
        return dataclasses.replace(workload, teardown=restore)
    return build


# operation -> (builder, levels at 5x3, levels at the memory size (None: not measured there))
ELEMENTWISE: dict[str, tuple[Builder, tuple[str, ...], tuple[str, ...] | None]] = {
    "empty": (build_empty, EVERY, DEEPER),
    "rand": (build_rand, EVERY, DEEPER),
    "add_operator": (build_add_operator, EVERY, EVERY),
    "add_function": (build_add_function, EVERY, DEEPER),
    "add_out": (build_add_out, EVERY, EVERY),
    "add_inplace": (build_add_inplace, EVERY, EVERY),
    "transpose_inplace": (build_transpose_inplace, EVERY, EVERY),
    "index_column": (build_index_column, EVERY, EVERY),
}
NUMPY_BRIDGE: dict[str, Builder] = {
    "to_numpy": build_to_numpy,
    "from_numpy": build_from_numpy,
    "tensor_copy": build_tensor_copy,
}


def _memory_shape(log2: int) -> tuple[int, ...]:
    return (2 ** log2 // COLUMNS, COLUMNS)


def _sizes(device: torch.device) -> list[tuple[str, tuple[int, ...], tuple[str, ...]]]:
    """(scale, shape, levels) pairs: the tutorial's 5x3, then the memory size(s)."""
    sizes = [("tutorial", TUTORIAL_SHAPE, LEVELS)]
    if device.type == "cuda":
        return [*sizes, ("memory", _memory_shape(GPU_MEMORY_LOG2), LEVELS)]
    return [*sizes, ("memory", _memory_shape(CPU_QUICK_MEMORY_LOG2), (QUICK,)),
            ("memory", _memory_shape(CPU_MEMORY_LOG2), DEEPER)]


def _size_label(shape: tuple[int, ...]) -> str:
    if shape == TUTORIAL_SHAPE:
        return "5x3"
    return f"2^{_elements(shape).bit_length() - 1}"


def _case(operation: str, device: torch.device, scale: str, shape: tuple[int, ...],
          levels: tuple[str, ...], builder: Builder) -> Case:
    return make_case(f"tensor_ops.{operation}", device,
                     {SCALE_PARAM: scale, SIZE_PARAM: _size_label(shape)}, levels,
                     lambda: builder(shape, device))


def _both(levels: tuple[str, ...], size_levels: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(levels) & set(size_levels)))


def cases(device: torch.device, data: DataSource) -> list[Case]:
    """Every tensor-op case for one device, all levels."""
    found = []
    for scale, shape, size_levels in _sizes(device):
        for operation, (builder, small, memory) in ELEMENTWISE.items():
            levels = small if scale == "tutorial" else memory
            if levels and _both(levels, size_levels):
                found.append(_case(operation, device, scale, shape,
                                   _both(levels, size_levels), builder))
        if device.type == "cpu":
            found += [_case(op, device, scale, shape, size_levels, builder)
                      for op, builder in NUMPY_BRIDGE.items()]
    if device.type == "cuda":
        found += _copy_cases(device)
    return found + stream.cases(device) + _matmul_cases(device)


def _copy_cases(device: torch.device) -> list[Case]:
    found = []
    for memory in ("pageable", "pinned"):
        build = _h2d(memory == "pinned")
        for shape, levels in ((TUTORIAL_SHAPE, DEEPER), (_memory_shape(H2D_LOG2), EVERY)):
            found.append(make_case("tensor_ops.h2d_copy", device,
                                   {MEMORY_PARAM: memory, SIZE_PARAM: _size_label(shape)}, levels,
                                   lambda b=build, s=shape: b(s, device)))
    return found


def _matmul_cases(device: torch.device) -> list[Case]:
    if device.type == "cuda":
        return [make_case("tensor_ops.matmul", device, {"n": GPU_MATMUL_N, "dtype": "bfloat16"},
                          EVERY, _matmul(GPU_MATMUL_N, device, torch.bfloat16))]
    sizes: dict[int, list[str]] = {}
    for level, n in CPU_MATMUL_N.items():
        sizes.setdefault(n, []).append(level)
    return [make_case("tensor_ops.matmul", device, {"n": n, "dtype": "float32"}, levels,
                      _matmul(n, device, torch.float32)) for n, levels in sizes.items()]
