"""A mapped task with retries: one child fails on its first run and succeeds on its retry
(test_task_map.py::test_map_allows_for_retries, in one flow run)."""
import datetime

import prefect
from prefect import Flow, task


@task(name="ll")
def ll():
    return [1, 2, 3]


@task(name="flaky", max_retries=1, retry_delay=datetime.timedelta(0))
def flaky(x):
    if x == 2 and prefect.context.get("task_run_count") == 1:
        raise ValueError("transient")
    return x * 10


@task(name="total")
def total(xs):
    return sum(xs)


with Flow("map_child_retries") as flow:
    total(flaky.map(ll))
