"""Parameters with defaults: a value given wins, the others keep their defaults.

From Prefect 1's tests/core/test_parameter.py and tests/core/test_flow.py (flow.run with
parameters: defaults, given values, required parameters). Variants: no value given (defaults),
every value given (given), one value given (partial).
"""
from prefect import Flow, Parameter, task

VARIANTS = {
    "defaults": {},
    "given": {"greeting": "hi", "name": "dkrun", "times": 3},
    "partial": {"name": "partly"},
}


@task
def greet(greeting, name, times):
    return [greeting + ", " + name] * times


with Flow("param-values") as flow:
    greet(Parameter("greeting", default="hello"), Parameter("name", default="world"),
          Parameter("times", default=2))
