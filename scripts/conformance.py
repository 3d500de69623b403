"""Runs the Prefect 1 conformance suite: each case with Prefect 1.4.1 and with dkrun, compared.

    .venv/bin/python scripts/conformance.py [--dkrun PATH] [--cases DIR]
        [--executors local,threads,dask] [--json FILE] [--timeout SECONDS] [CASE_FILTER ...]

Tests/Conformance/README.md describes the cases and what is compared. A case with VARIANTS is
a row for each variant, named NAME[VARIANT]. The Prefect side runs once for every selected row
(Tests/Conformance/prefect_side.py, with .venv-prefect1's python); dkrun runs each row on each
executor, `dask` on a Dask cluster this script starts on 127.0.0.1 (a scheduler and two
one-thread workers from .venv) and stops at exit. Nothing is built: --dkrun names the binary to
test.

Exit status: 0 when every run agrees with Prefect or differs as its case documents (DIFFERS),
1 when a run differs without being documented, or agrees although documented as differing
(then docs/prefect1.md and the case's DIFFERS are out of date), 2 on bad usage.
"""

import argparse
import ast
import concurrent.futures
import fnmatch
import http.server
import json
import math
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PREFECT_PYTHON = REPO / ".venv-prefect1" / "bin" / "python"
PREFECT_SIDE = REPO / "Tests" / "Conformance" / "prefect_side.py"
VENV_BIN = REPO / ".venv" / "bin"
EXECUTORS = ("local", "threads", "dask")

# dkrun's exit code for each final flow state (docs/cli.md). States missing here are reported
# as a difference.
EXIT_CODES = {
    "Success": 0,
    "Failed": 1,
    "Paused": 3,
    "Cancelled": 130,
}


def prefect_flow_state(prefect):
    """Prefect's flow state in dkrun's words: a run stopped at a paused task is still Running in
    Prefect (flow.run() would ask on stdin to resume it); dkrun ends it Paused."""
    state = prefect["flow"]["state"]
    tasks = prefect["tasks"].values()
    paused = any(t["state"] == "Paused" or any(c["state"] == "Paused" for c in t.get("children", []))
                 for t in tasks)
    return "Paused" if state == "Running" and paused else state

PREFECT_STARTUP_SECONDS = 30  # importing Prefect, on top of the first case's time limit
STOP_GRACE_SECONDS = 5  # between SIGTERM and SIGKILL
EXEC_RETRIES = 10  # the binary may be relinked while we run: ETXTBSY, ENOENT


class Processes:
    """Every process this script starts, each in its own process group, so that all of them
    (and their children: dkrun's Dask driver, a worker's dkrun) can be stopped at exit."""

    def __init__(self):
        self._running = set()
        self._lock = threading.Lock()
        self._closed = False

    def start(self, argv, **kwargs):
        for attempt in range(EXEC_RETRIES):
            try:
                proc = subprocess.Popen(argv, start_new_session=True, **kwargs)
                break
            except OSError:
                if attempt == EXEC_RETRIES - 1:
                    raise
                time.sleep(1)
        with self._lock:
            self._running.add(proc)
            closed = self._closed
        if closed:  # stop_all ran meanwhile (Ctrl-C)
            self.stop(proc)
            raise RuntimeError("stopping: no new process")
        return proc

    def stop(self, proc):
        """SIGTERM to the process group, SIGKILL if it is still there after a grace period."""
        for sig, grace in ((signal.SIGTERM, STOP_GRACE_SECONDS), (signal.SIGKILL, None)):
            if proc.poll() is not None:
                break
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                continue
        self.forget(proc)

    def running(self):
        with self._lock:
            return list(self._running)

    def forget(self, proc):
        with self._lock:
            self._running.discard(proc)

    def stop_all(self):
        """Stops every process and refuses to start more."""
        with self._lock:
            self._closed = True
        for proc in self.running():
            self.stop(proc)


@dataclass
class Case:
    """One row of the table: a case, or one of its VARIANTS (then named NAME[VARIANT])."""
    name: str
    lua: Path
    py: Path
    parameters: dict = field(default_factory=dict)
    differs: object = None  # None, a reason (str), or {executor: reason}
    problem: str = None  # a case that cannot run: the reason
    variant: str = None

    def prefect_argument(self):
        """This row for prefect_side.py: NAME.py, or NAME.py[VARIANT]."""
        return str(self.py) if self.variant is None else f"{self.py}[{self.variant}]"

    def documented_difference(self, executor):
        if isinstance(self.differs, dict):
            return self.differs.get(executor)
        return self.differs


def module_constant(tree, name):
    """The literal value assigned to a module-level `name`, or None."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    return None


def load_case(cases_dir, name):
    """The case's rows: the case, or one for each of its VARIANTS."""
    py, lua = cases_dir / f"{name}.py", cases_dir / f"{name}.lua"
    case = Case(name, lua, py)
    if not py.exists() or not lua.exists():
        missing = lua if py.exists() else py
        case.problem = f"{missing.name} is missing: a case is a .py and a .lua"
        return [case]
    try:
        tree = ast.parse(py.read_text(), str(py))
        case.parameters = module_constant(tree, "PARAMETERS") or {}
        variants = module_constant(tree, "VARIANTS")
        case.differs = module_constant(tree, "DIFFERS")
    except (SyntaxError, ValueError) as exc:
        case.problem = f"{py.name}: PARAMETERS, VARIANTS and DIFFERS must be literals ({exc})"
        return [case]
    case.problem = definition_problem(py, case.parameters, variants, case.differs)
    if case.problem or variants is None:
        return [case]
    return [replace(case, name=f"{name}[{variant}]", variant=variant, parameters=parameters)
            for variant, parameters in variants.items()]


def definition_problem(py, parameters, variants, differs):
    """What is wrong with a case's PARAMETERS, VARIANTS and DIFFERS, or None."""
    if not isinstance(parameters, dict):
        return f"{py.name}: PARAMETERS must be a dict"
    if variants is not None:
        if not (isinstance(variants, dict) and variants and all(
                isinstance(name, str) and re.fullmatch(r"[\w.-]+", name)
                and isinstance(values, dict) for name, values in variants.items())):
            return (f"{py.name}: VARIANTS must be a dict of variant name (letters, digits, "
                    f"_ . -) to a dict of parameters")
        if parameters:
            return f"{py.name}: PARAMETERS and VARIANTS: give the parameters in each variant"
    if not (differs is None or isinstance(differs, (str, dict))):
        return f"{py.name}: DIFFERS must be a reason (str) or a dict of executor to reason"
    return None


def find_cases(cases_dir, filters):
    """The rows of every case whose name matches a filter (a case's variants go together)."""
    names = sorted({p.stem for p in cases_dir.iterdir()
                    if p.suffix in (".py", ".lua") and not p.name.startswith("_")})
    if filters:
        patterns = [f if any(c in f for c in "*?[") else f"*{f}*" for f in filters]
        names = [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)]
    return [row for n in names for row in load_case(cases_dir, n)]


# ---- the Prefect side ----

def run_prefect_side(cases, processes, log_dir, timeout):
    """Each case's record from prefect_side.py, by case name.

    One process runs every case; a case that takes longer than `timeout` is stopped and the
    process started again for the cases after it.
    """
    records = {}
    remaining = list(cases)
    while remaining:
        stderr = open(log_dir / "prefect-output.log", "ab")
        proc = processes.start(
            [str(PREFECT_PYTHON), str(PREFECT_SIDE), "--log", str(log_dir / "prefect.log"),
             *(c.prefect_argument() for c in remaining)],
            stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, text=True)
        lines = queue.Queue()
        threading.Thread(target=read_lines, args=(proc.stdout, lines), daemon=True).start()
        limit = timeout + PREFECT_STARTUP_SECONDS
        while remaining:
            case = remaining[0]
            try:
                line = lines.get(timeout=limit)
            except queue.Empty:
                records[case.name] = {
                    "error": f"Prefect did not finish it in {timeout:g} s (stopped)"}
                remaining.pop(0)
                break
            if line is None:
                proc.wait()
                records[case.name] = {
                    "error": f"prefect_side.py exited ({proc.returncode}) during this case; "
                             f"see {log_dir / 'prefect-output.log'}"}
                remaining.pop(0)
                break
            record = json.loads(line)
            if record.get("case") != case.name:
                raise RuntimeError(f"prefect_side.py answered {record.get('case')!r} "
                                   f"for {case.name!r}")
            records[case.name] = record
            remaining.pop(0)
            limit = timeout
        processes.stop(proc)
        stderr.close()
    return records


def read_lines(stream, lines):
    """Puts each line of `stream` on the queue `lines`, then None."""
    for line in stream:
        lines.put(line)
    lines.put(None)


# ---- the Dask cluster ----

class SlowServer:
    """An HTTP server on 127.0.0.1 that answers every request after SLOW_SECONDS: the peer of
    the cases that time out an HTTP request. Both sides find it in $CONFORMANCE_SLOW_URL."""

    SLOW_SECONDS = 5
    VARIABLE = "CONFORMANCE_SLOW_URL"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the name http.server calls)
            time.sleep(SlowServer.SLOW_SECONDS)
            try:
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"late\n")
            except OSError:  # the client gave up, as it should
                pass

        def log_message(self, *_):
            pass

    def __init__(self):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self.Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slow"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class DaskCluster:
    """A scheduler and two one-thread workers on 127.0.0.1, logging into `log_dir`.

    Like the Swift tests' cluster (Tests/dkrunTests/DaskCluster.swift): the workers find dkrun
    through DKRUN_BINARY and have nothing else on their PATH but `env`. They take DKRUN_HOME
    and HOME from this process (the suite's and the soak's DKRUN_HOME): without them, a
    worker's dkrun would keep results (docs/results.md) under its working directory.
    """

    WORKERS = 2
    START_SECONDS = 60

    def __init__(self, processes, log_dir, dkrun, env=None):
        self.processes = processes
        self.log_dir = log_dir
        self.dkrun = dkrun
        self.env = env or {}
        self.address = None

    def start(self):
        """Starts the scheduler and the workers; `wait_ready` waits for them."""
        scheduler_file = self.log_dir / "scheduler.json"
        self._spawn("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", "0",
                                  "--dashboard-address", "127.0.0.1:0",
                                  "--scheduler-file", str(scheduler_file)],
                    # The scheduler unpickles the task graph: it must import the same dkrun_dask.
                    {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ})
        deadline = time.monotonic() + self.START_SECONDS
        while self.address is None:
            try:
                self.address = json.loads(scheduler_file.read_text())["address"]
            except (OSError, ValueError, KeyError):
                if time.monotonic() > deadline:
                    raise RuntimeError("the Dask scheduler did not start:\n"
                                       + self._log_tail("scheduler"))
                time.sleep(0.1)
        for i in range(self.WORKERS):
            self._spawn(f"worker-{i}", ["worker", self.address, "--host", "127.0.0.1",
                                        "--nthreads", "1", "--dashboard-address", "127.0.0.1:0"],
                        {"DKRUN_BINARY": str(self.dkrun),
                         **{k: os.environ[k] for k in ("DKRUN_HOME", "HOME", "PYTHONPATH") if k in os.environ}})

    def wait_ready(self):
        script = (f"from distributed import Client\n"
                  f"with Client({self.address!r}, timeout=30) as c:\n"
                  f"    c.wait_for_workers({self.WORKERS}, timeout=30)\n")
        proc = self.processes.start([str(VENV_BIN / "python"), "-c", script],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            out, _ = proc.communicate(timeout=self.START_SECONDS)
        finally:
            self.processes.stop(proc)
        if proc.returncode != 0:
            logs = "\n".join(self._log_tail(f"worker-{i}") for i in range(self.WORKERS))
            raise RuntimeError(f"the Dask workers did not join:\n{out}\n{logs}")

    def _spawn(self, name, args, env):
        with open(self.log_dir / f"{name}.log", "wb") as log:
            self.processes.start([str(VENV_BIN / "dask"), *args], stdout=log,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env={"PATH": "/usr/bin:/bin", **self.env, **env})

    def _log_tail(self, name, lines=20):
        try:
            return "\n".join((self.log_dir / f"{name}.log").read_text().splitlines()[-lines:])
        except OSError:
            return f"(no {name}.log)"


# ---- the dkrun side ----

def run_dkrun(case, executor, dkrun, processes, timeout):
    """Runs the case's Lua twin; returns {"exit_code", "record" or "error", "stderr"}."""
    argv = [str(dkrun), "--json-events", "--executor", executor, str(case.lua)]
    for name, value in case.parameters.items():
        argv += ["--param", f"{name}={json.dumps(value)}"]
    proc = processes.start(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, text=True, cwd=REPO)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        processes.stop(proc)
        out, err = proc.communicate()
        return {"exit_code": None, "stderr": err[-2000:],
                "error": f"dkrun did not finish in {timeout:g} s (stopped)"}
    processes.forget(proc)
    run = {"exit_code": proc.returncode, "stderr": err[-2000:]}
    try:
        events = [json.loads(line) for line in out.splitlines() if line.strip()]
    except ValueError as exc:
        run["error"] = f"dkrun printed a line that is not JSON ({exc})"
        return run
    record = final_states(events)
    if record is None:
        last = err.strip().splitlines()[-1:] or ["(no stderr)"]
        run["error"] = f"dkrun exited {proc.returncode} without flow_finished: {last[0]}"
    else:
        run["record"] = record
    return run


def final_states(events):
    """dkrun's run in prefect_side.py's shape: the last state of each task and mapped child,
    and the flow's; None when the run did not finish."""
    tasks, flow = {}, None
    for event in events:
        if event.get("event") == "flow_finished":
            flow = {"state": event.get("state"), "message": event.get("message")}
        elif event.get("event") == "task_state":
            state = {"state": event.get("state"), "message": event.get("message"),
                     "result": event.get("result")}
            task = tasks.setdefault(event.get("task"), {"state": None, "children": {}})
            if event.get("map_index") is None:
                task.update(state)
            else:
                task["children"][event["map_index"]] = state
    if flow is None:
        return None
    for task in tasks.values():
        children = task.pop("children")
        if children:
            task["children"] = [children.get(i, {"state": None}) for i in range(max(children) + 1)]
    return {"flow": flow, "tasks": tasks}


# ---- the comparison ----

def value_difference(expected, actual, where="result"):
    """Where a dkrun value differs from Prefect's plain value, or None.

    Lua has one table type: an empty table stands for [] and {} alike. Numbers compare by
    value (1 == 1.0), booleans only with booleans, and dkrun's null is None.
    """
    def shown(value):
        return json.dumps(value)[:80]

    if expected is None or isinstance(expected, (bool, str)):
        same = expected == actual and type(expected) is type(actual)
    elif isinstance(expected, (int, float)):
        same = (isinstance(actual, (int, float)) and not isinstance(actual, bool)
                and (expected == actual or (math.isnan(expected) and math.isnan(actual))))
    elif isinstance(expected, (list, tuple)):
        if actual == {} and not expected:
            return None
        if not isinstance(actual, list) or len(actual) != len(expected):
            same = False
        else:
            for i, (e, a) in enumerate(zip(expected, actual)):
                found = value_difference(e, a, f"{where}[{i}]")
                if found:
                    return found
            return None
    else:  # a dict of str keys
        if actual == [] and not expected:
            return None
        if not isinstance(actual, dict) or set(actual) != set(expected):
            same = False
        else:
            for key in expected:
                found = value_difference(expected[key], actual[key], f"{where}.{key}")
                if found:
                    return found
            return None
    return None if same else f"{where}: Prefect {shown(expected)}, dkrun {shown(actual)}"


def task_differences(name, expected, actual):
    if actual["state"] != expected["state"]:
        return [f"{name}: Prefect {expected['state']}, dkrun {actual['state']}"]
    found = []
    expected_children = expected.get("children", [])
    actual_children = actual.get("children", [])
    if len(expected_children) != len(actual_children):
        found.append(f"{name}: Prefect has {len(expected_children)} mapped children, "
                     f"dkrun {len(actual_children)}")
    else:
        for i, (e, a) in enumerate(zip(expected_children, actual_children)):
            found += task_differences(f"{name}[{i}]", e, a)
    if expected["successful"] and expected["plain"]:
        difference = value_difference(expected["result"], actual.get("result"), f"{name} result")
        if difference:
            found.append(difference)
    return found


def differences(prefect, dkrun_run):
    """Every way dkrun's run differs from Prefect's, most telling first: tasks in Prefect's
    topological order, tasks only dkrun has, the flow's state, the exit code."""
    if "error" in dkrun_run:
        return [dkrun_run["error"]]
    expected, actual = prefect["tasks"], dkrun_run["record"]["tasks"]
    flow_state, actual_flow = prefect_flow_state(prefect), dkrun_run["record"]["flow"]
    found = []
    for name, task in expected.items():
        if name not in actual:
            found.append(f"{name}: Prefect {task['state']}, missing in dkrun")
        else:
            found += task_differences(name, task, actual[name])
    found += [f"{name}: dkrun {actual[name]['state']}, missing in Prefect"
              for name in actual if name not in expected]
    if actual_flow["state"] != flow_state:
        # A run that ran no task at all is best told by the flow's message.
        found.insert(len(found) if actual else 0,
                     f"flow: Prefect {flow_state}, dkrun {actual_flow['state']} "
                     f"({actual_flow['message']})")
    if flow_state not in EXIT_CODES:
        found.append(f"no exit code is known for a {flow_state} flow (add it to EXIT_CODES)")
    elif dkrun_run["exit_code"] != EXIT_CODES[flow_state]:
        found.append(f"exit code {dkrun_run['exit_code']}, expected {EXIT_CODES[flow_state]} "
                     f"for a {flow_state} flow")
    return found


def case_error(case, prefect):
    """Why the case itself is broken (then nothing is compared), or None."""
    if case.problem:
        return case.problem
    if "error" in prefect:
        return "Prefect side: " + prefect["error"].strip().splitlines()[-1]
    return None


AGREE, DOCUMENTED = "agree", "differs (documented)"
STALE = "AGREES, but DIFFERS documents a difference: update the case and docs/prefect1.md"


def verdict(case, executor, found):
    """One run's status: AGREE, DOCUMENTED, STALE or "DIFFERS: first difference"."""
    documented = case.documented_difference(executor)
    if found:
        return DOCUMENTED if documented else "DIFFERS: " + found[0]
    return STALE if documented else AGREE


# ---- the report ----

def print_table(cases, executors, results, width=50):
    """The cases x executors table; statuses too long for a cell follow it in full, once for
    the executors where they are the same."""
    def cell(text):
        return text if len(text) <= width else text[:width - 1] + "…"

    rows = [["case", *executors]] + [
        [case.name, *(cell(results[case.name][e]["status"]) for e in executors)]
        for case in cases]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  ".join(text.ljust(w) for text, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    long = []
    for case in cases:
        by_status = {}
        for executor in executors:
            by_status.setdefault(results[case.name][executor]["status"], []).append(executor)
        long += [f"  {case.name} [{', '.join(e)}]: {status}"
                 for status, e in by_status.items() if len(status) > width]
    if long:
        print("\nIn full:", *long, sep="\n")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("filters", nargs="*", metavar="CASE_FILTER",
                        help="run only cases whose name contains this (or matches this glob)")
    parser.add_argument("--dkrun", type=Path, default=REPO / ".build" / "debug" / "dkrun",
                        help="the dkrun binary to test (default: .build/debug/dkrun)")
    parser.add_argument("--cases", type=Path, default=REPO / "Tests" / "Conformance" / "cases",
                        help="the cases' directory (default: Tests/Conformance/cases)")
    parser.add_argument("--executors", default=",".join(EXECUTORS),
                        help="comma-separated, from local, threads, dask (default: all)")
    parser.add_argument("--timeout", type=float, default=60,
                        help="seconds one case may take, on either side (default: 60)")
    parser.add_argument("--jobs", type=int, default=2, help="dkrun runs at a time (default: 2)")
    parser.add_argument("--json", type=Path, help="write the full comparison to this file")
    args = parser.parse_args()
    args.executors = [e for e in args.executors.split(",") if e]
    unknown = [e for e in args.executors if e not in EXECUTORS]
    if unknown or not args.executors:
        parser.error(f"--executors: unknown {', '.join(unknown) or '(none given)'}; "
                     f"choose from {', '.join(EXECUTORS)}")
    args.dkrun = args.dkrun.resolve()
    if not os.access(args.dkrun, os.X_OK):
        parser.error(f"--dkrun: {args.dkrun} is not an executable (build it: swift build)")
    if not PREFECT_PYTHON.exists():
        parser.error(f"{PREFECT_PYTHON} is missing (make it: scripts/setup.sh)")
    if not args.cases.is_dir():
        parser.error(f"--cases: {args.cases} is not a directory")
    return args


def run_suite(args, processes, log_dir):
    cases = find_cases(args.cases, args.filters)
    if not cases:
        print(f"conformance: no case in {args.cases} matches {' '.join(args.filters)}",
              file=sys.stderr)
        return 1, {}
    runnable = [c for c in cases if c.problem is None]

    slow = SlowServer()
    os.environ[SlowServer.VARIABLE] = slow.url  # for Prefect, dkrun and the Dask workers
    cluster = None
    if "dask" in args.executors:
        cluster = DaskCluster(processes, log_dir, args.dkrun, env={SlowServer.VARIABLE: slow.url})
        cluster.start()  # it starts while Prefect runs
    prefect = run_prefect_side(runnable, processes, log_dir, args.timeout)
    if cluster:
        cluster.wait_ready()

    def executor_arg(executor):
        return f"dask={cluster.address}" if executor == "dask" else executor

    errors = {c.name: case_error(c, prefect.get(c.name, {})) for c in cases}
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
    try:
        futures = {(c.name, e): pool.submit(run_dkrun, c, executor_arg(e), args.dkrun, processes,
                                            args.timeout)
                   for c in cases if not errors[c.name] for e in args.executors}
        results = {}
        for case in cases:
            results[case.name] = {}
            for executor in args.executors:
                if errors[case.name]:
                    results[case.name][executor] = {"status": "ERROR: " + errors[case.name]}
                    continue
                run = futures[(case.name, executor)].result()
                found = differences(prefect[case.name], run)
                results[case.name][executor] = {**run, "differences": found,
                                                "status": verdict(case, executor, found)}
    finally:
        # On Ctrl-C: no more runs; the caller stops the running ones.
        pool.shutdown(wait=False, cancel_futures=True)
        slow.stop()

    print_table(cases, args.executors, results)
    runs = [r for by_executor in results.values() for r in by_executor.values()]
    agree = sum(r["status"] == AGREE for r in runs)
    documented = sum(r["status"] == DOCUMENTED for r in runs)
    stale = sum(r["status"] == STALE for r in runs)
    differ = len(runs) - agree - documented - stale
    print(f"\n{len({c.py for c in cases})} cases in {len(cases)} rows, {len(runs)} runs: "
          f"{agree} agree, {differ} differ, {documented} documented"
          + (f", {stale} documented but agree" if stale else ""))
    report = {"dkrun": str(args.dkrun), "executors": args.executors, "cases": {
        c.name: {"differs": c.differs, "parameters": c.parameters,
                 "prefect": prefect.get(c.name), "dkrun": results[c.name]} for c in cases}}
    return (1 if differ or stale else 0), report


def main():
    args = parse_args()
    # SIGTERM ends the run like Ctrl-C: through the cleanup below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    processes = Processes()
    log_dir = Path(tempfile.mkdtemp(prefix="dkrun-conformance-"))
    # The runs dkrun records go into the suite's directory, not the user's run history.
    os.environ["DKRUN_HOME"] = str(log_dir / "dkrun-home")
    status = 1
    try:
        status, report = run_suite(args, processes, log_dir)
        if args.json:
            args.json.write_text(json.dumps(report, indent=1) + "\n")
    except KeyboardInterrupt:
        print("\nconformance: interrupted", file=sys.stderr)
        status = 130
    except RuntimeError as exc:  # the cluster or the Prefect side could not run
        print(f"conformance: error: {exc}", file=sys.stderr)
    finally:
        processes.stop_all()
        if status == 0:
            shutil.rmtree(log_dir, ignore_errors=True)
        else:
            print(f"conformance: logs (Prefect, Dask) are in {log_dir}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
