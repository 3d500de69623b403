"""A task_run_name template ("{x}-run") formatted from the inputs of every mapped child.

From Prefect 1's tests/engine/test_task_runner.py::TestTaskRunNames::test_task_runner_set_task_name.
Outside Prefect Cloud the name only reaches the context, so only states and results are compared.
"""
from prefect import Flow, task


@task
def numbers():
    return [1, 2]


@task(task_run_name="{x}-run")
def named(x):
    return x * 10


with Flow("context-task-run-name") as flow:
    named.map(numbers())
