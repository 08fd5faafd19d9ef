#!/usr/bin/env bash
# Two aztpd on loopback: org-a federates with org-b over the https_spiffe
# profile (org-b's /v1/bundle, served with its aztpd SVID), so that org-b's
# workloads pass org-a's TLS handshake (and get 401 from its control plane,
# which only its own trust domain's SVIDs authenticate to); an unfederated
# domain's are refused at the handshake, and so are org-b's once the
# relationship is gone.
source "$(dirname "$0")/../lib/common.sh"
D="$AZTP_BUILD/aztpd/aztpd"
[ -x "$D" ] || fail "aztpd is not built at $D"

expect_exit 0 "$D" init --data-dir "$T/b" --trust-domain org-b.example
KEY_B="$(json_get "$out" admin_api_key)"
expect_exit 0 "$D" init --data-dir "$T/a" --trust-domain org-a.example
start_aztpd "$T/b"
URL_B="$URL"; PID_B=$PID

# An org-b workload with an SVID from org-b's control plane.
export AZTP_SERVER="$URL_B" AZTP_API_KEY="$KEY_B" AZTP_BUNDLE="$T/b/bundle.json"
expect_exit 0 "$AZTP_BIN" identity register --id spiffe://org-b.example/agent/payments
expect_exit 0 "$AZTP_BIN" agent fetch --id spiffe://org-b.example/agent/payments --out "$T/payments"
unset AZTP_SERVER AZTP_API_KEY AZTP_BUNDLE

cat > "$T/a.yaml" <<YAML
federation:
  - trust_domain: org-b.example
    endpoint_url: $URL_B/v1/bundle
    profile: https_spiffe
    endpoint_id: spiffe://org-b.example/aztpd
    bootstrap_bundle: $T/b/bundle.json
YAML
start_aztpd "$T/a" --config "$T/a.yaml"
URL_A="$URL"; PID_A=$PID
C=(curl -sS --cacert "$T/a/bundle.pem" --max-time 10)
"${C[@]}" "$URL_A/v1/bundles" > "$T/bundles.json"
/usr/bin/python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["trust_domains"]; assert sorted(m)==["org-a.example","org-b.example"], m' "$T/bundles.json" \
  || fail "bundle map: $(cat "$T/bundles.json")"
ok "org-a fetched org-b's bundle over https_spiffe and serves both in /v1/bundles"

status="$("${C[@]}" -o "$T/body" -w '%{http_code}' --cert "$T/payments/svid.pem" --key "$T/payments/svid.key" "$URL_A/v1/discover")"
[ "$status" = 401 ] && grep -q 'trust domain org-b.example' "$T/body" \
  || fail "federated mTLS: $status $(cat "$T/body")"
ok "an org-b workload passes org-a's handshake, but its SVID authenticates nothing at org-a's control plane (401)"

# A domain nobody federated with.
expect_exit 0 "$AZTP_BIN" ca init --trust-domain org-c.example --out "$T/ca-c"
expect_exit 0 "$AZTP_BIN" svid issue --ca "$T/ca-c" --id spiffe://org-c.example/agent/x --out "$T/x"
status="$("${C[@]}" -o "$T/body" -w '%{http_code}' --cert "$T/x/svid.pem" --key "$T/x/svid.key" "$URL_A/v1/discover")"
[ "$status" = 401 ] && [ "$(json_get "$(cat "$T/body")" error)" = untrusted_trust_domain ] \
  || fail "an unfederated domain's SVID: $status $(cat "$T/body")"
ok "an SVID of an unfederated domain is refused"

# A bad federation entry stops aztpd with the key named.
printf 'federation:\n  - trust_domain: org-b.example\n    endpoint_url: %s\n    profile: https_spiffe\n' "$URL_B/v1/bundle" > "$T/bad.yaml"
expect_exit 1 "$D" run --config "$T/bad.yaml" --data-dir "$T/a" --listen 127.0.0.1:0
[[ "$out" == *"federation[0]"* ]] || fail "bad entry message: $out"
ok "a relationship missing its endpoint ID and bootstrap bundle is refused, naming federation[0]"

# Without the relationship, org-b's workloads are strangers again.
kill -TERM $PID_A; wait $PID_A || fail "aztpd exit"
start_aztpd "$T/a"
URL_A="$URL"
status="$("${C[@]}" -o "$T/body" -w '%{http_code}' --cert "$T/payments/svid.pem" --key "$T/payments/svid.key" "$URL_A/v1/discover")"
[ "$status" = 401 ] && [ "$(json_get "$(cat "$T/body")" error)" = untrusted_trust_domain ] \
  || fail "org-b's SVID after the relationship was removed: $status $(cat "$T/body")"
ok "after the relationship is removed, org-b's workload is refused"
done_checks
