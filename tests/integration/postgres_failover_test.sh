#!/usr/bin/env bash
# Three aztpd replicas on one PostgreSQL database and the clients that know
# all three (docs/scaling.md, "Clients of several replicas"):
#  * SIGKILL of a replica in the middle of bursts of registrations and
#    issuances at all three: every acknowledged write is stored with its
#    audit record, and the audit chain of the three verifies;
#  * an aztp-proxy given the three URLs (r2 already dead) keeps serving
#    when the replica it talks to is killed too, and follows a revocation
#    made at the last one;
#  * the CLI given the three URLs (--server a,b,c) answers with one dead.
source "$(dirname "$0")/../lib/common.sh"
D="$AZTP_BUILD/aztpd/aztpd"
PX="$AZTP_BUILD/proxy/aztp-proxy"
for bin in "$D" "$PX"; do [ -x "$bin" ] || fail "$bin is not built"; done
source "$(dirname "$0")/../lib/pg.sh"
source "$(dirname "$0")/../lib/proxy.sh"
start_replicas fo.example
C=(curl -sS --cacert "$T/r1/bundle.pem" --max-time 10)
ALL="${URLS[r1]},${URLS[r2]},${URLS[r3]}"

# ---- SIGKILL of a replica in the middle of bursts at all three ----
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$T/burst.key" -subj "/" -out "$T/burst.csr" 2>/dev/null
BURSTS=()
for r in r1 r2 r3; do
  : > "$T/$r.acked"
  AZTP_KEY="$KEY" AZTP_CSR="$T/burst.csr" python3 "$AZTP_SOURCE/tests/lib/register_burst.py" \
    "${URLS[$r]#https://}" "$T/r1/bundle.pem" "$T/$r.acked" "spiffe://fo.example/burst/$r/" &
  BURSTS+=($!); PIDS+=($!)
done
count() { cat "$T"/r?.acked.svids 2>/dev/null | wc -l; }
for _ in $(seq 200); do [ "$(count)" -ge 60 ] && break; sleep 0.05; done
kill -9 "${RPIDS[r2]}"; wait "${RPIDS[r2]}" 2>/dev/null || true
before=$(count)
for _ in $(seq 200); do [ "$(count)" -ge $((before + 40)) ] && break; sleep 0.05; done
wait "${BURSTS[1]}" || fail "the burst at r2 failed otherwise than by r2's death"
kill "${BURSTS[0]}" "${BURSTS[2]}"; wait "${BURSTS[0]}" "${BURSTS[2]}" 2>/dev/null || true
registered=$(cat "$T"/r?.acked | wc -l); issued=$(count)
[ "$issued" -ge $((before + 40)) ] || fail "r1 and r3 stopped serving: $issued SVIDs"
[ "$(wc -l < "$T/r2.acked")" -ge 1 ] || fail "nothing was acknowledged at r2 before its death"
# Each acknowledged registration has its identity and audit record, each
# acknowledged SVID its row and audit record.
ids="$(cat "$T"/r?.acked | paste -sd,)"; svids="$(cat "$T"/r?.acked.svids | paste -sd,)"
missing="$(admin "SELECT
  (SELECT count(*) FROM unnest(string_to_array('$ids', ',')) AS a(id) WHERE NOT EXISTS (
     SELECT 1 FROM identities i JOIN audit x ON x.subject = i.id AND x.action = 'identity.register'
     WHERE i.id = convert_to(a.id, 'UTF8'))) +
  (SELECT count(*) FROM unnest(string_to_array('$svids', ',')) AS a(id) WHERE NOT EXISTS (
     SELECT 1 FROM svids s JOIN audit x ON x.subject = s.id AND x.action = 'svid.issue'
     WHERE s.id = convert_to(a.id, 'UTF8')))" aztp)"
[ "$missing" = 0 ] || fail "$missing acknowledged writes lost or without their audit record"
expect_exit 0 "$AZTP_BIN" audit verify --server "$ALL" --api-key "$KEY" --bundle "$T/r1/bundle.json"
has "$out" "j['valid'] is True" || fail "audit verify: $out"
ok "r2 killed mid-burst: $registered registrations and $issued SVIDs acknowledged by three replicas, all stored with their audit records; the chain verifies"

# ---- aztp-proxy with the three URLs ----
TD=fo.example
CLIENT=spiffe://$TD/agents/research
PAYMENTS=spiffe://$TD/tools/payments
URL="${URLS[r1]}"
proxy_fixture
cat > "$T/proxy.yaml" <<YAML
identity: $PAYMENTS
control_plane:
  url: ${URLS[r3]}
  failover_urls: [${URLS[r2]}, ${URLS[r1]}]
  bundle_file: $T/r1/bundle.json
  api_key_file: $T/key
  revocation_refresh: 1s
$(payments_inbound proxy)
YAML
start_proxy proxy
AZTP_SERVER="$ALL" AZTP_API_KEY="$KEY" AZTP_BUNDLE="$T/r1/bundle.json" \
  expect_exit 0 "$AZTP_BIN" agent fetch --id "$CLIENT" --out "$T/client"
send proxy "$(mint)"; [ "$status" = 200 ] || fail "through the proxy: $status $(cat "$T/out")"
kill -9 "${RPIDS[r3]}"; wait "${RPIDS[r3]}" 2>/dev/null || true
send proxy "$(mint)"; [ "$status" = 200 ] || fail "with r3 dead: $status $(cat "$T/out")"
URL="${URLS[r1]}" api POST "/v1/identities/$TD/agents/research:revoke" '{"reason":"test"}'
[ "$status" = 200 ] || fail "revoke at r1: $status $body"
t0=$(date +%s%N)
for _ in $(seq 100); do
  send proxy "$(mint)"; [ "$status" = 401 ] && break; sleep 0.1
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$status" = 401 ] && [ "$reason" = revoked ] ||
  fail "the proxy did not follow the revocation made at r1: $status $reason"
ok "a proxy on r3, r2 and r1: r2 dead, r3 killed, requests still served; a revocation at r1 refused after $ms ms"

# ---- the CLI with three URLs, the first one dead ----
expect_exit 0 "$AZTP_BIN" identity get --server "${URLS[r3]},${URLS[r1]}" \
  --api-key "$KEY" --bundle "$T/r1/bundle.json" --id "$CLIENT"
has "$out" "j['status'] == 'revoked'" || fail "identity get: $out"
ok "the CLI with a dead replica first answers from the next one"

# ---- an internal error's words stay in the log ----
# The database refuses a write for a reason the store does not classify
# (a privilege withdrawn): the client gets 500 without the database's text.
admin "REVOKE INSERT ON identities FROM aztpd" aztp >/dev/null
URL="${URLS[r1]}" api POST /v1/identities '{"id":"spiffe://fo.example/agents/late"}'
admin "GRANT INSERT ON identities TO aztpd" aztp >/dev/null
[ "$status" = 500 ] || fail "with INSERT revoked: $status $body"
has "$body" "j['error'] == 'io_error' and 'log' in j['message']" || fail "500 body: $body"
case "$body" in *permission*|*identities*|*42501*) fail "the answer quotes the database: $body" ;; esac
grep -q '42501' "$T/aztpd.log" || fail "the log lacks the database's reason"
ok "an internal error answers 500 without the database's words, which are in the log"
done_checks
