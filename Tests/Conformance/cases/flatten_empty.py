"""Flattening lists that are all empty maps over nothing: a Mapped task with no children.

From Prefect 1's tests/core/test_task_map.py::TestFlatMap and the empty-map tests
(test_map_over_empty... style).
"""
from prefect import Flow, task
from prefect.utilities.edges import flatten


@task
def nested():
    return [[], []]


@task
def inc(x):
    return x + 1


@task
def count(xs):
    return len(xs)


with Flow("flatten-empty") as flow:
    count(inc.map(flatten(nested())))
