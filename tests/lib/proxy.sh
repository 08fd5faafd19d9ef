# What the proxy test scripts share (source after common.sh): the payments
# agent behind aztp-proxy and its research client, at one trust domain.
#   proxy_fixture   registers $CLIENT and $PAYMENTS at $URL (with $KEY and
#                   the curl command in C), writes an allow-all payments
#                   policy to $T/policy.json and the key to $T/key, and
#                   starts the echo app (its port in $T/app.port)
#   payments_inbound NAME   the inbound and audit sections of proxy NAME's
#                   configuration (POST /quote -> payments:quote, the
#                   policy file, the echo app, audit in $T/NAME-audit.db)
#   start_proxy NAME        runs aztp-proxy with $T/NAME.yaml until ready
#   port NAME FIELD         a port from proxy NAME's ready file
#   mint                    a chain of $T/client for $PAYMENTS (payments:quote)
#   send NAME CHAIN         the client's POST /quote through proxy NAME;
#                           sets status and reason
# proxy_head IDENTITY NAME: the first keys of proxy NAME's configuration:
# its identity, the control plane at $URL, audit in $T/NAME-audit.db.
proxy_head() {
  cat <<YAML
identity: $1
control_plane:
  url: $URL
  bundle_file: $T/cp/bundle.json
  api_key_file: $T/key
audit:
  db: $T/$2-audit.db
YAML
}
# node_scripts NAME PACKAGE: copies tests/NAME/*.mjs into $T/NAME, next to
# a node_modules that is the installed npm packages (ESM ignores
# NODE_PATH), after checking that PACKAGE is installed.
node_scripts() {
  [ -d "$AZTP_NODE_PATH/$2" ] || fail "$2 is not installed (scripts/install-deps.sh)"
  mkdir -p "$T/$1"
  cp "$AZTP_SOURCE/tests/$1"/*.mjs "$T/$1/"
  [ -e "$T/node_modules" ] || ln -s "$AZTP_NODE_PATH" "$T/node_modules"
}
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
payments_inbound() {
  cat <<YAML
inbound:
  listen: 127.0.0.1:0
  upstream: http://127.0.0.1:$(cat "$T/app.port")
  policy_file: $T/policy.json
  routes:
    - {method: POST, path: /quote, action: "payments:quote"}
audit:
  db: $T/$1-audit.db
YAML
}
start_proxy() {
  rm -f "$T/$1.ready"
  "$AZTP_BUILD/proxy/aztp-proxy" run --config "$T/$1.yaml" --ready-file "$T/$1.ready" 2>"$T/$1.log" &
  PIDS+=($!)
  for _ in $(seq 1 200); do [ -s "$T/$1.ready" ] && break; sleep 0.05; done
  [ -s "$T/$1.ready" ] || fail "$1 did not start: $(tail -5 "$T/$1.log")"
}
port() { json_get "$(cat "$T/$1.ready")" "$2"; }
mint() { "$AZTP_BIN" chain mint --svid "$T/client" --aud "$PAYMENTS" --cap payments:quote; }
send() {
  status="$(curl -sS --max-time 20 -k --cert "$T/client/svid.pem" --key "$T/client/svid.key" \
    -o "$T/out" -w '%{http_code}' -X POST --data x -H "Aztp-Chain: $2" \
    "https://127.0.0.1:$(port "$1" inbound_port)/quote")"
  reason="$(python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1])).get("error", ""))
except Exception: print("")' "$T/out")"
}
