"""Two case blocks on a string condition merged back together.

From Prefect 1's tests/tasks/test_control_flow.py::TestCase::test_case_execution[b] and [c]
(variants b and c: the condition's value).
"""
from prefect import Flow, Parameter, task
from prefect.tasks.control_flow import case, merge

VARIANTS = {"b": {"value": "b"}, "c": {"value": "c"}}


@task
def identity(x):
    return x


@task
def inc(x):
    return x + 1


with Flow("control-case-strings") as flow:
    cond = identity(Parameter("value"), task_args={"name": "cond"})
    with case(cond, "a"):
        a = identity(1, task_args={"name": "a"})
        b = inc(a, task_args={"name": "b"})
    with case(cond, "b"):
        c = identity(3, task_args={"name": "c"})
        d = inc(c, task_args={"name": "d"})
    e = merge(b, d)
