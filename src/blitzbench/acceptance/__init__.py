"""Hardware acceptance: a verdict against a spec, with evidence.

spec.py (rules as TOML), metrics.py (metric names and values from results.json),
rules.py (judging: PASS/FAIL/NOISY/SKIPPED/MISSING), baseline.py (earlier runs),
plan.py (the steps an acceptance run takes), junit.py, table.py, fleet.py, and the
commands: command.py (`blitzbench accept`), fleet_command.py (`blitzbench fleet`).
"""
