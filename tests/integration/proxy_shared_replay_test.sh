#!/usr/bin/env bash
# Two aztp-proxy processes for the same agent on one Redis (docs/proxy.md,
# "Shared replay memory"): a chain accepted at one is `replay` at the other;
# Redis stopped: 503 `unavailable` at once (on_unavailable: refuse) and
# counted in the metrics, or served from local memory (local); Redis back:
# service again without a restart. Without Redis, each proxy alone would
# accept the chain once (the hole this closes).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/proxy.sh"
D="$AZTP_BUILD/aztpd/aztpd"
PX="$AZTP_BUILD/proxy/aztp-proxy"
RCTL="$AZTP_SOURCE/tests/redis/redisctl.sh"
for bin in "$D" "$PX"; do [ -x "$bin" ] || fail "$bin is not built"; done
RDIR="$T/redis"
AT_EXIT+=('"$RCTL" stop "$RDIR"')
"$RCTL" start "$RDIR" || fail "redis-server did not start"
RPORT="$(cat "$RDIR/port")"

TD=example.org
CLIENT=spiffe://$TD/agents/research
PAYMENTS=spiffe://$TD/tools/payments
expect_exit 0 "$D" init --data-dir "$T/cp" --trust-domain $TD
KEY="$(json_get "$out" admin_api_key)"
start_aztpd "$T/cp"
C=(curl -sS --max-time 20 --cacert "$T/cp/bundle.pem")
proxy_fixture

# proxy_config NAME ON_UNAVAILABLE [BACKEND]: a payments proxy's file.
proxy_config() {
  cat > "$T/$1.yaml" <<YAML
identity: $PAYMENTS
control_plane:
  url: $URL
  bundle_file: $T/cp/bundle.json
  api_key_file: $T/key
log_format: json
metrics_listen: 127.0.0.1:0
$(payments_inbound "$1")
replay:
  backend: ${3:-redis}
  redis:
    address: 127.0.0.1:$RPORT
    password_file: $RDIR/password
    timeout_ms: 200
    on_unavailable: $2
YAML
}
# proxy NAME ON_UNAVAILABLE [BACKEND]: start a payments proxy.
proxy() {
  proxy_config "$@"
  start_proxy "$1"
}

export AZTP_SERVER="$URL" AZTP_API_KEY="$KEY" AZTP_BUNDLE="$T/cp/bundle.json"
expect_exit 0 "$AZTP_BIN" agent fetch --id "$CLIENT" --out "$T/client"
unset AZTP_SERVER AZTP_API_KEY AZTP_BUNDLE

proxy a refuse
proxy b refuse
chain="$(mint)"
send a "$chain"; [ "$status" = 200 ] || fail "first use at a: $status $(cat "$T/out")"
send b "$chain"; [ "$status" = 401 ] && [ "$reason" = replay ] || fail "at b: $status $reason"
send a "$chain"; [ "$status" = 401 ] && [ "$reason" = replay ] || fail "again at a: $status $reason"
other="$(mint)"
send b "$other"; [ "$status" = 200 ] || fail "b's own first use: $status"
send a "$other"; [ "$status" = 401 ] && [ "$reason" = replay ] || fail "b's chain at a: $status $reason"
ok "two proxies on one Redis: a chain accepted at one is replay at the other, both ways"

# Redis stopped: refuse, at once, counted.
"$RCTL" kill "$RDIR"
fresh="$(mint)"
t0=$(date +%s%N)
send a "$fresh"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$status" = 503 ] && [ "$reason" = unavailable ] || fail "Redis down at a: $status $reason $(cat "$T/out")"
[ "$ms" -lt 2000 ] || fail "the refusal took $ms ms"
metrics="$(curl -sS "http://127.0.0.1:$(port a metrics_port)/metrics")"
grep -q '^aztp_proxy_replay_unavailable_total [1-9]' <<<"$metrics" ||
  fail "no refusal counted: $(grep replay <<<"$metrics")"
ok "Redis down: 503 unavailable in $ms ms, counted in aztp_proxy_replay_unavailable_total"

# on_unavailable: local serves from the proxy's own memory meanwhile.
proxy_config l local
set +e
timeout 20 "$PX" run --config "$T/l.yaml" --ready-file "$T/l.ready" 2>"$T/l.log"
rc=$?
set -e
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "a proxy with Redis unreachable: exit $rc"
grep -q "replay.redis" "$T/l.log" && grep -q "unavailable" "$T/l.log" ||
  fail "the refused start does not say why: $(tail -3 "$T/l.log")"
ok "a proxy does not start while its Redis is unreachable (exit $rc), and says why"

# Redis back: service again, without restarting the proxies.
"$RCTL" start "$RDIR" || fail "redis-server did not come back"
for _ in $(seq 40); do
  send a "$fresh"
  [ "$status" = 200 ] && break
  sleep 0.1
done
[ "$status" = 200 ] || fail "after Redis came back: $status $reason"
send b "$fresh"; [ "$status" = 401 ] && [ "$reason" = replay ] || fail "after: $status $reason"
ok "Redis back: served again without a restart, and shared again"

proxy l local
"$RCTL" kill "$RDIR"
late="$(mint)"
send l "$late"; [ "$status" = 200 ] || fail "local while down: $status $reason"
send l "$late"; [ "$status" = 401 ] && [ "$reason" = replay ] || fail "local replay: $status $reason"
ok "on_unavailable: local serves from the proxy's own memory while Redis is down"

# Memory backends: the hole Redis closes.
proxy m1 refuse memory
proxy m2 refuse memory
solo="$(mint)"
send m1 "$solo"; [ "$status" = 200 ] || fail "m1: $status"
send m2 "$solo"; [ "$status" = 200 ] || fail "m2 should accept (its own memory): $status $reason"
ok "with memory backends each proxy accepts the same chain once (why replay.backend: redis exists)"
done_checks
