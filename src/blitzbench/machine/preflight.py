"""The pre-flight: watch the machine for a few seconds before measuring, and say whether
it is fit to be measured.

The window is :data:`PREFLIGHT_WINDOW_S` long: long enough for the monitor's 0.5 s
samples to see a neighbour that runs more than a second at a time (7 samples), short
enough not to weigh on a run. Within the window
this process sleeps, so the others' CPU, the steal and the load average are the
machine's own; the load average also remembers the minute before, which catches a
neighbour that paused during the window (judged here only: see results/machine.py).

Ctrl-C during the window stops the monitor's thread before anything else happens and
raises :class:`PreflightInterrupted`, a KeyboardInterrupt (the CLI's one line and exit
130) that carries the part of the window measured so far.
"""

from __future__ import annotations

import time
from collections.abc import Collection

from blitzbench.machine.monitor import MachineMonitor
from blitzbench.results.machine import MachineState, Preflight, busy

__all__ = ["PREFLIGHT_WINDOW_S", "PreflightInterrupted", "preflight"]

PREFLIGHT_WINDOW_S = 3.0


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
              monitor: MachineMonitor | None = None) -> Preflight:
    """Watch the machine for ``window_s`` seconds; the state and why it is busy ("" fit).

    ``torch_threads`` is the thread count the run will measure with (None: one per core,
    torch's default); ``gpu_devices`` the GPU indices it will use (None: all). A running
    ``monitor`` (the run's own) is used and left running; without one, a monitor of the
    pre-flight's own is started and stopped.
    """
    own = monitor is None
    watch = MachineMonitor() if monitor is None else monitor
    start: float | None = None
    try:
        if own:
            watch.start()
        start = watch.mark()
        time.sleep(window_s)
        state = watch.state(start, torch_threads=torch_threads)
    except KeyboardInterrupt:
        raise PreflightInterrupted(_partial(watch, start, torch_threads),
                                   window_s) from None
    finally:
        if own:
            watch.stop()
    return Preflight(state, busy(state, judge_load=True, gpu_devices=gpu_devices) or "")


def _partial(watch: MachineMonitor, start: float | None,
             torch_threads: int | None) -> MachineState | None:
    """The window so far; None when it cannot be read (a second Ctrl-C, or none begun)."""
    if start is None:
        return None
    try:
        return watch.state(start, torch_threads=torch_threads)
    except (KeyboardInterrupt, Exception):
        return None
