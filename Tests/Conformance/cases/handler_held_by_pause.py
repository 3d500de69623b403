"""A task held behind a paused task stays Pending without a change of state, so its state
handlers are not called (a handler that would skip a Pending task does nothing).

From Prefect 1's engine/runner.py call_state_handlers (handlers run only when the state changes)
and task_runner.py check_upstream_finished (ENDRUN with the same Pending state).
"""
from prefect import Flow, task
from prefect.engine import signals
from prefect.engine.state import Skipped


def no_waiting(task, old_state, new_state):
    if new_state.is_pending():
        return Skipped("not waiting")
    return new_state


@task
def wait_here():
    raise signals.PAUSE("waiting for approval")


@task(state_handlers=[no_waiting])
def held(x):
    return "ran"


with Flow("handler-held-by-pause") as flow:
    held(wait_here())
