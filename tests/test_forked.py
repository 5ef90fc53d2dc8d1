"""distributed/forked.py: a local world whose ranks are forked from a warm fork server.

The ranks must see what torchrun would export, the caller's environment and one thread
each; a rank that fails must stop the others at once (not after the process group's 60 s
timeout), a job past its time is killed, and Ctrl-C in the caller leaves no rank behind.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist

from blitzbench.distributed import forked
from blitzbench.distributed.forked import run_forked
from blitzbench.distributed.world import World

#: This module as a rank target: the fork server has tests/ on its path, as pytest's.
HERE = "test_forked"
MARK_ENV = "BLITZBENCH_FORKED_TEST_MARK"
#: Far below the process group's 60 s timeout: a wait that long means a rank was not stopped.
PROMPT_S = 20.0
#: The race test's deadline: its wait must end long before.
RACE_TIMEOUT_S = 30.0


def report_world(world: World, tag: str) -> dict[str, Any]:
    """A rank's view: its place, the caller's variable, its thread count, and a collective."""
    total = torch.tensor([float(world.rank + 1)])
    dist.all_reduce(total)
    return {"rank": world.rank, "world_size": world.world_size, "backend": world.backend,
            "tag": tag, "mark": os.environ.get(MARK_ENV), "threads": torch.get_num_threads(),
            "sum": total.item()}


def rank_one_fails(world: World, pid_dir: str) -> None:
    """Rank 1 raises; rank 0 waits in a barrier that rank 1 never reaches."""
    _note_pid(world, pid_dir)
    if world.rank == 1:
        raise ValueError("rank 1 planted failure")
    dist.barrier()


def sleep_long(world: World, pid_dir: str) -> None:
    _note_pid(world, pid_dir)
    time.sleep(120)


def _note_pid(world: World, pid_dir: str) -> None:
    (Path(pid_dir) / f"{world.rank}.pid").write_text(str(os.getpid()))


def _pids(pid_dir: Path) -> list[int]:
    return [int(p.read_text()) for p in sorted(pid_dir.glob("*.pid"))]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _wait_for_pids(pid_dir: Path, count: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while len(_pids(pid_dir)) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def test_ranks_see_torchruns_variables_the_callers_environment_and_one_thread(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MARK_ENV, "from the caller")
    run = run_forked(f"{HERE}:report_world", 2, timeout_s=120, args=("hello",))
    assert run.returncode == 0, run.output
    assert [r["rank"] for r in run.results] == [0, 1]
    for result in run.results:
        assert result["world_size"] == 2 and result["backend"] == "gloo"
        assert result["tag"] == "hello" and result["mark"] == "from the caller"
        assert result["threads"] == 1
        assert result["sum"] == 3.0  # 1 + 2: the collective ran across both ranks


def test_a_failing_rank_stops_the_other_at_once(tmp_path: Path) -> None:
    started = time.monotonic()
    run = run_forked(f"{HERE}:rank_one_fails", 2, timeout_s=120, args=(str(tmp_path),))
    elapsed = time.monotonic() - started
    assert run.returncode != 0
    assert run.results == (None, None)
    assert "[rank1]: ValueError: rank 1 planted failure" in run.output
    # rank 0 is stopped by blitzbench, or ends first on gloo's closed connection
    assert ("the other ranks were stopped" in run.output
            or "[rank0]: RuntimeError" in run.output), run.output
    assert elapsed < PROMPT_S, f"rank 0 was left waiting {elapsed:.1f} s"
    assert all(_gone(pid) for pid in _pids(tmp_path))


def test_a_job_past_its_time_is_killed(tmp_path: Path) -> None:
    started = time.monotonic()
    run = run_forked(f"{HERE}:sleep_long", 2, timeout_s=8, args=(str(tmp_path),))
    elapsed = time.monotonic() - started
    assert run.returncode == -signal.SIGKILL
    assert "local world killed after 8 s" in run.output
    assert elapsed < PROMPT_S
    assert len(_pids(tmp_path)) == 2 and all(_gone(pid) for pid in _pids(tmp_path))


def test_ctrl_c_in_the_caller_leaves_no_rank(tmp_path: Path) -> None:
    def interrupt_once_ranks_run(signum: int, frame: Any) -> None:
        if len(_pids(tmp_path)) < 2:
            signal.alarm(1)  # the ranks are not up yet: try again in a second
            return
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt_once_ranks_run)
    signal.alarm(1)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_forked(f"{HERE}:sleep_long", 2, timeout_s=120, args=(str(tmp_path),))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    _wait_for_pids(tmp_path, 2, timeout_s=0)
    assert len(_pids(tmp_path)) == 2 and all(_gone(pid) for pid in _pids(tmp_path))



class _EndsAfterFirstLook:
    """A rank that ends right after the first look at it (``is_alive()`` says True, then
    it exits): the moment two looks in a row would disagree about."""

    name = "fake-rank"

    def __init__(self) -> None:
        self.sentinel, self._writer = os.pipe()
        self.exitcode: int | None = None

    def is_alive(self) -> bool:
        if self.exitcode is not None:
            return False
        self.exitcode = 0
        os.close(self._writer)  # the sentinel turns readable, as a real rank's does
        return True

    def close(self) -> None:
        os.close(self.sentinel)


def test_a_rank_ending_between_two_looks_is_seen_at_once() -> None:
    """The wait once looked at the ranks twice per turn: a rank that ended in between left
    it waiting on no sentinel at all, to the deadline (seen: 0.3 s jobs held to their
    180 s limit, 1 in ~10 under load)."""
    rank = _EndsAfterFirstLook()
    started = time.monotonic()
    try:
        note = forked._wait([rank], RACE_TIMEOUT_S)
    finally:
        rank.close()
    assert note == ""
    assert time.monotonic() - started < 1.0
