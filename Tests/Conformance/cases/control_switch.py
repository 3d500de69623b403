"""switch with three branches on a string condition.

From Prefect 1's tests/tasks/test_control_flow.py::test_switch[b] and [x] (variants b and x: the
condition's value).
"""
from prefect import Flow, Parameter, task
from prefect.tasks.control_flow import switch

VARIANTS = {"b": {"value": "b"}, "x": {"value": "x"}}


@task
def condition(value):
    return value


@task
def a_branch():
    return "A"


@task
def b_branch():
    return "B"


@task
def c_branch():
    return "C"


@task
def after_b(x):
    return x + "!"


with Flow("control-switch") as flow:
    switch(condition(Parameter("value")), dict(a=a_branch, b=b_branch, c=c_branch))
    after_b(b_branch)
