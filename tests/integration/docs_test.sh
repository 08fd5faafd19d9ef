#!/usr/bin/env bash
# The documentation's shell examples, run as written (issue 13, item 5): the
# README tour and every other ```sh doctest block of docs/, in order, against
# the built programs, with each documented output and exit code checked
# (tests/docs/doctest.py says how). The examples use fixed loopback ports,
# so ctest runs this test alone (RUN_SERIAL).
source "$(dirname "$0")/../lib/common.sh"
cd "$AZTP_SOURCE"
files=(README.md)
for f in docs/*.md; do
  grep -q '^```sh doctest' "$f" && files+=("$f")
done
for f in "${files[@]}"; do
  AZTP_BUILD="$AZTP_BUILD" /usr/bin/python3 tests/docs/doctest.py "$f" > "$T/doctest.log" 2>&1 ||
    fail "$f: $(grep -A4 '^FAIL' "$T/doctest.log" | head -20)"
  ok "$f: $(grep -c '^ok' "$T/doctest.log") documented commands ran as shown"
done
