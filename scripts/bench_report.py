#!/usr/bin/env python3
"""Figures of the run report (docs/report.md): for a 10,000-task run, how long `dkrun report`
takes and how big the page is, and how long headless Chromium takes to load it, next to an
empty page loaded the same way.

    scripts/bench_report.py [--dkrun .build/release/dkrun] [--tasks 10000] [--screenshot FILE]

The run is real: a mapped task of N children on threads(4), each child logging a line, every
50th failing its first attempt and retried. The screenshot is of a smaller run of the same
flow whose children sleep, so that they overlap, and one of which fails. Each time is the median of --repeat runs.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

FLOW = """
local items = task("items", function(n)
  local out = {}
  for i = 1, n do out[i] = i end
  return out
end)
local work = task("work", { max_retries = 1, retry_delay = 0 }, function(i, every, bad, pause)
  dk.log.info("item %d", i)
  if pause > 0 then dk.time.sleep(pause * (1 + i % 4)) end
  if i % every == 0 and dk.context.attempt == 1 then error("flaky item " .. i) end
  if i == bad then error("item " .. i .. " is bad") end
  return i * 2
end)
local total = task("total", function(xs)
  local s = 0
  for _, x in ipairs(xs) do s = s + x end
  return s
end)
return Flow("bench-report", function()
  local every = Parameter("every", { default = 50 })
  local bad = Parameter("bad", { default = 0 })
  local pause = Parameter("pause", { default = 0 })
  total(work:map(items(Parameter("n")), dk.unmapped(every), dk.unmapped(bad), dk.unmapped(pause)))
end)
"""

# Written into the page after the report's script has run: the time since navigation started.
PROBE = ("<pre id=\"probe\"></pre><script>document.getElementById('probe').textContent = "
         "String(performance.now());</script></body>")


def timed(argv, **kwargs):
    start = time.perf_counter()
    result = subprocess.run(argv, check=True, capture_output=True, **kwargs)
    return time.perf_counter() - start, result


def chromium(url, profile):
    return ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + profile,
            "--window-size=1280,900", "--dump-dom", url]


def loaded_at(dom):
    """The probe's performance.now(), in ms."""
    start = dom.index('<pre id="probe">') + len('<pre id="probe">')
    return float(dom[start:dom.index("</pre>", start)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dkrun", default=".build/release/dkrun")
    parser.add_argument("--tasks", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--screenshot", help="also save a screenshot of a small run's report here")
    args = parser.parse_args()
    dkrun = os.path.abspath(args.dkrun)

    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        env = dict(os.environ, DKRUN_HOME=tmp)
        flow = os.path.join(tmp, "flow.lua")
        with open(flow, "w") as f:
            f.write(FLOW)
        events = os.path.join(tmp, "events.jsonl")
        run_time, run = timed([dkrun, flow, "--json-events", "--executor", "threads=4", "--param", f"n={args.tasks}"], env=env)
        with open(events, "wb") as f:
            f.write(run.stdout)
        finished = json.loads(run.stdout.splitlines()[-1])
        print(f"run: {args.tasks} mapped children (+2 tasks) on threads(4), {finished['state']}, {run_time:.1f} s; "
              f"events file {os.path.getsize(events) / 1e6:.1f} MB")

        report = os.path.join(tmp, "report.html")
        generation = statistics.median(
            timed([dkrun, "report", "--events", events, "-o", report], env=env)[0] for _ in range(args.repeat))
        print(f"dkrun report --events: {generation:.2f} s; page {os.path.getsize(report) / 1e6:.2f} MB")

        quiet = [dkrun, flow, "--executor", "threads=4", "--param", f"n={args.tasks}", "-q"]
        without, _ = timed(quiet, env=env)
        with_report, _ = timed(quiet + ["--report", report], env=env)
        print(f"the same run with -q: {without:.1f} s, with -q --report: {with_report:.1f} s")

        probed = os.path.join(tmp, "probed.html")
        with open(report) as f:
            page = f.read()
        with open(probed, "w") as f:
            f.write(page[:page.rindex("</body>")] + PROBE + "\n</html>\n")
        empty = os.path.join(tmp, "empty.html")
        with open(empty, "w") as f:
            f.write("<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>" + PROBE + "</html>\n")
        profile = os.path.join(tmp, "profile")
        for name, path in [("empty page", empty), ("report", probed)]:
            walls, marks = [], []
            for _ in range(args.repeat):
                wall, result = timed(chromium("file://" + path, profile))
                walls.append(wall)
                marks.append(loaded_at(result.stdout.decode()))
            print(f"chromium --dump-dom, {name}: wall {statistics.median(walls):.2f} s, "
                  f"script done {statistics.median(marks):.0f} ms after navigation start")

        if args.screenshot:
            small = os.path.join(tmp, "small.html")
            subprocess.run([dkrun, flow, "--executor", "threads=4", "--param", "n=24", "--param", "every=7", "--param", "bad=17",
                            "--param", "pause=0.02", "-q", "--report", small],
                           env=env, check=False, capture_output=True)
            subprocess.run(chromium("file://" + small, profile)[:-2] + ["--hide-scrollbars", "--window-size=1100,1000",
                           "--screenshot=" + os.path.abspath(args.screenshot), "file://" + small],
                           check=True, capture_output=True)
            print(f"screenshot: {args.screenshot}")


if __name__ == "__main__":
    sys.exit(main())
