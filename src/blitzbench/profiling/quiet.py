"""Keep torch's native chatter around a profiler capture out of the user's terminal.

Kineto and c10 write some lines straight to file descriptors 1 and 2, below Python's
``sys.stdout``, so neither ``warnings`` filters nor redirecting ``sys.stdout`` reach them.
Both ``blitzbench profile`` and ``accept`` capture through :func:`profile_all`, which wraps
every capture in :func:`native_noise_dropped`.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator

__all__ = ["NATIVE_NOISE", "native_noise_dropped"]

#: Lines that torch's C++ side writes straight to fd 1/2 around a profiler capture: Kineto's
#: USDT probe markers (``USDT: ... profiler_start``/``profiler_stop``) and c10's CPU
#: allocator note (c10/core/CPUAllocator.cpp) about blocks allocated before profiling
#: began; and a progress bar's redraws (ANSI escapes), which the bar repeats anyway.
NATIVE_NOISE = re.compile(r"^USDT:.*profiler_(start|stop)|CPUAllocator\.cpp:\d+\] Memory block "
                          r"of unknown size|\x1b\[")


@contextlib.contextmanager
def native_noise_dropped() -> Iterator[None]:
    """Catch what is written to fd 1 and 2 meanwhile, then pass on every line but
    NATIVE_NOISE to stderr: a real error printed by C++ code is still seen."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    with tempfile.TemporaryFile() as caught:
        try:
            for fd in saved:
                os.dup2(caught.fileno(), fd)
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            caught.seek(0)
            kept = [line for line in caught.read().decode(errors="replace").splitlines()
                    if not NATIVE_NOISE.search(line)]
            if kept:
                print("\n".join(kept), file=sys.stderr)
