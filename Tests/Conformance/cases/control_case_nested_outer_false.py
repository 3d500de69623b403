"""A case block nested in another, each merged back (outer condition False, inner "yes").

From Prefect 1's tests/tasks/test_control_flow.py::TestCase::test_nested_case_execution. The inner
condition is a string ("yes"/"no") instead of a second boolean so that Prefect's two case tasks
have different names (case(True), case(yes), ...).
"""
from prefect import Flow, task
from prefect.tasks.control_flow import case, merge


@task
def identity(x):
    return x


@task
def inc(x):
    return x + 1


with Flow("control-case-nested") as flow:
    cond1 = identity(False, task_args={"name": "cond1"})
    a = identity(0, task_args={"name": "a"})
    with case(cond1, True):
        cond2 = identity("yes", task_args={"name": "cond2"})
        b = identity(10, task_args={"name": "b"})
        with case(cond2, "yes"):
            c = inc(a, task_args={"name": "c"})
            d = inc(c, task_args={"name": "d"})
        with case(cond2, "no"):
            e = inc(b, task_args={"name": "e"})
            f = inc(e, task_args={"name": "f"})
        g = merge(d, f, name="g")
    with case(cond1, False):
        h = identity(3, task_args={"name": "h"})
        i = inc(h, task_args={"name": "i"})
    j = merge(g, i, name="j")
