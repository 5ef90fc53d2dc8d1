"""Claims of the tutorial section 'cuda' (being written)."""

from __future__ import annotations

from blitzbench.claims.model import Claim

SECTION = "cuda"
CLAIMS: tuple[Claim, ...] = ()
