"""kubesim's API server: `python tools/kubesim/apiserver.py --port P [options]`.

Speaks enough of the Kubernetes API, with the real server's status codes, Status reasons
and wording, that the real kubectl and dkrun's client work against it unmodified:
discovery, /openapi/v3, create/get/list/watch/update/patch/delete(-collection) with label
and field selectors, resourceVersion conflicts, watch resumption, bookmarks and 410 Gone,
schema validation (fieldValidation Strict/Warn/Ignore), graceful pod deletion, ownerReference
garbage collection, services/proxy (HTTP to a Service's running pods), optional TLS with a
bearer token or client certificates, and a fault hook (POST /kubesim/faults) for tests. It keeps everything in memory and binds 127.0.0.1 only.
"""
import argparse
import asyncio
import copy
import json
import os
import ssl
import sys
import time

import aiohttp
from aiohttp import web

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resources  # noqa: E402
from patches import apply_patch  # noqa: E402
from controllers import Controllers  # noqa: E402
from schemas import Schemas  # noqa: E402
from store import Status, Store, invalid  # noqa: E402


class Faults:
    """Requests to fail on purpose: the next `count` requests whose path starts with
    `path` (and whose method is `method`, when given) get `status` (with Retry-After), or
    have their connection dropped."""

    def __init__(self):
        self.pending = []

    def add(self, spec):
        self.pending.append(dict(spec))

    def take(self, method, path):
        for fault in self.pending:
            if path.startswith(fault.get("path", "/")) and fault.get("method", method) == method:
                fault["count"] = fault.get("count", 1) - 1
                if fault["count"] <= 0:
                    self.pending.remove(fault)
                return fault
        return None


class APIServer:
    def __init__(self, version, token=None, history=5000, bookmark_every=5.0, forbidden=(), user="kubesim",
                 log_follow_seconds=None):
        self.store = Store(history)
        # A followed log ends after this long, as behind a proxy's request timeout.
        self.log_follow_seconds = log_follow_seconds
        # "verb:resource" pairs the user may not do: kubesim's stand-in for RBAC.
        self.forbidden = set(forbidden)
        self.user = user
        self.bookmark_every = bookmark_every
        self.schemas = Schemas(version)
        self.openapi_root, self.openapi_docs = self.schemas.openapi(resources.ALL)
        self.version = version
        self.token = token
        self.faults = Faults()
        self.controllers = None  # the controllers' task, once serving

    # Plumbing

    def app(self):
        app = web.Application(middlewares=[self.middleware], client_max_size=64 * 2**20)
        app.router.add_route("*", "/{tail:.*}", self.route)
        return app

    @web.middleware
    async def middleware(self, request, handler):
        if request.path.startswith("/kubesim/"):
            return await handler(request)
        fault = self.faults.take(request.method, request.path)
        if fault:
            if fault.get("drop"):
                request.transport.close()
                raise asyncio.CancelledError()
            headers = {"Retry-After": str(fault["retryAfter"])} if "retryAfter" in fault else {}
            return self.status(Status(fault.get("status", 500), fault.get("message", "injected fault")), headers)
        # As on a real cluster, anyone may read the version and health (system:public-info-viewer).
        public = request.path in ("/version", "/healthz", "/livez", "/readyz")
        if self.token is not None and not public and not self.authenticated(request):
            return self.status(Status(401, "Unauthorized"))
        try:
            return await handler(request)
        except Status as s:
            return self.status(s)

    def authenticated(self, request):
        if request.headers.get("Authorization") == f"Bearer {self.token}":
            return True
        ssl_object = request.transport.get_extra_info("ssl_object")
        return bool(ssl_object and ssl_object.getpeercert())

    @staticmethod
    def status(s, headers=None):
        return web.json_response(s.body(), status=s.code, headers=headers)

    async def route(self, request):
        parts = [p for p in request.path.split("/") if p]
        if request.path == "/kubesim/faults" and request.method == "POST":
            self.faults.add(await request.json())
            return web.json_response({"ok": True})
        if parts in (["healthz"], ["livez"], ["readyz"]):
            return web.Response(text="ok")
        if parts == ["version"]:
            major, minor = self.version.split(".")
            return web.json_response({"major": major, "minor": minor, "gitVersion": f"v{self.version}.0-kubesim",
                                      "platform": "linux/amd64"})
        if parts == ["api"]:
            return web.json_response(resources.api_versions())
        if parts == ["apis"]:
            return web.json_response(resources.api_group_list())
        if parts[:2] == ["openapi", "v3"]:
            return self.openapi("/".join(parts[2:]))
        if parts[:1] == ["api"] and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise Status(404, "the server could not find the requested resource")
        if (group, version) not in resources.group_versions():
            raise Status(404, "the server could not find the requested resource")
        if not rest:
            return web.json_response(resources.resource_list(group, version))
        return await self.resource(request, group, version, rest)

    def openapi(self, prefix):
        if not prefix:
            return web.Response(body=self.openapi_root, content_type="application/json")
        if prefix not in self.openapi_docs:
            raise Status(404, "the server could not find the requested resource")
        return web.Response(body=self.openapi_docs[prefix], content_type="application/json")

    # Resources

    async def resource(self, request, group, version, rest):
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3 and (group, version, rest[2]) in resources.BY_PATH:
            namespace, rest = rest[1], rest[2:]
        kind = resources.BY_PATH.get((group, version, rest[0]))
        if kind is not None and kind.kind == "Service" and namespace is not None and len(rest) >= 3 and rest[2] == "proxy":
            self.authorize("get" if request.method == "GET" else self.verb(request.method, rest[1], {}), kind, "proxy",
                           namespace)
            return await self.service_proxy(request, namespace, rest[1], "/".join(rest[3:]))
        if kind is None or len(rest) > 3 or (namespace is not None and not kind.namespaced):
            raise Status(404, "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        q = request.query
        method = request.method
        self.authorize(self.verb(method, name, q), kind, sub, namespace)
        if kind.kind in resources.REVIEWS:
            if method != "POST" or name is not None:
                raise Status(405, "the server does not allow this method on the requested resource")
            return web.json_response(self.review(await self.body(request)), status=201)
        if kind.namespaced and namespace is None and (name is not None or method not in ("GET", "DELETE")):
            raise Status(404, "the server could not find the requested resource")
        if name is None:
            if method == "GET":
                if q.get("watch") in ("true", "1"):
                    return await self.watch(request, kind, namespace)
                items, rv = self.store.list(kind, namespace, q.get("labelSelector"), q.get("fieldSelector"))
                return web.json_response({"kind": kind.kind + "List", "apiVersion": kind.api_version,
                                          "metadata": {"resourceVersion": rv}, "items": items})
            if method == "POST":
                obj, warnings = self.decode(kind, await self.body(request), q.get("fieldValidation"))
                created = self.store.create(kind, namespace, obj, dry_run=q.get("dryRun") == "All")
                return self.reply(created, 201, warnings)
            if method == "DELETE":
                items, rv = self.store.list(kind, namespace, q.get("labelSelector"), q.get("fieldSelector"))
                options = await self.delete_options(request)
                deleted = [self.store.delete(kind, namespace or i["metadata"].get("namespace"), i["metadata"]["name"],
                                             **options) for i in items]
                return web.json_response({"kind": kind.kind + "List", "apiVersion": kind.api_version,
                                          "metadata": {"resourceVersion": str(self.store.rv)}, "items": deleted})
            raise Status(405, "the server does not allow this method on the requested resource")
        if sub not in (None, "status", "log") or (sub == "log" and kind.kind != "Pod"):
            raise Status(404, "the server could not find the requested resource")
        if method == "GET":
            obj = self.store.get(kind, namespace, name)
            if sub == "log":
                return await self.logs(request, obj)
            return web.json_response(obj)
        if method == "PUT":
            obj, warnings = self.decode(kind, await self.body(request), q.get("fieldValidation"))
            return self.reply(self.store.update(kind, namespace, name, obj, sub), 200, warnings)
        if method == "PATCH":
            current = copy.deepcopy(self.store.get(kind, namespace, name))
            patched = apply_patch(current, await self.body(request), request.content_type, self.schemas, kind)
            patched.get("metadata", {}).pop("resourceVersion", None)
            obj, warnings = self.decode(kind, patched, q.get("fieldValidation"))
            return self.reply(self.store.update(kind, namespace, name, obj, sub), 200, warnings)
        if method == "DELETE":
            return web.json_response(self.store.delete(kind, namespace, name, **await self.delete_options(request)))
        raise Status(405, "the server does not allow this method on the requested resource")

    async def service_proxy(self, request, namespace, name, path):
        """services/proxy: the request, over HTTP, to a ready endpoint of the Service (a
        running pod its selector picks, at the port's target port), as `kubectl proxy` and
        `kubectl get --raw .../services/NAME:PORT/proxy/PATH` reach a cluster's dashboards.
        NAME is `[SCHEME:]SERVICE[:PORT]`, PORT a port's name or number (the first port when
        not given); the answer comes back as the pod gave it."""
        parts = name.split(":")
        if parts[0] in ("http", "https") and len(parts) > 1:
            scheme, parts = parts[0], parts[1:]
        else:
            scheme = "http"
        service = self.store.get(resources.BY_PATH[("", "v1", "services")], namespace, parts[0])
        ports = service["spec"].get("ports") or []
        wanted = parts[1] if len(parts) > 1 else None
        port = next((p for p in ports if wanted is None or wanted in (p.get("name"), str(p.get("port")))), None)
        if port is None:
            raise Status(503, f'no endpoints available for service "{name}"')
        selector = service["spec"].get("selector") or {}
        pods, _ = self.store.list(resources.BY_PATH[("", "v1", "pods")], namespace,
                                  ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or None)
        ready = [p for p in pods if selector and p.get("status", {}).get("phase") == "Running"
                 and p["status"].get("podIP") and "deletionTimestamp" not in p["metadata"]]
        if not ready:
            raise Status(503, f'no endpoints available for service "{name}"')
        target = port.get("targetPort", port["port"])
        if isinstance(target, str):  # a container port's name
            named = [p.get("containerPort") for container in ready[0]["spec"].get("containers", [])
                     for p in container.get("ports", []) if p.get("name") == target]
            target = named[0] if named else port["port"]
        url = f"{scheme}://{ready[0]['status']['podIP']}:{target}/{path}"
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in ("host", "authorization", "content-length", "transfer-encoding", "connection")}
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
                async with session.request(request.method, url, params=request.query, headers=headers,
                                           data=await request.read(), allow_redirects=False, ssl=False) as answer:
                    body = await answer.read()
                    kept = {k: v for k, v in answer.headers.items()
                            if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding")}
                    return web.Response(body=body, status=answer.status, headers=kept)
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as e:
            raise Status(503, f"error trying to reach service: {e}") from e

    @staticmethod
    def verb(method, name, query):
        if method == "GET":
            return "get" if name else ("watch" if query.get("watch") in ("true", "1") else "list")
        if method == "DELETE":
            return "delete" if name else "deletecollection"
        return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())

    def authorize(self, verb, kind, sub, namespace):
        resource = kind.plural + (f"/{sub}" if sub else "")
        if f"{verb}:{resource}" in self.forbidden:
            where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
            raise Status(403, f'{resource}{"." + kind.group if kind.group else ""} is forbidden: User "{self.user}" '
                         f'cannot {verb} resource "{resource}" in API group "{kind.group}"{where}',
                         details={"kind": kind.plural, **({"group": kind.group} if kind.group else {})})

    def review(self, review):
        """A SelfSubjectAccessReview, answered from the forbidden list."""
        attributes = (review.get("spec") or {}).get("resourceAttributes") or {}
        resource = attributes.get("resource", "")
        if attributes.get("subresource"):
            resource += "/" + attributes["subresource"]
        allowed = f"{attributes.get('verb')}:{resource}" not in self.forbidden
        review["status"] = {"allowed": allowed, **({} if allowed else {"reason": "kubesim forbids it (--forbid)"})}
        return review

    @staticmethod
    async def body(request):
        if "protobuf" in request.content_type:
            # kubesim speaks JSON only (kubectl's typed `create configmap` and the like send protobuf).
            raise Status(415, "the body of the request was in an unknown format - accepted media types include: "
                         "application/json, application/yaml")
        try:
            return await request.json(loads=json.loads)
        except ValueError as e:
            raise Status(400, f"couldn't get version/kind; json parse error: {e}")

    @staticmethod
    async def delete_options(request):
        options = {}
        if request.can_read_body:
            try:
                options = await request.json()
            except ValueError:
                raise Status(400, "invalid DeleteOptions")
        grace = request.query.get("gracePeriodSeconds", options.get("gracePeriodSeconds"))
        return {"grace": None if grace is None else int(grace),
                "propagation": request.query.get("propagationPolicy", options.get("propagationPolicy"))}

    def decode(self, kind, obj, mode):
        """Checks an object against its schema: unknown fields fail (Strict), warn and are
        dropped (Warn, the server default) or are dropped (Ignore); other errors are 422."""
        if not isinstance(obj, dict):
            raise Status(400, "the body of the request was in an unknown format")
        if obj.get("kind") not in (None, kind.kind) or obj.get("apiVersion") not in (None, kind.api_version):
            raise Status(400, f"the API version in the data ({obj.get('apiVersion')}) does not match the expected "
                         f"API version ({kind.api_version})")
        obj.setdefault("kind", kind.kind)
        obj.setdefault("apiVersion", kind.api_version)
        unknown, errors = self.schemas.check(kind, obj)
        mode = mode or "Warn"
        if unknown and mode == "Strict":
            fields = ", ".join(f'unknown field "{path}"' for path, _, _ in unknown)
            raise Status(400, f"strict decoding error: {fields}")
        warnings = [f'unknown field "{path}"' for path, _, _ in unknown] if mode == "Warn" else []
        for _, holder, key in unknown:
            holder.pop(key, None)
        if errors:
            raise invalid(kind, (obj.get("metadata") or {}).get("name", ""), errors)
        return obj, warnings

    @staticmethod
    def reply(obj, code, warnings):
        headers = [("Warning", '299 - "%s"' % w.replace('"', '\\"')) for w in warnings]
        response = web.json_response(obj, status=code)
        for k, v in headers:
            response.headers.add(k, v)
        return response

    async def logs(self, request, pod):
        """pods/log from the file the kubelet writes (KUBESIM_LOG_DIR/ns/pod/container.log)."""
        containers = [c["name"] for c in pod["spec"].get("containers", [])]
        container = request.query.get("container") or (containers[0] if len(containers) == 1 else None)
        meta = pod["metadata"]
        if container is None:
            raise Status(400, f"a container name must be specified for pod {meta['name']}, choose one of: "
                         f"[{' '.join(containers)}]")
        path = os.path.join(os.environ.get("KUBESIM_LOG_DIR", "/nonexistent"), meta["namespace"], meta["name"],
                            f"{container}.log")
        if not os.path.exists(path):
            raise Status(400, f'container "{container}" in pod "{meta["name"]}" is waiting to start: '
                         "ContainerCreating")
        with open(path, "rb") as f:
            data = f.read()
        offset = len(data)  # what follows is streamed from here, whatever tailLines keeps
        tail = request.query.get("tailLines")
        if tail is not None:
            data = b"".join(data.splitlines(keepends=True)[-int(tail):]) if int(tail) > 0 else b""
        if request.query.get("follow") not in ("true", "1"):
            return web.Response(body=data, content_type="text/plain")
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        await response.write(data)
        started = time.monotonic()
        while self.log_follow_seconds is None or time.monotonic() - started < self.log_follow_seconds:
            with open(path, "rb") as f:
                f.seek(offset)
                chunk = f.read()
            if chunk:
                offset += len(chunk)
                await response.write(chunk)
            current = self.store.objects.get((resources.BY_PATH[("", "v1", "pods")], meta["namespace"], meta["name"]))
            if current is None or current.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                return response
            await asyncio.sleep(0.1)
        return response

    async def watch(self, request, kind, namespace):
        q = request.query
        match = self.store.matcher(q.get("labelSelector"), q.get("fieldSelector"))
        response = web.StreamResponse(headers={"Content-Type": "application/json",
                                               "Transfer-Encoding": "chunked"})
        await response.prepare(request)
        queue = self.store.subscribe()

        async def send(event, obj):
            await response.write(json.dumps({"type": event, "object": obj}).encode() + b"\n")

        def wanted(k, obj):
            return k is kind and (namespace is None or obj["metadata"].get("namespace") == namespace) and match(obj)

        try:
            rv = q.get("resourceVersion")
            if rv in (None, "", "0"):
                for obj in self.store.list(kind, namespace)[0]:
                    if match(obj):
                        await send("ADDED", obj)
            else:
                backlog = self.store.events_since(int(rv))
                if backlog is None:
                    await send("ERROR", Status(410, f"too old resource version: {rv} "
                                               f"({self.store.history[0][0]})", "Expired").body())
                    return response
                for _, event, k, obj in backlog:
                    if wanted(k, obj):
                        await send(event, obj)
            deadline = asyncio.get_running_loop().time() + float(q.get("timeoutSeconds", 1800))
            bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
            while True:
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    return response
                try:
                    event, k, obj = await asyncio.wait_for(queue.get(), min(left, self.bookmark_every))
                except asyncio.TimeoutError:
                    if bookmarks:
                        await send("BOOKMARK", {"kind": kind.kind, "apiVersion": kind.api_version,
                                                "metadata": {"resourceVersion": str(self.store.rv)}})
                    continue
                if wanted(k, obj):
                    await send(event, obj)
        except (ConnectionResetError, asyncio.CancelledError):
            return response
        finally:
            self.store.unsubscribe(queue)


def main():
    parser = argparse.ArgumentParser(description="kubesim's Kubernetes API server (tests only)")
    parser.add_argument("--port", type=int, default=6443)
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to bind (a loopback one: 127.10.0.1 inside kubesim's node network namespace)")
    parser.add_argument("--port-file", help="write the port bound here (with --port 0)")
    parser.add_argument("--kubernetes-version", default=os.environ.get("KUBESIM_K8S_VERSION", "1.33"))
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--client-ca", help="accept client certificates signed by this CA")
    parser.add_argument("--token", help="require this bearer token (or a client certificate)")
    parser.add_argument("--watch-history", type=int, default=5000,
                        help="events kept for resuming watches; older resourceVersions get 410 Gone")
    parser.add_argument("--bookmark-seconds", type=float, default=5.0, help="idle time before a watch BOOKMARK")
    parser.add_argument("--forbid", action="append", default=[], metavar="VERB:RESOURCE",
                        help="deny the user this (e.g. create:pods, get:pods/log); repeatable")
    parser.add_argument("--user", default="kubesim", help="the user name in Forbidden messages")
    parser.add_argument("--log-follow-seconds", type=float,
                        help="end followed pod logs after this long (as a proxy's timeout would)")
    args = parser.parse_args()
    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if args.client_ca:
            context.load_verify_locations(args.client_ca)
            context.verify_mode = ssl.CERT_OPTIONAL
    server = APIServer(args.kubernetes_version, args.token, args.watch_history, args.bookmark_seconds,
                       args.forbid, args.user, args.log_follow_seconds)

    async def serve():
        runner = web.AppRunner(server.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, args.host, args.port, ssl_context=context)
        await site.start()
        server.controllers = asyncio.create_task(Controllers(server.store).run())
        port = runner.addresses[0][1]
        if args.port_file:
            with open(args.port_file + ".tmp", "w") as f:
                f.write(str(port))
            os.replace(args.port_file + ".tmp", args.port_file)
        await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
