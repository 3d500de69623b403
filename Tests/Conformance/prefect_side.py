"""Runs conformance cases with the real Prefect 1 and prints what each run ended with.

Run with the Prefect 1 virtualenv's python (made by scripts/setup.sh):

    .venv-prefect1/bin/python Tests/Conformance/prefect_side.py [--log FILE] CASE.py[VARIANT] ...

Every case runs in this one process (importing Prefect takes about a second), each from a
fresh module namespace and a fresh Prefect context, with `flow.run(parameters=PARAMETERS)` on a
LocalExecutor. A case with VARIANTS runs once for each, with that variant's parameters, and is
named NAME[VARIANT]; CASE.py[VARIANT] runs that one only. Each run gives one JSON line on
stdout, in the order given, flushed at once so a caller can tell which case hangs:

    {"case": NAME, "flow": {"state", "message"}, "tasks": {TASK_NAME: RECORD}}
    {"case": NAME, "error": "traceback"}          when loading or running the case raised

Tasks are listed in topological order. A task's RECORD is {"state": class name, "message": str
or null, "successful": bool, "plain": bool, "result": value (only when plain), "result_repr":
text (only when not)}; a Mapped task's record also has "children", one RECORD per child in map
order. A result is plain when it is None, a bool, a number, a str, or a list, tuple or
str-keyed dict of plain values. Tasks Prefect adds by itself (Constant, List, Tuple, Set,
Dict, GetItem) are left out.
"""

import argparse
import builtins
import json
import logging
import os
import re
import runpy
import sys
import traceback
from pathlib import Path

import prefect
from prefect.engine.flow_runner import FlowRunner
from prefect.engine.state import Paused, State
from prefect.executors import LocalExecutor
from prefect.tasks.core import collections
from prefect.tasks.core.constants import Constant
from prefect.tasks.core.operators import GetItem

# Tasks Prefect adds by itself: a Constant for a constant mapped over, a collection of task
# results, a GetItem for `a, b = t()` (nout) or `t()[key]`.
IMPLICIT_TASKS = (Constant, collections.List, collections.Tuple, collections.Set,
                  collections.Dict, GetItem)

REPR_LIMIT = 200


class PausedForApproval(Exception):
    """The run waits for a human to approve a Paused task: it stops where it is."""


class RecordingFlowRunner(FlowRunner):
    """A FlowRunner that keeps the last state it returned.

    flow.run() runs the flow again until it is finished. It prompts on stdin for a Paused task
    and would loop for ever on a Paused mapped child (no start time): at that point the last
    state is what the run came to.
    """

    last_state = None

    def run(self, *args, **kwargs):
        state = super().run(*args, **kwargs)
        RecordingFlowRunner.last_state = state
        if not state.is_finished() and isinstance(state.result, dict):
            children = [c for s in state.result.values() if s.is_mapped() for c in s.map_states]
            if any(isinstance(s, Paused) and s.start_time is None
                   for s in [*state.result.values(), *children]):
                raise PausedForApproval()
        return state


def refuse_approval(prompt=""):
    raise PausedForApproval(prompt.strip())


def is_plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
    return False


def describe_state(state):
    record = {
        "state": type(state).__name__,
        "message": None if state.message is None else str(state.message),
        "successful": state.is_successful(),
    }
    if is_plain(state.result):
        record["plain"] = True
        record["result"] = state.result
    else:
        record["plain"] = False
        record["result_repr"] = repr(state.result)[:REPR_LIMIT]
    if state.is_mapped():
        record["children"] = [describe_state(child) for child in state.map_states]
    return record


def describe_run(flow, flow_state):
    """The flow's state and its tasks' states by name, in topological order.

    flow.run() returns every task's state in flow_state.result. The tasks Prefect adds by
    itself (IMPLICIT_TASKS) have no twin in Lua and are left out.
    """
    task_states = flow_state.result if isinstance(flow_state.result, dict) else {}
    tasks = {}
    for task in flow.sorted_tasks():
        if isinstance(task, IMPLICIT_TASKS) or task not in task_states:
            continue
        if task.name in tasks:
            raise ValueError(f"two tasks are named {task.name!r}: "
                             "the runner matches tasks by name")
        tasks[task.name] = describe_state(task_states[task])
    return {
        "flow": {
            "state": type(flow_state).__name__,
            "message": None if flow_state.message is None else str(flow_state.message),
        },
        "tasks": tasks,
    }


def runs(argument):
    """The runs an argument names, as (path, variant): CASE.py[VARIANT] that variant; CASE.py
    each of its VARIANTS, or one run (variant None) when it has none."""
    named = re.fullmatch(r"(.+)\[([\w.-]+)\]", argument)
    if named:
        return [(Path(named[1]), named[2])]
    path = Path(argument)
    try:
        variants = runpy.run_path(str(path)).get("VARIANTS") or {}
    except Exception:  # run_case reports it
        variants = {}
    return [(path, variant) for variant in variants] or [(path, None)]


def run_case(path, variant):
    namespace = runpy.run_path(str(path), run_name=f"conformance_{path.stem}")
    flow = namespace.get("flow")
    if not isinstance(flow, prefect.Flow):
        raise TypeError(f"{path}: no module-level `flow` (a prefect.Flow)")
    parameters = namespace.get("PARAMETERS", {})
    if variant is not None:
        variants = namespace.get("VARIANTS") or {}
        if variant not in variants:
            raise ValueError(f"{path}: no variant {variant!r} in VARIANTS ({', '.join(variants)})")
        parameters = variants[variant]
    RecordingFlowRunner.last_state = None
    # A fresh cache store: Prefect keeps task caches in the (process-wide) context.
    with prefect.context(caches={}):
        try:
            state = flow.run(parameters=parameters, executor=LocalExecutor(),
                             runner_cls=RecordingFlowRunner)
        except PausedForApproval:
            state = RecordingFlowRunner.last_state
    if not isinstance(state, State):
        raise RuntimeError(f"flow.run() returned {state!r}, not a state")
    return describe_run(flow, state)


def quiet_prefect_logging(log_file):
    logger = logging.getLogger("prefect")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.FileHandler(log_file) if log_file else logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="+",
                        help="case files (NAME.py), or one variant of a case (NAME.py[VARIANT])")
    parser.add_argument("--log", help="write Prefect's log here (default: discard it)")
    args = parser.parse_args()

    quiet_prefect_logging(args.log)
    builtins.input = refuse_approval
    # The cases' own output (print in a task) goes to stderr; stdout carries only the results.
    results = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    for path, variant in (run for argument in args.cases for run in runs(argument)):
        name = path.stem if variant is None else f"{path.stem}[{variant}]"
        try:
            line = {"case": name, **run_case(path, variant)}
        except Exception:
            line = {"case": name, "error": traceback.format_exc()}
        results.write(json.dumps(line) + "\n")
        results.flush()


if __name__ == "__main__":
    main()
