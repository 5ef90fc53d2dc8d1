"""The heartbeat that tells a slow rank from a dead one (distributed/heartbeat.py), the job's
version check, core shares and failure line (runner/job.py, distributed/cores.py), and
the run options (-k, --device), in-process: ranks are Heartbeat objects over one
in-memory store, with beats of a few hundredths of a second."""

from __future__ import annotations

import argparse
import threading
import time

import pytest
import torch.distributed as dist

from blitzbench.distributed.cores import share_cores
from blitzbench.distributed.heartbeat import ABORT_KEY, Heartbeat
from blitzbench.errors import DeviceError
from blitzbench.options import EVERYTHING, DeviceChoice, case_filter, device_choice
from blitzbench.results.job import Placement, RankEntry
from blitzbench.runner.job import silence_limit_s
from blitzbench.runner.job_facts import RankFacts, describe_failure, mismatched_versions

BEAT = 0.05


class Lost:
    """Records what a heartbeat's watch reports, and when."""

    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.event = threading.Event()

    def __call__(self, reason: str) -> None:
        self.reasons.append(reason)
        self.event.set()


def _ranks(count: int, store, stale_s: float = 0.4) -> tuple[list[Heartbeat], list[Lost]]:
    lost = [Lost() for _ in range(count)]
    beats = [Heartbeat(store, r, count, stale_s=stale_s, on_lost=lost[r], beat_s=BEAT)
             for r in range(count)]
    for beat in beats:
        beat.start()
    return beats, lost


def test_rank_0_finds_the_silent_rank_and_only_it():
    beats, lost = _ranks(3, dist.HashStore())
    for beat in (beats[0], beats[2]):  # rank 1 never beats again: it died
        beat.watch()
    started = time.monotonic()
    assert lost[0].event.wait(5)
    waited = time.monotonic() - started
    assert lost[0].reasons == ["rank 1 stopped beating for more than 0.4 s (presumed dead)"]
    assert 0.4 <= waited < 1.5
    assert not lost[2].reasons  # rank 2 watches rank 0, which beats
    for beat in beats:
        beat.stop()


def test_a_rank_that_finished_is_not_lost_when_it_stops_beating():
    beats, lost = _ranks(2, dist.HashStore(), stale_s=0.2)
    beats[1].post("finished")
    beats[0].watch()
    time.sleep(0.6)
    assert not lost[0].reasons
    beats[0].stop()


def test_the_others_stop_when_rank_0_aborts_or_goes_silent():
    store = dist.HashStore()
    beats, lost = _ranks(3, store)
    beats[0].watch()
    beats[1].watch()
    beats[0].abort("rank 2 died")
    assert lost[1].event.wait(2) and lost[1].reasons == ["rank 2 died"]
    beats[0].stop()
    beats, lost = _ranks(2, dist.PrefixStore("second", store), stale_s=0.3)
    beats[1].watch()  # rank 0 never beats after its start
    assert lost[1].event.wait(3) and "rank 0 stopped beating" in lost[1].reasons[0]
    assert not store.check([f"second/{ABORT_KEY}"])


def test_the_census_tells_finished_alive_and_dead_apart():
    beats, _ = _ranks(4, dist.HashStore())
    beats[1].post("finished")
    beats[3].post("failed: DataError: corrupt batch")
    beats[2].watch()  # rank 2 keeps beating: alive; rank 3's thread never ran, but it said
    started = time.monotonic()
    census = beats[0].census(grace_s=0.5)
    assert census == {1: "finished", 2: "running", 3: "failed: DataError: corrupt batch"}
    assert time.monotonic() - started < 0.5  # every open rank beat: no need to wait
    beats[2].stop()
    assert beats[0].census(grace_s=0.3)[2] == "dead"


def test_the_go_ahead_is_seen_by_every_rank():
    beats, _ = _ranks(2, dist.HashStore())
    assert not beats[1].marked("gather")
    beats[0].mark("gather")
    assert beats[1].marked("gather")


def _facts(rank: int, host: str, torch_version: str = "2.14.1") -> RankFacts:
    return RankFacts(Placement(host, rank, rank % 2, rank // 2), "cpu", "cpu: x", {},
                     (0, 1, 2, 3), {"torch": torch_version, "blitzbench": "0.1.0",
                                    "python": "3.11.9"})


def test_a_version_mismatch_names_both_versions_and_their_ranks():
    facts = [_facts(r, "a" if r < 2 else "b", "9.9.9" if r == 3 else "2.14.1")
             for r in range(4)]
    assert mismatched_versions(facts) == (
        "the ranks of this job run different versions (torch 2.14.1 on rank 0-2 (a, b); "
        "torch 9.9.9 on rank 3 (b)): install the same torch, blitzbench and Python on "
        "every node")
    assert mismatched_versions([_facts(r, "a") for r in range(4)]) == ""


def test_ranks_sharing_a_host_get_disjoint_cores():
    hosts = {0: "a", 1: "a", 2: "b", 3: "a"}
    cores = {0: (0, 1, 2, 3, 4, 5), 1: (0, 1, 2, 3, 4, 5), 2: (0, 1), 3: (0, 1, 2, 3, 4, 5)}
    assert share_cores(hosts, cores) == {0: (0, 1), 1: (2, 3), 3: (4, 5), 2: (0, 1)}
    # more ranks than cores: one each, round-robin
    assert share_cores({0: "a", 1: "a", 2: "a"}, dict.fromkeys(range(3), (0, 1))) == \
        {0: (0,), 1: (1,), 2: (0,)}


def test_the_failure_line_names_the_dead_rank_its_host_device_and_node():
    entries = [RankEntry(Placement("a", 0, 0, 0), "cuda:0", "H200", state="stopped"),
               RankEntry(Placement("b", 1, 0, 1), "cuda:0", "H200", state="dead")]
    assert describe_failure(entries, "why") == \
        "rank 1 on b (cuda:0, node 1) died before rank 0 gathered its records (why)"


def test_the_silence_limit_leaves_time_to_end_within_the_timeout():
    assert silence_limit_s(60) == 55 and silence_limit_s(10) == 5
    assert silence_limit_s(1) == 3  # never below three beats


def test_the_case_filter_keeps_what_its_pattern_finds():
    assert EVERYTHING.keep([1, 2], str) == [1, 2] and not EVERYTHING.narrowed
    narrowed = case_filter("^2")
    assert narrowed.keep(["1", "2", "22"], str) == ["2", "22"] and narrowed.narrowed
    assert case_filter(r"add_out\[scale=tutorial").matches(
        "tensor_ops.add_out[scale=tutorial,size=5x3]")
    with pytest.raises(argparse.ArgumentTypeError, match="not a regular expression"):
        case_filter("lenet[")


def test_the_device_option_is_checked_as_the_command_line_is_parsed():
    assert device_choice(" CUDA:1 ") == DeviceChoice("cuda:1")
    assert device_choice("cuda:1").index == 1 and device_choice("cpu").cpu_only
    for bad in ("tpu", "cuda:x", "cuda:", "cpu:0"):
        with pytest.raises(DeviceError, match="unknown device"):
            device_choice(bad)
