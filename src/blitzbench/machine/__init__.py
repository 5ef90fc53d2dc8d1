"""Sensing the machine a run measures on, without torch: who else uses the CPUs and GPUs
(a background monitor, each case's window from it, a pre-flight before measuring) and
how healthy the GPUs are (NVML).

- :mod:`~blitzbench.machine.load`: one reading of the CPU counters, the load average and
  every process's CPU time (psutil);
- :mod:`~blitzbench.machine.monitor`: the background monitor and the state of a window;
- :mod:`~blitzbench.machine.preflight`: the few seconds watched before measuring;
- :mod:`~blitzbench.machine.nvml`: GPU readings, background samples and processes.

The records and the judging are in :mod:`blitzbench.results.machine` (the window's
``busy`` verdict) and :mod:`blitzbench.acceptance.gpu_health` (the GPU health checks), so
a reader judges a run folder without sensing anything.
"""
