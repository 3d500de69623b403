"""A task sleeping longer than its timeout ends TimedOut; an independent task still succeeds.

From Prefect 1's tests/engine/test_task_runner.py::test_task_runner_can_handle_timeouts_by_default
(SlowTask sleeping past timeout=1).
"""
import time

from prefect import Flow, task


@task(timeout=1)
def slow():
    time.sleep(3)
    return "woke up"


@task
def quick():
    return "quick"


with Flow("timeout-sleep") as flow:
    slow()
    quick()
