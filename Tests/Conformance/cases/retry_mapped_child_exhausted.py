"""A mapped child fails on every run: it ends Failed after its retry, the reduce TriggerFailed.

From Prefect 1's tests/core/test_task_map.py (a failed child fails its reduce) with retries.
"""
import datetime

from prefect import Flow, task


@task
def numbers():
    return [1, 2, 3]


@task(max_retries=1, retry_delay=datetime.timedelta(seconds=0))
def fragile_double(x):
    if x == 2:
        raise ValueError("child 2 always fails")
    return 2 * x


@task
def total(xs):
    return sum(xs)


with Flow("retry-mapped-child-exhausted") as flow:
    total(fragile_double.map(numbers()))
