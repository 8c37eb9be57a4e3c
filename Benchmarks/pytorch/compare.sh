#!/usr/bin/env bash
# PruneKit vs PyTorch on the CPU, side by side: builds prunekit-bench in release mode, creates .venv-bench with
# the pinned PyTorch side (requirements.txt), writes one set of seeded bench weights and inputs that both sides
# load, measures every row in its own child process per side, and writes docs/benchmarks/pytorch-comparison.json
# and .md. Run from anywhere:
#
#     bash Benchmarks/pytorch/compare.sh [--quick] [--only ROW-SUBSTRING]... [--threads N] [--steps N]
#         [--blas-kernels auto|inherit]
#
# OpenBLAS picks its kernel set for the CPU (AVX-512 where there is AVX-512), as PyTorch's MKL and oneDNN do:
# the run removes OPENBLAS_CORETYPE from the children's environment unless --blas-kernels inherit is given.
#
# Environment: PRUNEKIT_SCRATCH (SwiftPM scratch path, default .build), PRUNEKIT_BENCH_VENV (default
# .venv-bench), PRUNEKIT_TORCH_INDEX_URL (a pip index for torch only, e.g. PyTorch's CPU-only wheel index;
# without it pip installs the default build of torch, whose CPU kernels are the ones measured).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
SCRATCH="${PRUNEKIT_SCRATCH:-.build}"
VENV="${PRUNEKIT_BENCH_VENV:-.venv-bench}"
REQUIREMENTS="Benchmarks/pytorch/requirements.txt"

echo "== building prunekit-bench (release, scratch path $SCRATCH)"
swift build -c release --scratch-path "$SCRATCH" --product prunekit-bench
BENCH="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/prunekit-bench"

# The venv is (re)built when it is missing or was made from another requirements file.
STAMP="$VENV/.prunekit-requirements"
if [[ ! -x "$VENV/bin/python" ]] || ! cmp -s "$REQUIREMENTS" "$STAMP"; then
    echo "== creating $VENV with $(grep -v '^#' "$REQUIREMENTS" | tr '\n' ' ')"
    python3 -m venv "$VENV"
    if [[ -n "${PRUNEKIT_TORCH_INDEX_URL:-}" ]]; then
        "$VENV/bin/pip" install --quiet --index-url "$PRUNEKIT_TORCH_INDEX_URL" "$(grep '^torch==' "$REQUIREMENTS")"
    fi
    "$VENV/bin/pip" install --quiet -r "$REQUIREMENTS"
    cp "$REQUIREMENTS" "$STAMP"
fi

echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
exec "$VENV/bin/python" Benchmarks/pytorch/compare.py --bench "$BENCH" "$@"
