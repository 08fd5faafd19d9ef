#!/usr/bin/env bash
# Revocations across federation (docs/federation.md), real processes on
# loopback: three aztpd (org-a, org-b, org-c), aztp-proxy in front of
# research (org-a, egress) and payments (org-b, inbound).
#   * org-a and org-b federate both ways with revocations_url (org-b
#     fetches org-a's bundle and list from org-a's bundle endpoint listener,
#     https_spiffe; org-a fetches org-b's from org-b's API); org-b also
#     federates with org-c, without revocations_url;
#   * research calls payments through both proxies: 200;
#   * finding 13: org-a revokes research; within one fetch of org-b's
#     poller (federation_max_refresh 2s) plus one revocation refresh of
#     payments' proxy (1s), payments' proxy refuses research (401 revoked),
#     as a TLS peer and as hop 0 of a chain another org-a agent forwards;
#   * org-c, federated without revocations_url, is unaffected: its revoked
#     ledger stays accepted until its SVID expires, as documented.
source "$(dirname "$0")/../lib/common.sh"
D="$AZTP_BUILD/aztpd/aztpd"
PX="$AZTP_BUILD/proxy/aztp-proxy"
APP="$(dirname "$0")/../lib/echo_app.py"
for bin in "$D" "$PX" "$AZTP_BIN"; do [ -x "$bin" ] || fail "$bin is not built"; done

RESEARCH=spiffe://org-a.example/agents/research
PLANNER=spiffe://org-a.example/agents/planner
PAYMENTS=spiffe://org-b.example/tools/payments
LEDGER=spiffe://org-c.example/agents/ledger
# How long a revocation at org-a may take to be enforced at payments' proxy:
# org-b's poller (2s) + payments' revocation refresh (1s) + org-b's
# maintenance tick (1s), with room for a loaded machine.
WITHIN=8

for org in a b c; do
  expect_exit 0 "$D" init --data-dir "$T/$org" --trust-domain "org-$org.example"
  eval "KEY_$org=\"\$(json_get \"\$out\" admin_api_key)\""
done
cat > "$T/a.yaml" <<YAML
maintain_interval: 1s
bundle_endpoint:
  listen: 127.0.0.1:0
  profile: https_spiffe
YAML
cat > "$T/b.yaml" <<YAML
maintain_interval: 1s
federation_max_refresh: 2s
YAML
start_aztpd "$T/a" --config "$T/a.yaml"; URL_a="$URL"
start_aztpd "$T/b" --config "$T/b.yaml"; URL_b="$URL"
start_aztpd "$T/c"; URL_c="$URL"
BURL_A="$(cat "$T/a/aztpd.bundle.url")"

# on ORG CMD...: the aztp CLI against one organisation's aztpd.
on() {
  local org="$1"; shift
  local u="URL_$org" k="KEY_$org"
  AZTP_SERVER="${!u}" AZTP_API_KEY="${!k}" AZTP_BUNDLE="$T/$org/bundle.json" "$AZTP_BIN" "$@"
}
# org_api ORG METHOD PATH [BODY]: call an organisation's API as its admin.
org_api() {
  local org="$1" method="$2" path="$3" body="${4:-}"
  local u="URL_$org" k="KEY_$org"
  curl -sS --max-time 20 --cacert "$T/$org/bundle.pem" -X "$method" \
    -H "Authorization: Bearer ${!k}" ${body:+-H 'Content-Type: application/json' --data "$body"} \
    "${!u}$path"
}
field() { /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1])
for k in sys.argv[2].split("."): d=d[k]
print("null" if d is None else d)' "$1" "$2"; }

# The bundle endpoint listener serves the list, as GET /v1/revocations does.
r="$(curl -sS --max-time 10 --cacert "$T/a/bundle.pem" "${BURL_A%/bundle}/revocations")"
[ "$r" = "$(curl -sS --max-time 10 --cacert "$T/a/bundle.pem" "$URL_a/v1/revocations")" ] \
  || fail "org-a's bundle endpoint /revocations: $r"
expect_exit 0 on b federation add --trust-domain org-a.example --endpoint-url "$BURL_A" \
  --profile https_spiffe --endpoint-id spiffe://org-a.example/aztpd \
  --bootstrap-bundle "$T/a/bundle.json" --revocations-url "${BURL_A%/bundle}/revocations"
[ "$(field "$out" first_fetch.result)" = updated ] || fail "org-b -> org-a: $out"
[ "$(field "$out" first_fetch.revocations.result)" = updated ] || fail "org-b -> org-a list: $out"
expect_exit 0 on a federation add --trust-domain org-b.example --endpoint-url "$URL_b/v1/bundle" \
  --profile https_spiffe --endpoint-id spiffe://org-b.example/aztpd \
  --bootstrap-bundle "$T/b/bundle.json" --revocations-url "$URL_b/v1/revocations"
[ "$(field "$out" first_fetch.revocations.result)" = updated ] || fail "org-a -> org-b list: $out"
expect_exit 0 on b federation add --trust-domain org-c.example --endpoint-url "$URL_c/v1/bundle" \
  --profile https_spiffe --endpoint-id spiffe://org-c.example/aztpd \
  --bootstrap-bundle "$T/c/bundle.json"
[ "$(field "$out" first_fetch.result)" = updated ] || fail "org-b -> org-c: $out"
has "$out" '"revocations" not in j["first_fetch"]'
ok "org-a and org-b federate both ways with revocations_url (org-b from org-a's bundle endpoint listener), org-b with org-c without"

# --- identities, policy, proxies ---
for spec in "a $RESEARCH" "a $PLANNER" "b $PAYMENTS" "c $LEDGER"; do
  read -r org id <<<"$spec"
  expect_exit 0 on "$org" identity register --id "$id"
done
r="$(org_api b POST /v1/policies '{"name":"payments","document":{"Statement":[
  {"Sid":"Quotes","Effect":"Allow","Action":"payments:quote"}]}}')"
POLICY="$(field "$r" id)"
r="$(org_api b POST "/v1/policies/$POLICY:attach" "{\"identity\":\"$PAYMENTS\"}")"
for org in a b; do
  k="KEY_$org"
  printf '%s' "${!k}" > "$T/$org.key"
  chmod 600 "$T/$org.key"
done
python3 "$APP" --port-file "$T/app.port" --name payments-app &
PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$T/app.port" ] && break; sleep 0.05; done
APP_PORT="$(cat "$T/app.port")"
# proxy NAME ORG ID SECTION: write NAME.yaml and start aztp-proxy.
proxy() {
  local name="$1" org="$2" id="$3" section="$4" u="URL_$2"
  cat > "$T/$name.yaml" <<YAML
identity: $id
control_plane:
  url: ${!u}
  bundle_file: $T/$org/bundle.json
  api_key_file: $T/$org.key
  bundle_refresh: 1s
  revocation_refresh: 1s
  policy_refresh: 1s
$section
audit:
  db: $T/$name-audit.db
YAML
  rm -f "$T/$name.ready"
  "$PX" run --config "$T/$name.yaml" --ready-file "$T/$name.ready" 2>"$T/$name.log" &
  PIDS+=($!)
  for _ in $(seq 1 200); do [ -s "$T/$name.ready" ] && break; sleep 0.05; done
  [ -s "$T/$name.ready" ] || fail "$name proxy did not start: $(tail -5 "$T/$name.log")"
}
proxy payments b "$PAYMENTS" "inbound:
  listen: 127.0.0.1:0
  upstream: http://127.0.0.1:$APP_PORT
  routes:
    - {method: POST, path: /quote, action: \"payments:quote\"}"
proxy research a "$RESEARCH" "egress:
  listen: 127.0.0.1:0
  root_capabilities: [\"payments:quote\"]"
IN="$(json_get "$(cat "$T/payments.ready")" inbound_port)"
EG="$(json_get "$(cat "$T/research.ready")" egress_port)"

status="$(curl -sS --max-time 20 -x "http://127.0.0.1:$EG" -H "Aztp-Target: $PAYMENTS" \
  -o "$T/out" -w '%{http_code}' --data '{}' "http://127.0.0.1:$IN/quote")"
[ "$status" = 200 ] || fail "research -> payments through the proxies: $status $(cat "$T/out")"
[ "$(field "$(cat "$T/out")" headers.Aztp-Caller)" = "$RESEARCH" ] || fail "caller: $(cat "$T/out")"
ok "research (org-a) calls payments (org-b) through both proxies: 200"

# --- the same callers with SVID folders, straight to payments' proxy ---
expect_exit 0 on a agent fetch --id "$RESEARCH" --out "$T/research"
expect_exit 0 on a agent fetch --id "$PLANNER" --out "$T/planner"
expect_exit 0 on c agent fetch --id "$LEDGER" --out "$T/ledger"
curl -sS --max-time 10 --cacert "$T/a/bundle.pem" -o "$T/map-a.json" "$URL_a/v1/bundles"
# direct SVID CHAIN: mTLS from SVID to payments' proxy with Aztp-Chain CHAIN.
direct() {
  status="$(curl -sS --max-time 20 -k --cert "$T/$1/svid.pem" --key "$T/$1/svid.key" \
    -H "Aztp-Chain: $2" --data '{}' -o "$T/out" -w '%{http_code}' "https://127.0.0.1:$IN/quote")"
  body="$(cat "$T/out")"
}
mint() { "$AZTP_BIN" chain mint --svid "$T/$1" --aud "$2" --cap payments:quote; }
# research_direct: research itself, a fresh chain each time (no replay).
research_direct() { direct research "$(mint research "$PAYMENTS")"; }
# forwarded: research's chain, extended by planner, sent by planner.
forwarded() {
  mint research "$PLANNER" > "$T/hop0"
  "$AZTP_BIN" chain extend --svid "$T/planner" --chain "$T/hop0" --bundle "$T/map-a.json" \
    --peer "$RESEARCH" --aud "$PAYMENTS" > "$T/hop1" || fail "planner could not extend research's chain"
  direct planner "$(cat "$T/hop1")"
}
ledger_direct() { direct ledger "$(mint ledger "$PAYMENTS")"; }
research_direct; [ "$status" = 200 ] || fail "research direct: $status $body"
forwarded; [ "$status" = 200 ] || fail "research's chain via planner: $status $body"
ledger_direct; [ "$status" = 200 ] || fail "ledger (org-c) direct: $status $body"
ok "research directly, research's chain forwarded by planner, and org-c's ledger: all 200 at payments' proxy"

# --- finding 13: org-a revokes research ---
t0="$(date +%s.%N)"
expect_exit 0 on a identity revoke --id "$RESEARCH" --reason "finding 13"
expect_exit 0 on c identity revoke --id "$LEDGER" --reason "no revocations_url"
refused=""
for _ in $(seq 1 $((WITHIN * 5))); do
  research_direct
  if [ "$status" = 401 ]; then refused="$(date +%s.%N)"; break; fi
  [ "$status" = 200 ] || fail "research while the revocation travels: $status $body"
  sleep 0.2
done
[ -n "$refused" ] || fail "finding 13: research still accepted by payments' proxy ${WITHIN}s after org-a revoked it: $body"
[ "$(field "$body" error)" = revoked ] || fail "finding 13: want revoked: $body"
took="$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$refused")"
echo "# revocation at org-a to refusal at org-b's payments proxy: ${took}s"
forwarded
[ "$status" = 401 ] || fail "finding 13: research's chain via planner: $status $body"
[ "$(field "$body" error)" = revoked ] && [ "$(field "$body" hop)" = 0 ] \
  || fail "finding 13: want revoked at hop 0: $body"
ok "finding 13: org-a revokes research; payments' proxy (org-b) refuses it within ${took}s (401 revoked as a TLS peer, and at hop 0 of the chain planner forwards)"

r="$(curl -sS --max-time 10 --cacert "$T/b/bundle.pem" "$URL_b/v1/revocation-lists")"
has "$r" "sorted(j['trust_domains']) == ['org-a.example', 'org-b.example']"
has "$r" "j['trust_domains']['org-a.example']['ids'] == ['$RESEARCH']"
expect_exit 0 on b federation list
has "$out" "[f['revocations_url'] for f in j['federations']] == ['${BURL_A%/bundle}/revocations', None]"
has "$out" "j['federations'][0]['revocations_sequence'] >= 1"
expect_exit 0 on b audit query --action federation.revocations_updated
has "$out" "any(r['subject'] == 'spiffe://org-a.example' for r in j['records'])"
curl -sS --max-time 10 --cacert "$T/b/bundle.pem" "$URL_b/metrics" > "$T/metrics"
grep -q '^aztpd_federation_revocations_fetches_total{result="updated",trust_domain="org-a.example"} ' "$T/metrics" \
  || fail "metric: $(grep revocations "$T/metrics" || echo none)"
ok "org-b serves org-a's list at /v1/revocation-lists (none for org-c), lists it with the relationship, audits and counts its fetches"

# --- org-c, without revocations_url, is unaffected ---
sleep 3  # beyond one poller fetch and one proxy refresh more
ledger_direct
[ "$status" = 200 ] || fail "ledger (org-c, no revocations_url): $status $body"
expect_exit 1 on c agent fetch --id "$LEDGER" --out "$T/ledger-again"
ok "org-c federated without revocations_url: its revoked ledger is still accepted by payments' proxy (until its SVID expires), though org-c issues it nothing more"

grep -q 'eyJ' "$T"/payments.log "$T"/research.log && fail "a token in a proxy log"
done_checks
