"""Breakages for the 'cuda' claims."""

from __future__ import annotations

from breakages.model import Breakage

BREAKAGES: tuple[Breakage, ...] = ()
