#!/usr/bin/env bash
# The aztp demo on embedded defaults: two aztpd control planes on loopback
# ports the OS picks, their SQLite stores and every file in a temporary
# folder. It exits non-zero if any step does not go as shown.
# Usage: scripts/demo.sh [BUILD_DIR]
set -euo pipefail
build="${1:-build}"
A="$(cd "$build" && pwd)/cli/aztp"
D="$(cd "$build" && pwd)/aztpd/aztpd"
for bin in "$A" "$D"; do
  [ -x "$bin" ] || { echo "demo: $bin not built (run make demo)"; exit 1; }
done
work="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"

if [ -t 1 ]; then bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }; else bold() { printf '\n%s\n' "$*"; }; fi
say() { printf '  %s\n' "$*"; }
field() { /usr/bin/python3 -c 'import json,sys; v=json.loads(sys.argv[1])[sys.argv[2]]; print(v if isinstance(v,(str,int)) else json.dumps(v))' "$1" "$2"; }
# expect CODE CMD...: run CMD (JSON on stdout) and insist on its exit code.
expect() {
  local want="$1"; shift
  set +e; out="$("$@")"; local got=$?; set -e
  if [ "$got" != "$want" ]; then
    echo "demo: step failed (exit $got, wanted $want): $*"; echo "$out"; exit 1
  fi
}

bold "1. Two organisations, two control planes (aztpd on loopback)"
# serve TD: init a data dir, start aztpd on an OS-chosen port, set URL_<x>, KEY_<x>.
serve() {
  local td="$1" dir="$2"
  expect 0 "$D" init --data-dir "$dir" --trust-domain "$td"
  local key; key="$(field "$out" admin_api_key)"
  "$D" run --data-dir "$dir" --listen 127.0.0.1:0 2>"$dir.log" &
  pids+=($!)
  for _ in $(seq 1 200); do [ -s "$dir/aztpd.url" ] && break; sleep 0.05; done
  [ -s "$dir/aztpd.url" ] || { echo "demo: aztpd for $td did not start"; cat "$dir.log"; exit 1; }
  eval "URL_${dir//-/_}=\$(cat \"\$dir/aztpd.url\")"
  eval "KEY_${dir//-/_}=\$key"
  say "$td: aztpd at $(cat "$dir/aztpd.url"), CA and JWT keys in $dir/aztpd.db, bundle in $dir/bundle.json"
}
serve org-a.example cp-a
serve org-b.example cp-b
# on ORG CMD...: run the aztp CLI against one organisation's control plane.
on() {
  local dir="cp-$1"; shift
  local u="URL_${dir//-/_}" k="KEY_${dir//-/_}"
  AZTP_SERVER="${!u}" AZTP_API_KEY="${!k}" AZTP_BUNDLE="$dir/bundle.json" "$A" "$@"
}

bold "1b. The two organisations federate (each fetches the other's bundle, nothing shared)"
expect 0 on a federation add --trust-domain org-b.example --endpoint-url "$URL_cp_b/v1/bundle" \
  --profile https_spiffe --endpoint-id spiffe://org-b.example/aztpd --bootstrap-bundle cp-b/bundle.json
say "org-a → org-b: first fetch $(/usr/bin/python3 -c 'import json,sys; f=json.loads(sys.argv[1])["first_fetch"]; print(f["result"], "sequence", f["new_sequence"])' "$out") (https_spiffe, endpoint spiffe://org-b.example/aztpd)"
expect 0 on b federation add --trust-domain org-a.example --endpoint-url "$URL_cp_a/v1/bundle" \
  --profile https_spiffe --endpoint-id spiffe://org-a.example/aztpd --bootstrap-bundle cp-a/bundle.json
say "org-b → org-a: first fetch $(/usr/bin/python3 -c 'import json,sys; f=json.loads(sys.argv[1])["first_fetch"]; print(f["result"], "sequence", f["new_sequence"])' "$out")"
# map_args ORG: fetch ORG's bundle map from its aztpd (what a verifier in
# ORG trusts) and print the --bundle argument naming it.
map_args() {
  on "$1" bundle fetch --out "map-$1.json" >/dev/null
  echo "--bundle map-$1.json"
}
read -ra BA <<<"$(map_args a)"
say "org-a's aztpd now serves the bundles of: $(/usr/bin/python3 -c 'import json; print(", ".join(sorted(json.load(open("map-a.json"))["trust_domains"])))')"

bold "2. Three agents register and fetch X.509-SVIDs from their control plane"
for spec in "a org-a.example planner ec-p256" "a org-a.example research ed25519" \
            "b org-b.example payments ec-p256"; do
  read -r org td name kt <<<"$spec"
  expect 0 on "$org" identity register --id "spiffe://$td/agent/$name" --discoverable
  expect 0 on "$org" agent fetch --id "spiffe://$td/agent/$name" --out "$name" --key-type "$kt"
  say "$(printf '%-40s key %-8s generated locally, sent as a CSR (private key: %s/svid.key, mode %s)' \
    "spiffe://$td/agent/$name" "$kt" "$name" "$(stat -c %a "$name/svid.key")")"
done
expect 0 on a identity link --id spiffe://org-a.example/agent/planner --to spiffe://org-a.example/agent/research
say "planner is linked to research; org-a's discoverable agents: $(on a identity discover | /usr/bin/python3 -c 'import json,sys; print(", ".join(i["id"].split("/")[-1] for i in json.load(sys.stdin)["identities"]))')"

bold "3. Every SVID verifies against its own trust domain's bundle"
for name in planner research payments; do
  expect 0 "$A" svid verify --svid "$name/svid.pem" \
    --bundle org-a.example=cp-a/bundle.json --bundle org-b.example=cp-b/bundle.json
  say "✔ $(field "$out" id) valid until $(date -u -d @"$(field "$out" expires_at)" +%T) UTC"
done
openssl verify -CAfile cp-a/bundle.pem planner/svid.pem >/dev/null
say "✔ an independent verifier agrees: openssl verify planner/svid.pem: OK"

bold "4. And what does not verify"
expect 1 "$A" svid verify --svid payments/svid.pem --bundle org-a.example=cp-a/bundle.json
say "✘ payments with only org-a's bundle: $(field "$out" error) ($(field "$out" message))"
expect 1 "$A" svid verify --svid payments/svid.pem --bundle org-b.example=cp-a/bundle.json
say "✘ payments against org-a's CA posing as org-b's: $(field "$out" error)"
expect 1 "$A" svid verify --svid planner/svid.pem --bundle org-a.example=cp-a/bundle.json --now $(( $(date +%s) + 7200 ))
say "✘ planner two hours later: $(field "$out" error) ($(field "$out" message))"
expect 1 on a identity register --id spiffe://org-b.example/agent/intruder
say "✘ org-a's control plane asked for an org-b identity: $(field "$out" error)"

bold "5. A delegation chain across both organisations"
expect 0 on b identity register --id spiffe://org-b.example/agent/ledger
expect 0 on b agent fetch --id spiffe://org-b.example/agent/ledger --out ledger
# Each organisation verifies with the bundle map its own aztpd serves.
read -ra B <<<"$(map_args b)"
"$A" chain mint --svid planner --aud spiffe://org-a.example/agent/research \
  --cap 'payments:*' --cap calendar:read --tds org-a.example,org-b.example --txn order-4711 > hop0
say "planner mints the root for research: payments:*, calendar:read; later hops must stay in org-a/org-b"
"$A" chain extend --svid research --chain hop0 "${BA[@]}" --peer spiffe://org-a.example/agent/planner \
  --aud spiffe://org-b.example/agent/payments --cap 'payments:quote' --cap 'payments:refund' > hop1
say "research verifies it (with org-a's map), narrows to payments:quote + payments:refund, extends to payments (org-b)"
"$A" chain extend --svid payments --chain hop1 "${B[@]}" --peer spiffe://org-a.example/agent/research \
  --aud spiffe://org-b.example/agent/ledger --cap 'payments:quote' > hop2
say "payments verifies it (with org-b's map), keeps only payments:quote, extends to ledger ($(wc -c < hop2) bytes, 3 tokens)"
expect 0 "$A" chain verify --chain hop2 --audience spiffe://org-b.example/agent/ledger "${B[@]}" \
  --peer spiffe://org-b.example/agent/payments --replay-db ledger/replay.db
say "✔ ledger verifies the whole chain offline:"
say "    path:         $(/usr/bin/python3 -c 'import json,sys; print(" → ".join(p.split("/")[-1] for p in json.loads(sys.argv[1])["path"]))' "$out")"
say "    on behalf of: $(field "$out" sub)   txn: $(field "$out" txn)"
say "    capabilities: $(field "$out" capabilities)"

bold "6. Attacks on the chain, and how each is stopped"
# A forged hop: one character of payments' token changed.
/usr/bin/python3 - hop2 hop2.forged <<'PY'
import sys
tokens = open(sys.argv[1]).read().strip().split(",")
import base64, json
head, body, sig = tokens[2].split(".")
claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
claims["cap"].append("payments:refund")
body = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=").decode()
tokens[2] = ".".join([head, body, sig])
open(sys.argv[2], "w").write(",".join(tokens))
PY
expect 1 "$A" chain verify --chain hop2.forged --audience spiffe://org-b.example/agent/ledger "${B[@]}"
say "✘ a forged hop (payments:refund added): $(field "$out" error) at hop $(field "$out" hop)"
expect 1 "$A" chain extend --svid payments --chain hop1 "${B[@]}" --aud spiffe://org-b.example/agent/ledger --cap 'admin:*'
say "✘ payments tries to grant admin:*:      $(field "$out" error) — nothing is signed"
expect 1 "$A" chain verify --chain hop2 --audience spiffe://org-b.example/agent/ledger "${B[@]}" \
  --peer spiffe://org-b.example/agent/payments --replay-db ledger/replay.db
say "✘ the same chain presented again:       $(field "$out" error) at hop $(field "$out" hop)"
expect 1 "$A" chain verify --chain hop2 --audience spiffe://org-b.example/agent/ledger "${B[@]}" \
  --peer spiffe://org-a.example/agent/research
say "✘ a stolen chain from another peer:     $(field "$out" error)"
expect 0 on a identity revoke --id spiffe://org-a.example/agent/research --reason "key compromise"
curl -sS --cacert cp-a/bundle.pem "$URL_cp_a/v1/revocations" > revoked.json
expect 1 "$A" chain verify --chain hop2 --audience spiffe://org-b.example/agent/ledger "${B[@]}" --revocations revoked.json
say "✘ research revoked at org-a's aztpd:    $(field "$out" error) at hop $(field "$out" hop)"
expect 1 on a agent fetch --id spiffe://org-a.example/agent/research --out research2
say "✘ and it gets no new SVID:              $(field "$out" error)"

bold "7. org-b ends the federation"
expect 0 on b federation remove org-a.example
read -ra B2 <<<"$(map_args b)"
expect 1 "$A" chain verify --chain hop2 --audience spiffe://org-b.example/agent/ledger "${B2[@]}"
say "✘ ledger, with the map org-b's aztpd now serves: $(field "$out" error) at hop $(field "$out" hop)"

bold "Demo complete: 2 federated control planes, 4 agents with SVIDs from them, a 3-token chain verified, 5 attacks stopped, federation ended."
