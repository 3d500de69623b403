"""A reference task on the branch that ran: the flow succeeds though another terminal task is
TriggerFailed (the example in the docstring of prefect/triggers.py)."""
from prefect import Flow, task, triggers


@task(name="task_a")
def task_a():
    raise ValueError("Non-deterministic error has occured.")


@task(name="task_b", trigger=triggers.all_successful)
def task_b():
    return "b"


@task(name="task_c", trigger=triggers.all_failed)
def task_c():
    return "c"


with Flow("ref_success_branch") as flow:
    task_b(upstream_tasks=[task_a])
    fail = task_c(upstream_tasks=[task_a])

flow.set_reference_tasks([fail])
