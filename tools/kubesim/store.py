"""kubesim's object store: the API server's semantics over an in-memory dict.

Each behaviour copies the real API server's (k8s.io/apiserver, the registry of each kind);
the wording of errors is the real one, because clients and tests read it.
"""
import asyncio
import base64
import binascii
import collections
import copy
import datetime
import itertools
import re
import uuid

import resources
from selection import field_selector, label_selector

NAMESPACES = resources.BY_PATH[("", "v1", "namespaces")]

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Kinds whose names must be DNS-1123 labels rather than subdomains.
LABEL_NAMED = {"Namespace", "Service"}


class Status(Exception):
    """A failure the API answers with a Status object."""

    REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
               409: "AlreadyExists", 410: "Expired", 415: "UnsupportedMediaType", 422: "Invalid",
               429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}

    def __init__(self, code, message, reason=None, details=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or self.REASONS.get(code, "Unknown")
        self.details = details

    def body(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def resource_name(kind):
    """How errors name a resource: `pods`, `jobs.batch`."""
    return f"{kind.plural}.{kind.group}" if kind.group else kind.plural


def not_found(kind, name):
    return Status(404, f'{resource_name(kind)} "{name}" not found',
                  details={"name": name, "kind": kind.plural, **({"group": kind.group} if kind.group else {})})


def invalid(kind, name, causes):
    """422 Invalid with field causes: [(field, message)]."""
    text = "; ".join(f"{f}: {m}" for f, m in causes)
    message = f'{kind.kind} "{name}" is invalid: {text}' if len(causes) == 1 else \
        f'{kind.kind} "{name}" is invalid: [{", ".join(f"{f}: {m}" for f, m in causes)}]'
    return Status(422, message, details={
        "name": name, "kind": kind.kind, **({"group": kind.group} if kind.group else {}),
        "causes": [{"reason": "FieldValueInvalid", "message": m, "field": f} for f, m in causes]})


def _name_rule(kind):
    if kind.kind in LABEL_NAMED:
        return DNS1123_LABEL, ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
                               "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
                               "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
    return DNS1123_SUBDOMAIN, ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                               "'-' or '.', and must start and end with an alphanumeric character (e.g. "
                               "'example.com', regex used for validation is "
                               "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                       r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def check_metadata(kind, obj):
    """The checks ValidateObjectMeta does that the schemas cannot: names and labels."""
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    causes = []
    pattern, rule = _name_rule(kind)
    if len(name) > (63 if kind.kind in LABEL_NAMED else 253) or not pattern.match(name):
        causes.append(("metadata.name", f'Invalid value: "{name}": {rule}'))
    for key, value in (meta.get("labels") or {}).items():
        if not LABEL_KEY.match(key) or len(key.split("/")[-1]) > 63:
            causes.append(("metadata.labels", f'Invalid value: "{key}": name part must consist of alphanumeric '
                           "characters, '-', '_' or '.', and must start and end with an alphanumeric character"))
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
            causes.append(("metadata.labels", f'Invalid value: "{value}": a valid label must be an empty string '
                           "or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                           "alphanumeric character"))
    if kind.kind == "Pod" and not (obj.get("spec") or {}).get("containers"):
        causes.append(("spec.containers", "Required value"))
    return causes


class Store:
    def __init__(self, history):
        self.objects = {}  # (kind, namespace, name) -> object
        self.rv = 0
        # (rv, event type, kind, object): what a watch can resume from; older is 410 Expired.
        self.history = collections.deque(maxlen=history)
        self.watchers = set()
        self.cluster_ips = itertools.count(2)
        for ns in ("default", "kube-system", "kube-public"):
            self.objects[(NAMESPACES, None, ns)] = self._defaults(NAMESPACES, {
                "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, None)

    # Reading

    def get(self, kind, namespace, name):
        obj = self.objects.get((kind, namespace, name))
        if obj is None:
            raise not_found(kind, name)
        return obj

    def list(self, kind, namespace, labels=None, fields=None):
        match = self.matcher(labels, fields)
        items = [o for (k, ns, _), o in self.objects.items()
                 if k is kind and (namespace is None or ns == namespace) and match(o)]
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return items, str(self.rv)

    @staticmethod
    def matcher(labels, fields):
        try:
            by_labels, by_fields = label_selector(labels), field_selector(fields)
        except ValueError as e:
            raise Status(400, str(e))
        return lambda o: by_labels(o["metadata"].get("labels")) and by_fields(o)

    # Writing

    def _bump(self, obj):
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        return self.rv

    def _emit(self, event, kind, obj):
        snapshot = copy.deepcopy(obj)
        self.history.append((self.rv, event, kind, snapshot))
        for queue in list(self.watchers):
            queue.put_nowait((event, kind, snapshot))

    def create(self, kind, namespace, obj, dry_run=False):
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        name = meta.get("name") or ""
        if not name:
            raise invalid(kind, "", [("metadata.name", "Required value: name or generateName is required")])
        if kind.namespaced:
            if meta.get("namespace") not in (None, namespace):
                raise Status(400, "the namespace of the provided object does not match the namespace sent on "
                             "the request")
            if (NAMESPACES, None, namespace) not in self.objects:
                raise not_found(NAMESPACES, namespace)
            meta["namespace"] = namespace
        causes = check_metadata(kind, obj)
        if causes:
            raise invalid(kind, name, causes)
        key = (kind, namespace if kind.namespaced else None, name)
        if key in self.objects:
            raise Status(409, f'{resource_name(kind)} "{name}" already exists', "AlreadyExists",
                         {"name": name, "kind": kind.plural, **({"group": kind.group} if kind.group else {})})
        if dry_run:  # checked and defaulted, not stored (kubectl --dry-run=server)
            rv = self.rv
            obj = self._defaults(kind, obj, namespace)
            self.rv = rv
            return obj
        obj = self._defaults(kind, obj, namespace)
        self.objects[key] = obj
        self._emit("ADDED", kind, obj)
        return obj

    def update(self, kind, namespace, name, obj, subresource=None):
        current = self.get(kind, namespace, name)
        sent_rv = (obj.get("metadata") or {}).get("resourceVersion")
        if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
            raise Status(409, f'Operation cannot be fulfilled on {resource_name(kind)} "{name}": the object has '
                         "been modified; please apply your changes to the latest version and try again",
                         "Conflict", {"name": name, "kind": kind.plural})
        if (obj.get("metadata") or {}).get("name", name) != name:
            raise Status(400, f'the name of the object ({obj["metadata"]["name"]}) does not match the name on '
                         f"the URL ({name})")
        new = copy.deepcopy(current)
        if subresource == "status":
            new["status"] = obj.get("status", {})
        else:
            for field, value in obj.items():
                if field not in ("metadata", "status"):
                    new[field] = value
            for field in ("labels", "annotations", "finalizers", "ownerReferences"):
                if field in (obj.get("metadata") or {}):
                    new["metadata"][field] = obj["metadata"][field]
                else:
                    new["metadata"].pop(field, None)
            causes = check_metadata(kind, new)
            if causes:
                raise invalid(kind, name, causes)
            if new.get("spec") != current.get("spec"):
                new["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
        self._bump(new)
        self.objects[(kind, namespace, name)] = new
        self._emit("MODIFIED", kind, new)
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers") \
                and not self._graceful(kind, new):
            self._remove(kind, namespace, name)
        return new

    @staticmethod
    def _graceful(kind, obj):
        """A pod on a node is stopped by its kubelet, which then deletes it for good."""
        return kind.kind == "Pod" and bool(obj.get("spec", {}).get("nodeName")) \
            and obj["metadata"].get("deletionGracePeriodSeconds", 0) > 0

    def delete(self, kind, namespace, name, grace=None, propagation=None):
        obj = self.get(kind, namespace, name)
        meta = obj["metadata"]
        if kind.kind == "Pod" and grace is None:
            grace = obj["spec"].get("terminationGracePeriodSeconds", 30)
        if kind.kind == "Job" and propagation is None:
            propagation = "Orphan"  # batch/v1's REST default, unlike kubectl's Background
        if meta.get("finalizers") or (kind.kind == "Pod" and grace and obj["spec"].get("nodeName")):
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = now()
                meta["deletionGracePeriodSeconds"] = grace or 0
                self._bump(obj)
                self._emit("MODIFIED", kind, obj)
            return obj
        self._remove(kind, namespace, name, propagation)
        return obj

    def _remove(self, kind, namespace, name, propagation=None):
        obj = self.objects.pop((kind, namespace, name))
        self._bump(obj)
        self._emit("DELETED", kind, obj)
        uid = obj["metadata"]["uid"]
        if kind.kind == "Namespace":
            for (k, ns, n) in [key for key in self.objects if key[1] == name]:
                if (k, ns, n) in self.objects:
                    self.delete(k, ns, n, grace=0, propagation="Background")
            return
        # Garbage collection of dependents (background propagation; Foreground is treated alike).
        for (k, ns, n), dependent in list(self.objects.items()):
            refs = dependent["metadata"].get("ownerReferences") or []
            if ns != namespace or not any(r.get("uid") == uid for r in refs):
                continue
            if propagation == "Orphan":
                dependent["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
                self._bump(dependent)
                self._emit("MODIFIED", k, dependent)
            elif (k, ns, n) in self.objects:
                self.delete(k, ns, n, propagation="Background")

    # Defaults, as the real registries set them

    def _defaults(self, kind, obj, namespace):
        meta = obj["metadata"]
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now()
        if "spec" in obj or kind.kind in ("Pod", "Job", "Deployment", "Service"):
            meta["generation"] = 1
        self._bump(obj)
        spec = obj.setdefault("spec", {}) if kind.kind in ("Pod", "Service", "Job", "Namespace") else None
        if kind.kind == "Pod":
            self._pod_spec_defaults(spec)
            obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        elif kind.kind == "Service":
            spec.setdefault("type", "ClusterIP")
            spec.setdefault("sessionAffinity", "None")
            if spec.get("clusterIP") != "None":
                n = next(self.cluster_ips)
                spec["clusterIP"] = f"127.11.{n // 256}.{n % 256}"
                spec["clusterIPs"] = [spec["clusterIP"]]
            for port in spec.get("ports") or []:
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port.get("port"))
            obj["status"] = {"loadBalancer": {}}
        elif kind.kind == "Secret":
            obj.setdefault("type", "Opaque")
            for key, value in (obj.pop("stringData", None) or {}).items():
                obj.setdefault("data", {})[key] = base64.b64encode(value.encode()).decode()
            for key, value in (obj.get("data") or {}).items():
                try:
                    base64.b64decode(value, validate=True)
                except (binascii.Error, ValueError):
                    raise invalid(kind, meta["name"], [(f"data[{key}]", "Invalid value: illegal base64 data")])
        elif kind.kind == "Job":
            uid = meta["uid"]
            labels = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": meta["name"],
                      "controller-uid": uid, "job-name": meta["name"]}
            spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
            template = spec.setdefault("template", {})
            template.setdefault("metadata", {}).setdefault("labels", {}).update(labels)
            self._pod_spec_defaults(template.setdefault("spec", {}))
            for field, value in (("backoffLimit", 6), ("completions", 1), ("parallelism", 1),
                                 ("completionMode", "NonIndexed"), ("suspend", False)):
                spec.setdefault(field, value)
            obj["status"] = {}
        elif kind.kind == "Namespace":
            spec.setdefault("finalizers", ["kubernetes"])
            obj["status"] = {"phase": "Active"}
        return obj

    @staticmethod
    def _pod_spec_defaults(spec):
        for field, value in (("restartPolicy", "Always"), ("dnsPolicy", "ClusterFirst"),
                             ("schedulerName", "default-scheduler"), ("terminationGracePeriodSeconds", 30),
                             ("serviceAccountName", "default"), ("securityContext", {}), ("enableServiceLinks", True)):
            spec.setdefault(field, value)
        for container in spec.get("containers") or []:
            image = container.get("image", "")
            tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else "latest"
            container.setdefault("imagePullPolicy", "Always" if tag == "latest" else "IfNotPresent")
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            container.setdefault("resources", {})

    # Watching

    def events_since(self, rv):
        """The recorded events after `rv`, or None when they are no longer kept."""
        if self.history and rv < self.history[0][0] - 1:
            return None
        return [e for e in self.history if e[0] > rv]

    def subscribe(self):
        queue = asyncio.Queue()
        self.watchers.add(queue)
        return queue

    def unsubscribe(self, queue):
        self.watchers.discard(queue)
