#!/usr/bin/env bash
# aztp-proxy under continuous traffic (docs/proxy.md): both proxies renew
# their 1-minute SVIDs (at half-life) while four clients keep sending, and
# the payments proxy reloads its configuration (SIGHUP) in the middle — not
# one request fails. Then the upstream timeout: an app slower than
# request_timeout is cut off with 502.
source "$(dirname "$0")/../lib/common.sh"
D="$AZTP_BUILD/aztpd/aztpd"
PX="$AZTP_BUILD/proxy/aztp-proxy"
APP="$(dirname "$0")/../lib/echo_app.py"
for bin in "$D" "$PX"; do [ -x "$bin" ] || fail "$bin is not built"; done
PIDS=()
trap 'for p in "${PIDS[@]}" "${AZTPD_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$T"' EXIT

TD=example.org
RESEARCH=spiffe://$TD/agents/research
PAYMENTS=spiffe://$TD/tools/payments
expect_exit 0 "$D" init --data-dir "$T/cp" --trust-domain $TD
KEY="$(json_get "$out" admin_api_key)"
printf 'svid:\n  default_ttl: 1m\n' > "$T/aztpd.yaml"
start_aztpd "$T/cp" --config "$T/aztpd.yaml"
C=(curl -sS --max-time 20 --cacert "$T/cp/bundle.pem")
for id in $RESEARCH $PAYMENTS; do
  api POST /v1/identities "{\"id\":\"$id\"}"
  [ "$status" = 201 ] || fail "register $id: $status $body"
done
printf '{"Statement":{"Effect":"Allow","Action":"payments:*"}}' > "$T/policy.json"
printf '%s' "$KEY" > "$T/key"
chmod 600 "$T/key"
python3 "$APP" --port-file "$T/app.port" &
PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$T/app.port" ] && break; sleep 0.05; done
APP_PORT="$(cat "$T/app.port")"

common() {
  cat <<YAML
control_plane:
  url: $URL
  bundle_file: $T/cp/bundle.json
  api_key_file: $T/key
log_format: json
request_timeout: 2s
YAML
}
# payments_config EXTRA_ROUTE: the payments proxy's file.
payments_config() {
  { echo "identity: $PAYMENTS"; common; cat <<YAML
inbound:
  listen: 127.0.0.1:0
  upstream: http://127.0.0.1:$APP_PORT
  policy_file: $T/policy.json
  routes:
    - {method: POST, path: /quote, action: "payments:quote"}
    - {method: GET, path: "/sleep/*", action: "payments:quote"}
$1
audit:
  db: $T/payments-audit.db
YAML
  } > "$T/payments.yaml"
}
payments_config ""
{ echo "identity: $RESEARCH"; common; cat <<YAML
egress:
  listen: 127.0.0.1:0
  root_capabilities: ["payments:*"]
audit:
  db: $T/research-audit.db
YAML
} > "$T/research.yaml"
for name in payments research; do
  "$PX" run --config "$T/$name.yaml" --ready-file "$T/$name.ready" 2>"$T/$name.log" &
  PIDS+=($!)
  eval "PID_$name=$!"
  for _ in $(seq 1 200); do [ -s "$T/$name.ready" ] && break; sleep 0.05; done
  [ -s "$T/$name.ready" ] || fail "$name proxy did not start: $(tail -5 "$T/$name.log")"
done
IN="$(json_get "$(cat "$T/payments.ready")" inbound_port)"
EG="$(json_get "$(cat "$T/research.ready")" egress_port)"

status="$(curl -sS --max-time 20 -x "http://127.0.0.1:$EG" -H "Aztp-Target: $PAYMENTS" \
  -X POST --data x -o "$T/out" -w '%{http_code}' "http://127.0.0.1:$IN/quote")"
[ "$status" = 200 ] || fail "first request: $status $(cat "$T/out")"

# Four clients, each on one kept-alive connection per batch, for 36 s: the
# SVIDs (1 minute) are renewed at 30 s.
client() {
  local i="$1" end=$((SECONDS + 36)) sent=0 failed=0
  while [ $SECONDS -lt $end ]; do
    local urls=()
    for _ in 1 2 3 4 5; do urls+=(-o /dev/null "http://127.0.0.1:$IN/quote"); done
    codes="$(curl -s --max-time 20 -x "http://127.0.0.1:$EG" -H "Aztp-Target: $PAYMENTS" \
      -X POST --data "{\"client\":$i}" -w '%{http_code}\n' "${urls[@]}" || true)"
    for code in $codes; do
      sent=$((sent + 1))
      if [ "$code" != 200 ]; then
        failed=$((failed + 1))
        [ -s "$T/first-failure" ] || echo "client $i got $code at $SECONDS s" > "$T/first-failure"
      fi
    done
    sleep 0.05
  done
  echo "$sent $failed" > "$T/client.$i"
}
for i in 1 2 3 4; do client "$i" & done
CLIENTS=$(jobs -p | tail -4)
# A reload in the middle: a new route.
sleep 15
payments_config '    - {method: POST, path: /reloaded, action: "payments:quote"}'
kill -HUP "$PID_payments"
wait $CLIENTS
sent=0 failed=0
for i in 1 2 3 4; do
  read -r s f < "$T/client.$i"
  sent=$((sent + s)) failed=$((failed + f))
done
echo "# $sent requests, $failed failed"
[ "$sent" -gt 200 ] || fail "only $sent requests were sent"
[ "$failed" = 0 ] || fail "$failed of $sent requests failed during rotation and reload: $(cat "$T/first-failure"); research: $(tail -2 "$T/research.log"); payments: $(tail -2 "$T/payments.log")"
for name in payments research; do
  grep -q '"renewed":true' "$T/$name.log" || fail "$name did not renew its SVID: $(grep -c . "$T/$name.log") log lines"
done
grep -q '"configuration reloaded"\|configuration reloaded' "$T/payments.log" || fail "no reload logged"
ok "$sent requests from 4 clients while both proxies renewed their SVIDs and payments reloaded its configuration: none failed"

status="$(curl -sS --max-time 20 -x "http://127.0.0.1:$EG" -H "Aztp-Target: $PAYMENTS" \
  -X POST --data x -o "$T/out" -w '%{http_code}' "http://127.0.0.1:$IN/reloaded")"
[ "$status" = 200 ] || fail "the reloaded route: $status $(cat "$T/out")"
ok "the route added by the reload is served"

start=$SECONDS
status="$(curl -sS --max-time 20 -x "http://127.0.0.1:$EG" -H "Aztp-Target: $PAYMENTS" \
  -o "$T/out" -w '%{http_code}' "http://127.0.0.1:$IN/sleep/6")"
took=$((SECONDS - start))
[ "$status" = 502 ] || fail "slow app: $status $(cat "$T/out")"
[ "$took" -le 4 ] || fail "the slow app was cut off only after $took s"
ok "an app slower than request_timeout (2 s) is cut off: 502 after $took s"
done_checks
