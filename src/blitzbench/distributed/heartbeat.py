"""Tell a slow rank from a dead one: every rank beats into the job's store, and rank 0
watches the beats.

Why not the process-group timeout alone: the ranks of an acceptance job finish their
measurements minutes apart (a straggler is what the job is looking for), so a collective
that waits for the last rank must not time out on a slow one; yet a rank that was killed
must end the job within the timeout, not when the others happen to reach the next
collective. A daemon thread on each rank therefore adds 1 to its counter in the store
every :data:`BEAT_S` seconds (it runs while the main thread measures: torch releases the
GIL in its kernels), and the ranks wait for each other by polling the store, never in a
collective. Rank 0's thread reads every counter; a rank whose counter has not moved for
``stale_s`` seconds (the job's ``--timeout``) is lost, and rank 0 posts the reason under
``abort``. Every other rank watches rank 0's counter and that key. Whoever notices calls
``on_lost(reason)``, which stops the main thread (acceptance/ranks.py).

The store is torchrun's own (``MASTER_ADDR``/``MASTER_PORT``: the agent's TCPStore, or the
rendezvous store across nodes), reached through a client of our own, under a prefix
naming the torchrun run and restart; state keys say how each rank ended (``finished``,
``stopped``, ``failed: ...``) so that rank 0 can name the dead one after the fact
(:meth:`Heartbeat.census`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

__all__ = ["ABORT_KEY", "BEAT_S", "FINAL_STATES", "GRACE_S", "Heartbeat", "job_store"]

#: One beat a second: one store request per rank per second, and a dead rank shows within
#: a second of the ``stale_s`` limit.
BEAT_S = 1.0
#: After torchrun stops rank 0 (it does so within its 0.1 s monitor interval of another
#: local rank's death), the time rank 0 waits for every rank to say how it ended: two
#: missed beats and a margin. torchrun waits 30 s (its --shutdown-timeout) before SIGKILL.
GRACE_S = 3.0
#: States that end a rank's part; any other (``running``, ``measured``) means "not yet".
FINAL_STATES = ("finished", "stopped", "failed")
ABORT_KEY = "abort"
#: How long one store request may take before the store counts as gone (the agent that
#: serves it died with its node).
STORE_TIMEOUT_S = 30


def job_store(environ: Mapping[str, str] | None = None,
              timeout_s: float = STORE_TIMEOUT_S) -> Any:
    """A client of torchrun's store, under a prefix for this run and restart."""
    import torch.distributed as dist

    environ = os.environ if environ is None else environ
    client = dist.TCPStore(environ["MASTER_ADDR"], int(environ["MASTER_PORT"]),
                           is_master=False, timeout=timedelta(seconds=timeout_s),
                           wait_for_workers=False)
    prefix = (f"blitzbench/{environ.get('TORCHELASTIC_RUN_ID', 'run')}/"
              f"{environ.get('TORCHELASTIC_RESTART_COUNT', '0')}")
    return dist.PrefixStore(prefix, client)


class Heartbeat:
    """This rank's beat and state in ``store``, and the watch over the others' beats.

    ``store`` is any torch.distributed Store (a HashStore in tests). :meth:`start` posts
    the first beat and state, :meth:`watch` starts the thread: between them, a collective,
    so that every key exists by the time anyone reads it (a store ``get`` of a missing key
    waits).
    """

    def __init__(self, store: Any, rank: int, world_size: int, *, stale_s: float,
                 on_lost: Callable[[str], None], beat_s: float = BEAT_S) -> None:
        self.store, self.rank, self.world_size = store, rank, world_size
        self.stale_s, self.beat_s, self.on_lost = stale_s, beat_s, on_lost
        self._lock = threading.Lock()  # one request at a time on the shared client
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="blitzbench-heartbeat",
                                        daemon=True)
        self._seen: dict[int, tuple[int, float]] = {}  # rank -> (counter, when it moved)

    # --- this rank ---------------------------------------------------------------------

    def start(self) -> None:
        """The first beat and state; then a collective, so that every rank's keys exist
        before :meth:`watch` reads them."""
        self._request(lambda s: s.add(f"beat/{self.rank}", 1))
        self.post("running")

    def watch(self) -> None:
        """Beat every ``beat_s`` seconds and watch the others, from a daemon thread."""
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2 * self.beat_s)

    def post(self, state: str) -> None:
        """Say where this rank is (``measured``) or how it ended (a FINAL_STATES word,
        then a colon and the detail for ``failed``)."""
        self._request(lambda s: s.set(f"state/{self.rank}", state[:2000]))

    def abort(self, reason: str) -> None:
        """Rank 0 gives up: every other rank sees the reason and stops."""
        self._request(lambda s: s.set(ABORT_KEY, reason[:2000]))

    def mark(self, key: str) -> None:
        """Set a flag every rank can see (rank 0's go-ahead to gather)."""
        self._request(lambda s: s.set(key, "1"))

    def marked(self, key: str) -> bool:
        return bool(self._request(lambda s: s.check([key])))

    # --- the others --------------------------------------------------------------------

    def states(self) -> dict[int, str]:
        """Every rank's last posted state."""
        keys = [f"state/{r}" for r in range(self.world_size)]
        values = self._request(lambda s: s.multi_get(keys))
        return {r: bytes(v).decode(errors="replace") for r, v in enumerate(values)}

    def all_posted(self, state: str) -> bool:
        """Whether every rank has reached ``state`` (or ended: the caller checks how)."""
        return all(s == state or final(s) for s in self.states().values())

    def census(self, grace_s: float = GRACE_S) -> dict[int, str]:
        """How every other rank ended, for rank 0 after the job broke: its final state
        if it posted one; else ``running`` if it still beats within ``grace_s``, and
        ``dead`` if it does not (or had already stopped beating for ``stale_s``)."""
        deadline = time.monotonic() + grace_s
        start, stale = self.counters(), set(self.stale_ranks())
        while True:
            states = self.states()
            now = self.counters()
            moved = {r for r in now if now[r] != start.get(r)} - stale
            open_ranks = [r for r, s in states.items() if r != self.rank and not final(s)]
            if all(r in moved | stale for r in open_ranks) or time.monotonic() >= deadline:
                break
            time.sleep(self.beat_s / 4)
        return {r: states[r] if final(states[r]) else "running" if r in moved else "dead"
                for r in range(self.world_size) if r != self.rank}

    def counters(self) -> dict[int, int]:
        keys = [f"beat/{r}" for r in range(self.world_size)]
        values = self._request(lambda s: s.multi_get(keys))
        return {r: int(bytes(v).decode() or 0) for r, v in enumerate(values)}

    def stale_ranks(self, now: float | None = None) -> list[int]:
        """Ranks this process has watched whose counter has not moved for ``stale_s``."""
        now = time.monotonic() if now is None else now
        return sorted(r for r, (_, since) in self._seen.items()
                      if r != self.rank and now - since > self.stale_s)

    # --- the thread --------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(self.beat_s):
            try:
                self._request(lambda s: s.add(f"beat/{self.rank}", 1))
                reason = self._check()
            except Exception as exc:  # the store went away: the job is over
                reason = f"lost the job's store ({type(exc).__name__}: {exc})"[:300]
            if reason and not self._stop.is_set():  # a rank that is leaving does not call
                self._stop.set()
                self.on_lost(reason)

    def _check(self) -> str:
        """The reason to stop, or "": rank 0 watches everyone, the others rank 0."""
        watched = range(self.world_size) if self.rank == 0 else (0,)
        states = self.states()
        if self.rank != 0:
            aborted = self._request(lambda s: s.check([ABORT_KEY]))
            if aborted:
                return bytes(self._request(lambda s: s.get(ABORT_KEY))).decode()
        self._watch(self.counters(), time.monotonic())
        lost = [r for r in self.stale_ranks() if r in watched and not final(states[r])]
        if not lost:
            return ""
        return describe_lost(lost, self.stale_s)

    def _watch(self, counters: Mapping[int, int], now: float) -> None:
        for rank, count in counters.items():
            if self._seen.get(rank, (None, 0.0))[0] != count:
                self._seen[rank] = (count, now)

    def _request(self, call: Callable[[Any], Any]) -> Any:
        with self._lock:
            return call(self.store)


def final(state: str) -> bool:
    """Whether a posted state ends the rank's part (``failed: ...`` included)."""
    return state.split(":", 1)[0] in FINAL_STATES


def describe_lost(ranks: Sequence[int], stale_s: float) -> str:
    names = ", ".join(str(r) for r in ranks)
    return f"rank {names} stopped beating for more than {stale_s:g} s (presumed dead)"
