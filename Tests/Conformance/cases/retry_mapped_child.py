"""One mapped child fails on its first run and is retried alone; every child succeeds.

From Prefect 1's tests/core/test_task_map.py retry tests (mapped children retry individually,
test_map_tasks_retry... style) and tests/engine/test_flow_runner.py.
"""
import datetime

import prefect
from prefect import Flow, task


@task
def numbers():
    return [1, 2, 3]


@task(max_retries=1, retry_delay=datetime.timedelta(seconds=0))
def flaky_double(x):
    if x == 2 and prefect.context.get("task_run_count") == 1:
        raise ValueError("child 2 fails once")
    return 2 * x


@task
def total(xs):
    return sum(xs)


with Flow("retry-mapped-child") as flow:
    total(flaky_double.map(numbers()))
