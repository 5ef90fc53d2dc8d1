"""Claims of the tutorial section 'lenet' (being written)."""

from __future__ import annotations

from blitzbench.claims.model import Claim

SECTION = "lenet"
CLAIMS: tuple[Claim, ...] = ()
