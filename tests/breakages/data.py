"""Breakages for the 'data' claims."""

from __future__ import annotations

from breakages.model import Breakage

BREAKAGES: tuple[Breakage, ...] = ()
