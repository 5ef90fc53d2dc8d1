"""An A/B run: both sides measure the same case in alternating slots, in one sitting.

Why this design, on a shared machine: two runs minutes apart drift by more than the change
a user looks for (on this project's 2-core VM, 33 of 33 figures NOISY between two quiet
runs three minutes apart; a true 1.27x read as 1.13x). Interleaving A and B in slots a few
milliseconds long puts both sides in the same state of the machine, and the pair's ratio
cancels the drift (results/paired.py tests the pairs).

For each case: one side builds, warms up and calibrates its calls per round (a round of
about 2 ms, timing/loop.py), the other builds and warms up with the same calls per round,
so both do the same work per slot; both time one probe round. Then pairs: a coin (seeded)
picks which side goes first, and each side times a slot of :data:`SLOT_ROUNDS` rounds (one
round for a call of 100 ms or more, a DataLoader pass); the slot's median per-call time is
its figure. Both sides are idle while the other measures (one worker per side, asked in
turn), use the same number of threads, seed and data set, and tear the case down after.

Two effects interleaving alone does not cancel, both measured on the 2-core VM:

- space: unpinned workers settle on different cores; with a busy process beside the run
  the worker sharing its core was preempted in 8 ms ticks, and A against A read 0.19x for
  a 512x512 matmul (A 16-24 ms a call, B 1.4 ms). Both workers are pinned to the same
  cores (the quietest ``threads`` cores, distributed/cores.py), so they meet the same
  neighbour;
- the process: two workers of the same interpreter differ in memory layout (which of a
  case's large buffers the kernel backs with huge pages); A against A read 0.83-1.31x on
  the 2^22-element tensor ops from one pair of processes to the next, stable across
  rebuilds within a process (within 2-6% for LeNet and the matmul). So a run uses
  several pairs of processes (:data:`LEVEL_PROCESSES`), fresh workers for each, and
  results/paired.py treats the process as a random effect;
- the build: beside busy processes, the LeNet batch-64 step's A against A read
  0.80-1.17x from one build of the case to the next *inside one pair of processes*
  (builds of 15 pairs, 2026-12-07), as far apart as between process pairs (Hodges-Lehmann
  estimates sd 0.098 over 8 process pairs, where the pairs' own noise explains 0.029): the
  case's buffers land on new memory at each build, and the step's speed follows them. A
  rebuild costs a fraction of a second where a process pair costs seconds of imports, so
  the standard and full levels build each case several times in each process pair
  (:data:`LEVEL_BUILDS`); each pair of processes is one observation, the mean of its
  builds' estimates.

The side that calibrates alternates from one process pair to the next, so neither side's
history is systematically longer. A side's worker that dies or hangs costs the case it was
on (ERROR with the reason, the pairs so far kept); it is restarted for the next case, up to
:data:`MAX_RESTARTS` times a process pair.
"""

from __future__ import annotations

import dataclasses
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from blitzbench.errors import SideStartError, UsageError
from blitzbench.results.ab import ABRecord, PairedCase, Side, split
from blitzbench.results.names import LEVELS
from blitzbench.runner.sides import HELLO_TIMEOUT_S, SideError, SideSpec, Worker
from blitzbench.timing.loop import LONG_CALL_S

if TYPE_CHECKING:
    from blitzbench.options import CaseFilter
    from blitzbench.runner.session import RunInputs

__all__ = ["LEVEL_BUILDS", "LEVEL_CASE_BUDGET_S", "LEVEL_PAIRS", "LEVEL_PROCESSES",
           "MIN_BLOCK_PAIRS",
           "SLOT_ROUNDS", "ABSettings", "Sides", "measure_case", "merge_blocks",
           "open_sides", "plan_pairs", "run_pairs", "settings_for", "shared_keys",
           "slot_rounds", "start_sides"]

QUICK, STANDARD, FULL = LEVELS
#: Pairs of worker processes a run uses at each level, builds of each case in each, and
#: pairs of slots in each build. The quick level was chosen on synthetic pairs
#: (tests/test_paired.py) with the 2-core VM's slot noise (log sd near 0.05), 2% of slots
#: hit by a 5x burst and a process effect of sd 0.02 (LeNet, the matmul), read at
#: Bonferroni over 33 cases: 6 process pairs of 5 pairs call a 25% slowdown SLOWER in 287
#: of 300 trials and give A against A no false verdict with a process effect of sd 0.1
#: (the 2^22 tensor ops) in 298 of 300.
#: The full level was sized on the 2-core VM with two busy processes beside it (the LeNet
#: batch-64 step, 2026-12-07): a build's estimate has sd 0.12 of the log-ratio (0.11 of it
#: the build, 0.11 a pair's own noise over sqrt(pairs)) and a process pair adds about 0.06
#: (the means of 10 builds had sd 0.065-0.074 where the builds alone explain 0.037-0.039).
#: 12 process pairs of 10 builds read a planted 5% at 1.072x (1.032-1.114, SLOWER) and
#: 1.038x (0.996-1.082, NOISY), A against A 0.989x (0.943-1.036). On synthetic cases with
#: those effects (tests/test_paired.py) 12 of 10 call 5% SLOWER in 38 of 60 trials, 32 of 4
#: in 54 of 60 (24 of 8: 55, at 1.5 times the time a case). Cost: 32 x 4 x 0.7 s of builds
#: and slots a case (90 s) plus 32 process pairs' imports (about 9 s each beside busy
#: processes): 6-7 minutes for one case (measured), about 45 for the 27 tensor-op and
#: LeNet cases.
LEVEL_PROCESSES = {QUICK: 6, STANDARD: 6, FULL: 32}
LEVEL_BUILDS = {QUICK: 1, STANDARD: 2, FULL: 4}
LEVEL_PAIRS = {QUICK: 5, STANDARD: 8, FULL: 5}
#: Seconds of slots a build may take before its pairs are cut to fit (a DataLoader pass of
#: 0.3 s), never below MIN_BLOCK_PAIRS.
LEVEL_CASE_BUDGET_S = {QUICK: 1.0, STANDARD: 1.5, FULL: 1.5}
#: A process pair's estimate is a Hodges-Lehmann estimate of its pairs: 3 at least.
MIN_BLOCK_PAIRS = 3
#: Rounds per slot: the median of 3 rounds of ~2 ms is steadier than one round and keeps
#: a slot near 6 ms, short beside the drift it must not straddle.
SLOT_ROUNDS = 3
MAX_RESTARTS = 3


@dataclass(frozen=True)
class ABSettings:
    """What both sides are told: the same level, devices, data, threads and seed."""

    level: str
    devices: tuple[str, ...]
    data_kind: str
    data_root: str
    threads: int
    seed: int
    cores: tuple[int, ...]

    def hello(self) -> dict[str, Any]:
        return {"op": "hello", "level": self.level, "devices": list(self.devices),
                "data_kind": self.data_kind, "data_root": self.data_root,
                "threads": self.threads, "seed": self.seed, "cores": list(self.cores)}


class Sides:
    """The two workers, restarted when one dies, stopped together at the end."""

    def __init__(self, specs: Sequence[SideSpec], settings: ABSettings) -> None:
        self.specs = tuple(specs)
        self.settings = settings
        self.workers: list[Worker | None] = [None, None]
        self.records: list[Side] = []
        self.cases: list[list[str]] = [[], []]
        #: key -> (benchmark, device, params), as the sides name their cases
        self.identities: dict[str, tuple[str, str, dict[str, Any]]] = {}
        self.restarts = 0

    def start(self) -> None:
        """Both workers, started together (each imports torch: seconds) and greeted;
        SideError names the side that cannot start."""
        for index in range(len(self.specs)):
            self.workers[index] = Worker(self.specs[index])
            self.workers[index].send(self.settings.hello())  # type: ignore[union-attr]
        for index, spec in enumerate(self.specs):
            answer = self._greeted(index)
            self.records.append(Side(spec.name, spec.command, dict(spec.env),
                                     answer["versions"]))
            self.cases[index] = [case["key"] for case in answer["cases"]]
            self.identities.update({case["key"]: (case["benchmark"], case["device"],
                                                  dict(case["params"]))
                                    for case in answer["cases"]})

    def _greeted(self, index: int) -> dict[str, Any]:
        """The answer to the worker's ``hello``: its versions and cases."""
        worker, spec = self.workers[index], self.specs[index]
        assert worker is not None
        try:
            answer = worker.receive("hello", HELLO_TIMEOUT_S)
        except SideError as exc:
            worker.kill()
            detail = str(exc).removeprefix(f"side {spec.name}'s worker ").removeprefix(
                f"side {spec.name} ")
            raise SideError(f"side {spec.name} ({spec.text}) cannot start a worker: "
                            f"it {detail}") from None
        if not answer.get("ok"):
            worker.stop()
            raise SideError(f"side {spec.name} ({spec.text}) cannot build its cases: "
                            f"{answer.get('error')}")
        return answer

    def _start(self, index: int) -> dict[str, Any]:
        self.workers[index] = Worker(self.specs[index])
        self.workers[index].send(self.settings.hello())  # type: ignore[union-attr]
        return self._greeted(index)

    def worker(self, index: int) -> Worker:
        """The side's worker, restarted if the last one died (SideError past the limit)."""
        worker = self.workers[index]
        if worker is not None and worker.process.poll() is None:
            return worker
        if self.restarts >= MAX_RESTARTS:
            raise SideError(f"side {self.specs[index].name}'s worker died "
                            f"{self.restarts} times: the remaining cases were not measured")
        self.restarts += 1
        self._start(index)
        return self.workers[index]  # type: ignore[return-value]

    def stop(self) -> None:
        for worker in self.workers:
            if worker is not None:
                worker.stop()

    def renew(self) -> None:
        """Fresh workers for both sides: the next pair of processes (their layouts differ
        from the last pair's; results/paired.py treats the process as a random effect)."""
        self.stop()
        self.workers, self.records, self.restarts = [None, None], [], 0
        try:
            self.start()
        except BaseException:
            self.stop()
            raise


def open_sides(specs: Sequence[SideSpec], settings: ABSettings) -> Sides:
    sides = Sides(specs, settings)
    try:
        sides.start()
    except BaseException:
        sides.stop()
        raise
    return sides


def plan_pairs(level: str, slot_pair_s: float) -> int:
    """Pairs for a case in one process pair whose pair of slots takes ``slot_pair_s``:
    the level's count, cut to the level's time budget, never below MIN_BLOCK_PAIRS."""
    fits = int(LEVEL_CASE_BUDGET_S[level] / max(slot_pair_s, 1e-9))
    return max(MIN_BLOCK_PAIRS, min(LEVEL_PAIRS[level], fits))


def measure_case(sides: Sides, key: str, level: str, rng: random.Random, *,
                 calibrating: int = 0) -> PairedCase:
    """One case in this process pair, interleaved; side ``calibrating`` (0: A, 1: B)
    sets the calls per round. A side's failure is the case's error, pairs kept."""
    benchmark, device, params = sides.identities[key]
    started = time.perf_counter()
    pairs: list[tuple[float, float, bool]] = []
    calls, rounds, error = 0, SLOT_ROUNDS, None
    try:
        calls = _prepare(sides, key, calibrating)
        probe_s = max(_probe(sides, key, index) for index in (0, 1))
        rounds = slot_rounds(calls, probe_s)
        for _ in range(plan_pairs(level, 2 * rounds * calls * probe_s)):
            pairs.append(_pair(sides, key, rounds, b_first=rng.random() < 0.5))
    except SideError as exc:
        error = str(exc)
    finally:
        _release(sides, key)
    a_s, b_s, order = zip(*pairs, strict=True) if pairs else ((), (), ())
    return PairedCase(benchmark, device, params, tuple(a_s), tuple(b_s), tuple(order),
                      calls, rounds, round(time.perf_counter() - started, 3), error,
                      (len(pairs),) if pairs else ())


def merge_blocks(parts: Sequence[PairedCase],
                 builds: Sequence[int] = ()) -> PairedCase:
    """A case's record over every build in every process pair: the pairs in order,
    ``blocks`` saying how many came from each build and ``builds`` how many builds each
    process pair made (empty: one each), the first error (the others noted by count)."""
    first = parts[0]
    errors = [part.error for part in parts if part.error]
    error = None if not errors else errors[0] + (
        f" (and {len(errors) - 1} more build(s))" if len(errors) > 1 else "")
    blocks = tuple(part.pairs for part in parts if part.pairs)
    kept = _kept_builds(parts, builds)
    return PairedCase(first.benchmark, first.device, dict(first.params),
                      tuple(t for part in parts for t in part.a_s),
                      tuple(t for part in parts for t in part.b_s),
                      tuple(o for part in parts for o in part.b_first),
                      max(part.calls for part in parts), first.rounds,
                      round(sum(part.wall_s or 0.0 for part in parts), 3), error,
                      blocks, kept if any(n > 1 for n in kept) else ())


def _kept_builds(parts: Sequence[PairedCase], builds: Sequence[int]) -> tuple[int, ...]:
    """Builds per process pair, counting only the builds that kept pairs."""
    counts = (sum(1 for part in run if part.pairs)
              for run in split(parts, builds or (1,) * len(parts)))
    return tuple(count for count in counts if count)


def slot_rounds(calls: int, call_s: float) -> int:
    """Rounds per slot: one when a call lasts LONG_CALL_S or more (a DataLoader pass is
    its own round and slot), else SLOT_ROUNDS."""
    return 1 if calls == 1 and call_s >= LONG_CALL_S else SLOT_ROUNDS


def _prepare(sides: Sides, key: str, calibrating: int) -> int:
    """One side calibrates the calls per round; the other builds with the same."""
    first = _asked(sides, calibrating, {"op": "prepare", "key": key, "calls": None})
    calls = int(first["calls"])
    _asked(sides, 1 - calibrating, {"op": "prepare", "key": key, "calls": calls})
    return calls


def _probe(sides: Sides, key: str, index: int) -> float:
    """One untimed-for-the-verdict round on a side: how long a call takes (both sides
    probe, so their histories match)."""
    return float(_asked(sides, index, {"op": "time", "key": key, "rounds": 1})["times_s"][0])


def _pair(sides: Sides, key: str, rounds: int, b_first: bool) -> tuple[float, float, bool]:
    """One slot of each side, B first or A first: (A's, B's) median per-call times."""
    order = (1, 0) if b_first else (0, 1)
    slot: dict[int, float] = {}
    for index in order:
        answer = _asked(sides, index, {"op": "time", "key": key, "rounds": rounds})
        slot[index] = statistics.median(answer["times_s"])
    return slot[0], slot[1], b_first


def _asked(sides: Sides, index: int, request: dict[str, Any]) -> dict[str, Any]:
    """The side's answer; a refusal (the case raised there) is a SideError naming it."""
    answer = sides.worker(index).ask(request)
    if not answer.get("ok"):
        raise SideError(f"side {sides.specs[index].name}: {request['op']} failed: "
                        f"{answer.get('error')}")
    return answer


def _release(sides: Sides, key: str) -> None:
    """Tear the case down on both sides (a dead worker has nothing left to release)."""
    for index, worker in enumerate(sides.workers):
        if worker is None or worker.process.poll() is not None:
            continue
        try:
            worker.ask({"op": "release", "key": key})
        except SideError:
            sides.workers[index] = None if worker.process.poll() is not None else worker


def settings_for(inputs: RunInputs, level: str, threads: int, seed: int) -> ABSettings:
    """What both sides are told, the synthetic data set written first (two workers must
    not both write it) and both pinned to the quietest ``threads`` cores."""
    from blitzbench.devices import device_label
    from blitzbench.distributed.cores import quietest_cores

    inputs.data.dataset(train=False)
    return ABSettings(level, tuple(device_label(d) for d in inputs.devices),
                      inputs.data.kind, str(inputs.data.root), threads, seed,
                      quietest_cores(threads))


def start_sides(specs: Sequence[SideSpec], settings: ABSettings) -> Sides:
    """Both sides' workers; a side that cannot start is SideStartError (exit 9)."""
    try:
        return open_sides(specs, settings)
    except SideError as exc:
        raise SideStartError(str(exc)) from None


def shared_keys(sides: Sides, select: CaseFilter) -> tuple[list[str], list[str]]:
    """The cases both sides have (A's order) and those only one has, each filtered."""
    a_keys, b_keys = (select.keep(keys, lambda k: k.rsplit("@", 1)[0])
                      for keys in sides.cases)
    shared = [k for k in a_keys if k in set(b_keys)]
    only = [f"{k}: only in A" for k in a_keys if k not in set(b_keys)]
    only += [f"{k}: only in B" for k in b_keys if k not in set(a_keys)]
    if not shared:
        raise UsageError("the two sides share no case to compare"
                         + (" matching -k" if select.narrowed else "")
                         + f" ({len(only)} only on one side)")
    return shared, only


def run_pairs(sides: Sides, keys: Sequence[str], not_compared: Sequence[str], *,
              threshold: float, processes: int | None = None,
              advance: Callable[[str], None] = lambda label: None,
              save: Callable[[ABRecord], None] = lambda record: None) -> ABRecord:
    """Every shared case, built the level's number of times in each pair of worker
    processes (fresh workers for each, the cases in a new order each time); ``save`` gets
    the record after every case."""
    settings = sides.settings
    processes = processes or LEVEL_PROCESSES[settings.level]
    record = ABRecord(sides.records[0], sides.records[1], settings.threads, settings.level,
                      settings.seed, threshold, (), tuple(not_compared),
                      cores=settings.cores)
    rng = random.Random(settings.seed)
    builds = LEVEL_BUILDS[settings.level]
    parts: dict[str, list[PairedCase]] = {key: [] for key in keys}
    made: dict[str, list[int]] = {key: [] for key in keys}
    merged: dict[str, PairedCase] = {}
    for block in range(processes):
        if block:
            sides.renew()
        for key in keys:
            made[key].append(0)
        for build in range(builds):
            # the cases in a new order at every build, so no case always follows another
            for key in rng.sample(list(keys), len(keys)):
                advance(f"{key} (process pair {block + 1}/{processes}"
                        + (f", build {build + 1}/{builds})" if builds > 1 else ")"))
                parts[key].append(measure_case(sides, key, settings.level, rng,
                                               calibrating=(block + build) % 2))
                made[key][-1] += 1
                merged[key] = merge_blocks(parts[key], made[key])  # only the case measured
                record = dataclasses.replace(record, cases=tuple(
                    merged[k] for k in keys if k in merged))
                save(record)
    record = dataclasses.replace(record, complete=True)
    save(record)
    return record
