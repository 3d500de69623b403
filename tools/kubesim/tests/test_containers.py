"""The kubelet's container runtime (`cluster.py up --runtime container`) with real podman and
dkrun's base image, checked with the real kubectl. Needs root, podman, and the image
(scripts/base-image.sh); skipped without them."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import containers

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE = "dkrun/dkrun:0.1.0"


def available():
    if os.geteuid() != 0 or not shutil.which("podman") or not shutil.which("kubectl"):
        return False
    return containers.podman("image", "exists", IMAGE, check=False).returncode == 0


def labelled(label):
    """The names of the containers carrying this label (KEY=VALUE), running or not."""
    return containers.podman("ps", "--all", "--filter", f"label={label}", "--format", "{{.Names}}").stdout.split()


class Cluster:
    """A kubesim cluster whose pods are containers, in a temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="kubesim-containers-")
        subprocess.run([sys.executable, os.path.join(HERE, "cluster.py"), "up", self.dir, "--runtime", "container"],
                       check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(self.dir, "state.json")) as f:
            self.state = json.load(f)

    def kubectl(self, *args, stdin=None, check=True):
        done = subprocess.run([sys.executable, os.path.join(HERE, "cluster.py"), "exec", self.dir, "--", "kubectl",
                               *args], input=stdin, capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {done.stderr}")
        return done.stdout

    def apply(self, manifest):
        self.kubectl("apply", "-f", "-", stdin=json.dumps(manifest))

    def wait(self, pod, jsonpath, value):
        self.kubectl("wait", f"--for=jsonpath={{{jsonpath}}}={value}", f"pod/{pod}", "--timeout=90s")

    def pod(self, name):
        return json.loads(self.kubectl("get", "pod", name, "-o", "json"))

    def events(self, pod):
        """The pod's events' (reason, message), oldest first."""
        listed = json.loads(self.kubectl("get", "events", "-o", "json"))["items"]
        mine = [e for e in listed if e["involvedObject"]["name"] == pod]
        return [(e["reason"], e["message"]) for e in sorted(mine, key=lambda e: int(e["metadata"]["resourceVersion"]))]

    def down(self):
        subprocess.run([sys.executable, os.path.join(HERE, "cluster.py"), "down", self.dir], check=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def pod(name, container, restart="Never", volumes=()):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"restartPolicy": restart, "volumes": list(volumes),
                     "containers": [{"name": "main", "image": IMAGE, **container}]}}


@unittest.skipUnless(available(), f"needs root, podman, kubectl and {IMAGE} (scripts/base-image.sh)")
class ContainerRuntimeTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.down()
        left = labelled(f"{containers.CLUSTER_LABEL}={cls.cluster.state['cluster_id']}")
        if left:
            raise AssertionError(f"containers left after down: {left}")

    def test_the_image_runs_its_command_or_its_own(self):
        c = self.cluster
        c.apply(pod("version", {"command": ["dkrun", "--version"]}))
        c.apply(pod("default", {}))  # the image's cmd: dkrun --help
        for name in ("version", "default"):
            c.wait(name, ".status.phase", "Succeeded")
        self.assertEqual(c.kubectl("logs", "version").strip(), "0.1.0")
        self.assertIn("dkrun", c.kubectl("logs", "default"))
        status = c.pod("version")["status"]["containerStatuses"][0]
        self.assertEqual(status["state"]["terminated"]["reason"], "Completed")
        self.assertEqual(status["state"]["terminated"]["exitCode"], 0)

    def test_env_volumes_hostname_hosts_and_limits(self):
        c = self.cluster
        c.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                 "stringData": {"password": "hunter2"}})
        c.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
                 "data": {"flow.lua": "-- a flow"}})
        c.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "sched"},
                 "spec": {"selector": {"app": "none"}, "ports": [{"port": 8786}]}})
        script = ("echo env=$GREETING/$PASSWORD/$POD; cat /etc/secret/password; echo; cat /etc/flows/flow.lua; echo; "
                  "echo x > /scratch/f && echo scratch=$(cat /scratch/f); echo host=$(hostname); "
                  "grep -c sched.default /etc/hosts; "
                  "cat /var/run/secrets/kubernetes.io/serviceaccount/namespace; echo; "
                  "echo mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes); "
                  "echo cpu=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)/$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us); "
                  "exit 3")
        c.apply(pod("env", {
            "command": ["sh", "-c", script],
            "env": [{"name": "GREETING", "value": "hello"},
                    {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "password"}}},
                    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            "volumeMounts": [{"name": "secret", "mountPath": "/etc/secret"},
                             {"name": "flows", "mountPath": "/etc/flows"},
                             {"name": "scratch", "mountPath": "/scratch"}],
            "resources": {"limits": {"memory": "128Mi", "cpu": "500m"}}},
            volumes=[{"name": "secret", "secret": {"secretName": "s"}},
                     {"name": "flows", "configMap": {"name": "cm"}},
                     {"name": "scratch", "emptyDir": {}}]))
        c.wait("env", ".status.phase", "Failed")
        self.assertEqual(c.kubectl("logs", "env").split("\n"), [
            "env=hello/hunter2/env", "hunter2", "-- a flow", "scratch=x", "host=env", "1", "default",
            f"mem={128 * 2 ** 20}", "cpu=50000/100000", ""])
        terminated = c.pod("env")["status"]["containerStatuses"][0]["state"]["terminated"]
        self.assertEqual((terminated["reason"], terminated["exitCode"]), ("Error", 3))

    def test_a_container_over_its_memory_limit_is_oom_killed(self):
        c = self.cluster
        c.apply(pod("oom", {"command": ["python", "-c", "b = bytearray(200 * 2 ** 20)"],
                            "resources": {"limits": {"memory": "64Mi"}}}))
        c.wait("oom", ".status.phase", "Failed")
        terminated = c.pod("oom")["status"]["containerStatuses"][0]["state"]["terminated"]
        self.assertEqual((terminated["reason"], terminated["exitCode"]), ("OOMKilled", 137))
        self.assertIn("OOMKilling", [reason for reason, _ in c.events("oom")])

    def test_an_image_that_cannot_be_pulled(self):
        c = self.cluster
        image = "localhost:1/kubesim/missing:1"
        c.apply(pod("missing", {"image": image, "command": ["true"]}))
        c.wait("missing", ".status.containerStatuses[0].state.waiting.reason", "ImagePullBackOff")
        events = c.events("missing")
        failed = [i for i, (reason, message) in enumerate(events)
                  if reason == "Failed" and message.startswith(f'Failed to pull image "{image}": ')]
        backoff = [i for i, e in enumerate(events) if e == ("BackOff", f'Back-off pulling image "{image}"')]
        self.assertTrue(failed and backoff and failed[0] < backoff[0], events)
        self.assertEqual(labelled(f"{containers.POD_LABEL}={c.pod('missing')['metadata']['uid']}"), [])

    def test_a_command_the_image_lacks_cannot_start(self):
        c = self.cluster
        c.apply(pod("lacking", {"command": ["no-such-command"]}))
        c.wait("lacking", ".status.containerStatuses[0].state.waiting.reason", "RunContainerError")
        message = c.pod("lacking")["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
        self.assertIn('"no-such-command": executable file not found', message)

    def test_deleting_a_pod_stops_its_container_gracefully_and_removes_it(self):
        c = self.cluster
        c.apply(pod("long", {"command": ["sh", "-c", 'trap "echo got TERM; exit 0" TERM; echo started; '
                                                     'while true; do sleep 0.1; done']}, restart="Always"))
        c.wait("long", ".status.phase", "Running")
        uid = c.pod("long")["metadata"]["uid"]
        self.assertEqual(len(labelled(f"{containers.POD_LABEL}={uid}")), 1)
        c.kubectl("delete", "pod", "long", "--grace-period=5", "--timeout=60s")
        self.assertEqual(labelled(f"{containers.POD_LABEL}={uid}"), [])
        with open(os.path.join(c.dir, "logs", "default", "long", "main.log")) as f:
            self.assertEqual(f.read().split("\n"), ["started", "got TERM", ""])


@unittest.skipUnless(available(), f"needs root, podman, kubectl and {IMAGE} (scripts/base-image.sh)")
class ContainerClusterDownTests(unittest.TestCase):
    def test_down_removes_the_containers_of_a_crashed_kubelet(self):
        c = Cluster()
        mine = f"{containers.CLUSTER_LABEL}={c.state['cluster_id']}"
        try:
            c.apply(pod("a", {"command": ["sleep", "600"]}, restart="Always"))
            c.wait("a", ".status.phase", "Running")
            os.killpg(c.state["pids"][0], 9)  # the kubelet: its containers stay
            self.assertEqual(len(labelled(mine)), 1)
        finally:
            c.down()
        self.assertEqual(labelled(mine), [])


if __name__ == "__main__":
    unittest.main()
