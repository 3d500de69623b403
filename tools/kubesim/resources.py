"""The resource kinds kubesim serves, and their discovery documents."""

# group, version, plural, kind, namespaced, short names
KINDS = [
    ("", "v1", "pods", "Pod", True, ["po"]),
    ("", "v1", "services", "Service", True, ["svc"]),
    ("", "v1", "configmaps", "ConfigMap", True, ["cm"]),
    ("", "v1", "secrets", "Secret", True, []),
    ("", "v1", "events", "Event", True, ["ev"]),
    ("", "v1", "endpoints", "Endpoints", True, ["ep"]),
    ("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"]),
    ("", "v1", "namespaces", "Namespace", False, ["ns"]),
    ("batch", "v1", "jobs", "Job", True, []),
    ("apps", "v1", "deployments", "Deployment", True, ["deploy"]),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ["pdb"]),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", True, []),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, []),
    ("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False, []),
]
# Kinds that are questions, not objects: only created, never stored.
REVIEWS = {"SelfSubjectAccessReview"}

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


class Kind:
    def __init__(self, group, version, plural, kind, namespaced, short_names):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.short_names = short_names

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self):
        return self.kind.lower()


ALL = [Kind(*k) for k in KINDS]
BY_PATH = {(k.group, k.version, k.plural): k for k in ALL}


def group_versions():
    """(group, version) pairs in discovery order."""
    seen = []
    for k in ALL:
        if (k.group, k.version) not in seen:
            seen.append((k.group, k.version))
    return seen


def resource_list(group, version):
    """The APIResourceList of one group-version, with the status and log subresources."""
    resources = []
    for k in ALL:
        if (k.group, k.version) != (group, version):
            continue
        resources.append({"name": k.plural, "singularName": k.singular, "namespaced": k.namespaced,
                          "kind": k.kind, "verbs": ["create"] if k.kind in REVIEWS else VERBS,
                          "shortNames": k.short_names})
        if k.kind in ("Pod", "Job", "Deployment", "Service", "PodDisruptionBudget"):
            resources.append({"name": f"{k.plural}/status", "singularName": "", "namespaced": k.namespaced,
                              "kind": k.kind, "verbs": ["get", "patch", "update"]})
        if k.kind == "Pod":
            resources.append({"name": "pods/log", "singularName": "", "namespaced": True,
                              "kind": "Pod", "verbs": ["get"]})
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": resources}


def api_versions():
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}


def api_group_list():
    groups = []
    for group, version in group_versions():
        if not group:
            continue
        gv = {"groupVersion": f"{group}/{version}", "version": version}
        groups.append({"name": group, "versions": [gv], "preferredVersion": gv})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
