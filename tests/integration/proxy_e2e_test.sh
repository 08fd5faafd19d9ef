#!/usr/bin/env bash
# aztp-proxy end to end, real processes on loopback (docs/proxy.md): one
# aztpd, an app behind a payments proxy (inbound), a research proxy the
# test sends through (egress), and direct mTLS calls with curl for the
# 401 cases:
#   * allowed requests reach the app with the verified caller's headers,
#     spoofed Aztp-* headers never do;
#   * every 401 (no certificate, no chain, wrong audience, forged token,
#     replay, peer mismatch) and 403 (route, capability, policy, egress
#     escalation) with its reason and hop;
#   * 48 MiB up and 50 MB down streamed through both proxies, with the
#     proxies' peak memory well below the body size;
#   * the app down: 502; both audit logs shipped to aztpd and verified.
source "$(dirname "$0")/../lib/common.sh"
D="$AZTP_BUILD/aztpd/aztpd"
PX="$AZTP_BUILD/proxy/aztp-proxy"
APP="$(dirname "$0")/../lib/echo_app.py"
for bin in "$D" "$PX" "$AZTP_BIN"; do [ -x "$bin" ] || fail "$bin is not built"; done
PIDS=()
trap 'for p in "${PIDS[@]}" "${AZTPD_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$T"' EXIT

TD=example.org
RESEARCH=spiffe://$TD/agents/research
PAYMENTS=spiffe://$TD/tools/payments
PLANNER=spiffe://$TD/agents/planner
expect_exit 0 "$D" init --data-dir "$T/cp" --trust-domain $TD
KEY="$(json_get "$out" admin_api_key)"
start_aztpd "$T/cp"
C=(curl -sS --max-time 20 --cacert "$T/cp/bundle.pem")
for id in $RESEARCH $PAYMENTS $PLANNER; do
  api POST /v1/identities "{\"id\":\"$id\"}"
  [ "$status" = 201 ] || fail "register $id: $status $body"
done
api POST /v1/policies '{"name":"payments","document":{"Statement":[
  {"Sid":"QuotesFromOurDomain","Effect":"Allow","Action":"payments:quote",
   "Condition":{"StringEquals":{"aztp:CallerTrustDomain":"example.org"}}},
  {"Sid":"NoRefunds","Effect":"Deny","Action":"payments:refund"}]}}'
[ "$status" = 201 ] || fail "policy: $status $body"
POLICY="$(json_get "$body" id)"
api POST "/v1/policies/$POLICY:attach" "{\"identity\":\"$PAYMENTS\"}"
[ "$status" = 200 ] || fail "attach: $status $body"
printf '%s' "$KEY" > "$T/key"
chmod 600 "$T/key"

python3 "$APP" --port-file "$T/app.port" --name payments-app &
APP_PID=$!
PIDS+=($APP_PID)
for _ in $(seq 1 100); do [ -s "$T/app.port" ] && break; sleep 0.05; done
APP_PORT="$(cat "$T/app.port")"

control_plane() {
  cat <<YAML
control_plane:
  url: $URL
  bundle_file: $T/cp/bundle.json
  api_key_file: $T/key
  policy_refresh: 1s
  revocation_refresh: 1s
YAML
}
{ echo "identity: $PAYMENTS"; control_plane; cat <<YAML
inbound:
  listen: 127.0.0.1:0
  upstream: http://127.0.0.1:$APP_PORT
  routes:
    - {method: POST, path: /quote, action: "payments:quote", resource: quotes}
    - {method: POST, path: /refund, action: "payments:refund"}
    - {method: POST, path: /upload, action: "payments:quote"}
    - {method: GET, path: /big, action: "payments:quote"}
audit:
  db: $T/payments-audit.db
  ship_interval: 1s
YAML
} > "$T/payments.yaml"
{ echo "identity: $RESEARCH"; control_plane; cat <<YAML
egress:
  listen: 127.0.0.1:0
  root_capabilities: ["payments:quote", "payments:refund"]
audit:
  db: $T/research-audit.db
  ship_interval: 1s
YAML
} > "$T/research.yaml"

# start_proxy NAME: run aztp-proxy with $T/NAME.yaml; sets PID_NAME and
# the ports in $T/NAME.ready.
start_proxy() {
  local name="$1"
  rm -f "$T/$name.ready"
  "$PX" run --config "$T/$name.yaml" --ready-file "$T/$name.ready" 2>"$T/$name.log" &
  PIDS+=($!)
  eval "PID_$name=$!"
  for _ in $(seq 1 200); do [ -s "$T/$name.ready" ] && break; sleep 0.05; done
  [ -s "$T/$name.ready" ] || fail "$name proxy did not start: $(tail -5 "$T/$name.log")"
}
expect_exit 0 "$PX" check --config "$T/payments.yaml"
start_proxy payments
start_proxy research
IN="$(json_get "$(cat "$T/payments.ready")" inbound_port)"
EG="$(json_get "$(cat "$T/research.ready")" egress_port)"
ok "aztp-proxy starts for payments (inbound :$IN) and research (egress :$EG)"

# One proxy per audit database: a second `run` on it (the same file, or
# another identity's file naming the same db) exits 1 before it contacts
# aztpd, naming the holder; `check` of the running file still passes (it
# takes no lock: checking before a HUP is its common use).
held="audit database $T/payments-audit.db is in use by PID $PID_payments (it holds the lock $T/payments-audit.db.lock)"
sed "s|$T/research-audit.db|$T/payments-audit.db|" "$T/research.yaml" > "$T/shared.yaml"
for config in payments shared; do
  set +e
  timeout 20 "$PX" run --config "$T/$config.yaml" 2> "$T/second.log" > /dev/null
  rc=$?
  set -e
  [ $rc = 1 ] || fail "a second proxy on the audit db ($config): exit $rc"
  grep -q "fatal.*reason=unavailable.*$held" "$T/second.log" || fail "second proxy ($config): $(cat "$T/second.log")"
done
expect_exit 0 "$PX" check --config "$T/payments.yaml"
[ "$(cat "$T/payments-audit.db.lock")" = "$PID_payments" ] || fail "lock file: $(cat "$T/payments-audit.db.lock")"
ok "a second aztp-proxy on a running proxy's audit db exits 1 naming the holder's PID; check still passes"

# check and run share one validation: every configuration run refuses
# before it would listen, check refuses with the same line on stderr.
printf '{"Statement":[{"Effect":"Allow","Action":"payments:quote","Condition":{"StringEqual":{"aztp:CallerTrustDomain":"x"}}}]}' > "$T/bad-policy.json"
refused_alike() {
  local name="$1" want="$2" sub
  for sub in check run; do
    set +e
    timeout 20 "$PX" $sub --config "$T/bad.yaml" > /dev/null 2> "$T/bad.$sub"
    local rc=$?
    set -e
    [ $rc = 1 ] || fail "$name: $sub exit $rc: $(cat "$T/bad.$sub")"
  done
  cmp -s "$T/bad.check" "$T/bad.run" || fail "$name: check said $(cat "$T/bad.check"), run said $(cat "$T/bad.run")"
  grep -qF "$want" "$T/bad.check" || fail "$name: $(cat "$T/bad.check")"
}
bad() { sed "$1" "$T/payments.yaml" > "$T/bad.yaml"; refused_alike "$2" "$3"; }
bad "s|bundle_file: .*|bundle_file: $T/nothing.json|" "missing bundle_file" \
  "aztp-proxy: io_error: control_plane.bundle_file: "
bad "s|bundle_file: .*|bundle_file: $T/cp/bundle.pem|" "a PEM as bundle_file" \
  "aztp-proxy: malformed: control_plane.bundle_file: "
bad "s|api_key_file: .*|api_key_file: $T/nokey|" "missing api_key_file" \
  "aztp-proxy: io_error: control_plane.api_key_file: "
bad "s|  upstream: .*|&\\n  policy_file: $T/bad-policy.json|" "unknown policy operator" \
  "aztp-proxy: malformed: inbound.policy_file: $T/bad-policy.json: policy: Statement[0]: Condition: unknown operator \"StringEqual\""
bad "s|  policy_file: .*||; s|  upstream: .*|&\\n  policy_file: $T/nothing.json|" "missing policy_file" \
  "aztp-proxy: io_error: inbound.policy_file: "
bad "s|  listen: 127.0.0.1:0|  listen: localhost:0|" "a host name to listen on" \
  "aztp-proxy: invalid_argument: inbound.listen: listen address \"localhost:0\" is not an IP"
bad "s|db: .*|db: $T/no/such/dir/audit.db|" "audit.db in a missing folder" \
  "aztp-proxy: io_error: audit.db: cannot create files in $T/no/such/dir: No such file or directory"
bad "s|ship_interval: 1s|ship_interval: 1|" "a bare number as a duration" \
  "aztp-proxy: invalid_argument: $T/bad.yaml: audit.ship_interval: must be a duration such as 90s, 15m, 1h or 30d, not \"1\""
ok "check refuses with run's very line: missing or PEM bundle_file, missing API key file, unknown policy operator, missing policy file, host-name listen, missing audit folder, bare duration"

# send PATH [CURL ARGS...]: through the research proxy to payments; sets
# $status and $body.
send() {
  local path="$1"; shift
  status="$(curl -sS --max-time 60 -x "http://127.0.0.1:$EG" -H "Aztp-Target: $PAYMENTS" \
    -o "$T/out" -w '%{http_code}' "$@" "http://127.0.0.1:$IN$path")"
  body="$(head -c 2000 "$T/out")"
}
field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1])
for k in sys.argv[2].split("."): d=d[k]
print("null" if d is None else d)' "$1" "$2"; }
# denied STATUS REASON [HOP]: the last answer was that denial.
denied() {
  [ "$status" = "$1" ] || fail "want $1 $2, got $status: $body"
  [ "$(field "$body" error)" = "$2" ] || fail "want reason $2: $body"
  if [ $# -ge 3 ]; then [ "$(field "$body" hop)" = "$3" ] || fail "want hop $3: $body"; fi
}

# --- allowed, with the verified caller's headers and nothing spoofed ---
send /quote -X POST -H 'Content-Type: application/json' --data '{"amount":12}' \
  -H "Aztp-Caller: spiffe://$TD/evil" -H 'Aztp-Path: forged'
[ "$status" = 200 ] || fail "quote: $status $body"
[ "$(field "$body" headers.Aztp-Caller)" = "$RESEARCH" ] || fail "caller: $body"
[ "$(field "$body" headers.Aztp-Path)" = "$RESEARCH,$PAYMENTS" ] || fail "path: $body"
[ "$(field "$body" headers.Aztp-Subject)" = "$RESEARCH" ] || fail "subject: $body"
[ "$(field "$body" headers.Aztp-Capabilities)" = "payments:quote payments:refund" ] || fail "caps: $body"
[ "$(field "$body" body_bytes)" = 13 ] || fail "body: $body"
python3 -c 'import json,sys; h=json.loads(sys.argv[1])["headers"]; sys.exit(1 if "Aztp-Chain" in h else 0)' "$body" \
  || fail "the chain itself reached the app: $body"
ok "an allowed call reaches the app with Aztp-Caller/Subject/Txn/Capabilities/Path of the verified chain; spoofed Aztp-* headers are dropped"

# --- the app cannot name a person (protocol §5.3) ---
send /quote -X POST --data '{}' -H 'Aztp-Subject: oidc:https://login.example#cfo'
denied 403 unvouched_subject
ok "an app naming a person in Aztp-Subject is refused by its own proxy (403 unvouched_subject)"

# --- 403s ---
send /refund -X POST --data x
denied 403 policy_denied 0
[[ "$(field "$body" message)" == *NoRefunds* ]] || fail "policy reason: $body"
send /quote -X POST --data x -H 'Aztp-Capabilities: payments:refund'
denied 403 capability_not_granted 0
send /nothing -X POST --data x
denied 403 route_not_found
send /quote -X POST --data x -H 'Aztp-Capabilities: admin:all'
denied 403 capability_escalation
send /quote -X POST --data x -H 'Aztp-Txn: never-seen'
denied 400 not_found
ok "403 policy_denied (NoRefunds), capability_not_granted, route_not_found; egress refuses to widen (capability_escalation) or extend an unknown txn"

# --- 401s, with curl holding SVIDs directly ---
export AZTP_SERVER="$URL" AZTP_API_KEY="$KEY" AZTP_BUNDLE="$T/cp/bundle.json"
for who in research planner; do
  expect_exit 0 "$AZTP_BIN" agent fetch --id "spiffe://$TD/agents/$who" --out "$T/$who"
done
unset AZTP_SERVER AZTP_API_KEY AZTP_BUNDLE
# direct SVID PATH [CURL ARGS...]: mTLS to payments' proxy with an SVID
# folder ("-" for none).
direct() {
  local svid="$1" path="$2"; shift 2
  local cert=()
  [ "$svid" != - ] && cert=(--cert "$T/$svid/svid.pem" --key "$T/$svid/svid.key")
  status="$(curl -sS --max-time 20 -k "${cert[@]}" -o "$T/out" -w '%{http_code}' \
    -X POST --data x "$@" "https://127.0.0.1:$IN$path")"
  body="$(head -c 2000 "$T/out")"
}
mint() { "$AZTP_BIN" chain mint --svid "$T/$1" --aud "$2" --cap payments:quote; }
direct - /quote
denied 401 unauthenticated
direct research /quote
denied 401 unauthenticated
[[ "$body" == *"no Aztp-Chain"* ]] || fail "no chain: $body"
direct research /quote -H "Aztp-Chain: $(mint research $PLANNER)"
denied 401 audience_mismatch 0
GOOD="$(mint research $PAYMENTS)"
# One character inside the signature changed (not the last, whose spare
# bits would make it malformed rather than forged).
c="${GOOD:${#GOOD}-20:1}"
r=A
[ "$c" = A ] && r=B
FORGED="${GOOD:0:${#GOOD}-20}$r${GOOD:${#GOOD}-19}"
direct research /quote -H "Aztp-Chain: $FORGED"
denied 401 bad_signature 0
direct planner /quote -H "Aztp-Chain: $GOOD"
denied 401 peer_mismatch
direct research /quote -H "Aztp-Chain: $GOOD" -H "Aztp-Caller: spiffe://$TD/evil"
[ "$status" = 200 ] || fail "direct call: $status $body"
[ "$(field "$body" headers.Aztp-Caller)" = "$RESEARCH" ] || fail "spoofed caller reached the app: $body"
direct research /quote -H "Aztp-Chain: $GOOD"
denied 401 replay
ok "401 unauthenticated (no certificate, no chain), audience_mismatch, bad_signature (hop 0), peer_mismatch, replay"

# --- large bodies, streamed ---
head -c $((48 << 20)) /dev/urandom > "$T/big.bin"
WANT="$(sha256sum "$T/big.bin" | cut -d' ' -f1)"
send /upload -X POST -H 'Content-Type: application/octet-stream' --data-binary "@$T/big.bin"
[ "$status" = 200 ] || fail "upload: $status $body"
[ "$(field "$body" body_bytes)" = $((48 << 20)) ] || fail "upload size: $body"
[ "$(field "$body" body_sha256)" = "$WANT" ] || fail "upload digest: $body"
curl -sS --max-time 60 -x "http://127.0.0.1:$EG" -H "Aztp-Target: $PAYMENTS" \
  -o "$T/down.bin" "http://127.0.0.1:$IN/big?n=50000000" || fail "download"
[ "$(stat -c %s "$T/down.bin")" = 50000000 ] || fail "download size: $(stat -c %s "$T/down.bin")"
python3 -c 'import hashlib,sys
p=bytes(range(256))*256; h=hashlib.sha256(); n=50000000
while n: k=min(n,len(p)); h.update(p[:k]); n-=k
sys.exit(0 if h.hexdigest()==sys.argv[1] else 1)' "$(sha256sum "$T/down.bin" | cut -d' ' -f1)" \
  || fail "download digest"
for name in payments research; do
  pid_var="PID_$name"
  hwm="$(awk '/VmHWM/ {print $2}' "/proc/${!pid_var}/status")"
  [ "$hwm" -lt $((40 << 10)) ] || fail "$name proxy peaked at $hwm KiB for a 48 MiB body"
  echo "# $name proxy peak memory: $hwm KiB"
done
ok "48 MiB up and 50 MB down stream through both proxies, each below 40 MiB peak memory"

# --- a target nobody listens on (issue 13: was io_error) ---
status="$(curl -sS --max-time 20 -x "http://127.0.0.1:$EG" -H "Aztp-Target: $PAYMENTS" \
  -o "$T/out" -w '%{http_code}' "http://127.0.0.1:1/quote")"
body="$(cat "$T/out")"
denied 502 upstream_unavailable
grep -q 'egress_refused.*reason=upstream_unavailable' "$T/research.log" || fail "research log: $(grep egress_refused "$T/research.log")"
ok "egress to a target nobody listens on: 502 upstream_unavailable, logged with that reason"

# --- the app down ---
kill "$APP_PID"
wait "$APP_PID" 2>/dev/null || true
send /quote -X POST --data x
denied 502 upstream_unavailable
ok "with the app down the caller gets 502 upstream_unavailable"

# --- audit: local chains intact, shipped to aztpd ---
sleep 2.5
for name in payments research; do
  n="$(sqlite3 "$T/$name-audit.db" 'SELECT COUNT(*) FROM audit')"
  [ "$n" -gt 5 ] || fail "$name audit: $n records"
  api GET /v1/audit/sources
  shipped="$(python3 -c 'import json,sys
for s in json.loads(sys.argv[1])["sources"]:
  if s["source"]==sys.argv[2]: print(s["seq"])' "$body" "spiffe://$TD/$([ $name = payments ] && echo tools || echo agents)/$name")"
  [ "$shipped" = "$n" ] || fail "$name: $n local records, $shipped shipped: $body"
done
# aztp audit: the local chains verify, also against the head aztpd holds.
api GET /v1/audit/sources
HEAD="$(python3 -c 'import json,sys
for s in json.loads(sys.argv[1])["sources"]:
  if s["source"]==sys.argv[2]: print("%d:%s" % (s["seq"], s["hash"]))' "$body" "$PAYMENTS")"
expect_exit 0 "$AZTP_BIN" audit verify --db "$T/payments-audit.db" --expect-head "$HEAD"
[ "$(json_get "$out" valid)" = True ] || fail "verify: $out"
export AZTP_SERVER="$URL" AZTP_API_KEY="$KEY" AZTP_BUNDLE="$T/cp/bundle.json"
expect_exit 0 "$AZTP_BIN" audit verify
expect_exit 0 "$AZTP_BIN" audit verify --source "$PAYMENTS"
expect_exit 0 "$AZTP_BIN" audit query --source "$PAYMENTS" --decision deny --limit 1000
DENIED="$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["records"]))' "$out")"
unset AZTP_SERVER AZTP_API_KEY AZTP_BUNDLE
# The payments proxy denied: policy, capability, route, 7 direct 401s.
[ "$DENIED" = 9 ] || fail "denials shipped: $DENIED"
expect_exit 0 "$AZTP_BIN" audit query --db "$T/payments-audit.db" --decision deny --identity "$PLANNER"
python3 -c 'import json,sys; r=json.loads(sys.argv[1])["records"]; sys.exit(0 if len(r)==1 and r[0]["reason"]=="peer_mismatch" else 1)' "$out" \
  || fail "query by identity: $out"
expect_exit 0 "$AZTP_BIN" audit export --db "$T/payments-audit.db" --out "$T/payments.jsonl"
python3 "$(dirname "$0")/../interop/audit_chain.py" "$T/payments.jsonl" > "$T/py.out" \
  || fail "Python's check of the export: $(cat "$T/py.out")"
[ "$(cut -d' ' -f1 "$T/py.out")" = "$(wc -l < "$T/payments.jsonl")" ] || fail "export: $(cat "$T/py.out")"
ok "aztp audit verify (file, aztpd's log, a shipped copy), query by decision and identity, export checked by Python's json and hashlib"

# Tampering, each on a copy: edit, delete, insert, reorder, cut the tail.
tamper() {
  rm -f "$T/t.db"*
  sqlite3 "$T/payments-audit.db" ".backup '$T/t.db'"
  sqlite3 "$T/t.db" "PRAGMA journal_mode=DELETE; $1" > /dev/null
  set +e
  out="$("$AZTP_BIN" audit verify --db "$T/t.db" ${2:+--expect-head "$2"})"
  local rc=$?
  set -e
  [ $rc = 1 ] || fail "tampering ($1) not detected: $out"
  [ "$(json_get "$out" bad_seq)" = "$3" ] || fail "tampering ($1): $out"
}
tamper "UPDATE audit SET decision='allow' WHERE seq=4" "" 4
tamper "DELETE FROM audit WHERE seq=3" "" 3
tamper "INSERT INTO audit SELECT 1000, time, actor, action, subject, decision, reason, txn, details, prev, hash FROM audit WHERE seq=2; UPDATE audit SET seq=-(seq+1) WHERE seq>=5 AND seq<1000; UPDATE audit SET seq=-seq WHERE seq<0; UPDATE audit SET seq=5 WHERE seq=1000" "" 5
tamper "UPDATE audit SET seq=-7 WHERE seq=6; UPDATE audit SET seq=6 WHERE seq=7; UPDATE audit SET seq=7 WHERE seq=-7" "" 6
LAST="${HEAD%%:*}"
tamper "DELETE FROM audit WHERE seq=$LAST" "$HEAD" "$LAST"
ok "an edited, deleted, inserted or reordered record is named by its seq; a cut tail is caught against aztpd's head"

grep -q 'eyJ' "$T"/payments.log "$T"/research.log && fail "a token in a proxy log"
grep -q 'PRIVATE KEY' "$T"/payments.log "$T"/research.log && fail "a key in a proxy log"
ok "every decision is in each proxy's local log and shipped to aztpd; no token or key in the logs"
done_checks
