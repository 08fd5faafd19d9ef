#!/usr/bin/env bash
# aztpd on PostgreSQL (docs/scaling.md), against a real server started here
# (tests/pg/pgctl.sh): init, no private key in the clear, two replicas on
# one database serving each other's writes, SIGKILL in the middle of a
# burst losing nothing acknowledged, a wrong key-encryption key refused,
# the audit chain whole.
source "$(dirname "$0")/../lib/common.sh"
D="$AZTP_BUILD/aztpd/aztpd"
[ -x "$D" ] || fail "aztpd is not built at $D"
source "$(dirname "$0")/../lib/pg.sh"
aztp_database
config() {  # config KEY_FILE
  echo "rate_limit: {requests_per_second: 0}"
  store_config "$1"
}
config "$T/kek" > "$T/aztpd.yaml"
ok "PostgreSQL on 127.0.0.1:$PORT, an ordinary role owning the database"

expect_exit 0 "$D" init --config "$T/aztpd.yaml" --data-dir "$T/a" --trust-domain pg.example
KEY="$(json_get "$out" admin_api_key)"
[ "$(json_get "$out" store_path)" = postgres ] || fail "store_path: $out"
keys="$(admin "SELECT count(*) FROM ca_keys" aztp)"
clear="$(admin "SELECT count(*) FROM ca_keys WHERE position('PRIVATE KEY'::bytea in key_pem) > 0" aztp)"
[ "$keys" -ge 2 ] && [ "$clear" = 0 ] || fail "ca_keys: $keys keys, $clear in the clear"
ok "init on PostgreSQL: $keys signing keys, none in the clear"

# A second init of the same database is refused: it is initialised.
expect_exit 1 "$D" init --config "$T/aztpd.yaml" --data-dir "$T/a2" --trust-domain pg.example
[[ "$out" == *already_exists* ]] || fail "second init: $out"
ok "a second init of the same database is already_exists"

start_aztpd "$T/a" --config "$T/aztpd.yaml"; A="$URL"; PID_A=$PID
mkdir -m 700 "$T/b"
start_aztpd "$T/b" --config "$T/aztpd.yaml"; B="$URL"; PID_B=$PID
C=(curl -sS --cacert "$T/a/bundle.pem")
cmp -s "$T/a/bundle.json" "$T/b/bundle.json" || fail "the replicas publish different bundles"
URL="$A" api POST /v1/identities '{"id":"spiffe://pg.example/agents/one"}'
[ "$status" = 201 ] || fail "register at A: $status $body"
URL="$B" api GET /v1/identities/pg.example/agents/one
[ "$status" = 200 ] || fail "read at B: $status $body"
URL="$B" api POST /v1/identities/pg.example/agents/one:revoke '{"reason":"test"}'
[ "$status" = 200 ] || fail "revoke at B: $status $body"
URL="$A" api GET /v1/identities/pg.example/agents/one
has "$body" "j['status'] == 'revoked'" || fail "A does not see B's revocation: $body"
ok "two replicas, one bundle: registered at A, read and revoked at B, seen revoked at A"

# A burst of registrations at A, killed with SIGKILL in its middle.
: > "$T/acked.txt"
AZTP_KEY="$KEY" /usr/bin/python3 "$AZTP_SOURCE/tests/lib/register_burst.py" \
  "${A#https://}" "$T/a/bundle.pem" "$T/acked.txt" "spiffe://pg.example/burst/" &
BURST=$!
for _ in $(seq 200); do [ "$(wc -l < "$T/acked.txt")" -ge 20 ] && break; sleep 0.05; done
sleep 0.3
kill -9 $PID_A; wait $PID_A 2>/dev/null || true
wait $BURST || fail "the burst's client failed"
acked=$(wc -l < "$T/acked.txt")
[ "$acked" -ge 20 ] || fail "only $acked writes acknowledged"
missing=0
while read -r id; do
  n="$(admin "SELECT count(*) FROM identities i JOIN audit a ON a.subject = i.id AND a.action = 'identity.register' WHERE i.id = convert_to('$id', 'UTF8')" aztp)"
  [ "$n" = 1 ] || missing=$((missing + 1))
done < "$T/acked.txt"
[ "$missing" = 0 ] || fail "$missing acknowledged registrations missing or without their audit record"
ok "A killed with SIGKILL mid-burst: all $acked acknowledged registrations stored with their audit records"

# B serves on, and the audit chain (written by both) is whole.
URL="$B" api GET /v1/identities/pg.example/burst/w00000
[ "$status" = 200 ] || fail "B after A's death: $status"
expect_exit 0 "$AZTP_BIN" audit verify --server "$B" --api-key "$KEY" --bundle "$T/b/bundle.json"
has "$out" "j['valid'] is True and j['records'] >= $acked" || fail "audit verify: $out"
ok "B serves after A's death; the audit chain of both replicas verifies ($(json_get "$out" records) records)"

# A replica with another key-encryption key cannot open the signing keys,
# and says why rather than minting new ones.
(umask 077; openssl rand -hex 32 > "$T/kek2")
config "$T/kek2" > "$T/wrong.yaml"
mkdir -m 700 "$T/c"
expect_exit 3 timeout 20 "$D" run --config "$T/wrong.yaml" --data-dir "$T/c" --listen 127.0.0.1:0
[[ "$out" == *"does not unseal"* ]] || fail "wrong key: $out"
keys2="$(admin "SELECT count(*) FROM ca_keys" aztp)"
[ "$keys2" = "$keys" ] || fail "the wrong key changed the signing keys: $keys -> $keys2"
ok "a replica with another key-encryption key is refused and changes nothing"

# No secret in any output or log.
grep -q "$(cat "$T/pg.password")" "$T/aztpd.log" && fail "the database password is in the log"
grep -q "$(cat "$T/kek")" "$T/aztpd.log" && fail "the key-encryption key is in the log"
ok "neither the database password nor the key-encryption key is logged"
kill -TERM $PID_B; wait $PID_B || fail "B did not exit cleanly"
done_checks
