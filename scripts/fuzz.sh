#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for a while on a scratch copy
# of its committed corpus. Usage: scripts/fuzz.sh BUILD_DIR SECONDS
set -euo pipefail
build="$1"
seconds="${2:-30}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
status=0
for fuzzer in "$build"/fuzz/*_fuzzer; do
  name="$(basename "$fuzzer" _fuzzer)"
  mkdir -p "$scratch/$name"
  cp -r "$root/fuzz/corpus/$name/." "$scratch/$name/"
  if "$fuzzer" -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$scratch/" "$scratch/$name" >"$scratch/$name.log" 2>&1; then
    runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$scratch/$name.log" | grep -o '[0-9]*$')"
    echo "fuzz: $name ok (${runs:-?} runs in ${seconds}s)"
  else
    echo "fuzz: $name FAILED"
    grep -E "ERROR|SUMMARY|Test unit written" "$scratch/$name.log" || tail -20 "$scratch/$name.log"
    mkdir -p "$root/build-fuzz/crashes" && cp "$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-* "$root/build-fuzz/crashes/" 2>/dev/null || true
    status=1
  fi
done
exit $status
