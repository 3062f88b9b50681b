"""A static file server for tests, on 127.0.0.1 only, with HTTP Range support
and injectable faults.

usage: range_server.py ROOT [--drop-after BYTES [--drop-on K]] [--fail-first N] [--ignore-range]
                          [--no-response] [--drip SECONDS] [--shift-range] [--gzip]
                          [--trickle BYTES_PER_S] [--log FILE] [--tls CERT KEY]
  --drop-after BYTES  the first ranged GET of each file sends at most BYTES body
                      bytes, then closes the connection (a dropped transfer)
  --drop-on K         drop the K-th GET of each file (0-based, counting every
                      GET) instead, when it is ranged
  --fail-first N      the first N GETs of each file answer 503
  --ignore-range      answer every GET with 200 and the whole file
  --no-response       read the request, then never answer (until the client leaves)
  --drip SECONDS      after the headers, send one body byte every SECONDS
  --shift-range       answer a ranged GET with the bytes one past those asked for,
                      and a Content-Range saying so (a lying cache or proxy)
  --gzip              gzip the body and say so in Content-Encoding
  --gone-after N      GETs of a file after its first N answer 404 (a file removed mid-load)
  --trickle B         send the body at B bytes/s in 0.1 s slices: slow, never stalled
                      (above the client's 1 KB/s stall limit when B > 1024)
  --log FILE          append a JSON line per request: host (the Host header), path and
                      authorization (the header, or null)
  --tls CERT KEY      serve https with this certificate chain and key (PEM)
  --require-bearer T  answer 401 unless the request says "Authorization: Bearer T" (a gated model)
Always on: /redirect-same/P answers 302 to P on this server under the same host
name (127.0.0.1), /redirect-other/P answers 302 to P on this server reached as
"localhost" (another host to a client, the same server): what a Hub
resolve/ URL does when it redirects to its CDN.
Prints "PORT <n>" on stdout once listening; serves until killed.
"""
import argparse
import gzip
import json
import ssl
import os
import time
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = None
counts = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def redirect(self):
        for prefix, host in (("/redirect-same/", "127.0.0.1"), ("/redirect-other/", "localhost")):
            if self.path.startswith(prefix):
                scheme = "https" if args.tls else "http"
                port = self.server.server_address[1]
                self.send_response(302)
                self.send_header("Location", f"{scheme}://{host}:{port}/{self.path[len(prefix):]}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return True
        return False

    def do_GET(self):
        if args.log:
            line = json.dumps({"host": self.headers.get("Host"), "path": self.path,
                               "authorization": self.headers.get("Authorization")})
            with lock, open(args.log, "a") as f:
                f.write(line + "\n")
        if self.redirect():
            return
        if args.no_response:
            try:
                while self.rfile.read(1):
                    pass
            except OSError:
                pass
            return
        if args.require_bearer is not None and self.headers.get("Authorization") != f"Bearer {args.require_bearer}":
            body = b"unauthorized"
            self.send_response(401)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        path = os.path.normpath(os.path.join(args.root, self.path.split("?")[0].lstrip("/")))
        if not path.startswith(os.path.abspath(args.root)) or not os.path.isfile(path):
            body = b"not found"
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        with lock:
            n = counts.get(path, 0)
            counts[path] = n + 1
        if args.gone_after is not None and n >= args.gone_after:
            body = b"gone"
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if n < args.fail_first:
            body = b"try again"
            self.send_response(503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        size = os.path.getsize(path)
        begin, end = 0, size - 1
        m = re.match(r"bytes=(\d+)-(\d*)$", self.headers.get("Range", ""))
        ranged = bool(m) and not args.ignore_range
        if ranged:
            begin = int(m.group(1))
            end = min(int(m.group(2)) if m.group(2) else size - 1, size - 1)
            if begin >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        if ranged and args.shift_range and end + 1 < size:
            begin, end = begin + 1, end + 1
        length = end - begin + 1
        if args.gzip:
            with open(path, "rb") as f:
                f.seek(begin)
                body = gzip.compress(f.read(length))
            self.send_response(206 if ranged else 200)
            if ranged:
                self.send_header("Content-Range", f"bytes {begin}-{end}/{size}")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(206 if ranged else 200)
        if ranged:
            self.send_header("Content-Range", f"bytes {begin}-{end}/{size}")
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        limit = length
        drop_on = args.fail_first if args.drop_on is None else args.drop_on
        dropping = args.drop_after is not None and ranged and length > 1 and n == drop_on
        if dropping:
            limit = min(length, args.drop_after)
        with open(path, "rb") as f:
            f.seek(begin)
            left = limit
            while left > 0:
                if args.trickle:
                    time.sleep(0.1)
                    chunk = f.read(min(left, max(1, args.trickle // 10)))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    left -= len(chunk)
                    continue
                if args.drip:
                    time.sleep(args.drip)
                    self.wfile.flush()
                chunk = f.read(min(left, 1 if args.drip else 65536))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)
        if dropping and limit < length:
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("root")
    p.add_argument("--drop-after", type=int, default=None)
    p.add_argument("--drop-on", type=int, default=None)
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--ignore-range", action="store_true")
    p.add_argument("--no-response", action="store_true")
    p.add_argument("--drip", type=float, default=0)
    p.add_argument("--require-bearer", default=None)
    p.add_argument("--shift-range", action="store_true")
    p.add_argument("--gzip", action="store_true")
    p.add_argument("--gone-after", type=int, default=None)
    p.add_argument("--trickle", type=int, default=0)
    p.add_argument("--log", default=None)
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), default=None)
    args = p.parse_args()
    args.root = os.path.abspath(args.root)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.handle_error = lambda request, address: None  # clients that leave early are the tests' point
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls[0], args.tls[1])
        # The handshake runs in each request's thread (not in accept): a client
        # that refuses our certificate costs its own thread, not the server.
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        plain_finish = server.finish_request

        def finish_request(request, address):
            request.do_handshake()
            plain_finish(request, address)
        server.finish_request = finish_request
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
