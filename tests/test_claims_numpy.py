"""The NumPy bridge judges: how a conversion is classified, and that drift is noticed."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from blitzbench.claims import numpy_bridge as nb
from blitzbench.claims.model import ClaimContext, Verdict

CPU = torch.device("cpu")


def context() -> ClaimContext:
    return ClaimContext(device=CPU, data=None)  # type: ignore[arg-type]


def test_observe_classifies_share_copy_error_and_warning() -> None:
    array = np.ones(3)

    def warns() -> tuple[int, int]:
        warnings.warn("careful", UserWarning, stacklevel=1)
        return 1, 1

    def fails() -> tuple[int, int]:
        raise ValueError("no")

    assert nb.observe(lambda: (nb.address(array), nb.address(array))).kind == "share"
    assert nb.observe(lambda: (nb.address(array), nb.address(array.copy()))).kind == "copy"
    assert nb.observe(lambda: (None, None)).kind == "copy"  # device memory never shares
    assert nb.observe(warns).kind == "share+UserWarning"
    failed = nb.observe(fails)
    assert failed.kind == "error:ValueError" and failed.message == "no"


def test_read_only_warning_is_seen_every_time() -> None:
    kinds = {nb.numpy_to_tensor(nb._read_only).kind for _ in range(3)}
    assert kinds == {"share+UserWarning"}
    assert not torch.is_warn_always_enabled()


def test_every_device_dependent_expectation_names_cpu_and_cuda() -> None:
    for name, (_, expectation) in nb.BOUNDARY_CASES.items():
        if not isinstance(expectation, str):
            assert set(expectation) == {"cpu", "cuda"}, name


def test_compare_reports_each_mismatch() -> None:
    observed = {"a": nb.Conversion("share"), "b": nb.Conversion("copy")}
    mismatches = nb.compare(observed, {"a": "share", "b": "share"})
    assert [str(m) for m in mismatches] == ["b: expected share, observed copy"]


def test_judges_give_their_expected_verdicts_on_cpu() -> None:
    for claim in nb.CLAIMS:
        assert claim.judge(context()).verdict is claim.expected, claim.id


@pytest.mark.parametrize("judge", [nb.judge_from_numpy_shares, nb.judge_boundaries,
                                   nb.judge_dtypes])
def test_a_copying_from_numpy_is_caught(judge, monkeypatch) -> None:
    original = torch.from_numpy
    monkeypatch.setattr(torch, "from_numpy", lambda array: original(array).clone())
    assert judge(context()).verdict is Verdict.FAILS


def test_a_dtype_change_is_not_mistaken_for_a_refusal(monkeypatch) -> None:
    original = torch.from_numpy
    monkeypatch.setattr(torch, "from_numpy", lambda array: original(
        array.astype(np.float64) if array.dtype == np.longdouble else array))
    outcome = nb.judge_dtypes(context())
    assert outcome.verdict is Verdict.FAILS
    assert outcome.evidence["cases"]["numpy longdouble -> torch"]["kind"] == "error:DtypeChanged"
