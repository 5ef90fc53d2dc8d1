#!/usr/bin/env bash
# Reference run on a GPU machine whose Python already has torch, torchvision, pytest,
# pytest-benchmark, rich, matplotlib and tensorboard (offline: nothing is downloaded).
# Installs blitzbench without dependencies, runs every capability on every device found,
# and packs the reports folder into $OUT/reports.tgz with a log beside it.
#   usage: OUT=/some/dir bash scripts/gpu-reference.sh
set -uo pipefail
OUT=${OUT:?set OUT to the folder that receives the results}
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
export BLITZBENCH_REPORTS="$PWD/reports"
export BLITZBENCH_CACHE="${BLITZBENCH_CACHE:-/tmp/blitzbench-cache}"
PY=${PYTHON:-python3}
mkdir -p "$OUT" reports

step() {  # step NAME SECONDS COMMAND...: run with a time limit, never stop the script
    local name=$1 limit=$2; shift 2
    local start=$SECONDS
    echo "=== $name (limit ${limit}s): $*"
    timeout --signal=INT --kill-after=15 "$limit" "$@"
    echo "=== $name: exit $? after $((SECONDS - start))s"
    tar czf "$OUT/reports.tgz" reports  # after every step: a cut-off run still returns
}

{
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv
    "$PY" -m pip install -q --no-deps --no-build-isolation -e . || exit 1
    "$PY" -c "import torch, blitzbench; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU')"
    step checks "${CHECKS_LIMIT:-90}" "$PY" -m pytest checks -q -p no:cacheprovider \
        --junitxml=reports/checks-junit.xml
    step benchmarks "${BENCH_LIMIT:-200}" "$PY" -m pytest benchmarks -q -p no:cacheprovider \
        --blitz-level "${BENCH_LEVEL:-full}" --benchmark-json=reports/benchmarks.json \
        --benchmark-columns=median,iqr,rounds -m "${BENCH_MARKS:-not slow}"
    [ "${PROFILE_LIMIT:-60}" -gt 0 ] && step profile "${PROFILE_LIMIT:-60}" blitzbench profile --device all
    step accept "${ACCEPT_LIMIT:-200}" blitzbench accept --level "${ACCEPT_LEVEL:-full}" \
        --save-baseline
} 2>&1 | tee "$OUT/gpu-reference.log"

tar czf "$OUT/reports.tgz" reports
ls -la "$OUT"
