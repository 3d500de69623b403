#!/usr/bin/env python3
"""What `--resume` saves and what keeping results costs (issue 13, resume), in one run.

A flow maps a task over N items (10,000) whose child `--fail-at` fails until a file exists. The
script runs it fresh (it fails at that child), creates the file, and resumes it: it prints the
time from starting dkrun until the first task that runs again starts (its Running event), next
to the fresh run's time until its first task started and its whole time. Then the cost of
keeping results for a resume: the same flow, all children succeeding, with results kept (the
default) and with `checkpoint = false` (nothing kept), the fastest of `--repeat` runs each.
Times are wall seconds from starting dkrun (so evaluating the flow is counted). Each run has
a DKRUN_HOME of its own in a temporary directory.

Usage: .venv/bin/python scripts/bench_resume.py [--dkrun .build/release/dkrun] [--tasks 10000] [--repeat 3]
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FLOW = """
local work = task("work", {{ {options} }}, function(i)
  if i == {fail_at} then assert(io.open("{need}")):close() end
  return {{ item = i, name = "row " .. i }}
end)
local count = task("count", function(rows) print("rows " .. #rows) end)
local items = {{}}
for i = 1, {tasks} do items[i] = i end
return Flow("bench-resume", function() count(work:map(items)) end)
"""


def event_time(event):
    return datetime.datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()


def run(dkrun, path, home, *extra):
    """Runs the flow; returns (exit code, seconds until the first Running event, whole seconds)."""
    started = time.time()
    done = subprocess.run([dkrun, path, "--executor", "local", "--json-events", *extra], capture_output=True, text=True,
                          env=dict(os.environ, DKRUN_HOME=home), check=False)
    whole = time.time() - started
    first = None
    for line in done.stdout.splitlines():
        event = json.loads(line)
        if event.get("event") == "task_state" and event.get("state") == "Running":
            first = event_time(event) - started
            break
    if done.returncode not in (0, 1):
        sys.exit(f"{path}: exit {done.returncode}\n{done.stderr}")
    return done.returncode, first, whole


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dkrun", default=os.path.join(ROOT, ".build", "release", "dkrun"))
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--fail-at", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        need = os.path.join(tmp, "need")

        def flow(name, options=""):
            path = os.path.join(tmp, name + ".lua")
            with open(path, "w") as f:
                f.write(FLOW.format(options=options, fail_at=args.fail_at, need=need, tasks=args.tasks))
            return path

        path = flow("resume")
        home = os.path.join(tmp, "home-resume")
        code, fresh_first, fresh_whole = run(args.dkrun, path, home)
        if code != 1:
            sys.exit(f"the fresh run should fail at child {args.fail_at}, and exited {code}")
        open(need, "w").close()
        code, resume_first, resume_whole = run(args.dkrun, path, home, "--resume")
        if code != 0:
            sys.exit(f"the resumed run exited {code}")

        kept = flow("kept")
        unkept = flow("unkept", "checkpoint = false")
        walls = {}
        for name, path in (("results kept (default)", kept), ("checkpoint = false", unkept)):
            times = []
            for i in range(args.repeat):
                times.append(run(args.dkrun, path, os.path.join(tmp, f"home-{len(walls)}-{i}"))[2])
            walls[name] = min(times)

    print(f"{args.tasks} mapped tasks, executor local, {args.dkrun}")
    print(f"fresh run (fails at child {args.fail_at}): first task started after {fresh_first:.3f} s, "
          f"whole run {fresh_whole:.3f} s")
    print(f"--resume after the fix:            first rerun task started after {resume_first:.3f} s, "
          f"whole run {resume_whole:.3f} s")
    base = walls["checkpoint = false"]
    for name, wall in walls.items():
        print(f"{name:24s} {wall:7.3f} s (fastest of {args.repeat})  {(wall - base) / args.tasks * 1000:+6.3f} ms per task")
    kept = walls["results kept (default)"]
    print(f"side by side: results kept {kept:.3f} s, nothing kept {base:.3f} s: {kept / base:.2f}x")


if __name__ == "__main__":
    main()
