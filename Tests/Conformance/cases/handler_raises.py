"""A task state handler that raises an error fails the task (the error is logged).

From Prefect 1's tests/engine/test_task_runner.py::TestTaskStateHandlers::
test_task_handler_errors_are_logged and test_task_handler_that_has_error_is_trapped.
"""
from prefect import Flow, task


def handler(task, old_state, new_state):
    raise SyntaxError("oops")


@task(state_handlers=[handler])
def guarded():
    return 1


@task
def after(x):
    return x


with Flow("handler-raises") as flow:
    after(guarded())
