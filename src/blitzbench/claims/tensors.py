"""Claims of the tutorial section 'tensors' (being written)."""

from __future__ import annotations

from blitzbench.claims.model import Claim

SECTION = "tensors"
CLAIMS: tuple[Claim, ...] = ()
