"""Rendering results for people: terminal tables, report.md, report.html."""
