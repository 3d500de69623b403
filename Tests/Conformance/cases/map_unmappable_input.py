"""Mapping over a value that is not a list: Failed ("At least one upstream state has an
unmappable result.") (test_task_map.py::test_mapping_over_one_unmappable_input)."""
from prefect import Flow, task


@task(name="add")
def add(x, y):
    return x + y


with Flow("map_unmappable_input") as flow:
    add.map(x=1, y=[1])
