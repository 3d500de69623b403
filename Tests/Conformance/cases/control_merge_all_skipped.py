"""A merge of branches that all skipped is Skipped (result None); the flow is Success.

From Prefect 1's tests/tasks/test_control_flow.py::test_merging_skips_if_all_upstreams_skip.
"""
from prefect import Flow, task
from prefect.engine import signals
from prefect.tasks.control_flow import merge


@task
def skip_a():
    raise signals.SKIP("not today")


@task
def skip_b():
    raise signals.SKIP("not today")


with Flow("skipper") as flow:
    merge(skip_a(), skip_b())
