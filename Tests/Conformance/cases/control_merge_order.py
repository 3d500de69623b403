"""When several merged branches have results, merge returns the first one's.

From Prefect 1's tests/tasks/test_control_flow.py::test_merge_order.
"""
from prefect import Flow, task
from prefect.tasks.control_flow import merge


@task
def x():
    return "x"


@task
def y():
    return "y"


with Flow("control-merge-order") as flow:
    merge(x(), y())
