"""Mapping over an upstream task's result (test_task_map.py::test_map_spawns_new_tasks)."""
from prefect import Flow, task


@task(name="list_task")
def list_task(start=1):
    return [start + 0, start + 1, start + 2]


@task(name="add")
def add(x, y=1):
    return x + y


with Flow("map_upstream_result") as flow:
    add.map(list_task)
