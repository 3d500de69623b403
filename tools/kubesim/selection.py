"""Label and field selectors, as the API server reads them (labels.Parse, fields.Parse)."""
import re

_SET = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")
_EQ = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_.-]*)\s*$")


class SelectorError(ValueError):
    pass


def _split(text):
    """Splits on commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current)
    return parts


def label_selector(text):
    """A predicate over a labels dict; raises SelectorError for a bad selector."""
    tests = []
    for part in _split(text or ""):
        m = _EQ.match(part)
        if m:
            key, op, value = m.groups()
            if op == "!=":
                tests.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                tests.append(lambda labels, k=key, v=value: labels.get(k) == v)
            continue
        m = _SET.match(part)
        if not m:
            raise SelectorError(f"unable to parse requirement: {part.strip()!r}")
        negated, key, op, values = m.groups()
        if op:
            if negated:
                raise SelectorError(f"unable to parse requirement: {part.strip()!r}")
            allowed = {v.strip() for v in values.split(",") if v.strip()}
            if op == "in":
                tests.append(lambda labels, k=key, a=allowed: labels.get(k) in a)
            else:
                tests.append(lambda labels, k=key, a=allowed: labels.get(k) not in a)
        elif negated:
            tests.append(lambda labels, k=key: k not in labels)
        else:
            tests.append(lambda labels, k=key: k in labels)
    return lambda labels: all(t(labels or {}) for t in tests)


def _field(obj, path):
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def field_selector(text):
    """A predicate over an object for `metadata.name=x,status.phase!=Running`."""
    tests = []
    for part in _split(text or ""):
        m = _EQ.match(part)
        if not m:
            raise SelectorError(f"invalid selector: {part.strip()!r}; can't understand {part.strip()!r}")
        path, op, value = m.groups()
        if op == "!=":
            tests.append(lambda o, p=path, v=value: str(_field(o, p) or "") != v)
        else:
            tests.append(lambda o, p=path, v=value: str(_field(o, p) or "") == v)
    return lambda obj: all(t(obj) for t in tests)
