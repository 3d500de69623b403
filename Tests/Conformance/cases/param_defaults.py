"""Parameters with defaults and no values given: the task sees the defaults.

From Prefect 1's tests/core/test_parameter.py and tests/core/test_flow.py (flow.run with
parameters: defaults, given values, required parameters).
"""
from prefect import Flow, Parameter, task


@task
def greet(greeting, name, times):
    return [greeting + ", " + name] * times


with Flow("param-defaults") as flow:
    greet(Parameter("greeting", default="hello"), Parameter("name", default="world"),
          Parameter("times", default=2))
