"""What every Dask task of a dkrun flow run executes on a Dask worker.

A task hands its work to a long-lived ``dkrun worker --stdio`` process, one per worker
thread, which loads the flow once per payload and decides and runs the task with the same
rules as a local run. The states of tasks travel between Dask tasks as MessagePack bytes
that only dkrun decodes; this module reads nothing of them but their kind.
"""
import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time

from distributed import get_worker
from distributed.utils import sync

from .frames import FrameError, pack, read_frame, write_frame


class FlowRef:
    """What every task of one flow run needs; one Dask task holds it, so the payload
    reaches each worker once per run."""

    def __init__(self, run_id, context, payload, payload_hash, payload_version, dkrun=None):
        self.run_id = run_id
        # The flow run's context (id, start, parameters) for dk.context, decoded by dkrun.
        self.context = context
        self.payload = payload
        self.payload_hash = payload_hash
        self.payload_version = payload_version
        # The driver's own dkrun, given only for a cluster it started on its machine.
        self.dkrun = dkrun


class TaskResult:
    """A finished task run: its state (encoded by dkrun) and where it ran."""

    def __init__(self, kind, state, worker=None, duration=None, attempts=0):
        self.kind = kind
        self.state = state
        self.worker = worker
        self.duration = duration
        self.attempts = attempts

    @classmethod
    def from_event(cls, event):
        """The result a grouped task's state event carries (see run_group)."""
        state = event["state"].decode("utf-8", "surrogateescape")
        return cls(event["kind"], state, event["worker"], event["duration"], event["attempts"])

    @classmethod
    def ended(cls, kind, message, worker=None):
        """A state made on the Python side, when dkrun could not decide it."""
        return cls(kind, pack({"kind": kind, "message": message, "result": None}), worker)


class GroupResult:
    """The results of a fused group's tasks, by slug, or of a batch's children, by map index."""

    def __init__(self, results):
        self.results = results


class Expansion:
    """A mapped task's expansion: a number of children, or the state it ends in."""

    def __init__(self, width=None, result=None):
        self.width = width
        self.result = result


class ServerGone(Exception):
    """The dkrun worker process ended or could not be started."""


class TaskServer:
    """One ``dkrun worker --stdio`` process."""

    def __init__(self, executable):
        try:
            # In a process group of its own: a signal to the Dask worker's group (a temporary
            # cluster killed with its driver) reaches it as its parent's death, SIGTERM, on
            # which it stops its task and what that started.
            self.process = subprocess.Popen(
                [executable, "worker", "--stdio"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, process_group=0)
        except OSError as e:
            raise ServerGone(f"cannot start {executable}: {e.strerror}") from e
        self.executable = executable
        self.loaded = set()
        hello = self.request({"op": "hello"})
        self.version = hello.get("version")
        self.payload_version = hello.get("payload_version")

    @property
    def alive(self):
        return self.process.poll() is None

    def request(self, message, on_event=None):
        try:
            write_frame(self.process.stdin, message)
            while True:
                reply = read_frame(self.process.stdout)
                if reply is None:
                    raise ServerGone(self._ending())
                if "event" in reply:
                    if on_event:
                        on_event(reply)
                    continue
                if not reply.get("ok"):
                    raise RuntimeError(reply.get("error", "the dkrun worker refused the request"))
                return reply
        except (BrokenPipeError, FrameError) as e:
            raise ServerGone(self._ending()) from e

    def _ending(self):
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        if code < 0:
            return f"the dkrun worker process was killed by {signal.Signals(-code).name}"
        return f"the dkrun worker process exited with code {code}"


# How the dkrun worker processes of a cancelled run's tasks are stopped, each step waiting up to
# its seconds for them to end: SIGTERM stops the task and the programs it started (dkrun answers
# the request, then exits); told again, for a task stuck in C code, dkrun kills those programs
# and exits at once; SIGKILL is the last resort.
STOP_STEPS = [(signal.SIGTERM, 1.0), (signal.SIGTERM, 1.0), (signal.SIGKILL, None)]


def _stop(servers):
    """Stops dkrun worker processes (STOP_STEPS) and waits until they have ended."""
    for signum, grace in STOP_STEPS:
        running = [server for server in servers if server.alive]
        for server in running:
            server.process.send_signal(signum)
        deadline = None if grace is None else time.monotonic() + grace
        for server in running:
            try:
                server.process.wait(None if deadline is None else max(0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass


_local = threading.local()
_lock = threading.Lock()
_busy = {}  # thread id -> (run id, TaskServer) while a task runs
_cancelled_runs = set()


def _executable(flow):
    if flow.dkrun and os.access(flow.dkrun, os.X_OK):
        return flow.dkrun
    found = os.environ.get("DKRUN_BINARY") or shutil.which("dkrun")
    if not found:
        raise ServerGone("dkrun is not installed on this Dask worker (set DKRUN_BINARY or put dkrun on PATH)")
    return found


def _server(flow, worker):
    """This thread's task server, started (and checked) if it is not running, with the
    flow's payload loaded."""
    server = getattr(_local, "server", None)
    if server is None or not server.alive:
        server = TaskServer(_executable(flow))
        _local.server = server
    if server.payload_version != flow.payload_version:
        raise RuntimeError(
            f"Dask worker {worker} runs dkrun {server.version} ({server.executable}), which reads payload "
            f"version {server.payload_version}; this flow's payload is version {flow.payload_version}")
    if flow.payload_hash not in server.loaded:
        server.request({"op": "load", "payload": flow.payload})
        server.loaded.add(flow.payload_hash)
    return server


def _text(s):
    """A string from dkrun as text a Dask event can carry (invalid UTF-8 replaced)."""
    return s.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if isinstance(s, str) else str(s)


def _call(flow, slug, map_index, message, send=None):
    """Sends one request for a task to this thread's dkrun worker, forwarding its events
    to the driver (through `send`, else one Dask event each), and returns the task's result."""
    worker = get_worker()
    where = {"task": slug, "map_index": map_index, "worker": worker.address}
    topic = "dkrun-" + flow.run_id
    send = send or (lambda msg: worker.log_event(topic, msg))

    def forward(event):
        send(dict(where, type=event["event"], level=event.get("level"),
                  attempt=event.get("attempt"), message=_text(event.get("message", ""))))

    try:
        server = _server(flow, worker.address)
    except ServerGone as e:
        return TaskResult.ended("Failed", f"Dask worker {worker.address}: {e}", worker.address)
    except RuntimeError as e:
        return TaskResult.ended("Failed", str(e), worker.address)
    me = threading.get_ident()
    # Under cancel_run's lock: a task of a cancelled run never starts, and a started one is stopped.
    with _lock:
        if flow.run_id in _cancelled_runs:
            return TaskResult.ended("Cancelled", "The flow run was cancelled", worker.address)
        _busy[me] = (flow.run_id, server)
    if message["op"] == "run":
        send(dict(where, type="running"))
    started = time.monotonic()
    try:
        reply = server.request(dict(message, hash=flow.payload_hash, task=slug), forward)
    except ServerGone as e:
        if flow.run_id in _cancelled_runs:
            return TaskResult.ended("Cancelled", "The flow run was cancelled while this task ran", worker.address)
        return TaskResult.ended("Failed", f"{e} while running this task (Dask worker {worker.address}); "
                                "it was restarted", worker.address)
    except RuntimeError as e:
        return TaskResult.ended("Failed", f"dkrun on Dask worker {worker.address}: {e}", worker.address)
    finally:
        with _lock:
            _busy.pop(me, None)
    if "warning" in reply:  # results the task server could not keep for a resume
        send(dict(where, type="log", level="WARNING", message=_text(reply["warning"])))
    if "width" in reply:
        return Expansion(width=reply["width"])
    # The task's duration is its own time in the task server (what fusion's batches are sized
    # by, docs/dask.md), as in a local run; the wait for a busy worker's Python is not the task's.
    duration = reply.get("seconds", time.monotonic() - started)
    return TaskResult(reply["kind"], reply["state"], worker.address, duration, reply.get("attempts", 0))


def _flush(send):
    """Has this thread's task server write out the results a group's tasks kept for a resume,
    so that they are there when the Dask task ends (a resume after the run reads them); what
    it could not keep is a warning, sent as a log event (``send``, as ``_call``'s). A task of
    its own asks for it in its run request (``flush``)."""
    server = getattr(_local, "server", None)
    if server is None or not server.alive:
        return  # gone with what it held: a resume runs those tasks again
    try:
        reply = server.request({"op": "flush"})
    except (ServerGone, RuntimeError) as e:
        reply = {"warning": f"cannot keep results for a resume: {e}"}
    if "warning" in reply:
        send({"type": "log", "level": "WARNING", "message": _text(reply["warning"])})


def hold(flow):
    """The Dask task that holds a run's FlowRef for the others."""
    return flow


def _child(r):
    """A child's result: a batched child's is its batch's result and its map index."""
    return r[0].results[r[1]] if isinstance(r, tuple) else r


def _upstream_states(upstream):
    """The upstream states for dkrun: each task's encoded state, or for a mapped task mapped
    over child by child, its width and the state of the one child needed."""
    states = {}
    for name, r in upstream.items():
        if isinstance(r, dict):
            states[name] = {"width": r["width"]}
            if "child" in r:
                states[name].update(child=r["child"], state=_child(r["result"]).state)
        else:
            states[name] = (r.results[name] if isinstance(r, GroupResult) else r).state
    return states


def _run_request(flow, map_index, states):
    """The task server's `run` request for a task (or its child `map_index`) from its
    upstream states."""
    message = {"op": "run", "context": flow.context, "upstream": states}
    if map_index is not None:
        message["map_index"] = map_index
    return message


def run_task(flow, slug, map_index, upstream, semaphores):
    """Runs a task (or child `map_index` of a mapped task) from its upstream results,
    holding a lease of each of its tags' semaphores (the flow's limits) while it runs."""
    # flush: the task server writes out the results kept for a resume before it answers.
    message = dict(_run_request(flow, map_index, _upstream_states(upstream)), flush=True)
    with contextlib.ExitStack() as leases:
        for semaphore in semaphores:  # always in the order of their tags: no two tasks wait on each other
            leases.enter_context(semaphore)
        return _call(flow, slug, map_index, message)


# A grouped task's state is kept in the scheduler (in the events of its group) up to this size;
# a bigger one reaches the driver with the group's result, and runs again if the worker is lost.
KEPT_STATE = 64 << 10


# How long a group's events wait to go to the driver together: one Dask event for many tasks'
# (an event each costs more than running a no-op task).
BATCH_DELAY = 0.01


class EventBatch:
    """A group's events (Running, log lines, states), sent as one Dask event ("batch") to
    the run's topic and the group's own BATCH_DELAY after the first of them, and at the end."""

    def __init__(self, worker, topics):
        self.worker = worker
        self.topics = topics
        self.lock = threading.Lock()
        self.pending = []

    def add(self, msg):
        with self.lock:
            self.pending.append(msg)
            first = len(self.pending) == 1
        if first:
            self.worker.loop.add_callback(self.worker.loop.call_later, BATCH_DELAY, self.flush)

    def flush(self):
        with self.lock:
            pending, self.pending = self.pending, []
        if pending:
            self.worker.log_event(self.topics, {"type": "batch", "events": pending})


class GroupRun:
    """Runs the tasks of one fused group (or batch of children) in this Dask task, each with
    its own request to the task server. Their events, each task's state among them, go to the
    driver as they run, and are kept in the scheduler under the group's own topic: a run of
    the group on another worker, after this one was lost, takes the kept states instead of
    running those tasks again."""

    def __init__(self, flow):
        self.flow = flow
        worker = get_worker()
        self.key = str(worker.get_current_task())
        topic = "dkrun-" + self.key
        self.kept = {(msg["task"], msg["map_index"]): TaskResult.from_event(msg)
                     for _, batch in sync(worker.loop, worker.scheduler.events, topic=topic)
                     for msg in batch["events"] if msg["type"] == "state"}
        self.events = EventBatch(worker, ["dkrun-" + flow.run_id, topic])
        # The last task run here (slug, map index): a warning of its results' flush is its.
        self.last = None

    def run(self, slug, map_index, upstream):
        """The result of a task (or child) from its upstream states: kept, or run now."""
        result = self.kept.get((slug, map_index))
        if result is not None:
            return result
        self.last = (slug, map_index)
        result = _call(self.flow, slug, map_index, _run_request(self.flow, map_index, upstream), self.events.add)
        # As bytes: Dask's events take no text that is not UTF-8 (dkrun's strings may be);
        # a state made here (TaskResult.ended) is bytes already.
        state = result.state
        if isinstance(state, str):
            state = state.encode("utf-8", "surrogateescape")
        if len(state) <= KEPT_STATE:
            self.events.add({"type": "state", "task": slug, "map_index": map_index, "group": self.key,
                             "kind": result.kind, "state": state, "worker": result.worker,
                             "duration": result.duration, "attempts": result.attempts})
        return result

    def __enter__(self):
        return self

    def __exit__(self, *_):
        if self.last is not None:
            slug, map_index = self.last
            _flush(lambda msg: self.events.add(dict(msg, task=slug, map_index=map_index, worker=self.events.worker.address)))
        self.events.flush()  # before the group's result: the driver sees its events first


def run_group(flow, members, upstream):
    """Runs a fused group: its tasks (`members`, each a slug and the slugs upstream of it) one
    after the other, as if each were its own Dask task, each from the states of its upstream
    tasks: the group's own from their results here, the others from `upstream`."""
    outside = _upstream_states(upstream)
    results = {}
    with GroupRun(flow) as group:
        for slug, names in members:
            states = {u: results[u].state if u in results else outside[u] for u in names}
            results[slug] = group.run(slug, None, states)
    return GroupResult(results)


def run_children(flow, slug, indexes, upstreams):
    """Runs a batch of a mapped task's children (map indexes `indexes`) one after the other,
    as if each were its own Dask task, each from its upstream results (`upstreams`, in the
    order of `indexes`)."""
    with GroupRun(flow) as group:
        return GroupResult({i: group.run(slug, i, _upstream_states(u)) for i, u in zip(indexes, upstreams)})


def expand_task(flow, slug, upstream):
    """Decides a mapped task: its number of children, or the state it ends in."""
    result = _call(flow, slug, None, {"op": "expand", "upstream": _upstream_states(upstream)})
    return result if isinstance(result, Expansion) else Expansion(result=result)


def collect_children(flow, slug, children):
    """A mapped task's state from its children's."""
    return _call(flow, slug, None, {"op": "collect", "children": [_child(c).state for c in children]})


def cancel_run(run_id):
    """Stops a cancelled run's tasks on this worker (run by the driver on every worker):
    later tasks end at once, and running ones are stopped with their dkrun process, which
    stops the programs they started."""
    with _lock:
        _cancelled_runs.add(run_id)
        busy = [server for (rid, server) in _busy.values() if rid == run_id]
    _stop(busy)
    return len(busy)
