#!/usr/bin/env python3
"""Peak memory of a 3-stage mapped pipeline, depth-first against breadth-first (issue 15).

`c:map(b:map(a:map(range(N))))` where a and b return SIZE MB strings and c their length, on
`--executor threads=T`: the dkrun under test (depth-first: child i of b runs when child i of a
has ended) against a baseline dkrun that runs mapped pipelines breadth-first (main before
depth-first maps; no flow option chooses between them). Prints, for each, the peak RSS of the
dkrun process (the driver: on threads every task runs in it) and the wall time. Every dkrun
runs with a temporary DKRUN_HOME (bench_core.use_temporary_home).

Usage: .venv/bin/python scripts/bench_depth_first.py --baseline /work/main/.build/debug/dkrun
           [--dkrun .build/debug/dkrun] [--items 2000] [--mb 1] [--threads 2] [--repeat 1]
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_core import ROOT, popen_wait, use_temporary_home  # noqa: E402

PIPELINE = """
local N, SIZE = {items}, {size}
local a = task("a", function(i) return string.rep("a", SIZE) end)
local b = task("b", function(s) return string.rep("b", #s) end)
local c = task("c", function(s) return #s end)
local total = task("total", function(ns) local t = 0 for _, n in ipairs(ns) do t = t + n end return t end)
local items = {{}}
for i = 1, N do items[i] = i end
return Flow("depth_first_memory", function() total(c:map(b:map(a:map(items)))) end)
"""


def measure(dkrun, flow, threads):
    """(peak RSS in MiB, wall seconds) of one run."""
    out, _, wall, rss = popen_wait([dkrun, flow, "--executor", f"threads={threads}"])
    if "Success" not in out:
        sys.exit(f"{dkrun} {flow}: the run did not succeed:\n{out}")
    return rss, wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dkrun", default=os.path.join(ROOT, ".build", "debug", "dkrun"), help="the depth-first dkrun")
    parser.add_argument("--baseline", required=True, help="a breadth-first dkrun (main before depth-first maps)")
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--mb", type=float, default=1.0, help="size of a's and b's results, in MB")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    use_temporary_home()
    with tempfile.TemporaryDirectory(prefix="dkrun-bench-depth-") as tmp:
        flow = os.path.join(tmp, "pipeline.lua")
        with open(flow, "w") as f:
            f.write(PIPELINE.format(items=args.items, size=int(args.mb * 1_000_000)))
        print(f"3-stage mapped pipeline, {args.items} items, {args.mb:g} MB results, threads={args.threads}")
        print(f"{'order':<14} {'peak RSS MiB':>12} {'wall s':>8}")
        for name, dkrun in [("breadth-first", args.baseline), ("depth-first", args.dkrun)]:
            runs = [measure(dkrun, flow, args.threads) for _ in range(args.repeat)]
            rss = max(r for r, _ in runs)
            wall = min(w for _, w in runs)
            print(f"{name:<14} {rss:>12.0f} {wall:>8.2f}")


if __name__ == "__main__":
    main()
