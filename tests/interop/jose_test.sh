#!/usr/bin/env bash
# Interop: aztp's JWS compact serialization and JWKs (jws_tool) against the
# independent node `jose` package (jose.mjs), for ES256, ES384 and EdDSA.
#
# For each algorithm: aztp signs and jose verifies; jose signs with aztp's
# PKCS#8 key and aztp verifies; jose generates its own key and aztp
# verifies jose's token with jose's exported JWK; aztp signs with jose's
# PKCS#8 key and jose verifies; both compute the same RFC 7638 thumbprints;
# tampered tokens (payload or signature) are rejected by both sides, and
# aztp rejects a token checked against a key of another algorithm.
#
# Needs AZTP_TOOLS (jws_tool), AZTP_SOURCE and AZTP_NODE_PATH. A missing
# node or jose is a failure, not a skip. One line per check; keys and
# tokens are never printed.
set -euo pipefail

die() {
  echo "FAIL setup: $*" >&2
  exit 1
}

[[ -n "${AZTP_TOOLS:-}" ]] || die "AZTP_TOOLS is not set"
[[ -n "${AZTP_SOURCE:-}" ]] || die "AZTP_SOURCE is not set"
[[ -n "${AZTP_NODE_PATH:-}" ]] || die "AZTP_NODE_PATH is not set"
tool="$AZTP_TOOLS/jws_tool"
script="$AZTP_SOURCE/tests/interop/jose.mjs"
[[ -x "$tool" ]] || die "$tool is not built"
command -v node >/dev/null 2>&1 || die "node is not installed"
[[ -f "$AZTP_NODE_PATH/jose/dist/webapi/index.js" ]] ||
  die "jose is not installed under $AZTP_NODE_PATH"
export AZTP_NODE_PATH

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

failures=0
checks=0

pass() {
  checks=$((checks + 1))
  echo "ok   $1"
}

fail() {
  checks=$((checks + 1))
  failures=$((failures + 1))
  echo "FAIL $1"
  if [[ -s "$work/stderr" ]]; then sed 's/^/     /' "$work/stderr"; fi
}

# accepts NAME EXPECTED_PAYLOAD_FILE COMMAND...: the command exits 0 and
# prints exactly the payload.
accepts() {
  local name="$1" payload="$2"
  shift 2
  if "$@" >"$work/stdout" 2>"$work/stderr" && cmp -s "$work/stdout" "$payload"; then
    pass "$name"
  else
    fail "$name"
  fi
}

# rejects NAME COMMAND...: the command exits 1 (invalid), not 0 and not a
# usage or setup error.
rejects() {
  local name="$1"
  shift
  local status=0
  "$@" >"$work/stdout" 2>"$work/stderr" || status=$?
  if [[ "$status" -eq 1 ]]; then
    pass "$name"
  else
    echo "exit status $status" >>"$work/stderr"
    fail "$name"
  fi
}

# runs NAME COMMAND...: the command succeeds (its output is not printed).
runs() {
  local name="$1"
  shift
  if "$@" >"$work/stdout" 2>"$work/stderr"; then
    pass "$name"
  else
    fail "$name"
  fi
}

# produces NAME OUT COMMAND...: the command succeeds; its output goes to OUT.
produces() {
  local name="$1" out="$2"
  shift 2
  if "$@" >"$out" 2>"$work/stderr"; then
    pass "$name"
  else
    fail "$name"
  fi
}

jose() { node "$script" "$@"; }

# tamper IN OUT PART: changes one character in the middle of part PART
# (1 payload, 2 signature) of the compact JWS in IN, keeping it well formed.
tamper() {
  local header payload signature
  IFS=. read -r header payload signature <"$1"
  local -a parts=("$header" "$payload" "$signature")
  local text="${parts[$3]}"
  local i=$((${#text} / 2))
  local c="${text:i:1}" r=A
  [[ "$c" == A ]] && r=B
  parts[$3]="${text:0:i}$r${text:i+1}"
  printf '%s.%s.%s\n' "${parts[0]}" "${parts[1]}" "${parts[2]}" >"$2"
}

printf '{"iss":"spiffe://example.org/agent","n":"\xc3\xa9t\xc3\xa9","x":[1,2,3]}' \
  >"$work/payload"

for alg in ES256 ES384 EdDSA; do
  case "$alg" in
    ES256) type=ec-p256 other=ed25519 ;;
    ES384) type=ec-p384 other=ec-p256 ;;
    EdDSA) type=ed25519 other=ec-p384 ;;
  esac
  d="$work/$alg"
  mkdir -p "$d/aztp" "$d/jose" "$d/other"

  runs "$alg: aztp generates a key" "$tool" keygen "$type" "$d/aztp"
  runs "$alg: jose generates a key" jose keygen "$alg" "$d/jose"
  runs "$alg: aztp generates a second key ($other)" "$tool" keygen "$other" "$d/other"

  # aztp signs, jose verifies.
  produces "$alg: aztp signs" "$d/aztp.jws" \
    "$tool" sign "$d/aztp/key.pem" "$work/payload"
  accepts "$alg: aztp signs, jose verifies" "$work/payload" \
    jose verify "$d/aztp/pub.jwk" "$d/aztp.jws"
  accepts "$alg: aztp signs, aztp verifies" "$work/payload" \
    "$tool" verify "$d/aztp/pub.jwk" "$d/aztp.jws"

  # jose signs with aztp's PKCS#8 key, aztp verifies.
  produces "$alg: jose signs with aztp's PKCS#8 key" "$d/jose-aztpkey.jws" \
    jose sign "$alg" "$d/aztp/key.pem" "$work/payload"
  accepts "$alg: jose signs with aztp's PKCS#8 key, aztp verifies" \
    "$work/payload" "$tool" verify "$d/aztp/pub.jwk" "$d/jose-aztpkey.jws"

  # jose's own key: aztp parses jose's JWK and verifies jose's token.
  produces "$alg: jose signs" "$d/jose.jws" \
    jose sign "$alg" "$d/jose/key.pem" "$work/payload"
  accepts "$alg: jose signs, aztp verifies with jose's JWK" "$work/payload" \
    "$tool" verify "$d/jose/pub.jwk" "$d/jose.jws"

  # aztp signs with jose's PKCS#8 key, jose verifies.
  produces "$alg: aztp signs with jose's PKCS#8 key" "$d/aztp-josekey.jws" \
    "$tool" sign "$d/jose/key.pem" "$work/payload"
  accepts "$alg: aztp signs with jose's PKCS#8 key, jose verifies" \
    "$work/payload" jose verify "$d/jose/pub.jwk" "$d/aztp-josekey.jws"

  # RFC 7638 thumbprints agree, for both keys.
  for who in aztp jose; do
    ours="$("$tool" thumbprint "$d/$who/pub.jwk" 2>/dev/null || true)"
    theirs="$(jose thumbprint "$d/$who/pub.jwk" 2>/dev/null || true)"
    : >"$work/stderr"
    if [[ -n "$ours" && "$ours" == "$theirs" ]]; then
      pass "$alg: RFC 7638 thumbprints agree ($who key)"
    else
      fail "$alg: RFC 7638 thumbprints agree ($who key)"
    fi
  done

  # Tampered tokens.
  tamper "$d/aztp.jws" "$d/aztp-payload.jws" 1
  tamper "$d/aztp.jws" "$d/aztp-signature.jws" 2
  tamper "$d/jose.jws" "$d/jose-payload.jws" 1
  tamper "$d/jose.jws" "$d/jose-signature.jws" 2
  rejects "$alg: jose rejects aztp's token with a changed payload" \
    jose verify "$d/aztp/pub.jwk" "$d/aztp-payload.jws"
  rejects "$alg: jose rejects aztp's token with a changed signature" \
    jose verify "$d/aztp/pub.jwk" "$d/aztp-signature.jws"
  rejects "$alg: aztp rejects jose's token with a changed payload" \
    "$tool" verify "$d/jose/pub.jwk" "$d/jose-payload.jws"
  rejects "$alg: aztp rejects jose's token with a changed signature" \
    "$tool" verify "$d/jose/pub.jwk" "$d/jose-signature.jws"
  rejects "$alg: aztp rejects the token with another key" \
    "$tool" verify "$d/aztp/pub.jwk" "$d/jose.jws"
  rejects "$alg: aztp rejects the token with a key of another algorithm" \
    "$tool" verify "$d/other/pub.jwk" "$d/jose.jws"
done

echo "$((checks - failures))/$checks checks passed"
[[ "$failures" -eq 0 ]]
