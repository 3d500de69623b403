"""A looping task fails once on its second iteration and is retried; the loop resumes there.

From Prefect 1's tests/engine/test_flow_runner.py::test_looping_with_retries_works_in_a_flow.
"""
import datetime

import prefect
from prefect import Flow, task
from prefect.engine import signals


@task(max_retries=1, retry_delay=datetime.timedelta(seconds=0))
def looper(x):
    if (prefect.context.get("task_loop_count") == 2
            and prefect.context.get("task_run_count", 1) == 1):
        raise ValueError("err")
    if prefect.context.get("task_loop_count", 1) < 20:
        raise signals.LOOP(result=prefect.context.get("task_loop_result", 0) + x)
    return prefect.context.get("task_loop_result") + x


@task
def downstream(total):
    return total ** 2


with Flow("looping-with-retries") as flow:
    downstream(looper(10))
