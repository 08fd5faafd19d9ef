#!/usr/bin/env python3
"""Two of the demo's agents: small plain-HTTP apps that hold no keys. Each
sits behind its own aztp-proxy, receives requests from it (with the
verified caller in Aztp-* headers) and calls the next agent through the
proxy's egress port (docs/proxy.md).

  demo_agent.py --role planner|research --port-file FILE
                [--port N] [--egress-ready FILE --next-id SPIFFE_ID
                 --next-url URL] [--provider NAME --capabilities CAP,...]

  planner   POST /login: starts a person's login at its proxy (which asks
            org-a's aztpd) and answers where to send the browser;
            GET /login/done?token=...&state=...: where the browser comes
            back, with the one-time result of the login, kept for the
            next /plan if the state is this app's;
            POST /plan {"item", "act_for"?}: asks research, for the person
            who signed in (the proxy redeems the login result and starts
            the chain from her), else as itself (a root minted by
            planner's proxy); "act_for" names a person in Aztp-Subject,
            which the proxy refuses
  research  POST /research: asks payments for a quote and, to show the
            policy, for a refund, in the same transaction

(The third, payments, is an MCP server that also answers POST /quote and
/refund: tests/mcp/mcp_agent.mjs.)
"""
import argparse
import http.client
import json
import os
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
# The planner's one user session: the login's state while it runs, then its
# one-time result (demo: one user at a time).
SESSION = {}
PORT = 0


def seen(headers):
    return {k: v for k, v in headers.items() if k.lower().startswith("aztp-")}


def to_proxy(target, body, headers):
    """POSTs to this agent's egress port; returns the response."""
    # The proxy's --ready-file names its egress port (read at each call:
    # the proxy may start after this app).
    with open(ARGS.egress_ready) as f:
        egress = json.load(f)["egress_port"]
    conn = http.client.HTTPConnection("127.0.0.1", egress, timeout=20)
    conn.request("POST", target, json.dumps(body),
                 dict({"Content-Type": "application/json"}, **headers))
    return conn


def call(path, body, extra):
    """POSTs to the next agent through the egress port; (status, JSON)."""
    conn = to_proxy(ARGS.next_url + path, body,
                    dict({"Aztp-Target": ARGS.next_id}, **extra))
    r = conn.getresponse()
    data = r.read()
    conn.close()
    try:
        return r.status, json.loads(data)
    except ValueError:
        return r.status, {"raw": data.decode("utf-8", "replace")}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if ARGS.role == "planner" and url.path == "/login/done":
            q = dict(urllib.parse.parse_qsl(url.query))
            # The result is this session's only with the login's state (no
            # login CSRF); the proxy checks it again when it redeems.
            if q.get("state") != SESSION.get("state") or "token" not in q:
                return self.answer(400, {"error": q.get("error", "state")})
            SESSION["result"] = q["token"]
            return self.answer(200, {"signed_in": True})
        return self.answer(404, {"error": "no such route"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(n) or b"{}")
        role, path = ARGS.role, self.path
        if role == "planner" and path == "/login":
            conn = to_proxy("/aztp/login", {
                "provider": ARGS.provider,
                "return_url": "http://127.0.0.1:%d/login/done" % PORT,
                "capabilities": ARGS.capabilities.split(",")}, {})
            r = conn.getresponse()
            started = json.loads(r.read())
            conn.close()
            if r.status != 200:
                return self.answer(r.status, started)
            SESSION.clear()
            SESSION["state"] = started["state"]
            return self.answer(200, {"redirect_url": started["redirect_url"]})
        if role == "planner" and path == "/plan":
            # Who the chain acts for is never the app's to say (protocol
            # §5.3): "act_for" lets the demo show that attempt refused. A
            # person who signed in is vouched for by the control plane: the
            # app hands the login's one-time result to its proxy, once.
            extra = {}
            if body.get("act_for"):
                extra["Aztp-Subject"] = body["act_for"]
            elif SESSION.get("result"):
                extra["Aztp-Login"] = SESSION.pop("result")
                extra["Aztp-Login-State"] = SESSION["state"]
            status, research = call("/research", {"item": body.get("item")},
                                    extra)
            return self.answer(200, {"research_status": status,
                                     "research": research})
        if role == "research" and path == "/research":
            txn = {"Aztp-Txn": self.headers.get("Aztp-Txn", "")}
            q_status, quote = call("/quote", {"item": body.get("item")}, txn)
            r_status, refund = call("/refund", {"item": body.get("item")}, txn)
            return self.answer(200, {"seen": seen(self.headers),
                                     "quote_status": q_status, "quote": quote,
                                     "refund_status": r_status,
                                     "refund": refund})
        return self.answer(404, {"error": "no such route"})


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--role", required=True,
                   choices=["planner", "research"])
    p.add_argument("--port-file", required=True)
    p.add_argument("--egress-ready", default="")
    p.add_argument("--next-id", default="")
    p.add_argument("--next-url", default="")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--provider", default="")
    p.add_argument("--capabilities", default="")
    ARGS = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    global PORT
    PORT = server.server_address[1]
    server.daemon_threads = True
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
