#!/usr/bin/env python3
"""What `checkpoint = true` costs per task (issue 13, results), to a local directory and to an
S3 API server (moto on 127.0.0.1), next to the same flow without checkpoints, in one run.

The flow maps a task over N items, each returning a small table; each variant runs it
`--repeat` times with `--executor local` and keeps the fastest flow wall time (from the
`flow_finished` event: dkrun's start-up is not counted). The cost per task is the difference
to the flow without checkpoints, divided by N.

Usage: .venv/bin/python scripts/bench_results.py [--dkrun .build/debug/dkrun] [--tasks 300] [--repeat 3]
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts.bench_core import use_temporary_home  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv", "bin")
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}

FLOW = """
local work = task("work", {{ {options} }}, function(i) return {{ item = i, name = "row " .. i }} end)
local count = task("count", function(rows) print("rows " .. #rows) end)
local items = {{}}
for i = 1, {tasks} do items[i] = i end
return Flow("bench-results", {{ {flow_options} }}, function() count(work:map(items)) end)
"""


def start_moto(log):
    """Starts moto_server on a free port of 127.0.0.1; returns the process and its URL."""
    server = subprocess.Popen([os.path.join(VENV, "moto_server"), "-H", "127.0.0.1", "-p", "0"],
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with open(log.name) as f:
            found = re.search(r"Running on http://127\.0\.0\.1:(\d+)", f.read())
        if found:
            return server, f"http://127.0.0.1:{found.group(1)}"
        time.sleep(0.05)
    os.killpg(server.pid, signal.SIGKILL)
    sys.exit("moto_server did not start")


def make_bucket(endpoint, bucket):
    import boto3  # comes with moto
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="bench", aws_secret_access_key="bench",
                          region_name="us-east-1")
    client.create_bucket(Bucket=bucket)


def flow_wall(dkrun, path):
    """The flow's wall time in seconds, from its flow_finished event."""
    env = dict(os.environ, **CREDENTIALS)
    run = subprocess.run([dkrun, path, "--executor", "local", "--json-events"], capture_output=True, text=True,
                         env=env, check=False)
    if run.returncode != 0:
        sys.exit(f"{path}: exit {run.returncode}\n{run.stderr}")
    for line in run.stdout.splitlines():
        event = json.loads(line)
        if event.get("event") == "flow_finished":
            return event["wall"]
    sys.exit(f"{path}: no flow_finished event")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dkrun", default=os.path.join(ROOT, ".build", "debug", "dkrun"))
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    use_temporary_home()
    with tempfile.TemporaryDirectory() as tmp, open(os.path.join(tmp, "moto.log"), "w") as log:
        server, endpoint = start_moto(log)
        try:
            make_bucket(endpoint, "bench")
            variants = [
                ("no checkpoint", "checkpoint = false", ""),
                ("checkpoint, local", "checkpoint = true", f'result = dk.results.Local{{ dir = "{tmp}/results" }}'),
                ("checkpoint, S3 (moto)", "checkpoint = true",
                 f'result = dk.results.S3{{ bucket = "bench", endpoint = "{endpoint}" }}'),
            ]
            walls = {}
            for name, options, flow_options in variants:
                path = os.path.join(tmp, f"flow{len(walls)}.lua")
                with open(path, "w") as f:
                    f.write(FLOW.format(options=options, flow_options=flow_options, tasks=args.tasks))
                walls[name] = min(flow_wall(args.dkrun, path) for _ in range(args.repeat))
        finally:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    base = walls["no checkpoint"]
    print(f"{args.tasks} tasks, fastest of {args.repeat} runs, executor local")
    for name, wall in walls.items():
        extra = "" if wall is base else f"  +{(wall - base) / args.tasks * 1000:6.2f} ms per task"
        print(f"{name:24s} {wall:7.3f} s  {wall / args.tasks * 1000:6.2f} ms per task{extra}")


if __name__ == "__main__":
    main()
