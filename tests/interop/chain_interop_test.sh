#!/usr/bin/env bash
# Interop of hop-token chains: aztp against two independent JWS
# implementations, PyJWT (chain_verify.py, Debian python3-jwt and
# python3-cryptography) and node `jose` (chain_jose.mjs).
#
# Two trust domains: org-a.example (P-256 CA; P-256 and one P-384 SVID) and
# org-b.example (Ed25519 CA with an intermediate; Ed25519 SVID), so chains
# carry ES256, EdDSA and ES384 tokens and x5c of one and two certificates.
#
#   * chains minted and extended by aztp (linked and nested) verify, token
#     by token, in PyJWT and in jose;
#   * chains signed by jose with aztp's SVID keys, and chains mixing jose
#     and aztp hops, verify with `aztp chain verify`;
#   * jose-made tokens that break the profile in one way each are rejected
#     by aztp with the exact reason and hop;
#   * a token with an altered payload is rejected by all three.
#
# A missing python3-jwt, node or jose is a failure, never a skip. One line
# per check; keys and tokens are never printed.
source "$(dirname "$0")/../lib/common.sh"
A="$AZTP_BIN"
PY=/usr/bin/python3

# ---- setup: the independent implementations must be present ----
: "${AZTP_SOURCE:?AZTP_SOURCE must point at the source tree}"
: "${AZTP_NODE_PATH:?AZTP_NODE_PATH must point at a node_modules folder}"
here="$AZTP_SOURCE/tests/interop"
[ -x "$PY" ] || fail "$PY is not installed"
"$PY" -c 'import jwt, cryptography' 2>/dev/null ||
  fail "python3-jwt and python3-cryptography are needed for $PY"
command -v node >/dev/null 2>&1 || fail "node is not installed"
[ -f "$AZTP_NODE_PATH/jose/dist/webapi/index.js" ] ||
  fail "jose is not installed under $AZTP_NODE_PATH"
export AZTP_NODE_PATH

pyjwt() { "$PY" "$here/chain_verify.py" "$@"; }
jose() { node "$here/chain_jose.mjs" "$@"; }
# quiet CMD...: CMD with its stderr (an expected rejection's reason) dropped.
quiet() { "$@" 2>/dev/null; }

# to FILE CMD...: run CMD (which must succeed) with its stdout in FILE; the
# output (a token or chain) is never echoed.
to() {
  local file="$1"; shift
  "$@" >"$file" || fail "exit $? from: $*"
}

# json_list ITEM...: the items as a JSON array, formatted like json_get.
json_list() { "$PY" -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$@"; }

NOW="$(date +%s)"
TD_A=org-a.example
TD_B=org-b.example
PL="spiffe://$TD_A/agents/planner"   # P-256
SC="spiffe://$TD_A/agents/scheduler" # P-256
AN="spiffe://$TD_A/agents/analyst"   # P-384
BK="spiffe://$TD_B/agents/booker"    # Ed25519, under an intermediate
RX="spiffe://$TD_B/payments"         # the final receiver
bundles=(--bundle "$TD_A=$T/ca-a/bundle.json" --bundle "$TD_B=$T/ca-b/bundle.json")

# aztp_accepts FILE ENCODING ID...: `aztp chain verify` accepts FILE as the
# last ID, with path ID... and the given encoding.
aztp_accepts() {
  local file="$1" encoding="$2"; shift 2
  local audience="${!#}"
  expect_exit 0 "$A" chain verify --chain "$file" --audience "$audience" \
    "${bundles[@]}" --now "$NOW"
  [ "$(json_get "$out" valid)" = True ] || fail "not valid: $out"
  [ "$(json_get "$out" path)" = "$(json_list "$@")" ] || fail "path: $out"
  [ "$(json_get "$out" encoding)" = "$encoding" ] || fail "encoding: $out"
  [ "$(json_get "$out" depth)" = $(($# - 2)) ] || fail "depth: $out"
}

# aztp_rejects FILE REASON HOP: `aztp chain verify` (as RX) exits 1 with
# exactly that error and hop.
aztp_rejects() {
  expect_exit 1 "$A" chain verify --chain "$1" --audience "$RX" \
    "${bundles[@]}" --now "$NOW"
  [ "$(json_get "$out" valid)" = False ] || fail "$1: $out"
  [ "$(json_get "$out" error)" = "$2" ] || fail "$1: want error $2: $out"
  [ "$(json_get "$out" hop)" = "$3" ] || fail "$1: want hop $3: $out"
}

# checker_accepts CHECKER FILE ENCODING ALGS ISSUERS: the checker (pyjwt or
# jose) accepts every token, printing them root first with these algorithms
# and issuers (space-separated lists).
checker_accepts() {
  local checker="$1" file="$2" encoding="$3" algs="$4" issuers="$5"
  expect_exit 0 "$checker" verify "$file"
  local got_algs got_iss n
  got_algs="$(grep -o 'alg=[^ ]*' <<<"$out" | cut -d= -f2 | paste -sd' ')"
  got_iss="$(grep -o 'iss=[^ ]*' <<<"$out" | cut -d= -f2 | paste -sd' ')"
  n="$(wc -w <<<"$algs")"
  [ "$got_algs" = "$algs" ] || fail "$checker $file: algorithms '$got_algs'"
  [ "$got_iss" = "$issuers" ] || fail "$checker $file: issuers '$got_iss'"
  grep -qx "chain ok: $n tokens, $encoding" <<<"$out" ||
    fail "$checker $file: summary: $out"
}
# chain_verify.py takes the file without a `verify` word.
pyjwt_verify() { shift; pyjwt "$@"; }

# ---- identities ----
expect_exit 0 "$A" ca init --trust-domain "$TD_A" --out "$T/ca-a" --key-type ec-p256
expect_exit 0 "$A" ca init --trust-domain "$TD_B" --out "$T/ca-b" --key-type ed25519 \
  --intermediate
expect_exit 0 "$A" svid issue --ca "$T/ca-a" --id "$PL" --out "$T/planner" --key-type ec-p256
expect_exit 0 "$A" svid issue --ca "$T/ca-a" --id "$SC" --out "$T/scheduler" --key-type ec-p256
expect_exit 0 "$A" svid issue --ca "$T/ca-a" --id "$AN" --out "$T/analyst" --key-type ec-p384
expect_exit 0 "$A" svid issue --ca "$T/ca-b" --id "$BK" --out "$T/booker" --key-type ed25519
ok "two trust domains (P-256, Ed25519 with intermediate) and four SVIDs (P-256 x2, P-384, Ed25519)"

# ---- aztp makes, PyJWT and jose verify ----
to "$T/l0" "$A" chain mint --svid "$T/planner" --aud "$BK" --now "$NOW" \
  --cap calendar:read calendar:write payments:refund
to "$T/l1" "$A" chain extend --svid "$T/booker" --chain "$T/l0" "${bundles[@]}" \
  --aud "$AN" --cap calendar:read payments:refund --now "$NOW"
to "$T/l2" "$A" chain extend --svid "$T/analyst" --chain "$T/l1" "${bundles[@]}" \
  --aud "$RX" --cap payments:refund --now "$NOW"
[ "$(tr -cd , <"$T/l2" | wc -c)" = 2 ] || fail "the linked chain does not hold 3 tokens"
aztp_accepts "$T/l2" linked "$PL" "$BK" "$AN" "$RX"
ok "aztp mints and extends a 3-token linked chain across both trust domains"

checker_accepts pyjwt_verify "$T/l2" linked "ES256 EdDSA ES384" "$PL $BK $AN"
ok "PyJWT verifies every token of aztp's linked chain (ES256, EdDSA, ES384) and its prv links"
checker_accepts jose "$T/l2" linked "ES256 EdDSA ES384" "$PL $BK $AN"
ok "jose verifies every token of aztp's linked chain (ES256, EdDSA, ES384) and its prv links"

to "$T/n0" "$A" chain mint --svid "$T/planner" --aud "$BK" --now "$NOW" \
  --cap calendar:read calendar:write --encoding nested
to "$T/n1" "$A" chain extend --svid "$T/booker" --chain "$T/n0" "${bundles[@]}" \
  --aud "$AN" --cap calendar:read --now "$NOW"
to "$T/n2" "$A" chain extend --svid "$T/analyst" --chain "$T/n1" "${bundles[@]}" \
  --aud "$RX" --now "$NOW"
grep -q , "$T/n2" && fail "the nested chain is not one token"
aztp_accepts "$T/n2" nested "$PL" "$BK" "$AN" "$RX"
ok "aztp mints and extends a 3-token nested chain (one outermost token)"

checker_accepts pyjwt_verify "$T/n2" nested "ES256 EdDSA ES384" "$PL $BK $AN"
ok "PyJWT verifies aztp's outermost nested token and, unwrapping obo, both inner tokens"
checker_accepts jose "$T/n2" nested "ES256 EdDSA ES384" "$PL $BK $AN"
ok "jose verifies aztp's outermost nested token and, unwrapping obo, both inner tokens"

# ---- jose makes, aztp verifies ----
# The --hop arguments of a 4-token chain PL -> BK -> SC -> AN -> RX (ES256,
# EdDSA, ES256, ES384) and of a 3-token one PL -> BK -> AN -> RX.
hops4=(--hop "$T/planner" "$BK" "calendar:read,calendar:write,payments:refund"
       --hop "$T/booker" "$SC" "calendar:read,payments:refund"
       --hop "$T/scheduler" "$AN" "payments:refund"
       --hop "$T/analyst" "$RX" "payments:refund")
to "$T/j4" jose sign --now "$NOW" "${hops4[@]}"
[ "$(tr -cd , <"$T/j4" | wc -c)" = 3 ] || fail "jose's linked chain does not hold 4 tokens"
checker_accepts jose "$T/j4" linked "ES256 EdDSA ES256 ES384" "$PL $BK $SC $AN"
checker_accepts pyjwt_verify "$T/j4" linked "ES256 EdDSA ES256 ES384" "$PL $BK $SC $AN"
aztp_accepts "$T/j4" linked "$PL" "$BK" "$SC" "$AN" "$RX"
[ "$(json_get "$out" capabilities)" = '["payments:refund"]' ] || fail "caps: $out"
[ "$(json_get "$out" sub)" = "$PL" ] || fail "sub: $out"
ok "a 4-token linked chain signed by jose with aztp's SVID keys verifies with aztp (path, caps, sub)"

hops3=(--hop "$T/planner" "$BK" "calendar:read,calendar:write"
       --hop "$T/booker" "$AN" "calendar:read,calendar:write"
       --hop "$T/analyst" "$RX" "calendar:read")
to "$T/jn" jose sign --encoding nested --now "$NOW" "${hops3[@]}"
checker_accepts pyjwt_verify "$T/jn" nested "ES256 EdDSA ES384" "$PL $BK $AN"
aztp_accepts "$T/jn" nested "$PL" "$BK" "$AN" "$RX"
ok "a 3-token nested chain signed by jose verifies with aztp"

# Mixed: jose signs the first two hops, aztp appends two more.
to "$T/m1" jose sign --now "$NOW" "${hops4[@]:0:8}"
to "$T/m2" "$A" chain extend --svid "$T/scheduler" --chain "$T/m1" "${bundles[@]}" \
  --aud "$AN" --now "$NOW"
to "$T/m3" "$A" chain extend --svid "$T/analyst" --chain "$T/m2" "${bundles[@]}" \
  --aud "$RX" --cap payments:refund --now "$NOW"
aztp_accepts "$T/m3" linked "$PL" "$BK" "$SC" "$AN" "$RX"
checker_accepts jose "$T/m3" linked "ES256 EdDSA ES256 ES384" "$PL $BK $SC $AN"
checker_accepts pyjwt_verify "$T/m3" linked "ES256 EdDSA ES256 ES384" "$PL $BK $SC $AN"
ok "aztp extends a jose-made chain; aztp, jose and PyJWT accept the mixed chain"

# ---- jose breaks the profile once; aztp names the reason and the hop ----
# broken NAME REASON HOP BREAK [ENCODING]
broken() {
  local name="$1" reason="$2" hop="$3" spec="$4" encoding="${5:-linked}"
  local file="$T/broken-${spec%%=*}-$encoding"
  if [ "$encoding" = linked ]; then
    to "$file" jose sign --now "$NOW" "${hops4[@]}" --break "$spec"
  else
    to "$file" jose sign --now "$NOW" --encoding nested "${hops3[@]}" --break "$spec"
  fi
  aztp_rejects "$file" "$reason" "$hop"
  ok "aztp rejects a jose chain ($encoding) with $name at hop $hop: $reason"
}
broken "an unknown header member kid" malformed 1 kid@1
broken "typ JWT" malformed 2 typ@2
broken "an unknown claim" malformed 3 claim@3
broken "alg Ed25519 (not EdDSA) for an Ed25519 key" alg_not_allowed 1 alg@1
broken "ES384 over a P-256 leaf" alg_not_allowed 2 "alg-key@2=$T/analyst"
broken "ES256 over a P-384 leaf" alg_not_allowed 3 "alg-key@3=$T/scheduler"
broken "no prv" malformed 2 no-prv@2
broken "another hop's key (same type)" bad_signature 2 "key@2=$T/planner"
broken "cap widened" capability_escalation 1 widen@1
broken "aud as an array" malformed 3 aud-array@3
broken "an unknown header member kid" malformed 1 kid@1 nested
broken "no obo" malformed 1 no-prv@1 nested
broken "cap widened" capability_escalation 2 widen@2 nested
broken "another hop's key (same type)" bad_signature 0 "key@0=$T/scheduler" nested

# The independent checkers agree on the breaks they can see.
for spec in kid@1 typ@2 "key@2=$T/planner"; do
  to "$T/b" jose sign --now "$NOW" "${hops4[@]}" --break "$spec"
  expect_exit 1 quiet pyjwt "$T/b"
  expect_exit 1 quiet jose verify "$T/b"
done
ok "PyJWT and jose also reject the chains with kid, typ JWT and another hop's key"

# ---- negative control: an altered payload ----
"$PY" - "$T/l2" "$T/altered" <<'PY'
import base64, json, sys
tokens = open(sys.argv[1]).read().strip().split(",")
header, payload, signature = tokens[1].split(".")
claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
claims["cap"].append("admin:*")
payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
tokens[1] = ".".join([header, payload, signature])
open(sys.argv[2], "w").write(",".join(tokens) + "\n")
PY
expect_exit 1 quiet pyjwt "$T/altered"
expect_exit 1 quiet jose verify "$T/altered"
ok "negative control: PyJWT and jose reject aztp's chain whose token 1 payload was altered"
aztp_rejects "$T/altered" bad_signature 1
ok "aztp rejects the altered chain with bad_signature at hop 1"

done_checks
