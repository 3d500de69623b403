"""Mapping over a skipped task: the mapped task itself is Skipped
(test_task_map.py::test_upstream_skip_signals_are_handled_properly)."""
from prefect import Flow, task
from prefect.engine import signals


@task(name="skip_task")
def skip_task():
    raise signals.SKIP("Not going to run.")


@task(name="add")
def add(x):
    return x + 1


@task(name="after")
def after(xs):
    return xs


with Flow("map_upstream_skipped") as flow:
    after(add.map(skip_task))
