"""Claims of the tutorial section 'data' (being written)."""

from __future__ import annotations

from blitzbench.claims.model import Claim

SECTION = "data"
CLAIMS: tuple[Claim, ...] = ()
