"""Kubernetes schemas from the pinned kubernetes-validate package: strict validation of
objects, and the /openapi/v3 documents kubectl reads (field validation, `kubectl explain`)."""
import copy
import hashlib
import json
import os

import jsonschema
import kubernetes_validate
from referencing import Registry, Resource

DEFS_ID = "https://kubernetes.io/api/_definitions.json"


class Schemas:
    def __init__(self, version):
        folder = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema",
                              f"v{version}.0-local-strict")
        with open(os.path.join(folder, "_definitions.json")) as f:
            self.document = json.load(f)
        self.defs = self.document["$defs"]
        self.registry = Resource.from_contents(self.document) @ Registry()
        self.by_gvk = {}
        for name, schema in self.defs.items():
            for gvk in schema.get("x-kubernetes-group-version-kind") or []:
                self.by_gvk[(gvk["group"], gvk["version"], gvk["kind"])] = name
        self.validators = {}

    def _validator(self, kind):
        name = self.by_gvk[(kind.group, kind.version, kind.kind)]
        if name not in self.validators:
            schema = {"$ref": f"{DEFS_ID}#/$defs/{name}"}
            self.validators[name] = jsonschema.Draft202012Validator(schema, registry=self.registry)
        return self.validators[name]

    def check(self, kind, obj):
        """Unknown fields (path strings, each with the object that holds it and its key) and
        other errors ((field path, message)), as the API server's decoding and validation do."""
        unknown, errors = [], []
        for error in self._validator(kind).iter_errors(obj):
            path = _path(error.absolute_path)
            if error.validator == "additionalProperties":
                for extra in sorted(set(error.instance) - set(error.schema.get("properties", {}))):
                    unknown.append((f"{path}.{extra}" if path else extra, error.instance, extra))
            elif error.validator == "required":
                missing = error.message.split("'")[1]
                errors.append((f"{path}.{missing}" if path else missing, "Required value"))
            else:
                errors.append((path, f"Invalid value: {json.dumps(error.instance)}: {error.message}"))
        return unknown, errors

    def openapi(self, kinds):
        """The /openapi/v3 root and one document per group-version, as JSON bytes by path."""
        components = {name: _openapi_schema(schema) for name, schema in self.defs.items()}
        # As the real server publishes it.
        components["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = {"type": "string", "format": "int-or-string"}
        documents = {}
        for group, version in sorted({(k.group, k.version) for k in kinds}):
            prefix = f"apis/{group}/{version}" if group else f"api/{version}"
            paths = {}
            for k in kinds:
                if (k.group, k.version) != (group, version):
                    continue
                base = f"/{prefix}/namespaces/{{namespace}}/{k.plural}" if k.namespaced else f"/{prefix}/{k.plural}"
                gvk = {"group": k.group, "version": k.version, "kind": k.kind}
                ref = {"$ref": f"#/components/schemas/{self.by_gvk[(k.group, k.version, k.kind)]}"}
                body = {"content": {"application/json": {"schema": ref}}}
                field_validation = {"name": "fieldValidation", "in": "query", "schema": {"type": "string"},
                                    "description": "Ignore, Warn or Strict handling of unknown fields"}
                merge_patch = {"content": {"application/merge-patch+json": {"schema": {"type": "object"}}}}
                paths[base + "/{name}"] = {
                    "get": {"x-kubernetes-group-version-kind": gvk, "responses": {"200": body}},
                    "put": {"x-kubernetes-group-version-kind": gvk, "parameters": [field_validation],
                            "requestBody": body, "responses": {"200": body}},
                    "patch": {"x-kubernetes-group-version-kind": gvk, "parameters": [field_validation],
                              "requestBody": merge_patch,
                              "responses": {"200": body}},
                }
                paths[base] = {"post": {"x-kubernetes-group-version-kind": gvk, "parameters": [field_validation],
                                        "requestBody": body, "responses": {"201": body}}}
            doc = json.dumps({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "kubesim"},
                              "paths": paths, "components": {"schemas": components}}).encode()
            documents[prefix] = doc
        root = {"paths": {prefix: {"serverRelativeURL": f"/openapi/v3/{prefix}?hash={_digest(doc)}"}
                          for prefix, doc in documents.items()}}
        return json.dumps(root).encode(), documents


def _digest(document):
    return hashlib.sha256(document).hexdigest()[:16]


def _path(parts):
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def _openapi_schema(schema):
    """A JSON Schema 2020-12 definition as OpenAPI 3.0 wants it."""
    schema = copy.deepcopy(schema)

    def convert(node):
        if isinstance(node, dict):
            if isinstance(node.get("type"), list):
                types = [t for t in node["type"] if t != "null"]
                node["type"] = types[0] if len(types) == 1 else types
            if isinstance(node.get("$ref"), str):
                node["$ref"] = "#/components/schemas/" + node["$ref"].rsplit("/", 1)[-1]
            node.pop("additionalProperties", None) if node.get("additionalProperties") is False else None
            for value in node.values():
                convert(value)
        elif isinstance(node, list):
            for value in node:
                convert(value)
    convert(schema)
    return schema
