"""A small HTTP(S) server for the HTTP client's and dk.http's tests, on 127.0.0.1 unless
--host names another address (a test cluster's node, for its pods).

Usage: python3 http_server.py PORT_FILE [CERT KEY] [--host HOST]
Writes the port it listens on to PORT_FILE, then serves until killed (GET, HEAD, POST, PUT,
DELETE; a HEAD answer has the headers of a GET and no body):
  /hello           200 "hello"
  /echo            200, JSON of the method, headers and body it received
  /repeated        200 "repeated", with the header X-Repeated twice ("one", then "two")
  /redirect        302 to /hello
  /loop            302 to itself
  /flaky/N         503 for the first N requests to that path, then 200 "recovered after M"
                   (M: the requests before this one)
  /hits/PATH       200, how many requests /PATH has had so far
  /slow            answers after 3 seconds
  /truncated       200, promises 10 bytes of body and sends 5 before closing
  /watch           200 with no length, "event 1\n" at once and "event 2\n" 3 seconds later
                   (a watch, for a client that stops reading early)
"""
import http.server
import json
import ssl
import sys
import time
from collections import Counter

hits = Counter()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Test", "yes")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        hits[self.path] += 1
        if self.path == "/hello":
            self.answer(200, "hello")
        elif self.path == "/echo":
            self.answer(200, json.dumps({"method": self.command, "body": body,
                                         "headers": {k.lower(): v for k, v in self.headers.items()}}))
        elif self.path == "/repeated":
            self.answer(200, "repeated", [("X-Repeated", "one"), ("X-Repeated", "two")])
        elif self.path == "/redirect":
            self.answer(302, "", [("Location", "/hello")])
        elif self.path == "/loop":
            self.answer(302, "", [("Location", "/loop")])
        elif self.path.startswith("/flaky/"):
            failures = int(self.path.split("/")[2])
            if hits[self.path] <= failures:
                self.answer(503, "try again")
            else:
                self.answer(200, "recovered after %d" % (hits[self.path] - 1))
        elif self.path.startswith("/hits/"):
            self.answer(200, str(hits[self.path[len("/hits"):]]))
        elif self.path == "/slow":
            time.sleep(3)
            self.answer(200, "late")
        elif self.path == "/truncated":
            self.send_response(200)
            self.send_header("Content-Length", "10")
            self.end_headers()
            self.wfile.write(b"short")
        elif self.path == "/watch":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"event 1\n")
            self.wfile.flush()
            time.sleep(3)
            self.wfile.write(b"event 2\n")
        else:
            self.answer(404, "not found")

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = handle_any


def main():
    args = sys.argv[1:]
    host = "127.0.0.1"
    if "--host" in args:
        at = args.index("--host")
        host = args[at + 1]
        del args[at:at + 2]
    server = http.server.ThreadingHTTPServer((host, 0), Handler)
    if len(args) == 3:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args[1], args[2])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(args[0] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(args[0] + ".tmp", args[0])
    server.serve_forever()


if __name__ == "__main__":
    main()
