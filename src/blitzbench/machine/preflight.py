"""The pre-flight: watch the machine for a few seconds before measuring, and say whether
it is fit to be measured.

The window is :data:`PREFLIGHT_WINDOW_S` long: long enough for the monitor's 0.5 s
samples to see a neighbour that runs more than a second at a time (7 samples), short
enough not to weigh on a run. Within the window
this process sleeps, so the others' CPU, the steal and the load average are the
machine's own; the load average also remembers the minute before, which catches a
neighbour that paused during the window (judged here only: see results/machine.py).

The load average lags: a job that ended half a minute ago (the set-up that installed
blitzbench, the previous CI step) still holds it up though nothing runs now. So when the
load average is the only reason the window was busy, the pre-flight keeps watching, one
window at a time, for up to :data:`SETTLE_LIMIT_S`, and the machine is fit as soon as the
load has decayed below the bound while the others' CPU, measured over the whole wait,
stayed low; a neighbour that is still running shows in that CPU and ends the wait at once
as busy. A load average that decays from L falls below the bound B after 60 ln(L/B)
seconds (the kernel's 1-minute average, kernel/sched/loadavg.c): from 1.1 to 0.5, 47 s.

Ctrl-C during the window stops the monitor's thread before anything else happens and
raises :class:`PreflightInterrupted`, a KeyboardInterrupt (the CLI's one line and exit
130) that carries the part of the window measured so far.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from blitzbench.machine.monitor import MachineMonitor
from blitzbench.results.machine import MachineState, Preflight, busy

__all__ = ["PREFLIGHT_WINDOW_S", "SETTLE_LIMIT_S", "PreflightInterrupted", "preflight"]

PREFLIGHT_WINDOW_S = 3.0
#: The longest wait for a lagging load average to settle (see the module docstring): a
#: neighbour of 2 busy cores that just ended (load 2.2 on this 2-core VM) decays below
#: 0.5 in 89 s; a longer wait is not worth a run, and the verdict says why it is busy.
SETTLE_LIMIT_S = 120.0


class PreflightInterrupted(KeyboardInterrupt):
    """Ctrl-C during the pre-flight window. ``state`` is the window measured until then
    (None if Ctrl-C came before the first sample); the monitor's thread is stopped."""

    def __init__(self, state: MachineState | None, window_s: float) -> None:
        measured = f"{state.duration_s:.1f} s" if state is not None else "nothing"
        super().__init__(f"pre-flight interrupted: {measured} of its {window_s:g} s "
                         f"window measured")
        self.state = state


def preflight(window_s: float = PREFLIGHT_WINDOW_S, *, torch_threads: int | None = None,
              gpu_devices: Collection[int] | None = None,
              monitor: MachineMonitor | None = None, settle_s: float = SETTLE_LIMIT_S,
              waiting: Callable[[str], None] | None = None) -> Preflight:
    """Watch the machine for ``window_s`` seconds, and up to ``settle_s`` more while only
    a lagging load average says busy; the state and why it is busy ("" fit).

    ``torch_threads`` is the thread count the run will measure with (None: one per core,
    torch's default); ``gpu_devices`` the GPU indices it will use (None: all). A running
    ``monitor`` (the run's own) is used and left running; without one, a monitor of the
    pre-flight's own is started and stopped. ``waiting`` is told, once, why the
    pre-flight waits.
    """
    own = monitor is None
    watch = MachineMonitor() if monitor is None else monitor
    start: float | None = None
    try:
        if own:
            watch.start()
        start = watch.mark()
        time.sleep(window_s)
        state = _settled(watch, start, window_s, settle_s, torch_threads, gpu_devices,
                         waiting)
    except KeyboardInterrupt:
        raise PreflightInterrupted(_partial(watch, start, torch_threads),
                                   window_s) from None
    finally:
        if own:
            watch.stop()
    return Preflight(state, busy(state, judge_load=True, gpu_devices=gpu_devices) or "")


def _settled(watch: MachineMonitor, start: float, window_s: float, settle_s: float,
             torch_threads: int | None, gpu_devices: Collection[int] | None,
             waiting: Callable[[str], None] | None) -> MachineState:
    """The window from ``start``, extended a window at a time while the load average is
    its only reason to be busy, until fit, busy for another reason, or ``settle_s``."""
    deadline = time.monotonic() + settle_s
    state = watch.state(start, torch_threads=torch_threads)
    told = False
    while (busy(state, judge_load=True, gpu_devices=gpu_devices)
           and not busy(state, gpu_devices=gpu_devices)
           and time.monotonic() + window_s <= deadline and window_s > 0):
        if waiting is not None and not told:
            waiting(f"the load average is {state.load1_end:.2f} but nothing runs now: "
                    f"waiting up to {settle_s:.0f} s for it to settle")
            told = True
        time.sleep(window_s)
        state = watch.state(start, torch_threads=torch_threads)
    return state


def _partial(watch: MachineMonitor, start: float | None,
             torch_threads: int | None) -> MachineState | None:
    """The window so far; None when it cannot be read (a second Ctrl-C, or none begun)."""
    if start is None:
        return None
    try:
        return watch.state(start, torch_threads=torch_threads)
    except (KeyboardInterrupt, Exception):
        return None
