#!/usr/bin/env bash
# The CLI's client commands (identity, apikey, agent) against a real aztpd on
# loopback: every command, its JSON and exit codes, an identity folder
# fetched by the SDK agent used by `aztp chain mint` and checked by
# `openssl verify`, scoped keys, and that no API key is ever echoed.
source "$(dirname "$0")/../lib/common.sh"
D="$AZTP_BUILD/aztpd/aztpd"
A="$AZTP_BIN"
[ -x "$D" ] || fail "aztpd is not built at $D"

expect_exit 0 "$D" init --data-dir "$T/data" --trust-domain org-a.example
ADMIN="$(json_get "$out" admin_api_key)"
start_aztpd "$T/data"

# Every output goes to $T/outputs too, to check later that no key leaked.
run() { expect_exit "$@"; printf '%s\n' "$out" >> "$T/outputs"; }
# has JSON EXPR: evaluate a Python expression over the parsed JSON `j`.
has() {
  /usr/bin/python3 -c 'import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" \
    || fail "expected $2 in: $1"
}

export AZTP_SERVER="$URL" AZTP_BUNDLE="$T/data/bundle.json" AZTP_API_KEY="$ADMIN"

# Flags and environment are interchangeable.
run 0 env -u AZTP_SERVER -u AZTP_API_KEY -u AZTP_BUNDLE "$A" identity list \
  --server "$URL" --api-key "$ADMIN" --bundle "org-a.example=$T/data/bundle.json"
has "$out" 'j["identities"] == [] and j["next"] is None'
run 2 env -u AZTP_API_KEY "$A" identity list
[ "$(json_get "$out" error)" = usage ] || fail "missing key: $out"
ok "--server/--api-key/--bundle or AZTP_SERVER/AZTP_API_KEY/AZTP_BUNDLE; missing ones are usage errors"

run 0 "$A" identity register --id aztp://org-a.example/agents/planner --discoverable \
  --metadata '{"team":"blue"}' --selector k8s:ns:a --selector unix:uid:1
has "$out" 'j["id"] == "spiffe://org-a.example/agents/planner" and j["discoverable"] and j["metadata"] == {"team": "blue"} and j["selectors"] == ["k8s:ns:a", "unix:uid:1"] and j["status"] == "active"'
run 1 "$A" identity register --id spiffe://org-a.example/agents/planner
[ "$(json_get "$out" error)" = already_exists ] || fail "duplicate: $out"
run 0 "$A" identity register --id spiffe://org-a.example/agents/research \
  --parent spiffe://org-a.example/agents/planner
has "$out" 'j["parent"] == "spiffe://org-a.example/agents/planner" and not j["discoverable"]'
run 1 "$A" identity register --id spiffe://org-a.example/agents/x --metadata '[1]'
[ "$(json_get "$out" error)" = invalid_argument ] || fail "metadata: $out"
run 1 "$A" identity register --id spiffe://org-b.example/agents/x
[ "$(json_get "$out" error)" = invalid_argument ] || fail "other domain: $out"
run 1 "$A" identity register --id 'spiffe://org-a.example/Bad Id'
[ "$(json_get "$out" error)" = malformed ] || fail "bad ID: $out"
ok "identity register: alias, metadata, selectors, parent; duplicates and bad input exit 1"

run 0 "$A" identity get --id spiffe://org-a.example/agents/research
has "$out" 'j["links"] == [{"from": "spiffe://org-a.example/agents/planner", "to": "spiffe://org-a.example/agents/research", "kind": "parent", "metadata": {}, "created_at": j["links"][0]["created_at"]}]'
run 1 "$A" identity get --id spiffe://org-a.example/agents/none
[ "$(json_get "$out" error)" = not_found ] || fail "get missing: $out"
run 0 "$A" identity list --prefix spiffe://org-a.example/agents/ --limit 1
has "$out" 'len(j["identities"]) == 1 and j["next"] == "spiffe://org-a.example/agents/planner"'
run 0 "$A" identity list --prefix spiffe://org-a.example/agents/ --limit 1 \
  --after spiffe://org-a.example/agents/planner
has "$out" '[i["id"] for i in j["identities"]] == ["spiffe://org-a.example/agents/research"]'
run 2 "$A" identity list --status lost
[ "$(json_get "$out" message)" = '--status: "lost" is not a status; write active or revoked' ] || fail "status: $out"
ok "identity get shows links; identity list pages by --limit/--after"

run 0 "$A" identity link --id spiffe://org-a.example/agents/research \
  --to spiffe://org-a.example/agents/planner --metadata '{"calls":"quote"}'
has "$out" 'j["from"] == "spiffe://org-a.example/agents/research" and j["to"] == "spiffe://org-a.example/agents/planner" and j["kind"] == "linked" and j["metadata"] == {"calls": "quote"}'
run 1 "$A" identity link --id spiffe://org-a.example/agents/research \
  --to spiffe://org-a.example/agents/planner
[ "$(json_get "$out" error)" = already_exists ] || fail "second link: $out"
run 2 "$A" identity link --id spiffe://org-a.example/agents/research \
  --to spiffe://org-a.example/agents/planner --kind friend
[ "$(json_get "$out" error)" = usage ] || fail "link kind: $out"
run 0 "$A" identity discover
has "$out" '[i["id"] for i in j["identities"]] == ["spiffe://org-a.example/agents/planner"] and j["identities"][0]["metadata"] == {"team": "blue"}'
run 1 "$A" identity discover --trust-domain org-b.example
[ "$(json_get "$out" error)" = not_found ] || fail "discover elsewhere: $out"
ok "identity link (409 the second time) and discover (discoverable identities of this domain only)"

# The SDK agent fetches an identity folder that the chain commands use.
run 0 "$A" agent fetch --id aztp://org-a.example/agents/planner --out "$T/planner" --ttl 10m
has "$out" 'j["id"] == "spiffe://org-a.example/agents/planner" and j["key_type"] == "ec-p256"'
[ "$(stat -c %a "$T/planner/svid.key")" = 600 ] || fail "key mode"
openssl verify -CAfile "$T/data/bundle.pem" "$T/planner/svid.pem" >/dev/null || fail "openssl verify"
openssl x509 -in "$T/planner/svid.pem" -noout -ext subjectAltName \
  | grep -q "URI:spiffe://org-a.example/agents/planner$" || fail "SAN"
cmp -s <(openssl x509 -in "$T/planner/svid.pem" -noout -pubkey) \
  <(openssl pkey -in "$T/planner/svid.key" -pubout) || fail "key does not match the SVID"
run 0 "$A" svid verify --svid "$T/planner/svid.pem" --bundle "org-a.example=$T/planner/bundle.json"
# Issue 13: agent fetch into the same folder for the same ID renews it (as
# the SDK agent does); any other content of --out needs --force.
s1="$(openssl x509 -in "$T/planner/svid.pem" -noout -serial)"
run 0 "$A" agent fetch --id spiffe://org-a.example/agents/planner --out "$T/planner"
[ "$(openssl x509 -in "$T/planner/svid.pem" -noout -serial)" != "$s1" ] || fail "not renewed"
run 1 "$A" agent fetch --id spiffe://org-a.example/agents/research --out "$T/planner"
has "$out" 'j["error"] == "already_exists" and j["message"].endswith("holds the identity folder of spiffe://org-a.example/agents/planner; --force replaces it")'
run 1 "$A" agent fetch --id spiffe://org-a.example/agents/planner --out "$T/data"
has "$out" 'j["error"] == "already_exists" and j["message"].endswith("/data/bundle.json already exists; --force replaces it")'
"$A" ca init --trust-domain org-a.example --out "$T/ca-here" >/dev/null || fail "ca init"
run 1 "$A" agent fetch --id spiffe://org-a.example/agents/planner --out "$T/ca-here"
has "$out" 'j["error"] == "already_exists" and "ca-here/" in j["message"]'
# --force replaces another identity's folder (here a copy of planner's).
cp -r "$T/planner" "$T/other"
run 0 "$A" agent fetch --id spiffe://org-a.example/agents/research --out "$T/other" --force
openssl x509 -in "$T/other/svid.pem" -noout -ext subjectAltName | grep -q 'URI:spiffe://org-a.example/agents/research' ||
  fail "--force did not replace the folder"
run 0 "$A" agent fetch --id spiffe://org-a.example/agents/research --out "$T/research" --key-type ed25519
B="--bundle org-a.example=$T/planner/bundle.json"
"$A" chain mint --svid "$T/planner" --aud spiffe://org-a.example/agents/research \
  --cap 'payments:*' > "$T/hop0" || fail "chain mint with the fetched folder"
"$A" chain extend --svid "$T/research" --chain "$T/hop0" $B \
  --aud spiffe://org-a.example/agents/payments --cap payments:quote > "$T/hop1" || fail "chain extend"
run 0 "$A" chain verify --chain "$T/hop1" --audience spiffe://org-a.example/agents/payments $B
has "$out" 'j["valid"] and j["sub"] == "spiffe://org-a.example/agents/planner" and j["capabilities"] == ["payments:quote"]'
run 0 "$A" chain verify --chain "$T/hop1" --audience spiffe://org-a.example/agents/payments $B --skew 0s
run 1 "$A" chain verify --chain "$T/hop1" --audience spiffe://org-a.example/agents/payments $B --skew 6m
[[ "$(json_get "$out" message)" == *"skew must be between 0 and 300 seconds"* ]] || fail "--skew 6m: $out"
run 1 "$A" agent fetch --id spiffe://org-a.example/agents/none --out "$T/none"
[ "$(json_get "$out" error)" = not_found ] || fail "fetch unregistered: $out"
[ ! -e "$T/none" ] || fail "a failed fetch wrote a folder"
ok "agent fetch writes an identity folder that openssl verifies and chain mint/extend/verify use"

# Revocation.
run 0 "$A" identity revoke --id spiffe://org-a.example/agents/research --reason "key compromise"
has "$out" 'j["status"] == "revoked" and j["revoked_reason"] == "key compromise"'
run 1 "$A" agent fetch --id spiffe://org-a.example/agents/research --out "$T/research2"
[ "$(json_get "$out" error)" = revoked ] || fail "fetch revoked: $out"
run 0 "$A" identity list --status revoked
has "$out" '[i["id"] for i in j["identities"]] == ["spiffe://org-a.example/agents/research"]'
run 0 "$A" identity reissue --id spiffe://org-a.example/agents/research
has "$out" 'j["status"] == "active"'
ok "identity revoke stops issuance; reissue restores it"

# API keys.
run 0 "$A" apikey create --scope /tools/ --description "tools team"
SCOPED="$(json_get "$out" api_key)"
SCOPED_ID="$(json_get "$out" key_id)"
# The scope is stored normalised: /tools, which covers /tools/... by whole
# segments (docs/aztpd.md, "Authentication").
has "$out" 'j["scope"] == "/tools" and j["description"] == "tools team" and not j["revoked"]'
[[ "$SCOPED" == "aztp_$SCOPED_ID."* ]] || fail "key format"
run 0 "$A" apikey list
has "$out" 'sorted(k["scope"] for k in j["api_keys"]) == ["/tools", "admin"] and all("api_key" not in k for k in j["api_keys"])'
run 0 "$A" identity register --id spiffe://org-a.example/tools/search --api-key "$SCOPED"
run 1 "$A" identity register --id spiffe://org-a.example/agents/sneaky --api-key "$SCOPED"
[ "$(json_get "$out" error)" = permission_denied ] || fail "scoped outside prefix: $out"
run 1 "$A" identity get --id spiffe://org-a.example/agents/planner --api-key "$SCOPED"
[ "$(json_get "$out" error)" = permission_denied ] || fail "scoped get: $out"
run 1 "$A" apikey list --api-key "$SCOPED"
[ "$(json_get "$out" error)" = permission_denied ] || fail "scoped apikey list: $out"
run 0 "$A" agent fetch --id spiffe://org-a.example/tools/search --out "$T/search" --api-key "$SCOPED"
run 1 "$A" agent fetch --id spiffe://org-a.example/agents/planner --out "$T/p2" --api-key "$SCOPED"
[ "$(json_get "$out" error)" = permission_denied ] || fail "scoped fetch: $out"
run 0 "$A" identity list --api-key "$SCOPED"
has "$out" '[i["id"] for i in j["identities"]] == ["spiffe://org-a.example/tools/search"]'
run 0 "$A" apikey revoke --key-id "$SCOPED_ID"
has "$out" 'j["revoked"]'
run 1 "$A" identity list --api-key "$SCOPED"
[ "$(json_get "$out" error)" = unauthenticated ] || fail "revoked key: $out"
run 1 "$A" apikey revoke --key-id 0123456789abcdef
[ "$(json_get "$out" error)" = not_found ] || fail "unknown key id: $out"
ok "apikey create prints the key once; scoped keys stay in their prefix; revoked keys are refused"

# The server must be the one the bundle vouches for.
"$A" ca init --trust-domain org-a.example --out "$T/impostor" >/dev/null
run 1 "$A" identity list --bundle "$T/impostor/bundle.json"
[ "$(json_get "$out" error)" = unauthenticated ] || fail "wrong bundle: $out"
run 1 "$A" identity list --bundle "$T/data/bundle.pem"
[ "$(json_get "$out" error)" = malformed ] || fail "bundle not JSON: $out"
run 3 "$A" identity list --server https://127.0.0.1:1
[ "$(json_get "$out" error)" = io_error ] || fail "no server: $out"
run 1 "$A" identity list --server http://127.0.0.1:1
[ "$(json_get "$out" error)" = invalid_argument ] || fail "plain http: $out"
run 1 "$A" identity list --api-key aztp_00.wrong
[ "$(json_get "$out" error)" = unauthenticated ] || fail "bad key: $out"
run 2 "$A" identity nope
[ "$(json_get "$out" error)" = usage ] || fail "unknown command: $out"
ok "a wrong bundle, a plain URL, no server and bad keys fail with their reasons and exit codes"

# Issue 13: aztpd's audit log through the API: a source that never shipped
# is not_found, never an empty log that verifies; bad filters are usage.
run 0 "$A" audit verify
run 1 "$A" audit verify --source spiffe://org-a.example/tools/nobody
has "$out" 'j["error"] == "not_found" and "no records were shipped by" in j["message"]'
run 1 "$A" audit query --source aztp://org-a.example/tools/nobody
[ "$(json_get "$out" error)" = not_found ] || fail "query source: $out"
run 2 "$A" audit query --decision denied
run 0 "$A" audit query --action identity. --identity aztp://org-a.example/agents/planner
has "$out" 'len(j["records"]) >= 1 and all(r["action"].startswith("identity.") for r in j["records"])'
ok "audit through aztpd: an unknown source is not_found; filters are checked"

# No output but `apikey create`'s holds an API key; neither does the log.
secret() { printf '%s' "${1#*.}"; }
grep -v '"api_key"' "$T/outputs" | grep -qF -e "$(secret "$ADMIN")" && fail "admin key echoed"
grep -v '"api_key"' "$T/outputs" | grep -qF -e "$(secret "$SCOPED")" && fail "scoped key echoed"
[ "$(grep -cF -e "$(secret "$SCOPED")" "$T/outputs")" = 1 ] || fail "the new key shown more than once"
grep -qF -e "$(secret "$ADMIN")" "$T/aztpd.log" && fail "admin key in the server log"
ok "API keys are never echoed (apikey create shows the new one once)"

kill -TERM $PID
wait $PID || fail "aztpd exit status $?"
done_checks
