"""Merge tells a branch that returned None from one that did not run: its result is None.

From Prefect 1's tests/tasks/test_control_flow.py::
test_merge_can_distinguish_between_a_none_result_and_an_unrun_task (CONDITION=True).
"""
from prefect import Flow, task
from prefect.tasks.control_flow import ifelse, merge


@task
def condition():
    return True


@task
def true_branch():
    return None


@task
def false_branch():
    return 0


with Flow("control-ifelse-none-result") as flow:
    ifelse(condition(), true_branch, false_branch)
    merge(true_branch, false_branch)
