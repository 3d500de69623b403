"""Mapping over flatten of a mapped task maps over every element of every child's list.

From Prefect 1's tests/core/test_task_map.py::TestFlatMap (flat-mapping a mapped upstream:
ll.map(...) then inc.map(flatten(...))).
"""
from prefect import Flow, task
from prefect.utilities.edges import flatten


@task
def numbers():
    return [1, 2, 3]


@task
def make_range(n):
    return list(range(n))


@task
def inc(x):
    return x + 1


@task
def collect(xs):
    return xs


with Flow("flatten-mapped") as flow:
    ranges = make_range.map(numbers())
    collect(inc.map(flatten(ranges)))
