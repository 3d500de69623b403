"""kubesim's controllers (the kube-controller-manager's part it needs): Jobs and Deployments
make pods, and follow them. They act on the store directly, from its event stream.

Fidelity: a Deployment owns its pods directly (no ReplicaSet in between) and replaces them
in place; the Job controller handles parallelism, completions, backoffLimit and
ttlSecondsAfterFinished (the TTL controller's part), not indexed jobs, suspension or pod
failure policies.
"""
import asyncio
import copy
import uuid

import resources
from store import now

PODS = resources.BY_PATH[("", "v1", "pods")]
JOBS = resources.BY_PATH[("batch", "v1", "jobs")]
DEPLOYMENTS = resources.BY_PATH[("apps", "v1", "deployments")]


def owned_by(store, owner):
    """The pods `owner` controls: those whose controller ownerReference is it. Pods that only
    name it as an owner (for garbage collection) are not its to count or replace, as with the
    real controllers."""
    uid = owner["metadata"]["uid"]
    return [p for (k, ns, _), p in store.objects.items()
            if k is PODS and ns == owner["metadata"]["namespace"]
            and any(r.get("uid") == uid and r.get("controller") for r in p["metadata"].get("ownerReferences") or [])]


def new_pod(owner, kind, template, extra_labels):
    meta = owner["metadata"]
    pod_meta = copy.deepcopy(template.get("metadata") or {})
    pod_meta["labels"] = {**(pod_meta.get("labels") or {}), **extra_labels}
    pod_meta["name"] = f"{meta['name']}-{uuid.uuid4().hex[:5]}"
    pod_meta["ownerReferences"] = [{"apiVersion": kind.api_version, "kind": kind.kind, "name": meta["name"],
                                    "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": copy.deepcopy(template.get("spec") or {})}


def alive(pod):
    return not pod["metadata"].get("deletionTimestamp") and pod.get("status", {}).get("phase") in ("Pending", "Running")


class Controllers:
    def __init__(self, store):
        self.store = store

    async def run(self):
        queue = self.store.subscribe()
        try:
            while True:
                event, kind, obj = await queue.get()
                self.react(event, kind, obj)
        finally:
            self.store.unsubscribe(queue)

    def react(self, event, kind, obj):
        if kind in (JOBS, DEPLOYMENTS) and event != "DELETED":
            self.reconcile(kind, obj["metadata"]["namespace"], obj["metadata"]["name"])
        elif kind is PODS:
            for ref in obj["metadata"].get("ownerReferences") or []:
                owner_kind = {"Job": JOBS, "Deployment": DEPLOYMENTS}.get(ref.get("kind"))
                if owner_kind:
                    self.reconcile(owner_kind, obj["metadata"]["namespace"], ref["name"])

    def reconcile(self, kind, namespace, name):
        owner = self.store.objects.get((kind, namespace, name))
        if owner is None or owner["metadata"].get("deletionTimestamp"):
            return
        if kind is JOBS:
            self.job(owner)
        else:
            self.deployment(owner)

    def job(self, job):
        spec, status = job["spec"], dict(job.get("status") or {})
        if any(c["type"] in ("Complete", "Failed") and c["status"] == "True" for c in status.get("conditions", [])):
            return
        pods = owned_by(self.store, job)
        active = [p for p in pods if alive(p)]
        succeeded = sum(p.get("status", {}).get("phase") == "Succeeded" for p in pods)
        failed = sum(p.get("status", {}).get("phase") == "Failed" for p in pods)
        status.setdefault("startTime", now())
        condition = None
        if succeeded >= spec.get("completions", 1):
            condition = {"type": "Complete", "status": "True", "reason": "Completed",
                         "message": "Reached expected number of succeeded pods"}
            status["completionTime"] = now()
        elif failed > spec.get("backoffLimit", 6):
            condition = {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                         "message": "Job has reached the specified backoff limit"}
            for pod in active:
                self.store.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
            active = []
        else:
            uid, name = job["metadata"]["uid"], job["metadata"]["name"]
            labels = {"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid,
                      "batch.kubernetes.io/job-name": name, "job-name": name}
            wanted = min(spec.get("parallelism", 1), spec.get("completions", 1) - succeeded)
            for _ in range(max(0, wanted - len(active))):
                active.append(self.store.create(PODS, job["metadata"]["namespace"],
                                                new_pod(job, JOBS, spec["template"], labels)))
        status.update({"active": len(active), "succeeded": succeeded, "failed": failed, "ready": 0})
        if condition:
            condition["lastTransitionTime"] = condition["lastProbeTime"] = now()
            status["conditions"] = status.get("conditions", []) + [condition]
            status["active"] = 0
            if spec.get("ttlSecondsAfterFinished") is not None:
                asyncio.get_running_loop().call_later(spec["ttlSecondsAfterFinished"], self.expire, job)
        if status != job.get("status"):
            self.store.update(JOBS, job["metadata"]["namespace"], job["metadata"]["name"], {"status": status}, "status")

    def expire(self, job):
        """The TTL controller: a finished Job goes with its dependents (Background)."""
        meta = job["metadata"]
        current = self.store.objects.get((JOBS, meta["namespace"], meta["name"]))
        if current is not None and current["metadata"]["uid"] == meta["uid"]:
            self.store.delete(JOBS, meta["namespace"], meta["name"], propagation="Background")

    def deployment(self, deployment):
        spec = deployment["spec"]
        pods = [p for p in owned_by(self.store, deployment) if not p["metadata"].get("deletionTimestamp")]
        running = [p for p in pods if alive(p)]
        for pod in pods:
            if not alive(pod):  # a finished pod of a Deployment is replaced
                self.store.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
        wanted = spec.get("replicas", 1)
        for pod in running[wanted:]:
            self.store.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
        for _ in range(wanted - len(running)):
            self.store.create(PODS, deployment["metadata"]["namespace"],
                              new_pod(deployment, DEPLOYMENTS, spec["template"], {}))
        ready = sum(p.get("status", {}).get("phase") == "Running" for p in running[:wanted])
        status = {"observedGeneration": deployment["metadata"].get("generation", 1), "replicas": wanted,
                  "readyReplicas": ready, "availableReplicas": ready, "updatedReplicas": wanted}
        if status != deployment.get("status"):
            self.store.update(DEPLOYMENTS, deployment["metadata"]["namespace"], deployment["metadata"]["name"],
                              {"status": status}, "status")
