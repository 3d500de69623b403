"""A required parameter (no default) given a value, next to one with a default.

From Prefect 1's tests/core/test_parameter.py::test_create_required_parameter and
tests/core/test_flow.py (flow.run(parameters=...) for required parameters).
"""
from prefect import Flow, Parameter, task

PARAMETERS = {"x": 3}


@task
def add(x, y):
    return x + y


with Flow("param-required") as flow:
    add(Parameter("x"), Parameter("y", default=10))
