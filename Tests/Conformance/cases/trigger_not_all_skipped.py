"""The not_all_skipped trigger with plain upstreams (test_triggers.py::test_not_all_skipped_*)."""
from prefect import Flow, task, triggers
from prefect.engine import signals


@task(name="ok_a")
def ok_a():
    return 1


@task(name="bad_a")
def bad_a():
    raise ValueError("bad_a failed")


@task(name="skip_a")
def skip_a():
    raise signals.SKIP("skip_a skipped")


@task(name="skip_b")
def skip_b():
    raise signals.SKIP("skip_b skipped")


@task(name="runs", trigger=triggers.not_all_skipped, skip_on_upstream_skip=False)
def runs():
    return "ran"


@task(name="all_skipped", trigger=triggers.not_all_skipped, skip_on_upstream_skip=False)
def all_skipped():
    return "ran"


@task(name="trigger_fails", trigger=triggers.not_all_skipped, skip_on_upstream_skip=False)
def trigger_fails():
    return "ran"


@task(name="skipped_first", trigger=triggers.not_all_skipped)
def skipped_first():
    return "ran"


with Flow("trigger_not_all_skipped") as flow:
    runs(upstream_tasks=[ok_a, skip_a])
    all_skipped(upstream_tasks=[skip_a, skip_b])
    trigger_fails(upstream_tasks=[ok_a, bad_a])
    skipped_first(upstream_tasks=[ok_a, skip_a])
