# What the proxy test scripts share (source after common.sh): the payments
# agent behind aztp-proxy and its research client, at one trust domain.
#   proxy_fixture   registers $CLIENT and $PAYMENTS at $URL (with $KEY and
#                   the curl command in C), writes an allow-all payments
#                   policy to $T/policy.json and the key to $T/key, and
#                   starts the echo app (its port in $T/app.port)
proxy_fixture() {
  local id
  for id in $CLIENT $PAYMENTS; do
    api POST /v1/identities "{\"id\":\"$id\"}"
    [ "$status" = 201 ] || fail "register $id: $status $body"
  done
  printf '{"Statement":{"Effect":"Allow","Action":"payments:*"}}' > "$T/policy.json"
  (umask 077; printf '%s' "$KEY" > "$T/key")
  python3 "$AZTP_SOURCE/tests/lib/echo_app.py" --port-file "$T/app.port" &
  PIDS+=($!)
  for _ in $(seq 1 100); do [ -s "$T/app.port" ] && break; sleep 0.05; done
  [ -s "$T/app.port" ] || fail "the echo app did not start"
}
