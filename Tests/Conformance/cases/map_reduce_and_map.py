"""One mapped task feeds both a reduce and another map
(test_task_map.py::test_task_map_can_be_passed_to_upstream_with_and_without_map)."""
from prefect import Flow, task


@task(name="ll")
def ll():
    return [1, 2, 3]


@task(name="add")
def add(x):
    return x + 1


@task(name="add_again")
def add_again(x):
    return x + 1


@task(name="append_four")
def append_four(l):
    return l + [4]


with Flow("map_reduce_and_map") as flow:
    added = add.map(ll)
    append_four(added)
    add_again.map(added)
