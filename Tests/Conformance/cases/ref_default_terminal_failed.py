"""By default the terminal tasks are the reference tasks: a failure upstream fails the flow
through the TriggerFailed terminal task
(test_flow_runner.py::
test_flow_runner_runs_basic_flow_with_2_dependent_tasks_and_first_task_fails)."""
from prefect import Flow, task


@task(name="error_task")
def error_task():
    raise ValueError("custom-error-message")


@task(name="success_task")
def success_task():
    return 1


@task(name="other_branch")
def other_branch():
    return 2


with Flow("ref_default_terminal_failed") as flow:
    success_task(upstream_tasks=[error_task])
    other_branch()
