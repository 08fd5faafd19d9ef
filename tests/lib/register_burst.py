"""Registers identities at aztpd as fast as one kept-alive connection
allows, until the server goes away: ID_PREFIX + w00000, w00001, ... Each
acknowledged ID is appended (and flushed) to ACKED, so that a test can
check after a crash that every acknowledged write was kept.

usage: register_burst.py HOST:PORT CAFILE ACKED ID_PREFIX [REFUSED]
(key in AZTP_KEY). With REFUSED, a 503 is counted there (one line each)
and the burst goes on: a store outage under load. With AZTP_CSR (a PEM
file), each registered identity also gets an X.509-SVID for that CSR, and
the ID of each acknowledged one is appended to ACKED.svids.
"""
import http.client
import json
import os
import ssl
import sys

host, port = sys.argv[1].rsplit(":", 1)
ctx = ssl.create_default_context(cafile=sys.argv[2])
out = open(sys.argv[3], "a")
prefix = sys.argv[4]
refused = open(sys.argv[5], "a") if len(sys.argv) > 5 else None
conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=10)
headers = {"Authorization": "Bearer " + os.environ["AZTP_KEY"],
           "Content-Type": "application/json"}
csr = open(os.environ["AZTP_CSR"]).read() if os.environ.get("AZTP_CSR") else None
svids = open(sys.argv[3] + ".svids", "a") if csr else None


def issue(ident):
    """Asks for an SVID of ident: False when the server is gone."""
    try:
        conn.request("POST", "/v1/svid/x509",
                     json.dumps({"id": ident, "csr": csr}), headers)
        resp = conn.getresponse()
        resp.read()
    except Exception:
        return False
    if resp.status != 201:
        sys.exit("unexpected status %d for an SVID" % resp.status)
    return True


i = 0
while True:
    ident = "%sw%05d" % (prefix, i)
    try:
        conn.request("POST", "/v1/identities", json.dumps({"id": ident}), headers)
        resp = conn.getresponse()
        resp.read()
    except Exception:
        break  # the server is gone
    if resp.status == 503 and refused is not None:
        refused.write(ident + "\n")
        refused.flush()
        i += 1
        continue
    if resp.status != 201:
        sys.exit("unexpected status %d" % resp.status)
    out.write(ident + "\n")
    out.flush()
    if svids is not None:
        if not issue(ident):
            break
        svids.write(ident + "\n")
        svids.flush()
    i += 1
