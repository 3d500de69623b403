"""Map over map, two levels (test_task_map.py::test_map_composition)."""
from prefect import Flow, task


@task(name="list_task")
def list_task():
    return [1, 2, 3]


@task(name="add_a")
def add_a(x):
    return x + 1


@task(name="add_b")
def add_b(x):
    return x + 1


with Flow("map_composition") as flow:
    add_b.map(add_a.map(list_task))
