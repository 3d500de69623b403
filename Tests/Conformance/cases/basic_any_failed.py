"""any_failed: runs when one upstream failed, TriggerFailed when none did."""
from prefect import Flow, task
from prefect.triggers import any_failed


@task(name="good")
def good():
    return 1


@task(name="bad")
def bad():
    raise RuntimeError("bad")


@task(name="good_too")
def good_too():
    return 2


@task(name="on_some_failure", trigger=any_failed)
def on_some_failure(a, b):
    return "handled"


@task(name="on_no_failure", trigger=any_failed)
def on_no_failure(a, b):
    return "never"


with Flow("basic_any_failed") as flow:
    g = good()
    on_some_failure(g, bad())
    on_no_failure(g, good_too())
