"""kubesim's kubelet: `python tools/kubesim/kubelet.py --server URL --token T --ca CA`, run
inside the node network namespace (see cluster.py). It watches pods and services like a
real kubelet and kube-proxy: binds each new pod to the node, pulls its image, runs its first
container in the pod's own network namespace, with the pod's environment, its secret,
configMap and emptyDir volumes, its hostname, and /etc/hosts naming every Service; writes
the container's log where the API server serves it from; reports status and Events;
restarts or finishes it by restartPolicy; stops it gracefully when the pod is deleted; and
keeps the Services' DNAT rules (network.py) in step with the pods backing them.

Two runtimes run the container, chosen by --runtime; every decision above is the kubelet's:
- process (the default, fast): its command as local processes (the image is only a name:
  commands come from the host, e.g. the project's virtualenv), limits not enforced;
- container (containers.py): a podman container of the image from the local image store
  (pulled if absent), its entrypoint and cmd when the pod gives no command or args, and
  resource limits as cgroup limits (a container killed for memory: OOMKilled, exit 137).

Each pod gets the service account volume at /var/run/secrets/kubernetes.io/serviceaccount
(token, ca.crt, namespace) unless automountServiceAccountToken is false; the token is the
kubelet's own (kubesim has one user), so `--forbid` rules bind pods as they bind clients.

Faults for tests: an image under `kubesim.invalid/` fails to pull (ErrImagePull, then
ImagePullBackOff, retried with a backoff; in container mode, as any unpullable image); a pod
with nodeSelector `kubesim.io/schedulable: "false"` never schedules, nor does one whose
containers request more CPU or memory than the node has (NODE_CAPACITY; each pod is checked
alone: the node is as large as a cluster that scales its nodes).
"""
import argparse
import asyncio
import base64
import concurrent.futures
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import uuid

import aiohttp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import network  # noqa: E402
import pull_secrets  # noqa: E402
from containers import ContainerRuntime, PullError, StartError  # noqa: E402
from store import now  # noqa: E402

NODE = "kubesim-node"
NODE_CAPACITY = {"cpu": 64.0, "memory": 256 * 2 ** 30}
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
QUANTITY_SUFFIXES = {"m": 1e-3, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
                     "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}


def quantity(text):
    """A Kubernetes resource quantity ("500m", "4G", "2Gi", "1e3") as a number."""
    match = re.fullmatch(r"([0-9.]+(?:[eE][-+]?[0-9]+)?)([a-zA-Z]*)", str(text).strip())
    if not match or match.group(2) not in ("", *QUANTITY_SUFFIXES):
        return 0.0
    return float(match.group(1)) * QUANTITY_SUFFIXES.get(match.group(2), 1)


def insufficient(spec):
    """The resources a pod requests beyond the node's capacity ("cpu", "memory")."""
    wanted = {name: 0.0 for name in NODE_CAPACITY}
    for container in spec.get("containers") or []:
        resources = container.get("resources") or {}
        asked = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
        for name in wanted:
            wanted[name] += quantity(asked.get(name, 0))
    return [name for name in NODE_CAPACITY if wanted[name] > NODE_CAPACITY[name]]


def resources(container, kind):
    """The container's resource limits or requests as numbers: {"cpu": cores, "memory": bytes}."""
    given = (container.get("resources") or {}).get(kind) or {}
    return {name: quantity(given[name]) for name in ("cpu", "memory") if name in given}


class ProcessRuntime:
    """Runs a pod's container as local processes (commands from the host's PATH, the image
    only a name) in the pod's network namespace, with a mount and UTS namespace of its own.
    The same calls as containers.ContainerRuntime; blocking, the kubelet runs them in threads."""

    def present(self, image):
        return not image.startswith("kubesim.invalid/")

    def pull(self, image, always=False, auth_file=None, cert_dir=None):
        if not self.present(image):
            raise PullError("not found")

    def image_config(self, image):
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, [], []

    def start(self, uid, image, argv, env, mounts, netns, hostname, hosts_file, limits, requests, log, directory,
              working_dir=None):
        # /etc/hosts comes from `ip netns exec`, which binds /etc/netns/NETNS/hosts; limits are not enforced.
        script = "".join(f"mkdir -p '{target}' && mount -o bind{',ro' if read_only else ''} '{source}' '{target}' && "
                         for source, target, read_only in mounts)
        if working_dir:
            script += f"cd '{working_dir}' && "
        os.makedirs(directory, exist_ok=True)
        with open(log, "ab") as out:
            # A container starts with no signal blocked, whatever its kubelet inherited.
            return subprocess.Popen(
                ["ip", "netns", "exec", netns, "unshare", "--uts", "--mount", "--", "sh", "-c",
                 script + 'hostname "$1"; shift; exec "$@"', "sh", hostname, *argv],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=directory,
                preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_SETMASK, []))

    def wait(self, process):
        # Popen gives -N for a process killed by signal N; a container runtime reports 128+N.
        code = process.wait()
        return (128 - code if code < 0 else code), False

    def running(self, process):
        return process.poll() is None

    def stop(self, process, grace):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


class API:
    def __init__(self, server, token, ca):
        self.server, self.token, self.ca = server, token, ca
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.ssl = ssl.create_default_context(cafile=ca) if ca else None
        self.session = None

    async def request(self, method, path, body=None, content_type="application/json"):
        async with self.session.request(method, self.server + path, data=None if body is None else json.dumps(body),
                                        headers={**self.headers, "Content-Type": content_type}, ssl=self.ssl) as r:
            answer = await r.json(content_type=None)
            if r.status >= 400 and method != "GET":
                print(f"kubelet: {method} {path}: {r.status} {answer.get('message')}", file=sys.stderr, flush=True)
            return r.status, answer

    async def patch_status(self, pod, status):
        meta = pod["metadata"]
        await self.request("PATCH", f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status",
                           {"status": status}, "application/merge-patch+json")

    async def event(self, pod, reason, message, kind="Normal"):
        meta = pod["metadata"]
        await self.request("POST", f"/api/v1/namespaces/{meta['namespace']}/events", {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:10]}", "namespace": meta["namespace"]},
            "involvedObject": {"kind": "Pod", "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
                               "apiVersion": "v1"},
            "reason": reason, "message": message, "type": kind, "source": {"component": "kubelet", "host": NODE},
            "firstTimestamp": now(), "lastTimestamp": now(), "count": 1})

    async def watch(self, path, handle):
        """Lists, then watches `path` for ever (resuming when streams end, starting over when
        the API server cannot be reached), calling handle."""
        while True:
            try:
                await self._list_and_watch(path, handle)
            except (aiohttp.ClientError, OSError) as e:
                print(f"kubelet: watch {path}: {e}; trying again", file=sys.stderr, flush=True)
                await asyncio.sleep(0.5)

    async def _list_and_watch(self, path, handle):
        _, listed = await self.request("GET", path)
        for item in listed.get("items", []):
            await handle("ADDED", item)
        version = listed["metadata"]["resourceVersion"]
        while version:
            url = f"{self.server}{path}?watch=true&resourceVersion={version}&allowWatchBookmarks=true"
            async with self.session.get(url, headers=self.headers, ssl=self.ssl, timeout=None) as r:
                async for line in r.content:
                    event = json.loads(line)
                    if event["type"] == "ERROR":
                        return
                    version = event["object"]["metadata"].get("resourceVersion", version)
                    if event["type"] != "BOOKMARK":
                        await handle(event["type"], event["object"])


def expand(text, env):
    """Kubernetes' $(VAR) expansion; $$(VAR) escapes it."""
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)


class Kubelet:
    def __init__(self, api, log_dir, work_dir, prefix, runtime, registry_cert_dir=None):
        self.api = api
        self.runtime = runtime
        self.registry_cert_dir = registry_cert_dir  # CAs the node trusts for image pulls
        self.log_dir = log_dir
        self.work_dir = work_dir
        self.prefix = prefix
        self.pods = {}  # uid -> {"pod", "container" (the runtime's handle), "network", "task"}
        self.services = {}  # (namespace, name) -> service
        self.numbers = iter(range(1, 60000))

    async def run(self):
        await asyncio.gather(self.api.watch("/api/v1/pods", self.on_pod),
                             self.api.watch("/api/v1/services", self.on_service))

    # Services

    async def on_service(self, event, service):
        key = (service["metadata"]["namespace"], service["metadata"]["name"])
        if event == "DELETED":
            self.services.pop(key, None)
        else:
            self.services[key] = service
        self.sync_network()

    def sync_network(self):
        rules = []
        for (namespace, _), service in self.services.items():
            selector = service["spec"].get("selector") or {}
            backing = [p for p in self.pods.values() if p.get("ip") and p["pod"]["metadata"]["namespace"] == namespace
                       and selector and all((p["pod"]["metadata"].get("labels") or {}).get(k) == v
                                            for k, v in selector.items())]
            for port in service["spec"].get("ports") or []:
                endpoints = [(p["ip"], self.target_port(p["pod"], port.get("targetPort", port["port"])))
                             for p in backing]
                rules.append((service["spec"]["clusterIP"], port["port"], [e for e in endpoints if e[1]]))
        network.apply_services(rules)
        hosts = ["127.0.0.1 localhost", f"{network.NODE_IP} kubernetes kubernetes.default"]
        for (namespace, name), service in self.services.items():
            ip = service["spec"].get("clusterIP")
            if ip and ip != "None":
                qualified = f"{name}.{namespace}"
                hosts.append(f"{ip} {name} {qualified} {qualified}.svc {qualified}.svc.cluster.local")
        for p in self.pods.values():
            if p.get("network"):
                path = f"/etc/netns/{p['network'].netns}/hosts"
                with open(path, "w") as f:  # rewritten in place: the pod's bind mount sees it
                    f.write("\n".join(hosts + [f"{p['ip']} {p['pod']['metadata']['name']}"]) + "\n")

    @staticmethod
    def target_port(pod, target):
        if isinstance(target, int) or str(target).isdigit():
            return int(target)
        for c in pod["spec"].get("containers", []):
            for port in c.get("ports") or []:
                if port.get("name") == target:
                    return port["containerPort"]
        return None

    # Pods

    async def on_pod(self, event, pod):
        uid = pod["metadata"]["uid"]
        if event == "DELETED":
            await self.stop(uid, delete=False)
        elif pod["metadata"].get("deletionTimestamp"):
            if uid in self.pods:
                await self.stop(uid, delete=True)
            elif pod["spec"].get("nodeName") == NODE:
                await self.api.request("DELETE", self.path(pod) + "?gracePeriodSeconds=0")
        elif uid not in self.pods and not pod["spec"].get("nodeName") \
                and pod.get("status", {}).get("phase") == "Pending":
            self.pods[uid] = {"pod": pod}
            self.pods[uid]["task"] = asyncio.create_task(self.start(uid))
        elif uid in self.pods:
            self.pods[uid]["pod"] = pod

    @staticmethod
    def path(pod):
        return f"/api/v1/namespaces/{pod['metadata']['namespace']}/pods/{pod['metadata']['name']}"

    async def start(self, uid):
        entry = self.pods[uid]
        pod = entry["pod"]
        spec = pod["spec"]
        container = spec["containers"][0]
        unschedulable = None
        if (spec.get("nodeSelector") or {}).get("kubesim.io/schedulable") == "false":
            unschedulable = "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
        elif insufficient(spec):
            unschedulable = "0/1 nodes are available: " + ", ".join(f"1 Insufficient {r}" for r in insufficient(spec)) \
                + ". preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
        if unschedulable:
            await self.api.patch_status(pod, {"conditions": [{"type": "PodScheduled", "status": "False",
                                                              "reason": "Unschedulable", "message": unschedulable}]})
            await self.api.event(pod, "FailedScheduling", unschedulable, "Warning")
            return
        await self.api.request("PATCH", self.path(pod), {"spec": {"nodeName": NODE}}, "application/merge-patch+json")
        await self.api.event(pod, "Scheduled", f"Successfully assigned {pod['metadata']['namespace']}/"
                             f"{pod['metadata']['name']} to {NODE}")
        waiting = {"name": container["name"], "ready": False, "restartCount": 0, "image": container.get("image", ""),
                   "imageID": "", "state": {"waiting": {"reason": "ContainerCreating"}}}
        await self.api.patch_status(pod, {"phase": "Pending", "hostIP": network.NODE_IP,
                                          "containerStatuses": [waiting]})
        if not await self.pull(pod, container, waiting):
            return
        net = network.PodNetwork(self.prefix, next(self.numbers))
        await asyncio.to_thread(net.create)
        entry["network"], entry["ip"] = net, net.ip
        os.makedirs(f"/etc/netns/{net.netns}", exist_ok=True)
        self.sync_network()
        restarts = 0
        while True:
            try:
                argv, env, mounts = await self.command(pod, container, net.ip)
            except LookupError as e:
                waiting["state"] = {"waiting": {"reason": "CreateContainerConfigError", "message": str(e)}}
                await self.api.patch_status(pod, {"containerStatuses": [waiting]})
                await self.api.event(pod, "Failed", f"Error: {e}", "Warning")
                return
            log = os.path.join(self.log_dir, pod["metadata"]["namespace"], pod["metadata"]["name"])
            os.makedirs(log, exist_ok=True)
            # Each run in a directory of its own (the container runtime's OOM marker goes there).
            directory = os.path.join(self.work_dir, uid, f"run-{restarts}")
            # Shielded: a pod deleted meanwhile has its container stopped once it runs (see stop).
            entry["starting"] = asyncio.ensure_future(asyncio.to_thread(
                self.runtime.start, uid, container.get("image", ""), argv, env, mounts, net.netns,
                pod["metadata"]["name"], f"/etc/netns/{net.netns}/hosts", resources(container, "limits"),
                resources(container, "requests"), os.path.join(log, f"{container['name']}.log"), directory,
                container.get("workingDir")))
            try:
                entry["container"] = await asyncio.shield(entry["starting"])
            except StartError as e:
                waiting["state"] = {"waiting": {"reason": "RunContainerError", "message": str(e)}}
                await self.api.patch_status(pod, {"containerStatuses": [waiting]})
                await self.api.event(pod, "Failed", f"Error: {e}", "Warning")
                return
            del entry["starting"]
            started = now()
            await self.api.event(pod, "Started", f"Started container {container['name']}")
            running = dict(waiting, ready=True, restartCount=restarts, state={"running": {"startedAt": started}})
            ready = [{"type": t, "status": "True", "lastTransitionTime": started}
                     for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")]
            await self.api.patch_status(pod, {"phase": "Running", "podIP": net.ip, "podIPs": [{"ip": net.ip}],
                                              "startTime": started, "conditions": ready,
                                              "containerStatuses": [running]})
            code, oom = await asyncio.to_thread(self.runtime.wait, entry["container"])
            if entry.get("stopping"):
                return
            reason = "OOMKilled" if oom else "Completed" if code == 0 else "Error"
            terminated = {"exitCode": code, "reason": reason, "startedAt": started, "finishedAt": now()}
            if oom:
                limit = ((container.get("resources") or {}).get("limits") or {}).get("memory", "none")
                await self.api.event(pod, "OOMKilling", f"Memory cgroup out of memory: killed container "
                                     f"{container['name']} (memory limit {limit})", "Warning")
            policy = spec.get("restartPolicy", "Always")
            if policy == "Never" or (policy == "OnFailure" and code == 0):
                done = dict(running, ready=False, state={"terminated": terminated})
                await self.api.patch_status(pod, {"phase": "Succeeded" if code == 0 else "Failed",
                                                  "containerStatuses": [done]})
                return
            restarts += 1
            backoff = min(10 * 2 ** (restarts - 1), 300) if restarts > 1 else 1
            crashed = dict(running, ready=False, restartCount=restarts, lastState={"terminated": terminated},
                           state={"waiting": {"reason": "CrashLoopBackOff",
                                              "message": f"back-off {backoff}s restarting failed container"}})
            await self.api.patch_status(pod, {"containerStatuses": [crashed]})
            await self.api.event(pod, "BackOff", "Back-off restarting failed container", "Warning")
            await asyncio.sleep(backoff)

    async def pull(self, pod, container, waiting):
        """Pulls the container's image as its imagePullPolicy says, retrying with a backoff
        (ErrImagePull, then ImagePullBackOff) as a kubelet does; False if never to be pulled."""
        image = container.get("image", "")
        policy = container.get("imagePullPolicy", "IfNotPresent")
        failures = 0
        while True:
            try:
                if policy == "Never":
                    if not await asyncio.to_thread(self.runtime.present, image):
                        message = f'Container image "{image}" is not present with pull policy of Never'
                        waiting["state"] = {"waiting": {"reason": "ErrImageNeverPull", "message": message}}
                        await self.api.patch_status(pod, {"containerStatuses": [waiting]})
                        await self.api.event(pod, "ErrImageNeverPull", message, "Warning")
                        return False
                    return True
                # A kubelet reads the pod's pull secrets again for every attempt.
                auth_file = os.path.join(self.work_dir, pod["metadata"]["uid"], "auth.json")
                os.makedirs(os.path.dirname(auth_file), exist_ok=True)
                await pull_secrets.write_auth_file(self.api, pod, auth_file)
                await asyncio.to_thread(self.runtime.pull, image, policy == "Always", auth_file, self.registry_cert_dir)
                return True
            except (PullError, pull_secrets.PullSecretError) as e:
                message = f'Failed to pull image "{image}": {e}'
            failures += 1
            backoff = min(10 * 2 ** (failures - 1), 300)
            waiting["state"] = {"waiting": {"reason": "ErrImagePull", "message": message}}
            await self.api.patch_status(pod, {"containerStatuses": [waiting]})
            await self.api.event(pod, "Failed", message, "Warning")
            message = f'Back-off pulling image "{image}"'
            waiting["state"] = {"waiting": {"reason": "ImagePullBackOff", "message": message}}
            await self.api.patch_status(pod, {"containerStatuses": [waiting]})
            await self.api.event(pod, "BackOff", message, "Normal")
            await asyncio.sleep(backoff)

    async def command(self, pod, container, ip):
        """The container's argv, environment and volume mounts ([(host directory, path, read-only)])."""
        meta, spec = pod["metadata"], pod["spec"]
        image_env, entrypoint, cmd = await asyncio.to_thread(self.runtime.image_config, container.get("image", ""))
        env = {**image_env, "HOSTNAME": meta["name"],
               "KUBERNETES_SERVICE_HOST": network.NODE_IP, "KUBERNETES_SERVICE_PORT": "6443"}
        if spec.get("enableServiceLinks", True):
            for (namespace, name), service in self.services.items():
                if namespace == meta["namespace"] and service["spec"].get("ports"):
                    prefix = name.upper().replace("-", "_")
                    env[f"{prefix}_SERVICE_HOST"] = service["spec"]["clusterIP"]
                    env[f"{prefix}_SERVICE_PORT"] = str(service["spec"]["ports"][0]["port"])
        fields = {"metadata.name": meta["name"], "metadata.namespace": meta["namespace"], "metadata.uid": meta["uid"],
                  "spec.nodeName": NODE, "spec.serviceAccountName": spec.get("serviceAccountName", "default"),
                  "status.podIP": ip, "status.hostIP": network.NODE_IP}
        for source in container.get("envFrom") or []:
            ref = source.get("secretRef") or source.get("configMapRef")
            data = await self.data(meta["namespace"], "secrets" if "secretRef" in source else "configmaps",
                                   ref["name"], optional=ref.get("optional", False))
            env.update({source.get("prefix", "") + k: v for k, v in data.items()})
        for var in container.get("env") or []:
            value_from = var.get("valueFrom")
            if value_from is None:
                env[var["name"]] = expand(str(var.get("value", "")), env)
            elif "fieldRef" in value_from:
                env[var["name"]] = fields.get(value_from["fieldRef"]["fieldPath"], "")
            else:
                ref = value_from.get("secretKeyRef") or value_from.get("configMapKeyRef")
                data = await self.data(meta["namespace"], "secrets" if "secretKeyRef" in value_from else "configmaps",
                                       ref["name"], optional=ref.get("optional", False))
                if ref["key"] not in data and not ref.get("optional"):
                    raise LookupError(f'couldn\'t find key {ref["key"]} in {ref["name"]}')
                if ref["key"] in data:
                    env[var["name"]] = data[ref["key"]]
        # As Kubernetes: command replaces the image's entrypoint (and its cmd), args its cmd.
        command, args = container.get("command"), container.get("args")
        argv = [expand(a, env) for a in (command or [])] or entrypoint
        argv = argv + ([expand(a, env) for a in args] if args else [] if command else cmd)
        if not argv:
            raise LookupError("the container has no command: neither command nor args, nor an image entrypoint or cmd"
                              " (kubesim's process runtime runs only a container's command and args)")
        mounts = []
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        for mount in container.get("volumeMounts") or []:
            volume = volumes.get(mount["name"], {})
            source = volume.get("secret") or volume.get("configMap")
            if source is None and "emptyDir" not in volume:
                continue
            directory = os.path.join(self.work_dir, meta["uid"], "volumes", mount["name"])
            os.makedirs(directory, exist_ok=True)
            if source is not None:
                data = await self.data(meta["namespace"], "secrets" if "secret" in volume else "configmaps",
                                       source.get("secretName") or source.get("name"))
                for key, value in data.items():
                    with open(os.path.join(directory, key), "wb" if isinstance(value, bytes) else "w") as f:
                        f.write(value)
            mounts.append((directory, mount["mountPath"], source is not None))
        if spec.get("automountServiceAccountToken", True):
            directory = os.path.join(self.work_dir, meta["uid"], "serviceaccount")
            os.makedirs(directory, exist_ok=True)
            ca = ""
            if self.api.ca:
                with open(self.api.ca) as f:
                    ca = f.read()
            for key, value in (("token", self.api.token or ""), ("ca.crt", ca), ("namespace", meta["namespace"])):
                with open(os.path.join(directory, key), "w") as f:
                    f.write(value)
            mounts.append((directory, SERVICE_ACCOUNT_DIR, True))
        return argv, env, mounts

    async def data(self, namespace, plural, name, optional=False):
        code, obj = await self.api.request("GET", f"/api/v1/namespaces/{namespace}/{plural}/{name}")
        if code != 200:
            if optional:
                return {}
            raise LookupError(f'{plural[:-1]} "{name}" not found')
        if plural == "secrets":
            return {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in (obj.get("data") or {}).items()}
        binary = {k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()}
        return {**(obj.get("data") or {}), **binary}

    async def stop(self, uid, delete):
        entry = self.pods.pop(uid, None)
        if entry is None:
            return
        entry["stopping"] = True
        pod = entry["pod"]
        if entry.get("starting") is not None:
            try:
                entry["container"] = await asyncio.shield(entry["starting"])
            except StartError:
                pass
        container = entry.get("container")
        if container is not None:
            if await asyncio.to_thread(self.runtime.running, container):
                await self.api.event(pod, "Killing", f"Stopping container {pod['spec']['containers'][0]['name']}")
            grace = min(pod["metadata"].get("deletionGracePeriodSeconds") or 30, 10)
            await asyncio.to_thread(self.runtime.stop, container, grace)
        if entry.get("task"):
            entry["task"].cancel()
        if entry.get("network"):
            entry["network"].delete()
            shutil.rmtree(f"/etc/netns/{entry['network'].netns}", ignore_errors=True)
        shutil.rmtree(os.path.join(self.work_dir, uid), ignore_errors=True)
        self.sync_network()
        if delete:
            await self.api.request("DELETE", self.path(pod) + "?gracePeriodSeconds=0")

    async def shutdown(self):
        for uid in list(self.pods):
            await self.stop(uid, delete=False)


def main():
    parser = argparse.ArgumentParser(description="kubesim's kubelet (run inside the node network namespace)")
    parser.add_argument("--server", required=True)
    parser.add_argument("--token")
    parser.add_argument("--ca")
    parser.add_argument("--log-dir", required=True, help="where pods' logs go (the API server's KUBESIM_LOG_DIR)")
    parser.add_argument("--work-dir", required=True, help="where volumes' files go")
    parser.add_argument("--netns-prefix", required=True, help="the pods' network namespaces are named PREFIX-N")
    parser.add_argument("--runtime", choices=("process", "container"), default="process",
                        help="pods as local processes, or as podman containers from the local image store")
    parser.add_argument("--cluster-id", help="the label value of the cluster's containers (container runtime)")
    parser.add_argument("--registry-cert-dir", help="CA certificates image pulls trust (podman pull --cert-dir)")
    args = parser.parse_args()

    async def run():
        # Every running container holds a thread (its wait): the default pool of cores + 4
        # would stop new pods from starting once that many run.
        asyncio.get_running_loop().set_default_executor(concurrent.futures.ThreadPoolExecutor(max_workers=512))
        api = API(args.server, args.token, args.ca)
        async with aiohttp.ClientSession() as session:
            api.session = session
            runtime = ContainerRuntime(args.cluster_id) if args.runtime == "container" else ProcessRuntime()
            kubelet = Kubelet(api, args.log_dir, args.work_dir, args.netns_prefix, runtime,
                              args.registry_cert_dir)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGTERM, stop.set)
            loop.add_signal_handler(signal.SIGINT, stop.set)
            serving = asyncio.create_task(kubelet.run())
            await stop.wait()
            serving.cancel()
            await kubelet.shutdown()

    asyncio.run(run())


if __name__ == "__main__":
    main()
