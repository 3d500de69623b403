"""ifelse on a False condition runs the false branch; merge returns its result.

From Prefect 1's tests/tasks/test_control_flow.py::test_merge_diamond_flow_with_results
(CONDITION=False), the condition coming from a task.
"""
from prefect import Flow, task
from prefect.tasks.control_flow import ifelse, merge


@task
def condition():
    return False


@task
def true_branch():
    return 1


@task
def false_branch():
    return 0


with Flow("control-ifelse-false") as flow:
    ifelse(condition(), true_branch, false_branch)
    merge(true_branch, false_branch)
