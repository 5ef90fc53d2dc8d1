"""Hardware acceptance: a verdict against a spec, with evidence.

spec.py (rules as TOML), metrics.py (metric names and values from the results records),
rules.py (judging: PASS/FAIL/NOISY/SKIPPED/MISSING), baseline.py (earlier runs),
plan.py (the steps an acceptance run takes), junit.py, table.py and fleet.py (several
nodes judged against each other). The commands live in blitzbench/commands/.
"""
