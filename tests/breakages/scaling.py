"""Breakages for the 'scaling' claims."""

from __future__ import annotations

from breakages.model import Breakage

BREAKAGES: tuple[Breakage, ...] = ()
