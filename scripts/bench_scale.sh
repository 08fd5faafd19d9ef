#!/usr/bin/env bash
# aztpd on SQLite (the default store) against aztpd on PostgreSQL with one
# replica and with three replicas sharing one database (docs/scaling.md),
# in the same run, under the same load: identity registrations
# (POST /v1/identities) and X.509-SVID issuance (POST /v1/svid/x509).
# Usage: scripts/bench_scale.sh BUILD_DIR
#
#   sqlite  one aztpd, its SQLite store in its data directory
#   pg1     one aztpd on PostgreSQL database aztp
#   pg3     three aztpd on PostgreSQL database aztp3; the load tool's
#           threads are spread over the three (thread k -> replica k mod 3)
#
# All five aztpd run at once (idle ones cost next to nothing), so that the
# configurations can be measured in alternation, since the machines these
# run on are shared and their speed drifts within minutes: each round runs
# register on all three, then issue on all three, the three in an order
# rotated by one each round (round 1: sqlite pg1 pg3, round 2: pg1 pg3
# sqlite, ...). A ratio is taken between runs of the same round, which
# ran seconds apart, and the table shows for each figure the median over
# the rounds (the per-round ratios are printed too). Every aztpd has the
# same settings: its default worker threads, rate limit off.
#
# PostgreSQL is the test server of tests/pg/pgctl.sh (127.0.0.1, a free
# port, run as nobody under root), but made as durable as the SQLite store
# (synchronous=FULL: one fsync per commit): fsync and full_page_writes on
# (BENCH_PG_FSYNC=off keeps the test settings, fsync off).
#
# Knobs: BENCH_THREADS (8) client threads, BENCH_REQUESTS (3000) timed
# calls per run, BENCH_WARMUP (20) untimed calls per thread, BENCH_ROUNDS
# (3). The load tool is build/bench/aztpd_load_tool (one aztp::Client per
# thread). Everything started here is stopped on exit. Exits 1 when a
# call failed (the table is printed first).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
AZTP_BUILD="$(cd "$1" && pwd)"
AZTP_SOURCE="$(cd "$(dirname "$0")/.." && pwd)"
AZTP_BIN="$AZTP_BUILD/cli/aztp"
export AZTP_BUILD AZTP_BIN AZTP_SOURCE
THREADS="${BENCH_THREADS:-8}"
REQS="${BENCH_REQUESTS:-3000}"
WARMUP="${BENCH_WARMUP:-20}"
ROUNDS="${BENCH_ROUNDS:-3}"
PG_FSYNC="${BENCH_PG_FSYNC:-on}"
# ok/fail, expect_exit, json_get, start_aztpd, AT_EXIT and the scratch
# folder $T.
source "$AZTP_SOURCE/tests/lib/common.sh"
D="$AZTP_BUILD/aztpd/aztpd"
LOAD="$AZTP_BUILD/bench/aztpd_load_tool"
for bin in "$D" "$LOAD"; do [ -x "$bin" ] || fail "$bin is not built"; done
case "$PG_FSYNC" in on|off) ;; *) fail "BENCH_PG_FSYNC must be on or off" ;; esac

# stop_aztpds: SIGTERM to every aztpd, so that they close their database
# connections before PostgreSQL stops (AT_EXIT runs in order; pg.sh's stop
# comes after this one), then SIGKILL to any still there after 5 s.
stop_aztpds() {
  local p alive
  for p in "${AZTPD_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 50); do
    alive=0
    for p in "${AZTPD_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && return 0
    sleep 0.1
  done
  for p in "${AZTPD_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
AT_EXIT+=(stop_aztpds)

echo "scale bench: $THREADS threads, $REQS calls per run, $ROUNDS rounds"
echo "  load at start: $(uptime)"

# --- PostgreSQL (pg.sh: started now, stopped at exit) ---
source "$AZTP_SOURCE/tests/lib/pg.sh"
aztp_database   # role aztpd owning database aztp, $T/pg.password, $T/kek
if [ "$PG_FSYNC" = on ]; then
  admin "ALTER SYSTEM SET fsync = on" >/dev/null
  admin "ALTER SYSTEM SET full_page_writes = on" >/dev/null
  "$PGCTL" restart "$PGDIR" >/dev/null || fail "PostgreSQL did not restart"
fi
admin "CREATE DATABASE aztp3 OWNER aztpd" >/dev/null
echo "  PostgreSQL $(admin 'SHOW server_version') on 127.0.0.1:$PORT:" \
  "fsync=$(admin 'SHOW fsync'), synchronous_commit=$(admin 'SHOW synchronous_commit')," \
  "full_page_writes=$(admin 'SHOW full_page_writes')"

# config DB: an aztpd configuration; DB empty = the SQLite store.
config() {
  echo "rate_limit: {requests_per_second: 0}"
  [ -n "$1" ] || return 0
  cat <<YAML
store:
  backend: postgres
  postgres:
    connection: "host=127.0.0.1 port=$PORT dbname=$1 user=aztpd"
    password_file: $T/pg.password
    key_encryption_key_file: $T/kek
YAML
}

# setup NAME DB REPLICAS: init a trust domain in DB (empty: SQLite), start
# REPLICAS aztpd on it; leaves $T/NAME.key (0600) and $T/NAME.urls.
setup() {
  local name="$1" db="$2" n="$3" i
  config "$db" > "$T/$name.yaml"
  expect_exit 0 "$D" init --config "$T/$name.yaml" --data-dir "$T/$name-1" \
    --trust-domain "$name.bench.example"
  (umask 077; json_get "$out" admin_api_key > "$T/$name.key")
  out=""
  : > "$T/$name.urls"
  for i in $(seq 1 "$n"); do
    [ -d "$T/$name-$i" ] || mkdir -m 700 "$T/$name-$i"
    start_aztpd "$T/$name-$i" --config "$T/$name.yaml"
    echo "$URL" >> "$T/$name.urls"
  done
}
setup sqlite "" 1
setup pg1 aztp 1
setup pg3 aztp3 3
sleep 1   # the replicas' first maintenance passes and lease

# measure NAME MODE ROUND: one run of the load tool; its JSON line goes to
# $T/NAME.MODE.ROUND.json.
measure() {
  local name="$1" mode="$2" round="$3" url args=()
  while read -r url; do args+=(--url "$url"); done < "$T/$name.urls"
  local res="$T/$name.$mode.$round"
  "$LOAD" --mode "$mode" "${args[@]}" --bundle "$T/$name-1/bundle.json" \
    --api-key-file "$T/$name.key" --threads "$THREADS" --requests "$REQS" \
    --warmup "$WARMUP" > "$res.json" 2> "$res.err" || true
  [ -s "$res.json" ] || fail "$name $mode run $round produced nothing: $(tail -5 "$res.err")"
  echo "  $name $mode run $round: $(cat "$res.json")"
  if [ -s "$res.err" ]; then sed 's/^/    /' "$res.err"; fi
}
start=$(date +%s)
NAMES=(sqlite pg1 pg3)
for round in $(seq 1 "$ROUNDS"); do
  for mode in register issue; do
    for k in 0 1 2; do
      measure "${NAMES[$(( (round - 1 + k) % 3 ))]}" "$mode" "$round"
    done
  done
done
for p in "${AZTPD_PIDS[@]}"; do
  kill -0 "$p" 2>/dev/null || fail "an aztpd exited: $(tail -5 "$T/aztpd.log")"
done
echo "  measured in $(( $(date +%s) - start )) s; load at end: $(uptime)"

python3 - "$T" "$ROUNDS" <<'PY'
import json, statistics, sys
t, rounds = sys.argv[1], int(sys.argv[2])
names = {"sqlite": "SQLite, 1 aztpd", "pg1": "PostgreSQL, 1 aztpd",
         "pg3": "PostgreSQL, 3 aztpd"}
def runs(name, mode):
    return [json.load(open(f"{t}/{name}.{mode}.{r}.json")) for r in range(1, rounds + 1)]
def ratios(name, mode, key):
    return [r[key] / b[key] if b[key] else float("nan")
            for r, b in zip(runs(name, mode), runs("sqlite", mode))]
med = statistics.median
failed = False
for mode, what in (("register", "POST /v1/identities"), ("issue", "POST /v1/svid/x509")):
    print()
    print(f"{mode} ({what}), median of {rounds} rounds; ratios within each round:")
    print(f"| {'':<20} | {'rps':>7} | {'p50 ms':>7} | {'p99 ms':>7} | {'errors':>6} "
          f"| {'rps / SQLite':>12} | {'p50 / SQLite':>12} | {'p99 / SQLite':>12} |")
    print(f"|{'-'*22}|{'-'*9}|{'-'*9}|{'-'*9}|{'-'*8}|{'-'*14}|{'-'*14}|{'-'*14}|")
    for name, label in names.items():
        rs = runs(name, mode)
        errors = sum(r["errors"] for r in rs)
        failed |= errors > 0
        m = {k: med(r[k] for r in rs) for k in ("rps", "p50_ms", "p99_ms")}
        q = {k: med(ratios(name, mode, k)) for k in ("rps", "p50_ms", "p99_ms")}
        print(f"| {label:<20} | {m['rps']:>7.0f} | {m['p50_ms']:>7.2f} | {m['p99_ms']:>7.2f} "
              f"| {errors:>6} | {q['rps']:>12.2f} | {q['p50_ms']:>12.2f} | {q['p99_ms']:>12.2f} |")
    for name in ("pg1", "pg3"):
        per = " ".join(f"{x:.2f}" for x in ratios(name, mode, "rps"))
        print(f"  {name} rps / SQLite by round: {per}")
sys.exit(1 if failed else 0)
PY
