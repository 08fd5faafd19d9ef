#!/usr/bin/env bash
# The CLI contract scripts rely on: one JSON object on stdout, exit codes
# 0 ok / 1 invalid input or failed verification / 2 usage / 3 I/O, private
# files 0600, and no key material in any output.
source "$(dirname "$0")/../lib/common.sh"
A="$AZTP_BIN"

# id parse
expect_exit 0 "$A" id parse spiffe://example.org/a/b
[ "$(json_get "$out" path)" = /a/b ] && [ "$(json_get "$out" trust_domain)" = example.org ] || fail "$out"
expect_exit 0 "$A" id parse aztp://example.org/workload/prod/node/x
[ "$(json_get "$out" id)" = spiffe://example.org/workload/prod/node/x ] || fail "alias: $out"
ok "id parse: spiffe:// and the aztp:// alias"
for bad in "spiffe://Example.org/a" "spiffe://example.org/a/" "spiffe://example.org/../a" \
           "https://example.org/a" "spiffe://example.org/a%20b" ""; do
  expect_exit 1 "$A" id parse "$bad"
  [ "$(json_get "$out" error)" = malformed ] || fail "id parse '$bad': $out"
done
ok "id parse rejects bad IDs with error=malformed, exit 1"
long="spiffe://example.org/$(head -c 2100 /dev/zero | tr '\0' a)"
expect_exit 1 "$A" id parse "$long"
[ "$(json_get "$out" error)" = too_large ] || fail "long id: $out"
ok "id parse: over 2048 bytes is too_large"

# usage errors
expect_exit 2 "$A"
expect_exit 2 "$A" id parse
expect_exit 2 "$A" ca init --out "$T/x"
expect_exit 2 "$A" svid verify --svid x
[ "$(json_get "$out" error)" = usage ] || fail "usage: $out"
expect_exit 0 "$A" --help
ok "usage errors exit 2 with error=usage; --help exits 0"

# ca init / svid issue / svid verify
expect_exit 0 "$A" ca init --trust-domain org-a.example --out "$T/ca" --ttl 30d
[ "$(stat -c %a "$T/ca/ca.key")" = 600 ] || fail "ca.key mode"
[ "$(stat -c %a "$T/ca/ca.pem")" = 644 ] || fail "ca.pem mode"
expect_exit 0 "$A" svid issue --ca "$T/ca" --id aztp://org-a.example/planner --out "$T/planner" --ttl 1h
[ "$(json_get "$out" id)" = spiffe://org-a.example/planner ] || fail "issue: $out"
exp="$(json_get "$out" expires_at)"
[ "$(stat -c %a "$T/planner/svid.key")" = 600 ] || fail "svid.key mode"
if grep -q "PRIVATE KEY" <<<"$out"; then fail "key material in output"; fi
ok "ca init and svid issue write 0600 keys and print no key material"

expect_exit 0 "$A" svid verify --svid "$T/planner/svid.pem" --bundle org-a.example="$T/ca/bundle.json"
[ "$(json_get "$out" expires_at)" = "$exp" ] || fail "verify: $out"
expect_exit 0 "$A" svid verify --svid "$T/planner/svid.pem" --bundle org-a.example="$T/ca/bundle.json" --now $((exp - 1))
expect_exit 1 "$A" svid verify --svid "$T/planner/svid.pem" --bundle org-a.example="$T/ca/bundle.json" --now "$exp"
[ "$(json_get "$out" error)" = svid_invalid ] || fail "expired: $out"
ok "svid verify: valid until notAfter, svid_invalid at notAfter"

expect_exit 0 "$A" ca init --trust-domain org-b.example --out "$T/cb"
expect_exit 1 "$A" svid verify --svid "$T/planner/svid.pem" --bundle org-b.example="$T/cb/bundle.json"
[ "$(json_get "$out" error)" = untrusted_trust_domain ] || fail "untrusted: $out"
expect_exit 1 "$A" svid verify --svid "$T/planner/svid.pem" --bundle org-a.example="$T/cb/bundle.json"
[ "$(json_get "$out" error)" = svid_invalid ] || fail "wrong bundle: $out"
ok "svid verify: unknown domain is untrusted_trust_domain, wrong CA is svid_invalid"

expect_exit 1 "$A" svid issue --ca "$T/ca" --id spiffe://org-b.example/x --out "$T/x"
[ "$(json_get "$out" error)" = invalid_argument ] || fail "foreign id: $out"
expect_exit 2 "$A" svid issue --ca "$T/ca" --id spiffe://org-a.example/x --out "$T/x" --ttl 5w
[ "$(json_get "$out" error)" = usage ] || fail "bad ttl: $out"
expect_exit 2 "$A" svid issue --ca "$T/ca" --id spiffe://org-a.example/x --out "$T/x" --key-type rsa
[ ! -e "$T/x" ] || fail "a refused command wrote $T/x"
ok "svid issue refuses foreign IDs; bad durations and key types are usage errors"

# Issue 13, a new user's first hour: typos are named with the nearest
# valid word, malformed values are usage errors (exit 2) that say what to
# write, a missing flag names its environment variable.
expect_exit 2 "$A" svid verfy --svid x
[ "$(json_get "$out" message)" = '"svid verfy": no such command; did you mean "verify"?' ] || fail "verfy: $out"
expect_exit 2 "$A" idnetity list
[[ "$(json_get "$out" message)" == *'did you mean "identity"?'* ]] || fail "idnetity: $out"
expect_exit 2 "$A" svid issue --ca "$T/ca" --id spiffe://org-a.example/x --out "$T/x" --tll 1h
[ "$(json_get "$out" message)" = '"svid issue --tll": no such flag; did you mean "--ttl"?' ] || fail "--tll: $out"
expect_exit 2 "$A" ca init --trust-domain org-z.example --out "$T/cz" --ttl 60
[ "$(json_get "$out" message)" = '--ttl: "60" is not a duration; write e.g. 60s, 15m, 1h' ] || fail "--ttl 60: $out"
expect_exit 2 "$A" chain mint --svid "$T/planner" --aud spiffe://org-a.example/x --cap a:b --encoding nest
[[ "$(json_get "$out" message)" == *'"nest" is not an encoding'* ]] || fail "encoding: $out"
expect_exit 2 "$A" chain verify --chain - --audience spiffe://org-a.example/x --bundle "$T/map.json" --skew 30
[ "$(json_get "$out" message)" = '--skew: "30" is not a duration; write e.g. 60s, 15m, 1h' ] || fail "--skew 30: $out"
expect_exit 2 "$A" chain verify --chain - --audience spiffe://org-a.example/x --bundle "$T/map.json" --skew 0
expect_exit 2 env -u AZTP_API_KEY "$A" identity list --server https://127.0.0.1:1 --bundle "$T/ca/bundle.json"
[ "$(json_get "$out" message)" = '--api-key is required (or set AZTP_API_KEY)' ] || fail "api key: $out"
expect_exit 2 "$A" identity list --server https://127.0.0.1:1 --bundle "$T/ca/bundle.json" --api-key x --status activ
[[ "$(json_get "$out" message)" == *'"activ" is not a status'* ]] || fail "status: $out"
expect_exit 2 "$A" identity set-federation spiffe://org-a.example/x --server https://127.0.0.1:1 \
  --bundle "$T/ca/bundle.json" --api-key x --federates-with-non
[[ "$(json_get "$out" message)" == *'did you mean "--federates-with-none"?'* ]] || fail "spelling: $out"
ok "typos name the nearest command or flag; malformed values and missing flags are usage errors"

# A stray argument may be an API key pasted in the wrong place: a usage
# error names where it was, never what it was (review of issue 13).
S=aztp_0leak.SECRETSECRETSECRET
for args in "--api-key $S identity list" "$S" "identity list $S --server https://127.0.0.1:1 --api-key x" \
            "svid --api-key=$S"; do
  expect_exit 2 "$A" $args
  [[ "$out" != *SECRETSECRET* ]] || fail "a usage error printed the key: $out"
done
ok "usage errors never repeat a stray argument, a key among them"

# --bundle with the wrong kind of file says what to pass instead.
expect_exit 1 "$A" svid verify --svid "$T/planner/svid.pem" --bundle "$T/ca/ca.pem"
[[ "$(json_get "$out" message)" == *"is PEM, not a SPIFFE bundle: pass the bundle.json"* ]] || fail "pem: $out"
expect_exit 1 "$A" svid verify --svid "$T/planner/svid.pem" --bundle "$T/ca/bundle.json"
[[ "$(json_get "$out" message)" == *"not a bundle map: pass --bundle TRUST_DOMAIN=$T/ca/bundle.json"* ]] || fail "single: $out"
printf '{"trust_domains": {"org-a.example": %s}}' "$(cat "$T/ca/bundle.json")" > "$T/map.json"
expect_exit 0 "$A" svid verify --svid "$T/planner/svid.pem" --bundle "$T/map.json"
expect_exit 1 "$A" svid verify --svid "$T/planner/svid.pem" --bundle org-a.example="$T/map.json"
[[ "$(json_get "$out" message)" == *"is a bundle map, not one trust domain's bundle: pass --bundle $T/map.json, without TRUST_DOMAIN="* ]] || fail "map: $out"
ok "--bundle given PEM, a single bundle for a map or a map for a single bundle says what to pass"

# Issue 13: ca init replaced an existing CA, and every SVID it had issued
# then failed. Commands that write keys refuse existing files unless --force.
sum_ca="$(sha256sum "$T/ca/ca.key")"
expect_exit 1 "$A" ca init --trust-domain org-a.example --out "$T/ca"
[ "$(json_get "$out" error)" = already_exists ] || fail "ca init twice: $out"
[ "$(json_get "$out" message)" = "$T/ca/ca.pem already exists; --force replaces it" ] || fail "ca init twice: $out"
[ "$(sha256sum "$T/ca/ca.key")" = "$sum_ca" ] || fail "ca.key was replaced"
expect_exit 0 "$A" svid verify --svid "$T/planner/svid.pem" --bundle org-a.example="$T/ca/bundle.json"
expect_exit 1 "$A" svid issue --ca "$T/ca" --id spiffe://org-a.example/planner --out "$T/planner"
[ "$(json_get "$out" error)" = already_exists ] || fail "svid issue twice: $out"
[[ "$(json_get "$out" message)" == *"--force replaces it" ]] || fail "svid issue twice: $out"
expect_exit 0 "$A" ca init --trust-domain org-a.example --out "$T/ca2" --intermediate
expect_exit 0 "$A" ca init --trust-domain org-a.example --out "$T/ca2" --force
[ ! -e "$T/ca2/root.key" ] || fail "--force left the old root.key"
expect_exit 0 "$A" svid issue --ca "$T/ca2" --id spiffe://org-a.example/planner --out "$T/planner2"
expect_exit 0 "$A" svid issue --ca "$T/ca2" --id spiffe://org-a.example/planner --out "$T/planner2" --force
ok "ca init and svid issue refuse existing files (already_exists, exit 1) unless --force"

# Finding 10 of the review (temporary files for keys were predictable): output files
# were written through `<file>.tmp.<pid>` (keys) and `<file>.tmp` (audit
# export), following a link planted there. A link at a guessable name, or at
# the file itself, is never written through, and nothing is left behind.
printf 'original\n' > "$T/victim"
mkdir "$T/shared"
for name in svid.key svid.pem bundle.json; do
  ln -s "$T/victim" "$T/shared/$name.tmp"
done
ln -s "$T/victim" "$T/shared/svid.key"
expect_exit 1 "$A" svid issue --ca "$T/ca" --id spiffe://org-a.example/shared --out "$T/shared" --ttl 1h
[ "$(json_get "$out" message)" = "$T/shared/svid.key already exists; --force replaces it" ] || fail "link: $out"
expect_exit 0 "$A" svid issue --ca "$T/ca" --id spiffe://org-a.example/shared --out "$T/shared" --ttl 1h --force
[ -f "$T/shared/svid.key" ] && [ ! -L "$T/shared/svid.key" ] || fail "svid.key is not a new file"
[ "$(stat -c %a "$T/shared/svid.key")" = 600 ] || fail "shared svid.key mode"
"$AZTP_BUILD/aztpd/aztpd" init --data-dir "$T/data" --trust-domain org-a.example >/dev/null
ln -s "$T/victim" "$T/shared/export.jsonl.tmp"
expect_exit 0 "$A" audit export --db "$T/data/aztpd.db" --out "$T/shared/export.jsonl"
[ "$(json_get "$out" records)" -ge 1 ] && [ ! -L "$T/shared/export.jsonl" ] || fail "export: $out"
[ "$(cat "$T/victim")" = original ] || fail "a planted link was written through"
expect_exit 3 "$A" audit export --db "$T/data/aztpd.db" --out "$T/nowhere/export.jsonl"
expect_exit 1 "$A" audit export --db "$T/missing.db" --out "$T/shared/other.jsonl"
leftover="$(find "$T/shared" -name '*.tmp.*')"
[ -z "$leftover" ] || fail "temporary files left behind: $leftover"
ok "key files and audit exports never follow planted links nor leave temporaries"

# Issue 13: typos in the audit commands looked like success (an empty,
# valid answer). A value no record can match is a usage error naming the
# nearest valid one; a source that never shipped is not_found.
DB="$T/data/aztpd.db"
expect_exit 2 "$A" audit query --db "$DB" --decision denied
[ "$(json_get "$out" message)" = '--decision: "denied" is not a decision; did you mean "deny"?' ] || fail "decision: $out"
expect_exit 2 "$A" audit query --db "$DB" --action proxy
[ "$(json_get "$out" message)" = '--action: "proxy" is not an action; did you mean "proxy."?' ] || fail "action: $out"
expect_exit 2 "$A" audit export --db "$DB" --action identity.regster
[[ "$(json_get "$out" message)" == *'did you mean "identity.register"?'* ]] || fail "action: $out"
expect_exit 2 "$A" audit query --db "$DB" --identity org-a.example/aztpd
[[ "$(json_get "$out" message)" == *'"org-a.example/aztpd" is not a SPIFFE ID'* ]] || fail "identity: $out"
expect_exit 0 "$A" audit query --db "$DB" --action ca.create --identity aztp://org-a.example
[ "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["records"]))' "$out")" -ge 1 ] || fail "alias: $out"
expect_exit 0 "$A" audit query --db "$DB" --action apikey. --decision allow
# Records name API keys and aztpd itself too: those filters stay valid.
expect_exit 0 "$A" audit query --db "$DB" --identity "aztpd init"
[ "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["records"]))' "$out")" -ge 1 ] || fail "actor aztpd init: $out"
expect_exit 1 "$A" audit verify --db "$DB" --source spiffe://org-a.example/tools/paymnts
[ "$(json_get "$out" error)" = not_found ] || fail "source: $out"
[[ "$(json_get "$out" message)" == *'no records were shipped by "spiffe://org-a.example/tools/paymnts"'* ]] || fail "source: $out"
expect_exit 1 "$A" audit query --db "$DB" --source spiffe://org-a.example/tools/paymnts
expect_exit 2 "$A" audit verify --db "$DB" --source paymnts
expect_exit 0 "$A" audit verify --db "$DB"
ok "audit: unknown decisions, actions and non-SPIFFE identities are usage errors; an unknown source is not_found"

# I/O errors exit 3
expect_exit 3 "$A" svid verify --svid "$T/missing.pem" --bundle org-a.example="$T/ca/bundle.json"
[ "$(json_get "$out" error)" = io_error ] || fail "io: $out"
expect_exit 3 "$A" svid issue --ca "$T/nowhere" --id spiffe://org-a.example/x --out "$T/x"
ok "missing files exit 3 with error=io_error"

# Garbage inputs are exit 1, never a crash.
printf 'not a certificate' > "$T/junk.pem"
expect_exit 1 "$A" svid verify --svid "$T/junk.pem" --bundle org-a.example="$T/ca/bundle.json"
printf '{"keys":[{"kty":"EC","use":"x509-svid","keys":1,"keys":2}]}' > "$T/dup.json"
expect_exit 1 "$A" svid verify --svid "$T/planner/svid.pem" --bundle org-a.example="$T/dup.json"
[ "$(json_get "$out" error)" = malformed ] || fail "dup bundle: $out"
head -c 5000000 /dev/zero > "$T/huge.json"
expect_exit 1 "$A" bundle show --bundle org-a.example="$T/huge.json"
[ "$(json_get "$out" error)" = too_large ] || fail "huge: $out"
ok "garbage certificates and bundles are rejected cleanly"

# bundle show
expect_exit 0 "$A" bundle show --bundle "$T/ca/bundle.json"
/usr/bin/python3 - "$out" <<'PY'
import json, sys
b = json.loads(sys.argv[1])
assert b["trust_domain"] == "org-a.example", b
a = b["x509_authorities"][0]
assert a["key_type"] == "ec-p256" and len(a["thumbprint"]) == 43, a
assert a["not_after"].endswith("Z")
PY
ok "bundle show infers the trust domain and describes each authority"

done_checks
