#!/usr/bin/env bash
# One MCP tool call through aztp-proxy compared with the same call made
# directly to the MCP server, in the same run, against the same server.
# Usage: scripts/bench_mcp.sh BUILD_DIR
#
#   aztp:   bench/mcp_bench.mjs -> research aztp-proxy (egress: mints the
#           chain of each request, audit record) -> payments aztp-proxy
#           (inbound, an `mcp` route: mTLS, chain verification, a policy
#           decision and an audit record for each JSON-RPC call) -> the MCP
#           server
#   direct: bench/mcp_bench.mjs -> the MCP server (plain HTTP on loopback)
#
# The MCP server is tests/mcp/mcp_agent.mjs (payments), the client the
# official TypeScript SDK's (Client + StreamableHTTPClientTransport), both
# on node; every call is quote({item: "x"}). The aztp side crosses two
# proxies, so two extra HTTP hops, one of them mTLS, and two durable audit
# appends (one in each proxy's SQLite log). Everything (node client,
# node server, both proxies) shares the machine's cores, so the node
# processes' own CPU time weighs on both sides and the proxies take theirs
# from the same cores.
#
# Knobs: BENCH_MCP_SESSIONS concurrent MCP sessions (default 4), each in a
# closed loop; BENCH_MCP_CALLS timed calls per run in all (default 2000),
# after BENCH_MCP_WARMUP untimed calls per session (default 20);
# BENCH_MCP_ROUNDS rounds (default 2), each an aztp run then a direct run;
# the best run (most calls/s) of each side is kept. BENCH_WORKERS sets the
# threads of each aztp-proxy (default 2, the machine's cores). Everything
# started here is stopped on exit.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
AZTP_BUILD="$(cd "$1" && pwd)"
AZTP_BIN="$AZTP_BUILD/cli/aztp"
AZTP_SOURCE="$(cd "$(dirname "$0")/.." && pwd)"
export AZTP_BUILD AZTP_BIN AZTP_SOURCE
SESSIONS="${BENCH_MCP_SESSIONS:-4}"
CALLS="${BENCH_MCP_CALLS:-2000}"
WARMUP="${BENCH_MCP_WARMUP:-20}"
ROUNDS="${BENCH_MCP_ROUNDS:-2}"
WORKERS="${BENCH_WORKERS:-2}"
# ok/fail, expect_exit, json_get, start_aztpd, api and the scratch folder $T.
source "$AZTP_SOURCE/tests/lib/common.sh"
source "$AZTP_SOURCE/tests/lib/proxy.sh"
D="$AZTP_BUILD/aztpd/aztpd"
PX="$AZTP_BUILD/proxy/aztp-proxy"
for bin in "$D" "$PX" "$AZTP_BIN"; do [ -x "$bin" ] || fail "$bin is not built"; done
AZTP_NODE_PATH="${AZTP_NODE_PATH:-$AZTP_SOURCE/.deps/node/node_modules}"
command -v node >/dev/null || fail "node is not installed (scripts/install-deps.sh)"

PIDS=()
cleanup() {
  stop_gracefully
  rm -rf "$T"
}
trap cleanup EXIT

# The MCP server and the load client run from $T/mcp, next to the npm
# packages (node_scripts, tests/lib/proxy.sh).
node_scripts mcp @modelcontextprotocol/sdk
MCP="$T/mcp"
cp "$AZTP_SOURCE/bench/mcp_bench.mjs" "$MCP/"

# --- the MCP server ---
node "$MCP/mcp_agent.mjs" payments "$T/server.port" 2>"$T/server.log" &
SERVER_PID=$!
PIDS+=($SERVER_PID)
for _ in $(seq 1 200); do [ -s "$T/server.port" ] && break; sleep 0.05; done
[ -s "$T/server.port" ] || fail "the MCP server did not start: $(tail -5 "$T/server.log")"
SERVER_PORT="$(cat "$T/server.port")"

# --- aztpd, the two identities, payments' policy ---
TD=example.org
RESEARCH=spiffe://$TD/agents/research
PAYMENTS=spiffe://$TD/tools/payments
control_plane_up $TD
register $RESEARCH $PAYMENTS
attach_policy payments-mcp-bench '{"Statement":[
  {"Sid":"UseTheServer","Effect":"Allow","Action":"payments:mcp*"}]}' $PAYMENTS

# --- the two proxies ---
# Audit records are shipped once an hour, i.e. not during the measurement:
# shipping runs off the request path, and aztpd ingesting them would share
# the same cores.
control_plane() {  # IDENTITY NAME
  proxy_head "$1" "$2"
  printf '  ship_interval: 1h\nthreads: %s\n' "$WORKERS"
}
start_proxy() {  # NAME: runs aztp-proxy with $T/NAME.yaml until ready
  "$PX" check --config "$T/$1.yaml" >/dev/null 2>"$T/$1.check" ||
    fail "$1 configuration: $(tail -5 "$T/$1.check")"
  "$PX" run --config "$T/$1.yaml" --ready-file "$T/$1.ready" 2>"$T/$1.log" &
  PIDS+=($!)
  for _ in $(seq 1 200); do [ -s "$T/$1.ready" ] && break; sleep 0.05; done
  [ -s "$T/$1.ready" ] || fail "aztp-proxy $1 did not start: $(tail -5 "$T/$1.log")"
}

{ control_plane $PAYMENTS payments; cat <<YAML
inbound:
  listen: 127.0.0.1:0
  upstream: http://127.0.0.1:$SERVER_PORT
  routes:
    - {path: /mcp, protocol: mcp, action: "payments:mcp"}
YAML
} > "$T/payments.yaml"
start_proxy payments
PAYMENTS_PID="${PIDS[-1]}"
{ control_plane $RESEARCH research; cat <<YAML
egress:
  listen: 127.0.0.1:0
  root_capabilities: ["payments:mcp", "payments:mcp:tool:quote"]
YAML
} > "$T/research.yaml"
start_proxy research
RESEARCH_PID="${PIDS[-1]}"

# --- the runs: aztp, direct, aztp, direct, ... ---
AZTP_ARGS=("http://127.0.0.1:$(port research egress_port)/mcp"
  --header "Aztp-Target: $PAYMENTS"
  --header "Aztp-Target-Url: https://127.0.0.1:$(port payments inbound_port)")
DIRECT_ARGS=("http://127.0.0.1:$SERVER_PORT/mcp")
echo "mcp bench: $SESSIONS sessions, $CALLS tool calls per run (after $WARMUP per session untimed)," \
  "$ROUNDS rounds, $WORKERS threads per aztp-proxy"
for round in $(seq 1 "$ROUNDS"); do
  for side in aztp direct; do
    args_var="${side^^}_ARGS[@]"
    (cd "$MCP" && timeout 120 node mcp_bench.mjs "${!args_var}" --sessions "$SESSIONS" \
      --calls "$CALLS" --warmup "$WARMUP") > "$T/$side.$round.json" 2> "$T/$side.$round.err" || true
    [ -s "$T/$side.$round.json" ] ||
      fail "$side run $round produced nothing: $(tail -5 "$T/$side.$round.err");" \
        "payments proxy: $(tail -3 "$T/payments.log"); research proxy: $(tail -3 "$T/research.log")"
    echo "  $side run $round: $(cat "$T/$side.$round.json")"
    if [ -s "$T/$side.$round.err" ]; then sed 's/^/    /' "$T/$side.$round.err"; fi
  done
done
kill -0 "$SERVER_PID" 2>/dev/null || fail "the MCP server exited: $(tail -5 "$T/server.log")"
kill -0 "$PAYMENTS_PID" 2>/dev/null || fail "aztp-proxy payments exited: $(tail -5 "$T/payments.log")"
kill -0 "$RESEARCH_PID" 2>/dev/null || fail "aztp-proxy research exited: $(tail -5 "$T/research.log")"

# Every call through the proxies was decided on its own and left an audit
# record at payments, and the chain of records holds.
expect_exit 0 "$AZTP_BIN" audit verify --db "$T/payments-audit.db"
[ "$(json_get "$out" valid)" = True ] || fail "payments audit log: $out"
quotes="$(python3 - "$T/payments-audit.db" <<'PY'
import json, sqlite3, sys
n = 0
for decision, details in sqlite3.connect(sys.argv[1]).execute("SELECT decision, details FROM audit"):
    rpc = json.loads(details).get("rpc") or {}
    if rpc.get("method") == "tools/call" and rpc.get("target") == "quote" and decision == "allow":
        n += 1
print(n)
PY
)"
want=$((ROUNDS * (CALLS + SESSIONS * WARMUP)))
[ "$quotes" = "$want" ] || fail "payments audit log: $quotes allowed quote calls, want $want"
echo "  payments aztp-proxy audit log: $(json_get "$out" records) records, $quotes allowed quote calls" \
  "(want $want), chain valid"

python3 - "$T" "$ROUNDS" <<'PY'
import json, sys
t, rounds = sys.argv[1], int(sys.argv[2])
def best(side):
    runs = [json.load(open(f"{t}/{side}.{r}.json")) for r in range(1, rounds + 1)]
    return max(runs, key=lambda r: r["per_second"]), sum(r["errors"] for r in runs)
(a, aerr), (d, derr) = best("aztp"), best("direct")
if a["calls"] == 0 or d["calls"] == 0:
    sys.exit("FAIL - a side answered no call")
print()
print(f"| {'MCP tools/call quote':<44} | {'calls/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | {'errors':>6} |")
print(f"|{'-'*46}|{'-'*10}|{'-'*9}|{'-'*9}|{'-'*8}|")
for name, r, e in (("aztp (2 proxies: chain, decision, audit)", a, aerr),
                   ("direct (SDK client -> MCP server)", d, derr)):
    print(f"| {name:<44} | {r['per_second']:>8.0f} | {r['p50_ms']:>7.3f} | {r['p99_ms']:>7.3f} | {e:>6} |")
print()
print(f"ratio aztp calls/s / direct calls/s: {a['per_second'] / d['per_second']:.3f}")
print(f"added p50 latency through aztp: {a['p50_ms'] - d['p50_ms']:+.3f} ms")
print(f"added p99 latency through aztp: {a['p99_ms'] - d['p99_ms']:+.3f} ms")
sys.exit(1 if aerr or derr else 0)
PY
