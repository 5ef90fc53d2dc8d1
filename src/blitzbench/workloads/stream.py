"""STREAM's copy and triad on the CPU with every usable core: the memory bandwidth this
machine's cores draw, for a rule that fails when it halves.

The kernels and the accounting are McCalpin's STREAM (https://www.cs.virginia.edu/stream/,
``stream.c``):

- **array size**: "each array must be at least 4 times the size of the available cache
  memory" (stream.c's header), so every pass streams from DRAM. The last-level cache is
  read from sysfs (every distinct instance of the highest cache level among the usable
  processors, summed); the arrays are :data:`LLC_FACTOR` times that, and at least
  STREAM's own floor of 10 million elements. On the project's VM: L3 32 MiB, so 128 MiB
  per array (2^25 float32).
- **bytes**: counted as STREAM counts them, per element: copy ``c = a`` reads one array
  and writes one (2 x 4 bytes), triad ``a = b + q*c`` reads two and writes one
  (3 x 4 bytes); the write-allocate reads a cache may add are not counted, as STREAM
  does not count them.
- **threads**: STREAM runs one OpenMP thread per core; here torch's intra-op threads are
  set to every usable processor when the case is built and restored in its teardown (the
  rest of the catalog keeps its own thread policy), and the count is recorded with the
  case (``torch_threads``).

Elements are float32 (STREAM uses float64): a streaming kernel's bytes per second do not
depend on the element type. ``torch.add(b, c, alpha=q, out=a)`` is one fused pass (one
vectorised kernel, no temporary), as STREAM's loop is.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Collection
from pathlib import Path

import torch

from blitzbench.results.names import SCALE_PARAM, SIZE_PARAM
from blitzbench.timing.cpu_peak import SYSFS_CPU, usable_cpus
from blitzbench.timing.workload import Workload, statement_workload
from blitzbench.workloads.catalog import LEVELS, Case, make_case

__all__ = ["ARRAYS", "LLC_FACTOR", "MIN_ELEMENTS", "STREAM_SIZE", "array_elements", "cases",
           "last_level_cache_bytes", "stream_bytes", "use_threads"]

#: stream.c: arrays at least 4x the cache, and at least 10 million elements (its default
#: STREAM_ARRAY_SIZE since version 5.10).
LLC_FACTOR = 4
MIN_ELEMENTS = 10_000_000
FLOAT32_BYTES = 4
TRIAD_SCALAR = 3.0  # stream.c's ``scalar``
#: A case's arrays may take at most this share of the memory available when it is built
#: (the rest stays with the run and its neighbours); beyond it the case fails, sizes named.
MAX_MEMORY_SHARE = 0.5
#: kernel -> its statement, and the arrays it reads and writes (STREAM's byte count per
#: element is their number); arrays start as stream.c's do: a = 1, b = 2, c = 0.
STATEMENTS = {"copy": "c.copy_(a)", "triad": "torch.add(b, c, alpha=scalar, out=a)"}
USES = {"copy": ("a", "c"), "triad": ("a", "b", "c")}
ARRAYS = {kernel: len(names) for kernel, names in USES.items()}
INITIAL = {"a": 1.0, "b": 2.0, "c": 0.0}
STREAM_SIZE = f"{LLC_FACTOR}xLLC"  # the size parameter: the arrays scale with the cache
SIZE_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def stream_bytes(kernel: str, elements: int, element_bytes: int = FLOAT32_BYTES) -> int:
    """Bytes one call of ``kernel`` moves, counted the STREAM way."""
    return ARRAYS[kernel] * element_bytes * elements


def array_elements(llc_bytes: int, element_bytes: int = FLOAT32_BYTES) -> int:
    """Elements per array: :data:`LLC_FACTOR` x the last-level cache, at least
    :data:`MIN_ELEMENTS`."""
    return max(MIN_ELEMENTS, -(-LLC_FACTOR * llc_bytes // element_bytes))


def last_level_cache_bytes(cpus: Collection[int] | None = None,
                           root: Path = SYSFS_CPU) -> int:
    """Every distinct instance of the highest-level cache among ``cpus``, summed (two
    sockets' L3 count twice, two cores sharing one L3 count it once). A machine whose
    sysfs says nothing raises: STREAM's size rule cannot be applied without it."""
    instances: dict[tuple[int, str], int] = {}
    for cpu in sorted(usable_cpus() if cpus is None else cpus):
        for index in sorted((root / f"cpu{cpu}" / "cache").glob("index*")):
            try:
                level = int((index / "level").read_text())
                kind = (index / "type").read_text().strip()
                size = _size_bytes((index / "size").read_text().strip())
                shared = (index / "shared_cpu_list").read_text().strip()
            except (OSError, ValueError):
                continue
            if kind != "Instruction":
                instances[(level, shared)] = size
    if not instances:
        raise RuntimeError(f"STREAM needs the last-level cache size and {root}/cpu*/cache "
                           f"gives none: its array-size rule (4x the cache) cannot be applied")
    top = max(level for level, _ in instances)
    return sum(size for (level, _), size in instances.items() if level == top)


def _size_bytes(text: str) -> int:
    """sysfs's cache size: ``32768K``, ``1M`` or a plain number of bytes."""
    unit = SIZE_UNITS.get(text[-1:].upper())
    return int(text[:-1]) * unit if unit else int(text)


def _available_bytes() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def build_stream(kernel: str, device: torch.device) -> Workload:
    """One STREAM kernel over arrays of 4x the last-level cache, every usable processor as
    a torch thread until the teardown."""
    llc = last_level_cache_bytes()
    elements = array_elements(llc)
    needed = ARRAYS[kernel] * FLOAT32_BYTES * elements
    available = _available_bytes()
    if available is not None and needed > MAX_MEMORY_SHARE * available:
        raise RuntimeError(f"STREAM {kernel} needs {needed / 2**20:,.0f} MiB ({ARRAYS[kernel]} "
                           f"arrays of {LLC_FACTOR}x the {llc / 2**20:,.0f} MiB last-level "
                           f"cache); "
                           f"{available / 2**20:,.0f} MiB of memory is available")
    restore = use_threads(len(usable_cpus()))
    try:
        arrays = {name: _filled(elements, INITIAL[name], device) for name in USES[kernel]}
    except BaseException:
        restore()
        raise
    workload = statement_workload(STATEMENTS[kernel],
                                  {"torch": torch, "scalar": TRIAD_SCALAR, **arrays},
                                  {"bytes": stream_bytes(kernel, elements)})
    figures = {"array_bytes": float(FLOAT32_BYTES * elements), "llc_bytes": float(llc)}
    return dataclasses.replace(workload, teardown=restore, probe=lambda: figures)


def _filled(elements: int, value: float, device: torch.device) -> torch.Tensor:
    """A new array, every page touched by the threads that will stream it (STREAM
    initialises its arrays in parallel for the same reason)."""
    return torch.empty(elements, dtype=torch.float32, device=device).fill_(value)


def use_threads(threads: int) -> Callable[[], None]:
    """Run with ``threads`` intra-op threads until the returned teardown restores them
    (set in a case's build, so warm-up, calibration and rounds all run with them)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    return lambda: torch.set_num_threads(previous)


def cases(device: torch.device) -> list[Case]:
    """STREAM copy and triad, on the CPU only (a GPU's memory is judged by the memory-size
    tensor ops against its datasheet), at every level."""
    if device.type != "cpu":
        return []
    return [make_case(f"tensor_ops.stream_{kernel}", device,
                      {SCALE_PARAM: "memory", SIZE_PARAM: STREAM_SIZE}, LEVELS,
                      lambda k=kernel: build_stream(k, device))
            for kernel in ARRAYS]
