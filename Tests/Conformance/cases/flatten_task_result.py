"""Mapping over flatten(x) maps over the elements of a task's list of lists (an empty one too).

From Prefect 1's tests/core/test_task_map.py::TestFlatMap (test_flat_map... over a task returning
nested lists).
"""
from prefect import Flow, task
from prefect.utilities.edges import flatten


@task
def nested():
    return [[1, 2], [], [3]]


@task
def inc(x):
    return x + 1


@task
def collect(xs):
    return xs


with Flow("flatten-task-result") as flow:
    collect(inc.map(flatten(nested())))
