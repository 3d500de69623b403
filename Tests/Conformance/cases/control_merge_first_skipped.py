"""Merge skips over a skipped first branch and returns the next branch's result.

From Prefect 1's tests/tasks/test_control_flow.py::test_merge_imperative_flow (cond True: the
False case is skipped) with the skipped branch listed first.
"""
from prefect import Flow, task
from prefect.tasks.control_flow import case, merge


@task
def identity(x):
    return x


@task
def inc(x):
    return x + 1


with Flow("control-merge-first-skipped") as flow:
    cond = identity(True, task_args={"name": "cond"})
    with case(cond, True):
        a = inc(1, task_args={"name": "a"})
    with case(cond, False):
        b = inc(2, task_args={"name": "b"})
    merge(b, a)
