"""Mapping over a list and a map of the same list at once
(test_task_map.py::test_map_over_map_and_unmapped)."""
from prefect import Flow, task


@task(name="numbers")
def numbers():
    return [1, 2, 3]


@task(name="add")
def add(x):
    return x + 1


@task(name="add_two")
def add_two(x, y):
    return x + y


with Flow("map_over_map_and_list") as flow:
    n = numbers()
    add_two.map(x=n, y=add.map(n))
