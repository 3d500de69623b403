"""Starts a kubesim API server on 127.0.0.1 for a test, and speaks JSON to it."""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Server:
    def __init__(self, *args):
        self.dir = tempfile.TemporaryDirectory()
        port_file = os.path.join(self.dir.name, "port")
        self.process = subprocess.Popen([sys.executable, os.path.join(HERE, "apiserver.py"), "--port", "0",
                                         "--port-file", port_file, *args], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not os.path.exists(port_file):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError("kubesim did not start: " + self.process.stderr.read().decode())
            time.sleep(0.05)
        with open(port_file) as f:
            self.url = f"http://127.0.0.1:{f.read()}"

    def stop(self):
        self.process.kill()
        self.process.wait()
        self.process.stderr.close()
        self.dir.cleanup()

    def request(self, method, path, body=None, content_type="application/json", headers=None):
        """(status, decoded JSON body, response headers)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": content_type, **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null"), r.headers
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null"), e.headers

    def watch(self, path, until):
        """Watch events from `path` (a watch URL) until `until(events)` is true."""
        events = []
        with urllib.request.urlopen(self.url + path, timeout=30) as r:
            for line in r:
                events.append(json.loads(line))
                if until(events):
                    return events
        return events


def pod(name, labels=None, **spec):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [{"name": "main", "image": "python:3.11", "command": ["sleep", "1"]}], **spec}}
