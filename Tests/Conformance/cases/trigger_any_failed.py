"""The any_failed trigger with plain upstreams (test_triggers.py::test_any_failed_*)."""
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


@task(name="runs", trigger=triggers.any_failed)
def runs():
    return "ran"


@task(name="trigger_fails", trigger=triggers.any_failed)
def trigger_fails():
    return "ran"


with Flow("trigger_any_failed") as flow:
    runs(upstream_tasks=[ok_a, bad_a])
    trigger_fails(upstream_tasks=[ok_a, ok_b])
