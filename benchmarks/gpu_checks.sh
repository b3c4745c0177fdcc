#!/usr/bin/env bash
# Every GPU measurement of the README's Benchmarks section, in one command, on a machine with a
# CUDA GPU and this project's packages (./seq2reg setup, or them on PYTHONPATH):
#
#   bash benchmarks/gpu_checks.sh [OUT]          # OUT: benchmarks/out/gpu by default; ~15 minutes on an H100
#
# 1. training throughput of every model at paper size (+ torch.compile for three, larger DeepSEA batches);
# 2. inference (455,024 x 919 with RC), variant scoring and mutagenesis;
# 3. the demo end to end on CUDA (tests/test_workflow.py without SLURM), resume on the GPU (tests/test_train.py);
# 4. bf16 against fp32 over 500 steps of DeepSEA and DanQ on the demo's deepsea1000 data set.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
OUT=${1:-benchmarks/out/gpu}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
$PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA GPU here: these are GPU checks')"
$PY benchmarks/throughput.py --out "$OUT/throughput" --rows 100000 --steps 20 --seconds 6 --workers 0 2 4 \
    --loader-seconds 3 --train-workers 4 --compile basset deepsea danq --batch-size deepsea=256 deepsea=1024 \
    2>&1 | tee "$OUT/throughput.log"
$PY benchmarks/use_model.py --only predict variants ism --speed-variants 100000 --variant-batch 2048 \
    --predict-batch 2048 --workers 4 --threads 4 --out "$OUT/use_model" 2>&1 | tee "$OUT/use_model.log"
SEQ2REG_SLURM_TESTS=off CORES=${CORES:-10} $PY -m pytest -q -p no:cacheprovider --basetemp="$OUT/pytest" \
    tests/test_workflow.py tests/test_train.py 2>&1 | tee "$OUT/tests.log"
grep -rh "device cuda" "$OUT/pytest/demo0/results/logs" | tee "$OUT/cuda_devices.log"
$PY benchmarks/bf16_parity.py --dataset "$OUT/pytest/demo0/results/datasets/deepsea1000.h5" \
    --out "$OUT/bf16_parity" 2>&1 | tee "$OUT/bf16_parity.log"
