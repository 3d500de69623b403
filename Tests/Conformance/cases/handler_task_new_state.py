"""A task state handler that returns a new state: a failure becomes Success with a result.

From Prefect 1's tests/engine/test_task_runner.py::TestTaskStateHandlers (handlers are called on
every change, Pending -> Running -> Failed, and their return value is the new state).
"""
from prefect import Flow, task
from prefect.engine.state import Success


def recover(task, old_state, new_state):
    if new_state.is_failed():
        return Success("recovered by the handler", result="recovered")
    return new_state


@task(state_handlers=[recover])
def broken():
    raise ValueError("boom")


@task
def after(x):
    return x + "!"


with Flow("handler-task-new-state") as flow:
    after(broken())
