#!/usr/bin/env python3
"""Soak: many short flow runs in a row, and what grows while they go (issue: hardening).

Runs a short flow (a list, a map over it, a reduce; one task prints) again and again and
measures, after the first tenth of the runs and at the end, what a leak would make grow:
  - local: --runs runs of `flow:run{}` in one REPL process: its RSS and file descriptors;
  - threads: --runs `dkrun FLOW --executor threads` processes: the peak RSS of each (the
    first tenth's against the last's) and the processes left behind;
  - dask: --runs `dkrun FLOW --executor dask=ADDRESS` on a scheduler and two workers started
    here (127.0.0.1): the RSS, file descriptors and child processes of the scheduler and the
    workers (each worker keeps a dkrun task server for the runs), and processes left behind;
  - kubernetes: --k8s-runs runs on the test cluster (tools/kubesim, needs root), each with a
    Dask cluster of pods: the Kubernetes objects of every kind, network namespaces and
    processes left, and the API server's RSS.
Processes left behind are those started from this checkout (dkrun, Dask, the test cluster)
after a phase began that are orphans or the soak's own, other than the ones it keeps
running. Exit code 1 when anything grows (RSS: by more than --rss-slack, as allocators keep
some memory).

Usage: sudo .venv/bin/python scripts/soak.py [--runs 1000] [--k8s-runs 100]
                                             [--only local,threads,dask,kubernetes]
(scripts/setup.sh makes the virtualenv and the release build this uses.)
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts.bench_core import DKRUN, ROOT  # noqa: E402
from scripts.conformance import DaskCluster, Processes  # noqa: E402

PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
CLUSTER = os.path.join(ROOT, "tools", "kubesim", "cluster.py")
PHASES = ("local", "threads", "dask", "kubernetes")
# The Kubernetes objects a flow run makes (and must delete), by kubectl's names.
KUBE_KINDS = "pods,jobs,configmaps,secrets,services,poddisruptionbudgets"

FLOW = """
local items = task("items", function(n) local t = {} for i = 1, n do t[i] = i end return t end)
local inc = task("inc", function(x) return x + 1 end)
local total = task("total", function(xs)
  local s = 0
  for _, x in ipairs(xs) do s = s + x end
  print("total", s)
  return s
end)
SOAK = Flow("soak", %(config)s function() total(inc:map(items(4))) end)
return SOAK
"""
KUBE_CONFIG = "{ environment = DaskKubernetesEnvironment { min_workers = 1, max_workers = 1 } },"


# ---- what the soak measures ----

def proc_status(pid, field):
    """A field of /proc/PID/status in kB (VmRSS, VmHWM), 0 if the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def open_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def all_processes():
    """{pid: (parent pid, start time in clock ticks since boot, command line)} of every process."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        found[int(entry)] = (int(fields[1]), int(fields[19]), cmdline.strip())
    return found


def descendants(pid, processes):
    children = [p for p, (ppid, _, _) in processes.items() if ppid == pid]
    return children + [d for c in children for d in descendants(c, processes)]


def now_in_ticks():
    return int(float(Path("/proc/uptime").read_text().split()[0]) * os.sysconf("SC_CLK_TCK"))


def ancestors(pid, processes):
    chain = []
    while pid in processes and pid > 1:
        pid = processes[pid][0]
        chain.append(pid)
    return chain


def stray_processes(since, kept):
    """Processes started from this checkout (dkrun, Dask, the test cluster) after `since`
    (clock ticks since boot) and still there: orphans (their parent gone) or the soak's own
    children, outside the trees of the `kept` pids. Other programs' processes (tests running
    meanwhile) are not the runs'."""
    processes = all_processes()
    keep = set(kept) | {d for pid in kept for d in descendants(pid, processes)} | {os.getpid()}
    return sorted(pid for pid, (ppid, started, cmd) in processes.items()
                  if pid not in keep and started >= since and ROOT + "/" in cmd
                  and (ppid == 1 or os.getpid() in ancestors(pid, processes)))


def network_namespaces():
    return len(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.splitlines())


class Sheet:
    """Figures taken after the first tenth of the runs and at the end, and their growth."""

    def __init__(self, rss_slack):
        self.rss_slack = rss_slack
        self.rows = []  # (phase, what, first, last, is_memory)

    def add(self, phase, what, first, last, memory=False):
        self.rows.append((phase, what, first, last, memory))

    def grows(self, first, last, memory):
        return last > first * (1 + self.rss_slack) if memory else last > first

    def print(self):
        print(f"\n{'phase':<11} {'measure':<72} {'at 10%':>10} {'at end':>10}  growth")
        for phase, what, first, last, memory in self.rows:
            unit = " kB" if memory else ""
            verdict = "GROWS" if self.grows(first, last, memory) else "none"
            print(f"{phase:<11} {what:<72} {first:>10}{unit:3} {last:>7}{unit:3}  {last - first:+} ({verdict})")

    @property
    def anything_grows(self):
        return any(self.grows(first, last, memory) for _, _, first, last, memory in self.rows)


def checkpoints(runs):
    """The run counts after which to measure: the first tenth, and the end."""
    return {max(1, runs // 10), runs}


def progress(phase, i, runs, started):
    if i % max(1, runs // 10) == 0:
        print(f"  {phase}: {i}/{runs} runs, {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)


# ---- the phases ----

def soak_local(flow, runs, sheet):
    """Runs in one REPL process, which reads its statements from a pipe line by line."""
    repl = subprocess.Popen([DKRUN, "repl"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    taken = {}
    started = time.monotonic()
    try:
        repl.stdin.write(f":load {flow}\n")
        for i in range(1, runs + 1):
            repl.stdin.write('local s = SOAK:run{ executor = "local" }; print("ran", s.state, s.tasks.total.result)\n')
            line = repl.stdout.readline()
            while line and not line.startswith("ran"):
                line = repl.stdout.readline()
            if line.split() != ["ran", "Success", "14"]:
                sys.exit(f"soak: run {i} in the REPL ended: {line!r}")
            if i in checkpoints(runs):
                taken[i] = (proc_status(repl.pid, "VmRSS"), open_fds(repl.pid))
            progress("local", i, runs, started)
    finally:
        repl.stdin.close()
        repl.wait(30)
    first, last = taken[min(taken)], taken[max(taken)]
    sheet.add("local", "REPL process RSS", first[0], last[0], memory=True)
    sheet.add("local", "REPL process open file descriptors", first[1], last[1])


def run_measured(argv, output):
    """Runs `argv` with stdout and stderr into the file `output`; its exit status and peak
    RSS in kB (wait4's, the child's own)."""
    with open(output, "w") as out:
        pid = os.posix_spawn(argv[0], argv, dict(os.environ),
                             file_actions=[(os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                                           (os.POSIX_SPAWN_DUP2, out.fileno(), 2)])
    _, status, usage = os.wait4(pid, 0)
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss


def soak_processes(phase, argv, runs, sheet, kept=(), extra=None):
    """`runs` dkrun processes in a row; `extra()` measures what outlives them (a dict)."""
    since = now_in_ticks()
    peaks, taken = [], {}
    started = time.monotonic()
    with tempfile.NamedTemporaryFile(prefix="dkrun-soak-", suffix=".log") as log:
        for i in range(1, runs + 1):
            status, peak = run_measured(argv, log.name)
            output = Path(log.name).read_text(errors="replace")
            if status != 0 or "total\t14" not in output:
                sys.exit(f"soak: run {i} failed ({status}): {' '.join(argv)}\n{output[-3000:]}")
            peaks.append(peak)
            if i in checkpoints(runs):
                taken[i] = (len(stray_processes(since, kept)), extra() if extra else {})
            progress(phase, i, runs, started)
    tenth = max(1, runs // 10)
    sheet.add(phase, "peak RSS of a run's processes, highest of the first tenth / of the last", max(peaks[:tenth]),
              max(peaks[-tenth:]), memory=True)
    first, last = taken[min(taken)], taken[max(taken)]
    sheet.add(phase, "processes left behind by the runs", first[0], last[0])
    for what in first[1]:
        sheet.add(phase, what, first[1][what], last[1][what], memory=what.endswith("RSS"))


def soak_dask(flow, runs, sheet, log_dir):
    processes = Processes()
    cluster = DaskCluster(processes, log_dir, DKRUN)
    try:
        cluster.start()
        cluster.wait_ready()
        daemons = {name: proc.pid for name, proc in zip(["scheduler", "worker 1", "worker 2"],
                                                        sorted(processes.running(), key=lambda p: p.pid))}

        def measure():
            tree = all_processes()
            figures = {}
            for name, pid in daemons.items():
                family = [pid] + descendants(pid, tree)
                figures[f"{name} and its processes: RSS"] = sum(proc_status(p, "VmRSS") for p in family)
                figures[f"{name} and its processes: open file descriptors"] = sum(open_fds(p) for p in family)
                servers = [p for p in family if " worker --stdio" in tree[p][2]]
                if servers:
                    figures[f"{name}'s dkrun task servers"] = len(servers)
                    figures[f"{name}'s dkrun task servers: RSS"] = sum(proc_status(p, "VmRSS") for p in servers)
                    figures[f"{name}'s dkrun task servers: open file descriptors"] = sum(open_fds(p) for p in servers)
            return figures

        soak_processes("dask", [DKRUN, str(flow), "--executor", f"dask={cluster.address}"], runs, sheet,
                       kept=daemons.values(), extra=measure)
    finally:
        processes.stop_all()


def soak_kubernetes(flow, runs, sheet, tmp):
    cluster_dir = os.path.join(tmp, "cluster")
    path = f"{os.path.dirname(PYTHON)}:{os.path.dirname(DKRUN)}:/usr/sbin:/usr/bin:/sbin:/bin"
    namespaces_before = network_namespaces()
    subprocess.run([PYTHON, CLUSTER, "up", cluster_dir], check=True, capture_output=True, env=dict(os.environ, PATH=path))
    try:
        def kubectl_objects():
            done = subprocess.run([PYTHON, CLUSTER, "exec", cluster_dir, "--", "kubectl", "get", KUBE_KINDS,
                                   "--all-namespaces", "--no-headers", "-o", "name"],
                                  capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                sys.exit(f"soak: kubectl failed: {done.stderr}")
            return done.stdout.split()

        def measure():
            objects = kubectl_objects()
            figures = {"Kubernetes objects (pods, jobs, configmaps, secrets, services, pdbs)": len(objects),
                       "network namespaces": network_namespaces()}
            apiserver = [pid for pid, (_, _, cmd) in all_processes().items() if "apiserver.py" in cmd]
            figures["the test cluster's API server RSS"] = sum(proc_status(pid, "VmRSS") for pid in apiserver)
            return figures

        cluster_pids = [pid for pid, (_, _, cmd) in all_processes().items() if cluster_dir in cmd]
        soak_processes("kubernetes", [PYTHON, CLUSTER, "exec", cluster_dir, "--", DKRUN, str(flow)], runs, sheet,
                       kept=cluster_pids, extra=measure)
    finally:
        subprocess.run([PYTHON, CLUSTER, "down", cluster_dir], capture_output=True)
    sheet.add("kubernetes", "network namespaces after the cluster is down (before it)", namespaces_before,
              network_namespaces())


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs of each local phase")
    parser.add_argument("--k8s-runs", type=int, default=100, help="runs on the test cluster")
    parser.add_argument("--only", default=",".join(PHASES), help="phases, comma-separated")
    parser.add_argument("--rss-slack", type=float, default=0.10,
                        help="RSS growth taken as noise (a fraction; default 0.10)")
    args = parser.parse_args()
    args.only = [p for p in args.only.split(",") if p]
    unknown = set(args.only) - set(PHASES)
    if unknown:
        parser.error(f"unknown phase {', '.join(sorted(unknown))}: the phases are {', '.join(PHASES)}")
    if args.runs < 1 or args.k8s_runs < 1:
        parser.error("--runs and --k8s-runs take a number of runs from 1")
    return args


def main():
    args = parse_args()
    if not os.access(DKRUN, os.X_OK):
        sys.exit(f"{DKRUN} is missing: run scripts/setup.sh first")
    if "kubernetes" in args.only and os.geteuid() != 0:
        sys.exit("soak: the test cluster needs root (network namespaces); leave it out with --only")
    sheet = Sheet(args.rss_slack)
    with tempfile.TemporaryDirectory(prefix="dkrun-soak-") as tmp:
        # Thousands of runs stay out of the user's run history and results.
        os.environ["DKRUN_HOME"] = os.path.join(tmp, "home")
        flow = Path(tmp) / "soak.lua"
        flow.write_text(FLOW % {"config": ""})
        kube_flow = Path(tmp) / "soak_k8s.lua"
        kube_flow.write_text(FLOW % {"config": KUBE_CONFIG})
        print(f"soak: {args.runs} runs each of {', '.join(p for p in args.only if p != 'kubernetes')}"
              + (f", {args.k8s_runs} on the test cluster" if "kubernetes" in args.only else ""), flush=True)
        started = time.monotonic()
        if "local" in args.only:
            soak_local(flow, args.runs, sheet)
        if "threads" in args.only:
            soak_processes("threads", [DKRUN, str(flow), "--executor", "threads"], args.runs, sheet)
        if "dask" in args.only:
            soak_dask(flow, args.runs, sheet, Path(tmp))
        if "kubernetes" in args.only:
            soak_kubernetes(kube_flow, args.k8s_runs, sheet, tmp)
    sheet.print()
    print(f"\nsoak: {time.monotonic() - started:.0f} s")
    return 1 if sheet.anything_grows else 0


if __name__ == "__main__":
    sys.exit(main())
