#!/usr/bin/env bash
# A person at the root of a chain, end to end with a real OpenID provider
# (tests/oidc/idp.mjs: the npm package oidc-provider, over HTTPS with a test
# CA): alice logs in to the app "travel-app" (authorization code + PKCE,
# through the provider's login and consent pages), the app's agent
# exchanges her ID token at aztpd (POST /v1/oidc/token, RFC 8693, mTLS with
# the agent's SVID, `aztp oidc exchange`), and the root aztpd signs carries
# her: it verifies at the agent, extends to a tool of another trust domain
# and a policy there decides on her group. Then the attacks of docs/oidc.md:
# expired, wrong-aud, alg none, HS256 keyed with the public key, unknown
# kid, a second provider claiming the same issuer from another URL, an
# agent not listed for the app, policies that refuse bob, an agent naming a
# person itself; and a key rotation at the provider mid-test. Last, aztpd's
# own browser login (GET /v1/oidc/callback): alice logs in for the agent,
# the app redeems the one-time result; a wrong nonce (a provider that
# tampers with its ID tokens), a replayed callback and an unregistered
# return URL fail.
source "$(dirname "$0")/../lib/common.sh"
A="$AZTP_BIN"
D="$AZTP_BUILD/aztpd/aztpd"
[ -x "$D" ] || fail "aztpd is not built at $D"
OIDC="$AZTP_SOURCE/tests/oidc"
HELPER="$AZTP_SOURCE/tests/interop/oidc_idp.mjs"
export AZTP_NODE_PATH
[ -f "$AZTP_NODE_PATH/oidc-provider/lib/index.js" ] ||
  fail "oidc-provider is not installed under $AZTP_NODE_PATH (run scripts/install-deps.sh)"
# shellcheck source=../oidc/pki.sh
source "$OIDC/pki.sh"
oidc_test_pki "$T" || fail "openssl: $(cat "$T/pki.err")"

REDIRECT="https://127.0.0.1:1/travel/callback"
APP_SECRET="travel-secret-$(openssl rand -hex 16)"
ASSISTANT=spiffe://org-a.example/agents/travel-assistant
OTHER=spiffe://org-a.example/agents/other
PAYMENTS=spiffe://org-b.example/tools/payments
for kid in key-1 key-2; do node "$OIDC/make_jwks.mjs" --alg RS256 --kid "$kid" > "$T/$kid.jwks"; done
node "$OIDC/make_jwks.mjs" --alg ES256 --kid key-1 > "$T/claimer.jwks"
# aztpd's port is chosen first: the providers know its callback URL.
AZTPD_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
CALLBACK="https://127.0.0.1:$AZTPD_PORT/v1/oidc/callback"
AZTPD_SECRET="aztpd-secret-$(openssl rand -hex 16)"
printf '%s\n' "$AZTPD_SECRET" > "$T/aztpd-client.secret"
RETURN="https://127.0.0.1:1/travel/done"
cat > "$T/clients.json" <<EOF
[{"client_id": "travel-app", "client_secret": "$APP_SECRET",
  "redirect_uris": ["$REDIRECT"], "token_endpoint_auth_method": "client_secret_basic"},
 {"client_id": "aztpd-org-a", "client_secret": "$AZTPD_SECRET",
  "redirect_uris": ["$CALLBACK"], "token_endpoint_auth_method": "client_secret_basic"}]
EOF

# idp NAME PORT ARGS...: start idp.mjs over HTTPS on PORT (0: any); sets
# IDP_PORT and IDP_ISSUER from its ready line.
idp() {
  local name="$1" port="$2"; shift 2
  node "$OIDC/idp.mjs" --cert "$T/server.pem" --key "$T/server.key" --port "$port" \
    --clients "$T/clients.json" "$@" > "$T/$name.out" 2>> "$T/$name.err" &
  PIDS+=($!)
  eval "${name}_PID=$!"
  for _ in $(seq 1 200); do [ -s "$T/$name.out" ] && break; sleep 0.05; done
  local line; line="$(head -n 1 "$T/$name.out")"
  [[ "$line" =~ ^\{\"ready\":true,\"issuer\":\"([^\"]+)\",\"port\":([0-9]+)\}$ ]] ||
    fail "idp.mjs $name did not start: $(tail -3 "$T/$name.err")"
  IDP_ISSUER="${BASH_REMATCH[1]}"
  IDP_PORT="${BASH_REMATCH[2]}"
}
get() { curl -sS --max-time 10 --cacert "$T/ca.pem" "$@"; }

idp main 0 --jwks "$T/key-1.jwks" --test-sign
ISSUER="$IDP_ISSUER"
MAIN_PORT="$IDP_PORT"
idp tamper 0 --jwks "$T/key-1.jwks" --tamper wrong-nonce
TAMPER_ISSUER="$IDP_ISSUER"

# login USER PASSWORD: the app's login as USER (code + PKCE through the
# provider's pages) and its code exchange; prints the ID token into
# $T/USER.idt (never on the terminal).
login() {
  local user="$1" dir="$T/login-$1"
  mkdir -p "$dir"
  get "$ISSUER/.well-known/openid-configuration" > "$dir/discovery.json"
  node "$HELPER" authorize "$dir/discovery.json" travel-app "$REDIRECT" "$dir" > "$dir/url"
  node "$OIDC/login.mjs" --url "$(cat "$dir/url")" --user "$user" --password "$2" \
    --ca "$T/ca.pem" > "$dir/login.json" || fail "$user's login: $(cat "$dir/login.json")"
  node "$HELPER" callback "$dir/login.json" "$REDIRECT" "$dir" "$ISSUER" > "$dir/code" \
    || fail "$user's callback"
  local status
  status="$(get -o "$dir/token.json" -w '%{http_code}' -u "travel-app:$APP_SECRET" \
    --data-urlencode grant_type=authorization_code --data-urlencode "code=$(cat "$dir/code")" \
    --data-urlencode "redirect_uri=$REDIRECT" --data-urlencode "code_verifier=$(cat "$dir/verifier")" \
    "$(cat "$dir/token_endpoint")")"
  [ "$status" = 200 ] || fail "$user's code exchange at the provider: $status"
  /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id_token"])' \
    "$dir/token.json" > "$T/$user.idt"
}

# sign FILE JSON: /test/sign at the main provider (claims or a wrapper).
sign() {
  get -H 'Content-Type: application/json' --data-binary "$2" "$ISSUER/test/sign" > "$1" \
    || fail "/test/sign"
}

# ---- aztpd for org-a, trusting the provider for travel-app's agent ----

expect_exit 0 "$D" init --data-dir "$T/d" --trust-domain org-a.example
KEY="$(json_get "$out" admin_api_key)"
cat > "$T/aztpd.yaml" <<EOF
oidc:
  providers:
    - name: corp
      issuer: $ISSUER
      client_id: aztpd-org-a
      client_secret_file: $T/aztpd-client.secret
      ca_file: $T/ca.pem
      scopes: [openid, email, profile, groups]
      keys_min_refresh: 1s
      exchange_clients:
        - client_id: travel-app
          agents: [$ASSISTANT]
    - name: tampering
      issuer: $TAMPER_ISSUER
      client_id: aztpd-org-a
      client_secret_file: $T/aztpd-client.secret
      ca_file: $T/ca.pem
  login:
    callback_url: $CALLBACK
    return_urls:
      - agent: $ASSISTANT
        urls: [$RETURN]
EOF
"$D" run --data-dir "$T/d" --listen "127.0.0.1:$AZTPD_PORT" --config "$T/aztpd.yaml" \
  2>> "$T/aztpd.log" &
AZTPD_PIDS+=($!)
for _ in $(seq 1 200); do [ -s "$T/d/aztpd.url" ] && break; sleep 0.05; done
[ -s "$T/d/aztpd.url" ] || fail "aztpd did not start: $(tail -3 "$T/aztpd.log")"
URL="$(cat "$T/d/aztpd.url")"
export AZTP_SERVER="$URL" AZTP_API_KEY="$KEY" AZTP_BUNDLE="$T/d/bundle.json"
for id in "$ASSISTANT" "$OTHER"; do
  run 0 "$A" identity register --id "$id"
  run 0 "$A" agent fetch --id "$id" --out "$T/$(basename "$id")"
done
cat > "$T/quotes.json" <<'JSON'
{"Statement": [
  {"Sid": "Quotes", "Effect": "Allow", "Action": "payments:quote"},
  {"Sid": "FinanceRefunds", "Effect": "Allow", "Action": "payments:refund",
   "Condition": {"ForAnyValue:StringEquals": {"aztp:PersonGroups": "finance"},
                 "StringEquals": {"aztp:PersonAcr": "urn:aztp:acr:mfa"}}}]}
JSON
run 0 "$A" policy put --name person-grants --document "$T/quotes.json"
run 0 "$A" policy attach "$(json_get "$out" id)" --identity "$ASSISTANT"
ok "aztpd serves org-a with the provider corp (https, its CA) for travel-app's agent"

# exchange AGENT TOKEN_FILE CAP...: aztp oidc exchange as AGENT; $out holds
# the answer, $rc the exit code.
exchange() {
  local agent="$1" token="$2"; shift 2
  local caps=(); for c in "$@"; do caps+=(--cap "$c"); done
  set +e
  out="$("$A" oidc exchange --svid "$T/$agent" --id-token - "${caps[@]}" < "$token")"
  rc=$?
  set -e
  printf '%s\n' "$out" >> "$T/outputs"
}
# refused AGENT TOKEN_FILE REASON CAP...: the exchange exits 1 with REASON.
refused() {
  local agent="$1" token="$2" reason="$3"; shift 3
  exchange "$agent" "$token" "$@"
  [ "$rc" = 1 ] && [ "$(json_get "$out" error)" = "$reason" ] ||
    fail "want $reason, got exit $rc: $out"
}

# ---- alice: login, exchange, the chain across two organisations ----

login alice alice-password
exchange travel-assistant "$T/alice.idt" payments:quote payments:refund
[ "$rc" = 0 ] || fail "alice's exchange: $out"
has "$out" "j['subject'] == 'oidc:$ISSUER#alice' and j['capabilities'] == ['payments:quote', 'payments:refund'] and 0 < j['expires_in'] <= 300"
json_get "$out" chain > "$T/alice.chain"
run 0 "$A" chain verify --chain "$T/alice.chain" --bundle "org-a.example=$T/d/bundle.json" --audience "$ASSISTANT"
has "$out" "j['valid'] and j['sub'] == 'oidc:$ISSUER#alice' and j['path'][0] == 'spiffe://org-a.example/aztpd' and j['person']['groups'] == ['finance', 'staff'] and j['person']['acr'] == 'urn:aztp:acr:mfa' and j['person']['email'] == 'alice@example.com'"
ok "alice logs in to travel-app at the provider; its agent exchanges her ID token for a root aztpd signed: sub oidc:<issuer>#alice, both capabilities (group finance, acr mfa)"

# An ID token is exchanged once: a copy of it (a log, a stolen header) is
# worth nothing afterwards.
refused travel-assistant "$T/alice.idt" replay payments:quote
grep -q "$(cut -c1-40 "$T/alice.idt")" <<<"$out" && fail "the refusal echoes the token"
ok "alice's ID token exchanged a second time: refused (replay)"

# org-b: a CA of its own; payments gets an SVID there. The assistant extends
# alice's chain to it; payments verifies with both bundles and decides with
# a policy on alice's group.
run 0 "$A" ca init --trust-domain org-b.example --out "$T/ca-b"
run 0 "$A" svid issue --ca "$T/ca-b" --id "$PAYMENTS" --out "$T/payments"
BOTH=(--bundle "org-a.example=$T/d/bundle.json" --bundle "org-b.example=$T/ca-b/bundle.json")
run 0 "$A" chain extend --svid "$T/travel-assistant" --chain "$T/alice.chain" \
  "${BOTH[@]}" --aud "$PAYMENTS" --cap payments:refund
printf '%s' "$out" > "$T/alice-payments.chain"
cat > "$T/payments-policy.json" <<'JSON'
{"Statement": [{"Sid": "FinanceOnly", "Effect": "Allow", "Action": "payments:refund",
  "Condition": {"ForAnyValue:StringEquals": {"aztp:PersonGroups": "finance"},
                "StringEquals": {"aztp:PersonIssuer": "ISSUER"}}}]}
JSON
sed -i "s|ISSUER|$ISSUER|" "$T/payments-policy.json"
# org-b believes org-a's control plane only for the issuers it lists.
run 1 "$A" chain verify --chain "$T/alice-payments.chain" "${BOTH[@]}" --audience "$PAYMENTS"
has "$out" 'j["valid"] is False and j["error"] == "unvouched_subject" and j["hop"] == 0'
run 1 "$A" chain verify --chain "$T/alice-payments.chain" "${BOTH[@]}" --audience "$PAYMENTS" \
  --person-issuer "org-a.example=$ISSUER/"
has "$out" 'j["valid"] is False and j["error"] == "unvouched_subject"'
run 0 "$A" policy test --policy "$T/payments-policy.json" --action payments:refund \
  --chain "$T/alice-payments.chain" "${BOTH[@]}" --audience "$PAYMENTS" \
  --person-issuer "org-a.example=$ISSUER"
has "$out" 'j["allowed"] is True and j["sid"] == "FinanceOnly"'
ok "alice's chain crosses to org-b (assistant -> payments): unvouched_subject there until org-b lists her issuer for org-a (another spelling of it does not count); then payments' policy on her group allows the refund"

# ---- bob: engineering, password only ----

login bob bob-password
refused travel-assistant "$T/bob.idt" policy_denied payments:quote payments:refund
[[ "$(json_get "$out" message)" == *payments:refund* ]] || fail "the refusal names the capability: $out"
login bob bob-password
exchange travel-assistant "$T/bob.idt" payments:quote
[ "$rc" = 0 ] || fail "bob's quote: $out"
ok "bob (engineering, no MFA) gets no refund, naming payments:refund (policy_denied); a quote he gets"

# ---- forged and broken ID tokens ----

NOW="$(date +%s)"
CLAIMS="{\"iss\":\"$ISSUER\",\"sub\":\"alice\",\"aud\":\"travel-app\",\"iat\":$((NOW - 5)),\"exp\":$((NOW + 300)),\"groups\":[\"finance\"]}"
sign "$T/good.idt" "$CLAIMS"
exchange travel-assistant "$T/good.idt" payments:quote
[ "$rc" = 0 ] || fail "a signed token: $out"
sign "$T/expired.idt" "{\"tamper\":\"expired\",\"payload\":$CLAIMS}"
refused travel-assistant "$T/expired.idt" expired payments:quote
sign "$T/aud.idt" "{\"payload\":${CLAIMS/travel-app/aztpd-org-a}}"
refused travel-assistant "$T/aud.idt" audience_mismatch payments:quote
sign "$T/none.idt" "{\"tamper\":\"alg-none\",\"payload\":$CLAIMS}"
refused travel-assistant "$T/none.idt" alg_not_allowed payments:quote
sign "$T/hs256.idt" "{\"tamper\":\"hs256-public-key\",\"payload\":$CLAIMS}"
refused travel-assistant "$T/hs256.idt" alg_not_allowed payments:quote
sign "$T/kid.idt" "{\"tamper\":\"unknown-kid\",\"payload\":$CLAIMS}"
refused travel-assistant "$T/kid.idt" not_found payments:quote
ok "refused, each with its reason: expired, issued to another client (audience_mismatch), alg none and HS256 keyed with the public key (alg_not_allowed), an unknown kid (not_found)"

# A second provider serving the same issuer string from another URL, with
# its own key: its tokens name the issuer aztpd trusts, but not its keys.
idp claimer 0 --jwks "$T/claimer.jwks" --issuer "$ISSUER" --test-sign
get -H 'Content-Type: application/json' --data-binary "$CLAIMS" \
  "https://127.0.0.1:$IDP_PORT/test/sign" > "$T/claimer.idt"
set +e; "$A" oidc exchange --svid "$T/travel-assistant" --id-token - --cap payments:quote \
  < "$T/claimer.idt" > "$T/claimer.out"; rc=$?; set -e
out="$(cat "$T/claimer.out")"
[ "$rc" = 1 ] || fail "a second provider's token: $out"
[[ "$(json_get "$out" error)" =~ ^(bad_signature|alg_not_allowed)$ ]] || fail "claimer: $out"
ok "a second provider claiming the same issuer from another URL: its token is refused ($(json_get "$out" error)): keys come from the configured issuer's jwks_uri only"

refused other "$T/alice.idt" permission_denied payments:quote
ok "an agent not listed for travel-app cannot exchange alice's token (permission_denied)"

# ---- an agent naming a person itself ----

run 1 "$A" chain mint --svid "$T/travel-assistant" --aud "$PAYMENTS" --cap payments:refund \
  --sub "oidc:$ISSUER#cfo"
[ "$(json_get "$out" error)" = unvouched_subject ] || fail "mint --sub: $out"
/usr/bin/python3 "$AZTP_SOURCE/scripts/demo_forge.py" "$T/travel-assistant" "$PAYMENTS" \
  "oidc:$ISSUER#cfo" > "$T/forged.chain"
run 1 "$A" chain verify --chain "$T/forged.chain" "${BOTH[@]}" --audience "$PAYMENTS" \
  --person-issuer "org-a.example=*"
has "$out" 'j["valid"] is False and j["error"] == "unvouched_subject" and j["hop"] == 0'
ok "an agent cannot name a person: aztp chain mint --sub refuses, and a root it signs itself is unvouched_subject at hop 0"

# ---- the provider rotates its key ----

kill "$main_PID"; wait "$main_PID" 2>/dev/null || true
idp main "$MAIN_PORT" --jwks "$T/key-2.jwks" --test-sign
[ "$IDP_ISSUER" = "$ISSUER" ] || fail "restarted with another issuer: $IDP_ISSUER"
login alice alice-password
sleep 1.1  # keys_min_refresh since the unknown kid's fetch
exchange travel-assistant "$T/alice.idt" payments:quote
[ "$rc" = 0 ] || fail "after the key rotation: $out"
ok "the provider rotates to a new kid: the next exchange fetches its keys again and succeeds"

# ---- aztpd's own login: alice, for the travel assistant ----

# browser_login PROVIDER: the app starts a login at aztpd for the assistant
# (its admin key here), alice signs in at the provider, and the browser
# comes back to aztpd's callback; $T/back.txt holds where aztpd sends it.
browser_login() {
  local body status
  body="{\"provider\":\"$1\",\"agent\":\"$ASSISTANT\",\"return_url\":\"$RETURN\",\"capabilities\":[\"payments:refund\"]}"
  status="$(curl -sS --cacert "$T/d/bundle.pem" -H "Authorization: Bearer $KEY" \
    -H 'Content-Type: application/json' --data "$body" -o "$T/started.json" -w '%{http_code}' \
    "$URL/v1/oidc/login")"
  [ "$status" = 200 ] || fail "login start: $status $(cat "$T/started.json")"
  node "$OIDC/login.mjs" --url "$(json_get "$(cat "$T/started.json")" redirect_url)" \
    --user alice --password alice-password --ca "$T/ca.pem" > "$T/at-callback.json" \
    || fail "alice at the provider: $(cat "$T/at-callback.json")"
  CALLBACK_URL="$(json_get "$(cat "$T/at-callback.json")" location)"
  [[ "$CALLBACK_URL" == "$CALLBACK?"* ]] || fail "the provider did not send alice to aztpd"
  curl -sS --cacert "$T/d/bundle.pem" -o /dev/null -w '%{http_code} %{redirect_url}\n' \
    "$CALLBACK_URL" > "$T/back.txt"
}
browser_login corp
read -r status back < "$T/back.txt"
[ "$status" = 303 ] || fail "callback: $status"
[[ "$back" == "$RETURN?token="* ]] || fail "not back at the app: ${back%%token=*}"
query() { python3 -c 'import sys,urllib.parse as u; print(u.parse_qs(u.urlsplit(sys.argv[1]).query)[sys.argv[2]][0])' "$1" "$2"; }
TOKEN="$(query "$back" token)"
STATE="$(query "$back" state)"
[ "$STATE" = "$(json_get "$(cat "$T/started.json")" state)" ] || fail "the state the app started with"
redeem() {
  curl -sS --cacert "$T/d/bundle.pem" --cert "$T/travel-assistant/svid.pem" \
    --key "$T/travel-assistant/svid.key" -H 'Content-Type: application/json' \
    --data "{\"token\":\"$1\",\"state\":\"$STATE\"}" -o "$T/redeemed.json" -w '%{http_code}' \
    "$URL/v1/oidc/login:redeem"
}
[ "$(redeem "$TOKEN")" = 200 ] || fail "redeem: $(cat "$T/redeemed.json")"
has "$(cat "$T/redeemed.json")" "j['person']['subject'] == 'alice' and j['person']['email'] == 'alice@example.com' and j['subject'] == 'oidc:$ISSUER#alice' and j['capabilities'] == ['payments:refund']"
[ "$(redeem "$TOKEN")" = 404 ] || fail "a result redeemed twice"
ok "aztpd's own login: alice signs in at the provider for the travel assistant; the app redeems the one-time result (her claims, a root with payments:refund) once"

# The callback replayed (the browser's back button, or an attacker with
# the URL): the state is used up, nothing is redirected.
[ "$(curl -sS --cacert "$T/d/bundle.pem" -o /dev/null -w '%{http_code}' "$CALLBACK_URL")" = 404 ] \
  || fail "a replayed callback"
browser_login tampering
read -r status back < "$T/back.txt"
[[ "$back" == "$RETURN?error=request_mismatch&"* ]] || fail "wrong nonce: $status ${back%%token=*}"
status="$(curl -sS --cacert "$T/d/bundle.pem" -H "Authorization: Bearer $KEY" \
  -H 'Content-Type: application/json' -o "$T/started.json" -w '%{http_code}' \
  --data "{\"provider\":\"corp\",\"agent\":\"$ASSISTANT\",\"return_url\":\"https://evil.example/steal\"}" \
  "$URL/v1/oidc/login")"
[ "$status" = 400 ] || fail "an unregistered return URL: $status"
ok "a replayed callback is 404; an ID token with another nonce sends the browser back with error=request_mismatch and no token; an unregistered return URL is 400"

# Nothing secret in any output or log.
for f in "$T/outputs" "$T/aztpd.log"; do
  [ -f "$f" ] || continue
  ! grep -q "$APP_SECRET" "$f" || fail "the app's secret in $f"
  ! grep -q "$AZTPD_SECRET" "$f" || fail "aztpd's client secret in $f"
  for idt in "$T"/*.idt; do
    # The signature part is unique to each token (alg none has none).
    sig="$(cut -d. -f3 "$idt" | head -c 40)"
    [ -n "$sig" ] || continue
    ! grep -qF "$sig" "$f" || fail "an ID token ($(basename "$idt")) in $f"
  done
done
ok "no ID token or client secret in the CLI's outputs or aztpd's log"
done_checks
