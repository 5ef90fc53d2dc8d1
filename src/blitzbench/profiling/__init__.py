"""Profiling: torch.profiler captures of the LeNet step and the DataLoader-fed loop, written
for TensorBoard (torch-tb-profiler) with a summary beside each trace.

capture.py (the profiler schedule and workloads), summary.py (top operators, kernels per
step, CPU time against GPU busy time, peak memory, read from the exported Chrome trace),
command.py (`blitzbench profile`).
"""
