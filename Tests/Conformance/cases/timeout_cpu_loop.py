"""A busy CPU loop longer than the task's timeout ends TimedOut; its downstream is TriggerFailed.

From Prefect 1's tests/engine/test_task_runner.py::test_task_runner_can_handle_timeouts_by_default
and tests/engine/test_flow_runner.py::test_timeout_actually_stops_execution.
"""
import time

from prefect import Flow, task


@task(timeout=1)
def spin():
    deadline = time.monotonic() + 3
    n = 0
    while time.monotonic() < deadline:
        n += 1
    return n


@task
def after(n):
    return n


with Flow("timeout-cpu-loop") as flow:
    after(spin())
