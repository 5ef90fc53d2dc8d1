"""Claims of the tutorial's NumPy bridge: ``a.numpy()`` and ``torch.from_numpy(a)``.

The tutorial's two examples share memory both ways. Its conclusion, that a change on one
side always shows on the other, holds only inside a boundary a learner soon meets: CUDA
tensors, tensors that require grad, dtypes NumPy lacks (bfloat16), arrays with negative
strides or foreign byte order. Each conversion is recorded as what it does: ``share``
(same memory), ``copy``, ``error:<type>``, with ``+<warning category>`` when it warns.

The bridge lives in host memory, so on a CUDA device the judges check what a learner sees
there: ``.numpy()`` on a device tensor refuses, and ``.cpu().numpy()`` or ``.to(device)``
make copies that do not share.

``torch.from_numpy`` and ``Tensor.numpy`` are looked up when a judge runs, so a patched
torch is what gets judged.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from hypothesis import strategies as st

from blitzbench.claims.model import Claim, ClaimContext, InputSpace, Outcome, Verdict
from blitzbench.claims.properties import covering_rows, judged_properties, run_property
from blitzbench.claims.tensor_inputs import LAYOUTS, relaid, shapes
from blitzbench.claims.verdicts import judged

__all__ = ["CLAIMS", "SECTION", "Conversion", "observe"]

SECTION = "numpy_bridge"
WHERE_TO_NUMPY = "Nmupy转换 / 将Torch张量转化为numpy数组: b = a.numpy(); a.add_(1)"
WHERE_FROM_NUMPY = ("Nmupy转换 / 将numpy数组转化为Torch张量: b = torch.from_numpy(a); "
                    "np.add(a, 1, out=a); a[0] = 333")
WHERE_CONCLUSION = "Nmupy转换: the closing remark that either side's change shows in the other"
LENGTH = 5  # the tutorial's ones(5)
SHARE, COPY = "share", "copy"

# dtypes both torch.from_numpy and Tensor.numpy accept, by their common name
SHARED_DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "uint16", "uint32",
                 "uint64", "float16", "float32", "float64", "complex64", "complex128")
NUMPY_ONLY_DTYPES = ("longdouble", "clongdouble", "object", "str_", "datetime64[s]",
                     "timedelta64[s]")
TORCH_ONLY_DTYPES = ("bfloat16", "complex32", "float8_e4m3fn", "float8_e5m2")


def address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def host_address(tensor: torch.Tensor) -> int | None:
    """The tensor's data address when it lives in host memory; None on a device."""
    return tensor.data_ptr() if tensor.device.type == "cpu" else None


@dataclass(frozen=True)
class Conversion:
    """What one conversion did: share, copy or error, and the warnings it raised."""

    outcome: str
    warned: tuple[str, ...] = ()
    message: str = ""

    @property
    def kind(self) -> str:
        return "+".join((self.outcome, *self.warned))

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message[:160]}


@contextmanager
def _every_warning() -> Iterator[list[warnings.WarningMessage]]:
    """Record warnings, including torch's warn-once ones (the non-writable array warning
    fires once per process otherwise, and a CUDA cell runs after the CPU cell)."""
    was_always = torch.is_warn_always_enabled()
    torch.set_warn_always(True)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield caught
    finally:
        torch.set_warn_always(was_always)


def observe(convert: Callable[[], tuple[int | None, int | None]]) -> Conversion:
    """Run a conversion that returns (source address, result address); equal host
    addresses mean shared memory, anything else that succeeded is a copy."""
    with _every_warning() as caught:
        try:
            source, result = convert()
        except Exception as exc:
            return Conversion(f"error:{type(exc).__name__}", message=str(exc))
    warned = tuple(sorted({w.category.__name__ for w in caught}))
    message = "; ".join(str(w.message) for w in caught)
    shared = source is not None and source == result
    return Conversion(SHARE if shared else COPY, warned, message)


def tensor_to_numpy(make: Callable[[], torch.Tensor],
                    convert: Callable[[torch.Tensor], np.ndarray] = lambda t: t.numpy(),
                    ) -> Conversion:
    def run() -> tuple[int | None, int | None]:
        tensor = make()
        return host_address(tensor), address(convert(tensor))
    return observe(run)


def numpy_to_tensor(make: Callable[[], np.ndarray],
                    convert: Callable[[np.ndarray], torch.Tensor] = lambda a:
                    torch.from_numpy(a)) -> Conversion:
    def run() -> tuple[int | None, int | None]:
        array = make()
        return address(array), host_address(convert(array))
    return observe(run)


# --- sharing as a property over dtypes, ranks and layouts -------------------------------

#: Example budget (quick depth) of each sharing property, besides the covering inputs.
EXAMPLES = 40
#: The shape of the covering inputs: 2-d, non-square, so every layout differs.
CORNER_SHAPE = (3, 4)
#: (dtype name, shape, layout): one input of a sharing property.
BridgeCase = tuple[str, tuple[int, ...], str]


def bridge_cases() -> st.SearchStrategy[BridgeCase]:
    return st.tuples(st.sampled_from(SHARED_DTYPES), shapes(0, 3, max_side=4),
                     st.sampled_from(LAYOUTS))


def bridge_corners() -> list[BridgeCase]:
    """Every shared dtype in every layout, then the 0-d and empty cases."""
    rows = covering_rows(SHARED_DTYPES, LAYOUTS)
    return [(dtype, CORNER_SHAPE, layout) for dtype, layout in rows] + [
        ("float32", (), "contiguous"), ("int64", (), "sliced"), ("float64", (0, 3), "stepped")]


def _tensor_in_layout(dtype: str, shape: tuple[int, ...], layout: str) -> torch.Tensor:
    numel = int(np.prod(shape)) if shape else 1
    values = (torch.arange(numel) % 5 + 1).to(getattr(torch, dtype)).reshape(shape)
    return relaid(values, layout)


def _array_in_layout(dtype: str, shape: tuple[int, ...], layout: str) -> np.ndarray:
    """An array of ``shape`` laid out as named: transposed (Fortran order in 2-d), a slice
    from an offset, every other element (positive steps: numpy's negative ones are refused
    by from_numpy by design, conversion_boundaries checks that)."""
    def make(s: tuple[int, ...]) -> np.ndarray:
        numel = int(np.prod(s)) if s else 1
        return (np.arange(numel) % 5 + 1).astype(dtype).reshape(s)
    if layout == "transposed" and len(shape) >= 2:
        return np.swapaxes(make((*shape[:-2], shape[-1], shape[-2])), -1, -2)
    if layout == "sliced":
        return make((shape[0] + 2, *shape[1:]))[1:1 + shape[0]] if shape \
            else make((3,))[1:2].reshape(())
    if layout == "stepped":
        return make((*shape[:-1], shape[-1] * 2))[..., ::2] if shape \
            else make((3,))[2:3].reshape(())
    return make(shape)


def _writes_show(array: np.ndarray, tensor: torch.Tensor) -> bool:
    """A write on each side shows on the other (at the first element)."""
    if array.size == 0:
        return True
    first = (0,) * array.ndim
    one, other = (True, False) if array.dtype == np.bool_ else (3, 4)
    array[first] = one
    seen = tensor[first].item() == one
    tensor[first] = other
    return bool(seen and array[first] == other)


def _same_view(array: np.ndarray, tensor: torch.Tensor) -> str | None:
    """None when ``array`` and ``tensor`` are one memory under two names (an empty one has
    no memory and no meaningful strides: its shape is all there is to compare)."""
    if tuple(array.shape) != tuple(tensor.shape):
        return f"shapes {array.shape} and {tuple(tensor.shape)}"
    if array.size and array.strides != tuple(s * array.itemsize for s in tensor.stride()):
        return f"strides {array.strides} and {tensor.stride()} elements"
    if array.size and address(array) != tensor.data_ptr():
        return "different memory"
    return None if _writes_show(array, tensor) else "a write on one side does not show"


def _numpy_problem(case: BridgeCase) -> str | None:
    tensor = _tensor_in_layout(*case)
    array = tensor.numpy()
    if str(array.dtype) != case[0]:
        return f"t.numpy() is {array.dtype}"
    return _same_view(array, tensor)


def _from_numpy_problem(case: BridgeCase) -> str | None:
    array = _array_in_layout(*case)
    tensor = torch.from_numpy(array)
    if str(tensor.dtype).removeprefix("torch.") != case[0]:
        return f"torch.from_numpy gave {tensor.dtype}"
    return _same_view(array, tensor)


def _describe_bridge(case: BridgeCase) -> str:
    return f"{case[0]} {case[1]} {case[2]}"


BRIDGE_INPUTS = dict(ranks=(0, 3), layouts=LAYOUTS, dtypes=SHARED_DTYPES, examples=EXAMPLES)


def _sharing_runs(ctx: ClaimContext, check) -> dict[str, object]:
    """The property on the CPU (the bridge lives in host memory; on a device the judge
    checks the device's own answer instead)."""
    return {"shares in every dtype, rank and layout": run_property(
        bridge_cases(), check, EXAMPLES, _describe_bridge, bridge_corners())}


# --- the tutorial's two examples ------------------------------------------------------


def judge_numpy_shares(ctx: ClaimContext) -> Outcome:
    if ctx.device.type != "cpu":
        return _judge_device_tensor_numpy(ctx.device)
    a = torch.ones(LENGTH)
    b = a.numpy()
    a.add_(1)
    add_shows = b.tolist() == [2.0] * LENGTH
    b[0] = 7.0
    write_back = a[0].item() == 7.0
    same_address = address(b) == a.data_ptr()
    ok = add_shows and write_back and same_address and b.dtype == np.float32
    runs = _sharing_runs(ctx, _numpy_problem)
    tried = sum(r.tried for r in runs.values())
    return judged_properties(
        runs, ok, Verdict.HOLDS,
        f"b = a.numpy() shares a's memory: a.add_(1) shows in b {add_shows}, b[0] = 7 "
        f"shows in a {write_back}, same address {same_address}; the same view (memory, "
        f"strides, writes) for {tried} tensors over 14 dtypes, 0-d to 3-d, 4 layouts",
        add_shows_in_array=add_shows, array_write_shows_in_tensor=write_back,
        same_address=same_address, array_dtype=str(b.dtype), device="cpu")


def _judge_device_tensor_numpy(device: torch.device) -> Outcome:
    """On a GPU the learner's a lives in device memory: .numpy() must refuse and point to
    .cpu(), and .cpu().numpy() is a snapshot that a later a.add_(1) does not change."""
    a = torch.ones(LENGTH, device=device)
    refusal = tensor_to_numpy(lambda: a)
    b = a.cpu().numpy()
    a.add_(1)
    snapshot_unchanged = b.tolist() == [1.0] * LENGTH
    device_updated = a.cpu().tolist() == [2.0] * LENGTH
    ok = (refusal.outcome == "error:TypeError" and ".cpu()" in refusal.message
          and snapshot_unchanged and device_updated)
    return judged(ok, Verdict.HOLDS,
                  f"on {device} a.numpy() is refused ({refusal.outcome}) pointing to .cpu(); "
                  f"a.cpu().numpy() is a copy a.add_(1) leaves unchanged: {snapshot_unchanged}",
                  numpy_on_device=refusal.to_json(), cpu_copy_unchanged=snapshot_unchanged,
                  device_tensor_updated=device_updated, device=str(device))


def judge_from_numpy_shares(ctx: ClaimContext) -> Outcome:
    a = np.ones(LENGTH)
    b = torch.from_numpy(a)
    keeps_float64 = b.dtype == torch.float64
    np.add(a, 1, out=a)
    add_shows = b.tolist() == [2.0] * LENGTH
    a[0] = 333
    set_shows = b[0].item() == 333.0
    b[1] = -1.0
    write_back = a[1] == -1.0
    same_address = b.data_ptr() == address(a)
    ok = keeps_float64 and add_shows and set_shows and write_back and same_address
    evidence = dict(tensor_dtype=str(b.dtype), add_shows_in_tensor=add_shows,
                    set_shows_in_tensor=set_shows, tensor_write_shows_in_array=bool(write_back),
                    same_address=same_address)
    summary = (f"torch.from_numpy(a) is {b.dtype} over a's memory: np.add(out=a) shows "
               f"{add_shows}, a[0] = 333 shows {set_shows}, b[1] = -1 shows in a "
               f"{bool(write_back)}")
    if ctx.device.type != "cpu":
        moved = b.to(ctx.device)
        a[2] = 55.0
        moved_is_copy = moved.cpu()[2].item() == 2.0
        ok = ok and moved_is_copy
        evidence.update(to_device_is_copy=moved_is_copy, device=str(ctx.device))
        summary += f"; b.to({ctx.device}) is a copy: {moved_is_copy}"
    runs = _sharing_runs(ctx, _from_numpy_problem)
    tried = sum(r.tried for r in runs.values())
    summary += (f"; the same view for {tried} arrays over 14 dtypes, 0-d to 3-d, 4 layouts "
                f"(positive strides)")
    return judged_properties(runs, ok, Verdict.HOLDS, summary, **evidence)


# --- where sharing stops --------------------------------------------------------------


def _array() -> np.ndarray:
    return np.arange(6, dtype=np.float64)


def _read_only() -> np.ndarray:
    array = _array()
    array.flags.writeable = False
    return array


def _big_endian() -> np.ndarray:
    return _array().astype(">f8")


def _complex_conj() -> torch.Tensor:
    return torch.ones(3, dtype=torch.complex64).conj()  # a lazy conjugate: the conj bit


Case = Callable[[torch.device], Conversion]
Expectation = str | Mapping[str, str]  # one kind for every device, or kind by device type

#: Each case: how to run it on a device and what it does (by device type where it differs).
BOUNDARY_CASES: Mapping[str, tuple[Case, Expectation]] = {
    "t.numpy()": (lambda d: tensor_to_numpy(lambda: torch.ones(3, device=d)),
                  {"cpu": SHARE, "cuda": "error:TypeError"}),
    "t.t().numpy() (transposed view)": (
        lambda d: tensor_to_numpy(lambda: torch.ones(2, 3, device=d).t()),
        {"cpu": SHARE, "cuda": "error:TypeError"}),
    "t.cpu().numpy()": (lambda d: tensor_to_numpy(lambda: torch.ones(3, device=d),
                                                  lambda t: t.cpu().numpy()),
                        {"cpu": SHARE, "cuda": COPY}),
    "t.numpy(force=True)": (lambda d: tensor_to_numpy(lambda: torch.ones(3, device=d),
                                                      lambda t: t.numpy(force=True)),
                            {"cpu": SHARE, "cuda": COPY}),
    "bfloat16 t.numpy()": (
        lambda d: tensor_to_numpy(lambda: torch.ones(3, dtype=torch.bfloat16, device=d)),
        "error:TypeError"),
    "bfloat16 t.float().numpy()": (
        lambda d: tensor_to_numpy(lambda: torch.ones(3, dtype=torch.bfloat16, device=d),
                                  lambda t: t.float().numpy()),
        {"cpu": COPY, "cuda": "error:TypeError"}),
    # grad and conj are checked on CPU tensors: the device check would come first on a GPU
    "requires_grad t.numpy()": (
        lambda d: tensor_to_numpy(lambda: torch.ones(3, requires_grad=True)),
        "error:RuntimeError"),
    "requires_grad t.detach().numpy()": (
        lambda d: tensor_to_numpy(lambda: torch.ones(3, requires_grad=True),
                                  lambda t: t.detach().numpy()), SHARE),
    "conjugate-bit t.numpy()": (lambda d: tensor_to_numpy(_complex_conj),
                                "error:RuntimeError"),
    "conjugate-bit t.resolve_conj().numpy()": (
        lambda d: tensor_to_numpy(_complex_conj, lambda t: t.resolve_conj().numpy()), COPY),
    "from_numpy(a)": (lambda d: numpy_to_tensor(_array), SHARE),
    "from_numpy(a[::2])": (lambda d: numpy_to_tensor(lambda: _array()[::2]), SHARE),
    "from_numpy(a[::-1])": (lambda d: numpy_to_tensor(lambda: _array()[::-1]),
                            "error:ValueError"),
    "from_numpy(a[::-1].copy())": (lambda d: numpy_to_tensor(lambda: _array()[::-1].copy()),
                                   SHARE),
    "from_numpy(read-only a)": (lambda d: numpy_to_tensor(_read_only), "share+UserWarning"),
    "from_numpy(big-endian a)": (lambda d: numpy_to_tensor(_big_endian), "error:ValueError"),
    "torch.tensor(big-endian a)": (
        lambda d: numpy_to_tensor(_big_endian, lambda a: torch.tensor(a)), "error:ValueError"),
    "from_numpy(big-endian a.astype('=f8'))": (
        lambda d: numpy_to_tensor(lambda: _big_endian().astype("=f8")), SHARE),
    "torch.tensor(a)": (lambda d: numpy_to_tensor(_array, lambda a: torch.tensor(a)), COPY),
    "torch.as_tensor(a)": (lambda d: numpy_to_tensor(_array, lambda a: torch.as_tensor(a)),
                           SHARE),
    "torch.as_tensor(a, device=device)": (
        lambda d: numpy_to_tensor(_array, lambda a: torch.as_tensor(a, device=d)),
        {"cpu": SHARE, "cuda": COPY}),
    "from_numpy(a).to(device)": (
        lambda d: numpy_to_tensor(_array, lambda a: torch.from_numpy(a).to(d)),
        {"cpu": SHARE, "cuda": COPY}),
}


def expected_kind(expectation: Expectation, device: torch.device) -> str:
    if isinstance(expectation, str):
        return expectation
    return expectation[device.type]


@dataclass(frozen=True)
class Mismatch:
    case: str
    expected: str
    observed: str

    def __str__(self) -> str:
        return f"{self.case}: expected {self.expected}, observed {self.observed}"


def compare(observed: Mapping[str, Conversion], expected: Mapping[str, str]) -> list[Mismatch]:
    return [Mismatch(case, expected[case], observed[case].kind) for case in expected
            if observed[case].kind != expected[case]]


def _conditional_table(observed: Mapping[str, Conversion], expected: Mapping[str, str],
                       summary: str, **evidence: object) -> Outcome:
    """CONDITIONAL when every case did what the stated condition says; FAILS otherwise."""
    mismatches = compare(observed, expected)
    evidence = dict(evidence, cases={k: v.to_json() for k, v in observed.items()},
                    mismatches=[str(m) for m in mismatches])
    if mismatches:
        return Outcome(Verdict.FAILS, f"contradicted: {mismatches[0]}"
                       + (f" (+{len(mismatches) - 1} more)" if len(mismatches) > 1 else ""),
                       evidence, len(observed))
    return Outcome(Verdict.CONDITIONAL, summary, evidence, len(observed))


def judge_boundaries(ctx: ClaimContext) -> Outcome:
    observed = {name: case(ctx.device) for name, (case, _) in BOUNDARY_CASES.items()}
    expected = {name: expected_kind(exp, ctx.device)
                for name, (_, exp) in BOUNDARY_CASES.items()}
    shared = [name for name, c in observed.items() if c.outcome == SHARE]
    not_shared = [name for name, c in observed.items() if c.outcome != SHARE]
    return _conditional_table(
        observed, expected,
        f"{len(shared)}/{len(observed)} conversions share memory on {ctx.device.type}; the "
        f"rest copy or raise: {', '.join(not_shared[:4])}, ...",
        condition="sharing needs a CPU tensor without requires_grad or a conjugate bit, "
                  "of a dtype NumPy has, and an array with non-negative strides and native "
                  "byte order; read-only arrays share with a UserWarning")


# --- dtype coverage -------------------------------------------------------------------


class DtypeChanged(Exception):
    """A conversion that succeeded but changed the dtype: not a refusal, not a share."""


def _numpy_case(name: str) -> Conversion:
    def run() -> tuple[int | None, int | None]:
        array = np.zeros(3, dtype=name)
        tensor = torch.from_numpy(array)
        if str(tensor.dtype) != f"torch.{np.dtype(name).name}":
            raise DtypeChanged(f"{name} became {tensor.dtype}")
        return address(array), host_address(tensor)
    return observe(run)


def _torch_case(name: str, device: torch.device) -> Conversion:
    dtype = getattr(torch, name)

    def run() -> tuple[int | None, int | None]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # complex32 announces its experimental status
            tensor = torch.zeros(3, dtype=dtype).to(device)
        # on a device .numpy() always refuses; force=True is the copy a learner can get
        array = tensor.numpy() if device.type == "cpu" else tensor.numpy(force=True)
        if array.dtype.name != name:
            raise DtypeChanged(f"{dtype} became {array.dtype}")
        return host_address(tensor), address(array)
    return observe(run)


def judge_dtypes(ctx: ClaimContext) -> Outcome:
    host_kind = SHARE if ctx.device.type == "cpu" else COPY
    observed = {f"numpy {n} -> torch": _numpy_case(n) for n in SHARED_DTYPES + NUMPY_ONLY_DTYPES}
    observed.update({f"torch {n} -> numpy": _torch_case(n, ctx.device)
                     for n in SHARED_DTYPES + TORCH_ONLY_DTYPES})
    expected = {f"numpy {n} -> torch": SHARE if n in SHARED_DTYPES else "error:TypeError"
                for n in SHARED_DTYPES + NUMPY_ONLY_DTYPES}
    expected.update({f"torch {n} -> numpy": host_kind if n in SHARED_DTYPES
                     else "error:TypeError" for n in SHARED_DTYPES + TORCH_ONLY_DTYPES})
    return _conditional_table(
        observed, expected,
        f"{len(SHARED_DTYPES)} dtypes convert both ways ({host_kind} on {ctx.device.type}); "
        f"refused: numpy {', '.join(NUMPY_ONLY_DTYPES[:3])}, ...; torch "
        f"{', '.join(TORCH_ONLY_DTYPES)}",
        shared_dtypes=list(SHARED_DTYPES), numpy_only=list(NUMPY_ONLY_DTYPES),
        torch_only=list(TORCH_ONLY_DTYPES))


CLAIMS: tuple[Claim, ...] = (
    Claim("numpy_bridge.numpy_shares_memory", SECTION,
          "b = a.numpy() gives an array over the tensor's own memory, so a.add_(1) shows in "
          "b and writes to b show in a; on a GPU, .numpy() refuses a device tensor (pointing "
          "to .cpu()) and a.cpu().numpy() is a copy that does not follow a.",
          WHERE_TO_NUMPY, Verdict.HOLDS, judge_numpy_shares,
          inputs=InputSpace("t.numpy() shares", operands=("tensor",), **BRIDGE_INPUTS)),
    Claim("numpy_bridge.from_numpy_shares_memory", SECTION,
          "torch.from_numpy(a) keeps a's float64 dtype and shares its memory both ways: "
          "np.add(a, 1, out=a) and a[0] = 333 show in the tensor, tensor writes show in a; "
          "moving it to a GPU makes a copy.",
          WHERE_FROM_NUMPY, Verdict.HOLDS, judge_from_numpy_shares,
          inputs=InputSpace("torch.from_numpy(a) shares", operands=("ndarray",),
                            **BRIDGE_INPUTS)),
    Claim("numpy_bridge.conversion_boundaries", SECTION,
          "Every tensor converts to NumPy, and every array to a tensor, sharing memory.",
          WHERE_CONCLUSION, Verdict.CONDITIONAL, judge_boundaries,
          inputs=InputSpace("conversions", facets=(("cases", ("every named boundary",)),))),
    Claim("numpy_bridge.dtype_coverage", SECTION,
          "Every dtype converts between NumPy and torch, keeping its dtype and sharing "
          "memory.",
          WHERE_CONCLUSION, Verdict.CONDITIONAL, judge_dtypes,
          inputs=InputSpace("dtype conversions", facets=(
              ("dtypes", ("14 shared", "6 numpy-only", "4 torch-only")),))),
)
