"""Writes the seed corpus of every fuzz target (Tests/Fuzz/TARGET/corpus).

Seeds are valid inputs of each kind, and near-valid ones (one field wrong, truncated, nested
one level past a limit), from which libFuzzer's mutations reach deep into the decoders. The
payloads are made by a built dkrun from the examples, so that a worker's request carries a
payload whose DAG hash holds. Run it again when a format changes:

    .venv/bin/python scripts/fuzz_seeds.py [--dkrun .build/debug/dkrun]
"""

import argparse
import base64
import json
import os
import pathlib
import shutil
import struct
import subprocess
import tempfile

import msgpack

ROOT = pathlib.Path(__file__).resolve().parent.parent
FUZZ = ROOT / "Tests" / "Fuzz"


def pack(value):
    return msgpack.packb(value, use_bin_type=True)


def frame(value):
    body = pack(value)
    return struct.pack(">I", len(body)) + body


def nested(depth, inner, opening, closing):
    return opening * depth + inner + closing * depth


def state(kind, result=None, **fields):
    return pack(dict(kind=kind, result=result, **fields))


def payloads(dkrun):
    """The payloads of two examples: {name: bytes}."""
    made = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in [("hello", []), ("etl", ["--param", "batch=3"])]:
            out = os.path.join(tmp, name + ".payload")
            subprocess.run([dkrun, "serialize", str(ROOT / "examples" / (name + ".lua")),
                            "-o", out, *args], check=True, capture_output=True)
            made[name] = pathlib.Path(out).read_bytes()
    return made


def msgpack_seeds():
    values = {
        "scalars": [None, True, False, 0, 127, 128, -1, -32, -33, 2**31, -2**63, 2**63 - 1,
                    1.5, float("inf"), "", "text", "é", b"\x00\xff"],
        "map": {"b": 1, "a": [1, 2, {"c": None}], 1: "int key", 2.5: "float key"},
        "state": {"kind": "Success", "result": {"rows": [1, 2, 3]}, "message": "done"},
        "mapped-state": {"kind": "Mapped", "result": None, "children": [
            {"kind": "Success", "result": 1},
            {"kind": "Failed", "result": None, "message": "boom", "traceback": "x:1:"}]},
        "bad-state-kind": {"kind": "Exploded", "result": 1},
        "long-string": "x" * 300,
        "array16": list(range(20)),
    }
    seeds = {name: pack(value) for name, value in values.items()}
    seeds["bool-key"] = b"\x81\xc3\xa8bool key"
    seeds["float32"] = b"\xca" + struct.pack(">f", 0.25)
    seeds["str32-bin16"] = b"\x92\xdb\x00\x00\x00\x01a\xc5\x00\x01b"
    seeds["uint64-too-big"] = b"\xcf\xff\xff\xff\xff\xff\xff\xff\xff"
    seeds["duplicate-keys"] = b"\x82\xa1a\x01\xa1a\x02"
    seeds["truncated"] = pack({"key": "value"})[:-2]
    seeds["trailing-bytes"] = pack([1, 2]) + b"\xc0"
    seeds["unsupported-ext"] = b"\xd4\x01\x00"
    seeds["huge-array-header"] = b"\xdd\xff\xff\xff\xff"
    seeds["depth-511"] = nested(511, b"\xc0", b"\x91", b"")
    seeds["depth-513"] = nested(513, b"\xc0", b"\x91", b"")
    seeds["deep-maps"] = nested(300, b"\x80", b"\x81\xa1k", b"")
    return seeds


def bridge_seeds():
    seeds = msgpack_seeds()
    seeds["nan-key"] = b"\x81\xcb" + struct.pack(">d", float("nan")) + b"\x01"
    seeds["null-key"] = b"\x82\xc0\x01\xa1a\x02"
    seeds["float-key-one"] = b"\x81\xcb" + struct.pack(">d", 1.0) + b"\xa1x"
    seeds["array-with-nils"] = pack([1, None, 3, None])
    seeds["table-keys"] = b"\x81\x91\x01\xa1v"
    seeds["depth-200"] = nested(200, b"\x01", b"\x91", b"")
    seeds["depth-500"] = nested(500, b"\x01", b"\x81\x01", b"")
    return seeds


def payload_seeds(made):
    seeds = {name: data for name, data in made.items()}
    etl = msgpack.unpackb(made["etl"], raw=False, strict_map_key=False)

    def variant(name, change):
        value = msgpack.unpackb(made["etl"], raw=False, strict_map_key=False)
        change(value)
        seeds[name] = pack(value)

    variant("version-2", lambda v: v.update(version=2))
    variant("no-format", lambda v: v.pop("format"))
    variant("wrong-dag-hash", lambda v: v.update(dag_hash="0" * 64))
    variant("no-script", lambda v: v.pop("script"))
    variant("parameters-not-a-map", lambda v: v.update(parameters=[1, 2]))
    variant("invalid-utf8-parameter", lambda v: v["parameters"].update({b"\xff": 1}))
    variant("module", lambda v: v.update(modules={"lib": {"chunkname": "@lib.lua",
                                                          "source": b"return {}"}}))
    variant("file", lambda v: v.update(files={"spec.yaml": b"kind: Pod\n"}))
    seeds["flow-only"] = pack(etl["flow"])
    seeds["truncated"] = made["etl"][: len(made["etl"]) // 2]
    return seeds


def frames_seeds(made):
    return {
        "hello": frame({"op": "hello"}),
        "two-frames": frame({"op": "hello"}) + frame([1, 2, 3]),
        "payload": frame({"op": "load", "payload": made["hello"]}),
        "empty-frame": b"\x00\x00\x00\x00",
        "header-only": b"\x00\x00\x00\x10",
        "truncated-header": b"\x00\x00",
        "truncated-body": frame({"op": "hello"})[:-3],
        "length-too-large": b"\x7f\xff\xff\xff" + pack("x"),
        "length-at-limit": b"\x40\x00\x00\x00" + pack("x"),
        "bad-messagepack": b"\x00\x00\x00\x02\xc1\xc1",
    }


def worker_seeds(made):
    etl = made["etl"]
    digest = subprocess.run(["sha256sum"], input=etl, capture_output=True,
                            check=True).stdout.split()[0].decode()
    load = frame({"op": "load", "payload": etl})
    records = [{"id": i, "amount": i * 10} for i in (1, 2, 3)]
    ok = state("Success", records)
    context = {"id": "run-1", "flow": "etl", "start": 1704067200.0,
               "parameters": {"batch": 3, "fail_every": 0}}

    def request(op, **fields):
        return frame(dict(op=op, hash=digest, **fields))

    children = [state("Success", {"id": i, "taxed": i * 12.0}) for i in (1, 2, 3)]
    mapped = state("Mapped", None, children=[msgpack.unpackb(c) for c in children])
    return {
        "hello": frame({"op": "hello"}),
        "load-twice": load + load,
        "run-parameter": load + request("run", task="batch", upstream={}),
        "run-extract": load + request("run", task="extract", upstream={
            "batch": state("Success", 3)}, context=context),
        "expand": load + request("expand", task="transform", upstream={
            "extract": ok, "fail_every": state("Success", 0)}),
        "run-child": load + request("run", task="transform", map_index=1, upstream={
            "extract": ok, "fail_every": state("Success", 0)}),
        "collect": frame({"op": "collect", "children": children}),
        "run-downstream": load + request("run", task="load", upstream={"transform": mapped}),
        "upstream-failed": load + request("run", task="load", upstream={
            "transform": state("Failed", None, message="boom")}),
        "report-always": load + request("run", task="report", upstream={
            "load": state("TriggerFailed")}),
        "missing-upstream": load + request("run", task="load", upstream={}),
        "not-loaded": request("run", task="extract", upstream={}),
        "unknown-op": frame({"op": "explode"}),
        "bad-state": load + request("run", task="load", upstream={"transform": b"\xc1"}),
        "bad-payload": frame({"op": "load", "payload": etl[:100]}),
    }


def json_seeds():
    seeds = {
        "object": b'{"a": [1, 2.5, -3e10, true, false, null, "x\\n\\u00e9\\ud83d\\ude00"]}',
        "empty": b"{}",
        "integers": b"[9223372036854775807, -9223372036854775808, 9223372036854775808, -0]",
        "floats": b"[1e400, -1e-400, 0.1, 1E+2, 2.5e-3]",
        "escapes": b'"\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041"',
        "lone-surrogate": b'"\\udc00"',
        "kube-status": json.dumps({
            "kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": 'pods "x" not found', "reason": "NotFound", "code": 404,
            "details": {"name": "x", "kind": "pods"}}).encode(),
        "exec-credential": json.dumps({
            "apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
            "status": {"token": "abc", "expirationTimestamp": "2030-01-01T00:00:00Z"}}).encode(),
        "depth-511": nested(511, b"1", b"[", b"]"),
        "depth-513": nested(513, b"1", b"[", b"]"),
        "trailing-comma": b"[1,]",
        "missing-value": b'{"a":}',
        "unterminated": b'"abc',
        "control-character": b'"a\x01b"',
        "invalid-utf8": b'"\xff\xfe"',
        "trailing-text": b"[] x",
    }
    return seeds


POD_SPEC = (ROOT / "examples" / "worker_spec.yaml").read_bytes()


def yaml_seeds():
    return {
        "pod-spec": POD_SPEC,
        "anchors": b"base: &b {cpu: 1, memory: 2G}\nworker:\n  <<: *b\n  cpu: 2\nlist: [*b, *b]\n",
        "merge-list": b"a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: [*a, *b]\n",
        "tags": b"- !!str 1\n- !!int '2'\n- !!float 3\n- !!bool true\n- !!null ''\n"
                b"- !custom x\n",
        "scalars": b"[~, null, true, False, 0x1f, 0o17, -12, +3, 1.5e3, .inf, -.Inf, .nan,"
                   b" y, no]\n",
        "block-scalars": b"literal: |\n  a\n  b\nfolded: >-\n  c\n  d\n",
        "documents": b"--- 1\n--- [2]\n...\n--- {3: 4}\n",
        "directives": b"%YAML 1.2\n%TAG !e! tag:example.com,2000:\n--- !e!x 1\n",
        "complex-keys": b"? [a, b]\n: 1\n? {c: d}\n: 2\n\"<<\": quoted merge key\n",
        "quoted": b"a: \"\\u00e9\\x41\\n\"\nb: 'it''s'\n",
        "laughs": b"a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\n"
                  b"d: [*c, *c, *c, *c]\n",
        "undefined-alias": b"a: *nothing\n",
        "bad-indent": b"a:\n  b: 1\n c: 2\n",
        "depth-600": nested(600, b"1", b"[", b"]"),
        "depth-40-block": b"".join(b" " * i + b"k:\n" for i in range(40)) + b" " * 40 + b"v\n",
    }


def kubeconfig(user, cluster=None, extra=None):
    cluster = cluster or {"server": "https://127.0.0.1:6443",
                          "certificate-authority-data": base64.b64encode(b"PEM").decode()}
    doc = {
        "apiVersion": "v1", "kind": "Config", "current-context": "dev",
        "contexts": [{"name": "dev", "context": {"cluster": "c", "user": "u",
                                                 "namespace": "team"}},
                     {"name": "other", "context": {"cluster": "missing"}}],
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
    }
    doc.update(extra or {})
    return json.dumps(doc, indent=2).encode()


def kubeconfig_seeds():
    exec_plugin = {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": "get-token",
        "args": ["--cluster", "c"], "env": [{"name": "A", "value": "1"}],
        "interactiveMode": "Never", "installHint": "install get-token"}}
    b64 = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n").decode()
    return {
        "token": kubeconfig({"token": "secret-token"}),
        "token-file": kubeconfig({"tokenFile": "token"}),
        "client-certificate": kubeconfig({"client-certificate-data": b64,
                                          "client-key-data": b64}),
        "certificate-without-key": kubeconfig({"client-certificate-data": b64}),
        "certificate-files": kubeconfig({"client-certificate": "missing.crt",
                                         "client-key": "missing.key"}),
        "exec": kubeconfig(exec_plugin),
        "exec-no-command": kubeconfig({"exec": {"apiVersion": "v1"}}),
        "basic": kubeconfig({"username": "admin", "password": "pw"}),
        "auth-provider": kubeconfig({"auth-provider": {"name": "gcp"}}),
        "insecure": kubeconfig({}, {"server": "https://[::1]:6443",
                                    "insecure-skip-tls-verify": True}),
        "bad-base64": kubeconfig({}, {"server": "https://h",
                                      "certificate-authority-data": "!!not base64"}),
        "no-server": kubeconfig({}, {"certificate-authority": "ca.crt"}),
        "no-current-context": kubeconfig({}, extra={"current-context": ""}),
        "block-style": b"apiVersion: v1\nkind: Config\ncurrent-context: dev\ncontexts:\n"
                       b"- name: dev\n  context: {cluster: c, user: u}\nclusters:\n"
                       b"- name: c\n  cluster: {server: 'https://h:443'}\nusers:\n"
                       b"- name: u\n  user: {token: abc}\n",
        "not-a-map": b"- just\n- a list\n",
        "empty": b"",
    }


def write(target, seeds):
    corpus = FUZZ / target / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir(parents=True)
    for name, data in seeds.items():
        (corpus / name).write_bytes(data)
    print(f"{target}: {len(seeds)} seeds")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dkrun", default=str(ROOT / ".build" / "debug" / "dkrun"))
    args = parser.parse_args()
    made = payloads(args.dkrun)
    write("msgpack", msgpack_seeds())
    write("bridge", bridge_seeds())
    write("payload", payload_seeds(made))
    write("frames", frames_seeds(made))
    write("worker", worker_seeds(made))
    write("json", json_seeds())
    write("yaml", yaml_seeds())
    write("kubeconfig", kubeconfig_seeds())


if __name__ == "__main__":
    main()
