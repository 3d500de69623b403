"""A task that always fails uses up its retries and ends Failed; downstream is TriggerFailed.

From Prefect 1's tests/engine/test_task_runner.py::
test_task_that_fails_gets_retried_up_to_max_retry_time.
"""
import datetime

from prefect import Flow, task


@task(max_retries=2, retry_delay=datetime.timedelta(seconds=0))
def always_fails():
    raise ValueError("custom-error-message")


@task
def after(x):
    return x


@task
def sibling():
    return "fine"


with Flow("retry-exhausted") as flow:
    after(always_fails())
    sibling()
