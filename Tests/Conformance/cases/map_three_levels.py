"""Map over map over map, then a reduce (test_task_map.py::test_deep_map_composition, 3 levels)."""
from prefect import Flow, task


@task(name="numbers")
def numbers():
    return [1, 2, 3]


@task(name="add_1")
def add_1(x):
    return x + 1


@task(name="times_2")
def times_2(x):
    return x * 2


@task(name="minus_3")
def minus_3(x):
    return x - 3


@task(name="collect")
def collect(xs):
    return xs


with Flow("map_three_levels") as flow:
    collect(minus_3.map(times_2.map(add_1.map(numbers))))
