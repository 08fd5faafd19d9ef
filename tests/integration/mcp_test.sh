#!/usr/bin/env bash
# MCP tool calls enforced per tool by aztp-proxy (docs/mcp.md), with the
# official TypeScript MCP SDK on both ends (tests/mcp): one aztpd; the
# payments MCP server behind its proxy (an `mcp` route); the planner, an
# MCP server behind its proxy that is also an MCP client of payments
# through the same proxy's egress; the research agent's SDK client sending
# through its own proxy (egress). Cases: tools/list filtered, an allowed
# call end to end, refusals by capability and by policy as McpErrors with
# the reason, progress streamed incrementally, a batch decided element by
# element, a session replayed by another caller, a chain through two MCP
# hops, and the audit log naming each tool call.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/proxy.sh"
PX="$AZTP_BUILD/proxy/aztp-proxy"
node_scripts mcp @modelcontextprotocol/sdk
MCP="$T/mcp"

TD=example.org
RESEARCH=spiffe://$TD/agents/research
PLANNER=spiffe://$TD/agents/planner
PAYMENTS=spiffe://$TD/tools/payments
control_plane_up $TD
register $RESEARCH $PLANNER $PAYMENTS
attach_policy payments '{"Statement":[
  {"Sid":"UseTheServer","Effect":"Allow","Action":"payments:mcp*"},
  {"Sid":"NoRefunds","Effect":"Deny","Action":"payments:mcp:tool:refund"}]}' $PAYMENTS
attach_policy planner '{"Statement":{"Effect":"Allow","Action":"planner:mcp*"}}' $PLANNER

start_node() {  # NAME ARGS...: a node program of tests/mcp, its port in $T/NAME.port
  local name="$1"; shift
  node "$MCP/$@" 2>"$T/$name.node.log" &
  PIDS+=($!)
  for _ in $(seq 1 200); do [ -s "$T/$name.port" ] && break; sleep 0.05; done
  [ -s "$T/$name.port" ] || fail "$name did not start: $(tail -5 "$T/$name.node.log")"
}

start_node payments mcp_agent.mjs payments "$T/payments.port"
{ proxy_head $PAYMENTS payments; cat <<YAML
inbound:
  listen: 127.0.0.1:0
  upstream: http://127.0.0.1:$(cat "$T/payments.port")
  routes:
    - {path: /mcp, protocol: mcp, action: "payments:mcp"}
YAML
} > "$T/payments.yaml"
expect_exit 0 "$PX" check --config "$T/payments.yaml"
start_proxy payments
PAY_URL="https://127.0.0.1:$(port payments inbound_port)"

# The planner's proxy: inbound to its MCP server, egress for its calls out
# (roots for its own calls: payments' session only, no tool).
{ proxy_head $PLANNER planner; cat <<YAML
inbound:
  listen: 127.0.0.1:0
  upstream: http://127.0.0.1:PLANNER_PORT
  routes:
    - {path: /mcp, protocol: mcp, action: "planner:mcp"}
egress:
  listen: 127.0.0.1:0
  root_capabilities: ["payments:mcp"]
YAML
} > "$T/planner.tmpl"
# Its egress port is needed by its MCP server, whose port its inbound
# needs: start the proxy on a placeholder upstream, then reload.
sed "s/PLANNER_PORT/9/" "$T/planner.tmpl" > "$T/planner.yaml"
start_proxy planner
start_node planner mcp_agent.mjs planner "$T/planner.port" \
  "http://127.0.0.1:$(port planner egress_port)" $PAYMENTS "$PAY_URL"
sed "s/PLANNER_PORT/$(cat "$T/planner.port")/" "$T/planner.tmpl" > "$T/planner.yaml"
kill -HUP "$(pgrep -f "aztp-proxy run --config $T/planner.yaml")"
sleep 1

{ proxy_head $RESEARCH research; cat <<YAML
egress:
  listen: 127.0.0.1:0
  root_capabilities: ["payments:mcp", "payments:mcp:tool:quote", "payments:mcp:tool:refund",
                      "payments:mcp:tool:slow_report", "planner:mcp", "planner:mcp:tool:plan"]
YAML
} > "$T/research.yaml"
start_proxy research
ok "payments and planner MCP servers behind aztp-proxy, research sending through its own"

set +e
EGRESS="http://127.0.0.1:$(port research egress_port)" TARGET=$PAYMENTS TARGET_URL="$PAY_URL" \
  OTHER_EGRESS="http://127.0.0.1:$(port planner egress_port)" \
  PLANNER=$PLANNER PLANNER_URL="https://127.0.0.1:$(port planner inbound_port)" RESEARCH=$RESEARCH \
  timeout 120 node "$MCP/mcp_client.mjs" > "$T/client.out" 2> "$T/client.err"
rc=$?
set -e
sed 's/^ok /ok mcp: /' "$T/client.out"
[ $rc = 0 ] || fail "MCP client (exit $rc): $(cat "$T/client.err"); payments proxy: $(tail -5 "$T/payments.log")"

# The audit log names each tool call (never its arguments).
python3 - "$T/payments-audit.db" <<'PY' > "$T/audit.out" || fail "audit: $(cat "$T/audit.out")"
import json, sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT decision, reason, details FROM audit").fetchall()
calls = [(d, r, json.loads(x)) for d, r, x in rows if "rpc" in json.loads(x)]
def seen(tool, decision, reason=None):
    return any(x["rpc"]["method"] == "tools/call" and x["rpc"]["target"] == tool and d == decision
               and (reason is None or r == reason) for d, r, x in calls)
assert seen("quote", "allow"), calls
assert seen("refund", "deny", "policy_denied")
assert seen("secret_admin", "deny", "capability_not_granted")
assert seen("slow_report", "allow")
assert not any("12345" in json.dumps(x) for _, _, x in calls), "arguments in the audit log"
actions = sorted({x["action"] for _, _, x in calls})
print("%d call records; actions %s" % (len(calls), ", ".join(actions)))
PY
ok "the payments audit log names each tool call: $(cat "$T/audit.out")"
expect_exit 0 "$AZTP_BIN" audit verify --db "$T/payments-audit.db"
ok "and verifies"
