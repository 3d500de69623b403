"""Mapping over a parameter (test_task_map.py::test_map_over_parameters)."""
from prefect import Flow, Parameter, task

PARAMETERS = {"list": [1, 2, 3]}


@task(name="add")
def add(x, y=1):
    return x + y


with Flow("map_over_parameter") as flow:
    add.map(Parameter("list"))
