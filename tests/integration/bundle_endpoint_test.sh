#!/usr/bin/env bash
# The SPIFFE bundle endpoint on a listener of its own (docs/federation.md,
# "Serving your bundle"), with real processes on loopback:
#  (a) https_web: org-b serves its bundle with a certificate of a local CA
#      made here with the openssl CLI; curl and org-a's federation (profile
#      https_web, web_ca_file) fetch it; the files are re-read when replaced;
#  (b) https_spiffe: org-b serves it with its aztpd SVID, org-a federates
#      with endpoint_id + bootstrap bundle; no client certificate is asked;
#  (c) bad bundle_endpoint settings are refused, naming the key.
source "$(dirname "$0")/../lib/common.sh"
D="$AZTP_BUILD/aztpd/aztpd"
[ -x "$D" ] || fail "aztpd is not built at $D"

# stop PID: SIGTERM, and aztpd must exit 0.
stop() {
  kill -TERM "$1"
  local rc=0
  wait "$1" || rc=$?
  [ "$rc" = 0 ] || fail "aztpd exit status $rc"
}
# bundle_url DIR: the bundle endpoint's URL, written before DIR/aztpd.url.
bundle_url() {
  [ -s "$1/aztpd.bundle.url" ] || fail "no $1/aztpd.bundle.url"
  BURL="$(cat "$1/aztpd.bundle.url")"
}
# hostport URL: host:port of an https URL.
hostport() { local rest="${1#https://}"; echo "${rest%%/*}"; }
# cert_requests HOSTPORT: how many CertificateRequest messages the server
# sent in one handshake (openssl s_client -msg shows TLS 1.3's too).
cert_requests() {
  openssl s_client -connect "$1" -msg </dev/null 2>/dev/null | grep -c CertificateRequest || true
}
# served_cert HOSTPORT OPTION: print OPTION (e.g. -serial) of the leaf the
# server presents.
served_cert() {
  openssl s_client -connect "$1" </dev/null 2>/dev/null | openssl x509 -noout "$2"
}
# wait_both URL_A CACERT: wait until org-a's /v1/bundles lists org-b too.
wait_both() {
  for _ in $(seq 1 100); do
    if curl -sS --max-time 5 --cacert "$2" "$1/v1/bundles" > "$T/bundles.json" 2>/dev/null &&
       /usr/bin/python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["trust_domains"]; sys.exit(0 if sorted(m)==["org-a.example","org-b.example"] else 1)' "$T/bundles.json"; then
      return 0
    fi
    sleep 0.1
  done
  fail "org-a's bundle map never held org-b: $(cat "$T/bundles.json")"
}

# --- a local web CA, and a server certificate for localhost/127.0.0.1 ---
W="$T/web"
mkdir "$W"
# issue_web NAME: an RSA key and a certificate from the local CA, in
# $W/NAME.key and $W/NAME.crt.
issue_web() {
  openssl req -new -newkey rsa:2048 -nodes -keyout "$W/$1.key" -subj /CN=localhost \
    -out "$W/$1.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' > "$W/ext.cnf"
  openssl x509 -req -in "$W/$1.csr" -CA "$W/localca.pem" -CAkey "$W/localca.key" \
    -CAcreateserial -CAserial "$W/localca.srl" -days 2 -extfile "$W/ext.cnf" \
    -out "$W/$1.crt" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -keyout "$W/localca.key" -out "$W/localca.pem" -subj "/CN=aztp test local CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
issue_web web
ok "a local CA and an RSA server certificate for localhost/127.0.0.1 (openssl CLI)"

expect_exit 0 "$D" init --data-dir "$T/b" --trust-domain org-b.example
KEY_B="$(json_get "$out" admin_api_key)"
expect_exit 0 "$D" init --data-dir "$T/a" --trust-domain org-a.example

# =============== (a) https_web ===============
cat > "$T/b-web.yaml" <<YAML
bundle_endpoint:
  listen: 127.0.0.1:0
  profile: https_web
  cert_file: $W/web.crt
  key_file: $W/web.key
YAML
start_aztpd "$T/b" --config "$T/b-web.yaml"
URL_B="$URL"; PID_B=$PID
bundle_url "$T/b"; BURL_B="$BURL"
[[ "$BURL_B" == https://127.0.0.1:*/bundle ]] || fail "bundle url: $BURL_B"
[ "$(hostport "$BURL_B")" != "$(hostport "$URL_B")" ] || fail "the bundle endpoint shares the API port"
grep -q 'serving bundle endpoint profile=https_web url='"$BURL_B" "$T/aztpd.log" \
  || fail "start log line: $(grep 'bundle endpoint' "$T/aztpd.log")"
ok "org-b serves its bundle endpoint on a port of its own, logged with profile and URL"

WEB=(curl -sS --max-time 10 --cacert "$W/localca.pem")
"${WEB[@]}" -D "$T/headers" -o "$T/served.json" "$BURL_B"
grep -qi '^content-type: application/json' "$T/headers" || fail "content type: $(cat "$T/headers")"
expect_exit 0 "$AZTP_BIN" bundle show --bundle "org-b.example=$T/served.json"
/usr/bin/python3 - "$T/served.json" "$T/b/bundle.json" <<'PY' || fail "served bundle differs from bundle.json"
import json, sys
served, on_disk = (json.load(open(p)) for p in sys.argv[1:])
assert served == on_disk, "differs"
assert any(k.get("use") == "x509-svid" for k in served["keys"])
assert isinstance(served["spiffe_sequence"], int)
PY
ok "https_web: curl --cacert localca.pem gets org-b's SPIFFE bundle at /bundle (application/json)"

if curl -sS --max-time 10 --cacert "$T/b/bundle.pem" -o /dev/null "$BURL_B" 2>/dev/null; then
  fail "the https_web endpoint presented a certificate of org-b's own CA"
fi
[ "$(cert_requests "$(hostport "$BURL_B")")" = 0 ] || fail "https_web endpoint asked for a client certificate"
ok "it presents the web certificate, not the SVID, and asks for no client certificate"

BASE_B="${BURL_B%/bundle}"
for p in /other /v1/bundle /bundle/ /healthz; do
  status="$("${WEB[@]}" -o "$T/body" -w '%{http_code}' "$BASE_B$p")"
  [ "$status" = 404 ] || fail "GET $p: $status"
  [ "$(json_get "$(cat "$T/body")" error)" = not_found ] || fail "404 body: $(cat "$T/body")"
done
status="$("${WEB[@]}" -o "$T/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data '{}' "$BURL_B")"
[ "$status" = 405 ] || fail "POST: $status"
status="$("${WEB[@]}" -o /dev/null -w '%{http_code}' -I "$BURL_B")"
[ "$status" = 200 ] || fail "HEAD: $status"
status="$(curl -sS --max-time 10 --cacert "$T/b/bundle.pem" -o "$T/v1.json" -w '%{http_code}' "$URL_B/v1/bundle")"
[ "$status" = 200 ] || fail "/v1/bundle on the API listener: $status"
ok "404 on other paths, 405 for POST, HEAD works; /v1/bundle stays on the API listener"

# An org-b workload with an SVID from org-b's control plane.
export AZTP_SERVER="$URL_B" AZTP_API_KEY="$KEY_B" AZTP_BUNDLE="$T/b/bundle.json"
expect_exit 0 "$AZTP_BIN" identity register --id spiffe://org-b.example/agent/payments
expect_exit 0 "$AZTP_BIN" agent fetch --id spiffe://org-b.example/agent/payments --out "$T/payments"
unset AZTP_SERVER AZTP_API_KEY AZTP_BUNDLE

cat > "$T/a-web.yaml" <<YAML
federation_fetch_timeout: 5s
federation:
  - trust_domain: org-b.example
    endpoint_url: $BURL_B
    profile: https_web
    web_ca_file: $W/localca.pem
YAML
: > "$T/aztpd.log"  # from here on, the log is org-a's (and org-b's requests)
start_aztpd "$T/a" --config "$T/a-web.yaml"
URL_A="$URL"; PID_A=$PID
[ ! -e "$T/a/aztpd.bundle.url" ] || fail "aztpd.bundle.url without a bundle_endpoint"
A=(curl -sS --max-time 10 --cacert "$T/a/bundle.pem")
wait_both "$URL_A" "$T/a/bundle.pem"
ok "org-a federates with org-b over https_web (web_ca_file: localca.pem); /v1/bundles lists both"

status="$("${A[@]}" -o "$T/body" -w '%{http_code}' --cert "$T/payments/svid.pem" --key "$T/payments/svid.key" "$URL_A/v1/discover")"
[ "$status" = 401 ] || fail "federated mTLS: $status $(cat "$T/body")"
ok "an org-b workload SVID passes org-a's handshake (and is 401 at its control plane)"

grep -q 'info federated bundle updated trust_domain=org-b.example new_sequence=[0-9]' "$T/aztpd.log" \
  || fail "no update line: $(grep federated "$T/aztpd.log" || true)"
if grep -q 'BEGIN\|x5c\|"keys"' "$T/aztpd.log"; then fail "bundle contents in the log"; fi
ok "org-a logs the update of org-b's bundle (no bundle contents)"

# Renewal without a restart: new files moved into place are served at the
# next connection.
OLD_SERIAL="$(served_cert "$(hostport "$BURL_B")" -serial)"
issue_web web2
mv "$W/web2.key" "$W/web.key"
mv "$W/web2.crt" "$W/web.crt"
NEW_SERIAL="$(served_cert "$(hostport "$BURL_B")" -serial)"
[ "$NEW_SERIAL" = "$(openssl x509 -in "$W/web.crt" -noout -serial)" ] \
  || fail "not reloaded: $OLD_SERIAL -> $NEW_SERIAL"
[ "$NEW_SERIAL" != "$OLD_SERIAL" ] || fail "same serial"
"${WEB[@]}" -o /dev/null "$BURL_B" || fail "fetch after the renewal"
grep -q 'bundle endpoint certificate reloaded' "$T/aztpd.log" || fail "no reload log line"
ok "replaced certificate files are served from the next connection on, without a restart"
stop "$PID_A"
stop "$PID_B"
[ ! -e "$T/b/aztpd.bundle.url" ] || fail "aztpd.bundle.url left after the stop"
ok "a stopped aztpd removes aztpd.bundle.url"

# =============== (b) https_spiffe ===============
# --bundle-listen wins over the file's listen.
cat > "$T/b-spiffe.yaml" <<YAML
bundle_endpoint:
  listen: 127.0.0.1:1
  path: /spiffe/bundle.json
  profile: https_spiffe
YAML
start_aztpd "$T/b" --config "$T/b-spiffe.yaml" --bundle-listen 127.0.0.1:0
URL_B="$URL"; PID_B=$PID
bundle_url "$T/b"; BURL_B="$BURL"
[[ "$BURL_B" == https://127.0.0.1:*/spiffe/bundle.json ]] || fail "bundle url: $BURL_B"
[ "$(hostport "$BURL_B")" != 127.0.0.1:1 ] || fail "--bundle-listen ignored"
HP_B="$(hostport "$BURL_B")"
openssl s_client -connect "$HP_B" </dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName \
  | grep -q 'URI:spiffe://org-b.example/aztpd' || fail "https_spiffe: not the aztpd SVID"
status="$(curl -sS --max-time 10 --cacert "$T/b/bundle.pem" -o "$T/served.json" -w '%{http_code}' "$BURL_B")"
[ "$status" = 200 ] || fail "curl without a client certificate: $status"
expect_exit 0 "$AZTP_BIN" bundle show --bundle "org-b.example=$T/served.json"
[ "$(cert_requests "$HP_B")" = 0 ] || fail "https_spiffe endpoint asked for a client certificate"
[ "$(cert_requests "$(hostport "$URL_B")")" != 0 ] || fail "control: the API listener asks for one"
ok "https_spiffe: the aztpd SVID, no client certificate asked (the API listener does ask), curl gets the bundle"

cat > "$T/a-spiffe.yaml" <<YAML
federation:
  - trust_domain: org-b.example
    endpoint_url: $BURL_B
    profile: https_spiffe
    endpoint_id: spiffe://org-b.example/aztpd
    bootstrap_bundle: $T/b/bundle.json
YAML
# A fresh org-a, so that org-b's bundle is fetched anew.
expect_exit 0 "$D" init --data-dir "$T/a2" --trust-domain org-a.example
: > "$T/aztpd.log"
start_aztpd "$T/a2" --config "$T/a-spiffe.yaml"
URL_A="$URL"; PID_A=$PID
A=(curl -sS --max-time 10 --cacert "$T/a2/bundle.pem")
wait_both "$URL_A" "$T/a2/bundle.pem"
status="$("${A[@]}" -o "$T/body" -w '%{http_code}' --cert "$T/payments/svid.pem" --key "$T/payments/svid.key" "$URL_A/v1/discover")"
[ "$status" = 401 ] || fail "federated mTLS: $status $(cat "$T/body")"
grep -q 'path=/spiffe/bundle.json status=200' "$T/aztpd.log" || fail "org-a did not fetch from the bundle endpoint"
grep -q 'federated bundle updated trust_domain=org-b.example' "$T/aztpd.log" || fail "no update line"
ok "org-a federates over https_spiffe (endpoint_id + bootstrap bundle) with the separate listener"
stop "$PID_A"
stop "$PID_B"

# =============== (c) configuration errors ===============
# refused YAML KEY: run refuses the file with one JSON line naming KEY.
refused() {
  printf '%b' "$1" > "$T/bad.yaml"
  expect_exit 1 "$D" run --config "$T/bad.yaml" --data-dir "$T/a" --listen 127.0.0.1:0
  [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "not one line: $out"
  [ "$(json_get "$out" error)" = invalid_argument ] || fail "reason: $out"
  json_get "$out" message | grep -qF "$2" || fail "key $2 not named: $out"
}
BE='bundle_endpoint:\n  listen: 127.0.0.1:0\n'
refused "${BE}  profile: https_web\n  key_file: $W/web.key\n" 'bundle_endpoint.cert_file: is required with profile https_web'
refused "${BE}  profile: https_spiffe\n  cert_file: $W/web.crt\n" 'bundle_endpoint.cert_file: applies only to profile https_web'
refused "${BE}  profile: https_spiffe\n  path: bundle\n" "bundle_endpoint.path: must start with '/'"
refused "${BE}" 'bundle_endpoint.profile: is required'
refused 'federation_fetch_timeout: 61s\n' 'federation_fetch_timeout: must be between'
expect_exit 1 "$D" run --data-dir "$T/a" --listen 127.0.0.1:0 --bundle-listen 127.0.0.1:0
json_get "$out" message | grep -qF 'bundle_endpoint.listen (--bundle-listen)' || fail "--bundle-listen alone: $out"
# Files that cannot be used stop aztpd before it serves anything.
printf "${BE}  profile: https_web\n  cert_file: %s\n  key_file: %s\n" "$W/missing.crt" "$W/web.key" > "$T/bad.yaml"
expect_exit 3 "$D" run --config "$T/bad.yaml" --data-dir "$T/a" --listen 127.0.0.1:0
json_get "$out" message | grep -qF "bundle_endpoint: " || fail "missing cert file: $out"
printf "${BE}  profile: https_web\n  cert_file: %s\n  key_file: %s\n" "$W/web.crt" "$W/localca.key" > "$T/bad.yaml"
expect_exit 1 "$D" run --config "$T/bad.yaml" --data-dir "$T/a" --listen 127.0.0.1:0
json_get "$out" message | grep -qF "does not match" || fail "mismatched key: $out"
[ ! -e "$T/a/aztpd.url" ] && [ ! -e "$T/a/aztpd.bundle.url" ] || fail "url files after a refused start"
ok "bad bundle_endpoint settings, --bundle-listen without the section and unusable files are refused, naming the key"
done_checks
