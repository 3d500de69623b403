"""kubesim's container runtime: runs, stops and inspects pods' containers with podman, from
its local image store, each in its pod's network namespace (the kubelet decides what runs;
this only turns its decisions into podman's arguments).

Every container carries the labels `kubesim.cluster=<cluster id>` and `kubesim.pod.uid=<uid>`,
so `remove_cluster` finds all of a cluster's containers, even after its kubelet died.
Podman is configured by CONTAINERS_CONF (default: the repository's scripts/containers.conf,
which these machines need: runc, cgroupfs, ulimits a container may have).

A container's stdout and stderr are the log file the kubelet names (podman's passthrough log
driver: the container writes the file itself, as a process-mode pod does), so `kubectl logs`
reads it as before; its `podman run` stays attached (no output of its own) until it ends.
conmon writes its OOM marker (a file named `oom`) into its working directory, not where
podman looks for it, so each container starts in a directory of its own and `wait` reads
the marker there.
"""
import json
import os
import subprocess
import time

CLUSTER_LABEL = "kubesim.cluster"
POD_LABEL = "kubesim.pod.uid"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class PullError(Exception):
    """An image that is not in the store and could not be pulled (the message says why)."""


class StartError(Exception):
    """A container podman could not start (the message says why)."""


def environment():
    return {"CONTAINERS_CONF": os.path.join(REPO, "scripts", "containers.conf"), **os.environ}


def podman(*args, check=True):
    done = subprocess.run(["podman", *args], env=environment(), capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"podman {args[0]}: {done.stderr.strip()}")
    return done


class ContainerRuntime:
    """One cluster's containers. Blocking calls: the kubelet runs them in threads."""

    def __init__(self, cluster_id):
        self.cluster_id = cluster_id

    def pull(self, image, always=False, auth_file=None, cert_dir=None):
        """Makes sure `image` is in the store (pulling it if absent, or always); raises PullError.
        auth_file: a podman auth file for the registry (the pod's imagePullSecrets);
        cert_dir: the registry's CA certificates."""
        if not always and podman("image", "exists", image, check=False).returncode == 0:
            return
        args = ["pull", "--quiet"]
        if auth_file:
            args += ["--authfile", auth_file]
        if cert_dir:
            args += ["--cert-dir", cert_dir]
        done = podman(*args, image, check=False)
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines()
            raise PullError(lines[-1].removeprefix("Error: ") if lines else f"podman pull exited {done.returncode}")

    def image_config(self, image):
        """The image's environment (a dict), entrypoint and command (lists)."""
        config = json.loads(podman("image", "inspect", "--format", "{{json .Config}}", image).stdout)
        env = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
        return env, config.get("Entrypoint") or [], config.get("Cmd") or []

    def name(self, uid):
        return f"kubesim-{self.cluster_id}-{uid}"

    def start(self, uid, image, argv, env, mounts, netns, hostname, hosts_file, limits, requests, log, directory,
              working_dir=None):
        """Runs the container of pod `uid` (replacing its previous one); returns once it runs.
        mounts: [(host directory, container path, read-only)]; limits and requests: {"cpu": cores,
        "memory": bytes}; log: the file its output goes to; directory: its own working directory."""
        name = self.name(uid)
        podman("rm", "--force", "--time", "0", name, check=False)
        os.makedirs(directory, exist_ok=True)
        marker = os.path.join(directory, "oom")
        if os.path.exists(marker):
            os.remove(marker)
        pid_file = os.path.join(directory, "pid")
        args = ["run", "--name", name, "--pidfile", pid_file, "--label", f"{CLUSTER_LABEL}={self.cluster_id}",
                "--label", f"{POD_LABEL}={uid}", "--log-driver", "passthrough", "--pull", "never",
                "--network", f"ns:/run/netns/{netns}", "--hostname", hostname,
                "--no-hosts", "--volume", f"{hosts_file}:/etc/hosts:ro", "--entrypoint", json.dumps(argv)]
        if working_dir:
            args += ["--workdir", working_dir]
        for key, value in env.items():
            args += ["--env", f"{key}={value}"]
        for source, target, read_only in mounts:
            args += ["--volume", f"{source}:{target}" + (":ro" if read_only else "")]
        if "memory" in limits:  # no swap beyond the limit, as a kubelet's nodes have none
            args += ["--memory", str(int(limits["memory"])), "--memory-swap", str(int(limits["memory"]))]
        if "cpu" in limits:
            args += ["--cpus", f"{limits['cpu']:g}"]
        if "memory" in requests:
            args += ["--memory-reservation", str(int(requests["memory"]))]
        if "cpu" in requests:
            args += ["--cpu-shares", str(max(2, int(requests["cpu"] * 1024)))]
        # Attached, with the log file as its stdout and stderr, which conmon hands to the
        # container (the passthrough driver; detached, podman would print the container's id
        # there). It runs as long as the container: `wait` waits for it.
        with open(log, "ab") as out:
            offset = out.tell()
            process = subprocess.Popen(["podman", *args, image], env=environment(), cwd=directory, stdout=out,
                                       stderr=out, start_new_session=True)
        while not os.path.exists(pid_file):  # written once the container's process runs
            if process.poll() is not None and not os.path.exists(pid_file):
                with open(log, errors="replace") as f:
                    f.seek(offset)
                    lines = f.read().strip().splitlines()
                raise StartError(lines[-1].removeprefix("Error: ") if lines
                                 else f"podman run exited {process.returncode}")
            time.sleep(0.05)
        return name, process, directory

    def wait(self, container):
        """Waits for the container to end: (exit code, whether it was killed for memory)."""
        name, process, directory = container
        code = process.wait()
        state = podman("inspect", "--format", "{{.State.ExitCode}} {{.State.OOMKilled}}", name, check=False)
        if state.returncode == 0:
            code, oom = state.stdout.split()
            return int(code), oom == "true" or os.path.exists(os.path.join(directory, "oom"))
        return code, os.path.exists(os.path.join(directory, "oom"))

    def running(self, container):
        return container[1].poll() is None

    def stop(self, container, grace):
        """Stops the container (SIGTERM, SIGKILL after `grace` seconds) and removes it."""
        name, process, _ = container
        podman("stop", "--time", str(grace), name, check=False)
        podman("rm", "--force", "--time", "0", name, check=False)
        process.wait()


def remove_cluster(cluster_id):
    """Removes every container of the cluster, running or not; returns their names."""
    listed = podman("ps", "--all", "--filter", f"label={CLUSTER_LABEL}={cluster_id}", "--format", "{{.Names}}",
                    check=False).stdout.split()
    if listed:
        podman("rm", "--force", "--time", "0", *listed, check=False)
    return listed
