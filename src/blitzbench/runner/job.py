"""``blitzbench accept`` under torchrun: this process's part in a job of many ranks and
nodes, from the version check to the one run folder rank 0 writes.

Inside torchrun (:func:`~blitzbench.distributed.world.launched`) every rank:

1. takes its device from LOCAL_RANK (``cuda:LOCAL_RANK`` with NCCL, else the CPU with
   gloo; more ranks on a node than GPUs is exit 4 naming both numbers), opens the process
   group with ``--timeout``, and a gloo group for records (distributed/gather.py);
2. starts its heartbeat (distributed/heartbeat.py) and all-gathers who it is: host, place,
   device, hardware, usable cores, and the torch, blitzbench and Python versions. Ranks
   that differ in a version refuse the job, every one of them, before any run folder
   exists: rank 0 prints one line naming both versions and their ranks, exit 7;
3. pins itself to its slice of its host's cores, with as many torch threads
   (distributed/cores.py): ranks sharing a host must not time each other's contention;
4. checks its inputs (spec, data, devices); rank 0 also the baseline and the run folder.
   A defect on any rank stops every rank with that rank's error (rank 0 prints it);
5. judges the claims and measures the catalog's cases on its own device only; rank 0
   alone profiles and writes; the other ranks hold their records in memory;
6. waits for the others by polling the store, not in a collective (a slow rank is what
   the job looks for and must not time out), then rank 0 gathers every rank's records,
   placed (host, rank, local rank, node rank), into one run folder, judges each rank
   against the spec, and sets the ranks against each other (acceptance/rank_verdict.py).

A rank that dies ends the job within ``--timeout`` (torchrun stops the ranks of the same
node at once; rank 0 notices a silent rank of another node by its heartbeat): rank 0
keeps its run folder, marked incomplete, with every rank's fate in ``job`` and the dead
rank named in one line, and exits 1. If rank 0 itself dies, torchrun's report names it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import torch

from blitzbench.acceptance.rank_verdict import RankPayload, judge_ranks, view_rows
from blitzbench.distributed.cores import pin, share_cores
from blitzbench.distributed.gather import all_gather, barrier, gather_to_leader, object_group
from blitzbench.distributed.heartbeat import BEAT_S, Heartbeat, final, job_store
from blitzbench.distributed.world import World, close_world, launched, open_world, world_from_env
from blitzbench.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    BlitzError,
    DeviceError,
    RankFailedError,
    UsageError,
    VersionMismatchError,
    error_line,
)
from blitzbench.options import EVERYTHING, CaseFilter, DeviceChoice
from blitzbench.results.job import JobRecord, RankEntry
from blitzbench.results.rank_view import build_rank_view
from blitzbench.results.records import (
    ClaimCell,
    Environment,
    Measurement,
    ProfileEntry,
    RunResults,
)
from blitzbench.runner.job_facts import (
    RankFacts,
    describe_failure,
    first_sentence,
    mismatched_versions,
    own_facts,
)

if TYPE_CHECKING:
    from blitzbench.acceptance.metrics import MetricValue
    from blitzbench.acceptance.rules import RuleResult
    from blitzbench.acceptance.spec import Spec
    from blitzbench.runs import RunRecorder
    from blitzbench.workloads.catalog import Case
    from blitzbench.workloads.cifar import DataSource

__all__ = ["STOP_MARGIN_S", "HeldRecords", "Job", "JobInterrupted", "open_job",
           "silence_limit_s", "skipped_busy"]

#: How often rank 0 reads every rank's state while it waits to gather, and how often the
#: others look for its go-ahead: store requests, cheap next to a run of minutes.
POLL_S = 0.25
GO_KEY = "gather"
#: What a job needs between a silent rank's last beat counting as too old and the job's
#: end: up to one beat until the watch looks, rank 0's folder written, and the ranks and
#: agents leaving: 3.0 s measured on the loaded 2-core VM (a job ended 9.0 s after a death
#: with 6 s of allowed silence), more where a rank must free CUDA; 5 s leaves room.
#: tests/test_accept_torchrun.py times the whole against --timeout.
STOP_MARGIN_S = 5.0

T = TypeVar("T")

#: The state a rank posts when Ctrl-C (SIGINT) stopped it. torchrun passes a terminal's
#: SIGINT to its ranks one after another, so rank 0 may see a peer stopped by it before its
#: own KeyboardInterrupt arrives: the detail tells it that the job was interrupted, not
#: broken.
STOPPED_BY_CTRL_C = "stopped: Ctrl-C"


class JobInterrupted(BaseException):
    """The job broke under this rank: a rank was lost, torchrun stopped this one
    (SIGTERM), or the gather failed. A BaseException, like KeyboardInterrupt, so that a
    measurement's ``except Exception`` does not record it as a failed case."""


class HeldRecords:
    """A non-zero rank's records, kept in memory until rank 0 gathers them: such a rank
    writes nothing to the reports folder. The part of RunRecorder's interface the
    acceptance steps use."""

    folder = None

    def __init__(self, results: RunResults) -> None:
        self.results = results

    def set(self, section: str, value: Any) -> None:
        self.results = dataclasses.replace(self.results, **{section: value})

    def extend(self, section: str, records: Sequence[Any]) -> None:
        self.set(section, (*getattr(self.results, section), *records))

    def finish(self, *, interrupted: bool = False) -> None:
        self.results = dataclasses.replace(self.results, complete=not interrupted,
                                           interrupted=interrupted)


@contextlib.contextmanager
def open_job(device: DeviceChoice, timeout_s: float,
             fingerprint: Callable[[], Mapping[str, Any]], *,
             select: CaseFilter = EVERYTHING, profile: bool = True
             ) -> Iterator[Job | None]:
    """This rank's job while the block runs (None outside torchrun); on the way out the
    rank posts how it ended, stops beating and leaves the process group.
    ``fingerprint`` is environment.fingerprint: it names each rank's hardware. ``select``
    (``-k``) narrows the claims, cases and world figures every rank measures; ``profile``
    False (``--no-profile``) skips the profiler captures."""
    if not launched():
        yield None
        return
    world = world_from_env(gpu_count=0 if device.cpu_only else None)
    _check_device_option(device, world)
    open_world(world, timeout_s)
    job = Job(world, timeout_s, select=select, profile=profile)
    try:
        job.start(Environment(fingerprint()))
        yield job
    except JobInterrupted:
        job.close("stopped")
        raise SystemExit(EXIT_FAILED) from None  # torchrun's report says what happened
    except KeyboardInterrupt:
        _exit_if_stuck(EXIT_INTERRUPTED)
        job.close(STOPPED_BY_CTRL_C)
        raise
    except SystemExit:
        job.close("stopped")
        raise
    except BaseException as exc:
        job.close(f"failed: {type(exc).__name__}: {exc}")
        raise
    job.close("finished")


def _exit_if_stuck(code: int, after_s: float = STOP_MARGIN_S) -> None:
    """Ctrl-C: the run folder is already marked; what is left (posting the state,
    leaving the process group, interpreter exit) must not outlive the margin. A second
    SIGINT (a terminal's reaches the ranks directly, torchrun forwards another) can land
    inside that cleanup, and gloo's teardown may wait for a peer that is gone; torchrun
    would wait 30 s before its SIGKILL. A daemon timer ends the process with ``code``
    after ``after_s`` if it is still here."""
    def _exit() -> None:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os._exit(code)

    timer = threading.Timer(after_s, _exit)
    timer.daemon = True
    timer.start()


def _check_device_option(device: DeviceChoice, world: World) -> None:
    """Under torchrun the rank's device comes from LOCAL_RANK; ``--device`` only says
    whether that is a GPU (all, cuda) or the CPU (cpu)."""
    if device.index is not None:
        raise UsageError(f"--device {device} under torchrun: each rank takes "
                         f"cuda:LOCAL_RANK; use --device cuda, cpu or all")
    if device.text == "cuda" and world.device == "cpu":
        raise DeviceError("--device cuda under torchrun, but torch sees no GPU on "
                          f"{world.host}: use --device cpu")


class Job:
    """One rank's part in a torchrun job of ``blitzbench accept``."""

    def __init__(self, world: World, timeout_s: float, *,
                 select: CaseFilter = EVERYTHING, profile: bool = True) -> None:
        self.world, self.timeout_s = world, timeout_s
        self.select, self.profile = select, profile
        self.group: Any = None
        self.heartbeat: Heartbeat | None = None
        self.facts: list[RankFacts] = []
        self.cores: dict[int, tuple[int, ...]] = {}
        self._lost = ""  # why the heartbeat stopped this rank, if it did
        self._stopping = False
        self._closing = False
        self._previous_handler: Any = None
        self.rank_traces: list[tuple[str, bytes]] = []  # rank 0: every rank's DDP trace
        self.world_cells: list[ClaimCell] = []  # rank 0: the claims judged on the world

    @property
    def leader(self) -> bool:
        return self.world.leader

    @property
    def devices(self) -> list[torch.device]:
        return [torch.device(self.world.device)]

    @property
    def profiles(self) -> bool:
        """Only rank 0 profiles: the other ranks write nothing to the reports folder."""
        return self.leader and self.profile

    # --- start ---------------------------------------------------------------------------

    def start(self, environment: Environment) -> None:
        """Heartbeat, who everyone is, the version check, the cores."""
        self._previous_handler = signal.signal(signal.SIGTERM, self._on_sigterm)
        self.group = object_group(self.world)
        self.heartbeat = Heartbeat(job_store(), self.world.rank, self.world.world_size,
                                   stale_s=silence_limit_s(self.timeout_s),
                                   on_lost=self._on_lost)
        self.heartbeat.start()
        self.facts = all_gather(own_facts(self.world, environment), self.group)
        self.heartbeat.watch()
        mismatch = mismatched_versions(self.facts)
        if mismatch:
            self._stop_every_rank(VersionMismatchError(mismatch))
        self.cores = share_cores({f.placement.rank: f.placement.host for f in self.facts},
                                 {f.placement.rank: f.cores for f in self.facts})
        pin(self.cores[self.world.rank])

    def agree(self, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` (input checks) on every rank; a user error on any rank stops
        every rank with that error, printed once by rank 0 naming the rank and host."""
        try:
            value, problem = attempt(), None
        except BlitzError as exc:
            value, problem = None, exc
        failed = [(rank, p) for rank, p in enumerate(all_gather(problem, self.group)) if p]
        if failed:
            rank, first = failed[0]
            host = self.facts[rank].placement.host
            self._stop_every_rank(type(first)(f"rank {rank} on {host}: {first}"))
        return value  # type: ignore[return-value]  # None only where a rank failed

    def recorder(self, reports: Path, command: str, *, data_source: Mapping[str, Any],
                 level: str) -> RunRecorder | HeldRecords:
        """Rank 0's run folder (created once every rank got this far), or held records."""
        from blitzbench.runs import RunRecorder, create_run_folder

        if not self.leader:
            return self.agree(lambda: HeldRecords(RunResults(
                run_id="", command=command, data_source=dict(data_source), level=level)))
        return self.agree(lambda: RunRecorder(create_run_folder(reports), command,
                                              data_source=data_source, level=level))

    # --- the steps -----------------------------------------------------------------------

    def run_claims(self, data: DataSource) -> list[ClaimCell]:
        """The claims on this rank's device."""
        from blitzbench.claims import ALL_CLAIMS
        from blitzbench.claims.runner import iter_matrix

        claims = [claim for claim in self.select.keep(ALL_CLAIMS, lambda claim: claim.id)
                  if not claim.needs_world]  # judged once, on the job's own world
        return [cell.record() for cell in iter_matrix(claims, self.devices, data)]

    def judge_world_claims(self, data: DataSource) -> list[ClaimCell]:
        """The claims about a world of ranks (DDP), judged once on this job's own world:
        every rank does its share, rank 0 gathers the shares and judges (the cells, on
        rank 0; none elsewhere). A rank whose share raised makes the cell ERROR with its
        one line, never FAILS: the claim could not be judged."""
        from blitzbench.claims import ALL_CLAIMS

        cells = []
        for claim in self.select.keep(ALL_CLAIMS, lambda claim: claim.id):
            if claim.needs_world:
                shares = gather_to_leader(self._world_share(claim, data), self.world,
                                          self.group)
                if shares is not None:
                    cells.append(self._world_cell(claim, shares, data))
        return cells

    def _world_share(self, claim: Any, data: DataSource) -> tuple[Any, str]:
        """This rank's report for ``claim``, or the one line of why it has none."""
        try:
            return claim.world_part(self.world, data, 0), ""
        except Exception as exc:  # a rank's failure is the cell's ERROR, not the job's end
            return None, f"rank {self.world.rank}: {type(exc).__name__}: " \
                         f"{first_sentence(exc)}"

    def _world_cell(self, claim: Any, shares: Sequence[tuple[Any, str]],
                    data: DataSource) -> ClaimCell:
        from blitzbench.claims.model import Outcome, Verdict
        from blitzbench.claims.runner import MatrixCell

        problems = [problem for _, problem in shares if problem]
        if problems:
            outcome = Outcome(Verdict.ERROR, f"the job's world could not judge it: "
                                             f"{problems[0]}", {"ranks": problems})
        else:
            outcome = claim.world_verdict([report for report, _ in shares], data)
        return MatrixCell(claim, self.world.device, outcome).record()

    # --- the gather ----------------------------------------------------------------------

    def gather(self, recorder: RunRecorder | HeldRecords, cases: Sequence[Case],
               level: str, data: DataSource) -> list[RankPayload] | None:
        """Every rank's records on rank 0 (None on the others), once every rank has
        measured its own device and the world has measured what it measures together."""
        assert self.heartbeat is not None
        self.heartbeat.post("measured")
        self._wait_for_every_rank()
        try:
            together = self.measure_together(level, data)
        except RuntimeError as exc:
            raise JobInterrupted(f"a collective of every rank failed: "
                                 f"{first_sentence(exc)}") from None
        if self.leader and together:
            recorder.extend("benchmarks", together)
        if self.leader and self.world_cells:
            recorder.extend("claims", self.world_cells)
        try:
            gathered = gather_to_leader(self._payload(recorder.results, cases), self.world,
                                        self.group)
        except RuntimeError as exc:
            raise JobInterrupted(f"the gather of every rank's records failed: "
                                 f"{first_sentence(exc)}") from None
        if not self.leader:
            self.heartbeat.post("finished")
        return gathered

    def measure_together(self, level: str, data: DataSource) -> list[Measurement]:
        """The families the whole world measures at once: the collectives at the level's
        sizes for this device (nccl-tests' loop, distributed/collectives.py) and the DDP
        LeNet step (distributed/ddp.py). Every rank takes part in step, after every rank
        has measured its own device, so no collective waits on a slower rank's cases.
        The records are the job's (slowest-rank times): rank 0 keeps them, placed on it."""
        from blitzbench.distributed.collectives import measure_collectives, sizes_for
        from blitzbench.results.names import COLLECTIVE_OPS, COLLECTIVES

        self.world_cells = self.judge_world_claims(data)
        ops = self.select.keep(COLLECTIVE_OPS, lambda op: f"{COLLECTIVES}.{op}")
        records = measure_collectives(self.world, sizes_for(level, self.world.device),
                                      ops) if ops else []
        records += self._measure_ddp(data)
        self._capture_rank_traces()
        return records if self.leader else []

    def _capture_rank_traces(self) -> None:
        """One profiler trace of the DDP step per rank (profiling/ranks.py), sent to rank 0
        as bytes: on several nodes the ranks share no folder. Rank 0 writes them into the
        run folder and reads them with HTA in :meth:`conclude`."""
        if not self.profile:
            return
        from blitzbench.profiling.ranks import profile_ddp_rank

        with tempfile.TemporaryDirectory(prefix="blitzbench-rank-trace-") as folder:
            profile_ddp_rank(self.world, folder)
            mine = [(path.name, path.read_bytes()) for path in sorted(Path(folder).iterdir())
                    if path.is_file()]
        gathered = gather_to_leader(mine, self.world, self.group)
        self.rank_traces = [file for files in gathered or [] for file in files]

    def _measure_ddp(self, data: DataSource) -> list[Measurement]:
        """The DDP LeNet step at each job batch size; on rank 0, each with its weak-scaling
        efficiency from solo rounds paired in time with the DDP rounds
        (distributed/ddp.py)."""
        from blitzbench.distributed.ddp import (
            JOB_BATCH_SIZES,
            StepTiming,
            job_metric_prefixes,
            measure_ddp_step,
        )

        prefixes = job_metric_prefixes(self.world.world_size)
        wanted = set(self.select.keep(prefixes, lambda p: p))
        records = []
        for batch, prefix in zip(JOB_BATCH_SIZES, prefixes, strict=True):
            if prefix not in wanted:
                continue
            record = measure_ddp_step(self.world, data, StepTiming(batch))
            if record is not None:
                records.append(record)
        return records

    def _payload(self, results: RunResults, cases: Sequence[Case]) -> RankPayload:
        """This rank's records, each placed, and what it planned to produce."""
        from blitzbench.runner.plan import planned_keys

        mine = self.facts[self.world.rank]
        return RankPayload(
            self._entry(self.world.rank, "finished"), dict(mine.gpu_names),
            tuple(dataclasses.replace(c, placement=mine.placement) for c in results.claims),
            tuple(dataclasses.replace(m, placement=mine.placement)
                  for m in results.benchmarks),
            frozenset(planned_keys(cases, results.claims)), skipped_busy(results))

    def _wait_for_every_rank(self) -> None:
        """Rank 0 polls every rank's state and posts the go-ahead; the others poll for
        it. A rank that ended early stops the wait; a silent one, the heartbeat."""
        assert self.heartbeat is not None
        while True:
            if self.leader:
                states = self.heartbeat.states()
                ended = {r: s for r, s in states.items() if final(s)}
                if ended:
                    rank, state = next(iter(ended.items()))
                    raise JobInterrupted(f"rank {rank} ended before the gather ({state})")
                if all(s == "measured" for s in states.values()):
                    self.heartbeat.mark(GO_KEY)
                    return
            elif self.heartbeat.marked(GO_KEY):
                return
            time.sleep(POLL_S)

    def conclude(self, recorder: RunRecorder, payloads: Sequence[RankPayload], spec: Spec,
                 level: str, baseline: Sequence[MetricValue] | None, *,
                 forced: bool = False) -> list[RuleResult]:
        """Rank 0: every rank's records into the run folder, the rank view, the rows."""
        entries = [p.entry for p in payloads]
        benchmarks = tuple(m for p in payloads for m in p.benchmarks)
        recorder.set("claims", tuple(c for p in payloads for c in p.claims))
        recorder.set("benchmarks", benchmarks)
        view = build_rank_view(benchmarks, {e.rank: e.hardware for e in entries})
        recorder.set("job", self.record(entries, view=view))
        if self.rank_traces:
            recorder.extend("profiles", [self._rank_trace_entry(recorder)])
        return judge_ranks(payloads, spec, level, baseline, forced=forced) + \
            view_rows(view, entries)

    def _rank_trace_entry(self, recorder: RunRecorder) -> ProfileEntry:
        """The ranks' traces written into the run folder, and HTA's reading of them."""
        from blitzbench.profiling.ranks import analyze_ranks
        from blitzbench.results.names import DDP_RANKS_WORKLOAD, PROFILER_FOLDER

        assert recorder.folder is not None
        folder = recorder.folder / PROFILER_FOLDER / DDP_RANKS_WORKLOAD
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in self.rank_traces:
            (folder / Path(name).name).write_bytes(content)
        relative = folder.relative_to(recorder.folder.parent.parent).as_posix()  # reports/
        label = f"{self.world.world_size} ranks ({self.world.backend})"
        try:
            summary = analyze_ranks(folder).to_json()
        except Exception as exc:  # HTA is a reader of the traces, never a reason to fail
            return ProfileEntry(label, DDP_RANKS_WORKLOAD, relative,
                                error=f"HTA could not read the traces: {first_sentence(exc)}")
        return ProfileEntry(label, DDP_RANKS_WORKLOAD, relative, summary)

    def record(self, entries: Sequence[RankEntry], **fields: Any) -> JobRecord:
        nodes = len({f.placement.node_rank for f in self.facts})
        return JobRecord(self.world.world_size, nodes, self.world.backend, self.timeout_s,
                         tuple(entries), **fields)

    # --- when it breaks ------------------------------------------------------------------

    def failed(self, recorder: RunRecorder | HeldRecords, exc: JobInterrupted
               ) -> BaseException:
        """What to raise after the job broke: rank 0 keeps its folder, marked incomplete
        with every rank's fate, and names the dead rank in one line (exit 1); another
        rank says why it stopped when it noticed itself, and leaves (exit 1)."""
        self._stopping = True
        reason = str(exc) or "stopped"
        if not self.leader:
            if self._lost:
                print(error_line(f"rank {self.world.rank}: {reason}: stopping"),
                      file=sys.stderr)
            return SystemExit(EXIT_FAILED)
        entries = self._census()
        failure = describe_failure(entries, reason)
        assert self.heartbeat is not None and recorder.folder is not None
        with contextlib.suppress(Exception):  # the store may be gone with its node
            self.heartbeat.abort(failure)
        recorder.set("job", self.record(entries, failure=failure))  # complete stays False
        return RankFailedError(f"{failure}; run folder (incomplete): {recorder.folder}")

    def peer_interrupted(self) -> bool:
        """Whether another rank posted that Ctrl-C stopped it: the job's end is an
        interruption. Reads the posted states once (no census: that waits for the dead)."""
        assert self.heartbeat is not None
        try:
            states = self.heartbeat.states()
        except Exception:  # the store went away with the node that served it
            return False
        return STOPPED_BY_CTRL_C in states.values()

    def interrupted(self, recorder: RunRecorder | HeldRecords) -> None:
        """Ctrl-C: rank 0 records how every rank ended before marking the run."""
        self._stopping = True
        if self.leader:
            recorder.set("job", self.record(self._census(), failure="interrupted (Ctrl-C)"))

    def _census(self) -> list[RankEntry]:
        assert self.heartbeat is not None
        try:
            states = self.heartbeat.census()
        except Exception:  # the store went away with the node that served it
            states = {r: "unknown" for r in range(self.world.world_size)}
        states[self.world.rank] = "stopped"
        return [self._entry(rank, state) for rank, state in sorted(states.items())]

    def _entry(self, rank: int, state: str) -> RankEntry:
        facts = self.facts[rank]
        word, _, detail = state.partition(":")
        cores = self.cores.get(rank, ())
        return RankEntry(facts.placement, facts.device, facts.hardware, cores, len(cores),
                         word, detail.strip())

    def _stop_every_rank(self, error: BlitzError) -> None:
        """A job-wide refusal: rank 0 prints the line, every rank exits with its code
        after the barrier (so torchrun cannot stop rank 0 before it has printed)."""
        if self.leader:
            print(error_line(str(error)), file=sys.stderr, flush=True)
        barrier(self.group)
        raise SystemExit(error.exit_code)

    def _on_lost(self, reason: str) -> None:
        """From the heartbeat thread: stop the main thread, whatever it is doing (unless
        it is closing: its SIGTERM handler may already be torch's or the default)."""
        self._lost = reason
        if not self._closing:
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGTERM)

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        if self._stopping:
            return
        self._stopping = True
        raise JobInterrupted(self._lost or "stopped by torchrun (SIGTERM), as it stops "
                                           "every rank of a node when one of them fails")

    def close(self, state: str) -> None:
        self._closing = True
        if self.heartbeat is not None:
            with contextlib.suppress(Exception):
                self.heartbeat.post(state)
            self.heartbeat.stop()
        if self._previous_handler is not None:
            signal.signal(signal.SIGTERM, self._previous_handler)
        close_world()


def silence_limit_s(timeout_s: float) -> float:
    """How long a rank may go without a beat before it counts as dead: the timeout less
    the margin, so that the job ends within ``--timeout`` of a rank's death (at least
    three beats: a rank busy for a moment must not count as dead)."""
    return max(3 * BEAT_S, timeout_s - STOP_MARGIN_S)


def skipped_busy(results: RunResults) -> str:
    """Why this rank measured no performance case: its pre-flight found the machine busy
    and nobody passed --force ("" when it measured)."""
    from blitzbench.acceptance.rules import NOT_MEASURED

    found = results.preflight
    if found is None or not found.busy or found.forced:
        return ""
    return f"{NOT_MEASURED}: the machine was busy before the run ({found.reason})"
