#!/usr/bin/env bash
# Runs the benchmark binary of a bench build and prints its table.
# Usage: scripts/bench.sh BUILD_DIR [extra benchmark flags]
set -euo pipefail
build="$1"; shift || true
"$build/bench/aztp_bench" --benchmark_min_time=0.5 "$@"
