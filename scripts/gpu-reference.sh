#!/usr/bin/env bash
# Reference run on a GPU machine whose Python already has torch, torchvision, pytest,
# pytest-benchmark, rich, matplotlib and tensorboard (offline: nothing is downloaded).
# Installs blitzbench without dependencies, runs the chosen steps on every device found,
# and packs the reports folder into $OUT/reports.tgz with a log beside it.
#   usage: OUT=/some/dir bash scripts/gpu-reference.sh
#          OUT=/some/dir STEPS="validation accept" bash scripts/gpu-reference.sh
#   (the second form fits one 600 s device call: validation about 30 s, accept --level full
#   up to ACCEPT_LIMIT=500; the full level already holds the torch.compile cases)
# Steps, in the order given by $STEPS (default: checks benchmarks profile accept):
#   checks      pytest checks, junit in reports/checks-junit.xml
#   benchmarks  pytest benchmarks at $BENCH_LEVEL (default full), JSON in reports/benchmarks.json
#   profile     blitzbench profile on every device
#   accept      blitzbench accept --level $ACCEPT_LEVEL (default full) --save-baseline
#   validation  the CUDA-event cross-check of the suite's timer (tests/test_timing_validation.py)
#   compile     the torch.compile benchmarks on CUDA (marked slow, full level only)
#   collectives the collectives family over NCCL at every world size from 1 to the GPU
#               count, through torchrun (records in reports/collectives/ws<N>/rank-0.json);
#               on a one-GPU machine that is world size 1 only: latency and the
#               correctness check of NCCL's local path, no link crossed (busbw is 0)
# Each step has a limit in seconds ($CHECKS_LIMIT, $BENCH_LIMIT, ...); a limit of 0 skips it.
# A step past its limit gets SIGINT, so blitzbench keeps what finished (exit 130).
set -uo pipefail
OUT=${OUT:?set OUT to the folder that receives the results}
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
export BLITZBENCH_REPORTS="$PWD/reports"
export BLITZBENCH_CACHE="${BLITZBENCH_CACHE:-/tmp/blitzbench-cache}"
PY=${PYTHON:-python3}
STEPS=${STEPS:-checks benchmarks profile accept}
mkdir -p "$OUT" reports

step() {  # step NAME SECONDS COMMAND...: run with a time limit, never stop the script
    local name=$1 limit=$2; shift 2
    if [ "$limit" -le 0 ]; then echo "=== $name: skipped (limit 0)"; return; fi
    local start=$SECONDS
    echo "=== $name (limit ${limit}s): $*"
    timeout --signal=INT --kill-after=15 "$limit" "$@"
    echo "=== $name: exit $? after $((SECONDS - start))s"
    tar czf "$OUT/reports.tgz" reports  # after every step: a cut-off run still returns
}

run_step() {
    case $1 in
        checks) step checks "${CHECKS_LIMIT:-90}" "$PY" -m pytest checks -q -p no:cacheprovider \
            --junitxml=reports/checks-junit.xml ;;
        benchmarks) step benchmarks "${BENCH_LIMIT:-200}" "$PY" -m pytest benchmarks -q \
            -p no:cacheprovider --blitz-level "${BENCH_LEVEL:-full}" \
            --benchmark-json=reports/benchmarks.json --benchmark-columns=median,iqr,rounds \
            -m "${BENCH_MARKS:-not slow}" ;;
        profile) step profile "${PROFILE_LIMIT:-60}" blitzbench profile --device all ;;
        accept) step accept "${ACCEPT_LIMIT:-500}" blitzbench accept \
            --level "${ACCEPT_LEVEL:-full}" --save-baseline ;;
        validation) step validation "${VALIDATION_LIMIT:-60}" "$PY" -m pytest -q \
            -p no:cacheprovider tests/test_timing_validation.py -k cuda \
            --junitxml=reports/validation-junit.xml ;;
        compile) step compile "${COMPILE_LIMIT:-180}" "$PY" -m pytest -q -p no:cacheprovider \
            benchmarks/test_lenet.py --device cuda --blitz-level full -m slow \
            --benchmark-json=reports/compile.json --benchmark-columns=median,iqr,rounds ;;
        collectives)
            local gpus n
            gpus=$("$PY" -c "import torch; print(torch.cuda.device_count())")
            for n in $(seq 1 "$gpus"); do
                mkdir -p "reports/collectives/ws$n"
                step "collectives ws$n" "${COLLECTIVES_LIMIT:-120}" "$PY" -m \
                    torch.distributed.run --standalone --nproc-per-node="$n" \
                    -m blitzbench.distributed.entry \
                    blitzbench.distributed.collectives:measure_world \
                    "reports/collectives/ws$n" "${COLLECTIVES_LEVEL:-full}"
            done ;;
        *) echo "=== unknown step '$1': use checks benchmarks profile accept validation compile collectives" ;;
    esac
}

{
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv
    # offline: dependencies the GPU machine's Python lacks can travel as wheels in wheels/
    # (pip download --only-binary=:all: --python-version X.Y -d wheels psutil nvidia-ml-py
    # hypothesis holistictraceanalysis), installed from there
    if [ -d wheels ]; then
        "$PY" -m pip install -q --no-index --find-links wheels psutil nvidia-ml-py \
            hypothesis holistictraceanalysis || echo "wheels: some not installed"
    fi
    "$PY" -m pip install -q --no-deps --no-build-isolation -e . || exit 1
    # what a missing module costs: psutil (the pre-flight and each case's machine state),
    # pynvml (GPU health: SKIPPED), hypothesis (the claims), hta (the ranks' traces)
    "$PY" -c "import importlib.util as u; print(*(f'module {m}: ' + ('present' if u.find_spec(m) else 'MISSING') for m in ('psutil', 'pynvml', 'hypothesis', 'hta')), sep='\n')"
    "$PY" -c "import torch, blitzbench; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU')"
    for name in $STEPS; do run_step "$name"; done
} 2>&1 | tee "$OUT/gpu-reference.log"

tar czf "$OUT/reports.tgz" reports
ls -la "$OUT"
