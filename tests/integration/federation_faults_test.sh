#!/usr/bin/env bash
# Bundle-endpoint faults at the daemon level: one real aztpd (org-a) federates
# over https_spiffe with a fake org-b bundle endpoint
# (tests/lib/fake_bundle_endpoint.py) that is switched from one misbehaviour
# to the next. Each fault is driven by POST /v1/federations/org-b.example:refresh
# and must be answered `failed` or `rejected` with a stable reason, leave
# org-b's last good bundle (sequence 2) in force and trusted, and be counted
# in /metrics, recorded in the audit table and logged at warn. GET
# /v1/federations must show the consecutive failures and the last result
# throughout, also across adding and removing another relationship.
source "$(dirname "$0")/../lib/common.sh"
D="$AZTP_BUILD/aztpd/aztpd"
[ -x "$D" ] || fail "aztpd is not built at $D"
PY=/usr/bin/python3
FAKE="$(cd "$(dirname "$0")/../lib" && pwd)/fake_bundle_endpoint.py"
TD_B=org-b.example
EP_ID="spiffe://$TD_B/bundle-endpoint"

# --- org-b's material: its CA, a second CA (for a substituted key), the
# endpoint's SVID and one with the wrong SPIFFE ID.
expect_exit 0 "$AZTP_BIN" ca init --trust-domain "$TD_B" --out "$T/ca-b"
expect_exit 0 "$AZTP_BIN" ca init --trust-domain "$TD_B" --out "$T/ca-b-rogue"
expect_exit 0 "$AZTP_BIN" svid issue --ca "$T/ca-b" --id "$EP_ID" --out "$T/ep" --ttl 1h
expect_exit 0 "$AZTP_BIN" svid issue --ca "$T/ca-b" --id "spiffe://$TD_B/other" --out "$T/ep-other" --ttl 1h

# make_bundles NAME=SEQUENCE|none:CA_DIR[,CA_DIR...] ...: writes $T/NAME.json,
# a SPIFFE bundle (JWK Set) holding the root certificate (the last one of
# ca.pem) of every CA folder, built here with python3-cryptography rather
# than by aztp.
make_bundles() {
  "$PY" - "$T" "$@" <<'PY'
import base64, json, re, sys
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.hazmat.primitives.asymmetric import ec

def b64url(n):
    return base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()

def root_jwk(ca):
    pems = re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----",
                      open(ca + "/ca.pem", "rb").read(), re.S)
    root = x509.load_pem_x509_certificate(pems[-1])
    pub = root.public_key()
    assert isinstance(pub, ec.EllipticCurvePublicKey) and pub.curve.name == "secp256r1"
    nums = pub.public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64url(nums.x), "y": b64url(nums.y),
            "use": "x509-svid",
            "x5c": [base64.b64encode(root.public_bytes(Encoding.DER)).decode()]}

out_dir = sys.argv[1]
for spec in sys.argv[2:]:
    name, _, rest = spec.partition("=")
    seq, _, cas = rest.partition(":")
    doc = {"keys": [root_jwk(ca) for ca in cas.split(",")], "spiffe_refresh_hint": 3600}
    if seq != "none":
        doc["spiffe_sequence"] = int(seq)
    with open(f"{out_dir}/{name}.json", "w") as f:
        json.dump(doc, f)
PY
}
# b2-reused: sequence 2 again, with another key. b9: a valid, newer bundle
# behind the slow, redirect and huge faults; were it ever installed, the
# final sequence-3 bundle would be rejected.
make_bundles "b1=1:$T/ca-b" "b2=2:$T/ca-b" "b2-reused=2:$T/ca-b,$T/ca-b-rogue" \
  "b-noseq=none:$T/ca-b" "b3=3:$T/ca-b" "b9=9:$T/ca-b,$T/ca-b-rogue"
ok "org-b's CA, endpoint SVIDs and bundles (sequences 1, 2, 2', none, 3, 9) are ready"

# --- The fake endpoint. start_fake CERT_DIR [PORT]
MODE="$T/mode"
FAKE_PID=""
start_fake() {
  rm -f "$T/fake.port"
  "$PY" "$FAKE" --cert "$1/svid.pem" --key "$1/svid.key" --mode-file "$MODE" \
    --port-file "$T/fake.port" --port "${2:-0}" --request-log "$T/fake.requests" 2>>"$T/fake.log" &
  FAKE_PID=$!
  AZTPD_PIDS+=("$FAKE_PID")  # killed at exit by common.sh's trap
  for _ in $(seq 1 200); do [ -s "$T/fake.port" ] && break; sleep 0.05; done
  [ -s "$T/fake.port" ] || fail "fake endpoint did not start: $(tail -3 "$T/fake.log")"
  FAKE_PORT="$(cat "$T/fake.port")"
}
stop_fake() {
  kill -TERM "$FAKE_PID"
  wait "$FAKE_PID" 2>/dev/null || true
}
echo "good:$T/b1.json" > "$MODE"
start_fake "$T/ep"
ENDPOINT_URL="https://127.0.0.1:$FAKE_PORT/bundle"

# --- org-a's aztpd, with a short fetch timeout and JSON logs.
expect_exit 0 "$D" init --data-dir "$T/a" --trust-domain org-a.example
KEY="$(json_get "$out" admin_api_key)"
cat > "$T/a.yaml" <<YAML
federation_fetch_timeout: 2s
log_format: json
YAML
start_aztpd "$T/a" --config "$T/a.yaml"
C=(curl -sS --cacert "$T/a/bundle.pem" --max-time 20)


# jcheck JSON PYTHON-EXPR [ARGS...]: assert the expression over j (the parsed
# JSON) and a (the extra arguments); prints the failing expression.
jcheck() {
  local json="$1" expr="$2"; shift 2
  "$PY" -c 'import json,sys; j=json.loads(sys.argv[1]); a=sys.argv[3:]
if not eval(sys.argv[2]): sys.exit("assertion failed: " + sys.argv[2])' "$json" "$expr" "$@"
}

body_add="$("$PY" -c 'import json,sys; print(json.dumps({"trust_domain": sys.argv[1], "endpoint_url": sys.argv[2],
  "profile": "https_spiffe", "endpoint_id": sys.argv[3], "bootstrap_bundle": json.load(open(sys.argv[4]))}))' \
  "$TD_B" "$ENDPOINT_URL" "$EP_ID" "$T/b1.json")"
api POST /v1/federations "$body_add"
[ "$status" = 201 ] || fail "add: $status $body"
jcheck "$body" 'j["first_fetch"]["result"] == "updated" and j["first_fetch"]["new_sequence"] == 1' \
  || fail "first fetch: $body"
ok "POST /v1/federations adds org-b (https_spiffe, bootstrap sequence 1); the first fetch is updated"

# Expected totals, kept as the faults go.
n_updated=1 n_unchanged=0 n_failed=0 n_rejected=0 failures=0 last_result=updated
EVENTS=("federation.updated:")   # audit action:reason, in order

# state_ok SEQ FILE: org-b is trusted with sequence SEQ, /v1/bundles serves
# exactly FILE's authorities for it, the consecutive failures are $failures
# and the last fetch's result is $last_result.
state_ok() {
  local seq="$1" file="$2"
  api GET /v1/federations
  [ "$status" = 200 ] || fail "list: $status $body"
  "${C[@]}" -o "$T/bundles.json" "$URL/v1/bundles" || fail "GET /v1/bundles"
  "$PY" - "$T/body" "$T/bundles.json" "$file" "$TD_B" "$seq" "$failures" "$last_result" <<'PY' \
    || fail "state (want trusted, sequence $seq, failures $failures, last $last_result): $body"
import json, sys
feds, served, want, td, seq, failures, last = sys.argv[1:]
f = [f for f in json.load(open(feds))["federations"] if f["trust_domain"] == td]
assert len(f) == 1, f
f = f[0]
assert (f["trusted"], f["bundle_sequence"], f["failures"]) == (True, int(seq), int(failures)), f
assert f["last_fetch"] is not None and f["last"]["result"] == last, f
served = json.load(open(served))["trust_domains"]
assert sorted(served) == ["org-a.example", td], sorted(served)
b = served[td]
assert b.get("spiffe_sequence") == int(seq), b.get("spiffe_sequence")
x5c = lambda d: sorted(k["x5c"][0] for k in d["keys"] if k.get("use") == "x509-svid")
assert x5c(b) == x5c(json.load(open(want))), "authorities differ"
PY
}

# refresh MODE RESULT REASON [PYTHON-EXPR]: switch the endpoint to MODE
# (unless "-"), ask aztpd to fetch now and check its answer (j), also
# against PYTHON-EXPR; the answer is kept in $last, the time in $elapsed_ms.
refresh() {
  local mode="$1" result="$2" reason="$3" extra="${4:-True}"
  [ "$mode" = - ] || echo "$mode" > "$MODE"
  local t0=${EPOCHREALTIME/./}
  api POST "/v1/federations/$TD_B:refresh"
  elapsed_ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
  last="$body"
  echo "# $mode: $last"
  [ "$status" = 200 ] || fail "refresh ($mode): $status $body"
  last_result="$result"
  jcheck "$body" 'j["result"] == a[0] and j["reason"] == a[1] and j["trust_domain"] == a[2] and eval(a[3])' \
    "$result" "$reason" "$TD_B" "$extra" || fail "refresh ($mode): want $result/$reason and $extra, got $body"
  case "$result" in
    updated) n_updated=$((n_updated + 1)); failures=0; EVENTS+=("federation.updated:") ;;
    unchanged) n_unchanged=$((n_unchanged + 1)); failures=0 ;;
    failed) n_failed=$((n_failed + 1)); failures=$((failures + 1)); EVENTS+=("federation.failed:$reason") ;;
    rejected) n_rejected=$((n_rejected + 1)); failures=0; EVENTS+=("federation.rejected:$reason") ;;
  esac
}

# fault MODE RESULT REASON DESCRIPTION [PYTHON-EXPR]: a refresh that must
# change nothing: sequence 2 stays in force and trusted.
FAILED_SEQS='j["old_sequence"] == 2 and j["new_sequence"] is None and j["message"] != ""'
fault() {
  local extra="${5:-True}"
  [ "$2" = failed ] && extra="$FAILED_SEQS and $extra"
  refresh "$1" "$2" "$3" "$extra"
  state_ok 2 "$T/b2.json"
  ok "$4 -> $2 $3; sequence 2 stays in force and trusted, failures=$failures"
}

# --- A good, newer bundle replaces the bootstrap one; the same again changes nothing.
refresh "good:$T/b2.json" updated "" 'j["old_sequence"] == 1 and j["new_sequence"] == 2'
state_ok 2 "$T/b2.json"
ok "a good bundle with sequence 2 -> updated 1 -> 2, served by /v1/bundles"
refresh - unchanged "" 'j["old_sequence"] == 2 and j["new_sequence"] == 2'
state_ok 2 "$T/b2.json"
ok "the same bundle again -> unchanged"

# --- Rejections: well-formed, authenticated bundles that must not replace sequence 2.
fault "good:$T/b1.json" rejected sequence_rollback "a lower sequence (1)" \
  'j["old_sequence"] == 2 and j["new_sequence"] == 1'
fault "good:$T/b2-reused.json" rejected sequence_reused "sequence 2 again with another key" \
  'j["old_sequence"] == 2 and j["new_sequence"] == 2'
fault "good:$T/b-noseq.json" rejected sequence_missing "a bundle without spiffe_sequence" \
  'j["old_sequence"] == 2 and j["new_sequence"] is None'

# --- Failures: nothing usable arrives.
fault garbage failed malformed "a 200 answer that is not JSON"
fault "slow:4:$T/b9.json" failed io_error "an answer 4 s late (timeout 2 s)" '"timeout" in j["message"]'
[ "$elapsed_ms" -ge 1900 ] && [ "$elapsed_ms" -lt 3900 ] \
  || fail "the slow fetch took ${elapsed_ms} ms: not cut at the 2 s timeout"
fault "redirect:$T/b9.json" failed unavailable "a 302 redirect"
grep -q ' /moved$' "$T/fake.requests" && fail "the redirect was followed"
fault status:500 failed unavailable "HTTP 500"
fault "huge:$T/b9.json" failed too_large "a valid bundle padded beyond 1 MiB"
fault close failed io_error "a connection closed before TLS"
fault hangup failed io_error "a connection closed after the request, unanswered"

# Wrong SPIFFE ID: the same CA, another workload's SVID, on the same port.
stop_fake
start_fake "$T/ep-other" "$FAKE_PORT"
echo "good:$T/b9.json" > "$MODE"
fault - failed unauthenticated "an endpoint presenting spiffe://$TD_B/other" \
  '"spiffe://org-b.example/other" in j["message"]'

# Endpoint down.
stop_fake
fault - failed io_error "the endpoint down (connection refused)"
[ "$failures" = 9 ] || fail "expected 9 consecutive failures, counted $failures"

# Adding and removing another relationship (org-c, whose first fetch fails)
# leaves org-b's bundle, consecutive failures and last fetch alone.
api POST /v1/federations '{"trust_domain":"org-c.example","endpoint_url":"https://127.0.0.1:1/bundle","profile":"https_web"}'
[ "$status" = 201 ] || fail "add org-c: $status $body"
state_ok 2 "$T/b2.json"
api DELETE /v1/federations/org-c.example
[ "$status" = 200 ] || fail "remove org-c: $status $body"
state_ok 2 "$T/b2.json"
ok "adding and removing org-c.example keeps org-b's sequence 2, failures=$failures and last fetch"

# --- Back up with a newer bundle: updated, served, failures reset.
start_fake "$T/ep" "$FAKE_PORT"
refresh "good:$T/b3.json" updated "" 'j["old_sequence"] == 2 and j["new_sequence"] == 3'
state_ok 3 "$T/b3.json"
ok "the endpoint back with sequence 3 -> updated 2 -> 3, served, failures reset to 0"

# --- Every fetch is counted.
"${C[@]}" "$URL/metrics" > "$T/metrics"
for r in updated:$n_updated unchanged:$n_unchanged failed:$n_failed rejected:$n_rejected; do
  grep -qx "aztpd_federation_fetches_total{result=\"${r%%:*}\",trust_domain=\"$TD_B\"} ${r#*:}" "$T/metrics" \
    || fail "metric for ${r%%:*} (want ${r#*:}): $(grep aztpd_federation_fetches_total "$T/metrics" || echo none)"
done
ok "/metrics counts $n_updated updated, $n_unchanged unchanged, $n_failed failed, $n_rejected rejected fetches of $TD_B"

# --- Every update, failure and rejection is on the audit record, in order.
"$PY" - "$T/a/aztpd.db" "spiffe://$TD_B" "${EVENTS[@]}" <<'PY' || fail "audit records"
import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
def fetches(subject):
    return db.execute("SELECT action, reason, decision FROM audit WHERE subject = ? AND action IN "
                      "('federation.updated', 'federation.failed', 'federation.rejected') "
                      "ORDER BY seq", (subject,)).fetchall()
rows = fetches(sys.argv[2])
want = [tuple(e.split(":", 1)) for e in sys.argv[3:]]
got = [(a, r) for a, r, _ in rows]
assert got == want, f"audit {got} != {want}"
for action, reason, decision in rows:
    assert decision == ("allow" if action == "federation.updated" else "deny"), (action, decision)
other = fetches("spiffe://org-c.example")
assert other == [("federation.failed", "io_error", "deny")], other
PY
ok "the audit table holds ${#EVENTS[@]} federation records (updated/failed/rejected, reason, decision) in order"

# --- Every failure and rejection is one warn line naming org-b and the reason.
"$PY" - "$T/aztpd.log" "$TD_B" "${EVENTS[@]}" <<'PY' || fail "aztpd log lines for the faults: $(grep -i federat "$T/aztpd.log" | tail -5)"
import json, sys
want = []
for e in sys.argv[3:]:
    action, reason = e.split(":", 1)
    if action != "federation.updated":
        msg = ("federated bundle fetch failed" if action == "federation.failed"
               else "federated bundle rejected")
        want.append(("warn", msg, reason))
got = []
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    try:
        rec = json.loads(line)
    except ValueError:
        continue
    if rec.get("trust_domain") == sys.argv[2] and rec.get("level") in ("warn", "warning", "error"):
        got.append(("warn" if rec["level"] == "warning" else rec["level"], rec.get("msg"), rec.get("reason")))
assert got == want, f"log {got} != {want}"
PY
ok "aztpd logged one warn line per failed or rejected fetch, with $TD_B and the reason"

if grep -qF -e "$KEY" "$T/aztpd.log"; then fail "the admin key is in the log"; fi
if grep -q "PRIVATE KEY" "$T/aztpd.log"; then fail "a private key is in the log"; fi
ok "the log holds no API key and no private key"

kill -TERM "$PID"; wait "$PID" || fail "aztpd exit status $?"
stop_fake
done_checks
