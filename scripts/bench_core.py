#!/usr/bin/env python3
"""Benchmarks of dkrun's core (issue: core), printed as a table.

Runs the same task-graph shapes (chain, fan-out/fan-in, diamond layers) on dkrun's
LocalExecutor and LocalDaskExecutor (threads) and, in the same run, on Dask's threaded
scheduler (dask.threaded.get) with no-op Python functions, and the µs per task at the
largest N over the smallest (flat is 1.00x); then the cold start of `dkrun examples/hello.lua`
next to Lua's and Python's, and evaluate+validate+serialise of a 100,000-task flow. Every
dkrun runs with a temporary DKRUN_HOME (`use_temporary_home`): nothing lands in the user's run
history.

Usage: .venv/bin/python scripts/bench_core.py [--sizes 1000,10000,100000] [--repeat 3]
(scripts/setup.sh makes the virtualenv and the release build this uses.)
"""
import argparse
import atexit
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DKRUN = os.path.join(ROOT, ".build", "release", "dkrun")
DIAMOND_WIDTH = 10

LUA_SHAPES = {
    "chain": """
local N = {n}
local noop = task("noop", function(x) return x end)
return Flow("chain", function()
  local h = noop(0)
  for i = 2, N do h = noop(h) end
end)
""",
    "fan": """
local N = {n}
local src = task("src", function() return 1 end)
local mid = task("mid", function(x) return x end)
local sink = task("sink", function(...) return select("#", ...) end)
return Flow("fan", function()
  local s = src()
  local mids = {{}}
  for i = 1, N - 2 do mids[i] = mid(s) end
  sink(table.unpack(mids))
end)
""",
    "diamond": """
local N, W = {n}, {w}
local src = task("src", function() return 0 end)
local node = task("node", function(a, b) return 0 end)
return Flow("diamond", function()
  local prev = {{}}
  for i = 1, W do prev[i] = src() end
  for _ = 2, N // W do
    local cur = {{}}
    for i = 1, W do cur[i] = node(prev[i], prev[i % W + 1]) end
    prev = cur
  end
end)
""",
}


def dask_graph(shape, n):
    """The same shape as a Dask graph of no-op functions, and the keys to compute."""
    def noop(*args):
        return None
    if shape == "chain":
        dsk = {("t", 0): (noop,)}
        for i in range(1, n):
            dsk[("t", i)] = (noop, ("t", i - 1))
        return dsk, [("t", n - 1)]
    if shape == "fan":
        dsk = {"src": (noop,)}
        for i in range(n - 2):
            dsk[("m", i)] = (noop, "src")
        dsk["sink"] = (noop,) + tuple(("m", i) for i in range(n - 2))
        return dsk, ["sink"]
    w = DIAMOND_WIDTH
    dsk = {("d", 0, i): (noop,) for i in range(w)}
    layers = n // w
    for layer in range(1, layers):
        for i in range(w):
            dsk[("d", layer, i)] = (noop, ("d", layer - 1, i), ("d", layer - 1, (i + 1) % w))
    return dsk, [("d", layers - 1, i) for i in range(w)]


def use_temporary_home():
    """Points every dkrun this process starts at a new DKRUN_HOME, removed at exit, so that
    benchmark runs stay out of the user's run history (~/.dkrun/history)."""
    home = tempfile.mkdtemp(prefix="dkrun-bench-home-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    os.environ["DKRUN_HOME"] = home


def popen_wait(argv):
    """Runs a command and reaps it; returns (stdout, stderr, wall seconds, its peak RSS in MiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}):\n{err.decode()}")
    return out.decode(), err.decode(), wall, usage.ru_maxrss / 1024


def parse_timings(stderr):
    """Seconds per phase from dkrun's --timings line."""
    line = next(l for l in stderr.splitlines() if l.startswith("timings: "))
    phases = {}
    for part in line[len("timings: "):].split(" (")[0].split(", "):
        name, value, unit = part.split(" ")
        phases[name] = float(value) * {"µs": 1e-6, "ms": 1e-3, "s": 1.0}[unit]
    return phases


def bench_dkrun(path, executor, repeat):
    best = None
    for _ in range(repeat):
        _, err, wall, rss = popen_wait([DKRUN, path, "-q", "--timings", "--executor", executor])
        run = parse_timings(err)["run"]
        if best is None or run < best[0]:
            best = (run, wall, rss)
    return best


DASK_CHILD = """
import sys, time, dask.threaded
sys.path.insert(0, {root!r})
from scripts.bench_core import dask_graph
dsk, keys = dask_graph({shape!r}, {n})
best = min(
    (lambda t: (dask.threaded.get(dsk, keys), time.perf_counter() - t)[1])(time.perf_counter())
    for _ in range({repeat}))
print(best)
"""


def bench_dask(shape, n, repeat):
    code = DASK_CHILD.format(root=ROOT, shape=shape, n=n, repeat=repeat)
    out, _, _, rss = popen_wait([sys.executable, "-c", code])
    return float(out.strip()), rss


def parse_arguments(doc, sizes="1000,10000,100000", shapes=False):
    """The benchmarks' common options (--sizes, --repeat, and with `shapes` --shapes, a
    comma-separated subset of LUA_SHAPES), once the release build is there; from here on the
    dkruns started use a temporary DKRUN_HOME."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--sizes", default=sizes)
    parser.add_argument("--repeat", type=int, default=3)
    if shapes:
        parser.add_argument("--shapes", default=",".join(LUA_SHAPES))
    args = parser.parse_args()
    if shapes:
        args.shapes = args.shapes.split(",")
        unknown = [s for s in args.shapes if s not in LUA_SHAPES]
        if unknown:
            parser.error(f"--shapes: unknown shape {unknown[0]!r} (known: {', '.join(LUA_SHAPES)})")
    if not os.access(DKRUN, os.X_OK):
        sys.exit(f"{DKRUN} is missing: run scripts/setup.sh first")
    use_temporary_home()
    return args, [int(s) for s in args.sizes.split(",")]


def median_start_ms(argv, runs=20):
    """Median wall milliseconds of starting `argv` and waiting for it, with min and max."""
    times = [popen_wait(argv)[2] * 1e3 for _ in range(runs)]
    return statistics.median(times), min(times), max(times)


def main():
    args, sizes = parse_arguments(__doc__)
    cores = os.cpu_count()
    print(f"dkrun core benchmark: {cores} cores; best of {args.repeat}; "
          f"µs/task = execution time / tasks (dkrun: the run phase of --timings, after evaluating)")
    print("peak RSS of the whole process; vs dask = dkrun / dask.threaded in µs per task and in RSS")
    header = (f"{'shape':<8} {'N':>6}  {'executor':<16} {'run ms':>9} {'µs/task':>8} {'process ms':>10} "
              f"{'RSS MiB':>8} {'vs dask':>8} {'RSS vs':>7}")
    print(header)
    print("-" * len(header))
    executors = (("LocalExecutor", "local"), (f"LocalDask({cores}thr)", "threads"))
    with tempfile.TemporaryDirectory() as tmp:
        for shape in LUA_SHAPES:
            per_task = {}  # executor label -> µs per task at each N
            for n in sizes:
                path = os.path.join(tmp, f"{shape}_{n}.lua")
                with open(path, "w") as f:
                    f.write(LUA_SHAPES[shape].format(n=n, w=DIAMOND_WIDTH))
                dask_s, dask_rss = bench_dask(shape, n, args.repeat)
                dask_us = dask_s / n * 1e6
                per_task.setdefault("dask.threaded", []).append(dask_us)
                for label, executor in executors:
                    run, wall, rss = bench_dkrun(path, executor, args.repeat)
                    us = run / n * 1e6
                    per_task.setdefault(label, []).append(us)
                    print(f"{shape:<8} {n:>6}  {label:<16} {run * 1e3:>9.1f} {us:>8.1f} {wall * 1e3:>10.1f} "
                          f"{rss:>8.1f} {us / dask_us:>7.2f}x {rss / dask_rss:>6.2f}x")
                print(f"{shape:<8} {n:>6}  {'dask.threaded':<16} {dask_s * 1e3:>9.1f} {dask_us:>8.1f} {'':>10} "
                      f"{dask_rss:>8.1f} {'1.00x':>8} {'1.00x':>7}")
            if len(sizes) > 1:
                print(f"{shape:<8} µs/task at N={sizes[-1]} over N={sizes[0]}: "
                      + ", ".join(f"{label} {us[-1] / us[0]:.2f}x" for label, us in per_task.items()))

        hello = os.path.join(ROOT, "examples", "hello.lua")
        print("\ncold start, median of 20 (min, max):")
        peers = [("dkrun examples/hello.lua", [DKRUN, hello, "-q"]),
                 (f"{os.path.basename(sys.executable)} -c pass", [sys.executable, "-c", "pass"])]
        lua = shutil.which("lua5.4")
        if lua:
            peers.insert(1, ("lua5.4 -e 'print(\"hello\")'", [lua, "-e", 'print("hello")']))
        for label, argv in peers:
            median, low, high = median_start_ms(argv)
            print(f"  {label:<28} {median:6.1f} ms ({low:.1f}, {high:.1f})")

        big = os.path.join(tmp, "chain_100000.lua")
        with open(big, "w") as f:
            f.write(LUA_SHAPES["chain"].format(n=100000))
        out_path = os.path.join(tmp, "payload.bin")
        best = None
        for _ in range(args.repeat):
            _, err, wall, rss = popen_wait([DKRUN, "serialize", big, "-o", out_path])
            if best is None or wall < best[0]:
                best = (wall, rss)
        size = os.path.getsize(out_path) / 2**20
        print(f"evaluate+validate+serialise of a 100,000-task flow (whole `dkrun serialize` process): "
              f"{best[0]:.2f} s, peak RSS {best[1]:.0f} MiB, payload {size:.1f} MiB")


if __name__ == "__main__":
    main()
