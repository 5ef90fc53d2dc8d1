"""Prove `blitzbench compare` on real runs of this machine.

Three acceptance runs on the CPU, at the level asked: A, then (after a pause) B, then C
with a planted slowdown of one case: every call of that case busy-waits a fixed share of
its own duration after it runs, so the case really takes that much longer and nothing
else changes. Then `compare A B` must call no case of 100 us or more SLOWER, and
`compare A C` must call the planted case SLOWER and no other.

Usage: python scripts/compare_proof.py OUT [--gap-s 120] [--level quick]
       [--case 'lenet.train_step[batch_size=64,variant=eager]'] [--factor 1.25]
Prints one line per comparison and writes OUT/proof.json; exits 1 when a promise fails.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

#: Cases this fast or faster are read, not gated (README, "Comparing two runs").
GATED_MEDIAN_S = 100e-6
PLANT = """
import dataclasses, sys, time
from blitzbench.results.records import metric_prefix
from blitzbench.workloads import catalog

CASE, FACTOR = {case!r}, {factor!r}
original_cases = catalog.cases


def slowed(workload):
    def run():
        started = time.perf_counter()
        workload.run()
        until = time.perf_counter() + (FACTOR - 1) * (time.perf_counter() - started)
        while time.perf_counter() < until:
            pass
    return dataclasses.replace(workload, run=run, stmt=None)


def cases(*args, **kwargs):
    found = original_cases(*args, **kwargs)
    return [dataclasses.replace(c, build=lambda c=c: slowed(c.build()))
            if c.device == "cpu" and metric_prefix(c.benchmark, c.params) == CASE else c
            for c in found]


catalog.cases = cases
from blitzbench.cli import main
sys.exit(main({argv!r}))
"""


def accept(out: Path, level: str, plant: tuple[str, float] | None = None) -> Path:
    argv = ["accept", "--device", "cpu", "--level", level, "--out", str(out)]
    if plant is None:
        command = [sys.executable, "-m", "blitzbench", *argv]
    else:
        code = PLANT.format(case=plant[0], factor=plant[1], argv=argv)
        command = [sys.executable, "-c", code]
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL)
    (run,) = (out / "runs").iterdir()
    return run


def compare(a: Path, b: Path) -> dict:
    done = subprocess.run([sys.executable, "-m", "blitzbench", "compare", str(a), str(b),
                           "--format", "json"], capture_output=True, text=True, check=False)
    return json.loads(done.stdout)


def slower(result: dict) -> list[str]:
    return [f"{f['benchmark']}{_params(f['params'])} on {f['device']}"
            for f in result["figures"] if f["verdict"] == "SLOWER"
            and f["median_a_s"] >= GATED_MEDIAN_S]


def _params(params: dict) -> str:
    return "[" + ",".join(f"{k}={v}" for k, v in sorted(params.items())) + "]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--gap-s", type=float, default=120.0)
    parser.add_argument("--level", default="quick")
    parser.add_argument("--case", default="lenet.train_step[batch_size=64,variant=eager]")
    parser.add_argument("--factor", type=float, default=1.25)
    args = parser.parse_args()
    run_a = accept(args.out / "a", args.level)
    time.sleep(args.gap_s)
    run_b = accept(args.out / "b", args.level)
    run_c = accept(args.out / "c", args.level, (args.case, args.factor))
    quiet, planted = compare(run_a, run_b), compare(run_a, run_c)
    gated_quiet, gated_planted = slower(quiet), slower(planted)
    planted_name = f"{args.case} on cpu"
    ok = not gated_quiet and gated_planted == [planted_name]
    print(f"quiet runs {args.gap_s:.0f} s apart: {quiet['summary']}; SLOWER among cases of "
          f"100 us or more: {gated_quiet or 'none'}")
    print(f"planted x{args.factor} in {planted_name}: {planted['summary']}; SLOWER among "
          f"cases of 100 us or more: {gated_planted or 'none'}")
    planted_row = [f for f in planted["figures"] if f"{f['benchmark']}{_params(f['params'])}"
                   == args.case and f["device"] == "cpu"]
    if planted_row:
        print(f"the planted case: {planted_row[0]['evidence']}")
    (args.out / "proof.json").write_text(json.dumps(
        {"quiet": quiet, "planted": planted, "ok": ok, "case": planted_name,
         "factor": args.factor, "gap_s": args.gap_s}, indent=2))
    print("PROOF HOLDS" if ok else "PROOF FAILS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
