"""A case block nested in another, each merged back.

From Prefect 1's tests/tasks/test_control_flow.py::TestCase::test_nested_case_execution. The inner
condition is a string ("yes"/"no") instead of a second boolean so that Prefect's two case tasks
have different names (case(True), case(yes), ...). Variants: outer condition True and inner "no"
(outer_true), outer condition False and inner "yes" (outer_false).
"""
from prefect import Flow, Parameter, task
from prefect.tasks.control_flow import case, merge

VARIANTS = {
    "outer_true": {"outer": True, "inner": "no"},
    "outer_false": {"outer": False, "inner": "yes"},
}


@task
def identity(x):
    return x


@task
def inc(x):
    return x + 1


with Flow("control-case-nested") as flow:
    cond1 = identity(Parameter("outer"), task_args={"name": "cond1"})
    inner = Parameter("inner")  # a parameter is a root task: it cannot be made in a case block
    a = identity(0, task_args={"name": "a"})
    with case(cond1, True):
        cond2 = identity(inner, task_args={"name": "cond2"})
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
