"""Runs one dkrun flow on a Dask cluster: ``python -m dkrun_dask.driver``.

dkrun starts this process, sends one start frame on stdin (the payload, the task graph, the
DaskExecutor's settings) and reads event frames on stdout until ``done`` or ``error``. A
``cancel`` frame, the end of stdin, SIGINT or SIGTERM cancel the run. The whole graph is
submitted at once; a mapped task's children, and what lies downstream of them, are
submitted when Dask has decided its width. A mapped task that maps over a mapped task child by
child goes depth-first: its child i depends on child i of that task only, not on all of its
children, and its width is decided from the upstream task's width.

Tasks are fused into groups (fused_groups): a linear chain (each link the only downstream task
of the one before and its only upstream task), and batches of cheap tasks side by side (alike
tasks that earlier runs measured to take less than CHEAP, the start frame's "cost" of a task),
linked into longer groups where one group is the only one after another. One Dask task runs a
whole group on one worker, task after task (shim.run_group), instead of one scheduler round
trip per task. Each task of a group still gets its own request to the worker's task server,
so its state, retries, timeout, logs and events are as they would be alone; its state reaches
the driver as an event as soon as it ends. A task opts out with ``fuse = false`` (the flow's
option sets it on every task, and ``--no-fuse`` on the run's); mapped tasks and tasks that need
resources or tag limits are never fused. The children of a mapped task measured cheap are cut
into batches the same way once its width is known (batches_of_children, shim.run_children).
A ``fusion`` event tells dkrun how many Dask tasks the run's tasks were fused into, and one
per mapped task whose children were batched how many Dask tasks those ran as.

At connect the driver compares the Dask versions of client, scheduler and workers (a
``warning`` event when they differ) and, on a cluster whose workers it knows, refuses a run
with a task that no worker can offer the resources of (a ``refused`` event). A task's
priority and resources go to Dask with it; the flow's tag limits become one
``distributed.Semaphore`` per tag, named after the run, that a task's Dask task holds while
dkrun runs it, and that the driver closes at the end. With ``performance_report_path`` the
run is wrapped in ``distributed.performance_report``, which writes its HTML page at the end.

When dkrun manages the cluster's workers itself (a cluster it made on Kubernetes), the
start frame carries ``scaling``: every ``interval`` seconds the driver reports the workers,
how many the scheduler wants (Dask's adaptive target) and the ready tasks without and with
resource restrictions, by restriction (``workers`` events: dkrun sizes each worker group
from the tasks that need its resources). A ``retire`` frame asks it to retire ``count``
workers of Dask's choosing (those holding the least data; idle ones of ``among`` when given),
whose addresses it reports in a ``retired`` event naming the frame's ``group`` once they have
handed their data over.

Dask gives a task up (KilledWorker) once the workers running it have died more often than the
scheduler's ``distributed.scheduler.allowed-failures``; a finished task whose result dies with
its worker it only computes again, however often. Workers killed by what they hold (results
over a pod's memory limit) would then die and be replaced for ever, a different task running
each time. So the driver counts a worker's death against the tasks it was running and the
finished tasks whose results it held while a task that has not finished still needs them
(unless a task running there needed them: that one is the suspect, as in Dask), and gives a
task up the same way once its count passes the same limit (``FlowRun.count_losses``). The
run's loop never waits on Dask for a result: fetching one that died meanwhile waits until it
has been computed again, however many workers that takes (``FlowRun._gather``).
"""
import asyncio
import collections
import concurrent.futures
import contextlib
import importlib
import itertools
import logging
import math
import os
import queue
import resource
import signal
import sys
import threading
import time
import warnings

import dask
from dask.utils import parse_timedelta
from distributed import Client, Future, Semaphore, as_completed, performance_report
from distributed.scheduler import KilledWorker
from distributed.versions import VersionMismatchWarning, scheduler_relevant_packages

from . import shim
from .frames import frame, read_frame

logger = logging.getLogger("dkrun_dask.driver")


class RunError(Exception):
    """The run could not go on (no scheduler, a bad setting); the message says why."""


class Emitter:
    """Writes event frames to dkrun, from any thread. When dkrun has gone, the run is
    cancelled: nobody is left to report to."""

    def __init__(self, stream, cancelled):
        self.stream = stream
        self.cancelled = cancelled
        self.lock = threading.Lock()
        self.held = threading.local()  # .frames: this thread's frames held by `together`

    def __call__(self, event, **fields):
        data = frame(dict(fields, event=event))
        held = getattr(self.held, "frames", None)
        if held is None:
            self._write(data)
        else:
            held.append(data)

    @contextlib.contextmanager
    def together(self):
        """The frames this thread emits inside are written at its end, in one write: a fused
        group's tasks end many at a time, and a write per event cost the driver more than the
        worker's task server spends on a no-op task. What is inside waits for no task, only
        for the scheduler's answer to a cancel or a submit now and then, so the frames are not
        held back for long."""
        if getattr(self.held, "frames", None) is not None:  # inside another: that one writes
            yield
            return
        self.held.frames = []
        try:
            yield
        finally:
            data, self.held.frames = b"".join(self.held.frames), None
            if data:
                self._write(data)

    def _write(self, data):
        with self.lock:
            try:
                self.stream.write(data)
                self.stream.flush()
            except BrokenPipeError:
                self.cancelled.set()


def import_object(path):
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module or "distributed"), name)
    except (ImportError, AttributeError) as e:
        raise RunError(f"DaskExecutor cluster_class '{path}' cannot be imported: {e}") from e


class Cluster:
    """The Dask client, and the temporary cluster when the flow did not name a scheduler."""

    def __init__(self, settings):
        self.cluster = None
        client_kwargs = dict(settings.get("client_kwargs") or {})
        self.timeout = parse_timedelta(client_kwargs.pop(
            "timeout", dask.config.get("distributed.comm.timeouts.connect")), default="seconds")
        address = settings.get("address")
        if address is None:
            self.cluster = self._start(settings)
            address = self.cluster.scheduler_address
        self.address = address
        try:
            with warnings.catch_warnings():
                # Said in one line of ours instead (version_mismatches), not as Dask's table.
                warnings.simplefilter("ignore", VersionMismatchWarning)
                self.client = Client(self.cluster or address, timeout=self.timeout, **client_kwargs)
        except (OSError, TimeoutError) as e:
            self.close()
            raise RunError(f"cannot reach the Dask scheduler at {address}: {e}") from e
        except TypeError as e:
            self.close()
            raise RunError(f"DaskExecutor client_kwargs: {e}") from e

    def _start(self, settings):
        cls = import_object(settings.get("cluster_class") or "distributed.LocalCluster")
        kwargs = {"host": "127.0.0.1", "dashboard_address": "127.0.0.1:8787"}
        if not settings.get("debug"):
            kwargs["silence_logs"] = logging.CRITICAL  # dkrun reports what went wrong itself
        kwargs.update(settings.get("cluster_kwargs") or {})
        with warnings.catch_warnings():
            # A busy dashboard port falls back to a free one; the link we print says which.
            warnings.filterwarnings("ignore", message="Port .* is already in use")
            try:
                cluster = cls(**kwargs)
            except Exception as e:  # a bad keyword often surfaces as a worker that failed to start
                root = e
                while root.__cause__ is not None:
                    root = root.__cause__
                raise RunError(f"DaskExecutor cluster_kwargs: cannot start {cls.__name__}: {root}") from e
        adapt = settings.get("adapt_kwargs") or {}
        if adapt:
            try:
                cluster.adapt(**adapt)
            except TypeError as e:
                cluster.close()
                raise RunError(f"DaskExecutor adapt_kwargs: {e}") from e
        return cluster

    @property
    def dashboard(self):
        """The dashboard's link (distributed.dashboard.link), if the scheduler serves one."""
        if "dashboard" not in self.client.scheduler_info().get("services", {}):
            return None
        return self.client.dashboard_link

    def offered_resources(self):
        """The resources each worker offers (a dict per worker, and one for the workers a
        temporary cluster would add), or None when no worker is known yet."""
        offers = [w.get("resources") or {} for w in self.client.scheduler_info(n_workers=-1)["workers"].values()]
        spec = getattr(self.cluster, "new_spec", None)
        if isinstance(spec, dict):
            offers.append(spec.get("options", {}).get("resources") or {})
        return offers or None

    def check_connected(self, since):
        """Raises when the scheduler has been unreachable for longer than the timeout."""
        if self.client.status == "running":
            return None
        since = since or time.monotonic()
        if time.monotonic() - since > self.timeout:
            raise RunError(f"lost the Dask scheduler at {self.address}: no connection for "
                           f"{self.timeout:g} s (DaskExecutor client_kwargs.timeout)")
        return since

    def forget_topic(self, topic):
        """Stops following `topic` and drops its events from a scheduler that outlives the
        run: Dask keeps each topic's last 1,000 events as long as the scheduler runs, so a
        shared scheduler would hold every run's (the soak saw it grow by 60 MB in 1,000 runs).
        The broker has no public way to drop a topic: this uses its private map."""
        try:
            self.client.unsubscribe_topic(topic)
            if self.cluster is None and self.client.status == "running":
                self.client.run_on_scheduler(_drop_topics, topic=topic)
        except Exception as e:  # the scheduler went away meanwhile: nothing is left to drop
            logger.warning("dkrun driver: could not drop the run's event topic %s: %s", topic, e)

    def close(self):
        client = getattr(self, "client", None)
        if client is not None:
            client.close(timeout=5)
        if self.cluster is not None:
            self.cluster.close(timeout=10)
            self.cluster = None


def _drop_topics(topic, dask_scheduler):
    """Drops this run's topic ("dkrun-RUN_ID") and its fused groups' ("dkrun-group-NAME-RUN8-N",
    their kept states), and the run topics of earlier runs that no driver follows any more
    (their last events may come after their driver dropped them, and make them again). The
    groups of other runs keep theirs: no driver follows those, and they may still be needed."""
    run8 = topic[len("dkrun-"):][:8]

    def dropped(name, followed):
        if name.startswith("dkrun-group-"):
            return name.rsplit("-", 2)[1] == run8
        return name == topic or (name.startswith("dkrun-") and not followed)

    topics = dask_scheduler._broker._topics
    for name in [n for n, t in topics.items() if dropped(n, t.subscribers)]:
        del topics[name]


def _amount(x):
    return f"{x:g}"


def missing_resources(tasks, offers):
    """Why the first task that no worker can run cannot run (None: every task can), from
    each task's resources and what each worker offers."""
    for task in tasks:
        need = task.get("resources") or {}
        if not need or any(all(o.get(n, 0) >= a for n, a in need.items()) for o in offers):
            continue
        asked = ", ".join(f"{n}={_amount(a)}" for n, a in sorted(need.items()))
        short = [f"{n} (needs {_amount(a)}, the most a worker offers is {_amount(max(o.get(n, 0) for o in offers))})"
                 for n, a in sorted(need.items()) if max(o.get(n, 0) for o in offers) < a]
        why = ("no worker offers resource " + ", ".join(short)) if short else "no one worker offers all of them"
        return (f"task '{task['slug']}' ({task.get('source', '?')}) needs resources {asked}, and {why}: give "
                "the workers resources (dask worker --resources \"GPU=1\", or DaskExecutor cluster_kwargs = "
                "{ resources = { ... } })")
    return None


def version_mismatches(versions):
    """The packages whose versions differ between client, scheduler and workers, from
    Client.get_versions(): Dask's own comparison (distributed.versions.error_message), which
    looks at the scheduler for the packages it runs only. Each entry is (package, client
    version, scheduler version or None, sorted worker versions)."""
    def packages(info):
        return (info or {}).get("packages") or {}

    client = packages(versions.get("client"))
    scheduler = packages(versions.get("scheduler"))
    workers = [packages(w) for w in (versions.get("workers") or {}).values()]
    out = []
    for package in sorted(set(client) | set(scheduler) | {p for w in workers for p in w}):
        mine = client.get(package, "MISSING")
        theirs = scheduler.get(package, "MISSING") if package in scheduler_relevant_packages else None
        on_workers = sorted({str(w.get(package, "MISSING")) for w in workers})
        seen = {str(mine), *on_workers} | ({str(theirs)} if theirs is not None else set())
        if len(seen) > 1:
            out.append((package, mine, theirs, on_workers))
    return out


def describe_mismatches(mismatches):
    """One line for dkrun's log."""
    parts = []
    for package, mine, theirs, on_workers in mismatches:
        text = f"{package} client {mine}"
        if theirs is not None:
            text += f", scheduler {theirs}"
        if on_workers:
            text += f", workers {' and '.join(on_workers)}"
        parts.append(text)
    return "Dask versions differ between client, scheduler and workers: " + "; ".join(parts)


# The most tasks one Dask task runs: a lost worker's group starts again from the states its
# finished tasks left in the scheduler's events of the group, which keep the last 1,000
# (distributed.admin.low-level-log-length).
MAX_CHAIN = 1000

# A task is cheap when its typical duration in earlier runs is below this. A Dask task costs
# a few ms of scheduler and worker time on a 2-core machine (raw Dask, scripts/bench_dask.py,
# runs a fan of no-op tasks on 2 worker threads at 2-4 ms of wall time per task, so 4-8 ms of a
# thread's time): a task shorter than that spends more time being handed around than running.
CHEAP = 0.005

# How long a batch of cheap tasks should run: long enough that its one Dask task costs little
# next to it (~2%), short enough that batches spread over the workers and a lost worker loses
# little. Tasks side by side are cut into more batches, up to one per worker thread, as long as
# each still runs for MIN_BATCH (a few Dask tasks' cost): work is then spread over the cluster.
BATCH_TARGET = 0.05
MIN_BATCH = 0.01


def plain(task):
    """Whether a task's runs may share a Dask task: it does not opt out, and needs no
    resources or tag limits (which Dask and the semaphores grant per Dask task)."""
    return task.get("fuse", True) and not task.get("resources") and not task.get("limited")


def fusable(task):
    """Whether a task may run inside a fused group (a mapped task's children may be
    batched instead: batches_of_children)."""
    return plain(task) and not task["mapped"]


def cheap(task):
    """Whether earlier runs measured a task (a mapped task: its children) as cheap."""
    cost = task.get("cost")
    return cost is not None and cost < CHEAP


def cut(items, cost, threads):
    """`items` that cost `cost` each, cut into batches of at most about BATCH_TARGET of work,
    into as many as `threads` (the cluster's worker threads) while each has MIN_BATCH of work,
    and of at most MAX_CHAIN items."""
    n = len(items)
    work = n * cost
    count = max(math.ceil(work / BATCH_TARGET), min(threads, int(work / MIN_BATCH)), math.ceil(n / MAX_CHAIN))
    count = min(n, count)
    return [items[i * n // count:(i + 1) * n // count] for i in range(count)]


def batches(tasks, threads):
    """Lists of cheap tasks to run together: fusable tasks measured cheap (their "cost", the
    typical duration dkrun measured in earlier runs) of the same definition, depth in the graph
    (so none needs another) and priority, that wait for the same slow tasks, cut into batches
    (`cut`). `tasks` in topological order; batches of one task are left out."""
    depth = {}
    cheap_ones = set()
    # A batch waits for all its tasks' inputs: tasks are batched together only when the
    # nearest tasks upstream of them that are not cheap (what they wait for) are the same.
    slow_before = {}
    alike = {}
    for t in tasks:
        slug = t["slug"]
        depth[slug] = 1 + max((depth[u] for u in t["upstream"]), default=-1)
        slow_before[slug] = frozenset().union(*(slow_before[u] if u in cheap_ones else {u} for u in t["upstream"]))
        if cheap(t) and fusable(t):
            cheap_ones.add(slug)
            alike.setdefault((t.get("definition"), depth[slug], t.get("priority", 0), slow_before[slug]), []).append(t)
    out = []
    for members in alike.values():
        # One definition: one cost.
        out.extend([t["slug"] for t in batch] for batch in cut(members, members[0]["cost"], threads))
    return [b for b in out if len(b) > 1]


def batches_of_children(task, width, threads):
    """The map indexes of a mapped task's children, in the lists that one Dask task each runs:
    batches (`cut`) when its children were measured cheap, else one child each. A mapped task
    of a depth-first pipeline (it maps over another child by child, or another maps over it so)
    is not batched: child i of one step waits for child i of the step before only, and a batch
    would wait for all the children in it."""
    indexes = list(range(width))
    if width and plain(task) and cheap(task) and not task.get("depth_first"):
        return cut(indexes, task["cost"], threads)
    return [[i] for i in indexes]


def fused_groups(tasks, downstream, threads):
    """The run's Dask tasks, as lists of slugs run one after the other in one Dask task (in
    topological order), and how many tasks were batched. Each batch (`batches`) is a group,
    each other task a group of its own; a group is then linked to the next when that is its
    only downstream group and it is that one's only upstream group, both fusable and of the
    same priority (a chain, or a diamond's layers batched), up to MAX_CHAIN tasks."""
    by_slug = {t["slug"]: t for t in tasks}
    groups = batches(tasks, threads)
    batched = sum(map(len, groups))
    group_of = {s: g for g, members in enumerate(groups) for s in members}
    for t in tasks:
        if t["slug"] not in group_of:
            group_of[t["slug"]] = len(groups)
            groups.append([t["slug"]])
    ups = [set() for _ in groups]
    downs = [set() for _ in groups]
    for t in tasks:
        for u in t["upstream"]:
            downs[group_of[u]].add(group_of[t["slug"]])
            ups[group_of[t["slug"]]].add(group_of[u])

    def linkable(g):
        return all(fusable(by_slug[s]) for s in groups[g])

    def priority(g):
        return by_slug[groups[g][0]].get("priority", 0)

    links = {}
    for a, after in enumerate(downs):
        if len(after) == 1:
            (b,) = after
            if ups[b] == {a} and linkable(a) and linkable(b) and priority(a) == priority(b):
                links[a] = b
    linked = set(links.values())
    fused = []
    for g in range(len(groups)):
        if g in linked:
            continue
        run = []
        while g is not None:
            if run and len(run) + len(groups[g]) > MAX_CHAIN:
                fused.append(run)
                run = []
            run += groups[g]
            g = links.get(g)
        fused.append(run)
    return fused, batched


def topological(tasks):
    by_slug = {t["slug"]: t for t in tasks}
    order, seen = [], set()
    for t in tasks:
        stack = [(t["slug"], False)]
        while stack:
            slug, expanded = stack.pop()
            if slug in seen and not expanded:
                continue
            if expanded:
                order.append(by_slug[slug])
                continue
            seen.add(slug)
            stack.append((slug, True))
            stack.extend((u, False) for u in by_slug[slug]["upstream"] if u not in seen)
    return order


# The roles of Dask tasks that run several tasks: a fused group, a batch of mapped children.
FUSED = ("group", "batch")


def _future(ref):
    """The Future behind what a task receives of another (None for a final state): a batched
    child's is its batch's."""
    if isinstance(ref, tuple):
        return ref[0]
    return ref if isinstance(ref, Future) else None


class FlowRun:
    """Submits a flow's tasks to Dask and reports them until every task has a final state."""

    def __init__(self, client, start, emit):
        self.client = client
        self.emit = emit
        self.run_id = start["run_id"]
        self.tasks = topological(start["tasks"])
        self.by_slug = {t["slug"]: t for t in self.tasks}
        for t in self.tasks:  # the mapped tasks of depth-first pipelines (batches_of_children)
            for u in t.get("child_by_child", ()):
                t["depth_first"] = self.by_slug[u]["depth_first"] = True
        self.downstream = {t["slug"]: [] for t in self.tasks}
        for t in self.tasks:
            for u in t["upstream"]:
                self.downstream[u].append(t["slug"])
        self.flow = client.submit(shim.hold, shim.FlowRef(
            self.run_id, start["context"], start["payload"], start["hash"], start["payload_version"], start.get("dkrun")),
            key=f"dkrun-flow-{self.run_id}", pure=False)
        # Fusion (docs/dask.md): the Dask tasks the tasks run in, by slug.
        threads = sum(client.nthreads().values()) if any("cost" in t for t in self.tasks) else 0
        self.threads = max(threads, 1)
        fused, batched = fused_groups(self.tasks, self.downstream, self.threads)
        self.fused = {s: group for group in fused for s in group}
        emit("fusion", tasks=len(self.tasks), dask_tasks=len(fused), batched=batched)
        self.groups = {}  # future key -> the slugs of the group it runs, and their inputs from outside it
        self.batches = {}  # future key -> the mapped slug, the map indexes and the future of a batch of children
        self.streamed = queue.SimpleQueue()  # state events of grouped tasks, from Dask's event thread
        self.grouped = {}  # (slug, map index) -> TaskResult of a grouped task or batched child reported from its event
        self.refs = {}  # slug -> Future or TaskResult: what downstream tasks receive
        # mapped slug -> [Future, TaskResult, or (the Future of its batch, map index)] by map index
        self.children = {}
        self.unsubmitted = {t["slug"] for t in self.tasks}
        self.finished = set()
        self.roles = {}  # future key -> (role, slug, map index) of the futures awaited
        self.futures = {}  # slug -> its current run, expand or collect future (children: above)
        self.completed = as_completed()
        self.generation = 0
        # Workers lost: the scheduler's remove-worker events (from the client's thread), the
        # finished futures whose results are held on workers (key -> role and future), and by
        # key the workers that died running a task or holding its result.
        self.allowed_failures = client.run_on_scheduler(dask.config.get, "distributed.scheduler.allowed-failures")
        self.removals = collections.deque()
        self.held = {}
        self.losses = {}
        # One semaphore per limited tag, for this run only.
        self.semaphores = {}
        for tag, n in sorted((start.get("limits") or {}).items()):
            self.semaphores[tag] = Semaphore(max_leases=n, name=f"dkrun-{self.run_id}-{tag}")
            self.semaphores[tag].register()

    def _submit(self, fn, role, slug, index, *args):
        name = slug if index is None else f"{slug}[{index}]"
        if role == "group":
            name = f"{slug}..{args[0][-1][0]}"
        elif role == "batch":
            name = f"{slug}[{index}..{args[0][-1]}]"
        prefix = {"expand": "expand-", "collect": "collect-", "group": "group-", "batch": "group-"}.get(role, "")
        key = f"{prefix}{name}-{self.run_id[:8]}-{self.generation}"
        task = self.by_slug[slug]
        options = {"priority": task.get("priority", 0)}
        if role == "run":
            # What the task itself needs; expanding and collecting a mapped task need none.
            args += ([self.semaphores[tag] for tag in task.get("limited", [])],)
            if task.get("resources"):
                options["resources"] = task["resources"]
        # A group's tasks are in its arguments.
        future = self.client.submit(fn, self.flow, *(() if role == "group" else (slug,)), *args, key=key, pure=False,
                                    **options)
        self.roles[future.key] = (role, slug, index)
        if index is None:
            self.futures.setdefault(slug, []).append(future)
        self.completed.add(future)
        return future

    def submit_ready(self, candidates):
        """Submits the group of each candidate (its unsubmitted tasks) when the tasks upstream
        of it all have something to hand it (a future, or a final state), then what that
        unblocks downstream."""
        stack = list(reversed(candidates))
        while stack:
            slug = stack.pop()
            if slug not in self.unsubmitted:
                continue
            group = [s for s in self.fused[slug] if s in self.unsubmitted]
            outside = self._outside(group)
            if any(u not in self.refs for u in outside):
                continue
            self.unsubmitted.difference_update(group)
            task = self.by_slug[slug]
            if task["mapped"]:  # its downstream waits for the children
                self._submit(shim.expand_task, "expand", slug, None, self._upstream(task))
                continue
            if len(group) == 1:
                self.refs[slug] = self._submit(shim.run_task, "run", slug, None, None, self._upstream(task))
            else:
                members = [(s, self.by_slug[s]["upstream"]) for s in group]
                future = self._submit(shim.run_group, "group", group[0], None, members,
                                      {u: self.refs[u] for u in outside})
                self.groups[future.key] = (group, outside)
                self.refs[group[0]] = future
                for s in group[1:]:
                    self.refs[s] = future
                    self.futures.setdefault(s, []).append(future)
            inside = set(group)
            stack.extend(reversed([d for s in group for d in self.downstream[s] if d not in inside]))

    def _outside(self, group):
        """The tasks upstream of a group's tasks that are not in the group."""
        inside = set(group)
        return list(dict.fromkeys(u for s in group for u in self.by_slug[s]["upstream"] if u not in inside))

    def _upstream(self, task, index=None):
        """What a task (or its child `index`) receives of its upstream tasks: their futures or
        final states; for a mapped task it maps over child by child, that task's width and
        (for a child) the future of its matching child (depth-first)."""
        upstream = {}
        for u in task["upstream"]:
            children = self.children.get(u)
            if children is None or u not in task.get("child_by_child", ()):
                upstream[u] = self.refs[u]
            elif index is None:
                upstream[u] = {"width": len(children)}
            else:
                upstream[u] = {"width": len(children), "child": index, "result": children[index]}
        return upstream

    def run(self, cluster, cancelled):
        """True when every task has finished, False when the run was cancelled first."""
        self.submit_ready([t["slug"] for t in self.tasks])
        lost_since = None
        batch, fetch = [], None  # the finished futures whose results are being fetched
        try:
            while len(self.finished) < len(self.tasks):
                if cancelled.is_set():
                    self.cancel()
                    return False
                lost_since = cluster.check_connected(lost_since)
                # Results are fetched at most every 10 ms (bigger batches, fewer round trips)
                # and used as soon as they come.
                if fetch is None:
                    time.sleep(0.01)
                else:
                    concurrent.futures.wait([fetch], timeout=0.01)
                with self.emit.together():  # the states reported in this round
                    fetch, batch = self._round(cluster, fetch, batch)
            return True
        finally:
            if fetch is not None:
                fetch.cancel()

    def _round(self, cluster, fetch, batch):
        """One round of the run's loop: reports what has come, and fetches the results of the
        futures finished since the last fetch. The fetch and its futures from here on."""
        self._report_streamed()
        self.count_losses()
        if fetch is None:
            batch = self.completed.next_batch(block=False)
            return (self._gather(batch) if batch else None), batch
        if not fetch.done():
            return fetch, batch
        try:
            results = {key: r for key, r in fetch.result().items() if r is not None}
        except OSError as e:  # the scheduler went away (gather goes through it)
            raise RunError(f"lost the Dask scheduler at {cluster.address}: {e}") from e
        for future in batch:
            if future.key in results or future.status in ("error", "cancelled"):
                self._completed(future, results.get(future.key))
            else:  # its result was lost with a worker: Dask computes it again
                self.completed.add(future)
        return None, batch

    def _gather(self, batch):
        """Starts fetching the results of a batch's finished futures, by key (None for one that
        erred or was cancelled meanwhile), in one gather: far cheaper than one round trip per
        result. It runs in the client's event loop, not in the run's: a result lost with its
        worker meanwhile is waited for until Dask has computed it again, which may cost many
        more workers (a pod over its memory limit), and the run's loop goes on counting them
        (count_losses) until it gives the task up, which ends the wait."""
        finished = {f.key: f for f in batch if f.status == "finished"}
        fetch = self.client.gather(finished, errors="skip", asynchronous=True)
        return asyncio.run_coroutine_threadsafe(fetch, self.client.loop.asyncio_loop)

    def _completed(self, future, result):
        role = self.roles.get(future.key)
        if role is None:  # a superseded submission
            return
        kind, slug, index = role
        if kind == "group":
            self._group_completed(future, result)
            return
        if kind == "batch":
            self._batch_completed(future, result)
            return
        failed = future.status in ("error", "cancelled")
        if future.status == "error":
            if self._upstream_erred(self._inputs(slug, kind, index)):
                return
            result = shim.TaskResult.ended("Failed", self._describe(future.exception()))
        elif future.status == "cancelled":  # not by us: we forget what we cancel
            result = shim.TaskResult.ended("Failed", "the Dask task was cancelled outside this run")
        elif kind != "expand":
            self.held[future.key] = (kind, slug, index, future)
        del self.roles[future.key]
        self._settle(kind, slug, index, result, failed)

    def _upstream_erred(self, inputs):
        """Whether a Dask task's error is one of its upstream's, which decides for it: one
        awaited is handled when its turn comes; one that had finished, lost and computed
        again is given up now, and what is downstream is submitted again with its state."""
        erred = [f for f in inputs if getattr(f, "status", None) == "error"]
        if any(f.key in self.roles for f in erred):
            return True
        for f in erred:
            if f.key in self.held:
                self._give_up(f.key, self._describe(f.exception()))
        return bool(erred)

    def _settle(self, kind, slug, index, result, failed):
        """Reports what a Dask task ended with, and submits what that decides downstream."""
        if kind == "expand":
            self._expanded(slug, result)
        elif index is not None:
            self._report(slug, index, result)
            if failed:
                self.children[slug][index] = result
                self._resubmit_collect(slug)
        else:
            self._report(slug, None, result)
            self.finished.add(slug)
            if failed:
                self.refs[slug] = result
                self._resubmit_downstream([slug])

    def _report_streamed(self):
        """Reports the states of grouped tasks that came as events since the last time."""
        while True:
            try:
                event = self.streamed.get_nowait()
            except queue.Empty:
                return
            slug, index = event["task"], event["map_index"]
            if index is None and slug in self.finished or (slug, index) in self.grouped:
                continue
            if index is not None and event["group"] not in self.batches:  # a superseded batch's
                continue
            if index is None:
                self.finished.add(slug)
            self.grouped[slug, index] = shim.TaskResult.from_event(event)
            self._report(slug, index, self.grouped[slug, index])

    def _group_completed(self, future, result):
        """A fused group has ended: the states that did not come as events are reported. When
        its Dask task failed (its workers died, say), its first unfinished task fails with
        Dask's reason, its other unfinished tasks are submitted again, and what is downstream
        decides from their states, as after any other task."""
        group, outside = self.groups[future.key]
        # An upstream's error decides for the group: submitting again what is downstream of
        # that upstream, now or when its turn comes, submits the whole group again, since it
        # is still in self.groups (its tasks need not be downstream of one another).
        if future.status == "error" and self._upstream_erred([self.refs[u] for u in outside]):
            return
        del self.groups[future.key]
        del self.roles[future.key]
        self._report_streamed()
        if future.status == "finished":
            for slug in group:
                if slug not in self.finished:
                    self.finished.add(slug)
                    self._report(slug, None, result.results[slug])
            return
        if future.status == "error":
            failure = shim.TaskResult.ended("Failed", self._describe(future.exception()))
        else:
            failure = shim.TaskResult.ended("Failed", "the Dask task was cancelled outside this run")
        # What is downstream takes the states that came as events, and the failure.
        ended = [s for s in group if s in self.finished]
        unfinished = [s for s in group if s not in self.finished]
        for slug in ended:
            self.refs[slug] = self.grouped[slug, None]
        if unfinished:
            self._report(unfinished[0], None, failure)
            self.finished.add(unfinished[0])
            self.refs[unfinished[0]] = failure
            ended.append(unfinished[0])
        for slug in ended:
            self.futures.pop(slug, None)
        self._resubmit_downstream(ended, again=unfinished[1:])

    def _batch_completed(self, future, result):
        """A batch of a mapped task's children has ended: the states that did not come as
        events are reported. When Dask gave up on it (its workers died), its first unfinished
        child fails with Dask's reason and its other unfinished children are submitted again;
        any other error fails all its unfinished children. The mapped task is then collected
        again, as after any child that failed so."""
        self._report_streamed()  # while the batch is current: its own queued states count
        slug, indexes, _ = self.batches.pop(future.key)
        del self.roles[future.key]
        if future.status == "finished":
            for i in indexes:
                # Its children's states are in its result now: the driver holds them no longer
                # (a late event of this batch is dropped: it is no longer current).
                if self.grouped.pop((slug, i), None) is None:
                    self._report(slug, i, result.results[i])
            return
        task = self.by_slug[slug]
        if future.status == "error" and self._upstream_erred(self._batch_inputs(slug, indexes)):
            return
        if future.status == "error":
            failure = shim.TaskResult.ended("Failed", self._describe(future.exception()))
        else:
            failure = shim.TaskResult.ended("Failed", "the Dask task was cancelled outside this run")
        children = self.children[slug]
        unfinished = [i for i in indexes if (slug, i) not in self.grouped]
        for i in indexes:
            children[i] = self.grouped.get((slug, i), children[i])
        # Workers that died (KilledWorker) fail the child that was running; an error of the
        # batch's own code would come again, so it fails every unfinished child at once.
        killed = future.status == "error" and isinstance(future.exception(), KilledWorker)
        failed = unfinished[:1] if killed else unfinished
        for i in failed:
            self._report(slug, i, failure)
            children[i] = failure
        if unfinished[len(failed):]:
            self._submit_children(task, [unfinished[len(failed):]])
        self._resubmit_collect(slug)

    def _submit_children(self, task, batches):
        """Submits a mapped task's children: each list of map indexes one Dask task."""
        slug = task["slug"]
        for indexes in batches:
            if len(indexes) == 1:
                i = indexes[0]
                self.children[slug][i] = self._submit(shim.run_task, "run", slug, i, i, self._upstream(task, i))
                continue
            future = self._submit(shim.run_children, "batch", slug, indexes[0], indexes,
                                  [self._upstream(task, i) for i in indexes])
            self.batches[future.key] = (slug, indexes, future)
            for i in indexes:
                self.children[slug][i] = (future, i)

    def _batch_inputs(self, slug, indexes):
        return [f for i in indexes for f in self._inputs(slug, "run", i)]

    def _inputs(self, slug, kind, index):
        if kind == "collect":
            return [_future(c) for c in self.children.get(slug, [])]
        return [_future(r.get("result") if isinstance(r, dict) else r)
                for r in self._upstream(self.by_slug[slug], index).values()]

    def _expanded(self, slug, expansion):
        if isinstance(expansion, shim.TaskResult):  # the expand task itself failed
            expansion = shim.Expansion(result=expansion)
        if expansion.result is not None:
            self.refs[slug] = expansion.result
            self._report(slug, None, expansion.result)
            self.finished.add(slug)
        else:
            task = self.by_slug[slug]
            self.children[slug] = [None] * expansion.width
            batched = batches_of_children(task, expansion.width, self.threads)
            if len(batched) < expansion.width:
                self.emit("fusion", mapped=slug, tasks=expansion.width, dask_tasks=len(batched),
                          batched=sum(len(b) for b in batched if len(b) > 1))
            self._submit_children(task, batched)
            self.refs[slug] = self._submit(shim.collect_children, "collect", slug, None, self.children[slug])
        self.submit_ready(self.downstream[slug])

    def _resubmit_collect(self, slug):
        self._forget(slug, keep_children=True)
        self.refs[slug] = self._submit(shim.collect_children, "collect", slug, None, self.children[slug])
        self._resubmit_downstream([slug])

    def _forget(self, slug, keep_children=False):
        """Drops a task's current submission (its futures are cancelled, their results
        ignored); what is submitted next gets new keys."""
        self.generation += 1
        futures = self.futures.pop(slug, [])
        if not keep_children:
            futures += list(dict.fromkeys(f for f in map(_future, self.children.pop(slug, [])) if f is not None))
            for key in [k for k in self.grouped if k[0] == slug]:
                del self.grouped[key]
        for f in futures:
            self.roles.pop(f.key, None)
            self.held.pop(f.key, None)
            self.batches.pop(f.key, None)
        self.client.cancel(futures)

    def _resubmit_downstream(self, slugs, again=()):
        """After a Dask-level error of `slugs` (a dead worker, not a task failure), which Dask
        passes on to every dependent, submits the dependents again with their states, and the
        tasks `again` (a failed group's unfinished ones). A group with one task to submit again
        is submitted again whole (its unfinished tasks): its Dask task is cancelled."""
        stack = [d for s in slugs for d in self.downstream[s]] + list(again)
        candidates = list(stack)
        while stack:
            d = stack.pop()
            if d in self.unsubmitted or d in self.finished:
                continue
            for f in self.futures.get(d, ()):
                if f.key in self.groups:
                    members = self.groups.pop(f.key)[0]
                    stack.extend(members)
                    # Its tasks whose states came as events keep them; what is downstream of
                    # them was handed the group's future, now cancelled: it gets the states.
                    for s in members:
                        if s in self.finished and (s, None) in self.grouped:
                            self.refs[s] = self.grouped[s, None]
                            self.futures.pop(s, None)
                            stack.extend(self.downstream[s])
                            candidates.extend(self.downstream[s])
            self._forget(d)
            self.refs.pop(d, None)
            self.unsubmitted.add(d)
            stack.extend(self.downstream[d])
        self.submit_ready(candidates)

    def worker_removed(self, event):
        """The scheduler's events on topic "all" (called in the client's thread): keeps those
        of workers that went away unexpectedly, for count_losses."""
        _, msg = event
        if isinstance(msg, dict) and msg.get("action") == "remove-worker" and not msg.get("expected"):
            self.removals.append(msg)

    def count_losses(self):
        """Counts each lost worker against the tasks it ran and the results it held that a
        task still needs, and gives up on a task counted more often than allowed."""
        while self.removals:
            event = self.removals.popleft()
            # Finished ones too: Dask computes a lost result again on another worker.
            # A fused group or batch is left to Dask (KilledWorker): _group_completed and
            # _batch_completed fail its first unfinished task, where a give-up here would take
            # the group for its first task.
            processing = [k for k in event.get("processing-tasks", ()) if k in self.roles or k in self.held]
            running = [k for k in processing if k in self.held or self.roles[k][0] not in FUSED]
            needed_there = {k for r in processing for k in self._input_keys(r)}
            lost = [k for k in event.get("lost-computed-tasks", ()) if k not in needed_there
                    and (k in self.roles and self.roles[k][0] not in FUSED
                         or k in self.held and self._still_needed(*self.held[k][1:3]))]
            for key in running + lost:
                if key not in self.roles and key not in self.held:  # given up with another one
                    continue
                workers = self.losses.setdefault(key, [])
                workers.append(event["worker"])
                if len(workers) > self.allowed_failures:
                    self._give_up(key, (
                        f"Dask gave up on this task: the workers running it or holding its result died {len(workers)} "
                        f"times, more often than the scheduler allows (distributed.scheduler.allowed-failures = "
                        f"{self.allowed_failures}): " + ", ".join(dict.fromkeys(workers))))

    def _input_keys(self, key):
        """The keys of the Dask tasks whose results the Dask task `key` takes."""
        if key in self.groups:
            inputs = [_future(self.refs.get(u)) for u in self.groups[key][1]]
        elif key in self.batches:
            inputs = self._batch_inputs(*self.batches[key][:2])
        else:
            kind, slug, index = self.roles[key] if key in self.roles else self.held[key][:3]
            inputs = self._inputs(slug, kind, index)
        return {f.key for f in inputs if isinstance(f, Future)}

    def _still_needed(self, slug, index):
        """Whether a finished task's (or child's) result is still to be handed on: a task
        downstream has not finished, or (a child) its mapped task has not been collected."""
        if index is not None and slug not in self.finished:
            return True
        return any(d not in self.finished for d in self.downstream[slug])

    def _give_up(self, key, message):
        """Fails the task behind a Dask task that its workers' deaths cost too often, as Dask's
        KilledWorker fails one (its dependents then decide with that state). A finished task
        whose result is gone is reported again, Failed."""
        result = shim.TaskResult.ended("Failed", message)
        if key in self.roles:  # awaited: Dask would run it once more
            kind, slug, index = self.roles[key]
            if index is None:
                self._forget(slug, keep_children=True)
            else:
                del self.roles[key]
                self.client.cancel([self.children[slug][index]])
        else:  # finished: its result is being computed again for a task downstream
            kind, slug, index, future = self.held.pop(key)
            if index is None:
                self.futures[slug].remove(future)
            future.release()  # not cancelled: that would cancel the finished tasks that used it
        self._settle(kind, slug, index, result, failed=True)

    @staticmethod
    def _describe(error):
        if isinstance(error, KilledWorker):
            return ("Dask gave up on this task: the workers running it died more often than the "
                    f"scheduler allows (distributed.scheduler.allowed-failures). {error}")
        return f"the Dask task failed: {type(error).__name__}: {error}"

    def _report(self, slug, index, result):
        self.emit("state", task=slug, map_index=index, state=result.state, worker=result.worker,
                  duration=result.duration, attempts=result.attempts)

    def forward(self, event):
        """A worker's events (task running, log line, retry) for dkrun, written together."""
        _, msg = event
        states = []
        with self.emit.together():
            for msg in msg["events"] if msg["type"] == "batch" else [msg]:
                kind = msg.pop("type")
                if kind == "state":  # a grouped task's: the run's loop reports it
                    states.append(msg)
                else:
                    self.emit(kind, **msg)
        # Once the events before them are written: a task's state never overtakes its Running.
        for msg in states:
            self.streamed.put(msg)

    def close_semaphores(self):
        """Removes the run's semaphores from the scheduler."""
        for semaphore in self.semaphores.values():
            try:
                semaphore.close()
            except Exception as e:  # the scheduler went away: nothing is left to remove
                logger.warning("dkrun driver: could not close semaphore %s: %s", semaphore.name, e)

    def cancel(self):
        """Cancels what is queued and kills what is running on the workers."""
        futures = [f for fs in [*self.futures.values(), *self.children.values()] for f in map(_future, fs)
                   if f is not None]
        self.roles.clear()
        self.client.cancel(futures)
        try:
            self.client.run(shim.cancel_run, self.run_id, wait=True, on_error="ignore")
        except Exception as e:  # workers gone too: nothing left to stop there
            logger.debug("cancel_run: %s", e)


def _demand(dask_scheduler=None):
    """Dask's adaptive target, and the ready tasks (queued, waiting for a worker that has their
    resources, or on a worker): how many have no resource restrictions, and how many have
    each set of restrictions."""
    s = dask_scheduler
    plain, restricted = 0, {}
    for ts in itertools.chain(s.queued, s.unrunnable, *(ws.processing for ws in s.workers.values())):
        if ts.resource_restrictions:
            key = tuple(sorted(ts.resource_restrictions.items()))
            restricted[key] = restricted.get(key, 0) + 1
        else:
            plain += 1
    return {"target": s.adaptive_target(), "plain": plain,
            "restricted": [{"resources": dict(k), "count": c} for k, c in restricted.items()]}


def _workers_to_close(dask_scheduler=None, n=0, among=None):
    """Dask's choice of `n` workers to close; among `among`, the idle ones holding least data."""
    if among is None:
        return dask_scheduler.workers_to_close(n=n)
    idle = [ws for ws in map(dask_scheduler.workers.get, among) if ws is not None and not ws.processing]
    return [ws.address for ws in sorted(idle, key=lambda ws: ws.nbytes)[:n]]


class WorkerReporter:
    """Tells dkrun which workers the scheduler has and how many it wants, and retires the
    workers dkrun is about to delete (Dask moves their data elsewhere first)."""

    def __init__(self, client, emit, scaling):
        self.client = client
        self.emit = emit
        self.interval = parse_timedelta(scaling.get("interval", "1s"), default="seconds")
        # Set when a worker joins: reported at once, so that dkrun knows its pod joined even
        # if it dies before the next interval (a pod that never joined counts as a failed start).
        self.joined = threading.Event()

    def worker_event(self, event):
        """The scheduler's events on topic "all" (called in the client's thread)."""
        _, msg = event
        if isinstance(msg, dict) and msg.get("action") == "add-worker":
            self.joined.set()

    def report_forever(self, stopped):
        while not stopped.is_set():
            self.joined.wait(self.interval)
            self.joined.clear()
            if stopped.is_set():
                return
            try:
                demand = self.client.run_on_scheduler(_demand)
                workers = list(self.client.scheduler_info(n_workers=-1)["workers"])
            except Exception as e:  # the scheduler is gone: the run itself says so
                logger.debug("worker report: %s", e)
                continue
            self.emit("workers", target=int(demand["target"]), plain=demand["plain"],
                      restricted=demand["restricted"], workers=workers)

    def retire(self, count, group=None, among=None):
        try:
            chosen = self.client.run_on_scheduler(_workers_to_close, n=count, among=among)
            if chosen:
                self.client.retire_workers(workers=chosen, close_workers=True)
        except Exception as e:
            logger.debug("retire: %s", e)
            chosen = []
        self.emit("retired", workers=list(chosen), group=group)


def performance_report_to(path):
    """Dask's performance report of what runs inside, written to `path` (absolute: dkrun
    resolved and checked it) on the way out, as Prefect's DaskExecutor does; nothing without
    a path."""
    if not path:
        return contextlib.nullcontext()
    return performance_report(filename=path)


def main():
    # Only frames go to dkrun on the real stdout; anything else printed goes to stderr.
    frames_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    frames_in = sys.stdin.buffer
    cancelled = threading.Event()
    emit = Emitter(frames_out, cancelled)
    start = read_frame(frames_in)
    if not start["executor"].get("debug"):
        # dkrun reports what went wrong itself; Dask's own tracebacks only with debug=true.
        for name in ["distributed", *logging.root.manager.loggerDict]:
            if name.startswith("distributed"):
                logging.getLogger(name).setLevel(logging.CRITICAL)
    signal.signal(signal.SIGINT, lambda *_: cancelled.set())
    signal.signal(signal.SIGTERM, lambda *_: cancelled.set())

    reporter = None
    ended = threading.Event()

    def watch_stdin():
        while True:
            frame = read_frame(frames_in)
            if frame is None or frame.get("op") == "cancel":
                cancelled.set()
                return
            if frame.get("op") == "retire" and reporter is not None:
                threading.Thread(target=reporter.retire, args=(frame["count"], frame.get("group"), frame.get("among")),
                                 daemon=True).start()

    threading.Thread(target=watch_stdin, daemon=True).start()
    cluster = None
    topic = None
    run = None
    try:
        cluster = Cluster(start["executor"])
        emit("cluster", address=cluster.address, dashboard=cluster.dashboard,
             temporary=cluster.cluster is not None)
        mismatches = version_mismatches(cluster.client.get_versions(check=False))
        if mismatches:
            emit("warning", message=describe_mismatches(mismatches))
        # Workers that dkrun scales itself come and go: only a cluster's known ones are checked.
        offers = None if start.get("scaling") else cluster.offered_resources()
        missing = offers and missing_resources(start["tasks"], offers)
        if missing:
            emit("refused", message=missing)
            return
        if start.get("scaling"):
            reporter = WorkerReporter(cluster.client, emit, start["scaling"])
            threading.Thread(target=reporter.report_forever, args=(ended,), daemon=True).start()
        with performance_report_to(start["executor"].get("performance_report_path")):
            run = FlowRun(cluster.client, start, emit)
            topic = "dkrun-" + run.run_id
            cluster.client.subscribe_topic(topic, run.forward)

            def scheduler_event(event):
                run.worker_removed(event)
                if reporter is not None:
                    reporter.worker_event(event)

            cluster.client.subscribe_topic("all", scheduler_event)
            finished = run.run(cluster, cancelled)
        # The driver's own peak memory (its Python with distributed, the run's bookkeeping;
        # a forked driver's counts from the warm server's), for --verbose and the benchmarks.
        emit("done" if finished else "cancelled", peak_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    except RunError as e:
        emit("error", message=str(e))
    except Exception as e:
        logger.exception("dkrun driver")
        emit("error", message=f"the Dask driver failed: {type(e).__name__}: {e}")
    finally:
        ended.set()
        if run is not None:
            run.close_semaphores()
        if cluster is not None:
            if topic is not None:
                cluster.forget_topic(topic)
                with contextlib.suppress(Exception):  # the scheduler went away: nothing to stop
                    cluster.client.unsubscribe_topic("all")
            cluster.close()


if __name__ == "__main__":
    main()
    # Not sys.exit: the stdin watcher is still blocked in a read, which the interpreter's
    # shutdown would trip over. Everything the run started is closed by now.
    os._exit(0)
