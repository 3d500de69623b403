"""Reduce after map over map (test_task_map.py::test_map_reduce)."""
from prefect import Flow, task


@task(name="numbers")
def numbers():
    return [1, 2, 3]


@task(name="add_a")
def add_a(x):
    return x + 1


@task(name="add_b")
def add_b(x):
    return x + 1


@task(name="reduce_sum")
def reduce_sum(x):
    return sum(x)


with Flow("map_reduce") as flow:
    reduce_sum(add_b.map(add_a.map(numbers())))
