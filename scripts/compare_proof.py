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
import os
import subprocess
import sys
import time
from pathlib import Path

#: Cases this fast or faster are read, not gated (README, "Comparing two runs").
GATED_MEDIAN_S = 100e-6
#: The planted slowdown: scripts/plant/sitecustomize.py on PYTHONPATH (every call of the case
#: busy-works a fixed share of its own duration after it runs).
PLANT = Path(__file__).resolve().parent / "plant"


def accept(out: Path, level: str, plant: tuple[str, float] | None = None) -> Path:
    command = [sys.executable, "-m", "blitzbench", "accept", "--device", "cpu", "--level",
               level, "--out", str(out), "--force"]
    env = dict(os.environ)
    if plant is not None:
        env.update(PYTHONPATH=str(PLANT), BLITZBENCH_PLANT=f"{plant[0]}={plant[1]}")
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL, env=env)
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
