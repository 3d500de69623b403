"""Mapping over a non-data upstream that returned []: zero children
(test_task_map.py::test_map_handles_non_keyed_upstream_empty, and
test_map_can_handle_nonkeyed_upstreams for a 3-element list)."""
from prefect import Flow, task


@task(name="make_empty")
def make_empty():
    return []


@task(name="make_three")
def make_three():
    return ["a", "b", "c"]


@task(name="return_1")
def return_1():
    return 1


@task(name="return_2")
def return_2():
    return 2


with Flow("map_nonkeyed_upstream_empty") as flow:
    return_1.map(upstream_tasks=[make_empty])
    return_2.map(upstream_tasks=[make_three])
