"""Breakages for the 'inplace' claims."""

from __future__ import annotations

from breakages.model import Breakage

BREAKAGES: tuple[Breakage, ...] = ()
