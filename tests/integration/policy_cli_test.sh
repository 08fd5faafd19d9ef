#!/usr/bin/env bash
# `aztp policy` end to end: `validate` and `test` offline (a hand-written
# context, and a real chain minted with `aztp chain mint` by an SVID of a CA
# made with `aztp ca init`), then put/get/list/update/attach/detach/delete
# against an aztpd on loopback, whose POST /v1/authorize must decide like
# `policy test`.
source "$(dirname "$0")/../lib/common.sh"
D="$AZTP_BUILD/aztpd/aztpd"
A="$AZTP_BIN"
[ -x "$D" ] || fail "aztpd is not built at $D"


cat > "$T/payments.json" <<'JSON'
{"Version": "2024-01-01",
 "Statement": [
  {"Sid": "PaymentsFromOrgA", "Effect": "Allow", "Action": "payments:*",
   "Condition": {"StringEquals": {"aztp:CallerTrustDomain": "org-a.example"},
                 "NumericLessThanEquals": {"request:Amount": 1000}}},
  {"Sid": "NoRefunds", "Effect": "Deny", "Action": "payments:refund"}]}
JSON
cat > "$T/v2.json" <<'JSON'
{"Statement": [
  {"Sid": "AllPayments", "Effect": "Allow", "Action": "payments:*"},
  {"Sid": "NoRefunds", "Effect": "Deny", "Action": "payments:refund"}]}
JSON
cat > "$T/bad_operator.json" <<'JSON'
{"Statement": [
  {"Sid": "Fine", "Effect": "Allow", "Action": "a:b"},
  {"Sid": "Typo", "Effect": "Allow", "Action": "a:c",
   "Condition": {"StringEqual": {"aztp:CallerId": "spiffe://org-a.example/x"}}}]}
JSON
cat > "$T/bad_effect.json" <<'JSON'
{"Statement": {"Effect": "Permit", "Action": "payments:quote"}}
JSON

# ---- validate ----

run 0 "$A" policy validate "$T/payments.json"
has "$out" 'j["valid"] is True and j["canonical"]["Version"] == "2024-01-01" and j["canonical"]["Statement"][0]["Action"] == ["payments:*"] and j["canonical"]["Statement"][1] == {"Sid": "NoRefunds", "Effect": "Deny", "Action": ["payments:refund"]}'
CANONICAL="$(json_get "$out" canonical)"
run 0 "$A" policy validate - < "$T/payments.json"
has "$out" "j['canonical'] == json.loads('''$CANONICAL''')"
ok "policy validate prints the canonical document, from a file and from stdin"

run 1 "$A" policy validate "$T/bad_operator.json"
has "$out" 'j["valid"] is False and j["error"] == "malformed"'
[[ "$(json_get "$out" message)" == 'policy: Statement[1] ("Typo"): Condition: unknown operator "StringEqual"'* ]] \
  || fail "unknown operator message: $out"
run 1 "$A" policy validate "$T/bad_effect.json"
has "$out" 'j["valid"] is False and j["error"] == "malformed"'
[[ "$(json_get "$out" message)" == 'policy: Statement[0]: member "Effect" must be "Allow", "Deny" or "Audit", not "Permit"'* ]] \
  || fail "bad effect message: $out"
run 3 "$A" policy validate "$T/missing.json"
[ "$(json_get "$out" error)" = io_error ] || fail "missing file: $out"
ok "policy validate: an unknown operator and a bad Effect exit 1 naming the statement and member; a missing file exits 3"

# ---- test against a context ----

P=("$A" policy test --policy "$T/payments.json")
ORG_A='{"aztp:CallerTrustDomain": "org-a.example"}'
run 0 "${P[@]}" --action payments:quote --context "$ORG_A" --request-key Amount=250
has "$out" 'j == {"allowed": True, "verdict": "allow", "basis": "statement", "reason": "allowed by statement 0 (\"PaymentsFromOrgA\")", "statement_index": 0, "sid": "PaymentsFromOrgA"}'
run 1 "${P[@]}" --action payments:refund --context "$ORG_A" --request-key request:Amount=250
has "$out" 'j["allowed"] is False and j["verdict"] == "deny" and j["basis"] == "explicit_deny" and j["statement_index"] == 1 and j["sid"] == "NoRefunds" and "statement 1 (\"NoRefunds\")" in j["reason"]'
run 1 "${P[@]}" --action payments:quote --context '{"aztp:CallerTrustDomain": "org-c.example", "request:Amount": 250}'
has "$out" 'j["allowed"] is False and j["basis"] == "default_deny" and j["statement_index"] is None and j["sid"] is None and "payments:quote" in j["reason"]'
# Issue 13: a context lacking a key a condition reads names the key.
run 1 "${P[@]}" --action payments:quote --context "$ORG_A"
has "$out" 'j["basis"] == "default_deny" and j["statement_index"] is None and j["reason"] == "no statement allows \"payments:quote\" on \"*\": statement 0 (\"PaymentsFromOrgA\") needs context key \"request:Amount\", which is absent"'
ok "policy test: allowed exits 0, an explicit and a default deny exit 1, each with its reason (an absent key named)"

# A string where the condition needs a number: a context error names the statement.
run 1 "${P[@]}" --action payments:quote --context "$ORG_A" --request-key 'Amount="250"'
has "$out" 'j["basis"] == "context_error" and "statement 0 (\"PaymentsFromOrgA\")" in j["reason"] and "request:Amount" in j["reason"]'
printf '%s' '{"aztp:CallerTrustDomain": "org-a.example", "request:Amount": 5000}' > "$T/context.json"
run 1 "${P[@]}" --action payments:quote --context "@$T/context.json"
has "$out" 'j["basis"] == "default_deny"'
# aztp:CurrentTime as RFC 3339 or Unix seconds.
cat > "$T/hours.json" <<'JSON'
{"Statement": {"Sid": "Before2030", "Effect": "Allow", "Action": "x:y",
  "Condition": {"DateLessThan": {"aztp:CurrentTime": "2030-01-01T00:00:00Z"}}}}
JSON
run 0 "$A" policy test --policy "$T/hours.json" --action x:y --context '{"aztp:CurrentTime": "2029-12-31T23:59:59Z"}'
run 1 "$A" policy test --policy "$T/hours.json" --action x:y --context '{"aztp:CurrentTime": 1893456000}'
has "$out" 'j["basis"] == "default_deny"'
run 1 "$A" policy test --policy "$T/hours.json" --action x:y --context '{}' --now 1893456000
has "$out" 'j["basis"] == "default_deny"'
run 0 "$A" policy test --policy "$T/hours.json" --action x:y --context '{}' --now 1700000000
ok "policy test: request keys typed as JSON, --context @FILE, aztp:CurrentTime as RFC 3339, Unix seconds or --now"

run 1 "${P[@]}" --action payments:quote --context '{"department": "x"}'
has "$out" 'j["error"] == "invalid_argument" and "department" in j["message"]'
run 1 "${P[@]}" --action payments:quote --context '[1]'
[ "$(json_get "$out" error)" = invalid_argument ] || fail "list context: $out"
run 2 "${P[@]}" --action payments:quote
[ "$(json_get "$out" error)" = usage ] || fail "no context: $out"
run 2 "${P[@]}" --action payments:quote --context '{}' --chain "$T/none" \
  --audience spiffe://org-a.example/x --bundle "org-a.example=$T/none"
[ "$(json_get "$out" error)" = usage ] || fail "context and chain: $out"
run 1 "$A" policy test --policy "$T/bad_effect.json" --action payments:quote --context '{}'
[[ "$(json_get "$out" message)" == *'Statement[0]: member "Effect"'* ]] || fail "invalid policy: $out"
ok "policy test: bad context keys and an invalid policy exit 1; no context, or two, is a usage error"

# ---- test against a chain ----

run 0 "$A" ca init --trust-domain org-a.example --out "$T/ca"
run 0 "$A" svid issue --ca "$T/ca" --id spiffe://org-a.example/agents/planner --out "$T/planner"
NOW="$(date +%s)"
"$A" chain mint --svid "$T/planner" --aud spiffe://org-a.example/tools/payments \
  --cap payments:quote --now "$NOW" > "$T/quote-chain" || fail "chain mint"
"$A" chain mint --svid "$T/planner" --aud spiffe://org-a.example/tools/payments \
  --cap 'payments:*' --now "$NOW" > "$T/all-chain" || fail "chain mint"
CHAIN=(--audience spiffe://org-a.example/tools/payments --bundle "org-a.example=$T/ca/bundle.json")
run 0 "${P[@]}" --action payments:quote --chain "$T/quote-chain" "${CHAIN[@]}" --request-key Amount=250
has "$out" 'j["allowed"] is True and j["sid"] == "PaymentsFromOrgA" and j["statement_index"] == 0'
run 1 "${P[@]}" --action payments:quote --chain - "${CHAIN[@]}" --request-key Amount=5000 < "$T/quote-chain"
has "$out" 'j["allowed"] is False and j["basis"] == "default_deny"'
run 1 "${P[@]}" --action payments:refund --chain "$T/quote-chain" "${CHAIN[@]}" --request-key Amount=250
has "$out" 'j["allowed"] is False and j["basis"] == "not_covered" and "payments:refund" in j["reason"]'
run 1 "${P[@]}" --action payments:refund --chain "$T/all-chain" "${CHAIN[@]}" --request-key Amount=250
has "$out" 'j["basis"] == "explicit_deny" and j["sid"] == "NoRefunds"'
ok "policy test --chain: the minted chain's caller is allowed a quote; an uncovered capability and the Deny exit 1"

run 1 "${P[@]}" --action payments:quote --chain "$T/quote-chain" --request-key Amount=250 \
  --audience spiffe://org-a.example/tools/other --bundle "org-a.example=$T/ca/bundle.json"
has "$out" '"error" in j and "allowed" not in j'
run 1 "${P[@]}" --action payments:quote --chain "$T/quote-chain" "${CHAIN[@]}" --now $((NOW + 7200))
has "$out" '"error" in j and "allowed" not in j'
run 1 "${P[@]}" --action payments:quote --chain "$T/quote-chain" "${CHAIN[@]}" --request-key aztp:CallerId=x
[ "$(json_get "$out" error)" = invalid_argument ] || fail "aztp request key: $out"
run 2 "${P[@]}" --action payments:quote --chain "$T/quote-chain"
[ "$(json_get "$out" error)" = usage ] || fail "chain without audience: $out"
ok "policy test --chain: a chain for another audience or expired is a verification error, not a decision"

# ---- aztpd ----

expect_exit 0 "$D" init --data-dir "$T/d" --trust-domain org-a.example
KEY="$(json_get "$out" admin_api_key)"
start_aztpd "$T/d"
export AZTP_SERVER="$URL" AZTP_API_KEY="$KEY" AZTP_BUNDLE="$T/d/bundle.json"
C=(curl -sS --cacert "$T/d/bundle.pem" --max-time 10)
PAYMENTS=spiffe://org-a.example/tools/payments
run 0 "$A" identity register --id "$PAYMENTS"

run 0 "$A" policy put --name payments --description "payment rules" --document "$T/payments.json"
has "$out" "j['id'].startswith('policy:') and j['name'] == 'payments' and j['description'] == 'payment rules' and j['version'] == 1 and j['document'] == json.loads('''$CANONICAL''')"
ID="$(json_get "$out" id)"
run 1 "$A" policy put --name other --document "$T/bad_operator.json"
has "$out" 'j["error"] == "malformed" and "StringEqual" in j["message"]'
run 1 "$A" policy put --name payments --document - < "$T/v2.json"
[ "$(json_get "$out" error)" = already_exists ] || fail "same name: $out"
run 0 "$A" policy list
has "$out" "[p['id'] for p in j['policies']] == ['$ID']"
run 0 "$A" policy get "$ID"
has "$out" "j['id'] == '$ID' and j['version'] == 1 and j['attached_to'] == []"
ok "policy put creates version 1 in canonical form; an invalid document and a taken name exit 1; get and list show it"

run 0 "$A" policy put --id "$ID" --version 1 --name payments --document "$T/v2.json"
has "$out" "j['id'] == '$ID' and j['version'] == 2 and j['description'] == 'payment rules' and j['document']['Statement'][0]['Sid'] == 'AllPayments'"
run 1 "$A" policy put --id "$ID" --version 1 --name payments --document "$T/v2.json"
has "$out" 'j["error"] == "already_exists" and "is at version 2, not 1" in j["message"]'
run 2 "$A" policy put --id "$ID" --name payments --document "$T/v2.json"
[ "$(json_get "$out" error)" = usage ] || fail "--id without --version: $out"
run 0 "$A" policy get "$ID" --version 1
has "$out" "j['version'] == 1 and j['document'] == json.loads('''$CANONICAL''')"
run 0 "$A" policy get "$ID"
has "$out" 'j["version"] == 2'
run 1 "$A" policy get "$ID" --version 9
has "$out" "j['error'] == 'not_found' and j['message'].endswith('policy \"$ID\" has no version 9; its versions are 1 to 2')"
ok "policy put --id --version updates; a stale version exits 1 (409) saying which version is current; get --version reads the old one"

run 0 "$A" policy attach "$ID" --identity aztp://org-a.example/tools/payments
has "$out" "j == {'policy': '$ID', 'identity': '$PAYMENTS', 'attach': True}"
run 1 "$A" policy attach "$ID" --identity "$PAYMENTS"
[ "$(json_get "$out" error)" = already_exists ] || fail "second attach: $out"
run 0 "$A" policy list --identity "$PAYMENTS"
has "$out" "[p['id'] for p in j['policies']] == ['$ID'] and j['policies'][0]['version'] == 2"
run 0 "$A" policy get "$ID"
has "$out" "j['attached_to'] == ['$PAYMENTS']"
ok "policy attach; list --identity and get show the attachment"

# aztpd decides like `policy test` with the same document and context.
for action in payments:quote payments:refund; do
  api POST /v1/authorize "{\"identity\": \"$PAYMENTS\", \"action\": \"$action\", \"context\": $ORG_A}"
  [ "$status" = 200 ] || fail "authorize $action: $status $body"
  expect_exit "$([ "$action" = payments:quote ] && echo 0 || echo 1)" \
    "$A" policy test --policy "$T/v2.json" --action "$action" --context "$ORG_A"
  # aztpd decides with EvaluateAll, whose reason also names the policy.
  /usr/bin/python3 -c 'import json,sys; s=json.loads(sys.argv[1]); c=json.loads(sys.argv[2]); s["reason"]=s["reason"].replace(" policy 0 ", " "); sys.exit(0 if s.pop("policy_id") == sys.argv[3] and s == c else 1)' \
    "$body" "$out" "$ID" || fail "aztpd decided $body, policy test $out"
done
ok "POST /v1/authorize returns the decision of policy test (its reason naming the policy too), plus the deciding policy's ID"

run 0 "$A" policy detach "$ID" --identity "$PAYMENTS"
has "$out" "j == {'policy': '$ID', 'identity': '$PAYMENTS', 'detach': True}"
run 0 "$A" policy list --identity "$PAYMENTS"
has "$out" 'j["policies"] == []'
run 1 "$A" policy detach "$ID" --identity "$PAYMENTS"
[ "$(json_get "$out" error)" = not_found ] || fail "second detach: $out"
run 0 "$A" policy delete "$ID"
has "$out" "j == {'id': '$ID', 'deleted': True}"
run 1 "$A" policy get "$ID"
[ "$(json_get "$out" error)" = not_found ] || fail "get deleted: $out"
run 1 "$A" policy delete "$ID"
[ "$(json_get "$out" error)" = not_found ] || fail "second delete: $out"
run 0 "$A" policy list
has "$out" 'j["policies"] == []'
ok "policy detach and delete; repeating either is not_found"

run 1 "$A" policy get "policy:../apikeys"
[ "$(json_get "$out" error)" = invalid_argument ] || fail "malformed ID: $out"
expect_exit 0 "$A" apikey create --scope /tools/  # its output holds the key
SCOPED="$(json_get "$out" api_key)"
run 1 env AZTP_API_KEY="$SCOPED" "$A" policy put --name x --document "$T/v2.json"
[ "$(json_get "$out" error)" = permission_denied ] || fail "scoped put: $out"
run 1 env AZTP_API_KEY="$SCOPED" "$A" policy list
[ "$(json_get "$out" error)" = permission_denied ] || fail "scoped list: $out"
run 0 env AZTP_API_KEY="$SCOPED" "$A" policy list --identity "$PAYMENTS"
has "$out" 'j["policies"] == []'
run 3 env AZTP_SERVER=https://127.0.0.1:1 "$A" policy list
[ "$(json_get "$out" error)" = io_error ] || fail "unreachable: $out"
ok "a malformed policy ID exits 1; a scoped key lists its identity's policies but manages none; no server exits 3"

for key in "$KEY" "$SCOPED"; do
  if grep -qF -e "${key#*.}" "$T/outputs"; then fail "an API key secret was printed"; fi
done
ok "no output holds an API key secret"
done_checks
