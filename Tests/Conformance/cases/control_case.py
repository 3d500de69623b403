"""Tasks made inside `case(cond, True)` run only when cond's result is True.

From Prefect 1's tests/tasks/test_control_flow.py::TestCase::test_case_upstream_tasks and
test_case_execution: a task with an upstream made in the block (c, e) hangs off it, one without
(b, d) off the case's condition; a task made outside the block (a) always runs. Variants: the
condition True (true) or False (false).
"""
from prefect import Flow, Parameter, task
from prefect.tasks.control_flow import case

VARIANTS = {"true": {"condition": True}, "false": {"condition": False}}


@task
def identity(x):
    return x


@task
def inc(x):
    return x + 1


with Flow("control-case") as flow:
    a = identity(0, task_args={"name": "a"})
    cond = identity(Parameter("condition"), task_args={"name": "cond"})
    with case(cond, True):
        b = inc(a, task_args={"name": "b"})
        c = inc(b, task_args={"name": "c"})
        d = identity(1, task_args={"name": "d"})
        e = inc(d, task_args={"name": "e"})
