#!/usr/bin/env bash
# The aztp demo on embedded defaults: two organisations on one machine, each
# with its own aztpd (SQLite, loopback, temporary folder), federated; three
# agents (small HTTP apps that hold no keys), each behind its own
# aztp-proxy; org-a's people sign in at an OpenID provider (the test
# provider of tests/oidc, npm oidc-provider, over HTTPS with a throwaway
# CA). Alice signs in (a scripted browser), and her request travels
# planner -> research (org-a) -> payments (org-b) as her chain; then five
# attacks, the audit logs, and the end of the federation. It exits
# non-zero if any step does not go as shown.
# Usage: scripts/demo.sh [BUILD_DIR]
set -euo pipefail
build="$(cd "${1:-build}" && pwd)"
here="$(cd "$(dirname "$0")" && pwd)"
OIDC="$here/../tests/oidc"
export AZTP_NODE_PATH="${AZTP_NODE_PATH:-$here/../.deps/node/node_modules}"
for package in oidc-provider @modelcontextprotocol/sdk; do
  [ -d "$AZTP_NODE_PATH/$package" ] || { echo "demo: $package is not installed (run scripts/install-deps.sh)"; exit 1; }
done
A="$build/cli/aztp"
D="$build/aztpd/aztpd"
PX="$build/proxy/aztp-proxy"
AGENT="$here/demo_agent.py"
for bin in "$A" "$D" "$PX"; do
  [ -x "$bin" ] || { echo "demo: $bin not built (run make demo)"; exit 1; }
done
work="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
# The MCP scripts run next to the npm packages (ESM ignores NODE_PATH).
mkdir mcp
cp "$here/../tests/mcp/mcp_agent.mjs" "$here/demo_mcp.mjs" mcp/
ln -s "$AZTP_NODE_PATH" node_modules

if [ -t 1 ]; then bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }; else bold() { printf '\n%s\n' "$*"; }; fi
say() { printf '  %s\n' "$*"; }
die() { echo "demo: $*"; exit 1; }
# get JSON PATH: a member of a JSON document (PATH like a.b.0.c).
get() { /usr/bin/python3 -c 'import json,sys
d=json.loads(sys.argv[1])
for k in sys.argv[2].split("."): d=d[int(k)] if isinstance(d,list) else d[k]
print(d if isinstance(d,(str,int,float)) else json.dumps(d))' "$1" "$2"; }
short() { sed 's#spiffe://[^/]*/[^/]*/##g'; }
# expect CODE CMD...: run CMD (JSON on stdout) and insist on its exit code.
expect() {
  local want="$1"; shift
  set +e; out="$("$@")"; local got=$?; set -e
  [ "$got" = "$want" ] || { echo "demo: step failed (exit $got, wanted $want): $*"; echo "$out"; exit 1; }
}
PLANNER=spiffe://org-a.example/agents/planner
RESEARCH=spiffe://org-a.example/agents/research
PAYMENTS=spiffe://org-b.example/tools/payments

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

bold "1. Two organisations, each with its own control plane, federated; org-a's people sign in at their provider"
# org-a's OpenID provider, with alice (group finance) and bob; aztpd-org-a
# is its client. Its port, and the planner app's, are chosen first: the
# provider and aztpd know the URLs the browser is sent back to.
# shellcheck source=../tests/oidc/pki.sh
source "$OIDC/pki.sh"
mkdir idp && oidc_test_pki idp || die "openssl: $(cat idp/pki.err)"
node "$OIDC/make_jwks.mjs" --alg ES256 --kid corp-1 > idp/keys.jwks
PORT_A="$(free_port)"
APP_planner="$(free_port)"
(umask 077; openssl rand -hex 24 > idp/aztpd-client.secret)
cat > idp/clients.json <<JSON
[{"client_id": "aztpd-org-a", "client_secret": "$(cat idp/aztpd-client.secret)",
  "redirect_uris": ["https://127.0.0.1:$PORT_A/v1/oidc/callback"],
  "token_endpoint_auth_method": "client_secret_basic"}]
JSON
node "$OIDC/idp.mjs" --cert idp/server.pem --key idp/server.key --port 0 \
  --clients idp/clients.json --jwks idp/keys.jwks > idp.out 2> idp.log &
pids+=($!)
for _ in $(seq 1 200); do [ -s idp.out ] && break; sleep 0.05; done
ISSUER="$(get "$(head -n 1 idp.out)" issuer)" || die "the provider did not start: $(tail -3 idp.log)"
cat > cp-a.yaml <<YAML
oidc:
  providers:
    - name: corp
      issuer: $ISSUER
      client_id: aztpd-org-a
      client_secret_file: idp/aztpd-client.secret
      ca_file: idp/ca.pem
      scopes: [openid, email, profile, groups]
  login:
    callback_url: https://127.0.0.1:$PORT_A/v1/oidc/callback
    return_urls:
      - agent: spiffe://org-a.example/agents/planner
        urls: [http://127.0.0.1:$APP_planner/login/done]
YAML
# serve TD DIR [PORT [ARGS...]]: init and run an aztpd for TD in DIR.
serve() {
  local td="$1" dir="$2" port="${3:-0}"
  shift "$(($# < 3 ? $# : 3))"
  expect 0 "$D" init --data-dir "$dir" --trust-domain "$td"
  local key; key="$(get "$out" admin_api_key)"
  "$D" run --data-dir "$dir" --listen "127.0.0.1:$port" "$@" 2>"$dir.log" &
  pids+=($!)
  for _ in $(seq 1 200); do [ -s "$dir/aztpd.url" ] && break; sleep 0.05; done
  [ -s "$dir/aztpd.url" ] || { cat "$dir.log"; die "aztpd for $td did not start"; }
  eval "URL_${dir//-/_}=\$(cat \"\$dir/aztpd.url\")"
  eval "KEY_${dir//-/_}=\$key"
  say "$td: aztpd at $(cat "$dir/aztpd.url"), its CA in $dir/aztpd.db (SQLite)"
}
serve org-a.example cp-a "$PORT_A" --config cp-a.yaml
serve org-b.example cp-b
say "org-a's people: OpenID provider $ISSUER (alice in group finance, bob); org-a's aztpd is its client"
# on ORG CMD...: the aztp CLI against one organisation's control plane.
on() {
  local dir="cp-$1"; shift
  local u="URL_${dir//-/_}" k="KEY_${dir//-/_}"
  AZTP_SERVER="${!u}" AZTP_API_KEY="${!k}" AZTP_BUNDLE="$dir/bundle.json" "$A" "$@"
}
expect 0 on a federation add --trust-domain org-b.example --endpoint-url "$URL_cp_b/v1/bundle" \
  --profile https_spiffe --endpoint-id spiffe://org-b.example/aztpd --bootstrap-bundle cp-b/bundle.json
expect 0 on b federation add --trust-domain org-a.example --endpoint-url "$URL_cp_a/v1/bundle" \
  --profile https_spiffe --endpoint-id spiffe://org-a.example/aztpd --bootstrap-bundle cp-a/bundle.json
say "each fetched the other's bundle (https_spiffe, first fetch: $(get "$out" first_fetch.result)); no key is shared"

bold "2. Three agents, three proxies; policies at the receiving ends"
expect 0 on a identity register --id $PLANNER
expect 0 on a identity register --id $RESEARCH
expect 0 on b identity register --id $PAYMENTS
cat > research-policy.json <<'JSON'
{"Statement": [{"Sid": "OwnAgentsMayAsk", "Effect": "Allow", "Action": "research:query",
  "Condition": {"StringEquals": {"aztp:CallerTrustDomain": "org-a.example"}}}]}
JSON
cat > payments-policy.json <<'JSON'
{"Statement": [
  {"Sid": "QuotesForOrgA", "Effect": "Allow", "Action": "payments:quote",
   "Condition": {"StringEquals": {"aztp:OriginId": "spiffe://org-a.example/agents/planner"},
                 "ForAllValues:StringEquals": {"aztp:ChainTrustDomains": ["org-a.example", "org-b.example"]}}},
  {"Sid": "QuotesForOrgAFinance", "Effect": "Allow", "Action": "payments:quote",
   "Condition": {"StringEquals": {"aztp:OriginId": "spiffe://org-a.example/aztpd", "aztp:PersonIssuer": "ISSUER"},
                 "ForAnyValue:StringEquals": {"aztp:PersonGroups": "finance"}}},
  {"Sid": "NoRefunds", "Effect": "Deny", "Action": "payments:refund"},
  {"Sid": "McpToolsForOrgA", "Effect": "Allow", "Action": "payments:mcp*",
   "Condition": {"ForAllValues:StringEquals": {"aztp:ChainTrustDomains": ["org-a.example", "org-b.example"]}}},
  {"Sid": "NoMcpRefunds", "Effect": "Deny", "Action": "payments:mcp:tool:refund"}]}
JSON
# What the planner may do for a person is org-a's policy on the planner:
# research, quotes and refunds, for people in group finance (whether a
# refund goes through is payments' policy to say).
cat > planner-policy.json <<'JSON'
{"Statement": [{"Sid": "ForFinancePeople", "Effect": "Allow",
  "Action": ["research:query", "payments:quote", "payments:refund"],
  "Condition": {"ForAnyValue:StringEquals": {"aztp:PersonGroups": "finance"}}}]}
JSON
expect 0 on a policy put --name research --document research-policy.json
expect 0 on a policy attach "$(get "$out" id)" --identity $RESEARCH
expect 0 on a policy put --name planner-people --document planner-policy.json
expect 0 on a policy attach "$(get "$out" id)" --identity $PLANNER
sed -i "s|ISSUER|$ISSUER|" payments-policy.json
expect 0 on b policy put --name payments --document payments-policy.json
expect 0 on b policy attach "$(get "$out" id)" --identity $PAYMENTS
say "org-a attached to planner: for people of group finance, research:query payments:quote payments:refund"
say "org-b attached to payments: allow payments:quote for chains from org-a's planner within org-a/org-b, or for org-a's people of group finance; deny payments:refund"
say "                             its MCP tools (payments:mcp*) for chains within org-a/org-b; deny the refund tool (payments:mcp:tool:refund)"

# Each proxy bootstraps with a key scoped to its own identity.
scoped_key() {
  expect 0 on "$1" apikey create --scope "$2" --description "aztp-proxy $2"
  (umask 077; get "$out" api_key > "$3")
}
# proxy NAME ORG ID SECTION: write NAME.yaml and start aztp-proxy.
proxy() {
  local name="$1" org="$2" id="$3" section="$4"
  local u="URL_cp_$org"
  scoped_key "$org" "/${id#spiffe://*/}" "$name.key"
  cat > "$name.yaml" <<YAML
identity: $id
control_plane:
  url: ${!u}
  bundle_file: cp-$org/bundle.json
  api_key_file: $name.key
  bundle_refresh: 1s
  revocation_refresh: 1s
  policy_refresh: 2s
$section
audit:
  db: $name-audit.db
  ship_interval: 1s
YAML
  "$PX" run --config "$name.yaml" --ready-file "$name.ready" 2>"$name-proxy.log" &
  pids+=($!)
  for _ in $(seq 1 200); do [ -s "$name.ready" ] && break; sleep 0.05; done
  [ -s "$name.ready" ] || { cat "$name-proxy.log"; die "the $name proxy did not start"; }
}
# app NAME ROLE [ARGS...]: start a demo agent; sets APP_<NAME>.
app() {
  local name="$1" role="$2"; shift 2
  python3 "$AGENT" --role "$role" --port-file "$name.port" "$@" 2>"$name-app.log" &
  pids+=($!)
  for _ in $(seq 1 100); do [ -s "$name.port" ] && break; sleep 0.05; done
  [ -s "$name.port" ] || die "the $name app did not start"
  eval "APP_$name=$(cat "$name.port")"
}
port() { get "$(cat "$1.ready")" "$2_port"; }

# payments is a real MCP server (the official TypeScript SDK), which also
# answers POST /quote and /refund.
node mcp/mcp_agent.mjs payments payments.port 2> payments-app.log &
pids+=($!)
for _ in $(seq 1 200); do [ -s payments.port ] && break; sleep 0.05; done
[ -s payments.port ] || die "the payments MCP server did not start: $(tail -3 payments-app.log)"
APP_payments="$(cat payments.port)"
proxy payments b $PAYMENTS "inbound:
  listen: 127.0.0.1:0
  upstream: http://127.0.0.1:$APP_payments
  # org-a's control plane is believed here for people of org-a's provider
  person_issuers: {org-a.example: [\"$ISSUER\"]}
  routes:
    - {method: POST, path: /quote, action: \"payments:quote\", resource: quotes}
    - {method: POST, path: /refund, action: \"payments:refund\", resource: refunds}
    - {path: /mcp, protocol: mcp, action: \"payments:mcp\"}"
IN_payments="$(port payments inbound)"
app research research --egress-ready research.ready --next-id $PAYMENTS \
  --next-url "http://127.0.0.1:$IN_payments"
proxy research a $RESEARCH "inbound:
  listen: 127.0.0.1:0
  upstream: http://127.0.0.1:$APP_research
  routes:
    - {method: POST, path: /research, action: \"research:query\"}
egress:
  listen: 127.0.0.1:0
  # its own calls: the payments agent's MCP session, quote and refund tools
  root_capabilities: [\"payments:mcp\", \"payments:mcp:tool:quote\", \"payments:mcp:tool:refund\"]"
IN_research="$(port research inbound)"
proxy planner a $PLANNER "egress:
  listen: 127.0.0.1:0
  root_capabilities: [\"research:query\", \"payments:quote\", \"payments:refund\"]
  root_ttl: 2m"
app planner planner --egress-ready planner.ready --next-id $RESEARCH \
  --next-url "http://127.0.0.1:$IN_research" --port "$APP_planner" \
  --provider corp --capabilities research:query,payments:quote,payments:refund
say "planner  (org-a): app :$APP_planner, its proxy sends from :$(port planner egress), may grant research:query payments:quote payments:refund"
say "research (org-a): app :$APP_research behind mTLS :$IN_research, sends from :$(port research egress)"
say "payments (org-b): app :$APP_payments (an MCP server, and POST /quote, /refund) behind mTLS :$IN_payments"
say "each proxy generated its key, got its X.509-SVID from its own aztpd; the apps hold no keys"

bold "3. Alice signs in, and the planner asks for a price on her behalf"
# The planner's app starts a login at its proxy (which asks org-a's aztpd
# with its own SVID); alice's browser (scripted: the provider's real login
# and consent pages) signs in, comes back to aztpd, then to the app.
started="$(curl -sS --max-time 30 -X POST "http://127.0.0.1:$APP_planner/login")"
redirect="$(get "$started" redirect_url)" || die "login start: $started"
say "the planner's app asks its proxy for a login: the browser goes to $(printf '%s' "${redirect%%\?*}")"
node "$OIDC/login.mjs" --url "$redirect" --user alice --password alice-password --ca idp/ca.pem \
  > at-callback.json || die "alice at the provider: $(cat at-callback.json)"
callback="$(get "$(cat at-callback.json)" location)"
back="$(curl -sS --max-time 20 --cacert cp-a/bundle.pem -o /dev/null -w '%{redirect_url}' "$callback")"
[[ "$back" == "http://127.0.0.1:$APP_planner/login/done?token="* ]] || die "aztpd did not send alice back to the app"
signed="$(curl -sS --max-time 20 "$back")"
[ "$(get "$signed" signed_in)" = True ] || die "the app did not take alice's login: $signed"
say "alice signs in at the provider (password, consent); org-a's aztpd verifies her ID token (code + PKCE, nonce) and sends her back with a one-time result"
reply="$(curl -sS --max-time 30 -H 'Content-Type: application/json' \
  --data '{"item":"flight LHR-SFO"}' "http://127.0.0.1:$APP_planner/plan")"
[ "$(get "$reply" research_status)" = 200 ] || die "planner -> research: $reply"
r="$(get "$reply" research)"
TXN="$(get "$r" seen.Aztp-Txn)"
say "hop 1  planner → research   path: $(get "$r" seen.Aztp-Path | tr , '\n' | short | paste -sd'>' | sed 's/>/ → /g')"
[ "$(get "$r" seen.Aztp-Subject)" = "oidc:$ISSUER#alice" ] || die "not alice's chain: $r"
say "                            on behalf of: $(get "$r" seen.Aztp-Subject), vouched for by org-a's aztpd   txn: $TXN"
say "                            capabilities: $(get "$r" seen.Aztp-Capabilities)   decision: allow (OwnAgentsMayAsk)"
[ "$(get "$r" quote_status)" = 200 ] || die "research -> payments quote: $r"
q="$(get "$r" quote)"
say "hop 2  research → payments  path: $(get "$q" seen.Aztp-Path | tr , '\n' | short | paste -sd'>' | sed 's/>/ → /g')   (org-a → org-b)"
say "                            payments:quote   decision: allow (QuotesForOrgAFinance: alice is in group finance) → $(get "$q" price) $(get "$q" currency)"
[ "$(get "$r" refund_status)" = 403 ] || die "the refund was not refused: $r"
[ "$(get "$r" refund.error)" = policy_denied ] || die "refund: $r"
say "                            payments:refund  decision: $(get "$r" refund_status) $(get "$r" refund.error) — $(get "$r" refund.message)"

bold "4. The payments agent's MCP tools, decided tool by tool"
# research's app (here the SDK's MCP client) sends through research's
# proxy, which mints research's own root for each request.
mcp="$(node mcp/demo_mcp.mjs "http://127.0.0.1:$(port research egress)" $PAYMENTS \
  "https://127.0.0.1:$IN_payments")" || die "the MCP client failed"
[ "$(get "$mcp" tools)" = '["quote"]' ] || die "tools/list: $mcp"
say "research → payments over MCP (org-a → org-b): tools/list shows $(get "$mcp" tools) (refund is hidden: the policy denies it)"
[ "$(get "$mcp" quote.price)" = 42 ] || die "quote: $mcp"
say "✔ tools/call quote    decision: allow (McpToolsForOrgA) → $(get "$mcp" quote.price), for $(get "$mcp" quote.caller | short)"
[ "$(get "$mcp" refund.reason)" = policy_denied ] || die "refund: $mcp"
say "✘ tools/call refund   an McpError for the SDK: $(get "$mcp" refund.message)"
sleep 1.5
expect 0 "$A" audit query --db payments-audit.db --limit 1000
say "payments' audit log, by tool:"
/usr/bin/python3 -c 'import json,sys
for r in json.loads(sys.argv[1])["records"]:
    rpc = r["details"].get("rpc")
    if rpc and rpc["method"] == "tools/call":
        print("    seq %-3d %-6s %-26s %s" % (r["seq"], r["decision"], r["details"]["action"], r["reason"]))' "$out"

bold "5. Five attacks, and how each is stopped"
# A chain as it travels on the wire from research to payments, recorded by
# an attacker: the demo makes one with SVIDs of the same two identities.
expect 0 on a agent fetch --id $PLANNER --out wire-planner
expect 0 on a agent fetch --id $RESEARCH --out wire-research
"$A" chain mint --svid wire-planner --aud $RESEARCH --cap payments:quote > wire0
on a bundle fetch --out map-a.json > /dev/null
"$A" chain extend --svid wire-research --chain wire0 --bundle map-a.json --aud $PAYMENTS > wire1
# to_payments CHAIN: mTLS to payments' proxy with research's certificate.
to_payments() {
  status="$(curl -sS --max-time 20 -k --cert wire-research/svid.pem --key wire-research/svid.key \
    -H "Aztp-Chain: $1" -H 'Content-Type: application/json' --data '{}' -o answer -w '%{http_code}' \
    "https://127.0.0.1:$IN_payments/quote")"
  answer="$(cat answer)"
}
# (a) A forged hop: research's token claims payments:refund, unsigned.
/usr/bin/python3 - wire1 > wire1.forged <<'PY'
import base64, json, sys
tokens = open(sys.argv[1]).read().strip().split(",")
head, body, sig = tokens[1].split(".")
claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
claims["cap"] = ["payments:quote", "payments:refund"]
body = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=").decode()
tokens[1] = ".".join([head, body, sig])
print(",".join(tokens))
PY
to_payments "$(cat wire1.forged)"
[ "$status" = 401 ] && [ "$(get "$answer" error)" = bad_signature ] || die "forged hop: $status $answer"
say "✘ a forged hop (refund added to research's token): payments' proxy answers $status $(get "$answer" error) at hop $(get "$answer" hop)"
# (b) Capability escalation: research's app asks its proxy to pass on more
# than research received in this transaction.
status="$(curl -sS --max-time 20 -x "http://127.0.0.1:$(port research egress)" -H "Aztp-Target: $PAYMENTS" \
  -H "Aztp-Txn: $TXN" -H 'Aztp-Capabilities: payments:quote admin:all' -o answer -w '%{http_code}' \
  --data '{}' "http://127.0.0.1:$IN_payments/quote")"
answer="$(cat answer)"
[ "$status" = 403 ] && [ "$(get "$answer" error)" = capability_escalation ] || die "escalation: $status $answer"
say "✘ research asks to grant admin:all onward: its own proxy refuses, $status $(get "$answer" error) — nothing is signed"
# (c) A replayed chain.
to_payments "$(cat wire1)"
[ "$status" = 200 ] || die "the recorded request itself: $status $answer"
to_payments "$(cat wire1)"
[ "$status" = 401 ] && [ "$(get "$answer" error)" = replay ] || die "replay: $status $answer"
say "✘ the recorded request sent again: $status $(get "$answer" error) (it went through once, as recorded)"
# (d) An agent claims to act for a person: the planner's app names org-a's
# CFO to its proxy, and (with its own valid SVID and key, bypassing its
# proxy) signs such a root itself.
reply="$(curl -sS --max-time 30 -H 'Content-Type: application/json' \
  --data '{"item":"flight LHR-SFO","act_for":"oidc:https://login.org-a.example#cfo"}' \
  "http://127.0.0.1:$APP_planner/plan")"
[ "$(get "$reply" research_status)" = 403 ] && [ "$(get "$reply" research.error)" = unvouched_subject ] \
  || die "a person named by the app: $reply"
say "✘ the planner's app says it acts for the CFO: its own proxy refuses, $(get "$reply" research_status) $(get "$reply" research.error)"
/usr/bin/python3 "$here/demo_forge.py" wire-planner "$RESEARCH" "oidc:https://login.org-a.example#cfo" > forged-root
status="$(curl -sS --max-time 20 -k --cert wire-planner/svid.pem --key wire-planner/svid.key \
  -H "Aztp-Chain: $(cat forged-root)" -H 'Content-Type: application/json' --data '{}' -o answer \
  -w '%{http_code}' "https://127.0.0.1:$IN_research/research")"
answer="$(cat answer)"
[ "$status" = 401 ] && [ "$(get "$answer" error)" = unvouched_subject ] || die "forged person: $status $answer"
say "✘ the planner signs a root for the CFO with its own key: research's proxy answers $status $(get "$answer" error) at hop $(get "$answer" hop)"
say "    (only org-a's control plane, spiffe://org-a.example/aztpd, vouches for a person, after an OIDC login)"
# (e) research is revoked at org-a.
expect 0 on a identity revoke --id $RESEARCH --reason "key compromise"
sleep 2.5
reply="$(curl -sS --max-time 30 -H 'Content-Type: application/json' \
  --data '{"item":"flight LHR-SFO"}' "http://127.0.0.1:$APP_planner/plan")"
[ "$(get "$reply" research_status)" = 502 ] && [ "$(get "$reply" research.error)" = revoked ] \
  || die "revoked research: $reply"
say "✘ research revoked at org-a's aztpd: planner's proxy refuses its certificate ($(get "$reply" research_status) $(get "$reply" research.error)) within a second"
expect 1 on a agent fetch --id $RESEARCH --out research-again
say "✘ and research gets no new SVID: $(get "$out" error)"

bold "6. Every decision, in tamper-evident logs"
sleep 2
for spec in "b $PAYMENTS payments" "a $RESEARCH research" "a $PLANNER planner"; do
  read -r org id name <<<"$spec"
  expect 0 "$A" audit verify --db "$name-audit.db"
  local_head="$(get "$out" head.seq)"
  expect 0 on "$org" audit verify --source "$id"
  say "✔ the $name proxy: $local_head records chained in $name-audit.db; the copy shipped to org-$org's aztpd verifies too ($(get "$out" records) records)"
done
expect 0 on a audit verify
say "✔ org-a's aztpd log: $(get "$out" records) records; org-b's: $(on b audit verify | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["records"])') records"
expect 0 on b audit query --source $PAYMENTS --txn "$TXN"
say "payments' decisions in alice's transaction $TXN:"
/usr/bin/python3 -c 'import json,sys
for r in json.loads(sys.argv[1])["records"]:
    print("    seq %-3d %-6s %-16s %s" % (r["seq"], r["decision"], r["details"].get("action", ""), r["reason"]))' "$out"
sqlite3 payments-audit.db ".backup 'tampered.db'"
sqlite3 tampered.db "UPDATE audit SET decision='allow', reason='' WHERE seq=(SELECT MIN(seq) FROM audit WHERE decision='deny')" > /dev/null
expect 1 "$A" audit verify --db tampered.db
say "✘ someone turns a denial into an allow in a copy of payments' log: $(get "$out" error) at seq $(get "$out" bad_seq)"
say "    $(get "$out" message)"

bold "7. org-b ends the federation"
expect 0 on b federation remove org-a.example
sleep 2.5
"$A" chain mint --svid wire-planner --aud $PAYMENTS --cap payments:quote > direct
status="$(curl -sS --max-time 20 -k --cert wire-planner/svid.pem --key wire-planner/svid.key \
  -H "Aztp-Chain: $(cat direct)" --data '{}' -o answer -w '%{http_code}' "https://127.0.0.1:$IN_payments/quote")"
answer="$(cat answer)"
[ "$status" = 401 ] && [ "$(get "$answer" error)" = untrusted_trust_domain ] || die "after the federation ended: $status $answer"
say "✘ planner (org-a) calls payments directly: $status $(get "$answer" error) — org-b's proxy no longer trusts org-a"

bold "Demo complete: alice signed in at a real OpenID provider, 2 federated control planes, 3 agents behind aztp-proxy, her chain across both, MCP tools decided one by one, 5 attacks stopped, every decision in a verified audit log."
