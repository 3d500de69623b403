"""A skipped upstream skips its downstream by default
(test_task_runner.py::test_task_that_has_upstream_skip_gets_skipped_with_informative_message)."""
from prefect import Flow, task
from prefect.engine import signals


@task(name="skipper")
def skipper():
    raise signals.SKIP("nothing to do")


@task(name="after_skip")
def after_skip(x):
    return "ran"


with Flow("skip_on_upstream_skip") as flow:
    after_skip(skipper)
