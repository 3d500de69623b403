"""Parameters with defaults, every value given (PARAMETERS): the given values win.

From Prefect 1's tests/core/test_parameter.py and tests/core/test_flow.py (flow.run with
parameters: defaults, given values, required parameters).
"""
from prefect import Flow, Parameter, task

PARAMETERS = {"greeting": "hi", "name": "dkrun", "times": 3}


@task
def greet(greeting, name, times):
    return [greeting + ", " + name] * times


with Flow("param-given") as flow:
    greet(Parameter("greeting", default="hello"), Parameter("name", default="world"),
          Parameter("times", default=2))
