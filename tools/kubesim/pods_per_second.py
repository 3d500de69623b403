"""How fast kubesim's kubelet brings pods up, in one runtime (needs root; the container
runtime needs podman and the image, scripts/base-image.sh):

    python tools/kubesim/pods_per_second.py [--runtime process|container] [--pods N] [--image IMAGE]

Brings a cluster up, creates N pods (`sleep 600`) with one `kubectl apply`, waits until
every one is Running, prints the rate, and takes the cluster down.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtime", choices=("process", "container"), default="process")
    parser.add_argument("--pods", type=int, default=20)
    parser.add_argument("--image", default="dkrun/dkrun:0.1.0")
    args = parser.parse_args()
    cluster = [sys.executable, os.path.join(HERE, "cluster.py")]
    with tempfile.TemporaryDirectory(prefix="kubesim-rate-") as directory:
        subprocess.run([*cluster, "up", directory, "--runtime", args.runtime], check=True, stdout=subprocess.DEVNULL)
        try:
            pods = "\n---\n".join(json.dumps(
                {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "labels": {"rate": "yes"}},
                 "spec": {"containers": [{"name": "main", "image": args.image, "command": ["sleep", "600"]}]}})
                for i in range(args.pods))
            kubectl = [*cluster, "exec", directory, "--", "kubectl"]
            started = time.monotonic()
            subprocess.run([*kubectl, "apply", "-f", "-"], input=pods, text=True, check=True,
                           stdout=subprocess.DEVNULL)
            subprocess.run([*kubectl, "wait", "--for=jsonpath={.status.phase}=Running", "pod", "-l", "rate=yes",
                            "--timeout=600s"], check=True, stdout=subprocess.DEVNULL)
            seconds = time.monotonic() - started
            print(f"{args.runtime}: {args.pods} pods Running in {seconds:.1f} s: {args.pods / seconds:.2f} pods/s")
        finally:
            subprocess.run([*cluster, "down", directory], check=True)


if __name__ == "__main__":
    main()
