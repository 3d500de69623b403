"""A skipped child skips only its own branch of a map over map
(test_task_map.py::test_map_skips_dont_leak_out)."""
from prefect import Flow, task
from prefect.engine import signals


@task(name="ll")
def ll():
    return [1, 2, 3]


def add_fn(x):
    if x == 1:
        raise signals.SKIP("One is no good")
    return x + 1


add_a = task(add_fn, name="add_a")
add_b = task(add_fn, name="add_b")

with Flow("map_skips_dont_leak") as flow:
    add_b.map(add_a.map(ll))
