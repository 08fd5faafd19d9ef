#!/usr/bin/env bash
# A2A messages enforced per method by aztp-proxy, and the Agent Card it
# serves signed with the agent's X.509-SVID (docs/a2a.md), with the
# official JavaScript A2A SDK on both ends (tests/a2a): one aztpd; the
# planner agent behind its proxy (an `a2a` route with an agent_card); the
# research agent's SDK client sending through its own proxy (egress).
# Cases: the card verifies as the planner's (its SVID chains to the bundle
# and names the planner) and a forged card, or the card taken for another
# SPIFFE ID's, fails; SendMessage and SendStreamingMessage (an event
# stream) end to end; CancelTask outside the chain's capabilities and
# GetTask denied by policy refused as JSON-RPC errors the SDK raises with
# the reason; the v0.3 spelling as an action of its own; the audit log
# naming each method.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/proxy.sh"
source "$(dirname "$0")/../lib/free_port.sh"
PX="$AZTP_BUILD/proxy/aztp-proxy"
node_scripts a2a @a2a-js/sdk
A2A="$T/a2a"

TD=example.org
RESEARCH=spiffe://$TD/agents/research
PLANNER=spiffe://$TD/agents/planner
control_plane_up $TD
register $RESEARCH $PLANNER
attach_policy planner '{"Statement":[
  {"Sid":"Talk","Effect":"Allow","Action":"planner:a2a*"},
  {"Sid":"NoTaskReads","Effect":"Deny","Action":"planner:a2a:GetTask"}]}' $PLANNER

# The card names the planner's proxy, whose port is chosen first.
IN_PORT="$(free_port)"
cat > "$T/card.json" <<JSON
{"name": "Planner", "description": "Plans trips", "version": "1.0.0",
 "supportedInterfaces": [{"url": "https://127.0.0.1:$IN_PORT/a2a",
                          "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
 "capabilities": {"streaming": true},
 "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"],
 "skills": [{"id": "plan", "name": "Plan", "description": "Plans a trip",
             "tags": ["travel"]}]}
JSON
node "$A2A/a2a_agent.mjs" "$T/card.json" "$T/planner.port" 2> "$T/planner.node.log" &
PIDS+=($!)
for _ in $(seq 1 200); do [ -s "$T/planner.port" ] && break; sleep 0.05; done
[ -s "$T/planner.port" ] || fail "the A2A agent did not start: $(tail -5 "$T/planner.node.log")"

{ proxy_head $PLANNER planner; cat <<YAML
inbound:
  listen: 127.0.0.1:$IN_PORT
  upstream: http://127.0.0.1:$(cat "$T/planner.port")
  routes:
    - {path: /a2a, protocol: a2a, action: "planner:a2a", agent_card: $T/card.json}
YAML
} > "$T/planner.yaml"
expect_exit 0 "$PX" check --config "$T/planner.yaml"
start_proxy planner
{ proxy_head $RESEARCH research; cat <<YAML
egress:
  listen: 127.0.0.1:0
  root_capabilities: ["planner:a2a", "planner:a2a:SendMessage", "planner:a2a:SendStreamingMessage",
                      "planner:a2a:GetTask"]
YAML
} > "$T/research.yaml"
start_proxy research
ok "the planner A2A agent behind aztp-proxy (an a2a route serving its signed card), research sending through its own"

# A card the proxy could not sign as A2A verifiers read it is refused.
sed 's/"tags": \["travel"\]/"tags": []/' "$T/card.json" > "$T/bad-card.json"
sed "s|$T/card.json|$T/bad-card.json|" "$T/planner.yaml" > "$T/bad.yaml"
if "$PX" check --config "$T/bad.yaml" > "$T/bad.out" 2>&1; then fail "a bad card passed check"; fi
grep -q "card.skills\[0\].tags is empty" "$T/bad.out" || fail "bad card: $(cat "$T/bad.out")"
ok "a card holding an empty list is refused by check, naming the member"

set +e
EGRESS="http://127.0.0.1:$(port research egress_port)" PLANNER=$PLANNER RESEARCH=$RESEARCH \
  PLANNER_URL="https://127.0.0.1:$IN_PORT" BUNDLE_PEM="$T/cp/bundle.pem" \
  timeout 120 node "$A2A/a2a_client.mjs" > "$T/client.out" 2> "$T/client.err"
rc=$?
set -e
grep '^ok ' "$T/client.out" | sed 's/^ok /ok a2a: /'
[ $rc = 0 ] || fail "A2A client (exit $rc): $(cat "$T/client.err"); planner proxy: $(tail -5 "$T/planner.log")"

python3 - "$T/planner-audit.db" <<'PY' > "$T/audit.out" || fail "audit: $(cat "$T/audit.out")"
import json, sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT decision, reason, details FROM audit").fetchall()
calls = [(d, r, json.loads(x)["rpc"]) for d, r, x in rows if "rpc" in json.loads(x)]
def seen(method, decision, reason=None):
    return any(c["protocol"] == "a2a" and c["method"] == method and d == decision
               and (reason is None or r == reason) for d, r, c in calls)
assert seen("SendMessage", "allow"), calls
assert seen("CancelTask", "deny", "capability_not_granted"), calls
assert seen("SendStreamingMessage", "allow"), calls
assert seen("GetTask", "deny", "policy_denied"), calls
assert seen("message/send", "deny", "capability_not_granted"), calls
print("%d call records" % len(calls))
PY
ok "the planner's audit log names each A2A method: $(cat "$T/audit.out")"
