"""Mapping over a constant list (test_task_map.py::test_mapping_over_constants)."""
from prefect import Flow, task


@task(name="add_one")
def add_one(x):
    return x + 1


with Flow("map_constant_list") as flow:
    add_one.map(x=[1, 2, 3, 4])
