"""DataLoader throughput over the num_workers sweep (cases: workloads/loading.py)."""

BENCHMARK_FAMILY = "loading"


def test_loading(case, bench_case):
    bench_case(case)
