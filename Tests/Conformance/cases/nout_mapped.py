"""A task with nout=2 gives a list to map over and a factor passed unmapped to every child.

From Prefect 1's tests/core/test_task.py (nout) and tests/core/test_task_map.py (mapping over a
result handle with unmapped arguments).
"""
from prefect import Flow, task, unmapped


@task(nout=2)
def prepare():
    return [1, 2, 3], 10


@task
def scale(x, factor):
    return x * factor


with Flow("nout-mapped") as flow:
    values, factor = prepare()
    scale.map(values, unmapped(factor))
