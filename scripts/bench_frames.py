#!/usr/bin/env python3
"""How long `dkrun worker --stdio` takes to read one big frame (issue 12, limits).

For each size, starts a worker and sends it, through a pipe as the Dask bridge does, a
request of an unknown op carrying that many MB of bytes; the time is from the first byte
sent to the error reply, so it is the frame's read and decode (and nothing else).

Usage: .venv/bin/python scripts/bench_frames.py [--dkrun .build/debug/dkrun] [40 120]
"""
import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

from dkrun_dask.frames import read_frame, write_frame  # noqa: E402


def time_frame(dkrun, megabytes):
    worker = subprocess.Popen([dkrun, "worker", "--stdio"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    body = b"x" * (megabytes * 1000 * 1000)
    start = time.monotonic()
    write_frame(worker.stdin, {"op": "frame-bench", "data": body})
    reply = read_frame(worker.stdout)
    elapsed = time.monotonic() - start
    worker.stdin.close()
    worker.wait()
    assert reply and not reply["ok"], reply
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dkrun", default=os.path.join(ROOT, ".build", "debug", "dkrun"))
    parser.add_argument("sizes", nargs="*", type=int, default=[40, 120], help="frame sizes in MB")
    args = parser.parse_args()
    for megabytes in args.sizes:
        print(f"{megabytes:5d} MB  {time_frame(args.dkrun, megabytes):8.2f} s")


if __name__ == "__main__":
    main()
