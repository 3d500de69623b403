"""An unmapped argument passed whole to every child
(test_task_map.py::test_map_can_handle_fixed_kwargs)."""
from prefect import Flow, task, unmapped


@task(name="list_task")
def list_task():
    return [1, 2, 3]


@task(name="five")
def five():
    return 5


@task(name="add")
def add(x, y):
    return x + y


@task(name="add_const")
def add_const(x, y):
    return x + y


with Flow("map_unmapped_arg") as flow:
    numbers = list_task()
    add.map(numbers, y=unmapped(five))
    add_const.map(numbers, y=unmapped(5))
