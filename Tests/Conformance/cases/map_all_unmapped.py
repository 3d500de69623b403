"""map() whose every argument is unmapped runs the task once, on whole values
(test_task_map.py::test_unmapped_on_mapped and test_task_map_with_all_inputs_unmapped)."""
from prefect import Flow, task, unmapped


@task(name="add_one")
def add_one(x):
    return x + 1


@task(name="double")
def double(x):
    return x + x


@task(name="add")
def add(x, y):
    return x + y


with Flow("map_all_unmapped") as flow:
    double.map(unmapped(add_one.map([1, 2, 3])))
    add.map(unmapped([0, 2]), unmapped([1, 7]))
