"""Mapping over two task results, paired by index like zip.

Variants: lists of equal length (equal_lengths, test_task_map.py::test_multiple_map_arguments);
lists of lengths 3 and 2, where map stops at the shortest (zip_shortest,
test_task_map.py::test_map_behaves_like_zip_with_differing_length_results).
"""
from prefect import Flow, Parameter, task

VARIANTS = {
    "equal_lengths": {"xs": [1, 2, 3], "ys": [10, 20, 30]},
    "zip_shortest": {"xs": [0, 1, 2], "ys": [0, 1]},
}


@task(name="list_x")
def list_x(values):
    return values


@task(name="list_y")
def list_y(values):
    return values


@task(name="add")
def add(x, y):
    return x + y


with Flow("map_two_lists") as flow:
    add.map(x=list_x(Parameter("xs")), y=list_y(Parameter("ys")))
