#!/usr/bin/env python3
"""A small plain-HTTP app for proxy tests and the demo.

  echo_app.py --port-file FILE [--name NAME]

Every answer is JSON about the request it got, so that tests can see what
reached the app through aztp-proxy:
  any path        {"app", "method", "path", "headers" (the Aztp-* ones),
                   "body_bytes", "body_sha256"}; the body is read in chunks
                   and hashed, never held whole
  GET /big?n=N    N bytes of a fixed pattern, sent chunked (streamed)
  GET /status/C   an answer with status C
  GET /sleep/S    the usual answer, after S seconds
"""
import argparse
import hashlib
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PATTERN = bytes(range(256)) * 256  # 64 KiB


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    app_name = "app"

    def log_message(self, fmt, *args):
        pass

    def _read_body(self):
        h = hashlib.sha256()
        n = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                left = size
                while left:
                    part = self.rfile.read(min(left, 65536))
                    h.update(part)
                    n += len(part)
                    left -= len(part)
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left:
                part = self.rfile.read(min(left, 65536))
                if not part:
                    break
                h.update(part)
                n += len(part)
                left -= len(part)
        return n, h.hexdigest()

    def _answer(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self):
        n, digest = self._read_body()
        url = urlsplit(self.path)
        if self.command == "GET" and url.path == "/big":
            total = int(parse_qs(url.query).get("n", ["0"])[0])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            left = total
            while left:
                part = PATTERN[: min(left, len(PATTERN))]
                self.wfile.write(b"%x\r\n" % len(part) + part + b"\r\n")
                left -= len(part)
            self.wfile.write(b"0\r\n\r\n")
            return
        status = 200
        if url.path.startswith("/sleep/"):
            time.sleep(float(url.path.split("/")[2]))
        if url.path.startswith("/status/"):
            status = int(url.path.split("/")[2])
        headers = {k: v for k, v in self.headers.items()
                   if k.lower().startswith("aztp-")}
        self._answer(status, {
            "app": self.app_name,
            "method": self.command,
            "path": url.path,
            "headers": headers,
            "body_bytes": n,
            "body_sha256": digest,
        })

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--name", default="app")
    a = p.parse_args()
    Handler.app_name = a.name
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, a.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
