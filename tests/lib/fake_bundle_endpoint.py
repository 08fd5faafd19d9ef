#!/usr/bin/env python3
"""A misbehaving SPIFFE bundle endpoint for aztpd's federation fault tests.

It serves HTTPS on 127.0.0.1 with the certificate chain and key given on the
command line, and decides how to answer each connection from a mode file it
reads again for every connection, so that a test can switch behaviour
without restarting it. One mode per file (surrounding whitespace ignored):

  good:PATH             200, the content of the JSON file PATH
  garbage               200, bytes that are not JSON
  slow:SECONDS[:PATH]   wait SECONDS, then answer like good (PATH, or the
                        last bundle served)
  redirect[:PATH]       302 to /moved on this server, which answers like
                        good (PATH, or the last bundle served)
  status:CODE           that HTTP status with a small JSON error body
  huge[:PATH]           200, a JSON bundle (PATH, or the last bundle served)
                        padded with spaces to more than 1 MiB
  close                 accept the TCP connection and close it at once,
                        before any TLS
  hangup                complete TLS, read the request, close without
                        answering

Options: --cert PEM (chain, leaf first), --key PEM, --mode-file FILE,
--port-file FILE (the chosen port is written there once listening),
--port N (default 0: any), --request-log FILE (one line per request:
"MODE PATH").  Python 3 standard library only.
"""

import argparse
import http.server
import json
import os
import socket
import ssl
import sys
import threading
import time

HUGE_BYTES = (1 << 20) + (512 << 10)  # 1.5 MiB, over the 1 MiB limit


class State:
    def __init__(self, mode_file, request_log):
        self.mode_file = mode_file
        self.request_log = request_log
        self.last_good = None
        self.lock = threading.Lock()

    def mode(self):
        try:
            with open(self.mode_file, encoding="utf-8") as f:
                return f.read().strip()
        except OSError:
            return "status:503"

    def log(self, mode, path):
        if not self.request_log:
            return
        with self.lock, open(self.request_log, "a", encoding="utf-8") as f:
            f.write(f"{mode} {path}\n")

    def bundle(self, path):
        """The bytes of bundle file PATH, or of the last one served."""
        with self.lock:
            if path:
                self.last_good = path
            path = self.last_good
        if path is None:
            return b'{"keys":[]}'
        with open(path, "rb") as f:
            return f.read()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-bundle-endpoint"
    sys_version = ""

    def log_message(self, fmt, *args):  # keep the test output clean
        pass

    def handle(self):
        try:
            super().handle()
        except (OSError, ssl.SSLError):
            pass  # the client went away (slow mode after its timeout)

    def send_body(self, code, body, content_type="application/json",
                  extra=()):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self):
        state = self.server.state
        mode = state.mode()
        state.log(mode, self.path)
        kind, _, arg = mode.partition(":")
        if self.path == "/moved":
            # Only a client that follows redirects gets here.
            self.send_body(200, state.bundle(arg if kind == "redirect" else ""))
        elif kind == "good":
            self.send_body(200, state.bundle(arg))
        elif kind == "garbage":
            self.send_body(200, b"<html>\x00\xff this is not a bundle\n",
                           "application/json")
        elif kind == "slow":
            seconds, _, path = arg.partition(":")
            time.sleep(float(seconds))
            self.send_body(200, state.bundle(path))
        elif kind == "redirect":
            host, port = self.server.server_address[:2]
            self.send_body(302, b"", "text/plain",
                           [("Location", f"https://{host}:{port}/moved")])
        elif kind == "status":
            code = int(arg)
            self.send_body(code, json.dumps({"error": f"status {code}"}).encode())
        elif kind == "huge":
            body = state.bundle(arg)
            self.send_body(200, body + b" " * (HUGE_BYTES - len(body)))
        elif kind == "hangup":
            # No answer at all: drop the connection under the client.
            self.close_connection = True
            try:
                self.request.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        else:
            self.send_body(500, b'{"error":"unknown mode"}')


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, context, state):
        self.context = context
        self.state = state
        super().__init__(address, Handler)

    def finish_request(self, request, client_address):
        # Runs in the connection's own thread: TLS is set up here, so that a
        # slow or stuck client never blocks the accepting loop.
        request.settimeout(15)
        if self.state.mode() == "close":
            self.state.log("close", "-")
            request.close()
            return
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            request.close()
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        pass  # failures are the point of this server


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--mode-file", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--request-log", default="")
    args = p.parse_args()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(args.cert, args.key)

    server = Server(("127.0.0.1", args.port),
                    context, State(args.mode_file, args.request_log))
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"{server.server_address[1]}\n")
    os.replace(tmp, args.port_file)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
