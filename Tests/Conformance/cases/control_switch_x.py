"""switch with three branches on a string condition ("x").

From Prefect 1's tests/tasks/test_control_flow.py::test_switch[x].
"""
from prefect import Flow, task
from prefect.tasks.control_flow import switch


@task
def condition():
    return "x"


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
    switch(condition(), dict(a=a_branch, b=b_branch, c=c_branch))
    after_b(b_branch)
