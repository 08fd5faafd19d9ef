#!/usr/bin/env python3
"""The README tour's payments app: plain HTTP on loopback, no keys, behind
aztp-proxy (docs/proxy.md). It trusts the Aztp-* headers because only its
proxy can reach it.

  quote_app.py PORT

  POST /quote   {"price": 120, "currency": "EUR", "caller": Aztp-Caller,
                 "subject": Aztp-Subject}
  POST /refund  {"refunded": true} (its policy never lets one through)
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/quote":
            body = {"price": 120, "currency": "EUR",
                    "caller": self.headers.get("Aztp-Caller"),
                    "subject": self.headers.get("Aztp-Subject")}
        elif self.path == "/refund":
            body = {"refunded": True}
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
