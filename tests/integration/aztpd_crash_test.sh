#!/usr/bin/env bash
# aztpd killed with SIGKILL in the middle of a burst of writes: after a
# restart every write it acknowledged is present, with its audit record, and
# the SQLite file is consistent. Three rounds, each killed at a different
# moment.
source "$(dirname "$0")/../lib/common.sh"
D="$AZTP_BUILD/aztpd/aztpd"
[ -x "$D" ] || fail "aztpd is not built at $D"

expect_exit 0 "$D" init --data-dir "$T/data" --trust-domain crash.example
KEY="$(json_get "$out" admin_api_key)"
# The burst is one client going as fast as it can: no rate limit.
printf 'rate_limit:\n  requests_per_second: 0\n' > "$T/aztpd.yaml"
start() { start_aztpd "$T/data" --config "$T/aztpd.yaml"; }

# burst ROUND: register identities as fast as one kept-alive connection
# allows; each acknowledged ID is appended (and flushed) to acked.txt.
burst() {
  AZTP_KEY="$KEY" /usr/bin/python3 "$AZTP_SOURCE/tests/lib/register_burst.py" \
    "${URL#https://}" "$T/data/bundle.pem" "$T/acked.txt" \
    "spiffe://crash.example/r$1/" &
  BURST=$!
}

: > "$T/acked.txt"
for round in 1 2 3; do
  start
  before=$(wc -l < "$T/acked.txt")
  burst "$round"
  # Kill in the middle of the burst: once it has acknowledged writes (a
  # loaded machine may take seconds to get there), a moment later.
  for _ in $(seq 200); do
    [ $(($(wc -l < "$T/acked.txt") - before)) -ge 10 ] && break
    sleep 0.05
  done
  sleep "0.$((round * 3))"
  kill -9 $PID
  wait $PID 2>/dev/null || true
  wait $BURST || fail "round $round: the client failed"
done
acked=$(wc -l < "$T/acked.txt")
[ "$acked" -ge 30 ] || fail "only $acked writes acknowledged: the burst did not run"
ok "3 rounds of writes killed with SIGKILL; $acked writes acknowledged"

# The store after the crashes, read directly.
/usr/bin/python3 - "$T/data/aztpd.db" "$T/acked.txt" <<'PY' || fail "store check"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
assert db.execute("PRAGMA foreign_key_check").fetchall() == []
ids = {r[0] for r in db.execute("SELECT id FROM identities")}
audited = {r[0] for r in db.execute("SELECT subject FROM audit WHERE action = 'identity.register'")}
acked = [l.strip() for l in open(sys.argv[2]) if l.strip()]
missing = [a for a in acked if a not in ids]
assert not missing, "acknowledged but missing: %d" % len(missing)
# No half-written identity: every stored identity has its audit record.
assert ids == audited, "identities without audit records: %d" % len(ids ^ audited)
seqs = [r[0] for r in db.execute("SELECT seq FROM audit ORDER BY seq")]
assert seqs == list(range(1, len(seqs) + 1)), "audit sequence has gaps"
PY
ok "integrity_check ok; every acknowledged identity is stored with its audit record"

start
status="$(curl -sS --cacert "$T/data/bundle.pem" -o "$T/body" -w '%{http_code}' \
  -H "Authorization: Bearer $KEY" "$URL/v1/identities/crash.example/r1/w00000")"
[ "$status" = 200 ] || fail "after restart: $status $(cat "$T/body")"
kill -TERM $PID; wait $PID || fail "clean exit after restart"
ok "aztpd restarts on the crashed store and serves it"
done_checks
