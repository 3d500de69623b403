"""A mapped task with one failed child feeds a reduce and a map
(test_task_map.py::test_task_map_downstreams_handle_single_failures)."""
from prefect import Flow, task


@task(name="ll")
def ll():
    return [1, 0, 3]


@task(name="div")
def div(x):
    return 1 / x


@task(name="div_again")
def div_again(x):
    return 1 / x


@task(name="append_four")
def append_four(l):
    return l + [4]


with Flow("map_downstream_single_failure") as flow:
    dived = div.map(ll)
    append_four(dived)
    div_again.map(dived)
