#!/usr/bin/env python3
"""Benchmarks of dkrun on Dask (issue: Dask), printed as a table.

On one 2-worker LocalCluster (one thread per worker), runs the core benchmark's shapes
with dkrun (`--executor dask=ADDRESS`) with `--no-fuse` first, then fused (docs/dask.md,
Fusion): the `--no-fuse` run records its tasks' durations in the run history, so the fused run
has a history and batches the cheap tasks of a fan or a diamond (a first run of a flow only
fuses chains). In the same run, raw Dask runs the same graphs of no-op Python functions
(`Client.get`). The chain's tasks pass distinct values on (each returns its input + 1, in
dkrun and in raw Dask), so that each of dkrun's tasks has an identity of its own and keeps a
result of its own for a resume, as in a real flow (the core benchmark's chain passes one value
on, which dkrun would keep once). Then the task server's own per-task
overhead (`dkrun worker --stdio` driven directly), and the time from `dkrun` start to
the first task running on a temporary cluster. The fixed cost of a run is printed next to
what a Python program pays to reach the same scheduler: a fresh `python` importing
distributed, connecting a `Client(address)` and closing it; fixed cost and first task are
measured with the warm driver (a server that has imported the driver forks it; the table's
runs use it) and cold (DKRUN_DASK_WARM_DRIVER=0: each run starts a Python). The Dask
driver's peak RSS at the largest N (as `--verbose` reports it) is printed next to a fresh
Python's with distributed imported and a Client connected.

Usage: .venv/bin/python scripts/bench_dask.py [--sizes 100,1000,10000] [--repeat 3] [--shapes chain,fan,diamond]
(scripts/setup.sh makes the virtualenv and the release build this uses.)
"""
import atexit
import contextlib
import glob
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts.bench_core import (DIAMOND_WIDTH, DKRUN, LUA_SHAPES, ROOT,  # noqa: E402
                                dask_graph, parse_arguments, parse_timings, popen_wait)

# The chain whose tasks pass distinct values on (see above); the other shapes are the core's.
SHAPES = dict(LUA_SHAPES, chain="""
local N = {n}
local step = task("step", function(x) return x + 1 end)
return Flow("chain", function()
  local h = step(0)
  for i = 2, N do h = step(h) end
end)
""")


def inc(x=-1):
    return x + 1


def raw_graph(shape, n):
    """The Dask graph of a shape and the keys to compute: the chain as SHAPES's, of `inc`."""
    if shape != "chain":
        return dask_graph(shape, n)
    dsk = {("t", 0): (inc,)}
    for i in range(1, n):
        dsk[("t", i)] = (inc, ("t", i - 1))
    return dsk, [("t", n - 1)]


def bench_dkrun(path, address, repeat, *options):
    """Best (run phase, whole process) seconds of `dkrun PATH --executor dask=ADDRESS OPTIONS`."""
    best = None
    for _ in range(repeat):
        _, err, wall, _ = popen_wait([DKRUN, path, "-q", "--timings", "--executor", "dask=" + address, *options])
        run = parse_timings(err)["run"]
        if best is None or run < best[0]:
            best = (run, wall)
    return best


@contextlib.contextmanager
def warm_driver(on):
    """dkruns started inside use the warm driver or not; with it, a first run has started
    the server before the block begins."""
    os.environ["DKRUN_DASK_WARM_DRIVER"] = "1" if on else "0"
    if on:
        popen_wait([DKRUN, os.path.join(ROOT, "examples", "hello.lua"), "-q", "--executor", "dask"])
    try:
        yield
    finally:
        os.environ.pop("DKRUN_DASK_WARM_DRIVER")


def stop_warm_drivers():
    """Stops the warm drivers of this process's DKRUN_HOME."""
    for path in glob.glob(os.path.join(os.environ["DKRUN_HOME"], "run", "*.pid")):
        with contextlib.suppress(OSError, ValueError), open(path) as f:
            os.kill(int(f.read()), signal.SIGTERM)


def driver_peak_rss(path, address):
    """MiB: the Dask driver's peak RSS in a (fused) run of `path`, as --verbose reports it."""
    out, err, _, _ = popen_wait([DKRUN, path, "--verbose", "--executor", "dask=" + address])
    return int(re.search(r"The Dask driver's peak RSS: (\d+) MiB", out + err).group(1))


def bench_raw(client, shape, n, repeat):
    dsk, keys = raw_graph(shape, n)
    best = None
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(dsk, keys)
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    return best


def bench_task_server(tmp, n):
    """µs per no-op Lua task run through one `dkrun worker --stdio`, as the shim drives it."""
    from dkrun_dask.frames import read_frame, write_frame
    flow = os.path.join(tmp, "noop.lua")
    with open(flow, "w") as f:
        f.write('return Flow("noop", function() task("noop", function() end)() end)\n')
    payload_path = os.path.join(tmp, "noop.dkp")
    popen_wait([DKRUN, "serialize", flow, "-o", payload_path])
    with open(payload_path, "rb") as f:
        payload = f.read()
    server = subprocess.Popen([DKRUN, "worker", "--stdio"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def request(message):
        write_frame(server.stdin, message)
        while "event" in (reply := read_frame(server.stdout)):
            pass
        return reply

    digest = request({"op": "load", "payload": payload})["hash"]
    run = {"op": "run", "hash": digest, "task": "noop", "upstream": {}}
    request(run)  # warm
    started = time.perf_counter()
    for _ in range(n):
        request(run)
    elapsed = time.perf_counter() - started
    server.stdin.close()
    server.wait()
    return elapsed / n * 1e6


def first_task_latency():
    """Seconds from starting `dkrun examples/hello.lua --executor dask` (a temporary
    cluster) to its first task's Running event, and to the end of the process."""
    started = time.perf_counter()
    proc = subprocess.Popen([DKRUN, os.path.join(ROOT, "examples", "hello.lua"), "--executor", "dask",
                             "--json-events"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    first = None
    for line in proc.stdout:
        event = json.loads(line)
        if first is None and event.get("state") == "Running":
            first = time.perf_counter() - started
    proc.wait()
    return first, time.perf_counter() - started


PEER = """
import time
started = time.perf_counter()
from distributed import Client
imported = time.perf_counter()
Client({address!r}).close()
print(imported - started, time.perf_counter() - imported)
"""


def raw_client_cost(address, repeat):
    """Best seconds of a fresh Python process's `import distributed`, of its Client(address)
    connecting and closing, and of the whole process; and that process's peak RSS in MiB."""
    best = None
    for _ in range(repeat):
        out, _, wall, rss = popen_wait([sys.executable, "-c", PEER.format(address=address)])
        imported, connected = (float(x) for x in out.split())
        if best is None or wall < best[2]:
            best = (imported, connected, wall, rss)
    return best


def main():
    args, sizes = parse_arguments(__doc__, sizes="100,1000,10000", shapes=True)
    atexit.register(stop_warm_drivers)  # before the temporary DKRUN_HOME goes
    os.environ["DKRUN_BINARY"] = DKRUN  # the cluster's workers run this dkrun
    from distributed import Client, LocalCluster

    with tempfile.TemporaryDirectory() as tmp, \
            LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                         silence_logs=50) as cluster, Client(cluster) as client:
        print(f"dkrun on Dask: LocalCluster of 2 workers x 1 thread ({os.cpu_count()} cores); best of {args.repeat}")
        print("dkrun run = the run phase of --timings (driver start, connect, submit, every task, results);")
        print("fixed = the run phase of a 1-task flow; marginal µs/task = (run - fixed) / N;")
        print("ratio = dkrun (fused, after a --no-fuse run measured the tasks) / raw dask; no-fuse = dkrun --no-fuse / raw dask;")
        print("chain: each task returns its input + 1 (distinct values, so each dkrun task keeps a result of its own)\n")
        one = os.path.join(tmp, "one.lua")
        with open(one, "w") as f:
            f.write(SHAPES["chain"].format(n=1))
        with warm_driver(False):
            cold, _ = bench_dkrun(one, cluster.scheduler_address, args.repeat)
        with warm_driver(True):
            fixed, _ = bench_dkrun(one, cluster.scheduler_address, args.repeat)
        header = (f"{'shape':<8} {'N':>6} {'dkrun ms':>9} {'µs/task':>8} {'marginal':>9} "
                  f"{'--no-fuse ms':>12} {'raw dask ms':>11} {'µs/task':>8} {'ratio':>6} {'no-fuse':>7}")
        print(header)
        print("-" * len(header))
        for shape in args.shapes:
            for n in sizes:
                path = os.path.join(tmp, f"{shape}_{n}.lua")
                with open(path, "w") as f:
                    f.write(SHAPES[shape].format(n=n, w=DIAMOND_WIDTH))
                # First: its runs give the fused ones a history to batch cheap tasks from.
                unfused, _ = bench_dkrun(path, cluster.scheduler_address, args.repeat, "--no-fuse")
                run, _ = bench_dkrun(path, cluster.scheduler_address, args.repeat)
                raw = bench_raw(client, shape, n, args.repeat)
                print(f"{shape:<8} {n:>6} {run * 1e3:>9.1f} {run / n * 1e6:>8.1f} "
                      f"{(run - fixed) / n * 1e6:>9.1f} {unfused * 1e3:>12.1f} {raw * 1e3:>11.1f} "
                      f"{raw / n * 1e6:>8.1f} {run / raw:>5.2f}x {unfused / raw:>6.2f}x")
        rss = {shape: driver_peak_rss(os.path.join(tmp, f"{shape}_{sizes[-1]}.lua"), cluster.scheduler_address)
               for shape in args.shapes}
        imported, connected, process, client_rss = raw_client_cost(cluster.scheduler_address, args.repeat)
        print(f"\nfixed cost of a dkrun run on this cluster (1-task flow): {fixed * 1e3:.0f} ms with the warm driver, "
              f"{cold * 1e3:.0f} ms cold; raw Python in a fresh process: import distributed {imported * 1e3:.0f} ms + Client(address) "
              f"and close {connected * 1e3:.0f} ms (whole process {process * 1e3:.0f} ms)")
        print(f"the Dask driver's peak RSS at N={sizes[-1]}: "
              + ", ".join(f"{shape} {mib} MiB" for shape, mib in rss.items())
              + f"; a fresh Python with distributed and a Client (the peer above): {client_rss:.0f} MiB")
        server_us = bench_task_server(tmp, 20000)
        print(f"task server, no-op Lua task through `dkrun worker --stdio`: {server_us:.1f} µs/task")
    for on in [True, False]:
        with warm_driver(on):
            first, total = first_task_latency()
        print(f"`dkrun examples/hello.lua --executor dask` (temporary cluster), {'warm' if on else 'cold'}: "
              f"first task running after {first * 1e3:.0f} ms, whole run {total * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
