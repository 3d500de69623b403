"""A small HTTP(S) server for dk.http's tests, on 127.0.0.1 only.

Usage: python3 http_server.py PORT_FILE [CERT KEY]
Writes the port it listens on to PORT_FILE, then serves until killed:
  /hello           200 "hello"
  /echo            200, JSON of the method, headers and body it received
  /redirect        302 to /hello
  /flaky/N         503 for the first N requests to that path, then 200 "recovered"
  /slow            answers after 3 seconds
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
        elif self.path == "/redirect":
            self.answer(302, "", [("Location", "/hello")])
        elif self.path.startswith("/flaky/"):
            failures = int(self.path.split("/")[2])
            if hits[self.path] <= failures:
                self.answer(503, "try again")
            else:
                self.answer(200, "recovered after %d" % (hits[self.path] - 1))
        elif self.path == "/slow":
            time.sleep(3)
            self.answer(200, "late")
        else:
            self.answer(404, "not found")

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if len(sys.argv) == 4:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[2], sys.argv[3])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
