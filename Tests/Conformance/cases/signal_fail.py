"""A task raising signals.FAIL ends Failed (not TriggerFailed); its downstream is TriggerFailed.

From Prefect 1's tests/engine/test_task_runner.py::test_task_that_raises_fail_is_marked_fail.
"""
from prefect import Flow, task
from prefect.engine import signals


@task
def start():
    return 1


@task
def refuse(x):
    raise signals.FAIL("custom-fail-message")


@task
def after(x):
    return x


with Flow("signal-fail") as flow:
    after(refuse(start()))
