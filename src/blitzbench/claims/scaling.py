"""Claims of the tutorial section 'scaling' (being written)."""

from __future__ import annotations

from blitzbench.claims.model import Claim

SECTION = "scaling"
CLAIMS: tuple[Claim, ...] = ()
