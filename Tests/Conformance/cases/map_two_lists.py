"""Mapping over two lists of equal length, paired by index
(test_task_map.py::test_multiple_map_arguments)."""
from prefect import Flow, task


@task(name="list_x")
def list_x():
    return [1, 2, 3]


@task(name="list_y")
def list_y():
    return [10, 20, 30]


@task(name="add")
def add(x, y):
    return x + y


with Flow("map_two_lists") as flow:
    add.map(x=list_x, y=list_y)
