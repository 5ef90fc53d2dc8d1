"""Names that writers and readers of results share, defined once.

A benchmark's name is ``<family>.<operation>``; its parameters are a flat mapping whose
keys are listed here when some reader looks them up (the report's plots, the derived
figures, the acceptance metrics). Levels trade depth for time, as diagnostic levels do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "BASELINES_FOLDER", "BATCH_PARAM", "CLAIMS_ALL", "DEFAULT_LEVEL", "DEVICE_CHOICES_HELP",
    "EAGER", "FAMILIES", "FIRST_BATCH_FIELD", "GB_FIELD", "HTML_FILE", "JUNIT_FILE",
    "LENET_CROSSOVER", "LENET_FORWARD", "LENET_SPEEDUP", "LENET_STEP", "LEVELS", "LOADER",
    "LOADER_EFFICIENCY", "LOOP", "MARKDOWN_FILE", "MEDIAN_FIELD", "MEMORY_PARAM",
    "PEAK_FRACTION_FIELD", "PLOTS_FOLDER", "PROFILER_FOLDER", "PROFILE_ACTIVE_STEPS",
    "PROFILE_WORKLOADS", "RATE_FIELD", "RESULTS_FILE", "RUNS_FOLDER", "SCALE_PARAM",
    "SIZE_PARAM", "TFLOP_FIELD", "THREADS_PARAM", "TUTORIAL_ALL", "TUTORIAL_BATCH_SIZE",
    "VARIANT_PARAM",
    "WORKERS_PARAM",
]

#: Benchmark levels, shallow to deep; ``quick`` is the default everywhere.
LEVELS = ("quick", "standard", "full")
DEFAULT_LEVEL = "quick"

#: Benchmark families, in the order runs measure them.
FAMILIES = ("tensor_ops", "loading", "lenet", "training_loop")

#: Benchmarks that readers single out (the rest are read by their family).
LENET_STEP = "lenet.train_step"
LENET_FORWARD = "lenet.forward"
LOADER = "loading.dataloader"
#: The DataLoader with its workers already running: images/s with start-up excluded.
LOADER_STEADY = "loading.dataloader_steady"
LOOP = "training_loop.epoch_slice"

#: Parameter keys.
BATCH_PARAM = "batch_size"
WORKERS_PARAM = "num_workers"
VARIANT_PARAM = "variant"
THREADS_PARAM = "torch_threads"  # a loop run with a pinned intra-op thread count
SCALE_PARAM = "scale"
SIZE_PARAM = "size"
MEMORY_PARAM = "memory"
EAGER = "eager"  # the LeNet variant the tutorial runs

#: Figures a measurement carries in ``extra``.
RATE_FIELD = "images_per_s"
GB_FIELD = "gb_per_s"
TFLOP_FIELD = "tflop_per_s"
PEAK_FRACTION_FIELD = "fraction_of_peak"
PEAK_FIELD = "peak"  # one line: the peak and its source, or why there is none
FIRST_BATCH_FIELD = "time_to_first_batch_s"
MEDIAN_FIELD = "median_s"

#: Metric names of figures derived from several records or cells (acceptance/metrics.py
#: says how each is computed; the fleet compares the first two across nodes).
LENET_SPEEDUP = "lenet.cuda_speedup"
LOADER_EFFICIENCY = "loader.scaling_efficiency"
#: Steady-state images/s of one DataLoader worker over that of 0 workers (in-process).
LOADER_WORKER_SHARE = "loader.worker_share"
LENET_CROSSOVER = "lenet.cuda_crossover_batch_size"
CLAIMS_ALL = "claims.all_as_expected"
#: 1 when every block of the tutorial ran on the device, as written or with a named shim
TUTORIAL_ALL = "tutorial.all_blocks_run"

#: Folders and files of a reports folder: <reports>/runs/<run-id>/results.json, ...
RUNS_FOLDER = "runs"
RESULTS_FILE = "results.json"
MARKDOWN_FILE = "report.md"
HTML_FILE = "report.html"
JUNIT_FILE = "junit.xml"
PLOTS_FOLDER = "plots"
PROFILER_FOLDER = "profiler"
BASELINES_FOLDER = "baselines"

#: What ``--device`` accepts, for help texts and error messages.
DEVICE_CHOICES_HELP = "all (default), cpu, cuda, or cuda:N"

#: What ``blitzbench profile`` captures, how many steps it records after one wait and
#: one warm-up step, and the tutorial's batch size (the launch-bound case) it uses.
PROFILE_WORKLOADS = ("train_step", "loader_loop")
PROFILE_ACTIVE_STEPS = 3
TUTORIAL_BATCH_SIZE = 4

# --- collectives (distributed/collectives.py writes them, report/collectives.py reads them)
#: The family of nccl-tests-style collective records, ``collectives.<op>``, and its ops in
#: the order runs measure and the report prints them.
COLLECTIVES = "collectives"
COLLECTIVE_OPS = ("all_reduce", "all_gather", "reduce_scatter", "broadcast", "all_to_all")
#: Parameter keys of a collective record (``size`` is SIZE_PARAM, the requested bytes).
INPLACE_PARAM = "inplace"
WORLD_SIZE_PARAM = "world_size"
DTYPE_PARAM = "dtype"
REDOP_PARAM = "redop"
#: Figures of a collective record, named after nccl-tests' columns (``bytes`` is its
#: "size" column, ``count`` its "count", ``wrong`` its "#wrong").
COUNT_FIELD = "count"
BYTES_FIELD = "bytes"
TYPE_FIELD = "type"
ROOT_FIELD = "root"
ALGBW_FIELD = "algbw_gb_per_s"
BUSBW_FIELD = "busbw_gb_per_s"
WRONG_FIELD = "wrong"
BACKEND_FIELD = "backend"
__all__ += [
    "ALGBW_FIELD", "BACKEND_FIELD", "BUSBW_FIELD", "BYTES_FIELD", "COLLECTIVES",
    "COLLECTIVE_OPS", "COUNT_FIELD", "DTYPE_PARAM", "INPLACE_PARAM", "REDOP_PARAM",
    "ROOT_FIELD", "TYPE_FIELD", "WORLD_SIZE_PARAM", "WRONG_FIELD",
]

# --- DDP LeNet (distributed/ddp.py writes them, benchmarks/test_ddp.py reads them)
#: DistributedDataParallel LeNet's training step; its params are BATCH_PARAM (per rank)
#: and WORLD_SIZE_PARAM.
DDP_STEP = "ddp.train_step"
#: Figures of a DDP step record: images/s of one rank (the slowest rank's pace), of the
#: whole world, each rank's own in rank order, and the weak-scaling efficiency against one
#: rank at the same per-rank batch.
RATE_PER_RANK_FIELD = "images_per_s_per_rank"
RATE_TOTAL_FIELD = "images_per_s_total"
RANK_RATES_FIELD = "ranks"
SCALING_EFFICIENCY_FIELD = "scaling_efficiency"
#: The efficiency's rounds, paired in time (distributed/ddp.py): per round, rank 0's solo
#: time per step without DDP, and its ratio to the world's DDP time per step.
SOLO_TIMES_FIELD = "solo_times_s"
SCALING_ROUNDS_FIELD = "scaling_efficiency_rounds"
__all__ += ["DDP_STEP", "RANK_RATES_FIELD", "RATE_PER_RANK_FIELD", "RATE_TOTAL_FIELD",
            "SCALING_EFFICIENCY_FIELD", "SCALING_ROUNDS_FIELD", "SOLO_TIMES_FIELD"]
__all__ += ["PEAK_FIELD"]
__all__ += ["LOADER_STEADY", "LOADER_WORKER_SHARE"]

#: Families a whole world of ranks measures at once (one record per job, not per rank):
#: measured only under torchrun, and never set rank against rank.
WORLD_FAMILIES = frozenset({COLLECTIVES, DDP_STEP.split(".", 1)[0]})
__all__ += ["WORLD_FAMILIES"]

#: The profile entry of a torchrun job: one trace of the DDP step per rank, read by HTA
#: (profiling/ranks.py); also its folder under the run's profiler folder.
DDP_RANKS_WORKLOAD = "ddp_ranks"
__all__ += ["DDP_RANKS_WORKLOAD"]


__all__ += ["metric_prefix"]


def metric_prefix(benchmark: str, params: Mapping[str, Any]) -> str:
    """``benchmark[k=v,...]`` with params sorted by name (just ``benchmark`` without):
    the identity of a measured case across runs, and the stem of its metric names."""
    if not params:
        return benchmark
    inner = ",".join(f"{k}={_param_text(params[k])}" for k in sorted(params))
    return f"{benchmark}[{inner}]"


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
