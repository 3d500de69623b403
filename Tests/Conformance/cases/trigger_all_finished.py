"""The all_finished trigger with plain upstreams (test_triggers.py::test_all_finished_*)."""
from prefect import Flow, task, triggers


@task(name="ok_a")
def ok_a():
    return 1


@task(name="bad_a")
def bad_a():
    raise ValueError("bad_a failed")


@task(name="bad_b")
def bad_b():
    raise ValueError("bad_b failed")


@task(name="after_mixed", trigger=triggers.all_finished)
def after_mixed():
    return "ran"


@task(name="after_failures", trigger=triggers.all_finished)
def after_failures():
    return "ran"


with Flow("trigger_all_finished") as flow:
    after_mixed(upstream_tasks=[ok_a, bad_a])
    after_failures(upstream_tasks=[bad_a, bad_b])
