"""A mapped child fails; the reduce after it is TriggerFailed and the flow Failed
(test_task_map.py::test_reduce_task_honors_trigger_across_all_mapped_states)."""
from prefect import Flow, task


@task(name="ll")
def ll():
    return [0, 1]


@task(name="div")
def div(x):
    return 1 / x


@task(name="take_sum")
def take_sum(x):
    return sum(x)


with Flow("map_failed_child_reduce") as flow:
    take_sum(div.map(ll))
