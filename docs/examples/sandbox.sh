# A trust domain on one machine, to try the examples of the docs against:
#
#   . docs/examples/sandbox.sh        (from an empty folder: bash, sourced)
#
# starts org-a.example's aztpd on 127.0.0.1:8443 (data in ./cp-a), the
# example payments app on 127.0.0.1:8080 behind aztp-proxy
# (docs/examples/payments.yaml: inbound 9443, egress 9080, metrics 9091,
# audit log ./payments-audit.db) with docs/examples/payments-policy.json
# attached, sends one allowed quote and one refund the policy denies, and
# stops the proxy, which ships its audit records to aztpd. aztpd and the
# app keep running: `kill $SANDBOX_PIDS` stops them. It exports
# AZTP_SERVER, AZTP_BUNDLE and AZTP_API_KEY (the admin key, also in
# ./cp-a-init.json) for the `aztp` commands that follow. `aztp`, `aztpd`
# and `aztp-proxy` must be on the PATH, as after `cmake --install`.

_sandbox_examples=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

_sandbox_field() {
  python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# _sandbox_wait runs its command until it succeeds, for at most 20 s.
_sandbox_wait() {
  local i
  for i in $(seq 100); do
    "$@" && return 0
    sleep 0.2
  done
  echo "sandbox: still failing after 20 s: $*" >&2
  return 1
}

_sandbox_start() {
  local policy proxy
  aztpd init --data-dir cp-a --trust-domain org-a.example > cp-a-init.json || return 1
  aztpd run --data-dir cp-a --listen 127.0.0.1:8443 2> aztpd.log &
  SANDBOX_PIDS=$!
  _sandbox_wait curl -sfo /dev/null --cacert cp-a/bundle.pem https://127.0.0.1:8443/readyz || return 1
  export AZTP_SERVER=https://127.0.0.1:8443 AZTP_BUNDLE=cp-a/bundle.json
  AZTP_API_KEY=$(_sandbox_field admin_api_key < cp-a-init.json) || return 1
  export AZTP_API_KEY

  aztp identity register --id spiffe://org-a.example/tools/payments > /dev/null || return 1
  (umask 077; aztp apikey create --scope /tools/payments --description "aztp-proxy payments" |
    _sandbox_field api_key > payments.key) || return 1
  policy=$(aztp policy put --name payments --document "$_sandbox_examples/payments-policy.json" |
    _sandbox_field id) || return 1
  aztp policy attach "$policy" --identity spiffe://org-a.example/tools/payments > /dev/null || return 1

  python3 "$_sandbox_examples/quote_app.py" 8080 &
  SANDBOX_PIDS="$SANDBOX_PIDS $!"
  _sandbox_wait curl -so /dev/null http://127.0.0.1:8080/ || return 1
  aztp-proxy run --config "$_sandbox_examples/payments.yaml" --ready-file payments.ready 2> proxy.log &
  proxy=$!
  _sandbox_wait test -s payments.ready || return 1
  local to=(-x http://127.0.0.1:9080 -H 'Aztp-Target: spiffe://org-a.example/tools/payments')
  curl -s "${to[@]}" --data '{"item":"flight"}' http://127.0.0.1:9443/quote > /dev/null
  curl -s "${to[@]}" --data '{}' http://127.0.0.1:9443/refund > /dev/null
  kill "$proxy" && wait "$proxy"
}

_sandbox_start
