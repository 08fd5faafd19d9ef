#!/usr/bin/env bash
# The hosted SDK's example call sequences (docs/compat.md), replayed by a
# Python client that uses only the `requests` package, as the hosted SDK
# does: the blog example (a global root, children with parentIdentity and
# linkTo, connection checks both ways) and the policy demo (verify, revoke,
# verify false with AZTP-ID-E-001, reissue, verify true).
source "$(dirname "$0")/../lib/common.sh"
D="$AZTP_BUILD/aztpd/aztpd"
[ -x "$D" ] || fail "aztpd is not built at $D"

expect_exit 0 "$D" init --data-dir "$T/data" --trust-domain org-a.example
KEY="$(json_get "$out" admin_api_key)"
start_aztpd "$T/data"

AZTP_KEY="$KEY" /usr/bin/python3 - "$URL" "$T/data/bundle.pem" <<'PY' || fail "replay"
import os, sys
import requests

base, ca = sys.argv[1] + "/astha/v1/", sys.argv[2]
session = requests.Session()
session.verify = ca
session.headers.update({"api_access_key": os.environ["AZTP_KEY"],
                        "Content-Type": "application/json"})
steps = 0

def call(method, route, body=None):
    global steps
    steps += 1
    # verify per request: a session-wide setting loses to REQUESTS_CA_BUNDLE.
    r = session.request(method, base + route, json=body, timeout=10, verify=ca)
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
print("replayed %d calls" % steps)
PY
ok "the blog example and the policy demo replay against aztpd with python requests"
if grep -q "$KEY" "$T/aztpd.log"; then fail "API key in the log"; fi
ok "the log holds no API key"
done_checks
