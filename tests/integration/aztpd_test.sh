#!/usr/bin/env bash
# aztpd end to end on loopback, driven by independent clients: curl for the
# JSON API, `openssl req` for CSRs, `openssl verify` for the issued SVIDs and
# `openssl s_client` for the mTLS handshake.
source "$(dirname "$0")/../lib/common.sh"
D="$AZTP_BUILD/aztpd/aztpd"
[ -x "$D" ] || fail "aztpd is not built at $D"

expect_exit 0 "$D" init --data-dir "$T/data" --trust-domain org-a.example
KEY="$(json_get "$out" admin_api_key)"
[ "$(json_get "$out" bundle_path)" = "$T/data/bundle.json" ] || fail "bundle_path: $out"
[[ "$KEY" == aztp_* ]] || fail "admin key format"
[ "$(stat -c %a "$T/data")" = 700 ] || fail "data dir mode"
if "$D" init --data-dir "$T/data" --trust-domain org-a.example >/dev/null; then
  fail "a second init must refuse"
fi
ok "init prints the admin key once and refuses to run twice"

expect_exit 1 "$D" run --data-dir "$T/typo" --listen 127.0.0.1:0
[ "$out" = "{\"error\":\"not_found\",\"message\":\"data directory $T/typo does not exist (aztpd init --data-dir $T/typo creates it)\"}" ] || fail "run on a missing dir: $out"
[ ! -e "$T/typo" ] || fail "run created $T/typo"
ok "run on a data directory that does not exist says so and creates nothing"

start_aztpd "$T/data"
C=(curl -sS --cacert "$T/data/bundle.pem" --max-time 10)
"${C[@]}" "$URL/healthz" | grep -q '"ok"' || fail "healthz"
ok "run serves HTTPS on an OS-chosen port and writes aztpd.url"


api POST /v1/identities '{"id":"aztp://org-a.example/agents/planner","discoverable":true,"metadata":{"team":"x"}}'
[ "$status" = 201 ] || fail "register: $status $body"
[ "$(json_get "$body" id)" = spiffe://org-a.example/agents/planner ] || fail "$body"
api POST /v1/identities '{"id":"spiffe://org-a.example/agents/planner"}'
[ "$status" = 409 ] && [ "$(json_get "$body" error)" = already_exists ] || fail "duplicate: $status $body"
api GET /v1/identities/org-a.example/agents/planner
[ "$status" = 200 ] && [ "$(json_get "$body" status)" = active ] || fail "get: $status $body"
ok "identities register (aztp:// alias), conflict on duplicates, get"

# CSR made by openssl; its requested SAN is ignored.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/p.key" \
  -subj /O=x -addext "subjectAltName=URI:spiffe://org-a.example/admin" -out "$T/p.csr" 2>/dev/null
csr="$(/usr/bin/python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$T/p.csr")"
api POST /v1/svid/x509 "{\"id\":\"spiffe://org-a.example/agents/planner\",\"csr\":$csr}"
[ "$status" = 201 ] || fail "svid: $status $body"
/usr/bin/python3 -c 'import json,sys; open(sys.argv[2],"w").write(json.loads(open(sys.argv[1]).read())["svid"])' "$T/body" "$T/p.pem"
openssl verify -CAfile "$T/data/bundle.pem" "$T/p.pem" >/dev/null || fail "openssl verify"
openssl x509 -in "$T/p.pem" -noout -ext subjectAltName | grep -q "URI:spiffe://org-a.example/agents/planner$" || fail "SAN"
ok "an openssl CSR becomes an SVID that openssl verify accepts, under the registered ID"

# mTLS: the new SVID authenticates a renewal without an API key.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/q.key" -subj /O=x -out "$T/q.csr" 2>/dev/null
csr2="$(/usr/bin/python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$T/q.csr")"
status="$("${C[@]}" --cert "$T/p.pem" --key "$T/p.key" -o "$T/body" -w '%{http_code}' \
  -H 'Content-Type: application/json' --data-binary "{\"id\":\"spiffe://org-a.example/agents/planner\",\"csr\":$csr2}" "$URL/v1/svid/x509")"
[ "$status" = 201 ] || fail "mTLS renewal: $status $(cat "$T/body")"
status="$("${C[@]}" --cert "$T/p.pem" --key "$T/p.key" -o "$T/body" -w '%{http_code}' \
  -H 'Content-Type: application/json' --data-binary "{\"id\":\"spiffe://org-a.example/agents/other\",\"csr\":$csr2}" "$URL/v1/svid/x509")"
[ "$status" = 403 ] || fail "mTLS for another ID: $status"
echo | openssl s_client -connect "${URL#https://}" -CAfile "$T/data/bundle.pem" -cert "$T/p.pem" -key "$T/p.key" \
  -tls1_3 2>/dev/null | grep -q "Verify return code: 0 (ok)" || fail "s_client"
ok "mTLS with the issued SVID renews it, cannot get another ID's SVID; s_client verifies the server"

# Revocation.
api POST /v1/identities/org-a.example/agents/planner:revoke '{"reason":"key compromise"}'
[ "$status" = 200 ] && [ "$(json_get "$body" status)" = revoked ] || fail "revoke: $status $body"
api POST /v1/svid/x509 "{\"id\":\"spiffe://org-a.example/agents/planner\",\"csr\":$csr}"
[ "$status" = 403 ] && [ "$(json_get "$body" error)" = revoked ] || fail "revoked issuance: $status $body"
"${C[@]}" "$URL/v1/revocations" > "$T/rev.json"
/usr/bin/python3 - "$T/rev.json" "$T/p.pem" <<'PY'
import json, subprocess, sys
rev = json.load(open(sys.argv[1]))
serial = subprocess.run(["openssl", "x509", "-in", sys.argv[2], "-noout", "-serial"],
                        capture_output=True, text=True).stdout.split("=")[1].strip().lower().lstrip("0")
assert rev["sequence"] >= 1, rev
assert rev["ids"] == ["spiffe://org-a.example/agents/planner"], rev
assert serial in rev["serials"], (serial, rev)
PY
api POST /v1/identities/org-a.example/agents/planner:reissue ''
[ "$status" = 200 ] && [ "$(json_get "$body" status)" = active ] || fail "reissue: $status $body"
ok "a revoked identity gets no SVID and is listed with its serials; reissue restores it"

# Scoped API keys.
api POST /v1/apikeys '{"scope":"/tools/","description":"tools team"}'
[ "$status" = 201 ] || fail "apikey: $status $body"
SCOPED="$(json_get "$body" api_key)"
KEY_ADMIN="$KEY"; KEY="$SCOPED"
api POST /v1/identities '{"id":"spiffe://org-a.example/tools/search"}'
[ "$status" = 201 ] || fail "scoped register: $status $body"
api POST /v1/identities '{"id":"spiffe://org-a.example/agents/x"}'
[ "$status" = 403 ] || fail "scoped outside prefix: $status"
api GET /v1/apikeys
[ "$status" = 403 ] || fail "scoped listing keys: $status"
KEY="$KEY_ADMIN"
ok "scoped keys are limited to their path prefix"

# Bad input: each a 4xx with a reason, never a crash.
KEY="aztp_0000.wrong"; api GET /v1/identities; [ "$status" = 401 ] || fail "bad key: $status"; KEY="$KEY_ADMIN"
status="$("${C[@]}" -o /dev/null -w '%{http_code}' "$URL/v1/identities")"; [ "$status" = 401 ] || fail "no key: $status"
api POST /v1/identities '{"id":'; [ "$status" = 400 ] && [ "$(json_get "$body" error)" = malformed ] || fail "bad json: $status $body"
api POST /v1/identities '{"id":"spiffe://org-b.example/x"}'; [ "$status" = 400 ] || fail "other domain: $status"
api POST /v1/identities '{"id":"spiffe://org-a.example/x","id":"spiffe://org-a.example/y"}'; [ "$status" = 400 ] || fail "dup member: $status"
api POST /v1/identities "{\"id\":\"spiffe://org-a.example/x'; DROP TABLE identities; --\"}"; [ "$status" = 400 ] || fail "sql id: $status"
api POST /v1/identities '{"id":"spiffe://org-a.example/sql","metadata":{"q":"x'"'"'; DROP TABLE identities; --"}}'
[ "$status" = 201 ] || fail "sql metadata: $status $body"
api GET /v1/identities/org-a.example/sql
[ "$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["metadata"]["q"])' "$body")" = "x'; DROP TABLE identities; --" ] || fail "sql round trip"
status="$("${C[@]}" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" -H 'Content-Type: text/plain' --data 'x' "$URL/v1/identities")"
[ "$status" = 415 ] || fail "content type: $status"
head -c 2000000 /dev/zero | tr '\0' 'a' > "$T/big"
status="$("${C[@]}" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' --data-binary @"$T/big" "$URL/v1/identities")"
[ "$status" = 413 ] || fail "oversized: $status"
status="$("${C[@]}" -o /dev/null -w '%{http_code}' "$URL/nope")"; [ "$status" = 404 ] || fail "unknown route: $status"
api POST /v1/svid/x509 '{"id":"spiffe://org-a.example/agents/planner","csr":"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"}'
[ "$status" = 400 ] || fail "bad csr: $status"
"${C[@]}" "$URL/healthz" | grep -q '"ok"' || fail "still serving"
ok "bad keys, JSON, IDs, content types, sizes, CSRs and SQL metacharacters are 4xx, and the server lives on"

# CSRs with keys the CA refuses.
openssl req -new -newkey rsa:2048 -nodes -keyout "$T/r.key" -subj /O=x -out "$T/r.csr" 2>/dev/null
csr_rsa="$(/usr/bin/python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$T/r.csr")"
api POST /v1/svid/x509 "{\"id\":\"spiffe://org-a.example/agents/planner\",\"csr\":$csr_rsa}"
[ "$status" = 400 ] || fail "RSA CSR: $status $body"
ok "a CSR with an RSA key is refused with 400"

# JWT-SVIDs, verified by PyJWT with the key the bundle publishes.
api POST /v1/svid/jwt '{"id":"spiffe://org-a.example/agents/planner","audience":["spiffe://org-a.example/tools/search"],"ttl":300}'
[ "$status" = 201 ] || fail "jwt-svid: $status $body"
echo "$body" > "$T/jwt.json"
"${C[@]}" "$URL/v1/bundle" > "$T/bundle_now.json"
/usr/bin/python3 - "$T/jwt.json" "$T/bundle_now.json" <<'PY' || fail "PyJWT rejected the JWT-SVID"
import json, sys, jwt
token = json.load(open(sys.argv[1]))["token"]
bundle = json.load(open(sys.argv[2]))
kid = jwt.get_unverified_header(token)["kid"]
keys = [k for k in bundle["keys"] if k.get("use") == "jwt-svid" and k.get("kid") == kid]
assert len(keys) == 1, "kid not in bundle"
key = jwt.PyJWK.from_dict(keys[0])
claims = jwt.decode(token, key.key, algorithms=["ES256"], audience="spiffe://org-a.example/tools/search")
assert claims["sub"] == "spiffe://org-a.example/agents/planner", claims
try:
    jwt.decode(token, key.key, algorithms=["ES256"], audience="spiffe://org-a.example/other")
    raise SystemExit("wrong audience accepted")
except jwt.InvalidAudienceError:
    pass
PY
ok "JWT-SVIDs verify in PyJWT with the bundle's jwt-svid key (kid), audience enforced"

# Links and discovery.
api POST /v1/identities/org-a.example/agents/planner:link '{"to":"spiffe://org-a.example/tools/search","kind":"linked"}'
[ "$status" = 201 ] || fail "link: $status $body"
api GET /v1/identities/org-a.example/tools/search
[ "$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["links"][0]["from"])' "$body")" = spiffe://org-a.example/agents/planner ] || fail "links: $body"
api GET "/v1/discover?trust_domain=org-a.example"
/usr/bin/python3 -c 'import json,sys; ids=[i["id"] for i in json.loads(sys.argv[1])["identities"]]; assert ids==["spiffe://org-a.example/agents/planner"], ids' "$body" || fail "discover: $body"
ok "links are recorded both ways; discovery lists only discoverable identities"

# Rotation by hand publishes a second CA root, activation switches issuance.
api POST '/v1/ca:rotate' '{"kind":"x509"}'
[ "$status" = 200 ] || fail "rotate: $status $body"
"${C[@]}" "$URL/v1/bundle" | /usr/bin/python3 -c 'import json,sys; b=json.load(sys.stdin); assert len([k for k in b["keys"] if k["use"]=="x509-svid"])==2, b' || fail "prepared root not published"
ok "a prepared CA root is published in the bundle before use"

# Metrics in the Prometheus text format.
"${C[@]}" "$URL/metrics" > "$T/metrics"
grep -q '^aztpd_requests_total{route="/v1/svid/x509",status="201"} ' "$T/metrics" || fail "metrics: requests"
grep -q '^aztpd_svids_issued_total{kind="jwt"} 1' "$T/metrics" || fail "metrics: jwt issued"
grep -q '^aztpd_request_duration_seconds_bucket{route="/v1/identities",le="+Inf"} ' "$T/metrics" || fail "metrics: histogram"
grep -q '^aztpd_ca_expiry_timestamp_seconds{kind="x509"} ' "$T/metrics" || fail "metrics: ca expiry"
ok "/metrics exports requests, latency, issued SVIDs and CA expiry"

# Slow clients: idle TLS connections that never send a request do not keep
# others from being served.
/usr/bin/python3 - "${URL#https://}" "$T/data/bundle.pem" <<'PY' &
import socket, ssl, sys, time
host, port = sys.argv[1].rsplit(":", 1)
ctx = ssl.create_default_context(cafile=sys.argv[2])
conns = []
for _ in range(16):
    s = socket.create_connection((host, int(port)))
    conns.append(ctx.wrap_socket(s, server_hostname="localhost"))
    conns[-1].write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finished
time.sleep(3)
PY
SLOW=$!
sleep 1
"${C[@]}" --max-time 3 "$URL/healthz" | grep -q '"ok"' || fail "served while slow clients hold connections"
wait $SLOW || true
ok "16 slow clients do not block other requests"

# One aztpd per data directory: whatever would write it while another runs
# is refused before it touches anything. `timeout`: a second instance that
# wrongly starts is stopped (exit 124) instead of hanging the test.
held="{\"error\":\"unavailable\",\"message\":\"data directory $T/data is in use by PID $PID (it holds the lock $T/data/aztpd.lock)\"}"
expect_exit 3 timeout 10 "$D" run --data-dir "$T/data" --listen 127.0.0.1:0
[ "$out" = "$held" ] || fail "second run: $out"
expect_exit 3 timeout 10 "$D" run --dev --data-dir "$T/data" --listen 127.0.0.1:0
[ "$out" = "$held" ] || fail "second run --dev: $out"
expect_exit 3 timeout 10 "$D" init --data-dir "$T/data" --trust-domain org-a.example
[ "$out" = "$held" ] || fail "init while running: $out"
[ "$(cat "$T/data/aztpd.url")" = "$URL" ] || fail "aztpd.url changed: $(cat "$T/data/aztpd.url" 2>&1)"
"${C[@]}" "$URL/healthz" | grep -q '"ok"' || fail "the first aztpd stopped serving"
ok "run, run --dev and init on a data directory in use exit 3 naming it and the holder's PID; the first keeps serving and its aztpd.url"

kill -TERM $PID
wait $PID || fail "aztpd exit status $?"
[ ! -e "$T/data/aztpd.url" ] || fail "aztpd.url left behind"
if grep -q "$KEY_ADMIN" "$T/aztpd.log"; then fail "API key in the log"; fi
ok "SIGTERM stops aztpd cleanly; the log holds no API key"

start_aztpd "$T/data"
kill -9 $PID
wait $PID 2>/dev/null || true
start_aztpd "$T/data"
"${C[@]}" "$URL/healthz" | grep -q '"ok"' || fail "healthz after a restart"
ok "an aztpd killed with SIGKILL leaves no lock: the next one starts at once"

# aztpd removes at exit only the aztpd.url it wrote.
echo https://127.0.0.1:1 > "$T/other.url"
mv "$T/other.url" "$T/data/aztpd.url"
kill -TERM $PID
wait $PID || fail "aztpd exit status $?"
[ "$(cat "$T/data/aztpd.url" 2>&1)" = https://127.0.0.1:1 ] || fail "aztpd removed an aztpd.url it did not write"
ok "an aztpd.url that is not the one aztpd wrote stays at exit"
done_checks
