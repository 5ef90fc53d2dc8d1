"""The tutorial's claims, one module per tutorial section, gathered in tutorial order."""

from __future__ import annotations

from blitzbench.claims import (
    autograd,
    cuda,
    data,
    ddp,
    inplace,
    lenet,
    numpy_bridge,
    scaling,
    tensors,
)
from blitzbench.claims.model import Claim, ClaimContext, Outcome, Scope, Verdict

__all__ = ["ALL_CLAIMS", "SECTIONS", "Claim", "ClaimContext", "Outcome", "Scope", "Verdict",
           "claim_by_id", "claims_in_section"]

_MODULES = (tensors, inplace, numpy_bridge, cuda, autograd, scaling, data, lenet, ddp)

#: Section name -> claims, in the order the tutorial introduces them.
SECTIONS: dict[str, tuple[Claim, ...]] = {m.SECTION: tuple(m.CLAIMS) for m in _MODULES}

ALL_CLAIMS: tuple[Claim, ...] = tuple(c for claims in SECTIONS.values() for c in claims)


def _check_unique() -> None:
    ids = [c.id for c in ALL_CLAIMS]
    duplicated = {i for i in ids if ids.count(i) > 1}
    if duplicated:
        raise RuntimeError(f"duplicate claim ids: {sorted(duplicated)}")


_check_unique()


def claims_in_section(section: str) -> tuple[Claim, ...]:
    return SECTIONS[section]


def claim_by_id(claim_id: str) -> Claim:
    for claim in ALL_CLAIMS:
        if claim.id == claim_id:
            return claim
    raise KeyError(claim_id)
