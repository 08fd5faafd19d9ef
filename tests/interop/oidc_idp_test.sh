#!/usr/bin/env bash
# Self-test of the OpenID Connect test harness of tests/oidc: the IdP
# (idp.mjs, the npm package oidc-provider) and the scripted browser
# (login.mjs) that the relying party's tests use.
#
# Over HTTPS with a test CA made here by openssl (server certificate for IP
# 127.0.0.1): discovery (issuer, PKCE S256 only) is fetched by curl with the
# CA and refused without it; the authorization-code flow with PKCE runs as
# alice (login and consent pages through login.mjs) and as bob; the code is
# exchanged by curl (client_secret_basic, and private_key_jwt for a second
# client) and the ID token verified by node `jose` against the JWKS (iss,
# aud, nonce, and email, groups, acr, amr, auth_time); a code works once; a
# wrong code_verifier, a request without PKCE, a wrong password and a denied
# consent all fail; every --tamper mode breaks the ID token in its own way
# and nothing else; POST /test/sign answers JWSs that verify against the
# JWKS (and is absent without --test-sign); --issuer makes a second IdP
# claim the first one's issuer (with an ES256 key); a restart on the same
# port with a new --jwks publishes the new kid only. Each IdP prints one
# line to stdout, exits 0 on SIGTERM and logs no password, secret or code.
#
# The IdPs start together and the --tamper flows run in the background,
# beside the other checks; their results come after them.
#
# Needs AZTP_SOURCE and AZTP_NODE_PATH (jose and oidc-provider), node, curl
# and openssl. A missing piece is a failure, not a skip. One line per check;
# keys, codes and tokens are never printed.
set -euo pipefail

die() {
  echo "FAIL setup: $*" >&2
  exit 1
}

[[ -n "${AZTP_SOURCE:-}" ]] || die "AZTP_SOURCE is not set"
[[ -n "${AZTP_NODE_PATH:-}" ]] || die "AZTP_NODE_PATH is not set"
for tool in node curl openssl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
[[ -f "$AZTP_NODE_PATH/jose/dist/webapi/index.js" ]] ||
  die "jose is not installed under $AZTP_NODE_PATH"
[[ -f "$AZTP_NODE_PATH/oidc-provider/lib/index.js" ]] ||
  die "oidc-provider is not installed under $AZTP_NODE_PATH (run scripts/install-deps.sh)"
export AZTP_NODE_PATH

oidc="$AZTP_SOURCE/tests/oidc"
helper="$AZTP_SOURCE/tests/interop/oidc_idp.mjs"
redirect="https://127.0.0.1:1/cb"
secret="rp-secret-0123456789abcdef0123456789"

work="$(mktemp -d)"
[[ -d "$work" ]] || die "mktemp failed"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

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

# verdict NAME COMMAND...: pass if the command succeeds (its stdout goes to
# $work/stdout, its stderr is shown on failure).
verdict() {
  local name="$1"
  shift
  if "$@" >"$work/stdout" 2>"$work/stderr"; then
    pass "$name"
  else
    fail "$name"
  fi
}

# json FILE EXPR: prints the JavaScript expression EXPR of the JSON value `j`
# read from FILE (strings as they are, anything else as JSON).
json() {
  node -e '
    const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const v = eval(process.argv[2]);
    process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
  ' "$1" "$2"
}

get() { curl -sS --max-time 10 --cacert "$work/ca.pem" "$@"; }

# ------------------------------------------------------------ test PKI

# shellcheck source=../oidc/pki.sh
source "$oidc/pki.sh"
oidc_test_pki "$work" || die "openssl cannot make the test PKI: $(cat "$work/pki.err")"
tls=(--cert "$work/server.pem" --key "$work/server.key")

# ------------------------------------------------------------ keys, clients

jwks_jobs=()
for spec in key-1:RS256 key-2:RS256 key-es:ES256 rp-jwt:ES256; do
  (umask 077 && node "$oidc/make_jwks.mjs" --alg "${spec#*:}" --kid "${spec%%:*}" \
    >"$work/${spec%%:*}.jwks" 2>"$work/${spec%%:*}.jwks.err") &
  jwks_jobs+=($!)
done
for job in "${jwks_jobs[@]}"; do
  wait "$job" || die "make_jwks.mjs fails"
done
node "$helper" public "$work/rp-jwt.jwks" >"$work/rp-jwt.public.jwks" 2>"$work/stderr" ||
  die "cannot make the public JWKS of rp-jwt"
cat >"$work/clients.json" <<EOF
[
  {"client_id": "rp", "client_secret": "$secret",
   "redirect_uris": ["$redirect"],
   "token_endpoint_auth_method": "client_secret_basic",
   "grant_types": ["authorization_code"], "response_types": ["code"]},
  {"client_id": "rp-jwt", "redirect_uris": ["$redirect"],
   "token_endpoint_auth_method": "private_key_jwt",
   "jwks": $(cat "$work/rp-jwt.public.jwks")}
]
EOF

# ------------------------------------------------------------ IdP processes

declare -A idp_pid idp_port idp_issuer

# launch_idp NAME ARGS...: starts idp.mjs with the clients above and ARGS,
# in the background, over TLS unless NAME is "plain"; stdout goes to
# $work/NAME.out, stderr to $work/NAME.err.
launch_idp() {
  local name="$1" transport=("${tls[@]}")
  shift
  [[ "$name" != plain ]] || transport=()
  node "$oidc/idp.mjs" ${transport[@]+"${transport[@]}"} --clients "$work/clients.json" "$@" \
    >"$work/$name.out" 2>"$work/$name.err" &
  idp_pid[$name]=$!
  pids+=($!)
}

# await_idp NAME: waits for NAME's ready line, exactly
# {"ready":true,"issuer":"...","port":N}; sets idp_port[NAME] and
# idp_issuer[NAME]. Fails (stderr says why) if it does not come.
await_idp() {
  local name="$1" i line
  for ((i = 0; i < 300; i++)); do
    [[ -s "$work/$name.out" ]] && break
    kill -0 "${idp_pid[$name]}" 2>/dev/null || break
    sleep 0.05
  done
  line="$(head -n 1 "$work/$name.out")"
  local ready='^\{"ready":true,"issuer":"([^"]+)","port":([0-9]+)\}$'
  if ! [[ "$line" =~ $ready ]]; then
    echo "idp.mjs ($name) did not start:" >&2
    sed 's/^/  /' "$work/$name.err" >&2
    return 1
  fi
  idp_issuer[$name]="${BASH_REMATCH[1]}"
  idp_port[$name]="${BASH_REMATCH[2]}"
}

# stop_idp NAME: SIGTERM; succeeds if the IdP exits 0.
stop_idp() {
  kill -TERM "${idp_pid[$1]}" 2>/dev/null || return 1
  local status=0
  wait "${idp_pid[$1]}" || status=$?
  [[ "$status" -eq 0 ]]
}

# ------------------------------------------------------------ flow steps

# flow DIR BASE ISSUER USER PASSWORD [CLIENT [AUTHORIZE_OPTION]]: fetches
# discovery, makes the authorization request, signs in and consents with
# login.mjs, and checks the redirect; leaves DIR/code (and the files of
# `oidc_idp.mjs authorize`).
flow() {
  local dir="$1" base="$2" issuer="$3" user="$4" password="$5" client="${6:-rp}"
  mkdir -p "$dir"
  get "$base/.well-known/openid-configuration" >"$dir/discovery.json" &&
    node "$helper" authorize "$dir/discovery.json" "$client" "$redirect" "$dir" ${7:+"$7"} \
      >"$dir/url" &&
    node "$oidc/login.mjs" --url "$(cat "$dir/url")" --user "$user" --password "$password" \
      --ca "$work/ca.pem" >"$dir/login.json" &&
    node "$helper" callback "$dir/login.json" "$redirect" "$dir" "$issuer" >"$dir/code"
}

# exchange DIR [VERIFIER]: redeems DIR/code at DIR/token_endpoint with
# client_secret_basic; the answer goes to DIR/token.json, its HTTP status to
# DIR/status.
exchange() {
  local dir="$1" verifier="${2:-$(cat "$1/verifier")}"
  get -o "$dir/token.json" -w '%{http_code}' -u "rp:$secret" \
    --data-urlencode grant_type=authorization_code \
    --data-urlencode "code=$(cat "$dir/code")" \
    --data-urlencode "redirect_uri=$redirect" \
    --data-urlencode "code_verifier=$verifier" \
    "$(cat "$dir/token_endpoint")" >"$dir/status"
}

# exchange_ok DIR: exchange, expecting 200.
exchange_ok() {
  exchange "$@" && [[ "$(cat "$1/status")" == 200 ]]
}

# exchange_refused DIR ERROR [VERIFIER]: exchange, expecting 400 with ERROR.
exchange_refused() {
  local dir="$1" error="$2"
  shift 2
  exchange "$dir" "$@" && [[ "$(cat "$dir/status")" == 400 ]] &&
    [[ "$(json "$dir/token.json" 'j.error')" == "$error" ]]
}

# ------------------------------------------------------------ start the IdPs

tamper_modes=(expired wrong-aud wrong-nonce wrong-iss alg-none hs256-public-key unknown-kid)
launch_idp main --jwks "$work/key-1.jwks" --test-sign
for mode in "${tamper_modes[@]}"; do
  launch_idp "tamper-$mode" --jwks "$work/key-1.jwks" --tamper "$mode"
done
await_idp main 2>"$work/stderr" || die "the IdP does not start: $(cat "$work/stderr")"
port="${idp_port[main]}"
issuer="${idp_issuer[main]}"
base="https://127.0.0.1:$port"
launch_idp claimer --jwks "$work/key-es.jwks" --issuer "$issuer"
launch_idp plain
for mode in "${tamper_modes[@]}"; do
  await_idp "tamper-$mode" 2>"$work/stderr" ||
    die "the IdP does not start with --tamper $mode: $(cat "$work/stderr")"
done
await_idp claimer 2>"$work/stderr" ||
  die "the IdP does not start with --issuer: $(cat "$work/stderr")"
await_idp plain 2>"$work/stderr" ||
  die "the IdP does not start over HTTP: $(cat "$work/stderr")"

get "$base/jwks" >"$work/jwks.json" 2>"$work/stderr" || die "cannot fetch the JWKS"

# tamper_check MODE: the flow as alice against the IdP with --tamper MODE;
# the ID token has that defect only and is refused. Runs in the background.
tamper_check() {
  local mode="$1" dir="$work/tamper-$1"
  local base="https://127.0.0.1:${idp_port[tamper-$1]}" issuer="${idp_issuer[tamper-$1]}"
  flow "$dir" "$base" "$issuer" alice alice-password && exchange_ok "$dir" &&
    node "$helper" tampered "$mode" "$work/jwks.json" "$dir/token.json" "$issuer" rp "$dir" alice
}
declare -A tamper_job
for mode in "${tamper_modes[@]}"; do
  tamper_check "$mode" >"$work/tamper-$mode.log" 2>&1 &
  tamper_job[$mode]=$!
  pids+=($!)
done

# ------------------------------------------------------------ the main IdP

discovery() {
  [[ "$issuer" == "https://127.0.0.1:$port" ]] &&
    get "$base/.well-known/openid-configuration" >"$work/discovery.json" &&
    node "$helper" discovery "$work/discovery.json" "$issuer"
}
verdict "discovery over HTTPS: issuer, PKCE S256 only, code flow only, scopes" discovery

no_ca() {
  local status=0
  curl -sS --max-time 10 "$base/.well-known/openid-configuration" >/dev/null 2>&1 || status=$?
  [[ "$status" -eq 60 ]]
}
verdict "curl without the test CA refuses the IdP's certificate" no_ca

jwks_kids() {
  [[ "$(json "$work/discovery.json" 'j.jwks_uri')" == "$base/jwks" ]] &&
    [[ "$(node "$helper" kids "$work/jwks.json")" == key-1 ]]
}
verdict "the JWKS publishes key-1 only, public parts only" jwks_kids

alice() {
  flow "$work/alice" "$base" "$issuer" alice alice-password &&
    exchange_ok "$work/alice" &&
    node "$helper" id-token "$work/jwks.json" "$work/alice/token.json" "$issuer" rp \
      "$work/alice" alice >"$work/alice/decoded.json"
}
verdict "alice signs in and consents; the code is exchanged (client_secret_basic, PKCE); the ID token verifies (jose, JWKS) with iss, aud, nonce, email, groups, acr, amr, auth_time" \
  alice
verdict "the code cannot be used twice (invalid_grant)" \
  exchange_refused "$work/alice" invalid_grant

bob() {
  flow "$work/bob" "$base" "$issuer" bob bob-password && exchange_ok "$work/bob" &&
    node "$helper" id-token "$work/jwks.json" "$work/bob/token.json" "$issuer" rp "$work/bob" bob
}
verdict "bob signs in; his ID token has his claims (acr pwd, amr [pwd], email not verified)" bob

wrong_verifier() {
  flow "$work/verifier" "$base" "$issuer" alice alice-password &&
    exchange_refused "$work/verifier" invalid_grant "$(openssl rand -hex 32)"
}
verdict "a wrong code_verifier is refused (invalid_grant)" wrong_verifier

no_pkce() {
  local dir="$work/no-pkce"
  mkdir -p "$dir"
  node "$helper" authorize "$work/discovery.json" rp "$redirect" "$dir" --no-pkce >"$dir/url" &&
    node "$oidc/login.mjs" --url "$(cat "$dir/url")" --user alice --password alice-password \
      --ca "$work/ca.pem" >"$dir/login.json" &&
    node "$helper" callback-error "$dir/login.json" "$redirect" "$dir" invalid_request
}
verdict "an authorization request without PKCE is refused (invalid_request)" no_pkce

wrong_password() {
  local dir="$work/wrong-password" status=0
  mkdir -p "$dir"
  node "$helper" authorize "$work/discovery.json" rp "$redirect" "$dir" >"$dir/url" || return 1
  node "$oidc/login.mjs" --url "$(cat "$dir/url")" --user alice --password bob-password \
    --ca "$work/ca.pem" >"$dir/login.json" || status=$?
  [[ "$status" -eq 3 ]] && [[ "$(cat "$dir/login.json")" == '{"error":"login_failed"}' ]]
}
verdict "a wrong password gives no login (login.mjs exit 3, login_failed)" wrong_password

deny() {
  local dir="$work/deny"
  mkdir -p "$dir"
  node "$helper" authorize "$work/discovery.json" rp "$redirect" "$dir" >"$dir/url" &&
    node "$oidc/login.mjs" --url "$(cat "$dir/url")" --user bob --password bob-password \
      --ca "$work/ca.pem" --deny-consent >"$dir/login.json" &&
    node "$helper" callback-error "$dir/login.json" "$redirect" "$dir" access_denied
}
verdict "denied consent sends access_denied to the relying party" deny

private_key_jwt() {
  local dir="$work/rp-jwt" assertion
  flow "$dir" "$base" "$issuer" alice alice-password rp-jwt || return 1
  assertion="$(node "$helper" assertion "$work/rp-jwt.jwks" rp-jwt "$issuer")" || return 1
  [[ "$(get -o "$dir/token.json" -w '%{http_code}' \
        --data-urlencode grant_type=authorization_code \
        --data-urlencode "code=$(cat "$dir/code")" \
        --data-urlencode "redirect_uri=$redirect" \
        --data-urlencode "code_verifier=$(cat "$dir/verifier")" \
        --data-urlencode client_id=rp-jwt \
        --data-urlencode "client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer" \
        --data-urlencode "client_assertion=$assertion" \
        "$(cat "$dir/token_endpoint")")" == 200 ]] &&
    node "$helper" id-token "$work/jwks.json" "$dir/token.json" "$issuer" rp-jwt "$dir" alice
}
verdict "a private_key_jwt client (ES256 assertion) gets alice's ID token" private_key_jwt

# POST /test/sign
test_sign() {
  local claims='{"iss":"https://example.org","sub":"alice","aud":"aztpd","exp":4102444800,"x":[1,"two"]}'
  [[ "$(get -o "$work/signed.jws" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "$claims" "$base/test/sign")" == 200 ]] &&
    node "$helper" jws "$work/jwks.json" "$work/signed.jws" "$claims" '{"alg":"RS256","kid":"key-1"}'
}
verdict "POST /test/sign signs a claims object with key-1 (verifies against the JWKS)" test_sign

test_sign_wrapped() {
  local claims='{"sub":"bob","header":"a claim named header"}'
  [[ "$(get -o "$work/signed2.jws" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "{\"header\":{\"typ\":\"JWT\"},\"payload\":$claims}" "$base/test/sign")" \
     == 200 ]] &&
    node "$helper" jws "$work/jwks.json" "$work/signed2.jws" "$claims" \
      '{"alg":"RS256","kid":"key-1","typ":"JWT"}'
}
verdict "POST /test/sign with {header, payload} adds the header members" test_sign_wrapped

test_sign_alg() {
  [[ "$(get -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary '{"header":{"alg":"HS256"},"payload":{}}' "$base/test/sign")" == 400 ]]
}
verdict "POST /test/sign refuses another alg than the key's (400)" test_sign_alg

test_sign_tamper() {
  local claims='{"iss":"https://example.org","sub":"alice","aud":"aztpd","exp":4102444800}'
  [[ "$(get -o "$work/none.jws" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "{\"tamper\":\"alg-none\",\"payload\":$claims}" "$base/test/sign")" \
     == 200 ]] &&
    [[ "$(cut -d. -f1 "$work/none.jws" | node -e 'process.stdout.write(JSON.stringify(JSON.parse(Buffer.from(require("fs").readFileSync(0,"utf8").trim(),"base64url"))))')" \
       == '{"alg":"none"}' ]] &&
    [[ "$(cut -d. -f3 "$work/none.jws")" == "" ]] &&
    [[ "$(get -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
          --data-binary '{"tamper":"no-such-mode","payload":{}}' "$base/test/sign")" == 400 ]]
}
verdict "POST /test/sign with a tamper mode breaks the signed token that way (alg-none); an unknown mode is 400" test_sign_tamper

# ------------------------------------------------------------ --issuer

issuer_claim() {
  local dir="$work/claimer" base="https://127.0.0.1:${idp_port[claimer]}"
  [[ "${idp_issuer[claimer]}" == "$issuer" && "${idp_port[claimer]}" != "$port" ]] &&
    flow "$dir" "$base" "$issuer" alice alice-password &&
    node "$helper" discovery "$dir/discovery.json" "$issuer" &&
    [[ "$(cat "$dir/token_endpoint")" == "$base/token" ]] &&
    exchange_ok "$dir" &&
    get "$(cat "$dir/jwks_uri")" >"$dir/jwks.json" &&
    node "$helper" id-token "$dir/jwks.json" "$dir/token.json" "$issuer" rp "$dir" alice \
      >"$dir/decoded.json" &&
    [[ "$(json "$dir/decoded.json" 'j.header')" == '{"alg":"ES256","kid":"key-es"}' ]]
}
verdict "--issuer: a second IdP (ES256 key) claims the first one's issuer from its own port" \
  issuer_claim

no_test_sign() {
  [[ "$(get -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary '{"sub":"x"}' "https://127.0.0.1:${idp_port[claimer]}/test/sign")" == 404 ]]
}
verdict "without --test-sign there is no /test/sign (404)" no_test_sign

# ------------------------------------------------------------ plain HTTP

plain_http() {
  local dir="$work/plain" base="http://127.0.0.1:${idp_port[plain]}"
  [[ "${idp_issuer[plain]}" == "$base" ]] &&
    flow "$dir" "$base" "$base" bob bob-password &&
    node "$helper" discovery "$dir/discovery.json" "$base" &&
    exchange_ok "$dir" &&
    get "$(cat "$dir/jwks_uri")" >"$dir/jwks.json" &&
    node "$helper" id-token "$dir/jwks.json" "$dir/token.json" "$base" rp "$dir" bob
}
verdict "over plain HTTP (loopback, no --cert): issuer http://..., cookies work, bob's ID token verifies" \
  plain_http

# ------------------------------------------------------------ --tamper results

for mode in "${tamper_modes[@]}"; do
  name="--tamper $mode: that defect only, the rest of the answer is real, jose refuses it"
  if wait "${tamper_job[$mode]}"; then
    pass "$name"
  else
    cp "$work/tamper-$mode.log" "$work/stderr"
    fail "$name"
  fi
done

# ------------------------------------------------------------ shutdown, rotation

stop_all() {
  local name status=0
  for name in main claimer plain "${tamper_modes[@]/#/tamper-}"; do
    if ! stop_idp "$name"; then
      echo "$name did not exit 0" >&2
      status=1
    fi
  done
  return "$status"
}
verdict "every IdP exits 0 on SIGTERM" stop_all

quiet() {
  local out
  for out in "$work"/*.out; do
    if [[ "$(wc -l <"$out")" -ne 1 ]]; then
      echo "$out holds more than the ready line" >&2
      return 1
    fi
  done
  grep -h . "$work"/*/code >"$work/codes" || true
  ! grep -q -e alice-password -e bob-password -e "$secret" "$work"/*.err &&
    ! grep -q -F -f "$work/codes" "$work"/*.err
}
verdict "each IdP's stdout holds its ready line only; stderr holds no password, secret or code" \
  quiet

rotation() {
  launch_idp rotated --port "$port" --jwks "$work/key-2.jwks" --test-sign
  await_idp rotated || return 1
  local dir="$work/rotated"
  [[ "${idp_port[rotated]}" == "$port" && "${idp_issuer[rotated]}" == "$issuer" ]] &&
    flow "$dir" "$base" "$issuer" alice alice-password &&
    get "$(cat "$dir/jwks_uri")" >"$work/jwks2.json" &&
    [[ "$(node "$helper" kids "$work/jwks2.json")" == key-2 ]] &&
    exchange_ok "$dir" &&
    node "$helper" id-token "$work/jwks2.json" "$dir/token.json" "$issuer" rp "$dir" alice \
      >"$dir/decoded.json" &&
    [[ "$(json "$dir/decoded.json" 'j.header.kid')" == key-2 ]] &&
    ! node "$helper" id-token "$work/jwks.json" "$dir/token.json" "$issuer" rp "$dir" alice \
      >/dev/null 2>&1
}
verdict "key rotation: restarted on the same port with key-2, the JWKS has key-2 only and ID tokens use it" \
  rotation
verdict "the restarted IdP exits 0 on SIGTERM" stop_idp rotated

echo "$((checks - failures))/$checks checks passed"
[[ "$failures" -eq 0 ]]
