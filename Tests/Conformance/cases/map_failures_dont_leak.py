"""A failed child fails only its own branch of a map over map over map
(test_task_map.py::test_map_failures_dont_leak_out)."""
from prefect import Flow, task


@task(name="ll")
def ll(start):
    return [start + 0, start + 1, start + 2]


@task(name="add")
def add(x):
    return x + 1


@task(name="div")
def div(x):
    return 1 / x


@task(name="ident")
def ident(x):
    return x


with Flow("map_failures_dont_leak") as flow:
    ident.map(div.map(add.map(ll(start=-1))))
