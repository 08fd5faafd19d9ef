#!/usr/bin/env bash
# One hop through aztp-proxy compared with nginx as a plain TLS reverse
# proxy, in the same run, in front of the same upstream
# (docs/performance.md, "Through aztp-proxy, compared with nginx").
# Usage: scripts/bench_proxy.sh BUILD_DIR
#
#   aztp:  proxy_load_tool --mode aztp -> aztp-proxy inbound (mTLS, chain
#          verification, route, capability, policy, audit record) -> nginx (a)
#   nginx: proxy_load_tool --mode tls  -> nginx (b) (TLS, no client
#          certificate)                                         -> nginx (a)
#
# nginx (a) is the upstream: plain HTTP on loopback, a fixed 200 JSON answer
# to POST /quote. Both sides run BENCH_WORKERS threads (nginx:
# worker_processes; aztp-proxy: threads), default 2 (the machine's cores).
# Each side is measured twice, alternating (aztp, nginx, aztp, nginx), with
# BENCH_CONNECTIONS kept-alive connections (default 8) and BENCH_REQUESTS
# timed requests (default 20000); the better run (higher rps) of each is
# kept. Everything started here is stopped on exit.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
AZTP_BUILD="$(cd "$1" && pwd)"
AZTP_BIN="$AZTP_BUILD/cli/aztp"
export AZTP_BUILD AZTP_BIN
CONNS="${BENCH_CONNECTIONS:-8}"
REQS="${BENCH_REQUESTS:-20000}"
WORKERS="${BENCH_WORKERS:-2}"
WARMUP=50  # untimed requests per connection before each run
# ok/fail, expect_exit, json_get, start_aztpd, api and the scratch folder $T.
source "$(dirname "$0")/../tests/lib/common.sh"
D="$AZTP_BUILD/aztpd/aztpd"
PX="$AZTP_BUILD/proxy/aztp-proxy"
LOAD="$AZTP_BUILD/bench/proxy_load_tool"
for bin in "$D" "$PX" "$AZTP_BIN" "$LOAD"; do [ -x "$bin" ] || fail "$bin is not built"; done
command -v nginx >/dev/null || fail "nginx is not installed (scripts/install-deps.sh)"

# nginx gets its own folder: when this runs as root, nginx runs as nobody
# and must be able to write there, but not read the rest of $T.
N="$(mktemp -d)"
PIDS=()
cleanup() {
  stop_gracefully
  rm -rf "$T" "$N"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
UP_PORT="$(free_port)"
TLS_PORT="$(free_port)"
[ "$UP_PORT" != "$TLS_PORT" ] || TLS_PORT="$(free_port)"

# --- nginx: (a) the upstream, (b) the TLS baseline in front of it ---
mkdir -p "$N/tmp"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$N/tls.key" -out "$N/tls.pem" 2>/dev/null
cat > "$N/nginx.conf" <<CONF
daemon off;
worker_processes $WORKERS;
pid $N/nginx.pid;
error_log $N/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $N/tmp/body;
  proxy_temp_path $N/tmp/proxy;
  fastcgi_temp_path $N/tmp/fastcgi;
  uwsgi_temp_path $N/tmp/uwsgi;
  scgi_temp_path $N/tmp/scgi;
  keepalive_timeout 60s;
  keepalive_requests 1000000;
  upstream app {
    server 127.0.0.1:$UP_PORT;
    keepalive 32;
    keepalive_requests 1000000;
  }
  # (a) the upstream of both sides.
  server {
    listen 127.0.0.1:$UP_PORT;
    location = /quote {
      default_type application/json;
      return 200 '{"ok":true}';
    }
  }
  # (b) the baseline: TLS 1.3 (like aztp-proxy), no client certificate.
  server {
    listen 127.0.0.1:$TLS_PORT ssl;
    ssl_certificate $N/tls.pem;
    ssl_certificate_key $N/tls.key;
    ssl_protocols TLSv1.3;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
NGINX=(nginx -p "$N" -c "$N/nginx.conf" -e "$N/error.log")
if [ "$(id -u)" = 0 ]; then
  chown -R nobody:nogroup "$N"
  NGINX=(setpriv --reuid=nobody --regid=nogroup --clear-groups -- "${NGINX[@]}")
fi
"${NGINX[@]}" &
PIDS+=($!)
for _ in $(seq 1 100); do
  curl -sf -o /dev/null -X POST --data x "http://127.0.0.1:$UP_PORT/quote" &&
    curl -sf -o /dev/null --cacert "$N/tls.pem" -X POST --data x "https://127.0.0.1:$TLS_PORT/quote" &&
    break
  sleep 0.1
done
curl -sf -o /dev/null --cacert "$N/tls.pem" -X POST --data x "https://127.0.0.1:$TLS_PORT/quote" ||
  fail "nginx did not start: $(tail -3 "$N/error.log" 2>/dev/null)"

# --- aztpd, the two identities, the policy ---
TD=example.org
CALLER=spiffe://$TD/agents/bench-caller
PAYMENTS=spiffe://$TD/tools/payments
expect_exit 0 "$D" init --data-dir "$T/cp" --trust-domain $TD
KEY="$(json_get "$out" admin_api_key)"
start_aztpd "$T/cp"
C=(curl -sS --max-time 20 --cacert "$T/cp/bundle.pem")
for id in $CALLER $PAYMENTS; do
  api POST /v1/identities "{\"id\":\"$id\"}"
  [ "$status" = 201 ] || fail "register $id: $status $body"
done
api POST /v1/policies '{"name":"payments-bench","document":{"Statement":[
  {"Sid":"Quotes","Effect":"Allow","Action":"payments:quote"}]}}'
[ "$status" = 201 ] || fail "policy: $status $body"
api POST "/v1/policies/$(json_get "$body" id):attach" "{\"identity\":\"$PAYMENTS\"}"
[ "$status" = 200 ] || fail "attach: $status $body"
printf '%s' "$KEY" > "$T/key"
chmod 600 "$T/key"
export AZTP_SERVER="$URL" AZTP_API_KEY="$KEY" AZTP_BUNDLE="$T/cp/bundle.json"
expect_exit 0 "$AZTP_BIN" agent fetch --id "$CALLER" --out "$T/caller"
unset AZTP_SERVER AZTP_API_KEY AZTP_BUNDLE

# --- aztp-proxy for payments, nginx (a) as its app ---
# Audit records are shipped once an hour, i.e. not during the measurement:
# shipping runs off the request path, and aztpd ingesting them would share
# the same cores.
cat > "$T/payments.yaml" <<YAML
identity: $PAYMENTS
control_plane:
  url: $URL
  bundle_file: $T/cp/bundle.json
  api_key_file: $T/key
inbound:
  listen: 127.0.0.1:0
  upstream: http://127.0.0.1:$UP_PORT
  routes:
    - {method: POST, path: /quote, action: "payments:quote", resource: quotes}
audit:
  db: $T/audit.db
  ship_interval: 1h
threads: $WORKERS
YAML
"$PX" run --config "$T/payments.yaml" --ready-file "$T/payments.ready" 2>"$T/payments.log" &
PROXY_PID=$!
PIDS+=($PROXY_PID)
for _ in $(seq 1 200); do [ -s "$T/payments.ready" ] && break; sleep 0.05; done
[ -s "$T/payments.ready" ] || fail "aztp-proxy did not start: $(tail -5 "$T/payments.log")"
IN="$(json_get "$(cat "$T/payments.ready")" inbound_port)"

# --- the runs: A B A B ---
AZTP_ARGS=(--mode aztp --svid "$T/caller" --target-id "$PAYMENTS"
  --bundle "$T/caller/bundle.json" --url "https://127.0.0.1:$IN/quote")
NGINX_ARGS=(--mode tls --ca "$N/tls.pem" --url "https://127.0.0.1:$TLS_PORT/quote")
echo "proxy bench: $CONNS connections, $REQS requests per run, $WORKERS workers each side"
for round in 1 2; do
  for side in aztp nginx; do
    args_var="${side^^}_ARGS[@]"
    "$LOAD" "${!args_var}" --connections "$CONNS" --requests "$REQS" --warmup "$WARMUP" \
      > "$T/$side.$round.json" 2> "$T/$side.$round.err" || true
    [ -s "$T/$side.$round.json" ] ||
      fail "$side run $round produced nothing: $(tail -5 "$T/$side.$round.err")"
    echo "  $side run $round: $(cat "$T/$side.$round.json")"
    if [ -s "$T/$side.$round.err" ]; then sed 's/^/    /' "$T/$side.$round.err"; fi
  done
done
kill -0 "$PROXY_PID" 2>/dev/null || fail "aztp-proxy exited: $(tail -5 "$T/payments.log")"
# Every request through the proxy left an audit record, and the chain holds.
expect_exit 0 "$AZTP_BIN" audit verify --db "$T/audit.db"
[ "$(json_get "$out" valid)" = True ] || fail "audit log: $out"
echo "  aztp-proxy audit log: $(json_get "$out" records) records (want $((2 * (REQS + CONNS * WARMUP)))), chain valid"

python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
def best(side):
    runs = [json.load(open(f"{t}/{side}.{r}.json")) for r in (1, 2)]
    return max(runs, key=lambda r: r["rps"]), sum(r["errors"] for r in runs)
(a, aerr), (n, nerr) = best("aztp"), best("nginx")
print()
print(f"| {'':<38} | {'rps':>8} | {'p50 ms':>7} | {'p99 ms':>7} | {'errors':>6} |")
print(f"|{'-'*40}|{'-'*10}|{'-'*9}|{'-'*9}|{'-'*8}|")
for name, r, e in (("aztp-proxy (mTLS+chain+policy+audit)", a, aerr),
                   ("nginx (TLS reverse proxy)", n, nerr)):
    print(f"| {name:<38} | {r['rps']:>8.0f} | {r['p50_ms']:>7.3f} | {r['p99_ms']:>7.3f} | {e:>6} |")
print()
print(f"ratio proxy rps / nginx rps: {a['rps'] / n['rps']:.3f}")
print(f"ratio proxy p50 / nginx p50: {a['p50_ms'] / n['p50_ms']:.2f}")
print(f"ratio proxy p99 / nginx p99: {a['p99_ms'] / n['p99_ms']:.2f}")
sys.exit(1 if aerr or nerr else 0)
PY
