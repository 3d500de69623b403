"""Mapping over an empty list: zero children, a map over it and a reduce after it
(test_task_map.py::test_map_handles_upstream_empty, with a reduce added)."""
from prefect import Flow, task


@task(name="make_list")
def make_list():
    return []


@task(name="add_a")
def add_a(x):
    return x + 1


@task(name="add_b")
def add_b(x):
    return x + 1


@task(name="count")
def count(xs):
    return len(xs)


with Flow("map_empty_list") as flow:
    res = add_a.map(make_list)
    add_b.map(res)
    count(res)
