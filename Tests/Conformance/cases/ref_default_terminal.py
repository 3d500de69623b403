"""By default the terminal tasks are the reference tasks: a failed non-terminal task does not
fail the flow when the terminal task succeeds
(test_flow_runner.py::
test_flow_runner_runs_flow_with_2_dependent_tasks_and_first_task_fails_and_second_has_trigger)."""
from prefect import Flow, task, triggers


@task(name="error_task")
def error_task():
    raise ValueError("custom-error-message")


@task(name="success_task", trigger=triggers.all_failed)
def success_task():
    return 1


with Flow("ref_default_terminal") as flow:
    success_task(upstream_tasks=[error_task])
