"""When a task with nout=2 fails, the tasks using either of its values are TriggerFailed.

From Prefect 1's tests/core/test_task.py (nout) and tests/engine/test_flow_runner.py (a failed
upstream fails its downstream's trigger).
"""
from prefect import Flow, task


@task(nout=2)
def pair():
    raise ValueError("no pair today")


@task
def first(a):
    return a


@task
def second(b):
    return b


with Flow("nout-failed") as flow:
    a, b = pair()
    first(a)
    second(b)
