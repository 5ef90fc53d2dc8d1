"""Claims of the tutorial section 'inplace' (being written)."""

from __future__ import annotations

from blitzbench.claims.model import Claim

SECTION = "inplace"
CLAIMS: tuple[Claim, ...] = ()
