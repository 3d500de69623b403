"""A task raising signals.PAUSE ends Paused; the flow does not finish (it waits for approval).

From Prefect 1's tests/engine/test_task_runner.py::
test_task_runner_converts_pause_signal_to_paused_state_for_internally_raised_pauses.
"""
from prefect import Flow, task
from prefect.engine import signals


@task
def start():
    return 1


@task
def wait_here(x):
    raise signals.PAUSE("waiting for approval")


@task
def after(x):
    return "after"


with Flow("signal-pause") as flow:
    after(wait_here(start()))
