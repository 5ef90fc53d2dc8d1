"""Prove the ``pytest benchmarks`` compare gate on real runs of this machine.

The issue's "Done when", run for real: PAIRS times, back to back on an unchanged tree,
``pytest benchmarks --benchmark-autosave`` then ``pytest benchmarks --benchmark-compare
--blitz-compare-fail=25``, each of which must exit 0 with no SLOWER case and no traceback;
then one more pair whose second run has a planted slowdown (scripts/plant/sitecustomize.py
on PYTHONPATH: every call of the case takes FACTOR times as long), which must fail the
gate naming that case. Every run gets its own storage folder under OUT, so each compare
run reads the autosave just before it.

Usage: python scripts/gate_proof.py OUT [--pairs 5] [--threshold 25]
       [--case 'lenet.train_step[batch_size=64,variant=eager]'] [--factor 1.25]
       [-- EXTRA PYTEST ARGS, e.g. -k test_lenet --count-instructions]
Prints one line per run, writes OUT/gate_proof.json, and exits 1 when a promise fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: The planted slowdown (scripts/plant/sitecustomize.py says how it works).
PLANT = ROOT / "scripts" / "plant"
#: Where the compare run's verdicts are in its --benchmark-json (benchmark_compare.py).
JSON_KEY = "blitzbench_compare"


def pytest_run(out: Path, name: str, storage: Path, options: list[str],
               env: dict[str, str] | None = None) -> dict[str, Any]:
    """One ``pytest benchmarks`` run: its exit code, wall time, load and output."""
    command = [sys.executable, "-m", "pytest", "benchmarks", "-p", "no:cacheprovider",
               f"--benchmark-storage=file://{storage}",
               f"--benchmark-json={out / f'{name}.json'}", *options]
    started, load = time.time(), os.getloadavg()[0]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})})
    (out / f"{name}.log").write_text(done.stdout + done.stderr)
    return {"run": name, "exit": done.returncode, "wall_s": round(time.time() - started, 1),
            "load1_start": round(load, 2), "load1_end": round(os.getloadavg()[0], 2),
            "traceback": "Traceback" in done.stdout + done.stderr,
            "summary": done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""}


def verdicts(out: Path, name: str) -> dict[str, Any]:
    """The gate's verdicts from the compare run's saved JSON ({} when it wrote none)."""
    path = out / f"{name}.json"
    return json.loads(path.read_text()).get(JSON_KEY, {}) if path.exists() else {}


def median_regressions(out: Path, index: int, threshold: float) -> list[str]:
    """What ``--benchmark-compare-fail=median:THRESHOLD%`` (pytest-benchmark's own gate,
    two medians) would have failed on the same pair: each case whose median grew by
    more than the threshold."""
    runs = [out / f"pair{index}-{step}.json" for step in ("autosave", "compare")]
    if not all(path.exists() for path in runs):
        return []
    medians = [{b["fullname"]: b["stats"]["median"] for b in
                json.loads(path.read_text())["benchmarks"]} for path in runs]
    return sorted(name for name, median in medians[1].items()
                  if name in medians[0] and median > medians[0][name] * (1 + threshold / 100))


def pair(out: Path, index: int, threshold: float, extra: list[str],
         plant: str | None = None) -> dict[str, Any]:
    """Autosave, then compare with the gate (the second run planted when ``plant``)."""
    storage = out / f"storage-{index}"
    saved = pytest_run(out, f"pair{index}-autosave", storage,
                       ["--benchmark-autosave", *extra])
    env = {"PYTHONPATH": str(PLANT), "BLITZBENCH_PLANT": plant} if plant else None
    compared = pytest_run(out, f"pair{index}-compare", storage,
                          ["--benchmark-compare", f"--blitz-compare-fail={threshold:g}",
                           *extra], env)
    found = verdicts(out, f"pair{index}-compare")
    compared["gate"] = found.get("summary", "no verdicts written")
    compared["slower"] = [c["case"] for c in found.get("cases", [])
                          if c["verdict"] == "SLOWER"]
    compared["judged"] = sum(c["verdict"] != "NOISY" for c in found.get("cases", []))
    compared["drift"] = found.get("drift")
    compared["median_regressions"] = median_regressions(out, index, threshold)
    if plant:
        case = plant.rpartition("=")[0]
        compared["planted"] = next((c for c in found.get("cases", []) if c["case"] == case),
                                   None)
    return {"autosave": saved, "compare": compared}


def report(result: dict[str, Any], planted: bool) -> bool:
    """Print the pair's two lines; whether it kept its promise."""
    saved, compared = result["autosave"], result["compare"]
    print(f"  autosave: exit {saved['exit']}, {saved['wall_s']} s, load "
          f"{saved['load1_start']}-{saved['load1_end']}: {saved['summary']}")
    print(f"  compare:  exit {compared['exit']}, {compared['wall_s']} s, load "
          f"{compared['load1_start']}-{compared['load1_end']}: {compared['summary']}")
    print(f"  gate: {compared['gate']}; SLOWER: {compared['slower'] or 'none'}; "
          f"traceback: {compared['traceback']}")
    print(f"  pytest-benchmark's median gate at the same threshold would fail "
          f"{len(compared['median_regressions'])} cases")
    if planted:
        row = compared.get("planted")
        print(f"  planted case: {row['verdict']} {row['evidence']}" if row else
              "  planted case: not compared")
        return (compared["exit"] == 1 and not compared["traceback"]
                and row is not None and compared["slower"] == [row["case"]])
    return compared["exit"] == 0 and not compared["slower"] and not compared["traceback"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--threshold", type=float, default=25.0)
    parser.add_argument("--case", default="lenet.train_step[batch_size=64,variant=eager]")
    parser.add_argument("--factor", type=float, default=1.25)
    parser.add_argument("--skip-unchanged", action="store_true",
                        help="run only the planted pair")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args, extra = parser.parse_args(argv[:cut]), argv[cut + 1:]  # pytest's after --
    args.out.mkdir(parents=True, exist_ok=True)
    results, kept = [], []
    for index in range(0 if args.skip_unchanged else args.pairs):
        print(f"pair {index + 1} (unchanged tree):", flush=True)
        results.append(pair(args.out, index + 1, args.threshold, extra))
        kept.append(report(results[-1], planted=False))
    plant = f"{args.case}={args.factor:g}"
    print(f"planted pair ({plant}):", flush=True)
    results.append(pair(args.out, 0, args.threshold, extra, plant))
    kept.append(report(results[-1], planted=True))
    (args.out / "gate_proof.json").write_text(json.dumps(
        {"pairs": results, "plant": plant, "threshold": args.threshold,
         "extra": extra, "kept": kept}, indent=2))
    unchanged = kept[:-1]
    print(f"unchanged pairs: {sum(unchanged)} of {len(unchanged)} exit 0 with no SLOWER; "
          f"planted pair: {'caught' if kept[-1] else 'NOT caught'}")
    return 0 if all(kept) else 1


if __name__ == "__main__":
    sys.exit(main())
