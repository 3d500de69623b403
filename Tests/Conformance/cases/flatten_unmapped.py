"""flatten(x) next to an unmapped argument: each flattened element is paired with the whole value.

From Prefect 1's tests/core/test_task_map.py::TestFlatMap together with unmapped arguments
(test_map_with_unmapped... style).
"""
from prefect import Flow, task, unmapped
from prefect.utilities.edges import flatten


@task
def nested():
    return [["a", "b"], ["c"]]


@task
def suffix():
    return "!"


@task
def join(x, s):
    return x + s


with Flow("flatten-unmapped") as flow:
    join.map(flatten(nested()), unmapped(suffix()))
