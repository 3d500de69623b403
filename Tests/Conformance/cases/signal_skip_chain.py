"""SKIP propagates down a chain of tasks; the flow is Success (Skipped counts as success).

From Prefect 1's tests/core/test_flow.py skip propagation (test_skip_propagates... style) and
tests/engine/test_task_runner.py::TestCheckUpstreamSkipped::test_raises_with_skipped.
"""
from prefect import Flow, task
from prefect.engine import signals


@task
def first():
    raise signals.SKIP("nothing to do")


@task
def second(x):
    return 2


@task
def third(x):
    return 3


@task
def independent():
    return "independent"


with Flow("signal-skip-chain") as flow:
    third(second(first()))
    independent()
