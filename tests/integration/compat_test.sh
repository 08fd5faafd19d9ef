#!/usr/bin/env bash
# The hosted SDK's API under /astha/v1 (docs/compat.md), driven with curl
# exactly as the hosted SDK sends it: header api_access_key, Content-Type
# application/json, camelCase bodies; answers are {success, message, data}.
source "$(dirname "$0")/../lib/common.sh"
D="$AZTP_BUILD/aztpd/aztpd"
[ -x "$D" ] || fail "aztpd is not built at $D"

expect_exit 0 "$D" init --data-dir "$T/data" --trust-domain org-a.example
KEY="$(json_get "$out" admin_api_key)"
start_aztpd "$T/data"
C=(curl -sS --cacert "$T/data/bundle.pem" --max-time 10)

# sdk(METHOD ROUTE [BODY]) -> $status, $body; ROUTE is relative to /astha/v1.
sdk() {
  local method="$1" route="$2" data="${3:-}"
  local args=(-X "$method" -H "api_access_key: $KEY" -H 'Content-Type: application/json'
    -o "$T/body" -w '%{http_code}')
  [ -n "$data" ] && args+=(--data-binary "$data")
  status="$("${C[@]}" "${args[@]}" "$URL/astha/v1/$route")"
  body="$(cat "$T/body")"
}
# data_get JSON KEY: a member of the envelope's data.
data_get() {
  /usr/bin/python3 -c 'import json,sys; v=json.loads(sys.argv[1])["data"][sys.argv[2]]; print(json.dumps(v) if isinstance(v,(bool,dict,list)) or v is None else v)' "$1" "$2"
}
code() { json_get "$1" message | cut -d' ' -f1; }

issue() {  # issue NAME [EXTRA-METADATA] [EXTRA-MEMBERS]
  sdk POST aztp/issue-identity "{\"workloadId\":\"$1\",\"agentId\":\"aztp\",\"timestamp\":\"2026-11-28T12:00:00+00:00\",\"isGlobalIdentity\":false,\"method\":\"node\",\"metadata\":{\"hostname\":\"host-1\",\"environment\":\"production\",\"extra\":{},\"trustDomain\":null,\"parentIdentity\":null${2:-}}${3:-}}"
}
ID_PREFIX=aztp://org-a.example/workload/production/node

# Authentication: the hosted header, nothing else.
status="$("${C[@]}" -o "$T/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  --data-binary '{"aztpId":"x"}' "$URL/astha/v1/aztp/verify-identity")"
body="$(cat "$T/body")"
[ "$status" = 401 ] && [ "$(json_get "$body" success)" = False ] && [ "$(code "$body")" = AZTP-AUTH-E-001 ] ||
  fail "missing key: $status $body"
status="$("${C[@]}" -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $KEY" "$URL/astha/v1/aztp/discoverable")"
[ "$status" = 401 ] || fail "Authorization instead of api_access_key: $status"
sdk GET aztp/discoverable?discoverable=True
[ "$status" = 200 ] && [ "$(json_get "$body" success)" = True ] || fail "discoverable: $status $body"
ok "api_access_key is required; answers are envelopes"

issue policy-demo-agent
[ "$status" = 200 ] && [ "$(code "$body")" = AZTP-ID-S-001 ] || fail "issue: $status $body"
AGENT="$ID_PREFIX/policy-demo-agent"
[ "$(data_get "$body" aztpId)" = "$AGENT" ] || fail "aztpId: $body"
[ "$(data_get "$body" valid)" = true ] || fail "valid: $body"
[ "$(json_get "$(data_get "$body" workloadInfo)" workloadId)" = policy-demo-agent ] || fail "workloadInfo: $body"
"${C[@]}" -H "Authorization: Bearer $KEY" \
  "$URL/v1/identities/org-a.example/workload/production/node/policy-demo-agent" | grep -q '"status":"active"' ||
  fail "native view of the issued identity"
issue policy-demo-agent
[ "$status" = 200 ] && [ "$(data_get "$body" aztpId)" = "$AGENT" ] || fail "re-issue: $status $body"
ok "issue-identity registers aztp://<td>/workload/<env>/node/<name> once"

sdk GET aztp/get-identity/policy-demo-agent
[ "$status" = 200 ] && [ "$(code "$body")" = WI-FND-S-001 ] && [ "$(data_get "$body" aztpId)" = "$AGENT" ] ||
  fail "get-identity/{name}: $status $body"
sdk GET "aztp/get-identity/?agentName=policy-demo-agent"
[ "$status" = 200 ] && [ "$(data_get "$body" aztpId)" = "$AGENT" ] || fail "get-identity?agentName: $status $body"
sdk GET aztp/get-identity/nobody
[ "$status" = 404 ] && [ "$(code "$body")" = AZTP-ID-E-002 ] || fail "unknown name: $status $body"
ok "get-identity by path and by agentName"

# The policy demo: verify -> revoke -> verify false -> reissue -> verify true.
sdk POST aztp/verify-identity "{\"aztpId\":\"$AGENT\"}"
[ "$(json_get "$body" success)" = True ] && [ "$(data_get "$body" valid)" = true ] || fail "verify: $body"
sdk POST aztp/revoke-identity "{\"aztpId\":\"$AGENT\",\"reason\":\"policy demo\"}"
[ "$status" = 200 ] && [ "$(data_get "$body" status)" = revoked ] || fail "revoke: $status $body"
sdk POST aztp/verify-identity "{\"aztpId\":\"$AGENT\"}"
[ "$(json_get "$body" success)" = False ] && [ "$(data_get "$body" valid)" = false ] ||
  fail "verify after revoke: $body"
[ "$(json_get "$body" message)" = "AZTP-ID-E-001 - Identity has been revoked" ] || fail "message: $body"
"${C[@]}" "$URL/v1/revocations" | grep -q "spiffe://org-a.example/workload/production/node/policy-demo-agent" ||
  fail "revocation list"
sdk POST aztp/reissue-revoked-identity "{\"aztpId\":\"$AGENT\"}"
[ "$status" = 200 ] && [ "$(data_get "$body" status)" = active ] || fail "reissue: $status $body"
sdk POST aztp/verify-identity "{\"aztpId\":\"$AGENT\"}"
[ "$(data_get "$body" valid)" = true ] || fail "verify after reissue: $body"
ok "verify, revoke, verify false with AZTP-ID-E-001, reissue, verify true"

issue search-tool
TOOL="$ID_PREFIX/search-tool"
PAIR="{\"aztpId\":\"$AGENT\",\"requestAztpId\":\"$TOOL\"}"
sdk POST aztp/verify-identity-for-connection "$PAIR"
[ "$(data_get "$body" valid)" = false ] || fail "unlinked connection: $body"
sdk POST aztp/create-workload-identity-link \
  "{\"sourceIdentity\":\"$AGENT\",\"targetIdentity\":\"$TOOL\",\"relationshipType\":\"linked\",\"metadata\":{\"purpose\":\"search\"}}"
[ "$status" = 200 ] && [ "$(data_get "$body" relationshipType)" = linked ] || fail "link: $status $body"
sdk POST aztp/verify-identity-for-connection "$PAIR"
[ "$(data_get "$body" valid)" = true ] || fail "linked connection: $body"
sdk POST aztp/authorize-connection-with-identities "{\"aztpId\":\"$TOOL\",\"requestAztpId\":\"$AGENT\"}"
[ "$(data_get "$body" valid)" = true ] || fail "authorize: $body"
issue child-tool "" ",\"linkTo\":[\"$AGENT\"]"
[ "$status" = 200 ] || fail "issue with linkTo: $status $body"
sdk POST aztp/verify-identity-for-connection "{\"aztpId\":\"$AGENT\",\"requestAztpId\":\"$ID_PREFIX/child-tool\"}"
[ "$(data_get "$body" valid)" = true ] || fail "linkTo connection: $body"
ok "links: create-workload-identity-link, linkTo, connection checks"

sdk GET aztp/discoverable?discoverable=True
/usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1])["data"]; assert len(d)==3 and all(i["aztpId"].startswith("aztp://") for i in d), d' "$body" ||
  fail "discoverable list: $body"
sdk GET "aztp/discover-with-trust-domain?trustDomain=org-a.example&aztpId=$AGENT"
[ "$status" = 200 ] || fail "discover-with-trust-domain: $status $body"
sdk GET "aztp/discover-with-trust-domain?trustDomain=other.example&aztpId=$AGENT"
[ "$status" = 404 ] && [ "$(json_get "$body" success)" = False ] || fail "other trust domain: $status $body"
ok "discovery"

# Policies: stored and attached through the native API (admin key), read
# and evaluated through the hosted routes.
native() {  # native METHOD PATH [BODY] -> $status, $body
  local args=(-X "$1" -H "Authorization: Bearer $KEY" -o "$T/body" -w '%{http_code}')
  [ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
  status="$("${C[@]}" "${args[@]}" "$URL$2")"
  body="$(cat "$T/body")"
}
NATIVE_AGENT=spiffe://org-a.example/workload/production/node/policy-demo-agent
NATIVE_TOOL=spiffe://org-a.example/workload/production/node/search-tool
native POST /v1/policies '{"name":"policy-demo","description":"the policy demo","document":{"Version":"2025-05-12","Statement":[{"Sid":"Users","Effect":"Allow","Action":["read_user_profile","list_users"]},{"Sid":"PayPal","Effect":"Allow","Action":"paypal_operations","Condition":{"StringEquals":{"aztp:CallerTrustDomain":"org-a.example"}}}]}}'
[ "$status" = 201 ] || fail "native policy: $status $body"
POLICY="$(json_get "$body" id)"
[[ "$POLICY" =~ ^policy:[0-9a-f]{12}$ ]] || fail "policy id: $POLICY"
native POST "/v1/policies/$POLICY:attach" "{\"identity\":\"$NATIVE_AGENT\"}"
[ "$status" = 200 ] || fail "attach: $status $body"
sdk GET "aztp/get-identity-access-policy?aztpId=$AGENT"
[ "$status" = 200 ] && [ "$(code "$body")" = AZTP-POL-S-001 ] || fail "get-identity-access-policy: $status $body"
/usr/bin/python3 -c '
import json, sys
d = json.loads(sys.argv[1])["data"]
assert len(d) == 1, d
p = d[0]
assert p["code"] == sys.argv[2] and p["policyName"] == "policy-demo", p
assert p["policyStatement"]["Statement"][0]["Action"] == ["read_user_profile", "list_users"], p
' "$body" "$POLICY" || fail "policy list: $body"
sdk GET "aztp/get-identity-access-policy?aztpId=$ID_PREFIX/nobody"
[ "$status" = 404 ] && [ "$(code "$body")" = AZTP-ID-E-002 ] || fail "policies of nobody: $status $body"
sdk GET "aztp/get-identity-action-permissions?aztpId=$AGENT&policy_code=$POLICY&action=list_users,delete_user"
[ "$status" = 200 ] && [ "$(code "$body")" = AZTP-POL-S-002 ] || fail "permissions: $status $body"
[ "$(data_get "$body" data)" = '{"list_users": true, "delete_user": false}' ] || fail "permissions map: $body"
sdk GET "aztp/get-identity-action-permissions?aztpId=$AGENT&policy_code=$POLICY&action=paypal_operations&trust_domain=org-a.example"
[ "$(data_get "$body" data)" = '{"paypal_operations": true}' ] || fail "trust_domain allowed: $body"
sdk GET "aztp/get-identity-action-permissions?aztpId=$AGENT&policy_code=$POLICY&action=paypal_operations&trust_domain=untrusted-domain.com"
[ "$(data_get "$body" data)" = '{"paypal_operations": false}' ] || fail "trust_domain denied: $body"
sdk GET "aztp/get-identity-action-permissions?aztpId=$AGENT&policy_id=$POLICY&action=read_user_profile"
[ "$(data_get "$body" data)" = '{"read_user_profile": true}' ] || fail "policy_id: $body"
sdk GET "aztp/get-identity-action-permissions?aztpId=$AGENT&policy_code=policy:000000000000&action=list_users"
[ "$status" = 404 ] && [ "$(code "$body")" = AZTP-POL-E-001 ] || fail "unattached policy: $status $body"
sdk GET "aztp/get-identity-action-permissions?aztpId=$AGENT"
[ "$status" = 400 ] && [ "$(code "$body")" = AZTP-REQ-E-001 ] || fail "no action: $status $body"
ok "get-identity-access-policy and get-identity-action-permissions"

# Connections with policyCode: the policy of the identity connected to must
# allow "connect" for the caller.
native POST /v1/policies "{\"name\":\"search-callers\",\"document\":{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"connect\",\"Condition\":{\"StringEquals\":{\"aztp:CallerId\":\"$NATIVE_AGENT\",\"aztp:CallerTrustDomain\":\"org-a.example\"}}}}}"
[ "$status" = 201 ] || fail "native connect policy: $status $body"
CONNECT="$(json_get "$body" id)"
native POST "/v1/policies/$CONNECT:attach" "{\"identity\":\"$NATIVE_TOOL\"}"
[ "$status" = 200 ] || fail "attach connect policy: $status $body"
sdk POST aztp/authorize-connection-with-identities "{\"aztpId\":\"$AGENT\",\"requestAztpId\":\"$TOOL\",\"policyCode\":\"$CONNECT\"}"
[ "$status" = 200 ] && [ "$(data_get "$body" valid)" = true ] || fail "connection allowed by policy: $status $body"
sdk POST aztp/authorize-connection-with-identities "{\"aztpId\":\"$ID_PREFIX/child-tool\",\"requestAztpId\":\"$AGENT\",\"policyCode\":\"$CONNECT\"}"
[ "$(data_get "$body" valid)" = false ] && [ "$(code "$body")" = AZTP-POL-E-001 ] || fail "policy of another identity: $body"
sdk POST aztp/create-workload-identity-link "{\"sourceIdentity\":\"$ID_PREFIX/child-tool\",\"targetIdentity\":\"$TOOL\"}"
[ "$status" = 200 ] || fail "link child-tool: $status $body"
sdk POST aztp/authorize-connection-with-identities "{\"aztpId\":\"$ID_PREFIX/child-tool\",\"requestAztpId\":\"$TOOL\",\"policyCode\":\"$CONNECT\"}"
[ "$(data_get "$body" valid)" = false ] && [ "$(code "$body")" = AZTP-POL-E-002 ] || fail "connection denied by policy: $body"
sdk POST aztp/verify-identity-for-connection "{\"aztpId\":\"$ID_PREFIX/child-tool\",\"requestAztpId\":\"$TOOL\"}"
[ "$(data_get "$body" valid)" = true ] || fail "the link alone still connects: $body"
ok "authorize-connection-with-identities with policyCode"

# Identity flows.
sdk GET identity-flow/health
[ "$status" = 200 ] && [ "$(code "$body")" = AZTP-FLW-S-007 ] || fail "flow health: $status $body"
sdk POST identity-flow/create '{"name":"demo-flow","discoverable":"private","description":"the demo","tags":["demo"],"metadata":{"astha-flow":{"id":"f-1","folderId":"d-1"}}}'
[ "$status" = 200 ] && [ "$(code "$body")" = AZTP-FLW-S-001 ] || fail "create flow: $status $body"
FLOW="$(data_get "$body" _id)"
[[ "$FLOW" =~ ^flow_[0-9a-f]{24}$ ]] || fail "flow _id: $body"
[ "$(data_get "$body" discoverable)" = private ] || fail "flow record: $body"
"${C[@]}" -H "Authorization: Bearer $KEY" "$URL/v1/flows/$FLOW" | grep -q '"name":"demo-flow"' ||
  fail "native view of the flow"
sdk PUT "identity-flow/update/$FLOW" '{"name":"demo-flow-2","tags":["demo","v2"]}'
[ "$status" = 200 ] && [ "$(code "$body")" = AZTP-FLW-S-002 ] && [ "$(data_get "$body" name)" = demo-flow-2 ] ||
  fail "update flow: $status $body"
for who in "$AGENT" "$TOOL"; do
  sdk POST identity-flow/add-identity-to-flow "{\"identityFlowId\":\"$FLOW\",\"identity\":{\"aztpId\":\"$who\"}}"
  [ "$status" = 200 ] && [ "$(code "$body")" = AZTP-FLW-S-004 ] || fail "add to flow: $status $body"
done
sdk POST aztp/verify-identity "{\"aztpId\":\"$AGENT\",\"identityFlowId\":\"$FLOW\"}"
[ "$(data_get "$body" valid)" = true ] || fail "verify in flow: $body"
sdk POST aztp/revoke-identity-for-flow "{\"aztpId\":\"$AGENT\",\"identityFlowId\":\"$FLOW\",\"reason\":\"flow demo\"}"
[ "$status" = 200 ] && [ "$(code "$body")" = AZTP-FLW-S-006 ] && [ "$(data_get "$body" status)" = revoked ] ||
  fail "revoke in flow: $status $body"
sdk POST aztp/verify-identity "{\"aztpId\":\"$AGENT\",\"identityFlowId\":\"$FLOW\"}"
[ "$status" = 200 ] && [ "$(data_get "$body" valid)" = false ] && [ "$(code "$body")" = AZTP-FLW-E-003 ] ||
  fail "verify in flow after revoke: $status $body"
sdk POST aztp/verify-identity "{\"aztpId\":\"$AGENT\"}"
[ "$(data_get "$body" valid)" = true ] || fail "still valid outside the flow: $body"
sdk POST aztp/verify-identity "{\"aztpId\":\"$TOOL\",\"identityFlowId\":\"$FLOW\"}"
[ "$(data_get "$body" valid)" = true ] || fail "other member unaffected: $body"
sdk POST identity-flow/remove-identity-from-flow "{\"identityFlowId\":\"$FLOW\",\"aztpId\":\"$TOOL\"}"
[ "$status" = 200 ] && [ "$(code "$body")" = AZTP-FLW-S-005 ] || fail "remove from flow: $status $body"
sdk POST aztp/verify-identity "{\"aztpId\":\"$TOOL\",\"identityFlowId\":\"$FLOW\"}"
[ "$(data_get "$body" valid)" = false ] && [ "$(code "$body")" = AZTP-FLW-E-002 ] || fail "removed member: $body"
sdk POST identity-flow/add-identity-to-flow "{\"identityFlowId\":\"$FLOW\",\"identity\":{\"aztpId\":\"$ID_PREFIX/nobody\"}}"
[ "$status" = 404 ] && [ "$(code "$body")" = AZTP-ID-E-002 ] || fail "add unknown identity: $status $body"
sdk DELETE "identity-flow/delete/$FLOW"
[ "$status" = 200 ] && [ "$(code "$body")" = AZTP-FLW-S-003 ] || fail "delete flow: $status $body"
sdk DELETE "identity-flow/delete/$FLOW"
[ "$status" = 404 ] && [ "$(code "$body")" = AZTP-FLW-E-001 ] || fail "delete again: $status $body"
sdk POST aztp/verify-identity "{\"aztpId\":\"$AGENT\",\"identityFlowId\":\"$FLOW\"}"
[ "$(data_get "$body" valid)" = false ] && [ "$(code "$body")" = AZTP-FLW-E-001 ] || fail "verify in deleted flow: $body"
ok "identity flows: health, create, update, add, verify in flow, revoke in flow, remove, delete"

sdk POST aztp/issue-identity '{"workloadId":'
[ "$status" = 400 ] && [ "$(code "$body")" = AZTP-REQ-E-001 ] || fail "malformed: $status $body"
sdk POST aztp/issue-identity '{"workloadId":7}'
[ "$status" = 400 ] || fail "wrong type: $status $body"
sdk POST aztp/issue-identity '{"workloadId":"x","metadata":{"trustDomain":"elsewhere.example"}}'
[ "$status" = 400 ] && [ "$(code "$body")" = AZTP-ID-E-004 ] || fail "foreign trust domain: $status $body"
sdk POST oiap/evaluate "{\"aztp_id\":\"$AGENT\",\"requested_resource\":\"user_list\",\"user_id\":\"u1\"}"
[ "$status" = 501 ] && [ "$(code "$body")" = AZTP-API-E-501 ] || fail "oiap: $status $body"
# OIDC logins are aztpd's own (docs/oidc.md); without a registered return
# URL the hosted login is refused as bad input.
sdk POST oidc/provider "{\"provider\":\"google\",\"agent\":\"$AGENT\",\"stateless\":true}"
[ "$status" = 400 ] && [ "$(code "$body")" = AZTP-REQ-E-001 ] || fail "oidc: $status $body"
sdk GET aztp/nothing-here
[ "$status" = 404 ] && [ "$(code "$body")" = AZTP-API-E-404 ] || fail "unknown route: $status $body"
"${C[@]}" "$URL/healthz" | grep -q '"ok"' || fail "native API still served"
! grep -q "$KEY" "$T/aztpd.log" || fail "the key appears in the log"
grep -q '"/astha/v1/aztp/verify-identity"\|path=/astha/v1/aztp/verify-identity' "$T/aztpd.log" || fail "access log"
ok "bad input is an envelope error, OIAP is 501, a hosted login without a registered return URL is 400; keys stay out of the log"

done_checks
