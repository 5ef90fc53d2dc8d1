"""Timing: how blitzbench measures, and the statistics it reports."""
