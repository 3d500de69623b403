"""Parameters with defaults, one value given: that one is used, the others keep their defaults.

From Prefect 1's tests/core/test_parameter.py and tests/core/test_flow.py (flow.run with
parameters: defaults, given values, required parameters).
"""
from prefect import Flow, Parameter, task

PARAMETERS = {"name": "partly"}


@task
def greet(greeting, name, times):
    return [greeting + ", " + name] * times


with Flow("param-partial") as flow:
    greet(Parameter("greeting", default="hello"), Parameter("name", default="world"),
          Parameter("times", default=2))
