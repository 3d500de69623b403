"""PATCH bodies as the API server applies them: JSON merge patch (RFC 7386), JSON patch
(RFC 6902) and strategic merge patch (lists merged by their patch merge key, as the schemas'
x-kubernetes-patch-merge-key says)."""
import copy

from store import Status


def apply_patch(obj, patch, content_type, schemas, kind):
    if content_type == "application/merge-patch+json":
        return merge(obj, patch)
    if content_type == "application/json-patch+json":
        return json_patch(obj, patch)
    if content_type == "application/strategic-merge-patch+json":
        return strategic(obj, patch, schemas, schemas.by_gvk[(kind.group, kind.version, kind.kind)])
    raise Status(415, "the body of the request was in an unknown format - accepted media types include: "
                 "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json")


def merge(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge(out.get(key), value)
    return out


def _pointer(path):
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def json_patch(obj, operations):
    obj = copy.deepcopy(obj)
    for op in operations if isinstance(operations, list) else []:
        parts = _pointer(op.get("path", ""))
        parent = obj
        try:
            for p in parts[:-1]:
                parent = parent[int(p)] if isinstance(parent, list) else parent[p]
            last = parts[-1] if parts else None
            kind = op.get("op")
            if kind in ("add", "replace"):
                if isinstance(parent, list):
                    index = len(parent) if last == "-" else int(last)
                    if kind == "add":
                        parent.insert(index, op["value"])
                    else:
                        parent[index] = op["value"]
                else:
                    if kind == "replace" and last not in parent:
                        raise KeyError(last)
                    parent[last] = op["value"]
            elif kind == "remove":
                del parent[int(last) if isinstance(parent, list) else last]
            elif kind == "test":
                value = parent[int(last)] if isinstance(parent, list) else parent[last]
                if value != op.get("value"):
                    raise Status(422, f"the server rejected our request due to an error in our request: "
                                 f"testing value {op['path']} failed")
            else:
                raise Status(400, f"Unexpected kind: {kind}")
        except (KeyError, IndexError, ValueError, TypeError):
            raise Status(422, f"the server rejected our request due to an error in our request: "
                         f"doc is missing path: \"{op.get('path')}\"")
    return obj


def strategic(target, patch, schemas, definition):
    """Strategic merge: maps merge, lists of objects with a patch merge key merge by that
    key, `$patch: delete` removes an element, other lists are replaced."""
    schema = schemas.defs.get(definition, {}) if definition else {}
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return copy.deepcopy(patch)
    out = dict(target)
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        field = (schema.get("properties") or {}).get(key, {})
        if value is None:
            out.pop(key, None)
        elif isinstance(value, list) and field.get("x-kubernetes-patch-merge-key") \
                and field.get("x-kubernetes-patch-strategy", "").startswith("merge"):
            out[key] = _merge_list(out.get(key) or [], value, field["x-kubernetes-patch-merge-key"], schemas,
                                   _ref(field.get("items", {})))
        elif isinstance(value, dict):
            out[key] = strategic(out.get(key) or {}, value, schemas, _ref(field))
        else:
            out[key] = copy.deepcopy(value)
    return out


def _ref(field):
    ref = field.get("$ref") or next((a.get("$ref") for a in field.get("allOf", []) if "$ref" in a), None)
    return ref.rsplit("/", 1)[-1] if ref else None


def _merge_list(current, patch, key, schemas, definition):
    out = [copy.deepcopy(c) for c in current]
    for item in patch:
        if not isinstance(item, dict):
            return copy.deepcopy(patch)
        index = next((i for i, c in enumerate(out) if isinstance(c, dict) and c.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if index is not None:
                out.pop(index)
        elif index is None:
            out.append({k: v for k, v in item.items() if not k.startswith("$")})
        else:
            out[index] = strategic(out[index], item, schemas, definition)
    return out
