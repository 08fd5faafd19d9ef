#!/usr/bin/env bash
# Three aztpd replicas on one PostgreSQL database (docs/scaling.md): register
# through the first, obtain an SVID through the second, revoke through the
# third; a key rotated through one is published by all within a second;
# SIGKILL of the maintenance leader hands the lease to another within its
# lifetime; PostgreSQL restarted under the replicas: fast 503s while it is
# down, full service after, without restarting them.
source "$(dirname "$0")/../lib/common.sh"
D="$AZTP_BUILD/aztpd/aztpd"
[ -x "$D" ] || fail "aztpd is not built at $D"
source "$(dirname "$0")/../lib/pg.sh"
start_replicas rep.example
C=(curl -sS --cacert "$T/r1/bundle.pem" --max-time 10)
ok "three replicas serve one trust domain"

# Register at r1, an SVID at r2, revoke at r3; r1 lists it revoked at once.
URL="${URLS[r1]}" api POST /v1/identities '{"id":"spiffe://rep.example/agents/a"}'
[ "$status" = 201 ] || fail "register at r1: $status $body"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$T/a.key" -subj "/" -out "$T/a.csr" 2>/dev/null
csr="$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$T/a.csr")"
URL="${URLS[r2]}" api POST /v1/svid/x509 "{\"id\":\"spiffe://rep.example/agents/a\",\"csr\":$csr}"
[ "$status" = 201 ] || fail "SVID at r2: $status $body"
URL="${URLS[r3]}" api POST /v1/identities/rep.example/agents/a:revoke '{"reason":"test"}'
[ "$status" = 200 ] || fail "revoke at r3: $status $body"
URL="${URLS[r1]}" api GET /v1/revocations
has "$body" "'spiffe://rep.example/agents/a' in j['ids'] and len(j['serials']) == 1" ||
  fail "r1's revocation list: $body"
seqs=""
for r in r1 r2 r3; do
  URL="${URLS[$r]}" api GET /v1/revocations
  seqs+="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sequence"])' "$body") "
done
[ "$seqs" = "1 1 1 " ] || fail "revocation sequences differ: $seqs"
ok "registered at r1, SVID from r2, revoked at r3: r1 lists it; sequence 1 everywhere"

# A rotation forced through r2 is in every replica's bundle within a second.
URL="${URLS[r2]}" api GET /v1/bundle; before="$body"
URL="${URLS[r2]}" api POST /v1/ca:rotate '{"kind":"x509"}'
[ "$status" = 200 ] || fail "rotate at r2: $status $body"
URL="${URLS[r2]}" api GET /v1/bundle; after="$body"
[ "$after" != "$before" ] || fail "the rotation did not change r2's bundle"
start=$(date +%s%N)
for r in r1 r3; do
  for _ in $(seq 40); do
    URL="${URLS[$r]}" api GET /v1/bundle
    [ "$body" = "$after" ] && break
    sleep 0.05
  done
  [ "$body" = "$after" ] || fail "$r still publishes the old bundle"
done
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 1500 ] || fail "the other replicas took $ms ms"
ok "a key rotated through r2 is published by r1 and r3 after $ms ms"

# The maintenance leader, killed with SIGKILL: another takes the lease.
leader() {
  URL="${URLS[$1]}" api GET "/v1/audit?action=lease.acquire&limit=1000"
  python3 -c 'import json,sys; r=json.loads(sys.argv[1])["records"]; print(r[-1]["actor"] if r else "")' "$body"
}
holder="$(leader r1)"
lpid="$(echo "$holder" | cut -d/ -f2)"
victim=""
for r in r1 r2 r3; do [ "${RPIDS[$r]}" = "$lpid" ] && victim=$r; done
[ -n "$victim" ] || fail "no replica has the leader's pid: $holder"
kill -9 "$lpid"; wait "$lpid" 2>/dev/null || true
alive=(); for r in r1 r2 r3; do [ "$r" != "$victim" ] && alive+=("$r"); done
start=$(date +%s)
new=""
for _ in $(seq 100); do
  new="$(leader "${alive[0]}")"
  [ -n "$new" ] && [ "$new" != "$holder" ] && break
  sleep 0.1
done
took=$(( $(date +%s) - start ))
[ -n "$new" ] && [ "$new" != "$holder" ] || fail "nobody took the lease from $holder"
[ "$took" -le 6 ] || fail "the takeover took $took s (lease 3 s)"
ok "the leader $victim killed: another replica took the lease after ${took}s"

# PostgreSQL restarted under a burst of registrations: 503s while it is
# down, then 201s again, and every acknowledged registration stored with
# its audit record.
r="${alive[0]}"
: > "$T/acked.txt"; : > "$T/refused.txt"
AZTP_KEY="$KEY" python3 "$AZTP_SOURCE/tests/lib/register_burst.py" \
  "${URLS[$r]#https://}" "$T/r1/bundle.pem" "$T/acked.txt" \
  "spiffe://rep.example/load/" "$T/refused.txt" &
BURST=$!; PIDS+=($BURST)
for _ in $(seq 100); do [ "$(wc -l < "$T/acked.txt")" -ge 20 ] && break; sleep 0.05; done
"$PGCTL" restart "$PGDIR" >/dev/null || fail "PostgreSQL did not restart"
before=$(wc -l < "$T/acked.txt")
for _ in $(seq 100); do [ "$(wc -l < "$T/acked.txt")" -ge $((before + 20)) ] && break; sleep 0.05; done
kill "$BURST"; wait "$BURST" 2>/dev/null || true
acked=$(wc -l < "$T/acked.txt"); refused=$(wc -l < "$T/refused.txt")
[ "$acked" -ge $((before + 20)) ] || fail "no service after the restart: $acked acknowledged"
missing="$(admin "SELECT count(*) FROM unnest(string_to_array('$(paste -sd, "$T/acked.txt")', ',')) AS a(id)
  WHERE NOT EXISTS (SELECT 1 FROM identities i JOIN audit x ON x.subject = i.id
                    AND x.action = 'identity.register' WHERE i.id = convert_to(a.id, 'UTF8'))" aztp)"
[ "$missing" = 0 ] || fail "$missing acknowledged registrations lost"
ok "PostgreSQL restarted under a burst: $acked acknowledged, $refused refused with 503, none lost"

# PostgreSQL stopped: fast 503s while it is down, everything back after,
# the replicas untouched.
"$PGCTL" stop "$PGDIR" >/dev/null
t0=$(date +%s%N)
code="$("${C[@]}" -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $KEY" "${URLS[$r]}/v1/identities/rep.example/agents/a")"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$code" = 503 ] || fail "with the database down: $code $(cat "$T/body")"
[ "$ms" -lt 2000 ] || fail "the refusal took $ms ms"
code="$("${C[@]}" -o /dev/null -w '%{http_code}' "${URLS[$r]}/readyz")"
[ "$code" = 503 ] || fail "/readyz with the database down: $code"
ok "database down: 503 in $ms ms, /readyz 503"
"$PGCTL" start "$PGDIR" >/dev/null || fail "PostgreSQL did not come back"
for _ in $(seq 50); do
  code="$("${C[@]}" -o /dev/null -w '%{http_code}' "${URLS[$r]}/readyz")"
  [ "$code" = 200 ] && break
  sleep 0.1
done
[ "$code" = 200 ] || fail "/readyz after the restart: $code"
for r in "${alive[@]}"; do
  URL="${URLS[$r]}" api POST /v1/identities "{\"id\":\"spiffe://rep.example/after/$r\"}"
  [ "$status" = 201 ] || fail "$r after the restart: $status $body"
done
ok "database back: both replicas serve again without a restart"
done_checks
