"""LeNet forward and training step per variant and batch size (cases:
workloads/lenet_bench.py)."""

BENCHMARK_FAMILY = "lenet"


def test_lenet(case, bench_case):
    bench_case(case)
