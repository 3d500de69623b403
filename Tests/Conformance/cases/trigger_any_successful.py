"""The any_successful trigger with plain upstreams (test_triggers.py::test_any_successful_*)."""
from prefect import Flow, task, triggers
from prefect.engine import signals


@task(name="ok_a")
def ok_a():
    return 1


@task(name="bad_a")
def bad_a():
    raise ValueError("bad_a failed")


@task(name="bad_b")
def bad_b():
    raise ValueError("bad_b failed")


@task(name="skip_a")
def skip_a():
    raise signals.SKIP("skip_a skipped")


@task(name="runs", trigger=triggers.any_successful)
def runs():
    return "ran"


@task(name="with_skip", trigger=triggers.any_successful, skip_on_upstream_skip=False)
def with_skip():
    return "ran"


@task(name="trigger_fails", trigger=triggers.any_successful)
def trigger_fails():
    return "ran"


with Flow("trigger_any_successful") as flow:
    runs(upstream_tasks=[ok_a, bad_a])
    with_skip(upstream_tasks=[skip_a, bad_a])
    trigger_fails(upstream_tasks=[bad_a, bad_b])
