"""Runs a private container registry for the tests: Debian's `docker-registry` over TLS
(a certificate the caller made, signed by its own CA) with one htpasswd user, its storage
in DIR. It becomes the registry process (exec), so killing it stops the registry:

    python tools/kubesim/registry.py DIR --host 127.10.0.1 --cert C --key K --user U --password P

The port is chosen by the system; the registry logs it on stderr: "listening on HOST:PORT, tls".
A cluster's registry runs inside its network namespace (`cluster.py exec DIR -- python
tools/kubesim/registry.py ...`) on the node's address, which the kubelet's pulls reach.
"""
import argparse
import os
import secrets

import bcrypt

CONFIG = """version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: {storage}
http:
  addr: {host}:0
  secret: {secret}
  tls:
    certificate: {cert}
    key: {key}
auth:
  htpasswd:
    realm: kubesim-registry
    path: {htpasswd}
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", help="its configuration, htpasswd file and storage go here")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--cert", required=True, help="the server's certificate (PEM), valid for --host")
    parser.add_argument("--key", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()
    directory = os.path.abspath(args.directory)
    os.makedirs(os.path.join(directory, "storage"), exist_ok=True)
    htpasswd = os.path.join(directory, "htpasswd")
    with open(htpasswd, "w") as f:  # the registry reads bcrypt hashes only
        f.write(f"{args.user}:{bcrypt.hashpw(args.password.encode(), bcrypt.gensalt()).decode()}\n")
    config = os.path.join(directory, "config.yml")
    with open(config, "w") as f:
        f.write(CONFIG.format(storage=os.path.join(directory, "storage"), host=args.host, secret=secrets.token_hex(16),
                              cert=os.path.abspath(args.cert), key=os.path.abspath(args.key), htpasswd=htpasswd))
    os.execvp("docker-registry", ["docker-registry", "serve", config])


if __name__ == "__main__":
    main()
