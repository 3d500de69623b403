"""Mapping over a failed task: the mapped task is Failed ("No upstream states can be mapped
over."), not TriggerFailed (test_task_map.py::test_mapping_over_no_successful_upstreams)."""
from prefect import Flow, task


@task(name="div")
def div(x):
    return 1 / x


@task(name="add")
def add(x, y=1):
    return x + y


with Flow("map_no_mappable_upstream") as flow:
    add.map(x=div(0))
