"""The tutorial's training loop end to end (DataLoader -> device -> step), images/s per
device (cases: workloads/training_loop.py)."""

BENCHMARK_FAMILY = "training_loop"


def test_training_loop(case, bench_case):
    bench_case(case)
