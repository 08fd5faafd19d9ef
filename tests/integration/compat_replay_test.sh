#!/usr/bin/env bash
# The hosted SDK's example call sequences (docs/compat.md), replayed by a
# Python client that uses only the `requests` package, as the hosted SDK
# does: the blog example (a global root, children with parentIdentity and
# linkTo, connection checks both ways), the policy demo (verify, revoke,
# verify false with AZTP-ID-E-001, reissue, verify true, then get_policy ->
# get_policy_value(..., "code", ...) -> is_action_allowed and
# check_identity_policy_permissions, as the PayPal demo asks them) and the
# identity-flow calls of the newer SDK.
source "$(dirname "$0")/../lib/common.sh"
D="$AZTP_BUILD/aztpd/aztpd"
[ -x "$D" ] || fail "aztpd is not built at $D"

expect_exit 0 "$D" init --data-dir "$T/data" --trust-domain org-a.example
KEY="$(json_get "$out" admin_api_key)"
start_aztpd "$T/data"

AZTP_KEY="$KEY" /usr/bin/python3 - "$URL" "$T/data/bundle.pem" <<'PY' || fail "replay"
import os, sys
from urllib.parse import urlparse
import requests

root, ca = sys.argv[1], sys.argv[2]
base = root + "/astha/v1/"
session = requests.Session()
session.verify = ca
session.headers.update({"api_access_key": os.environ["AZTP_KEY"],
                        "Content-Type": "application/json"})
steps = 0

def call(method, route, body=None, params=None):
    global steps
    steps += 1
    # verify per request: a session-wide setting loses to REQUESTS_CA_BUNDLE.
    r = session.request(method, base + route, json=body, params=params, timeout=10, verify=ca)
    doc = r.json()
    assert set(doc) >= {"success", "message", "data"}, doc
    return r.status_code, doc

def secure_connect(name, is_global, parent=None, link_to=None):
    body = {"workloadId": name, "agentId": "aztp", "timestamp": "2026-11-28T12:00:00+00:00",
            "isGlobalIdentity": is_global, "method": "node",
            "metadata": {"hostname": "host-1", "environment": "production", "extra": {},
                         "trustDomain": None, "parentIdentity": parent}}
    if link_to:
        body["linkTo"] = link_to
    status, doc = call("POST", "aztp/issue-identity", body)
    assert status == 200 and doc["success"], doc
    return doc["data"]["aztpId"]

def verify(aztp_id):
    return call("POST", "aztp/verify-identity", {"aztpId": aztp_id})[1]

def connected(a, b):
    doc = call("POST", "aztp/verify-identity-for-connection", {"aztpId": a, "requestAztpId": b})[1]
    return doc["data"]["valid"]

# Blog example.
blog = secure_connect("BlogAgent-1", True)
research = secure_connect("ResearchAgent-1", False, parent=blog, link_to=[blog])
assert secure_connect("BlogAgent-1", True, link_to=[research]) == blog
storage = secure_connect("StorageService-1", False, parent=blog, link_to=[blog])
secure_connect("BlogAgent-1", True, link_to=[research, storage])
for ident in (blog, research, storage):
    assert verify(ident)["data"]["valid"] is True, ident
    name = ident.rsplit("/", 1)[1]
    status, doc = call("GET", "aztp/get-identity/" + name)
    assert status == 200 and doc["data"]["aztpId"] == ident, doc
assert call("GET", "aztp/get-identity/ResearchAgent-1")[1]["data"]["parentIdentity"] == blog
for a, b in ((research, blog), (blog, research), (blog, storage), (storage, blog)):
    assert connected(a, b), (a, b)
assert not connected(research, storage), "research and storage were never linked"

# Policy demo.
agent = secure_connect("PolicyDemoAgent", True)
assert verify(agent)["data"]["valid"] is True
status, doc = call("POST", "aztp/revoke-identity", {"aztpId": agent, "reason": "Temporary Revocation"})
assert status == 200, doc
doc = verify(agent)
assert doc["success"] is False and doc["data"]["valid"] is False, doc
assert doc["message"].startswith("AZTP-ID-E-001"), doc
status, doc = call("POST", "aztp/reissue-revoked-identity", {"aztpId": agent})
assert status == 200, doc
assert verify(agent)["data"]["valid"] is True

# The policy is authored outside the hosted API (the portal there; the
# native API with an admin key here) and attached to the demo agent. Its
# condition keys are aztp: keys (bare keys are refused, docs/compat.md).
def native(method, path, body):
    r = requests.request(method, root + path, json=body, timeout=10, verify=ca,
                         headers={"Authorization": "Bearer " + os.environ["AZTP_KEY"]})
    assert r.status_code in (200, 201), r.text
    return r.json()

native_agent = "spiffe://" + agent[len("aztp://"):]
code = native("POST", "/v1/policies", {"name": "policy-demo", "document": {
    "Version": "2025-05-12",
    "Statement": [
        {"Sid": "Users", "Effect": "Allow", "Action": ["read_user_profile", "list_users"]},
        {"Sid": "PayPal", "Effect": "Allow", "Action": "paypal_operations",
         "Condition": {"StringEquals": {"aztp:CallerTrustDomain": urlparse(agent).netloc}}},
    ]}})["id"]
native("POST", "/v1/policies/" + code + ":attach", {"identity": native_agent})

# The SDK's policy methods, as the hosted SDK implements them.
def get_policy(aztp_id):
    status, doc = call("GET", "aztp/get-identity-access-policy", params={"aztpId": aztp_id})
    assert status == 200 and doc["success"], doc
    return doc["data"]

def get_policy_value(policies, filter_key, filter_value):
    for p in policies:
        if p.get(filter_key) == filter_value:
            return p.get("policyStatement")
    return None

def is_action_allowed(policy, action):
    statements = policy["Statement"]
    for s in statements if isinstance(statements, list) else [statements]:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        if action in actions and s["Effect"] in ("Allow", "Audit"):
            return True
    return False

def check_identity_policy_permissions(aztp_id, options):
    params = {"aztpId": aztp_id}
    policy_code = options.get("policy_code") or options.get("policyCode")
    if policy_code:
        params["policy_code" if policy_code.startswith("policy:") else "policy_id"] = policy_code
    actions = options.get("actions")
    if actions:
        params["action"] = ",".join(actions) if isinstance(actions, list) else actions
    trust_domain = options.get("trust_domain") or options.get("trustDomain")
    if trust_domain:
        params["trust_domain"] = trust_domain
    status, doc = call("GET", "aztp/get-identity-action-permissions", params=params)
    assert status == 200 and doc["success"], doc
    return doc["data"]

policies = get_policy(agent)
statement = get_policy_value(policies, "code", code)
assert statement is not None, policies
assert get_policy_value(policies, "policyName", "policy-demo") == statement
assert get_policy_value(policies, "code", "policy:000000000000") is None
assert is_action_allowed(statement, "list_users")
assert not is_action_allowed(statement, "delete_user")
result = check_identity_policy_permissions(agent, {"policy_code": code,
                                                   "actions": ["list_users", "delete_user"]})
# The demo reads {"success": true, "data": {action: bool}} from the SDK.
assert result["success"] is True and result["data"] == {"list_users": True, "delete_user": False}, result

def secure_communicate(caller, action):
    # The PayPal agent's gate: the caller's trust domain decides.
    domain = urlparse(caller).netloc
    result = check_identity_policy_permissions(agent, {"policyCode": code, "actions": [action],
                                                       "trustDomain": domain})
    return result["data"][action]

assert secure_communicate(research, "paypal_operations") is True
assert secure_communicate("aztp://untrusted-domain.com/workload/production/node/x",
                          "paypal_operations") is False
status, doc = call("GET", "aztp/get-identity-action-permissions",
                   params={"aztpId": agent, "policy_code": "policy:000000000000",
                           "action": "list_users"})
assert status == 404 and doc["success"] is False, doc
assert doc["message"].startswith("AZTP-POL-E-001"), doc

# Identity flows (newer SDK): unset arguments go out as null.
status, doc = call("GET", "identity-flow/health")
assert status == 200 and doc["success"], doc
status, doc = call("POST", "identity-flow/create", {"name": "blog-flow", "description": None,
                                                   "discoverable": "public", "tags": None,
                                                   "metadata": None})
assert status == 200 and doc["success"], doc
flow = doc["data"]["_id"]
for member in (blog, research):
    status, doc = call("POST", "identity-flow/add-identity-to-flow",
                       {"identityFlowId": flow, "identity": {"aztpId": member}})
    assert status == 200 and doc["success"], doc

def verify_in_flow(aztp_id):
    return call("POST", "aztp/verify-identity", {"aztpId": aztp_id, "identityFlowId": flow})[1]

assert verify_in_flow(research)["data"]["valid"] is True
status, doc = call("POST", "aztp/revoke-identity-for-flow",
                   {"aztpId": research, "identityFlowId": flow, "reason": "flow test"})
assert status == 200 and doc["success"], doc
doc = verify_in_flow(research)
assert doc["data"]["valid"] is False and doc["message"].startswith("AZTP-FLW-E-003"), doc
assert verify(research)["data"]["valid"] is True, "revoked in the flow only"
assert verify_in_flow(blog)["data"]["valid"] is True
assert connected(research, blog), "flow revocation does not touch links"
status, doc = call("PUT", "identity-flow/update/" + flow, {"name": "blog-flow-2", "description": None,
                                                         "discoverable": None, "tags": ["blog"]})
assert status == 200 and doc["data"]["name"] == "blog-flow-2", doc
status, doc = call("POST", "identity-flow/remove-identity-from-flow",
                   {"identityFlowId": flow, "aztpId": blog})
assert status == 200 and doc["success"], doc
status, doc = call("DELETE", "identity-flow/delete/" + flow)
assert status == 200 and doc["success"], doc
assert verify_in_flow(blog)["data"]["valid"] is False
print("replayed %d calls" % steps)
PY
ok "the blog example, the policy demo and identity flows replay against aztpd with python requests"
if grep -q "$KEY" "$T/aztpd.log"; then fail "API key in the log"; fi
ok "the log holds no API key"
done_checks
