#!/usr/bin/env bash
# The aztp demo on embedded defaults: everything in a temporary folder,
# nothing on the network. It exits non-zero if any step does not go as shown.
# Usage: scripts/demo.sh [BUILD_DIR]
set -euo pipefail
build="${1:-build}"
A="$(cd "$build" && pwd)/cli/aztp"
[ -x "$A" ] || { echo "demo: $A not built (run make demo)"; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
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

bold "1. Two organisations, two trust domains"
expect 0 "$A" ca init --trust-domain org-a.example --out ca-a
say "org-a.example: CA (ec-p256) valid until $(date -u -d @"$(field "$out" expires_at)" +%F), bundle in ca-a/bundle.json"
expect 0 "$A" ca init --trust-domain org-b.example --out ca-b --intermediate --key-type ec-p384
say "org-b.example: root + intermediate CA (ec-p384), bundle in ca-b/bundle.json"

bold "2. Three agents get X.509-SVIDs"
for spec in "org-a.example planner ca-a ec-p256" "org-a.example research ca-a ed25519" \
            "org-b.example payments ca-b ec-p256"; do
  read -r td name ca kt <<<"$spec"
  expect 0 "$A" svid issue --ca "$ca" --id "spiffe://$td/agent/$name" --out "$name" --key-type "$kt" --ttl 1h
  say "$(printf '%-40s serial %s  key %s  (private key: %s/svid.key, mode %s)' \
    "$(field "$out" id)" "$(field "$out" serial | cut -c1-12)…" "$kt" "$name" "$(stat -c %a "$name/svid.key")")"
done

bold "3. Every SVID verifies against its own trust domain's bundle"
for name in planner research payments; do
  expect 0 "$A" svid verify --svid "$name/svid.pem" \
    --bundle org-a.example=ca-a/bundle.json --bundle org-b.example=ca-b/bundle.json
  say "✔ $(field "$out" id) valid until $(date -u -d @"$(field "$out" expires_at)" +%T) UTC"
done
openssl verify -CAfile ca-a/ca.pem planner/svid.pem >/dev/null
say "✔ an independent verifier agrees: openssl verify planner/svid.pem: OK"

bold "4. And what does not verify"
expect 1 "$A" svid verify --svid payments/svid.pem --bundle org-a.example=ca-a/bundle.json
say "✘ payments with only org-a's bundle: $(field "$out" error) ($(field "$out" message))"
expect 1 "$A" svid verify --svid payments/svid.pem --bundle org-b.example=ca-a/bundle.json
say "✘ payments against org-a's CA posing as org-b's: $(field "$out" error)"
expect 1 "$A" svid verify --svid planner/svid.pem --bundle org-a.example=ca-a/bundle.json --now $(( $(date +%s) + 7200 ))
say "✘ planner two hours later: $(field "$out" error) ($(field "$out" message))"
expect 1 "$A" svid issue --ca ca-a --id spiffe://org-b.example/agent/intruder --out intruder
say "✘ org-a's CA asked for an org-b identity: $(field "$out" error)"

bold "5. A delegation chain across both organisations"
expect 0 "$A" svid issue --ca ca-b --id spiffe://org-b.example/agent/ledger --out ledger --key-type ec-p256 --ttl 1h
B=(--bundle org-a.example=ca-a/bundle.json --bundle org-b.example=ca-b/bundle.json)
"$A" chain mint --svid planner --aud spiffe://org-a.example/agent/research \
  --cap 'payments:*' --cap calendar:read --tds org-a.example,org-b.example --txn order-4711 > hop0
say "planner mints the root for research: payments:*, calendar:read; later hops must stay in org-a/org-b"
"$A" chain extend --svid research --chain hop0 "${B[@]}" --peer spiffe://org-a.example/agent/planner \
  --aud spiffe://org-b.example/agent/payments --cap 'payments:quote' --cap 'payments:refund' > hop1
say "research verifies it, narrows to payments:quote + payments:refund, extends to payments (org-b)"
"$A" chain extend --svid payments --chain hop1 "${B[@]}" --peer spiffe://org-a.example/agent/research \
  --aud spiffe://org-b.example/agent/ledger --cap 'payments:quote' > hop2
say "payments verifies it, keeps only payments:quote, extends to ledger ($(wc -c < hop2) bytes, 3 tokens)"
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
echo '{"sequence": 2, "ids": ["spiffe://org-a.example/agent/research"]}' > revoked.json
expect 1 "$A" chain verify --chain hop2 --audience spiffe://org-b.example/agent/ledger "${B[@]}" --revocations revoked.json
say "✘ research revoked:                     $(field "$out" error) at hop $(field "$out" hop)"

bold "Demo complete: 2 trust domains, 4 SVIDs, a 3-token chain verified, 5 attacks stopped."
