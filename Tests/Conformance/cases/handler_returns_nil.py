"""A task state handler returning None keeps the state it was given.

From Prefect 1's tests/engine/test_task_runner.py::TestTaskStateHandlers::
test_task_handlers_can_return_none.
"""
from prefect import Flow, task


def observe(task, old_state, new_state):
    return None


@task(state_handlers=[observe])
def value():
    return 42


@task(state_handlers=[observe])
def broken(x):
    raise ValueError("boom")


with Flow("handler-returns-nil") as flow:
    broken(value())
