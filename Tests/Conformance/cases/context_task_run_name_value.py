"""The formatted task_run_name is in the context of each mapped child.

From Prefect 1's tests/engine/test_task_runner.py::TestTaskRunNames::
test_mapped_task_run_name_set_in_context (a template string instead of a function).
"""
import prefect
from prefect import Flow, task


@task
def data():
    return [1, 2, 3]


@task(name="hey", task_run_name="hello-{input}")
def hey(input):
    return prefect.context.get("task_run_name")


with Flow("context-task-run-name-value") as flow:
    hey.map(data())
