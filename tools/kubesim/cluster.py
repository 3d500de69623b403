"""Starts and stops a whole kubesim cluster in a fresh network namespace with only `lo`, so
nothing a test or a pod does can leave the machine (needs root):

    python tools/kubesim/cluster.py up DIR [--runtime process|container] [--registry-ca FILE]
                                           [-- APISERVER-ARGS]
                                                # prints DIR/kubeconfig once the API answers
    python tools/kubesim/cluster.py exec DIR -- kubectl get pods   # a command in the node netns
    python tools/kubesim/cluster.py down DIR    # stops pods, kubelet, API server; removes namespaces

The API server listens on https://127.10.0.1:6443 inside the namespace (TLS, a random
token); pods get 127.10.x.y, Services 127.11.x.y. Clients run in the namespace (`exec`).
Pods run as local processes, or with `--runtime container` as podman containers of their
images (kubelet.py); `down` removes every container the cluster made (by its label), even
those of a kubelet that died.
`--registry-ca FILE`: the kubelet's image pulls trust this CA (it goes to DIR/registry-certs,
the kubelet's `podman pull --cert-dir`), as a node trusts a private registry's CA.
"""
import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = "https://127.10.0.1:6443"


def up(directory, apiserver_args=(), runtime="process", registry_ca=None):
    os.makedirs(directory, exist_ok=True)
    kubelet_args = []
    if registry_ca:
        cert_dir = os.path.join(directory, "registry-certs")
        os.makedirs(cert_dir, exist_ok=True)
        shutil.copyfile(registry_ca, os.path.join(cert_dir, "ca.crt"))
        kubelet_args = ["--registry-cert-dir", cert_dir]
    cluster_id = secrets.token_hex(3)
    netns = f"kubesim-{cluster_id}"
    token = secrets.token_hex(16)
    cert, key = os.path.join(directory, "server.crt"), os.path.join(directory, "server.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=kubesim",
                    "-addext", "subjectAltName=IP:127.10.0.1,IP:127.0.0.1,DNS:kubernetes.default",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    subprocess.run(["ip", "netns", "add", netns], check=True)
    state = {"netns": netns, "pod_prefix": f"ksp-{cluster_id}", "cluster_id": cluster_id, "runtime": runtime,
             "pids": []}
    save(directory, state)
    # nsenter, not `ip netns exec`: the kubelet must share the host's mount namespace, where
    # `ip netns add` publishes the pods' namespaces.
    run_in = ["nsenter", f"--net=/var/run/netns/{netns}"]
    subprocess.run(run_in + [sys.executable, "-c", f"import sys; sys.path.insert(0, {HERE!r}); "
                             "import network; network.setup_node()"], check=True)
    logs = os.path.join(directory, "logs")
    port_file = os.path.join(directory, "port")
    if os.path.exists(port_file):  # an earlier cluster's: this one has not started yet
        os.remove(port_file)
    env = dict(os.environ, KUBESIM_LOG_DIR=logs)
    with open(os.path.join(directory, "apiserver.log"), "ab") as log:
        server = subprocess.Popen(run_in + [sys.executable, os.path.join(HERE, "apiserver.py"), "--host", "127.10.0.1",
                                            "--port", "6443", "--port-file", port_file, "--tls-cert", cert,
                                            "--tls-key", key, "--token", token, *apiserver_args],
                                  env=env, stdout=log, stderr=log, start_new_session=True)
    state["pids"].append(server.pid)
    save(directory, state)
    deadline = time.monotonic() + 30
    while not os.path.exists(port_file):
        if time.monotonic() > deadline or server.poll() is not None:
            down(directory)
            sys.exit("kubesim: the API server did not start (see apiserver.log)")
        time.sleep(0.05)
    with open(os.path.join(directory, "kubelet.log"), "ab") as log:
        kubelet = subprocess.Popen(run_in + [sys.executable, os.path.join(HERE, "kubelet.py"), "--server", SERVER,
                                             "--token", token, "--ca", cert, "--log-dir", logs,
                                             "--work-dir", os.path.join(directory, "work"),
                                             "--netns-prefix", state["pod_prefix"], "--runtime", runtime,
                                             "--cluster-id", cluster_id, *kubelet_args],
                                   env=env, stdout=log, stderr=log, start_new_session=True)
    state["pids"].insert(0, kubelet.pid)
    save(directory, state)
    kubeconfig = os.path.join(directory, "kubeconfig")
    with open(kubeconfig, "w") as f:
        f.write(f"""apiVersion: v1
kind: Config
clusters:
- name: kubesim
  cluster: {{server: "{SERVER}", certificate-authority: "{cert}"}}
users:
- name: admin
  user: {{token: "{token}"}}
contexts:
- name: kubesim
  context: {{cluster: kubesim, user: admin, namespace: default}}
current-context: kubesim
""")
    print(kubeconfig)


def save(directory, state):
    with open(os.path.join(directory, "state.json"), "w") as f:
        json.dump(state, f)


def down(directory):
    path = os.path.join(directory, "state.json")
    if not os.path.exists(path):
        return
    with open(path) as f:
        state = json.load(f)
    for i, pid in enumerate(state["pids"]):  # the kubelet first: it stops its pods
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + (20 if i == 0 else 5)
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            os.killpg(pid, signal.SIGKILL)
    if state.get("runtime") == "container":
        sys.path.insert(0, HERE)
        import containers
        containers.remove_cluster(state["cluster_id"])
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split("\n")
    for line in listed:
        name = line.split(" ")[0]
        if name.startswith(state["pod_prefix"] + "-") or name == state["netns"]:
            # A pod the kubelet did not stop in time (or a client left in the node) goes now.
            pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)
            shutil.rmtree(f"/etc/netns/{name}", ignore_errors=True)
    os.remove(path)


def execute(directory, argv):
    with open(os.path.join(directory, "state.json")) as f:
        state = json.load(f)
    env = dict(os.environ, KUBECONFIG=os.path.join(directory, "kubeconfig"))
    os.execvpe("nsenter", ["nsenter", f"--net=/var/run/netns/{state['netns']}", *argv], env)


def up_options(argv):
    """`up`'s own options, then the API server's arguments after `--`."""
    parser = argparse.ArgumentParser(prog="cluster.py up DIR")
    parser.add_argument("--runtime", choices=("process", "container"), default="process")
    parser.add_argument("--registry-ca", metavar="FILE")
    ours, apiserver_args = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    options = parser.parse_args(ours)
    if options.registry_ca and not os.path.isfile(options.registry_ca):
        parser.error(f"--registry-ca needs a CA certificate file, not {options.registry_ca!r}")
    return options, apiserver_args


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("up", "down", "exec"):
        sys.exit(__doc__)
    command, directory, rest = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3:]
    if command == "up":
        options, apiserver_args = up_options(rest)
        up(directory, apiserver_args, options.runtime, options.registry_ca)
    elif command == "down":
        down(directory)
    else:
        execute(directory, rest[1:] if rest[:1] == ["--"] else rest)


if __name__ == "__main__":
    main()
