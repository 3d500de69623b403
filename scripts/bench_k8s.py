#!/usr/bin/env python3
"""Benchmarks of flow runs on Kubernetes (issue: DaskKubernetesEnvironment), on the test cluster.

Starts a kubesim cluster (tools/kubesim/cluster.py, needs root) whose pods run the release
build, and measures with `dkrun FLOW.lua --json-events` (event times are the pods' clocks,
this machine's):
  - time from starting `dkrun` to the first task running (Job, scheduler and worker pods
    made and started on the way);
  - worker pods created per second, and started per second, for a fixed cluster of --pods
    workers (from the Job's "worker pod ... created" / "running" events);
  - time from the last task's end to no pod of the run left (dkrun's own "nothing of it is
    left" check, which lists the run's pods until there are none);
  - per-task overhead of N no-op tasks on the spawned 2-worker cluster, against the same
    flow on a local temporary Dask cluster of 2 workers (`--executor dask`) in the same run.

Usage: sudo .venv/bin/python scripts/bench_k8s.py [--tasks 1000] [--pods 8] [--repeat 3]
(scripts/setup.sh makes the virtualenv and the release build this uses.)
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts.bench_core import DKRUN, ROOT, use_temporary_home  # noqa: E402

PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
CLUSTER = os.path.join(ROOT, "tools", "kubesim", "cluster.py")

HELLO = """
local hello = task("hello", function() return "hi" end)
return Flow("Bench hello", { environment = DaskKubernetesEnvironment { min_workers = 1, max_workers = 1 } },
  function() hello() end)
"""

PODS = """
local hello = task("hello", function() return "hi" end)
return Flow("Bench pods", { environment = DaskKubernetesEnvironment { min_workers = %(n)d, max_workers = %(n)d } },
  function() hello() end)
"""

NOOPS = """
local items = task("items", function() local t = {} for i = 1, %(n)d do t[i] = i end return t end)
local noop = task("noop", function(i) return i end)
return Flow("Bench no-ops", { environment = DaskKubernetesEnvironment { min_workers = 2, max_workers = 2 } },
  function() noop:map(items()) end)
"""


def seconds(iso):
    return datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def run_events(cluster_dir, flow, *extra):
    """(wall time dkrun started, its JSON events) of one run inside the cluster."""
    started = time.time()
    done = subprocess.run([PYTHON, CLUSTER, "exec", cluster_dir, "--", DKRUN, flow, "--json-events", *extra],
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        sys.exit(f"{flow} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return started, [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def logs(events, text):
    return [seconds(e["time"]) for e in events if e["event"] == "log" and text in e["message"]]


def first_task_running(cluster_dir, flow):
    started, events = run_events(cluster_dir, flow)
    running = min(seconds(e["time"]) for e in events if e["event"] == "task_state" and e["state"] == "Running")
    return running - started


def pod_rates(cluster_dir, flow, n):
    _, events = run_events(cluster_dir, flow)
    created, running = logs(events, "created ("), logs(events, " running at ")
    first = min(created)
    return (n - 1) / (max(created) - first) if n > 1 else float("nan"), n / (max(running) - first)


def teardown(cluster_dir, flow):
    _, events = run_events(cluster_dir, flow)
    last_task = max(seconds(e["time"]) for e in events
                    if e["event"] == "task_state" and e["state"] not in ("Running", "Pending"))
    gone = logs(events, "nothing of it is left on the cluster")
    return gone[-1] - last_task


def per_task(cluster_dir, flow, n, executor=None):
    _, events = run_events(cluster_dir, flow, *(["--executor", executor] if executor else []))
    finished = [e for e in events if e["event"] == "flow_finished"][-1]
    return finished["wall"] / n * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not os.access(DKRUN, os.X_OK):
        sys.exit(f"{DKRUN} is missing: run scripts/setup.sh first")
    use_temporary_home()
    if os.geteuid() != 0:
        sys.exit("the test cluster needs root (network namespaces)")
    with tempfile.TemporaryDirectory() as tmp:
        cluster_dir = os.path.join(tmp, "cluster")
        path = f"{os.path.dirname(PYTHON)}:{os.path.dirname(DKRUN)}:/usr/sbin:/usr/bin:/sbin:/bin"
        subprocess.run([PYTHON, CLUSTER, "up", cluster_dir], check=True, capture_output=True, env=dict(os.environ, PATH=path))
        try:
            flows = {}
            for name, text in [("hello", HELLO), ("pods", PODS % {"n": args.pods}), ("noops", NOOPS % {"n": args.tasks})]:
                flows[name] = os.path.join(tmp, name + ".lua")
                with open(flows[name], "w") as f:
                    f.write(text)
            print(f"dkrun on Kubernetes (kubesim test cluster, {os.cpu_count()} cores); best of {args.repeat}")
            best = min(first_task_running(cluster_dir, flows["hello"]) for _ in range(args.repeat))
            print(f"dkrun start to first task running:        {best * 1000:8.0f} ms")
            rates = [pod_rates(cluster_dir, flows["pods"], args.pods) for _ in range(args.repeat)]
            print(f"worker pods created per second ({args.pods} pods):  {max(r[0] for r in rates):8.1f}")
            print(f"worker pods running per second ({args.pods} pods):  {max(r[1] for r in rates):8.1f}")
            best = min(teardown(cluster_dir, flows["hello"]) for _ in range(args.repeat))
            print(f"last task to zero pods of the run left:   {best * 1000:8.0f} ms")
            k8s = min(per_task(cluster_dir, flows["noops"], args.tasks) for _ in range(args.repeat))
            local = min(per_task(cluster_dir, flows["noops"], args.tasks, "dask") for _ in range(args.repeat))
            print(f"per task, {args.tasks} no-op tasks, spawned 2-worker cluster: {k8s:8.0f} µs "
                  f"(local temporary 2-worker Dask cluster: {local:.0f} µs; ratio {k8s / local:.2f}x)")
        finally:
            subprocess.run([PYTHON, CLUSTER, "down", cluster_dir], capture_output=True)


if __name__ == "__main__":
    main()
