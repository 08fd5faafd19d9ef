#!/usr/bin/env bash
# Federation run from the CLI between two aztpd on loopback: `aztp federation
# add` on org-a for org-b (https_spiffe against org-b's /v1/bundle), `list`,
# `refresh`, an org-b workload accepted by org-a over mTLS and refused at once
# after `remove`; per-identity narrowing with `identity register
# --federates-with`, `identity set-federation` and `bundle fetch --for`.
source "$(dirname "$0")/../lib/common.sh"
D="$AZTP_BUILD/aztpd/aztpd"
A="$AZTP_BIN"
[ -x "$D" ] || fail "aztpd is not built at $D"

# domains FILE: the trust domains of a bundle-map file, comma-separated.
domains() {
  /usr/bin/python3 -c 'import json,sys; print(",".join(sorted(json.load(open(sys.argv[1]))["trust_domains"])))' "$1"
}

expect_exit 0 "$D" init --data-dir "$T/b" --trust-domain org-b.example
KEY_B="$(json_get "$out" admin_api_key)"
expect_exit 0 "$D" init --data-dir "$T/a" --trust-domain org-a.example
KEY_A="$(json_get "$out" admin_api_key)"
start_aztpd "$T/b"
URL_B="$URL"
start_aztpd "$T/a"
URL_A="$URL"

# An org-b workload with an SVID from org-b's control plane.
AZTP_SERVER="$URL_B" AZTP_API_KEY="$KEY_B" AZTP_BUNDLE="$T/b/bundle.json" \
  run 0 "$A" identity register --id spiffe://org-b.example/agent/payments
AZTP_SERVER="$URL_B" AZTP_API_KEY="$KEY_B" AZTP_BUNDLE="$T/b/bundle.json" \
  run 0 "$A" agent fetch --id spiffe://org-b.example/agent/payments --out "$T/payments"

export AZTP_SERVER="$URL_A" AZTP_API_KEY="$KEY_A" AZTP_BUNDLE="$T/a/bundle.json"
C=(curl -sS --cacert "$T/a/bundle.pem" --max-time 10)
# mtls_answer: "STATUS REASON" of org-a's answer to the org-b workload's
# SVID on /v1/discover: the handshake always passes (the client's
# certificate is verified after it); an SVID of a trust domain org-a does
# not federate with is 401 untrusted_trust_domain, never an empty reply
# (issue 13), and a federated one is 401 too (the control plane
# authenticates only its own trust domain), with another reason.
mtls_answer() {
  rm -f "$T/mtls.body"
  local status
  status="$("${C[@]}" -o "$T/mtls.body" -w '%{http_code}' --cert "$T/payments/svid.pem" \
    --key "$T/payments/svid.key" "$URL_A/v1/discover" 2>/dev/null || true)"
  echo "$status $(/usr/bin/python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1]))["error"])
except Exception: print("-")' "$T/mtls.body")"
}
[ "$(mtls_answer)" = "401 untrusted_trust_domain" ] || fail "org-b's SVID before any federation: $(mtls_answer)"

ADD=("$A" federation add --trust-domain org-b.example --endpoint-url "$URL_B/v1/bundle"
     --profile https_spiffe --endpoint-id spiffe://org-b.example/aztpd)
run 1 "${ADD[@]}" --bootstrap-bundle "$T/a/bundle.json"
[ "$(json_get "$out" error)" = invalid_argument ] || fail "own bundle as bootstrap: $out"
run 1 "${ADD[@]}"
[ "$(json_get "$out" error)" = invalid_argument ] || fail "no bootstrap: $out"
run 2 "$A" federation add --trust-domain org-b.example --endpoint-url "$URL_B/v1/bundle"
[ "$(json_get "$out" error)" = usage ] || fail "no profile: $out"
run 0 "${ADD[@]}" --bootstrap-bundle "$T/b/bundle.json"
has "$out" 'j["trust_domain"] == "org-b.example" and j["first_fetch"]["result"] == "updated"'
run 1 "${ADD[@]}" --bootstrap-bundle "$T/b/bundle.json"
[ "$(json_get "$out" error)" = already_exists ] || fail "second add: $out"
ok "federation add: org-b's bundle fetched at once over https_spiffe; a wrong or missing bootstrap bundle and a second add exit 1"

SEQ_B="$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["spiffe_sequence"])' "$T/b/bundle.json")"
run 0 "$A" federation list
has "$out" "len(j['federations']) == 1 and j['federations'][0]['trust_domain'] == 'org-b.example' and j['federations'][0]['trusted'] and j['federations'][0]['bundle_sequence'] == $SEQ_B and j['federations'][0]['source'] == 'api' and j['federations'][0]['profile'] == 'https_spiffe' and j['federations'][0]['last']['result'] == 'updated'"
run 0 "$A" federation list --table
[[ "$out" == *"TRUST DOMAIN"* && "$out" == *"org-b.example"*"https_spiffe"*"api"*"yes"*"$SEQ_B"* ]] \
  || fail "table: $out"
run 0 "$A" federation refresh org-b.example
has "$out" "j['trust_domain'] == 'org-b.example' and j['result'] == 'unchanged' and j['new_sequence'] == $SEQ_B"
run 1 "$A" federation refresh org-c.example
[ "$(json_get "$out" error)" = not_found ] || fail "refresh unknown: $out"
ok "federation list (JSON and --table) shows org-b trusted at sequence $SEQ_B; refresh fetches now"

answer="$(mtls_answer)"
[[ "$answer" == "401 "* && "$answer" != *untrusted_trust_domain ]] || fail "federated mTLS: $answer"
ok "an org-b workload passes org-a's handshake (its SVID is 401 at the control plane)"

# Per-identity narrowing.
run 0 "$A" identity register --id spiffe://org-a.example/agents/narrow --federates-with-none
has "$out" 'j["federates_with"] == []'
run 0 "$A" identity register --id aztp://org-a.example/agents/bee --federates-with org-b.example
has "$out" 'j["federates_with"] == ["org-b.example"]'
run 0 "$A" identity register --id spiffe://org-a.example/agents/wide
has "$out" 'j["federates_with"] is None'
run 2 "$A" identity register --id spiffe://org-a.example/agents/x \
  --federates-with org-b.example --federates-with-none
[ "$(json_get "$out" error)" = usage ] || fail "both: $out"
run 1 "$A" identity register --id spiffe://org-a.example/agents/x --federates-with Org-B
[ "$(json_get "$out" error)" = malformed ] || fail "bad domain: $out"

run 0 "$A" bundle fetch --out "$T/all.json"
has "$out" "j['for'] is None and [d['trust_domain'] for d in j['trust_domains']] == ['org-a.example', 'org-b.example']"
[ "$(domains "$T/all.json")" = org-a.example,org-b.example ] || fail "all: $(cat "$T/all.json")"
run 0 "$A" bundle fetch --out "$T/narrow.json" --for spiffe://org-a.example/agents/narrow
has "$out" 'j["for"] == "spiffe://org-a.example/agents/narrow"'
[ "$(domains "$T/narrow.json")" = org-a.example ] || fail "narrow: $(cat "$T/narrow.json")"
run 0 "$A" bundle fetch --for aztp://org-a.example/agents/bee
has "$out" 'sorted(j["trust_domains"]) == ["org-a.example", "org-b.example"]'
run 0 env -u AZTP_API_KEY "$A" bundle fetch
has "$out" 'sorted(j["trust_domains"]) == ["org-a.example", "org-b.example"]'
run 1 env -u AZTP_API_KEY "$A" bundle fetch --for spiffe://org-a.example/agents/narrow
[ "$(json_get "$out" error)" = unauthenticated ] || fail "for without key: $out"
ok "identity register --federates-with/--federates-with-none; bundle fetch --for shows the narrowed map"

run 0 "$A" identity set-federation spiffe://org-a.example/agents/narrow --federates-with org-b.example
has "$out" 'j["id"] == "spiffe://org-a.example/agents/narrow" and j["federates_with"] == ["org-b.example"]'
run 0 "$A" bundle fetch --out "$T/narrow.json" --for spiffe://org-a.example/agents/narrow
[ "$(domains "$T/narrow.json")" = org-a.example,org-b.example ] || fail "widened: $(cat "$T/narrow.json")"
run 0 "$A" identity set-federation --id spiffe://org-a.example/agents/narrow --federates-with-none
has "$out" 'j["federates_with"] == []'
run 0 "$A" identity set-federation --id spiffe://org-a.example/agents/narrow --federates-with-any
has "$out" 'j["federates_with"] is None'
run 1 "$A" identity set-federation spiffe://org-a.example/agents/narrow --federates-with-none --federates-with-any
[ "$(json_get "$out" error)" = invalid_argument ] || fail "none and any: $out"
# The first spelling still works (deprecated, not listed in --help).
run 0 "$A" identity set-federation --id spiffe://org-a.example/agents/narrow --none
has "$out" 'j["federates_with"] == []'
run 0 "$A" identity set-federation --id spiffe://org-a.example/agents/narrow --any
has "$out" 'j["federates_with"] is None'
"$A" identity set-federation --help | grep -q -- '--none' && fail "--none is listed in --help"
run 1 "$A" identity set-federation spiffe://org-a.example/agents/none --any
[ "$(json_get "$out" error)" = not_found ] || fail "unknown identity: $out"
run 0 "$A" identity get --id spiffe://org-a.example/agents/bee
has "$out" 'j["federates_with"] == ["org-b.example"]'
ok "identity set-federation --federates-with/--federates-with-none/--federates-with-any (and the deprecated --none/--any)"

# Only admins manage federation.
expect_exit 0 "$A" apikey create --scope /agents/  # its output holds the key
SCOPED="$(json_get "$out" api_key)"
run 1 env AZTP_API_KEY="$SCOPED" "$A" federation list
[ "$(json_get "$out" error)" = permission_denied ] || fail "scoped list: $out"
run 1 env AZTP_API_KEY="$SCOPED" "$A" federation remove org-b.example
[ "$(json_get "$out" error)" = permission_denied ] || fail "scoped remove: $out"
ok "a scoped key may not list or remove relationships"

run 0 "$A" federation remove org-b.example
has "$out" 'j == {"trust_domain": "org-b.example", "removed": True}'
[ "$(mtls_answer)" = "401 untrusted_trust_domain" ] || fail "org-b's SVID after remove: $(mtls_answer)"
grep 'info client certificate refused' "$T/aztpd.log" | grep -q 'trust_domain=org-b.example.*reason=untrusted_trust_domain' \
  || fail "no info line for the refusal: $(grep 'certificate refused' "$T/aztpd.log")"
run 1 "$A" federation remove org-b.example
[ "$(json_get "$out" error)" = not_found ] || fail "second remove: $out"
run 0 "$A" federation list
has "$out" 'j["federations"] == []'
run 0 "$A" bundle fetch --out "$T/all.json"
[ "$(domains "$T/all.json")" = org-a.example ] || fail "after remove: $(cat "$T/all.json")"
ok "federation remove: org-b's workload is refused at once (401 untrusted_trust_domain, an info log line naming org-b.example) and its bundle is gone from the map"

for key in "$KEY_A" "$KEY_B" "$SCOPED"; do
  if grep -qF -e "${key#*.}" "$T/outputs"; then fail "an API key secret was printed"; fi
done
ok "no output holds an API key secret"
done_checks
