"""Prove `blitzbench ab` on a busy machine: one busy process beside it the whole time.

Runs, each with a Python busy loop (one core at 100%) beside it:
1. A against A (this interpreter against itself) over the tensor-op and LeNet cases at the
   quick level: no case may be FASTER or SLOWER;
2. A against A with a planted 25% slowdown of one LeNet case (scripts/plant on B's
   PYTHONPATH): that case must be SLOWER and no other;
3. the same with a planted 5% slowdown at --level full, that case alone (threshold 3%: a
   true change equal to the threshold is called SLOWER only half the time, by
   construction): SLOWER;
4. the intra-op thread default: the planted case timed with 1 and 2 threads, quiet and
   beside the busy loop.
Each step's verdict counts, the planted case's ratio and interval, and its time go to
OUT/ab-proof.json and one line each on stdout; exit 1 when a promise fails.

Usage: python scripts/ab_proof.py OUT [--case CASE] [--skip-full] [--no-neighbour]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLANT = HERE / "plant"
PYTHON = sys.executable
CASES = r"tensor_ops|lenet"
DEFAULT_CASE = "lenet.train_step[batch_size=64,variant=eager]"
BUSY_LOOP = "while True: pass"


@contextlib.contextmanager
def neighbour(enabled: bool) -> Iterator[None]:
    """A busy process beside the measurement (one core at 100%), killed at the end."""
    if not enabled:
        yield
        return
    process = subprocess.Popen([PYTHON, "-c", BUSY_LOOP])
    try:
        time.sleep(2)  # let it settle on a core
        yield
    finally:
        process.kill()
        process.wait()


def ab(out: Path, side_b: str, *args: str, cases: str = CASES) -> tuple[dict, float]:
    """One `blitzbench ab` run over ``cases`` (a -k pattern), JSON parsed, and its wall
    seconds."""
    started = time.monotonic()
    done = subprocess.run([PYTHON, "-m", "blitzbench", "ab", PYTHON, side_b, "--device", "cpu",
                           "-k", cases, "--out", str(out), "--format", "json", *args],
                          capture_output=True, text=True, check=False)
    if not done.stdout.strip():
        raise SystemExit(f"ab failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout), round(time.monotonic() - started, 1)


def planted(case: str, factor: float) -> str:
    return f"PYTHONPATH={PLANT} BLITZBENCH_PLANT={case}={factor} {PYTHON}"


def called(result: dict, verdict: str) -> list[str]:
    return [f"{f['benchmark']}[{_params(f['params'])}]" for f in result["figures"]
            if f["verdict"] == verdict]


def _params(params: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(params.items()))


def row(result: dict, case: str) -> dict:
    return next(f for f in result["figures"] if f"{f['benchmark']}[{_params(f['params'])}]"
                == case)


def threads_check(case: str) -> dict:
    """Median of the case at 1 and 2 threads (blitzbench's own timing loop)."""
    code = (
        "import json, sys, torch\n"
        "from blitzbench.workloads.catalog import cases\n"
        "from blitzbench.workloads.cifar import resolve_data_source\n"
        "from blitzbench.workloads.measure import measure\n"
        "from blitzbench.results.names import metric_prefix\n"
        "torch.set_num_threads(int(sys.argv[2]))\n"
        "c = next(c for c in cases('quick', ['cpu'], resolve_data_source(None))\n"
        "         if metric_prefix(c.benchmark, c.params) == sys.argv[1])\n"
        "m = measure(c, min_rounds=40, max_time_s=2.0)\n"
        "print(json.dumps({'median_ms': 1e3 * m.median_s, 'iqr_ms': 1e3 * m.iqr_s,\n"
        "                  'max_ms': 1e3 * max(m.times_s)}))\n")
    found = {}
    for busy in (False, True):
        with neighbour(busy):
            for threads in (1, 2):
                done = subprocess.run([PYTHON, "-c", code, case, str(threads)],
                                      capture_output=True, text=True, check=True)
                found[f"{'busy' if busy else 'quiet'}, {threads} thread(s)"] = \
                    json.loads(done.stdout.splitlines()[-1])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--case", default=DEFAULT_CASE)
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument("--no-neighbour", action="store_true")
    args = parser.parse_args()
    os.environ.pop("BLITZBENCH_PLANT", None)
    proof: dict = {"case": args.case, "neighbour": not args.no_neighbour}
    ok = True
    with neighbour(not args.no_neighbour):
        same, seconds = ab(args.out / "a-a", PYTHON)
        flagged = called(same, "SLOWER") + called(same, "FASTER")
        ok &= not flagged
        print(f"A against A ({seconds} s): {same['summary']}; FASTER or SLOWER: "
              f"{flagged or 'none'}")
        proof["a_against_a"] = {"summary": same["summary"], "flagged": flagged,
                                "seconds": seconds, "figures": same["figures"]}
        plant, seconds = ab(args.out / "plant25", planted(args.case, 1.25))
        slower = called(plant, "SLOWER")
        ok &= slower == [args.case]
        print(f"planted 1.25x ({seconds} s): {plant['summary']}; SLOWER: {slower or 'none'}; "
              f"the planted case: {row(plant, args.case)['evidence']}")
        proof["planted_25"] = {"summary": plant["summary"], "slower": slower,
                               "seconds": seconds, "case": row(plant, args.case)}
        if not args.skip_full:
            # the planted case alone: at the full level every case takes minutes, and
            # one case needs no Bonferroni share
            five, seconds = ab(args.out / "plant5", planted(args.case, 1.05), "--level",
                               "full", "--threshold", "3", cases=re.escape(args.case))
            slower = called(five, "SLOWER")
            ok &= args.case in slower
            print(f"planted 1.05x, full level, threshold 3% ({seconds} s): "
                  f"{five['summary']}; SLOWER: {slower or 'none'}; the planted case: "
                  f"{row(five, args.case)['evidence']}")
            proof["planted_5_full"] = {"summary": five["summary"], "slower": slower,
                                       "seconds": seconds, "case": row(five, args.case)}
    proof["threads"] = threads_check(args.case)
    for setting, figure in proof["threads"].items():
        print(f"{args.case}, {setting}: median {figure['median_ms']:.2f} ms, IQR "
              f"{figure['iqr_ms']:.2f} ms, max {figure['max_ms']:.1f} ms")
    proof["ok"] = bool(ok)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ab-proof.json").write_text(json.dumps(proof, indent=2))
    print("PROOF HOLDS" if ok else "PROOF FAILS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
