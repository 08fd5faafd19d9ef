#!/usr/bin/env bash
# Runs the benchmark binary of a bench build and prints its table, then
# compares one hop through aztp-proxy with nginx (scripts/bench_proxy.sh),
# one MCP tool call through two proxies with the same call made directly
# (scripts/bench_mcp.sh), then aztpd on SQLite with aztpd replicas on
# PostgreSQL (scripts/bench_scale.sh).
# Usage: scripts/bench.sh BUILD_DIR [extra benchmark flags]
set -euo pipefail
build="$1"; shift || true
"$build/bench/aztp_bench" --benchmark_min_time=0.5 "$@"
bash "$(dirname "$0")/bench_proxy.sh" "$build"
bash "$(dirname "$0")/bench_mcp.sh" "$build"
bash "$(dirname "$0")/bench_scale.sh" "$build"
