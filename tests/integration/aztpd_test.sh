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

"$D" run --data-dir "$T/data" --listen 127.0.0.1:0 2>"$T/aztpd.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$T"' EXIT
for _ in $(seq 1 100); do [ -s "$T/data/aztpd.url" ] && break; sleep 0.05; done
URL="$(cat "$T/data/aztpd.url")"
[[ "$URL" == https://127.0.0.1:* ]] || fail "aztpd.url: $URL"
C=(curl -sS --cacert "$T/data/bundle.pem" --max-time 10)
"${C[@]}" "$URL/healthz" | grep -q '"ok"' || fail "healthz"
ok "run serves HTTPS on an OS-chosen port and writes aztpd.url"

# api(METHOD PATH [BODY]) -> $status, $body
api() {
  local method="$1" path="$2" data="${3:-}"
  local args=(-X "$method" -H "Authorization: Bearer $KEY" -o "$T/body" -w '%{http_code}')
  [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
  status="$("${C[@]}" "${args[@]}" "$URL$path")"
  body="$(cat "$T/body")"
}

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

kill -TERM $PID
wait $PID || fail "aztpd exit status $?"
[ ! -e "$T/data/aztpd.url" ] || fail "aztpd.url left behind"
if grep -q "$KEY_ADMIN" "$T/aztpd.log"; then fail "API key in the log"; fi
ok "SIGTERM stops aztpd cleanly; the log holds no API key"
done_checks
