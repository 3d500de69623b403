"""Reference tasks decide the flow's state
(test_flow_runner.py::test_flow_run_state_determined_by_reference_tasks)."""
from prefect import Flow, task, triggers


@task(name="error_task")
def error_task():
    raise ValueError("custom-error-message")


@task(name="success_task", trigger=triggers.all_finished)
def success_task():
    return 1


with Flow("ref_plain") as flow:
    success_task(upstream_tasks=[error_task])

flow.set_reference_tasks([error_task])
