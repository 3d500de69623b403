"""A task raising SKIP ends Skipped; downstream tasks skip unless skip_on_upstream_skip=False.

From Prefect 1's tests/engine/test_task_runner.py::test_task_that_raises_skip_gets_skipped and
test_task_that_has_upstream_skip_gets_skipped_with_informative_message.
"""
from prefect import Flow, task
from prefect.engine import signals


@task
def skip_me():
    raise signals.SKIP("not today")


@task
def skipped_too(x):
    return "ran"


@task(skip_on_upstream_skip=False)
def runs_anyway(x):
    return "ran anyway"


with Flow("signal-skip") as flow:
    s = skip_me()
    skipped_too(s)
    runs_anyway(s)
