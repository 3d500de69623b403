"""A task state handler may raise a signal: SKIP on failure makes the task Skipped.

From Prefect 1's tests/engine/test_task_runner.py::TestTaskStateHandlers::
test_task_handlers_respect_signals (which raises PAUSE the same way).
"""
from prefect import Flow, task
from prefect.engine import signals


def skip_failures(task, old_state, new_state):
    if new_state.is_failed():
        raise signals.SKIP("skipped by the handler")
    return new_state


@task(state_handlers=[skip_failures])
def broken():
    raise ValueError("boom")


@task
def after(x):
    return "ran"


with Flow("handler-signal-skip") as flow:
    after(broken())
