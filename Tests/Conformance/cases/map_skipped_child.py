"""A mapped child that skips: the parent is Mapped, the flow succeeds
(test_task_map.py::test_map_skips_return_exception_as_result)."""
from prefect import Flow, task
from prefect.engine import signals


@task(name="ll")
def ll():
    return [1, 2, 3]


@task(name="add")
def add(x):
    if x == 1:
        raise signals.SKIP("One is no good")
    return x + 1


with Flow("map_skipped_child") as flow:
    add.map(ll)
