"""A paused child holds only what is behind it: the task mapped over its mapped task maps, the
child behind the paused one stays Pending, and a reduce after the mapped task waits whole.

From Prefect 1's tests/engine/test_flow_runner.py (upstream not finished: the task stays Pending)
and test_task_runner.py::test_task_runner_converts_pause_signal_to_paused_state_for_internally_raised_pauses,
on mapped children.
"""
from prefect import Flow, task
from prefect.engine import signals


@task
def check(x):
    if x == 2:
        raise signals.PAUSE("waiting for approval")
    return x


@task
def each(x):
    return x * 10


@task
def total(xs):
    return len(xs)


with Flow("signal-pause-mapped-child") as flow:
    checked = check.map([1, 2, 3])
    each.map(checked)
    total(checked)
