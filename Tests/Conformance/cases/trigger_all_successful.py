"""The all_successful trigger with plain upstreams (test_triggers.py::test_all_successful_*)."""
from prefect import Flow, task, triggers


@task(name="ok_a")
def ok_a():
    return 1


@task(name="ok_b")
def ok_b():
    return 2


@task(name="bad_a")
def bad_a():
    raise ValueError("bad_a failed")


@task(name="runs", trigger=triggers.all_successful)
def runs():
    return "ran"


@task(name="trigger_fails", trigger=triggers.all_successful)
def trigger_fails():
    return "ran"


with Flow("trigger_all_successful") as flow:
    runs(upstream_tasks=[ok_a, ok_b])
    trigger_fails(upstream_tasks=[ok_a, bad_a])
