#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for a while on a scratch copy
# of its committed corpus. Usage: scripts/fuzz.sh BUILD_DIR SECONDS
set -euo pipefail
build="$1"
seconds="${2:-30}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for fuzzer in "$build"/fuzz/*_fuzzer; do
  name="$(basename "$fuzzer" _fuzzer)"
  mkdir -p "$scratch/$name"
  cp -r "$root/fuzz/corpus/$name/." "$scratch/$name/"
  echo "fuzz: $name for ${seconds}s"
  "$fuzzer" -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 \
    "$scratch/$name" 2>&1 | grep -E "stat::number_of_executed_units|ERROR|SUMMARY" || true
  if [ "${PIPESTATUS[0]}" != 0 ]; then echo "fuzz: $name FAILED"; exit 1; fi
done
