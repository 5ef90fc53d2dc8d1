"""Claims of the tutorial section 'numpy_bridge' (being written)."""

from __future__ import annotations

from blitzbench.claims.model import Claim

SECTION = "numpy_bridge"
CLAIMS: tuple[Claim, ...] = ()
