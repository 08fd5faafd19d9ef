#!/usr/bin/env bash
# Two organisations federated both ways, one direction per profile, with
# real processes on loopback (docs/federation.md):
#   org-a fetches org-b's bundle from org-b's bundle endpoint (https_web,
#   a local web CA); org-b fetches org-a's from org-a's API (https_spiffe).
# Workloads run on the SDK Agent (mtls_peer_tool), which follows /v1/bundles:
#   * an org-a agent calls an org-b service over mTLS, and back;
#   * a chain minted in org-a, extended in org-b, verifies at a third hop in
#     org-a, each hop using only its own control plane's bundle map;
#   * org-b rotates its CA; after org-a's next fetch nothing breaks;
#   * org-b removes the relationship: org-a's agent is refused within one
#     refresh of the service's agent (1 s here).
source "$(dirname "$0")/../lib/common.sh"
D="$AZTP_BUILD/aztpd/aztpd"
P="$AZTP_TOOLS/mtls_peer_tool"
for bin in "$D" "$P"; do [ -x "$bin" ] || fail "$bin is not built"; done
PEERS=()
trap 'for p in "${PEERS[@]}" "${AZTPD_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$T"' EXIT

# A local web CA and a certificate for org-b's bundle endpoint.
W="$T/web"
mkdir "$W"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=local-web-ca -keyout "$W/ca.key" -out "$W/ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj /CN=localhost -keyout "$W/b.key" -out "$W/b.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$W/ext.cnf"
openssl x509 -req -in "$W/b.csr" -CA "$W/ca.pem" -CAkey "$W/ca.key" -CAcreateserial \
  -days 2 -extfile "$W/ext.cnf" -out "$W/b.crt" 2>/dev/null

expect_exit 0 "$D" init --data-dir "$T/a" --trust-domain org-a.example
KEY_A="$(json_get "$out" admin_api_key)"
expect_exit 0 "$D" init --data-dir "$T/b" --trust-domain org-b.example
KEY_B="$(json_get "$out" admin_api_key)"
cat > "$T/b.yaml" <<YAML
maintain_interval: 1s
bundle_endpoint:
  listen: 127.0.0.1:0
  profile: https_web
  cert_file: $W/b.crt
  key_file: $W/b.key
YAML
start_aztpd "$T/a"; URL_A="$URL"
start_aztpd "$T/b" --config "$T/b.yaml"; URL_B="$URL"
BURL_B="$(cat "$T/b/aztpd.bundle.url")"

# org_api ORG METHOD PATH [BODY]: call an organisation's API as its admin.
org_api() {
  local org="$1" method="$2" path="$3" body="${4:-}"
  local url key
  if [ "$org" = a ]; then url="$URL_A" key="$KEY_A"; else url="$URL_B" key="$KEY_B"; fi
  curl -sS --max-time 20 --cacert "$T/$org/bundle.pem" -X "$method" \
    -H "Authorization: Bearer $key" ${body:+-H 'Content-Type: application/json' --data "$body"} \
    "$url$path"
}
field() { /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1])
for k in sys.argv[2].split("."): d=d[k]
print(d)' "$1" "$2"; }

# --- federation, both ways, one per profile ---
pem_json() { /usr/bin/python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$1"; }
r="$(org_api a POST /v1/federations "{\"trust_domain\":\"org-b.example\",\"endpoint_url\":\"$BURL_B\",\"profile\":\"https_web\",\"web_ca_pem\":$(pem_json "$W/ca.pem")}")"
[ "$(field "$r" first_fetch.result)" = updated ] || fail "org-a -> org-b (https_web): $r"
r="$(org_api b POST /v1/federations "{\"trust_domain\":\"org-a.example\",\"endpoint_url\":\"$URL_A/v1/bundle\",\"profile\":\"https_spiffe\",\"endpoint_id\":\"spiffe://org-a.example/aztpd\",\"bootstrap_bundle\":$(cat "$T/a/bundle.json")}")"
[ "$(field "$r" first_fetch.result)" = updated ] || fail "org-b -> org-a (https_spiffe): $r"
ok "org-a federates with org-b over https_web, org-b with org-a over https_spiffe"

# --- workloads ---
for spec in "a spiffe://org-a.example/agent/planner" "a spiffe://org-a.example/agent/notes" \
            "b spiffe://org-b.example/svc/payments"; do
  read -r org id <<<"$spec"
  r="$(org_api "$org" POST /v1/identities "{\"id\":\"$id\"}")"
  [ "$(field "$r" id)" = "$id" ] || fail "register $id: $r"
done
# serve ORG ID NAME: an Agent-backed mTLS server; sets PORT_<NAME>.
serve() {
  local org="$1" id="$2" name="$3" key url
  if [ "$org" = a ]; then url="$URL_A" key="$KEY_A"; else url="$URL_B" key="$KEY_B"; fi
  rm -f "$T/$name.port"
  AZTP_API_KEY="$key" "$P" serve --server "$url" --bundle "$T/$org/bundle.json" --id "$id" \
    --port-file "$T/$name.port" > "$T/$name.log" 2>&1 &
  PEERS+=($!)
  eval "PID_$name=$!"
  for _ in $(seq 1 200); do [ -s "$T/$name.port" ] && break; sleep 0.05; done
  [ -s "$T/$name.port" ] || fail "$name did not start: $(cat "$T/$name.log")"
  eval "PORT_$name=$(cat "$T/$name.port")"
}
# call ORG ID PORT EXPECT: an Agent-backed mTLS client; output in $out.
call() {
  local org="$1" id="$2" port="$3" want="$4" key url
  if [ "$org" = a ]; then url="$URL_A" key="$KEY_A"; else url="$URL_B" key="$KEY_B"; fi
  set +e
  out="$(AZTP_API_KEY="$key" "$P" call --server "$url" --bundle "$T/$org/bundle.json" --id "$id" \
    --connect "$port" --expect "$want" 2>&1)"
  local rc=$?
  set -e
  return $rc
}
serve b spiffe://org-b.example/svc/payments payments
call a spiffe://org-a.example/agent/planner "$PORT_payments" spiffe://org-b.example/svc/payments \
  || fail "org-a -> org-b over mTLS: $out"
[[ "$out" == *'"answer":"ok spiffe://org-a.example/agent/planner"'* ]] || fail "answer: $out"
serve a spiffe://org-a.example/agent/notes notes
call b spiffe://org-b.example/svc/payments "$PORT_notes" spiffe://org-a.example/agent/notes \
  || fail "org-b -> org-a over mTLS: $out"
ok "an org-a agent calls an org-b service over mTLS, and an org-b workload calls org-a"

# --- a chain across both organisations, each hop with its own bundle map ---
export AZTP_SERVER="$URL_A" AZTP_API_KEY="$KEY_A" AZTP_BUNDLE="$T/a/bundle.json"
expect_exit 0 "$AZTP_BIN" agent fetch --id spiffe://org-a.example/agent/planner --out "$T/planner"
expect_exit 0 "$AZTP_BIN" agent fetch --id spiffe://org-a.example/agent/notes --out "$T/notes"
export AZTP_SERVER="$URL_B" AZTP_API_KEY="$KEY_B" AZTP_BUNDLE="$T/b/bundle.json"
expect_exit 0 "$AZTP_BIN" agent fetch --id spiffe://org-b.example/svc/payments --out "$T/payments"
unset AZTP_SERVER AZTP_API_KEY AZTP_BUNDLE
# bundle_args ORG: fetch ORG's /v1/bundles into a file and name it.
bundle_args() {
  curl -sS --max-time 10 --cacert "$T/$1/bundle.pem" -o "$T/map-$1.json" \
    "$(if [ "$1" = a ]; then echo "$URL_A"; else echo "$URL_B"; fi)/v1/bundles"
  echo "--bundle $T/map-$1.json"
}
read -ra BA <<<"$(bundle_args a)"
read -ra BB <<<"$(bundle_args b)"
for m in a b; do
  /usr/bin/python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["trust_domains"]; sys.exit(0 if sorted(m)==["org-a.example","org-b.example"] else 1)' "$T/map-$m.json" \
    || fail "org-$m's bundle map: $(cat "$T/map-$m.json")"
done
"$AZTP_BIN" chain mint --svid "$T/planner" --aud spiffe://org-b.example/svc/payments \
  --cap 'payments:*' --txn e2e-1 > "$T/hop0" || fail "mint"
"$AZTP_BIN" chain extend --svid "$T/payments" --chain "$T/hop0" "${BB[@]}" \
  --peer spiffe://org-a.example/agent/planner --aud spiffe://org-a.example/agent/notes \
  --cap payments:quote > "$T/hop1" || fail "org-b could not verify and extend org-a's chain"
expect_exit 0 "$AZTP_BIN" chain verify --chain "$T/hop1" --audience spiffe://org-a.example/agent/notes \
  "${BA[@]}" --peer spiffe://org-b.example/svc/payments
[[ "$out" == *'payments:quote'* ]] || fail "verified chain: $out"
expect_exit 1 "$AZTP_BIN" chain verify --chain "$T/hop1" --audience spiffe://org-a.example/agent/notes \
  "${BA[@]}" --bundle "org-b.example=$T/b/bundle.json"
[[ "$out" == *'given twice for org-b.example'* ]] || fail "a domain from a map and a file: $out"
ok "a chain minted in org-a and extended in org-b verifies at a third hop in org-a"

# --- org-b rotates its CA (prepare, then activate) ---
seq_before="$(org_api a GET /v1/federations | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["federations"][0]["bundle_sequence"])')"
# x509_roots FILE: how many X.509 authorities a bundle document holds.
x509_roots() { /usr/bin/python3 -c 'import json,sys; print(sum(k.get("use")=="x509-svid" for k in json.load(open(sys.argv[1]))["keys"]))' "$1"; }
org_api b POST /v1/ca:rotate '{"kind":"x509"}' > /dev/null
# The successor is published before use: org-b's bundle.json (what its
# workloads bootstrap with) gets the new root before it signs anything.
for _ in $(seq 1 100); do [ "$(x509_roots "$T/b/bundle.json")" = 2 ] && break; sleep 0.1; done
[ "$(x509_roots "$T/b/bundle.json")" = 2 ] || fail "org-b's bundle.json never held the prepared root"
org_api b POST /v1/ca:rotate '{"kind":"x509"}' > "$T/rotated.json"
r="$(org_api a POST /v1/federations/org-b.example:refresh)"
[ "$(field "$r" result)" = updated ] || fail "org-a did not pick up org-b's rotation: $r"
[ "$(field "$r" new_sequence)" -gt "$seq_before" ] || fail "sequence: $r"
kill -9 "$PID_payments"
serve b spiffe://org-b.example/svc/payments payments   # a fresh SVID from the new CA
sleep 2  # org-a's agents follow /v1/bundles every second
call a spiffe://org-a.example/agent/planner "$PORT_payments" spiffe://org-b.example/svc/payments \
  || fail "after org-b's CA rotation: $out"
ok "org-b rotates its CA; org-a's next fetch picks it up and the call still works"

# --- org-b ends the relationship ---
r="$(org_api b DELETE /v1/federations/org-a.example)"
[ "$(field "$r" removed)" = True ] || fail "remove: $r"
sleep 3  # more than one refresh of the service's agent
if call a spiffe://org-a.example/agent/planner "$PORT_payments" spiffe://org-b.example/svc/payments; then
  fail "org-a's agent still accepted after the relationship was removed: $out"
fi
[[ "$out" == *'denied untrusted_trust_domain'* ]] || fail "refusal: $out"
ok "after org-b removes the relationship, org-a's agent is refused ($(echo "$out" | sed 's/.*"answer":"\([^"]*\)".*/\1/'))"
done_checks
